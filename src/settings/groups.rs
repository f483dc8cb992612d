//! The settings by subject, the most used first in each: `--help` shows
//! them under these headings in this order.

use super::Key;

/// A subject the settings are grouped under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Cluster,
    KubernetesSource,
    Nodes,
    Engine,
    Output,
}

impl Group {
    pub fn heading(self) -> &'static str {
        match self {
            Group::Cluster => "Cluster",
            Group::KubernetesSource => "Kubernetes source",
            Group::Nodes => "Nodes",
            Group::Engine => "Engine and cache",
            Group::Output => "Output",
        }
    }
}

/// Every setting once, under its group, the common ones first.
pub static GROUPS: &[(Group, &[Key])] = &[
    (
        Group::Cluster,
        &[
            Key::ClusterName,
            Key::NumNodes,
            Key::CniPlugin,
            Key::Addons,
            Key::NoDedicated,
            Key::NoWait,
            Key::ApiServerPort,
            Key::RegistryPort,
            Key::PodSubnet,
            Key::ServiceSubnet,
            Key::DindSubnet,
            Key::CertificateValidity,
        ],
    ),
    (
        Group::KubernetesSource,
        &[
            Key::KubernetesVersion,
            Key::KubernetesSource,
            Key::K8sDir,
            Key::BuildHyperkube,
            Key::BuildKubeadm,
            Key::BuildKubectl,
            Key::ImageSource,
            Key::ReleaseUrl,
            Key::ImageRepository,
            Key::KubeadmUrl,
            Key::KubeadmSha1,
            Key::HyperkubeUrl,
            Key::HyperkubeSha1,
            Key::KubectlUrl,
            Key::KubectlSha1,
            Key::AllowMissingChecksum,
        ],
    ),
    (
        Group::Nodes,
        &[Key::Arch, Key::NodeRuntime, Key::RunMode, Key::DebianMirror],
    ),
    (Group::Engine, &[Key::SshOptions, Key::CacheDir]),
    (Group::Output, &[Key::Verbose]),
];

/// Every setting in the order `--help` shows them, with its group.
pub fn in_help_order() -> impl Iterator<Item = (Group, Key)> {
    GROUPS
        .iter()
        .flat_map(|(group, keys)| keys.iter().map(move |key| (*group, *key)))
}

/// The group a setting is under.
pub fn group_of(key: Key) -> Group {
    in_help_order()
        .find_map(|(group, k)| (k == key).then_some(group))
        .unwrap_or(Group::Cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_in_exactly_one_group() {
        for key in Key::ALL {
            let n = in_help_order().filter(|(_, k)| k == key).count();
            assert_eq!(n, 1, "{key} is in {n} groups");
        }
    }
}
