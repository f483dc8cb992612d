//! [`Key`], the typed name of each setting, and [`PerKey`], one value per
//! setting. Code names settings by Key, so no lookup can miss; the dotted
//! names (`cluster.numNodes`) are only read from the config file and shown.

use std::fmt;
use std::ops::Index;

use strum::{EnumCount, VariantArray};

use super::table::{SettingDef, SETTINGS};

/// One variant per row of [`SETTINGS`], in the table's order (checked where
/// the table is defined), named after the row's config key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, EnumCount, VariantArray)]
pub enum Key {
    DindSubnet,
    Verbose,
    KubernetesVersion,
    KubernetesSource,
    ImageSource,
    ReleaseUrl,
    ImageRepository,
    BuildKubeadm,
    BuildHyperkube,
    BuildKubectl,
    K8sDir,
    KubeadmUrl,
    KubeadmSha1,
    HyperkubeUrl,
    HyperkubeSha1,
    KubectlUrl,
    KubectlSha1,
    AllowMissingChecksum,
    Arch,
    DebianMirror,
    RunMode,
    NodeRuntime,
    SshOptions,
    ClusterName,
    NumNodes,
    CniPlugin,
    NoDedicated,
    ApiServerPort,
    RegistryPort,
    Addons,
    PodSubnet,
    ServiceSubnet,
    CertificateValidity,
    CacheDir,
    NoWait,
}

impl Key {
    /// Every setting, in the table's order.
    pub const ALL: &'static [Key] = <Key as VariantArray>::VARIANTS;
    /// How many settings there are.
    pub const COUNT: usize = <Key as EnumCount>::COUNT;

    /// The setting's row of the table.
    pub fn def(self) -> &'static SettingDef {
        &SETTINGS[self as usize]
    }

    /// The dotted config-file name, e.g. `cluster.numNodes`.
    pub fn as_str(self) -> &'static str {
        self.def().key
    }

    /// The setting with this dotted config-file name, if there is one.
    pub fn from_config_key(name: &str) -> Option<Key> {
        SETTINGS.iter().find(|d| d.key == name).map(|d| d.id)
    }
}

/// The dotted config-file name, as errors show it.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `T` for every setting, indexed by [`Key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerKey<T>([T; Key::COUNT]);

impl<T> PerKey<T> {
    pub fn from_fn(mut f: impl FnMut(Key) -> T) -> PerKey<T> {
        PerKey(std::array::from_fn(|i| f(Key::ALL[i])))
    }

    /// Every setting's value, in the table's order.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &T)> {
        Key::ALL.iter().copied().zip(&self.0)
    }
}

impl<T> Index<Key> for PerKey<T> {
    type Output = T;
    fn index(&self, key: Key) -> &T {
        &self.0[key as usize]
    }
}
