//! The node's base system, made from Debian packages with debootstrap.
//!
//! The base suite gives systemd and the networking tools; the container
//! runtime (containerd, runc) and the CNI reference plugins come from a newer
//! suite, pinned so nothing else is upgraded: Kubernetes 1.36+ wants
//! containerd 2, which only Debian's newer suites carry.
//!
//! Besides the root filesystem tarball, the cache entry keeps what other
//! images need from it: the CA bundle and a layer with iptables/nft and their
//! libraries for kube-proxy's image.

use std::path::Path;

use tokio::process::Command;

use super::dpkg;
use super::foreign::{self, Emulation};
use super::layer::LayerBuilder;
use super::{ImageError, Result};
use crate::artifacts::cache::{Cache, CacheKey, Entry};
use crate::process;
use crate::ui::Ui;

/// What the base system is made of.
#[derive(Debug, Clone)]
pub struct BaseSystem {
    pub suite: String,
    pub arch: String,
    pub mirror: String,
    pub packages: Vec<String>,
    /// A second suite and the packages taken from it.
    pub runtime_suite: String,
    pub runtime_packages: Vec<String>,
}

impl BaseSystem {
    pub fn new(arch: &str, mirror: &str) -> BaseSystem {
        BaseSystem {
            suite: "trixie".to_string(),
            arch: arch.to_string(),
            mirror: mirror.trim_end_matches('/').to_string(),
            packages: [
                // init and service management
                "systemd",
                "systemd-sysv",
                "dbus",
                // what kubelet, kubeadm preflight and CNI plugins call (iptables
                // also provides ebtables-nft; Debian's ebtables package would
                // pull in perl)
                "iptables",
                "nftables",
                "conntrack",
                "iproute2",
                "ethtool",
                "socat",
                "kmod",
                "util-linux",
                "mount",
                "procps",
                "ca-certificates",
                // for users poking around a node
                "less",
                "curl",
            ]
            .map(String::from)
            .to_vec(),
            runtime_suite: "sid".to_string(),
            runtime_packages: ["containerd", "runc", "containernetworking-plugins"]
                .map(String::from)
                .to_vec(),
        }
    }

    pub fn key(&self) -> CacheKey {
        CacheKey::new()
            .with("format", 3)
            .with("kept-cni-plugins", KEPT_CNI_PLUGINS.join(","))
            .with("suite", &self.suite)
            .with("arch", &self.arch)
            .with("mirror", &self.mirror)
            .with("packages", self.packages.join(","))
            .with("runtime-suite", &self.runtime_suite)
            .with("runtime-packages", self.runtime_packages.join(","))
            .with("setup", SETUP_SCRIPT)
    }
}

/// The reference CNI plugins a node keeps: what the pod networks here use
/// (bridge, host-local, loopback) and what CNI configurations commonly chain
/// (portmap, bandwidth, firewall, tuning). The others Debian ships (dhcp,
/// ptp, macvlan, ipvlan, vlan, host-device, tap, sbr, static, vrf, dummy)
/// no network here uses; they were a tenth of the node image.
pub const KEPT_CNI_PLUGINS: [&str; 7] = [
    "bandwidth",
    "bridge",
    "firewall",
    "host-local",
    "loopback",
    "portmap",
    "tuning",
];

/// Files in a base system cache entry.
pub const ROOTFS_TARBALL: &str = "rootfs.tar.gz";
pub const NETFILTER_LAYER: &str = "netfilter-layer.tar.gz";
pub const CA_BUNDLE: &str = "ca-certificates.crt";
pub const PACKAGE_LIST: &str = "packages.txt";

/// Runs inside the new root (chroot) after debootstrap.
const SETUP_SCRIPT: &str = r#"set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
apt-get -q update
apt-get -q install -y --no-install-recommends $PACKAGES
echo "deb $MIRROR $RUNTIME_SUITE main" > /etc/apt/sources.list.d/runtime.list
printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n' "$RUNTIME_SUITE" > /etc/apt/preferences.d/runtime
# Mirrors frozen in time (snapshots, offline copies) serve Release files past
# their Valid-Until date; accept those only when apt says that is the problem.
if apt-get -q update 2>&1 | tee /dev/stderr | grep -q 'is expired'; then
  apt-get -q -o Acquire::Check-Valid-Until=false update
fi
apt-get -q install -y --no-install-recommends -t "$RUNTIME_SUITE" $RUNTIME_PACKAGES
rm -f /etc/apt/sources.list.d/runtime.list /etc/apt/preferences.d/runtime
apt-get clean
# What nodes never run: containerd's failpoint test programs, runc's
# contributed tools, glibc's charset converters (nothing here converts
# charsets), and the CNI plugins no pod network here uses.
rm -f /usr/lib/containerd/*-fp* /usr/lib/containerd/loopback-v2 /usr/lib/cni/*-fp
rm -f /usr/sbin/seccompagent /usr/sbin/remap-rootfs /usr/sbin/sd-helper /usr/sbin/pidfd-kill /usr/sbin/recvtty /usr/sbin/fs-idmap
rm -rf /usr/lib/*-linux-gnu*/gconv
for plugin in /usr/lib/cni/*; do
  case " $KEPT_CNI_PLUGINS " in
    *" ${plugin##*/} "*) ;;
    *) rm -f "$plugin" ;;
  esac
done
rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /usr/share/info/* \
  /usr/share/lintian /usr/share/locale/* /var/log/* /var/cache/debconf/*-old /var/lib/dpkg/*-old
# Each node must get its own machine id at first boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
dpkg-query -W -f '${Package} ${Version}\n' > /packages.txt
"#;

/// Build the base system (or take it from the cache).
pub async fn build(ui: &Ui, base: &BaseSystem, cache: &Cache) -> Result<Entry> {
    let key = base.key();
    let entry = cache.entry(
        "base",
        &format!("debian-{}-{}", base.suite, base.arch),
        &key,
    );
    if entry.is_complete() {
        return Ok(entry);
    }
    check_host_can_debootstrap(
        &base.arch,
        "the node base system",
        "sudo local-cluster build node-image",
    )?;
    let staging = entry
        .stage()
        .map_err(ImageError::io("creating", entry.dir()))?;
    let root = staging.path("rootfs");

    let step = ui.step(format!(
        "Installing Debian {} ({}) with debootstrap",
        base.suite, base.arch
    ));
    debootstrap(ui, &base.suite, &base.arch, &base.mirror, &[], &root).await?;
    step.done();

    let step = ui.step(format!(
        "Installing node packages, {} from {}",
        base.runtime_packages.join(", "),
        base.runtime_suite
    ));
    let setup = root.join("setup.sh");
    std::fs::write(&setup, SETUP_SCRIPT).map_err(ImageError::io("writing", &setup))?;
    let proc_dir = root.join("proc");
    let mounted = Command::new("mount")
        .args(["-t", "proc", "proc"])
        .arg(&proc_dir)
        .status()
        .await
        .is_ok_and(|s| s.success());
    let mut cmd = Command::new("chroot");
    cmd.arg(&root)
        .args(["/bin/sh", "/setup.sh"])
        .env("PACKAGES", base.packages.join(" "))
        .env("MIRROR", &base.mirror)
        .env("RUNTIME_SUITE", &base.runtime_suite)
        .env("RUNTIME_PACKAGES", base.runtime_packages.join(" "))
        .env("KEPT_CNI_PLUGINS", KEPT_CNI_PLUGINS.join(" "))
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    let result = process::run(ui, cmd, "chroot is part of coreutils.", |_| {}).await;
    if mounted {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&proc_dir)
            .status()
            .await;
    }
    result?;
    let _ = std::fs::remove_file(root.join("setup.sh"));
    let list = root.join("packages.txt");
    std::fs::rename(&list, staging.path(PACKAGE_LIST)).map_err(ImageError::io("moving", &list))?;
    step.done();

    let step = ui.step("Extracting kube-proxy's netfilter tools and the CA bundle");
    let bundle = root.join("etc/ssl/certs/ca-certificates.crt");
    std::fs::copy(&bundle, staging.path(CA_BUNDLE)).map_err(ImageError::io("copying", &bundle))?;
    netfilter_layer(&root, &staging.path(NETFILTER_LAYER))?;
    step.done();

    let step = ui.step("Packing the root filesystem");
    let mut cmd = Command::new("tar");
    cmd.arg("--numeric-owner")
        .arg("--xattrs")
        .arg("--xattrs-include=*")
        .arg("-C")
        .arg(&root)
        // Mount points stay, their content does not: the runtime provides them.
        .args([
            "--exclude=./dev/*",
            "--exclude=./proc/*",
            "--exclude=./sys/*",
        ])
        .args(["--exclude=./run/*", "--exclude=./tmp/*"])
        // gzip's fastest level: a third of the default's CPU time for a
        // tenth more bytes, in a file that is read once, by the engine.
        .arg("--use-compress-program=gzip -1")
        .arg("-cf")
        .arg(staging.path(ROOTFS_TARBALL))
        .arg(".");
    process::run(
        ui,
        cmd,
        "GNU tar is needed to pack the node's root filesystem.",
        |_| {},
    )
    .await?;
    std::fs::remove_dir_all(&root).map_err(ImageError::io("removing", &root))?;
    step.done();

    staging
        .commit(&key)
        .map_err(ImageError::io("completing", entry.dir()))
}

const DEBOOTSTRAP_MISSING: &str =
    "Building a Debian system needs debootstrap (Debian/Ubuntu: `apt-get install debootstrap`).";

/// Install a minimal Debian `suite` for `arch` (a Go architecture name)
/// into `root` with debootstrap, plus the `include`d packages and their
/// dependencies.
///
/// For a foreign architecture debootstrap runs in two stages: the first,
/// on the host, downloads the packages and unpacks the essential ones; the
/// second, in a chroot of the new root, installs them with dpkg, which runs
/// their maintainer scripts (the target's programs, under the emulation
/// [`check_host_can_debootstrap`] has checked for).
pub async fn debootstrap(
    ui: &Ui,
    suite: &str,
    arch: &str,
    mirror: &str,
    include: &[String],
    root: &Path,
) -> Result<()> {
    let foreign = foreign::is_foreign(arch);
    let mut cmd = Command::new("debootstrap");
    cmd.arg("--variant=minbase")
        .arg(format!("--arch={}", foreign::debian_arch(arch)));
    if foreign {
        cmd.arg("--foreign");
    }
    if !include.is_empty() {
        cmd.arg(format!("--include={}", include.join(",")));
    }
    cmd.arg(suite).arg(root).arg(mirror);
    process::run(ui, cmd, DEBOOTSTRAP_MISSING, |_| {}).await?;
    if foreign {
        let mut cmd = Command::new("chroot");
        cmd.arg(root)
            .args(["/debootstrap/debootstrap", "--second-stage"])
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        process::run(ui, cmd, "chroot is part of coreutils.", |_| {}).await?;
    }
    Ok(())
}

/// Whether this host can build `what` (a Debian system for `arch`) with
/// debootstrap; the error says why not and what to do (`retry` is the
/// command to run once as root).
pub fn check_host_can_debootstrap(arch: &str, what: &str, retry: &str) -> Result<()> {
    if !cfg!(target_os = "linux") {
        return Err(ImageError::HostCannotBuild(format!(
            "building {what} runs debootstrap and needs a Linux host; \
             build it on a Linux machine (or a Linux VM) and load the images into this engine"
        )));
    }
    if !running_as_root() {
        return Err(ImageError::HostCannotBuild(format!(
            "building {what} runs debootstrap and chroot, which need root; \
             run `{retry}` once (the result is cached)"
        )));
    }
    match foreign::emulation(arch) {
        Emulation::Native | Emulation::Emulated { .. } => Ok(()),
        Emulation::Missing(why) => Err(ImageError::HostCannotBuild(format!(
            "building {what} for {arch} on this {} host runs {arch} programs (debootstrap's \
             second stage and the packages' maintainer scripts, in a chroot) under qemu-user, \
             but {why}; or build it on a machine of that architecture",
            foreign::host_arch()
        ))),
    }
}

fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The programs kube-proxy runs, in both of its modes.
const NETFILTER_PACKAGES: [&str; 2] = ["iptables", "nftables"];
/// Packages a single-binary image never needs (maintainer-script tooling).
const NOT_NEEDED: [&str; 8] = [
    "debconf",
    "dpkg",
    "perl-base",
    "init-system-helpers",
    "sensible-utils",
    "bash",
    "debianutils",
    "coreutils",
];
/// Commands Debian selects with update-alternatives (symlinks that dpkg's
/// file lists do not include).
const ALTERNATIVES: [&str; 6] = [
    "iptables",
    "iptables-save",
    "iptables-restore",
    "ip6tables",
    "ip6tables-save",
    "ip6tables-restore",
];

/// A layer with iptables, nft and their libraries from the base system.
fn netfilter_layer(root: &Path, out: &Path) -> Result<()> {
    let io = |source| ImageError::Io {
        action: "collecting netfilter tools from",
        path: root.to_path_buf(),
        source,
    };
    let status = std::fs::read_to_string(root.join("var/lib/dpkg/status")).map_err(io)?;
    let packages = dpkg::installed_packages(&status);
    let wanted =
        dpkg::closure(&packages, &NETFILTER_PACKAGES, &NOT_NEEDED).map_err(ImageError::Packages)?;
    let mut files = std::collections::BTreeSet::new();
    for name in &wanted {
        files.extend(dpkg::package_files(root, &packages[name]).map_err(io)?);
    }
    let mut layer = LayerBuilder::create(out).map_err(ImageError::io("writing", out))?;
    for file in &files {
        let rel = file.strip_prefix("/").unwrap_or(file);
        layer
            .copy_from(&rel.to_string_lossy(), &root.join(rel))
            .map_err(io)?;
    }
    for cmd in ALTERNATIVES {
        // /usr/sbin/iptables -> /etc/alternatives/iptables -> /usr/sbin/iptables-nft:
        // link straight to the alternative the base system selected.
        let Some(target) = resolve_alternative(root, &format!("/usr/sbin/{cmd}")) else {
            continue;
        };
        layer
            .symlink(&format!("usr/sbin/{cmd}"), &target)
            .map_err(io)?;
    }
    // Merged-/usr systems reach the dynamic loader through /lib64 (and
    // scripts through /bin): keep those top-level links.
    for dir in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
        let path = root.join(dir);
        if let Ok(target) = std::fs::read_link(&path) {
            layer.symlink(dir, &target.to_string_lossy()).map_err(io)?;
        }
    }
    layer.finish().map_err(io)?;
    Ok(())
}

/// Follow `path` (as seen inside `root`, not the host's /) through
/// /etc/alternatives to the alternative it selects.
fn resolve_alternative(root: &Path, path: &str) -> Option<String> {
    let mut current = std::path::PathBuf::from(path);
    for _ in 0..8 {
        let on_disk = root.join(current.strip_prefix("/").ok()?);
        let target = std::fs::read_link(&on_disk).ok()?;
        let next = if target.is_absolute() {
            target
        } else {
            current.parent()?.join(target)
        };
        if !next.starts_with("/etc/alternatives") {
            return Some(next.display().to_string());
        }
        current = next;
    }
    None
}
