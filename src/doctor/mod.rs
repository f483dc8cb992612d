//! `doctor`: can this machine run clusters? What the engine and the host
//! are ([`Facts`], gathered by [`host`] and the command) is judged here by
//! pure functions into findings, each with what to do about it.

pub mod host;
#[cfg(test)]
mod tests;

use crate::engine::EngineInfo;
use crate::settings::CniPlugin;

/// How a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Ok,
    /// Works, with a cost or a limit worth knowing.
    Warning,
    /// Clusters cannot be made until it is fixed.
    Problem,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Problem => "PROBLEM",
        }
    }
}

/// One thing looked at: what, how it stands, and the fix when it needs one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub topic: &'static str,
    pub verdict: Verdict,
    pub detail: String,
    pub fix: Option<String>,
}

impl Finding {
    fn ok(topic: &'static str, detail: impl Into<String>) -> Finding {
        Finding {
            topic,
            verdict: Verdict::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn with(
        topic: &'static str,
        verdict: Verdict,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            topic,
            verdict,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// The engine as `doctor` found it.
#[derive(Debug, Clone)]
pub struct EngineFacts {
    /// Its address and where that came from.
    pub describe: String,
    pub info: EngineInfo,
    /// The node image `up` would use, and whether the engine has it.
    pub node_image: Option<(String, bool)>,
}

/// Where the first `up` gets Kubernetes and its images.
#[derive(Debug, Clone)]
pub struct Sources {
    pub version: String,
    /// The release site: answered, or why not; None when the settings
    /// fix the source (no site asked).
    pub release_site: Option<(String, Result<(), String>)>,
    /// The image registry, the same way.
    pub registry: Option<(String, Result<(), String>)>,
    /// Kubernetes is built here from its Go module.
    pub builds_kubernetes: bool,
}

/// Everything `doctor` judges.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The engine, or why it could not be asked.
    pub engine: Result<EngineFacts, String>,
    /// None when the version could not be resolved (the reason is then in
    /// `version_error`).
    pub sources: Option<Sources>,
    pub version_error: Option<String>,
    pub host: host::HostFacts,
    pub cni_plugin: CniPlugin,
}

/// Free space below which a first `up` (node image, Go build cache) will
/// not fit (what its build writes, measured), and below which it is tight.
const DISK_NEEDED: u64 = crate::images::room::FIRST_BUILD;
const DISK_COMFORTABLE: u64 = 30_000_000_000;
/// What kind's documentation, and clusters of several nodes, need.
const INOTIFY_WATCHES: u64 = 524_288;
const INOTIFY_INSTANCES: u64 = 512;

/// The findings, in the order they are shown.
pub fn judge(facts: &Facts) -> Vec<Finding> {
    let mut out = vec![engine(&facts.engine)];
    let needs_build = match &facts.engine {
        Ok(e) => {
            out.extend(node_image(e));
            !matches!(e.node_image, Some((_, true)))
        }
        Err(_) => true,
    };
    match (&facts.sources, &facts.version_error) {
        (Some(sources), _) => out.extend(self::sources(sources, needs_build)),
        (None, Some(why)) => out.push(Finding::with(
            "kubernetes version",
            Verdict::Problem,
            format!("could not be resolved: {why}"),
            "set source.kubernetesVersion (--kubernetes-version) to an exact version, or let \
             this machine reach the release site or the Go module proxy",
        )),
        (None, None) => {}
    }
    let builds_go = facts.sources.as_ref().is_none_or(|s| s.builds_kubernetes);
    out.push(go(&facts.host.go, needs_build && builds_go));
    if needs_build {
        out.push(root(facts.host.root));
    }
    out.extend(facts.host.disks.iter().map(disk));
    out.push(inotify(facts.host.inotify));
    out.extend(kernel(&facts.host.links, facts.cni_plugin));
    out
}

fn engine(engine: &Result<EngineFacts, String>) -> Finding {
    let e = match engine {
        Ok(e) => e,
        Err(why) => {
            let fix = if why.contains("Permission denied") || why.contains("permission denied") {
                "this user may not use the engine's socket: add it to the `docker` group \
                 (`sudo usermod -aG docker $USER`, then log in again) or run as root"
            } else {
                "start dockerd (`sudo systemctl start docker`), or point DOCKER_HOST (or a \
                 Docker context) at a running engine"
            };
            return Finding::with("engine", Verdict::Problem, why.clone(), fix);
        }
    };
    let i = &e.info;
    let detail = format!(
        "{} {} (API {}) at {}: {}/{}, {}, cgroup v{} ({} driver), kernel {}",
        i.product,
        i.server_version,
        i.api_version,
        e.describe,
        i.os_type,
        i.arch,
        i.image_store,
        i.cgroup_version,
        i.cgroup_driver,
        i.kernel_version
    );
    if i.rootless {
        return Finding::with(
            "engine",
            Verdict::Warning,
            format!("{detail}, rootless"),
            "nodes need to create cgroups and network devices; rootless engines are not tried \
             by local-cluster's tests: use a rootful engine if nodes fail to start",
        );
    }
    Finding::ok("engine", detail)
}

fn node_image(e: &EngineFacts) -> Option<Finding> {
    let (reference, present) = e.node_image.as_ref()?;
    Some(if *present {
        Finding::ok(
            "node image",
            format!("{reference} is in the engine: `up` starts from it"),
        )
    } else {
        Finding::with(
            "node image",
            Verdict::Warning,
            format!("{reference} is not built yet"),
            "the first `up` builds it (about 15 minutes on 2 cores when Kubernetes is built \
             from its Go module; `local-cluster build node-image` does it ahead)",
        )
    })
}

fn sources(s: &Sources, needs_build: bool) -> Vec<Finding> {
    // A site that does not answer matters only when something is built.
    let unneeded = |topic, detail: String| {
        Finding::ok(
            topic,
            format!("{detail} (not needed: the node image is built)"),
        )
    };
    let mut out = Vec::new();
    if let Some((url, answer)) = &s.release_site {
        out.push(match answer {
            Ok(()) => Finding::ok(
                "release site",
                format!(
                    "{url} has Kubernetes {}: binaries are downloaded",
                    s.version
                ),
            ),
            Err(why) if !needs_build => unneeded("release site", format!("{url}: {why}")),
            Err(why) => Finding::with(
                "release site",
                Verdict::Warning,
                format!("{url}: {why}"),
                format!(
                    "Kubernetes {} is built here from its Go module instead (needs Go and \
                     about 10 more minutes, once)",
                    s.version
                ),
            ),
        });
    }
    if let Some((registry, answer)) = &s.registry {
        out.push(match answer {
            Ok(()) => Finding::ok("registry", format!("{registry} answers: images are pulled")),
            Err(why) if !needs_build => unneeded("registry", format!("{registry}: {why}")),
            Err(why) => Finding::with(
                "registry",
                Verdict::Warning,
                format!("{registry}: {why}"),
                "etcd, CoreDNS, pause and the pod network's images are built here instead, \
                 from their Go modules",
            ),
        });
    }
    out
}

fn go(go: &Result<String, String>, needed: bool) -> Finding {
    match (go, needed) {
        (Ok(version), _) => Finding::ok("go", version.clone()),
        (Err(why), true) => Finding::with(
            "go",
            Verdict::Problem,
            why.clone(),
            "install Go (https://go.dev/dl/, or Debian's golang-go when it is recent enough) \
             and put `go` on PATH: Kubernetes and the images are built from Go modules here",
        ),
        (Err(why), false) => Finding::with(
            "go",
            Verdict::Warning,
            why.clone(),
            "not needed while the node image is there or downloads serve; source builds \
             (`reup`, --k8s-dir) need Go",
        ),
    }
}

fn root(root: bool) -> Finding {
    if root {
        return Finding::ok("root", "running as root: node images can be built");
    }
    Finding::with(
        "root",
        Verdict::Warning,
        "not root: building a node image runs debootstrap and chroot, which need root",
        "build it once as root (`sudo local-cluster build node-image`, same --cache-dir or \
         cacheDir); everything else works as a member of the `docker` group",
    )
}

fn disk(d: &host::Disk) -> Finding {
    use crate::disk::gb;
    let Some(free) = d.free else {
        return Finding::ok(d.what, format!("{} (free space unknown)", d.path.display()));
    };
    let detail = format!("{} free on {}", gb(free), d.path.display());
    if free < DISK_NEEDED {
        Finding::with(
            d.what,
            Verdict::Problem,
            detail,
            format!(
                "a first `up` needs about {} there: free space",
                gb(DISK_NEEDED)
            ),
        )
    } else if free < DISK_COMFORTABLE {
        Finding::with(
            d.what,
            Verdict::Warning,
            detail,
            format!(
                "enough for a cluster; builds of several versions or source trees want {}",
                gb(DISK_COMFORTABLE)
            ),
        )
    } else {
        Finding::ok(d.what, detail)
    }
}

fn inotify(limits: Option<(u64, u64)>) -> Finding {
    let Some((watches, instances)) = limits else {
        return Finding::ok("inotify", "limits not readable here");
    };
    let detail = format!("max_user_watches {watches}, max_user_instances {instances}");
    if watches >= INOTIFY_WATCHES && instances >= INOTIFY_INSTANCES {
        return Finding::ok("inotify", detail);
    }
    Finding::with(
        "inotify",
        Verdict::Warning,
        detail,
        format!(
            "kubelets and pods of several nodes share these limits (\"too many open files\"): \
             `sudo sysctl -w fs.inotify.max_user_watches={INOTIFY_WATCHES} \
             fs.inotify.max_user_instances={INOTIFY_INSTANCES}`, and the same two lines in \
             /etc/sysctl.d/99-local-cluster.conf to keep them after a reboot"
        ),
    )
}

/// The network devices the pod network makes in the nodes.
pub fn links_for(cni: CniPlugin) -> &'static [&'static str] {
    match cni {
        CniPlugin::Bridge | CniPlugin::KubeRouter | CniPlugin::Weave | CniPlugin::None => {
            &["bridge", "veth"]
        }
        CniPlugin::Flannel | CniPlugin::Calico => &["bridge", "veth", "vxlan"],
    }
}

fn kernel(links: &[(&'static str, host::Probe)], cni: CniPlugin) -> Vec<Finding> {
    let wanted = links_for(cni);
    links
        .iter()
        .filter(|(kind, _)| wanted.contains(kind))
        .map(|(kind, probe)| match probe {
            host::Probe::Works => Finding::ok("kernel", format!("{kind} devices can be made")),
            host::Probe::Unknown(why) => {
                Finding::ok("kernel", format!("{kind} devices: not tried ({why})"))
            }
            host::Probe::Fails(why) => Finding::with(
                "kernel",
                Verdict::Problem,
                format!("{kind} devices cannot be made: {why}"),
                format!(
                    "cniPlugin {} needs them: load the module (`sudo modprobe {kind}`) or \
                     choose another pod network (--cni-plugin)",
                    cni.as_str()
                ),
            ),
        })
        .collect()
}
