//! Settings from the config file, `K8S_DIND_*` environment variables and
//! flags (flags > env > file > defaults), resolved once into [`Settings`]
//! with the source of every value. Nothing in here touches the engine or
//! writes a file, so bad input is reported before anything is created.

pub mod error;
pub mod file;
pub mod render;
pub mod table;
pub mod types;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

pub use error::{SettingsError, Source};
pub use table::{def, Kind, SettingDef, SETTINGS};
pub use types::*;

/// The newest Kubernetes release this tool is tested with (its default).
pub const DEFAULT_KUBERNETES_VERSION: &str = "v1.37.2";
/// Minors of Kubernetes 1.x this tool supports.
pub const SUPPORTED_MINORS: std::ops::RangeInclusive<u32> = 35..=37;
/// The variable naming another config file.
pub const CONF_VAR: &str = "LOCAL_CLUSTER_CONF";

/// Everything settings are resolved from, so tests need not touch the
/// process environment.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
    pub home: PathBuf,
}

impl Inputs {
    pub fn from_process() -> Inputs {
        Inputs {
            env: std::env::vars().collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            home: dirs::home_dir().unwrap_or_else(|| PathBuf::from("/")),
        }
    }
}

/// The resolved settings the rest of the program consumes.
#[derive(Debug, Clone)]
pub struct Settings {
    pub dind_subnet: Ipv4Net,
    pub verbose: u8,
    pub kubernetes_version: VersionSpec,
    pub kubernetes_source: KubernetesSource,
    pub image_source: ImageSource,
    pub release_url: String,
    pub image_repository: String,
    pub build_kubeadm: bool,
    pub build_hyperkube: bool,
    pub build_kubectl: bool,
    pub k8s_dir: PathBuf,
    pub kubeadm_download: Option<Download>,
    pub hyperkube_download: Option<Download>,
    pub kubectl_download: Option<Download>,
    pub arch: Option<Arch>,
    pub debian_mirror: String,
    pub run_mode: NodeRunMode,
    /// OCI runtime for node containers; None for the engine's default.
    pub node_runtime: Option<String>,
    pub cluster_name: String,
    pub num_nodes: u32,
    pub cni_plugin: CniPlugin,
    pub no_dedicated: bool,
    pub apiserver_port: Option<u16>,
    pub addons: Vec<Addon>,
    pub pod_subnet: Ipv4Net,
    pub service_subnet: Ipv4Net,
    pub cache_dir: PathBuf,
    /// `~/.kubeadm-local-cluster`: admin.conf, kubectl, config.yaml.
    pub home_dir: PathBuf,
    pub provenance: Provenance,
}

impl Settings {
    pub fn any_build(&self) -> bool {
        self.build_kubeadm || self.build_hyperkube || self.build_kubectl
    }
}

/// The effective text and source of every setting.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    pub values: BTreeMap<&'static str, (String, Source)>,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
}

impl Provenance {
    pub fn source(&self, key: &str) -> &Source {
        &self.values[key].1
    }
}

/// Resolved settings and the warnings to show.
#[derive(Debug)]
pub struct Resolved {
    pub settings: Settings,
    pub warnings: Vec<String>,
}

/// What the command line said about settings.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// Setting key → raw text, for the flags given.
    pub values: BTreeMap<&'static str, String>,
    /// How many times `-v` was given.
    pub verbose_count: u8,
}

/// Resolve settings from flags, the environment and the config file.
pub fn resolve(inputs: &Inputs, flags: &Flags) -> Result<Resolved, SettingsError> {
    let mut warnings = Vec::new();
    let home_dir = inputs.home.join(".kubeadm-local-cluster");
    let (file_path, file_values) = read_config_file(inputs, &home_dir)?;
    let file_dir = file_path
        .as_ref()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf);

    // Unknown K8S_DIND_* variables are probably typos; say so.
    let env_names: Vec<String> = SETTINGS.iter().map(|d| d.env()).collect();
    for name in inputs.env.keys().filter(|n| n.starts_with("K8S_DIND_")) {
        if !env_names.contains(name) {
            let hint = file::suggest(&env_names, name)
                .map(|s| format!("; did you mean {s}?"))
                .unwrap_or_default();
            warnings.push(format!(
                "ignoring unknown environment variable {name}{hint}"
            ));
        }
    }

    let mut raw: BTreeMap<&'static str, (String, Source)> = BTreeMap::new();
    for d in SETTINGS {
        let value = if let Some(v) = flags.values.get(d.key) {
            (
                v.clone(),
                Source::Flag {
                    flag: d.flag.to_string(),
                },
            )
        } else if let Some(v) = inputs.env.get(&d.env()) {
            (v.clone(), Source::Env { var: d.env() })
        } else if let Some(v) = file_values.get(d.key) {
            (
                v.raw.clone(),
                Source::File {
                    path: file_path.clone().expect("values come from a file"),
                    line: v.line,
                },
            )
        } else {
            (default_text(d, inputs), Source::Default)
        };
        raw.insert(d.key, value);
    }
    let r = Reader {
        raw: &raw,
        inputs,
        file_dir,
    };

    let kubernetes_version: VersionSpec = r.parse("source.kubernetesVersion", |s| s.parse())?;
    if let Some((major, minor)) = kubernetes_version.minor() {
        if major != 1 || minor < *SUPPORTED_MINORS.start() {
            return Err(r.invalid(
                "source.kubernetesVersion",
                format!(
                    "is not supported (supported: 1.{} to 1.{})",
                    SUPPORTED_MINORS.start(),
                    SUPPORTED_MINORS.end()
                ),
            ));
        }
        if minor > *SUPPORTED_MINORS.end() {
            warnings.push(format!(
                "Kubernetes {kubernetes_version} is newer than this tool was tested with (up to 1.{}); it may not work",
                SUPPORTED_MINORS.end()
            ));
        }
    }

    let downloads = [
        ("source.kubeadmUrl", "source.kubeadmSha1"),
        ("source.hyperkubeUrl", "source.hyperkubeSha1"),
        ("source.kubectlUrl", "source.kubectlSha1"),
    ];
    let allow_missing = r.bool("source.allowMissingChecksum")?;
    let mut parsed_downloads = Vec::new();
    for (url_key, sum_key) in downloads {
        let url = r.optional(url_key, parse_url)?;
        let sum = r.optional(sum_key, |s| s.parse::<Checksum>())?;
        let download = match (url, sum) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(SettingsError::Conflict(format!(
                    "{sum_key} is set (from {}) but {url_key} is not; a checksum needs its download URL",
                    r.source(sum_key)
                )))
            }
            (Some(_), None) if !allow_missing => {
                return Err(SettingsError::Conflict(format!(
                    "{url_key} is set (from {}) without {sum_key}; give its sha1 or sha256 \
                     (--{}), or allow unverified downloads with --allow-missing-checksum",
                    r.source(url_key),
                    def(sum_key).flag
                )))
            }
            (Some(url), None) => {
                warnings.push(format!(
                    "{url_key} {url} will not be verified: no {sum_key} given (allowed by source.allowMissingChecksum)"
                ));
                Some(Download { url, checksum: None })
            }
            (Some(url), Some(checksum)) => Some(Download {
                url,
                checksum: Some(checksum),
            }),
        };
        parsed_downloads.push(download);
    }
    let [kubeadm_download, hyperkube_download, kubectl_download]: [Option<Download>; 3] =
        parsed_downloads.try_into().expect("three downloads");

    let build_kubeadm = r.bool("source.buildKubeadm")?;
    let build_hyperkube = r.bool("source.buildHyperkube")?;
    let build_kubectl = r.bool("source.buildKubectl")?;
    for (build, build_key, url_key) in [
        (build_kubeadm, "source.buildKubeadm", "source.kubeadmUrl"),
        (
            build_hyperkube,
            "source.buildHyperkube",
            "source.hyperkubeUrl",
        ),
        (build_kubectl, "source.buildKubectl", "source.kubectlUrl"),
    ] {
        let has_url = match url_key {
            "source.kubeadmUrl" => kubeadm_download.is_some(),
            "source.hyperkubeUrl" => hyperkube_download.is_some(),
            _ => kubectl_download.is_some(),
        };
        if build && has_url {
            return Err(SettingsError::Conflict(format!(
                "{build_key} (from {}) and {url_key} (from {}) both say where the same binaries come from; choose one",
                r.source(build_key),
                r.source(url_key)
            )));
        }
    }
    let k8s_dir = r.path("source.k8sDir")?;
    if build_kubeadm || build_hyperkube || build_kubectl {
        check_source_tree(
            &k8s_dir,
            &r,
            [
                (build_kubeadm, "source.buildKubeadm"),
                (build_hyperkube, "source.buildHyperkube"),
                (build_kubectl, "source.buildKubectl"),
            ],
        )?;
    }

    let dind_subnet = r.parse("dind.subnet", parse_cidr)?;
    let pod_subnet = r.parse("cluster.podSubnet", parse_cidr)?;
    let service_subnet = r.parse("cluster.serviceSubnet", parse_cidr)?;
    let num_nodes = r.parse("cluster.numNodes", |s| parse_int(s, 0, u64::from(u32::MAX)))? as u32;
    check_subnets(&r, dind_subnet, pod_subnet, service_subnet, num_nodes)?;

    let verbose = {
        let from_setting = r.parse("verbose", |s| parse_int(s, 0, 9))? as u8;
        // `-v`/`-vv` on the command line mean 2/3 unless --v is given.
        if flags.verbose_count > 0 && !flags.values.contains_key("verbose") {
            (1 + flags.verbose_count).min(9)
        } else {
            from_setting
        }
    };

    let settings = Settings {
        dind_subnet,
        verbose,
        kubernetes_version,
        kubernetes_source: match r.choice("source.kubernetesSource")? {
            "go-module" => KubernetesSource::GoModule,
            _ => KubernetesSource::Release,
        },
        image_source: match r.choice("source.imageSource")? {
            "build" => ImageSource::Build,
            _ => ImageSource::Registry,
        },
        release_url: r.parse("source.releaseUrl", parse_url)?,
        image_repository: r.parse("source.imageRepository", parse_image_repository)?,
        build_kubeadm,
        build_hyperkube,
        build_kubectl,
        k8s_dir,
        kubeadm_download,
        hyperkube_download,
        kubectl_download,
        arch: match r.raw("node.arch") {
            "" => None,
            _ => Some(match r.choice("node.arch")? {
                "arm" => Arch::Arm,
                "arm64" => Arch::Arm64,
                "ppc64le" => Arch::Ppc64le,
                "s390x" => Arch::S390x,
                _ => Arch::Amd64,
            }),
        },
        debian_mirror: r.parse("node.debianMirror", parse_url)?,
        run_mode: match r.choice("node.runMode")? {
            "privileged" => NodeRunMode::Privileged,
            "capabilities" => NodeRunMode::Capabilities,
            _ => NodeRunMode::Auto,
        },
        node_runtime: r.optional("node.runtime", parse_runtime_name)?,
        cluster_name: r.parse("cluster.name", parse_cluster_name)?,
        num_nodes,
        cni_plugin: match r.choice("cluster.cniPlugin")? {
            "flannel" => CniPlugin::Flannel,
            "calico" => CniPlugin::Calico,
            "weave" => CniPlugin::Weave,
            _ => CniPlugin::Bridge,
        },
        no_dedicated: r.bool("cluster.noDedicated")?,
        apiserver_port: r.optional("cluster.apiServerPort", |s| {
            parse_int(s, 1, 65535).map(|p| p as u16)
        })?,
        addons: r.addons()?,
        pod_subnet,
        service_subnet,
        cache_dir: r.path("cacheDir")?,
        home_dir,
        provenance: Provenance {
            values: raw.clone(),
            file: file_path,
        },
    };
    Ok(Resolved { settings, warnings })
}

fn default_text(d: &SettingDef, inputs: &Inputs) -> String {
    match d.key {
        "source.k8sDir" => inputs.cwd.display().to_string(),
        "cacheDir" => inputs
            .env
            .get("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| inputs.home.join(".cache"))
            .join("kubeadm-local-cluster")
            .display()
            .to_string(),
        _ if d.default.starts_with('@') => String::new(),
        _ => d.default.to_string(),
    }
}

fn read_config_file(
    inputs: &Inputs,
    home_dir: &Path,
) -> Result<(Option<PathBuf>, BTreeMap<&'static str, file::FileValue>), SettingsError> {
    let (path, required) = match inputs.env.get(CONF_VAR).filter(|v| !v.is_empty()) {
        Some(p) => (expand_path(p, &inputs.cwd, &inputs.home), true),
        None => (home_dir.join("config.yaml"), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if required {
                return Err(SettingsError::MissingConfFile { path });
            }
            return Ok((None, BTreeMap::new()));
        }
        Err(e) => {
            return Err(SettingsError::UnreadableFile {
                path,
                reason: e.to_string(),
            })
        }
    };
    let values = file::parse(&path, &text)?;
    Ok((Some(path), values))
}

/// `~` expansion and resolution against `base`.
fn expand_path(text: &str, base: &Path, home: &Path) -> PathBuf {
    let p = if text == "~" {
        home.to_path_buf()
    } else if let Some(rest) = text.strip_prefix("~/") {
        home.join(rest)
    } else {
        PathBuf::from(text)
    };
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

struct Reader<'a> {
    raw: &'a BTreeMap<&'static str, (String, Source)>,
    inputs: &'a Inputs,
    file_dir: Option<PathBuf>,
}

impl Reader<'_> {
    fn raw(&self, key: &str) -> &str {
        self.raw[key].0.trim()
    }

    fn source(&self, key: &str) -> &Source {
        &self.raw[key].1
    }

    fn invalid(&self, key: &str, reason: String) -> SettingsError {
        let d = def(key);
        SettingsError::Invalid(Box::new(error::InvalidValue {
            key: d.key,
            flag: d.flag,
            origin: self.source(key).clone(),
            value: self.raw[key].0.clone(),
            reason,
            accepted: d.kind.accepted(),
        }))
    }

    fn parse<T>(
        &self,
        key: &str,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, SettingsError> {
        f(self.raw(key)).map_err(|reason| self.invalid(key, reason))
    }

    /// Empty means unset.
    fn optional<T>(
        &self,
        key: &str,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, SettingsError> {
        if self.raw(key).is_empty() {
            Ok(None)
        } else {
            self.parse(key, f).map(Some)
        }
    }

    fn bool(&self, key: &str) -> Result<bool, SettingsError> {
        self.parse(key, |s| match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" | "y" => Ok(true),
            "false" | "no" | "off" | "0" | "n" => Ok(false),
            _ => Err("is not a boolean".to_string()),
        })
    }

    fn choice(&self, key: &str) -> Result<&'static str, SettingsError> {
        let Kind::Choice(words) = def(key).kind else {
            unreachable!("{key} is a choice")
        };
        let value = self.raw(key).to_ascii_lowercase();
        words.iter().find(|w| **w == value).copied().ok_or_else(|| {
            let hint = file::suggest(
                &words.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
                &value,
            )
            .map(|s| format!("(did you mean {s}?)"))
            .unwrap_or_else(|| "is not one of them".to_string());
            self.invalid(key, hint)
        })
    }

    /// A path: relative to the config file's directory when it came from
    /// the file, to the current directory otherwise.
    fn path(&self, key: &str) -> Result<PathBuf, SettingsError> {
        let text = self.raw(key);
        if text.is_empty() {
            return Err(self.invalid(key, "is empty".to_string()));
        }
        let base = match (self.source(key), &self.file_dir) {
            (Source::File { .. }, Some(dir)) => dir.clone(),
            _ => self.inputs.cwd.clone(),
        };
        Ok(expand_path(text, &base, &self.inputs.home))
    }

    fn addons(&self) -> Result<Vec<Addon>, SettingsError> {
        let key = "cluster.addons";
        let mut out = Vec::new();
        for item in self
            .raw(key)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let addon = if item.starts_with("http://") || item.starts_with("https://") {
                Addon::Url(
                    parse_url(item).map_err(|r| self.invalid(key, format!("item {item:?} {r}")))?,
                )
            } else if item.ends_with(".yaml") || item.ends_with(".yml") || item.contains('/') {
                let base = match (self.source(key), &self.file_dir) {
                    (Source::File { .. }, Some(dir)) => dir.clone(),
                    _ => self.inputs.cwd.clone(),
                };
                let path = expand_path(item, &base, &self.inputs.home);
                if !path.is_file() {
                    return Err(self.invalid(
                        key,
                        format!("names {}, which is not a file", path.display()),
                    ));
                }
                Addon::File(path)
            } else if NAMED_ADDONS.contains(&item) {
                Addon::Named(item.to_string())
            } else {
                return Err(self.invalid(
                    key,
                    format!(
                        "has {item:?}, which is no known addon (known: {})",
                        NAMED_ADDONS.join(", ")
                    ),
                ));
            };
            out.push(addon);
        }
        Ok(out)
    }
}

fn parse_cidr(s: &str) -> Result<Ipv4Net, String> {
    let net: Ipv4Net = s.parse().map_err(|_| "is not an IPv4 CIDR".to_string())?;
    if net.network() != net.addr() {
        return Err(format!(
            "has host bits set (the network is {})",
            net.trunc()
        ));
    }
    Ok(net)
}

fn parse_int(s: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: u64 = s.parse().map_err(|_| "is not a number".to_string())?;
    if n < min || n > max {
        return Err("is out of range".to_string());
    }
    Ok(n)
}

fn parse_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .ok_or_else(|| "is not an http(s) URL".to_string())?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err("has no host".to_string());
    }
    Ok(s.trim_end_matches('/').to_string())
}

fn parse_image_repository(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && !s.contains("://")
        && !s.ends_with('/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:/".contains(c));
    if ok {
        Ok(s.to_string())
    } else {
        Err("is not an image repository".to_string())
    }
}

fn parse_cluster_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 40
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(s.to_string())
    } else {
        Err("is not a valid cluster name".to_string())
    }
}

fn parse_runtime_name(s: &str) -> Result<String, String> {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        Ok(s.to_string())
    } else {
        Err("is not a runtime name".to_string())
    }
}

fn check_source_tree(
    dir: &Path,
    r: &Reader<'_>,
    builds: [(bool, &str); 3],
) -> Result<(), SettingsError> {
    let is_tree = std::fs::read_to_string(dir.join("go.mod"))
        .map(|m| m.lines().any(|l| l.trim() == "module k8s.io/kubernetes"))
        .unwrap_or(false);
    if is_tree {
        return Ok(());
    }
    let which = builds
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, key)| format!("{key} (from {})", r.source(key)))
        .collect::<Vec<_>>()
        .join(", ");
    Err(SettingsError::Conflict(format!(
        "{which} needs a Kubernetes source tree, but source.k8sDir {} (from {}) is not one \
         (no go.mod with `module k8s.io/kubernetes`); run from the tree or set --k8s-dir",
        dir.display(),
        r.source("source.k8sDir")
    )))
}

/// The pod range size each node gets (kube-controller-manager's default).
const NODE_POD_PREFIX: u8 = 24;

fn check_subnets(
    r: &Reader<'_>,
    dind: Ipv4Net,
    pods: Ipv4Net,
    services: Ipv4Net,
    num_nodes: u32,
) -> Result<(), SettingsError> {
    // network, gateway (.1), nodes from .2, broadcast.
    let needed = u64::from(num_nodes) + 1 + 3;
    let room = 1u64 << (32 - dind.prefix_len());
    if needed > room {
        let prefix = 32 - (64 - (needed - 1).leading_zeros()).min(32);
        return Err(SettingsError::Conflict(format!(
            "dind.subnet {dind} (from {}) has room for {} node(s), but cluster.numNodes {num_nodes} (from {}) \
             needs {} (the master and the workers); use a /{prefix} or larger subnet",
            r.source("dind.subnet"),
            room.saturating_sub(3),
            r.source("cluster.numNodes"),
            num_nodes + 1
        )));
    }
    // The controller manager gives each node a /24 of the pod range
    // (its default node CIDR size); a node without one never becomes Ready.
    let pod_ranges = if pods.prefix_len() > NODE_POD_PREFIX {
        0
    } else {
        1u64 << (NODE_POD_PREFIX - pods.prefix_len())
    };
    if pod_ranges < u64::from(num_nodes) + 1 {
        let prefix = NODE_POD_PREFIX
            - (64 - u64::from(num_nodes).leading_zeros()).min(u32::from(NODE_POD_PREFIX)) as u8;
        return Err(SettingsError::Conflict(format!(
            "cluster.podSubnet {pods} (from {}) has room for {pod_ranges} node pod range(s) of /{NODE_POD_PREFIX}, \
             but cluster.numNodes {num_nodes} (from {}) needs {}; use a /{prefix} or larger subnet",
            r.source("cluster.podSubnet"),
            r.source("cluster.numNodes"),
            num_nodes + 1
        )));
    }
    // The API server refuses Service ranges wider than /12, and kubeadm puts
    // the DNS Service at the range's tenth address.
    if !(12..=28).contains(&services.prefix_len()) {
        return Err(SettingsError::Conflict(format!(
            "cluster.serviceSubnet {services} (from {}) must be a /12 to /28: the API server refuses \
             wider Service ranges and the cluster DNS Service needs the tenth address",
            r.source("cluster.serviceSubnet")
        )));
    }
    let nets = [
        ("dind.subnet", dind),
        ("cluster.podSubnet", pods),
        ("cluster.serviceSubnet", services),
    ];
    for (i, (ka, a)) in nets.iter().enumerate() {
        for (kb, b) in &nets[i + 1..] {
            if a.contains(&b.network()) || b.contains(&a.network()) {
                return Err(SettingsError::Conflict(format!(
                    "{ka} {a} (from {}) overlaps {kb} {b} (from {}); the node, pod and Service ranges must be disjoint",
                    r.source(ka),
                    r.source(kb)
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
