//! The choice settings: where binaries and images come from, the
//! architecture, the pod network, how nodes run.

use strum::{EnumString, IntoStaticStr, VariantNames};

// The choice settings: each enum's variants are the setting's words
// (kebab-case), so the table's accepted words and the parser come from one
// list and a new variant needs no other change to be accepted.

/// Where Kubernetes binaries come from when not built nor given by URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumString, IntoStaticStr, VariantNames)]
#[strum(serialize_all = "kebab-case")]
pub enum KubernetesSource {
    Release,
    GoModule,
}

impl KubernetesSource {
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// Where the etcd, CoreDNS and pause images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumString, IntoStaticStr, VariantNames)]
#[strum(serialize_all = "kebab-case")]
pub enum ImageSource {
    Registry,
    Build,
}

impl ImageSource {
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// `source.kubernetesSource`: a source, or `auto` (the release site when it
/// answers, otherwise the Go module), decided when binaries are needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumString, IntoStaticStr, VariantNames)]
#[strum(serialize_all = "kebab-case")]
pub enum KubernetesSourceSetting {
    Auto,
    Release,
    GoModule,
}

impl KubernetesSourceSetting {
    pub fn as_str(&self) -> &'static str {
        self.into()
    }

    /// The source, unless it is to be decided.
    pub fn fixed(self) -> Option<KubernetesSource> {
        match self {
            KubernetesSourceSetting::Auto => None,
            KubernetesSourceSetting::Release => Some(KubernetesSource::Release),
            KubernetesSourceSetting::GoModule => Some(KubernetesSource::GoModule),
        }
    }
}

impl From<KubernetesSource> for KubernetesSourceSetting {
    fn from(source: KubernetesSource) -> Self {
        match source {
            KubernetesSource::Release => KubernetesSourceSetting::Release,
            KubernetesSource::GoModule => KubernetesSourceSetting::GoModule,
        }
    }
}

/// `source.imageSource`: a source, or `auto` (pull from a registry that
/// answers, otherwise build), decided per registry when images are needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumString, IntoStaticStr, VariantNames)]
#[strum(serialize_all = "kebab-case")]
pub enum ImageSourceSetting {
    Auto,
    Registry,
    Build,
}

impl ImageSourceSetting {
    pub fn as_str(&self) -> &'static str {
        self.into()
    }

    /// The source, unless it is to be decided.
    pub fn fixed(self) -> Option<ImageSource> {
        match self {
            ImageSourceSetting::Auto => None,
            ImageSourceSetting::Registry => Some(ImageSource::Registry),
            ImageSourceSetting::Build => Some(ImageSource::Build),
        }
    }
}

impl From<ImageSource> for ImageSourceSetting {
    fn from(source: ImageSource) -> Self {
        match source {
            ImageSource::Registry => ImageSourceSetting::Registry,
            ImageSource::Build => ImageSourceSetting::Build,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumString, IntoStaticStr, VariantNames)]
#[strum(serialize_all = "kebab-case")]
pub enum Arch {
    Amd64,
    Arm,
    Arm64,
    Ppc64le,
    S390x,
}

impl Arch {
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumString, IntoStaticStr, VariantNames)]
#[strum(serialize_all = "kebab-case")]
pub enum CniPlugin {
    Bridge,
    Flannel,
    /// Routes between nodes over BGP, and enforces NetworkPolicy.
    KubeRouter,
    Calico,
    Weave,
    /// No pod network: for people who bring or develop their own plugin.
    None,
}

impl CniPlugin {
    pub fn as_str(&self) -> &'static str {
        self.into()
    }

    /// Whether the tool installs a pod network, so that nodes become Ready
    /// and CoreDNS runs without the user's help.
    pub fn installs_network(&self) -> bool {
        !matches!(self, CniPlugin::None)
    }

    /// Whether the network runs as pods from a manifest, with images that
    /// must be in the nodes (everything but bridge and none).
    pub fn runs_as_pods(&self) -> bool {
        !matches!(self, CniPlugin::Bridge | CniPlugin::None)
    }
}

/// How node containers are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumString, IntoStaticStr, VariantNames)]
#[strum(serialize_all = "kebab-case")]
pub enum NodeRunMode {
    /// Privileged when the engine allows it, else capabilities.
    Auto,
    Privileged,
    Capabilities,
}

impl NodeRunMode {
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}
