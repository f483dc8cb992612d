//! The typed values settings resolve to.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use strum::{EnumString, IntoStaticStr, VariantNames};

/// An exact Kubernetes version, e.g. `v1.37.2` or `v1.38.0-alpha.1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub pre: Option<String>,
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(pre) = &self.pre {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

impl FromStr for KubeVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let body = s.strip_prefix('v').unwrap_or(s);
        let (numbers, pre) = match body.split_once('-') {
            Some((n, p)) if !p.is_empty() => (n, Some(p.to_string())),
            Some(_) => return Err("has an empty pre-release part".to_string()),
            None => (body, None),
        };
        let parts: Vec<&str> = numbers.split('.').collect();
        if parts.len() != 3 {
            return Err("is not of the form v1.x.y".to_string());
        }
        let num = |p: &str| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                Err("is not of the form v1.x.y".to_string())
            } else {
                p.parse::<u32>()
                    .map_err(|e| format!("has a bad number: {e}"))
            }
        };
        Ok(KubeVersion {
            major: num(parts[0])?,
            minor: num(parts[1])?,
            patch: num(parts[2])?,
            pre,
        })
    }
}

impl KubeVersion {
    /// The release this version was built from: itself for a release
    /// (`v1.37.2`, `v1.38.0-alpha.1`, `-beta.0`, `-rc.1`); for a source
    /// tree's version as Kubernetes stamps it, the tag it was described
    /// from: `v1.37.2-5+<hash>` (5 commits on) and `v1.37.2-dirty` are of
    /// v1.37.2, `v1.38.0-alpha.0.6+<hash>-dirty` of v1.38.0-alpha.0.
    pub fn release_base(&self) -> KubeVersion {
        let pre = self.pre.as_deref().and_then(|pre| {
            let pre = pre.split('+').next().unwrap_or(pre);
            let pre = pre.strip_suffix("-dirty").unwrap_or(pre);
            let mut parts = pre.split('.');
            let (stage, number) = (parts.next()?, parts.next()?);
            let stage_ok = matches!(stage, "alpha" | "beta" | "rc");
            let number_ok = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
            (stage_ok && number_ok).then(|| format!("{stage}.{number}"))
        });
        KubeVersion {
            pre,
            ..self.clone()
        }
    }

    /// A version the project publishes, not one stamped on a source tree's
    /// build.
    pub fn is_release(&self) -> bool {
        self.release_base() == *self
    }
}

impl PartialOrd for KubeVersion {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KubeVersion {
    /// Semantic order: a pre-release sorts before its release.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                (Some(a), Some(b)) => compare_pre(a, b),
            })
    }
}

/// `alpha.2` < `alpha.10` < `beta.1` < `rc.0`: numeric parts compare as numbers.
fn compare_pre(a: &str, b: &str) -> std::cmp::Ordering {
    let mut ia = a.split('.');
    let mut ib = b.split('.');
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(n), Ok(m)) => n.cmp(&m),
                    _ => x.cmp(y),
                };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// A version setting before it is resolved to an exact version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSpec {
    Exact(KubeVersion),
    /// The newest patch release of a minor.
    Minor {
        major: u32,
        minor: u32,
    },
    Stable,
    Latest,
}

impl fmt::Display for VersionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSpec::Exact(v) => write!(f, "{v}"),
            VersionSpec::Minor { major, minor } => write!(f, "v{major}.{minor}"),
            VersionSpec::Stable => f.write_str("stable"),
            VersionSpec::Latest => f.write_str("latest"),
        }
    }
}

impl VersionSpec {
    pub fn minor(&self) -> Option<(u32, u32)> {
        match self {
            VersionSpec::Exact(v) => Some((v.major, v.minor)),
            VersionSpec::Minor { major, minor } => Some((*major, *minor)),
            _ => None,
        }
    }
}

impl FromStr for VersionSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "stable" => return Ok(VersionSpec::Stable),
            "latest" => return Ok(VersionSpec::Latest),
            _ => {}
        }
        let body = s.strip_prefix('v').unwrap_or(s);
        let dots = body.split('-').next().unwrap_or("").matches('.').count();
        if dots == 1 && !body.contains('-') {
            let (major, minor) = body.split_once('.').expect("one dot");
            let n = |p: &str| {
                if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                    p.parse::<u32>().map_err(|e| e.to_string())
                } else {
                    Err("is not a version".to_string())
                }
            };
            return Ok(VersionSpec::Minor {
                major: n(major)?,
                minor: n(minor)?,
            });
        }
        s.parse().map(VersionSpec::Exact)
    }
}

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

/// A checksum for a download: the length of the hex says which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    Sha1([u8; 20]),
    Sha256([u8; 32]),
}

impl Checksum {
    pub fn algorithm_name(&self) -> &'static str {
        match self {
            Checksum::Sha1(_) => "sha1",
            Checksum::Sha256(_) => "sha256",
        }
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Checksum::Sha1(b) => f.write_str(&hex::encode(b)),
            Checksum::Sha256(b) => f.write_str(&hex::encode(b)),
        }
    }
}

impl FromStr for Checksum {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("is not hexadecimal".to_string());
        }
        match hex::decode(s) {
            Ok(bytes) if bytes.len() == 20 => {
                Ok(Checksum::Sha1(bytes.try_into().expect("20 bytes")))
            }
            Ok(bytes) if bytes.len() == 32 => {
                Ok(Checksum::Sha256(bytes.try_into().expect("32 bytes")))
            }
            _ => Err(format!(
                "has {} hex digits; a sha1 has 40 and a sha256 64",
                s.len()
            )),
        }
    }
}

/// A download: URL and, unless explicitly allowed, its checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub url: String,
    pub checksum: Option<Checksum>,
}

/// An addon to install after the cluster is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addon {
    Named(NamedAddon),
    Url(String),
    File(PathBuf),
}

impl fmt::Display for Addon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addon::Named(n) => f.write_str(n.as_str()),
            Addon::Url(u) => f.write_str(u),
            Addon::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Addons known by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedAddon {
    /// rancher's local-path provisioner, as the default StorageClass.
    LocalPath,
    MetricsServer,
    /// Headlamp, the Kubernetes Dashboard's successor (the Dashboard was
    /// archived upstream in January 2026); also named `headlamp`.
    Dashboard,
}

impl NamedAddon {
    pub fn as_str(&self) -> &'static str {
        match self {
            NamedAddon::LocalPath => "local-path",
            NamedAddon::MetricsServer => "metrics-server",
            NamedAddon::Dashboard => "dashboard",
        }
    }

    pub fn from_name(name: &str) -> Option<NamedAddon> {
        match name {
            "local-path" => Some(NamedAddon::LocalPath),
            "metrics-server" => Some(NamedAddon::MetricsServer),
            "dashboard" | "headlamp" => Some(NamedAddon::Dashboard),
            _ => None,
        }
    }
}

/// Names `cluster.addons` accepts.
pub const NAMED_ADDONS: &[&str] = &["local-path", "metrics-server", "dashboard", "headlamp"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        let v: KubeVersion = "v1.37.2".parse().unwrap();
        assert_eq!(v.to_string(), "v1.37.2");
        assert_eq!("1.37.2".parse::<KubeVersion>().unwrap(), v);
        let a: KubeVersion = "v1.38.0-alpha.2".parse().unwrap();
        let b: KubeVersion = "v1.38.0-alpha.10".parse().unwrap();
        let r: KubeVersion = "v1.38.0".parse().unwrap();
        assert!(a < b && b < r && v < a);
        assert!("v1.37".parse::<KubeVersion>().is_err());
        assert!("v1.x.2".parse::<KubeVersion>().is_err());
    }

    #[test]
    fn a_tree_build_is_told_from_a_release_and_named_by_its_tag() {
        let base = |text: &str| {
            let v: KubeVersion = text.parse().unwrap();
            (v.release_base().to_string(), v.is_release())
        };
        for release in [
            "v1.37.2",
            "v1.38.0-alpha.1",
            "v1.38.0-beta.0",
            "v1.37.0-rc.1",
        ] {
            assert_eq!(base(release), (release.to_string(), true));
        }
        for (built, tag) in [
            ("v1.37.2-dirty", "v1.37.2"),
            ("v1.37.2-5+0123456789abcd", "v1.37.2"),
            ("v1.37.2-5+0123456789abcd-dirty", "v1.37.2"),
            ("v1.38.0-alpha.0.6+84c76d1142ea4d-dirty", "v1.38.0-alpha.0"),
            ("v1.37.0-rc.1-dirty", "v1.37.0-rc.1"),
            ("v1.37.2-untagged+0123456789abcd", "v1.37.2"),
        ] {
            assert_eq!(base(built), (tag.to_string(), false), "{built}");
        }
    }

    #[test]
    fn version_specs() {
        assert_eq!(
            "stable".parse::<VersionSpec>().unwrap(),
            VersionSpec::Stable
        );
        assert_eq!(
            "1.36".parse::<VersionSpec>().unwrap(),
            VersionSpec::Minor {
                major: 1,
                minor: 36
            }
        );
        assert_eq!(
            "v1.36.3".parse::<VersionSpec>().unwrap().to_string(),
            "v1.36.3"
        );
        assert!("one".parse::<VersionSpec>().is_err());
        assert!("1.36.".parse::<VersionSpec>().is_err());
    }

    #[test]
    fn checksums_by_length() {
        let sha1 = "4e375e27a5aa10a8d1a0d10da5c3c2f2d0ee4770";
        assert_eq!(sha1.parse::<Checksum>().unwrap().algorithm_name(), "sha1");
        let sha256 = "a".repeat(64);
        assert_eq!(
            sha256.parse::<Checksum>().unwrap().algorithm_name(),
            "sha256"
        );
        assert!("abcd"
            .parse::<Checksum>()
            .unwrap_err()
            .contains("4 hex digits"));
        assert!("xyz"
            .parse::<Checksum>()
            .unwrap_err()
            .contains("not hexadecimal"));
    }
}
