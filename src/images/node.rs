//! Node images: the bare image (Debian base system plus the node's service
//! configuration) and, on top of it, the image for one Kubernetes version with
//! its binaries and every image kubeadm runs already in the node's containerd.
//!
//! Images carry a label with the hash of everything they were made from; an
//! image whose label differs from what the settings ask for is rebuilt.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::archive::{ImageSpec, RuntimeConfig};
use super::components::{self, ComponentInputs};
use super::layer::{describe_gzip_layer, LayerBlob, LayerBuilder};
use super::rootfs::{self, BaseSystem};
use crate::artifacts::cache::{self, Cache, CacheKey, Entry};
use crate::artifacts::{self, ArtifactError, Binaries, BinaryPlan};
use crate::engine::stream::stream_from_writer;
use crate::engine::{CommitConfig, ContainerSpec, Engine, EngineError, LABEL_ROLE};
use crate::settings::{ImageSource, KubernetesSource};
use crate::ui::ui;

/// Label holding the hash of an image's inputs.
pub const LABEL_INPUTS: &str = "io.kubeadm-local-cluster.inputs";
/// Label holding the Kubernetes version inside a node image.
pub const LABEL_KUBERNETES_VERSION: &str = "io.kubeadm-local-cluster.kubernetes-version";
/// Label listing the images preloaded in a node image.
pub const LABEL_PRELOADED: &str = "io.kubeadm-local-cluster.preloaded-images";

pub const ENTRYPOINT: &str = "/usr/local/bin/local-cluster-entrypoint";
/// systemd stops cleanly on this signal (SIGTERM would make it re-execute).
pub const STOP_SIGNAL: &str = "SIGRTMIN+3";

const ENTRYPOINT_SCRIPT: &str = include_str!("node_files/entrypoint.sh");
const CONTAINERD_CONFIG: &str = include_str!("node_files/containerd.toml");
const KUBELET_UNIT: &str = include_str!("node_files/kubelet.service");
const KUBELET_DROPIN: &str = include_str!("node_files/10-kubeadm.conf");
const CONTAINERD_DROPIN: &str = include_str!("node_files/containerd-container.conf");
const SYSCTL: &str = include_str!("node_files/sysctl.conf");
const SYSTEMD_MANAGER: &str = include_str!("node_files/system.conf");
const JOURNALD: &str = include_str!("node_files/journald.conf");

/// Units that make no sense in a container node.
const MASKED_UNITS: [&str; 16] = [
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
];

/// What a node image is to contain.
#[derive(Debug, Clone)]
pub struct NodeImagePlan {
    pub arch: String,
    pub debian_mirror: String,
    /// None for the bare image.
    pub kubernetes: Option<KubernetesContent>,
}

#[derive(Debug, Clone)]
pub struct KubernetesContent {
    pub binaries: BinaryPlan,
    pub image_source: ImageSource,
    pub image_repository: String,
}

pub fn bare_image_reference(base: &BaseSystem) -> String {
    format!(
        "kubeadm-local-cluster/node-bare:{}-{}",
        base.suite, base.arch
    )
}

pub fn node_image_reference(version: &str, arch: &str) -> String {
    format!("kubeadm-local-cluster/node:{version}-{arch}")
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
}

/// Does the engine hold `reference` built from `inputs`?
async fn up_to_date(engine: &Engine, reference: &str, inputs: &str) -> Result<bool, ArtifactError> {
    let details = engine
        .inspect_image(reference)
        .await
        .map_err(|e| engine_error(reference, e))?;
    Ok(details.is_some_and(|d| d.labels.get(LABEL_INPUTS).map(String::as_str) == Some(inputs)))
}

fn engine_error(what: &str, e: crate::engine::EngineError) -> ArtifactError {
    ArtifactError::Build {
        what: what.to_string(),
        source: Box::new(e),
    }
}

/// Make sure the node image the plan describes is in the engine; build what
/// is missing. `force` rebuilds the final image even when it is current.
/// Returns the image's reference.
pub async fn ensure(
    engine: &Engine,
    plan: &NodeImagePlan,
    cache: &Cache,
    force: bool,
) -> Result<String, ArtifactError> {
    let base = BaseSystem::new(&plan.arch, &plan.debian_mirror);
    let bare_reference = bare_image_reference(&base);
    let bare_key = base.key().with("node-config", node_config_key().hash());
    let bare_inputs = bare_key.hash();
    let base_entry = rootfs::build(&base, cache).await?;
    let mut built = false;
    let bare_current = up_to_date(engine, &bare_reference, &bare_inputs).await?;
    if !bare_current || (force && plan.kubernetes.is_none()) {
        let step = ui().step(format!("Loading the bare node image {bare_reference}"));
        load_bare_image(
            engine,
            &base,
            &base_entry,
            &bare_reference,
            &bare_inputs,
            cache,
        )
        .await?;
        step.done();
        built = true;
    }
    let Some(k8s) = &plan.kubernetes else {
        if built {
            forget_superseded(engine).await;
        }
        return Ok(bare_reference);
    };

    let step = ui().step(format!(
        "Getting Kubernetes {} binaries",
        k8s.binaries.version
    ));
    let binaries = artifacts::kubernetes_binaries(&k8s.binaries, cache)
        .await
        .map_err(|e| match e {
            // Offline machines (like CI without internet) can build instead.
            ArtifactError::Http { url, reason }
                if k8s.binaries.source == KubernetesSource::Release =>
            {
                ArtifactError::Http {
                    url,
                    reason: format!(
                        "{reason}; where the release site cannot be reached, \
                         --kubernetes-source go-module builds Kubernetes from its Go module"
                    ),
                }
            }
            other => other,
        })?;
    step.done();
    for (name, origin) in &binaries.origins {
        ui().note(format!("{name}: {origin}"));
    }

    let version = binaries.version.to_string();
    let reference = node_image_reference(&version, &plan.arch);
    let mut key = CacheKey::new()
        .with("format", 1)
        .with("bare", &bare_inputs)
        .with("image-source", format!("{:?}", k8s.image_source))
        .with("image-repository", &k8s.image_repository)
        .with("containerd-config", CONTAINERD_CONFIG);
    for (name, path) in &binaries.files {
        key = key.with(
            name,
            cache::file_identity(path).map_err(|e| ArtifactError::io(path, e))?,
        );
    }
    let inputs = key.hash();
    if !force && !built && up_to_date(engine, &reference, &inputs).await? {
        return Ok(reference);
    }
    build_kubernetes_image(
        engine,
        &bare_reference,
        &reference,
        &inputs,
        &binaries,
        k8s,
        &base_entry,
        &plan.arch,
        cache,
    )
    .await?;
    forget_superseded(engine).await;
    Ok(reference)
}

/// After a build: drop the images it replaced, saying so; a failure here
/// must not fail the build.
async fn forget_superseded(engine: &Engine) {
    match remove_superseded(engine).await {
        Ok(0) => {}
        Ok(n) => ui().note(format!("removed {n} superseded node image(s)")),
        Err(e) => ui().warn(format!("could not remove superseded node images: {e}")),
    }
}

/// Node images whose tag has moved to a newer build. Each is removed once
/// no container or snapshot is made from it; until then the engine refuses
/// and it stays. Returns how many were removed.
pub async fn remove_superseded(engine: &Engine) -> Result<usize, EngineError> {
    let mut removed = 0;
    // Node images are made from the bare image: a superseded bare image can
    // go only after the node images made from it, in a later pass.
    loop {
        let mut this_pass = 0;
        for (id, tags) in engine.list_images(&[(LABEL_ROLE, "node-image")]).await? {
            if tags.iter().any(|t| t != "<none>:<none>") {
                continue;
            }
            match engine.remove_image_if_unused(&id).await {
                Ok(()) => this_pass += 1,
                Err(e) if e.is_conflict() => {}
                Err(e) => return Err(e),
            }
        }
        removed += this_pass;
        if this_pass == 0 {
            return Ok(removed);
        }
    }
}

/// The layer of node configuration files on top of the Debian base.
fn node_config_layer(path: &Path) -> std::io::Result<LayerBlob> {
    let mut l = LayerBuilder::create(path)?;
    l.file(
        ENTRYPOINT.trim_start_matches('/'),
        0o755,
        ENTRYPOINT_SCRIPT.as_bytes(),
    )?;
    l.file(
        "etc/systemd/system/kubelet.service",
        0o644,
        KUBELET_UNIT.as_bytes(),
    )?;
    l.file(
        "etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
        0o644,
        KUBELET_DROPIN.as_bytes(),
    )?;
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
    l.file(
        "etc/sysctl.d/10-local-cluster.conf",
        0o644,
        SYSCTL.as_bytes(),
    )?;
    l.file(
        "etc/systemd/system.conf.d/10-local-cluster.conf",
        0o644,
        SYSTEMD_MANAGER.as_bytes(),
    )?;
    l.file(
        "etc/systemd/journald.conf.d/10-local-cluster.conf",
        0o644,
        JOURNALD.as_bytes(),
    )?;
    for dir in [
        "etc/cni/net.d",
        "opt/cni/bin",
        "etc/kubernetes/manifests",
        "var/lib/kubelet",
    ] {
        l.dir(dir, 0o755)?;
    }
    // The reference CNI plugins live in /usr/lib/cni; the kubelet, containerd
    // and CNI installers (flannel, calico) expect /opt/cni/bin.
    for plugin in [
        "bandwidth",
        "bridge",
        "dhcp",
        "dummy",
        "firewall",
        "host-device",
        "host-local",
        "ipvlan",
        "loopback",
        "macvlan",
        "portmap",
        "ptp",
        "sbr",
        "static",
        "tap",
        "tuning",
        "vlan",
        "vrf",
    ] {
        l.symlink(
            &format!("opt/cni/bin/{plugin}"),
            &format!("/usr/lib/cni/{plugin}"),
        )?;
    }
    l.finish()
}

async fn load_bare_image(
    engine: &Engine,
    base: &BaseSystem,
    base_entry: &Entry,
    reference: &str,
    inputs: &str,
    cache: &Cache,
) -> Result<(), ArtifactError> {
    let rootfs_path = base_entry.path(rootfs::ROOTFS_TARBALL);
    let config_entry = cache.entry("layers", "node-config", &node_config_key());
    if !config_entry.is_complete() {
        let staging = config_entry
            .stage()
            .map_err(|e| ArtifactError::io(config_entry.dir(), e))?;
        node_config_layer(&staging.path("layer.tar.gz"))
            .map_err(|e| ArtifactError::io(staging.dir(), e))?;
        staging
            .commit(&node_config_key())
            .map_err(|e| ArtifactError::io(config_entry.dir(), e))?;
    }
    let layers = tokio::task::spawn_blocking({
        let rootfs_path = rootfs_path.clone();
        let config_path = config_entry.path("layer.tar.gz");
        move || -> std::io::Result<Vec<LayerBlob>> {
            Ok(vec![
                describe_gzip_layer(&rootfs_path)?,
                describe_gzip_layer(&config_path)?,
            ])
        }
    })
    .await
    .expect("hashing task panicked")
    .map_err(|e| ArtifactError::io(&rootfs_path, e))?;
    let spec = ImageSpec {
        references: vec![reference.to_string()],
        arch: base.arch.clone(),
        config: RuntimeConfig {
            env: vec!["container=docker".to_string()],
            entrypoint: Some(vec![ENTRYPOINT.to_string()]),
            cmd: Some(vec!["/sbin/init".to_string()]),
            stop_signal: Some(STOP_SIGNAL.to_string()),
            labels: BTreeMap::from([
                (LABEL_INPUTS.to_string(), inputs.to_string()),
                (LABEL_ROLE.to_string(), "node-image".to_string()),
            ]),
            ..Default::default()
        },
        layers,
    };
    load_archive(engine, &spec, reference).await
}

/// Stream a docker-save archive of `spec` into the engine without writing it
/// to disk first.
async fn load_archive(
    engine: &Engine,
    spec: &ImageSpec,
    reference: &str,
) -> Result<(), ArtifactError> {
    let spec = spec.clone();
    let (stream, writer) = stream_from_writer(move |out| spec.write_archive_to(out).map(|_| ()));
    let loaded = engine.load_image(stream).await;
    let written = writer.await.expect("archive writer panicked");
    loaded.map_err(|e| engine_error(&format!("load {reference}"), e))?;
    written.map_err(|e| ArtifactError::io(Path::new(reference), e))
}

/// Where image archives wait inside the build container.
const IMPORT_DIR: &str = "/var/tmp/local-cluster-images";

#[allow(clippy::too_many_arguments)]
async fn build_kubernetes_image(
    engine: &Engine,
    bare_reference: &str,
    reference: &str,
    inputs: &str,
    binaries: &Binaries,
    k8s: &KubernetesContent,
    base_entry: &Entry,
    arch: &str,
    cache: &Cache,
) -> Result<(), ArtifactError> {
    let version = binaries.version.to_string();
    let builder = format!(
        "local-cluster-build-{}",
        &CacheKey::new()
            .with("r", reference)
            .with("t", std::process::id())
            .hash()[..10]
    );
    let spec = ContainerSpec {
        name: builder.clone(),
        image: bare_reference.to_string(),
        entrypoint: Some(vec!["sleep".to_string()]),
        cmd: Some(vec!["infinity".to_string()]),
        labels: BTreeMap::from([(LABEL_ROLE.to_string(), "image-build".to_string())]),
        ..Default::default()
    };
    let step = ui().step("Starting the image build container");
    engine
        .remove_container(&builder)
        .await
        .map_err(|e| engine_error(&builder, e))?;
    engine
        .create_container(&spec)
        .await
        .map_err(|e| engine_error(&builder, e))?;
    // Whatever happens next, the build container goes away.
    let result = async {
        engine
            .start_container(&builder)
            .await
            .map_err(|e| engine_error(&builder, e))?;
        step.done();

        let step = ui().step("Copying Kubernetes binaries into the image");
        upload(
            engine,
            &builder,
            "/usr/bin",
            &artifacts::NODE_BINARIES
                .iter()
                .map(|n| (n.to_string(), binaries.path(n).to_path_buf()))
                .collect::<Vec<_>>(),
        )
        .await?;
        step.done();

        let list = engine
            .exec(
                &builder,
                &[
                    "kubeadm",
                    "config",
                    "images",
                    "list",
                    "--kubernetes-version",
                    &version,
                    "--image-repository",
                    &k8s.image_repository,
                ],
            )
            .await
            .map_err(|e| engine_error("kubeadm config images list", e))?;
        let wanted = components::parse_image_list(&list)?;
        let pause = wanted
            .iter()
            .find(|w| w.component == components::Component::Pause)
            .map(|w| w.reference.clone())
            .ok_or_else(|| ArtifactError::Invalid("kubeadm lists no pause image".to_string()))?;

        let step = ui().step(format!(
            "Making {} images ({})",
            wanted.len(),
            match k8s.image_source {
                ImageSource::Build => "assembled and built locally",
                ImageSource::Registry => "control plane assembled, others pulled",
            }
        ));
        let archives = components::make_images(
            &wanted,
            &ComponentInputs {
                arch,
                base: base_entry,
                binaries,
                image_source: k8s.image_source,
                cache,
                engine,
            },
        )
        .await?;
        step.done();

        let step = ui().step("Preloading the images into the node's containerd");
        let names: Vec<(String, PathBuf)> = archives
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("{i}.tar"), p.clone()))
            .collect();
        upload(engine, &builder, IMPORT_DIR, &names).await?;
        engine
            .write_file(
                &builder,
                "/etc/containerd/config.toml",
                0o644,
                CONTAINERD_CONFIG
                    .replace("@SANDBOX_IMAGE@", &pause)
                    .as_bytes(),
            )
            .await
            .map_err(|e| engine_error("write containerd config", e))?;
        let import = format!(
            r#"set -e
containerd >/var/tmp/containerd.log 2>&1 &
pid=$!
for i in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
for f in {IMPORT_DIR}/*.tar; do
  ctr -n k8s.io images import --no-unpack "$f"
done
for ref in {refs}; do
  ctr -n k8s.io images label "$ref" io.cri-containerd.pinned=pinned >/dev/null
done
ctr -n k8s.io images ls -q
kill $pid
while kill -0 $pid 2>/dev/null; do sleep 0.1; done
rm -rf {IMPORT_DIR} /var/tmp/containerd.log
"#,
            refs = wanted
                .iter()
                .map(|w| w.reference.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let listed = engine
            .sh(&builder, &import)
            .await
            .map_err(|e| engine_error("import images into containerd", e))?;
        for w in &wanted {
            if !listed.lines().any(|l| l.trim() == w.reference) {
                return Err(ArtifactError::Invalid(format!(
                    "{} is missing from the node's containerd after import; it holds: {}",
                    w.reference,
                    listed.split_whitespace().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        step.done();

        let step = ui().step(format!("Saving the node image {reference}"));
        let labels = BTreeMap::from([
            (LABEL_INPUTS.to_string(), inputs.to_string()),
            (LABEL_ROLE.to_string(), "node-image".to_string()),
            (LABEL_KUBERNETES_VERSION.to_string(), version.clone()),
            (
                LABEL_PRELOADED.to_string(),
                wanted
                    .iter()
                    .map(|w| w.reference.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ]);
        engine
            .stop_container(&builder, 2)
            .await
            .map_err(|e| engine_error(&builder, e))?;
        engine
            .commit_container(
                &builder,
                reference,
                &CommitConfig {
                    entrypoint: Some(vec![ENTRYPOINT.to_string()]),
                    cmd: Some(vec!["/sbin/init".to_string()]),
                    env: Some(vec!["container=docker".to_string()]),
                    stop_signal: Some(STOP_SIGNAL.to_string()),
                    labels,
                },
            )
            .await
            .map_err(|e| engine_error(reference, e))?;
        step.done();
        Ok(())
    }
    .await;
    let _ = engine.remove_container(&builder).await;
    result
}

async fn upload(
    engine: &Engine,
    container: &str,
    dir: &str,
    files: &[(String, PathBuf)],
) -> Result<(), ArtifactError> {
    engine
        .upload_files(container, dir, files)
        .await
        .map_err(|e| engine_error(&format!("copy files into {container}:{dir}"), e))
}
