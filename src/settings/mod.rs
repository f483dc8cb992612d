//! Settings from the config file, `K8S_DIND_*` environment variables and
//! flags (flags > env > file > defaults), resolved once into [`Settings`]
//! with the source of every value. Nothing in here touches the engine or
//! writes a file, so bad input is reported before anything is created.

mod checks;
pub use checks::is_kubernetes_tree;
pub mod error;
pub mod file;
pub mod groups;
pub mod key;
pub mod kind;
mod reader;
pub mod render;
pub mod table;
pub mod types;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

pub use error::{SettingsError, Source};
pub use key::{Key, PerKey};
pub use kind::format_duration;
use reader::{
    expand_path, parse_choice, parse_cidr, parse_cluster_name, parse_image_repository,
    parse_runtime_name, parse_ssh_options, parse_url, Reader,
};
pub use table::{Computation, DefaultValue, Kind, SettingDef, SETTINGS};
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
    pub kubernetes_source: KubernetesSourceSetting,
    pub image_source: ImageSourceSetting,
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
    /// Extra options of the ssh that reaches an `ssh://` engine.
    pub ssh_options: Vec<String>,
    pub cluster_name: String,
    pub num_nodes: u32,
    pub cni_plugin: CniPlugin,
    pub no_dedicated: bool,
    pub apiserver_port: Option<u16>,
    /// Host port of the local registry; None keeps the current one (or the default).
    pub registry_port: Option<u16>,
    pub addons: Vec<Addon>,
    pub pod_subnet: Ipv4Net,
    pub service_subnet: Ipv4Net,
    /// How long the cluster's certificates last, in seconds.
    pub certificate_validity: u64,
    pub cache_dir: PathBuf,
    /// `~/.kubeadm-local-cluster`: admin.conf, kubectl, config.yaml.
    pub home_dir: PathBuf,
    /// Fail at once when another command holds the cluster's lock.
    pub no_wait: bool,
    pub provenance: Provenance,
}

impl Settings {
    pub fn any_build(&self) -> bool {
        self.build_kubeadm || self.build_hyperkube || self.build_kubectl
    }
}

/// The effective text and source of every setting.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub values: PerKey<(String, Source)>,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
}

impl Provenance {
    pub fn source(&self, key: Key) -> &Source {
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
    /// Setting → raw text, for the flags given.
    pub values: BTreeMap<Key, String>,
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

    let raw = PerKey::from_fn(|key| {
        let d = key.def();
        if let Some(v) = flags.values.get(&key) {
            (
                v.clone(),
                Source::Flag {
                    flag: d.flag.to_string(),
                },
            )
        } else if let Some(v) = inputs.env.get(&d.env()) {
            (v.clone(), Source::Env { var: d.env() })
        } else if let Some(v) = file_values.get(&key) {
            (
                v.raw.clone(),
                Source::File {
                    path: file_path.clone().expect("values come from a file"),
                    line: v.line,
                },
            )
        } else {
            (default_text(d, inputs), Source::Default)
        }
    });
    let r = Reader {
        raw: &raw,
        inputs,
        file_dir,
    };

    let kubernetes_version: VersionSpec = r.parse(Key::KubernetesVersion, |s| s.parse())?;
    if let Some((major, minor)) = kubernetes_version.minor() {
        if major != 1 || minor < *SUPPORTED_MINORS.start() {
            return Err(r.invalid(
                Key::KubernetesVersion,
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

    let [kubeadm_download, hyperkube_download, kubectl_download] =
        checks::downloads(&r, &mut warnings)?;
    let [build_kubeadm, build_hyperkube, build_kubectl] = checks::builds(
        &r,
        [&kubeadm_download, &hyperkube_download, &kubectl_download],
    )?;
    let k8s_dir = r.path(Key::K8sDir)?;
    if build_kubeadm || build_hyperkube || build_kubectl {
        checks::source_tree(
            &k8s_dir,
            &r,
            [build_kubeadm, build_hyperkube, build_kubectl],
        )?;
    }

    let dind_subnet = r.parse(Key::DindSubnet, parse_cidr)?;
    let pod_subnet = r.parse(Key::PodSubnet, parse_cidr)?;
    let service_subnet = r.parse(Key::ServiceSubnet, parse_cidr)?;
    let num_nodes: u32 = r.int(Key::NumNodes)?;
    checks::subnets(&r, dind_subnet, pod_subnet, service_subnet, num_nodes)?;

    let verbose: u8 = r.int(Key::Verbose)?;

    let settings = Settings {
        dind_subnet,
        verbose,
        kubernetes_version,
        kubernetes_source: r.parse(Key::KubernetesSource, parse_choice)?,
        image_source: r.parse(Key::ImageSource, parse_choice)?,
        release_url: r.parse(Key::ReleaseUrl, parse_url)?,
        image_repository: r.parse(Key::ImageRepository, parse_image_repository)?,
        build_kubeadm,
        build_hyperkube,
        build_kubectl,
        k8s_dir,
        kubeadm_download,
        hyperkube_download,
        kubectl_download,
        arch: r.optional(Key::Arch, parse_choice)?,
        debian_mirror: r.parse(Key::DebianMirror, parse_url)?,
        run_mode: r.parse(Key::RunMode, parse_choice)?,
        node_runtime: r.optional(Key::NodeRuntime, parse_runtime_name)?,
        ssh_options: r.parse(Key::SshOptions, parse_ssh_options)?,
        cluster_name: r.parse(Key::ClusterName, parse_cluster_name)?,
        num_nodes,
        cni_plugin: r.parse(Key::CniPlugin, parse_choice)?,
        no_dedicated: r.bool(Key::NoDedicated)?,
        apiserver_port: r.optional_int(Key::ApiServerPort)?,
        registry_port: r.optional_int(Key::RegistryPort)?,
        addons: r.addons()?,
        pod_subnet,
        service_subnet,
        certificate_validity: r.parse(
            Key::CertificateValidity,
            reader::duration(Key::CertificateValidity),
        )?,
        cache_dir: r.path(Key::CacheDir)?,
        home_dir,
        no_wait: r.bool(Key::NoWait)?,
        provenance: Provenance {
            values: raw.clone(),
            file: file_path,
        },
    };
    Ok(Resolved { settings, warnings })
}

/// The text of a setting's default, read like a value from any other source.
fn default_text(d: &SettingDef, inputs: &Inputs) -> String {
    match d.default {
        DefaultValue::Text(text) => text.to_string(),
        DefaultValue::None => String::new(),
        DefaultValue::Computed { how, .. } => match how {
            Computation::CurrentDir => inputs.cwd.display().to_string(),
            Computation::CacheDir => inputs
                .env
                .get("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| inputs.home.join(".cache"))
                .join("kubeadm-local-cluster")
                .display()
                .to_string(),
            Computation::Deferred => String::new(),
        },
    }
}

fn read_config_file(
    inputs: &Inputs,
    home_dir: &Path,
) -> Result<(Option<PathBuf>, BTreeMap<Key, file::FileValue>), SettingsError> {
    let (path, required) = match inputs.env.get(CONF_VAR).filter(|v| !v.is_empty()) {
        Some(p) => (expand_path(p, &inputs.cwd, &inputs.home), true),
        None => (home_dir.join("config.yaml"), false),
    };
    let text = match read_bounded(&path) {
        Ok(t) => t,
        Err(ReadError::NotFound) => {
            if required {
                return Err(SettingsError::MissingConfFile { path });
            }
            return Ok((None, BTreeMap::new()));
        }
        Err(ReadError::Other(reason)) => {
            return Err(SettingsError::UnreadableFile { path, reason })
        }
    };
    let values = file::parse(&path, &text)?;
    Ok((Some(path), values))
}

/// The largest config file read: a real one is a few hundred bytes; this
/// keeps `LOCAL_CLUSTER_CONF=/dev/zero` or a wrong, huge file from being
/// read into memory.
pub const MAX_CONF_BYTES: u64 = 1 << 20;

enum ReadError {
    NotFound,
    Other(String),
}

/// The file's text, if it is a regular file (a FIFO would block, a device
/// never end) of at most [`MAX_CONF_BYTES`] of UTF-8.
fn read_bounded(path: &Path) -> Result<String, ReadError> {
    use std::io::Read as _;
    let other = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Other(e.to_string()),
    };
    let meta = std::fs::metadata(path).map_err(other)?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(ReadError::Other(format!("it is {what}")));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CONF_BYTES + 1).read_to_end(&mut bytes))
        .map_err(other)?;
    if bytes.len() as u64 > MAX_CONF_BYTES {
        return Err(ReadError::Other(format!(
            "it is larger than {MAX_CONF_BYTES} bytes, too large for a config file"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        ReadError::Other(format!(
            "it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

#[cfg(test)]
mod tests;
