//! What `doctor` reads of this machine: who runs it, free space, inotify
//! limits, and which network devices the kernel makes (tried in a
//! network namespace of its own, which sends nothing anywhere).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

/// How a kind of network device fared when one was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Works,
    Fails(String),
    /// Could not be tried (not root, no `ip` or `unshare`).
    Unknown(String),
}

/// Free space where something is kept.
#[derive(Debug, Clone)]
pub struct Disk {
    /// "cache disk", "engine disk".
    pub what: &'static str,
    pub path: PathBuf,
    /// Bytes free to this user; None when it could not be read.
    pub free: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct HostFacts {
    pub root: bool,
    /// `fs.inotify.max_user_watches` and `max_user_instances`.
    pub inotify: Option<(u64, u64)>,
    pub disks: Vec<Disk>,
    /// `go version`'s version, or why there is none.
    pub go: Result<String, String>,
    pub links: Vec<(&'static str, Probe)>,
}

/// Every kind of device [`super::links_for`] may ask for.
const LINK_KINDS: [&str; 3] = ["bridge", "veth", "vxlan"];

/// Read this machine. `cache` is the tool's cache directory; `data_root`
/// the engine's, when the engine runs on this machine; `go` the local Go's
/// version as builds ask it, or why there is none.
pub async fn gather(
    cache: &Path,
    data_root: Option<&Path>,
    go: Result<String, String>,
) -> HostFacts {
    let root = nix::unistd::geteuid().is_root();
    let mut disks = vec![disk("cache disk", cache)];
    if let Some(dir) = data_root {
        disks.push(disk("engine disk", dir));
    }
    let mut links = Vec::new();
    for kind in LINK_KINDS {
        links.push((kind, probe_link(kind, root).await));
    }
    HostFacts {
        root,
        inotify: inotify(),
        disks,
        go,
        links,
    }
}

fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn inotify() -> Option<(u64, u64)> {
    Some((
        read_number("/proc/sys/fs/inotify/max_user_watches")?,
        read_number("/proc/sys/fs/inotify/max_user_instances")?,
    ))
}

fn disk(what: &'static str, path: &Path) -> Disk {
    Disk {
        what,
        path: path.to_path_buf(),
        free: crate::disk::space(path).map(|s| s.free),
    }
}

/// Run `program args` for at most 10 s: stdout, or why not.
async fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new(program);
    // Go as builds run it: never fetching another toolchain.
    cmd.args(args)
        .env("GOTOOLCHAIN", "local")
        .kill_on_drop(true);
    match tokio::time::timeout(Duration::from_secs(10), cmd.output()).await {
        Err(_) => Err(format!("`{program}` did not finish within 10 s")),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("`{program}` is not installed or not on PATH"))
        }
        Ok(Err(e)) => Err(format!("`{program}`: {e}")),
        Ok(Ok(out)) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        Ok(Ok(out)) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
    }
}

/// Make a device of `kind` in a new network namespace (gone with the
/// command): the node containers make the same in theirs.
async fn probe_link(kind: &str, root: bool) -> Probe {
    if !root {
        return Probe::Unknown("only root can make network namespaces".to_string());
    }
    let add = match kind {
        "veth" => "ip link add lc-probe0 type veth peer name lc-probe1".to_string(),
        "vxlan" => "ip link add lc-probe0 type vxlan id 42 dstport 4789".to_string(),
        other => format!("ip link add lc-probe0 type {other}"),
    };
    match run("unshare", &["--net", "sh", "-c", &add]).await {
        Ok(_) => Probe::Works,
        Err(why) if why.contains("not installed") || why.contains("not found") => {
            Probe::Unknown(why)
        }
        Err(why) => Probe::Fails(why),
    }
}
