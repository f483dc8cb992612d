//! The bare node image: the Debian base system plus a layer of the node's
//! service configuration (entrypoint, kubelet and containerd units, sysctls),
//! assembled here and loaded into the engine as an archive.

use std::path::Path;

use super::super::archive::ImageSpec;
use super::super::layer::{describe_gzip_layer, LayerBlob, LayerBuilder};
use super::super::rootfs::{self, BaseSystem};
use super::{node_image_config, node_image_labels, Build, Made};
use crate::artifacts::cache::{CacheKey, Entry};
use crate::engine::stream::stream_from_writer;
use crate::engine::Engine;
use crate::images::{ImageError, Result};

const ENTRYPOINT_SCRIPT: &str = include_str!("../node_files/entrypoint.sh");
const KUBELET_UNIT: &str = include_str!("../node_files/kubelet.service");
const KUBELET_DROPIN: &str = include_str!("../node_files/10-kubeadm.conf");
const CONTAINERD_DROPIN: &str = include_str!("../node_files/containerd-container.conf");
const SYSCTL: &str = include_str!("../node_files/sysctl.conf");
const SYSTEMD_MANAGER: &str = include_str!("../node_files/system.conf");
const JOURNALD: &str = include_str!("../node_files/journald.conf");

/// Units that make no sense in a container node.
const MASKED_UNITS: [&str; 17] = [
    "getty.target",
    "console-getty.service",
    "systemd-udevd.service",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
    "systemd-journald-audit.socket",
    // An empty machine-id (each node makes its own) would otherwise mean
    // "first boot" and a prompt on the console.
    "systemd-firstboot.service",
    // Kernel modules and pseudo file systems are the host's business; at
    // boot these cost a few hundred milliseconds of each node's start.
    "modprobe@.service",
    "dev-hugepages.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "sys-kernel-config.mount",
    "sys-fs-fuse-connections.mount",
    // Nobody logs in, and the kubelet asks logind only for a graceful node
    // shutdown, which kubeadm leaves off: 8.5 MiB of memory a node.
    "systemd-logind.service",
];

/// The reference CNI plugins the base system keeps in /usr/lib/cni (see
/// [`rootfs::KEPT_CNI_PLUGINS`]); the kubelet, containerd and CNI installers
/// (flannel, calico) expect them in /opt/cni/bin.
const CNI_PLUGINS: [&str; 7] = rootfs::KEPT_CNI_PLUGINS;

pub fn reference(base: &BaseSystem) -> String {
    format!(
        "kubeadm-local-cluster/node-bare:{}-{}",
        base.suite, base.arch
    )
}

fn node_config_key() -> CacheKey {
    CacheKey::new()
        .with("entrypoint", ENTRYPOINT_SCRIPT)
        .with("kubelet-unit", KUBELET_UNIT)
        .with("kubelet-dropin", KUBELET_DROPIN)
        .with("containerd-dropin", CONTAINERD_DROPIN)
        .with("sysctl", SYSCTL)
        .with("systemd-manager", SYSTEMD_MANAGER)
        .with("journald", JOURNALD)
        .with("masked", MASKED_UNITS.join(","))
        .with("cni-plugins", CNI_PLUGINS.join(","))
}

/// Step: make sure the bare image is in the engine (`force`: load it anew).
/// Returns it and whether it was (re)loaded.
pub(super) async fn ensure<E: Engine>(
    build: &Build<'_, E>,
    base: &BaseSystem,
    base_entry: &Entry,
    force: bool,
) -> Result<(Made, bool)> {
    let made = Made {
        reference: reference(base),
        inputs: base
            .key()
            .with("node-config", node_config_key().hash())
            .hash(),
    };
    if !force && build.up_to_date(&made).await? {
        return Ok((made, false));
    }
    let step = build
        .context
        .ui
        .step(format!("Loading the bare node image {}", made.reference));
    let config_layer = config_layer(build)?;
    let rootfs_path = base_entry.path(rootfs::ROOTFS_TARBALL);
    let layers = tokio::task::spawn_blocking({
        let rootfs_path = rootfs_path.clone();
        move || -> std::io::Result<Vec<LayerBlob>> {
            Ok(vec![
                describe_gzip_layer(&rootfs_path)?,
                describe_gzip_layer(&config_layer)?,
            ])
        }
    })
    .await
    .expect("hashing task panicked")
    .map_err(ImageError::io("reading", &rootfs_path))?;
    let spec = ImageSpec {
        references: vec![made.reference.clone()],
        arch: base.arch.clone(),
        config: node_image_config(node_image_labels(&made.inputs, &[])),
        layers,
    };
    load_archive(build.context.engine, spec, &made.reference).await?;
    step.done();
    Ok((made, true))
}

/// The layer of node configuration files (cached); returns its path.
fn config_layer<E>(build: &Build<'_, E>) -> Result<std::path::PathBuf> {
    let key = node_config_key();
    let entry = build.context.cache.entry("layers", "node-config", &key);
    if !entry.is_complete() {
        let staging = entry
            .stage()
            .map_err(ImageError::io("creating", entry.dir()))?;
        write_config_layer(&staging.path("layer.tar.gz"))
            .map_err(ImageError::io("writing a layer in", staging.dir()))?;
        staging
            .commit(&key)
            .map_err(ImageError::io("completing", entry.dir()))?;
    }
    Ok(entry.path("layer.tar.gz"))
}

fn write_config_layer(path: &Path) -> std::io::Result<LayerBlob> {
    let mut l = LayerBuilder::create(path)?;
    l.file(
        super::ENTRYPOINT.trim_start_matches('/'),
        0o755,
        ENTRYPOINT_SCRIPT.as_bytes(),
    )?;
    for (path, content) in [
        ("etc/systemd/system/kubelet.service", KUBELET_UNIT),
        (
            "etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
            KUBELET_DROPIN,
        ),
    ] {
        l.file(path, 0o644, content.as_bytes())?;
    }
    l.symlink(
        "etc/systemd/system/multi-user.target.wants/kubelet.service",
        "/etc/systemd/system/kubelet.service",
    )?;
    l.file(
        "etc/systemd/system/containerd.service.d/10-local-cluster.conf",
        0o644,
        CONTAINERD_DROPIN.as_bytes(),
    )?;
    for unit in MASKED_UNITS {
        l.symlink(&format!("etc/systemd/system/{unit}"), "/dev/null")?;
    }
    for (path, content) in [
        ("etc/sysctl.d/10-local-cluster.conf", SYSCTL),
        (
            "etc/systemd/system.conf.d/10-local-cluster.conf",
            SYSTEMD_MANAGER,
        ),
        (
            "etc/systemd/journald.conf.d/10-local-cluster.conf",
            JOURNALD,
        ),
    ] {
        l.file(path, 0o644, content.as_bytes())?;
    }
    for dir in [
        "etc/cni/net.d",
        "opt/cni/bin",
        "etc/kubernetes/manifests",
        "var/lib/kubelet",
    ] {
        l.dir(dir, 0o755)?;
    }
    for plugin in CNI_PLUGINS {
        l.symlink(
            &format!("opt/cni/bin/{plugin}"),
            &format!("/usr/lib/cni/{plugin}"),
        )?;
    }
    l.finish()
}

/// Stream a docker-save archive of `spec` into the engine without writing it
/// to disk first.
async fn load_archive<E: Engine>(engine: &E, spec: ImageSpec, reference: &str) -> Result<()> {
    use futures_util::StreamExt;
    let (stream, writer) = stream_from_writer(move |out| spec.write_archive_to(out).map(|_| ()));
    let loaded = engine.load_image(stream.boxed()).await;
    let written = writer.await.expect("archive writer panicked");
    loaded.map_err(ImageError::engine(format!("load {reference}")))?;
    written.map_err(ImageError::io(
        "writing the archive of",
        Path::new(reference),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_layer_holds_every_file_and_link() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.tar.gz");
        write_config_layer(&path).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        for wanted in [
            "usr/local/bin/local-cluster-entrypoint",
            "etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
            "etc/systemd/system/getty.target",
            "etc/systemd/journald.conf.d/10-local-cluster.conf",
            "opt/cni/bin/portmap",
        ] {
            assert!(names.iter().any(|n| n == wanted), "{wanted} in {names:?}");
        }
    }
}
