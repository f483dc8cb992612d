//! An in-memory engine for unit tests: it keeps containers (with their
//! files), networks, volumes, images and labels like a real engine would,
//! answers commands from a script, can be told to refuse an operation, and
//! records every call. Lifecycle code runs against it in milliseconds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};

use super::*;

/// The files of a container or image: path → (mode, content).
pub type FileTree = BTreeMap<String, (u32, Vec<u8>)>;

type Reply = Arc<dyn Fn(&str, &[String]) -> Option<ExecOutput> + Send + Sync>;

#[derive(Debug, Clone)]
pub struct FakeContainer {
    pub id: String,
    pub spec: ContainerSpec,
    pub image_id: String,
    pub running: bool,
    pub files: FileTree,
    pub host_ports: HashMap<u16, u16>,
}

#[derive(Debug, Clone)]
pub struct FakeImage {
    pub id: String,
    pub tags: Vec<String>,
    pub labels: HashMap<String, String>,
    pub files: FileTree,
}

/// An operation the fake can be told to refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    CreateContainer,
    StartContainer,
    Commit,
}

#[derive(Default)]
struct State {
    containers: BTreeMap<String, FakeContainer>,
    networks: BTreeMap<String, NetworkDetails>,
    volumes: BTreeMap<String, HashMap<String, String>>,
    images: BTreeMap<String, FakeImage>,
    /// Host ports other programs hold.
    taken_ports: BTreeSet<u16>,
    next_port: u16,
    next_id: u64,
    /// (operation, object name, kind, how many more times)
    refusals: Vec<(Op, String, ApiErrorKind, usize)>,
    refuse_privileged: bool,
    replies: Vec<Reply>,
    calls: Vec<String>,
}

pub struct FakeEngine {
    info: EngineInfo,
    endpoint: Endpoint,
    state: Mutex<State>,
}

impl Default for FakeEngine {
    fn default() -> Self {
        FakeEngine::new()
    }
}

fn refused(action: String, kind: ApiErrorKind) -> EngineError {
    EngineError::Api {
        action,
        kind,
        source: format!("refused by the fake engine ({kind:?})").into(),
    }
}

fn not_found(action: String) -> EngineError {
    refused(action, ApiErrorKind::Other)
}

impl FakeEngine {
    pub fn new() -> FakeEngine {
        FakeEngine {
            info: EngineInfo {
                server_version: "fake".into(),
                api_version: "1.41".into(),
                arch: "amd64".into(),
                os_type: "linux".into(),
                cgroup_version: 1,
                cgroup_driver: "cgroupfs".into(),
                rootless: false,
                runtimes: vec!["runc".into()],
                kernel_version: "6.0".into(),
            },
            endpoint: Endpoint {
                host: endpoint::DEFAULT_SOCKET.into(),
                tls_dir: None,
                origin: "fake".into(),
            },
            state: Mutex::new(State {
                next_port: 40000,
                ..State::default()
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake engine lock")
    }

    fn record(&self, call: String) {
        self.state().calls.push(call);
    }

    fn new_id(state: &mut State, prefix: &str) -> String {
        state.next_id += 1;
        format!("{prefix}{:012}", state.next_id)
    }

    // ---- setting the scene ------------------------------------------------

    /// An image with these tags, labels and files; returns its id.
    pub fn add_image(&self, tags: &[&str], labels: &[(&str, &str)], files: FileTree) -> String {
        let mut s = self.state();
        let id = format!("sha256:{}", Self::new_id(&mut s, "img"));
        let tags: Vec<String> = tags.iter().map(|t| reference_with_tag(t)).collect();
        for image in s.images.values_mut() {
            image.tags.retain(|t| !tags.contains(t));
        }
        s.images.insert(
            id.clone(),
            FakeImage {
                id: id.clone(),
                tags,
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                files,
            },
        );
        id
    }

    pub fn add_network(&self, name: &str, subnet: &str, labels: &[(&str, &str)]) {
        self.state().networks.insert(
            name.to_string(),
            NetworkDetails {
                id: format!("net-{name}"),
                name: name.to_string(),
                subnets: vec![subnet.to_string()],
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
        );
    }

    /// Another program holds this host port.
    pub fn take_port(&self, port: u16) {
        self.state().taken_ports.insert(port);
    }

    /// Refuse `op` on `name` the next `times` times, with an error of `kind`.
    pub fn refuse(&self, op: Op, name: &str, kind: ApiErrorKind, times: usize) {
        self.state()
            .refusals
            .push((op, name.to_string(), kind, times));
    }

    /// Refuse to start privileged containers (like an engine without
    /// CAP_SYS_RESOURCE in its bounding set).
    pub fn refuse_privileged(&self) {
        self.state().refuse_privileged = true;
    }

    /// Answer commands: `reply(container, argv)` returns Some for the
    /// commands it handles. Later replies take precedence; commands nobody
    /// answers succeed with no output.
    pub fn on_exec(
        &self,
        reply: impl Fn(&str, &[String]) -> Option<ExecOutput> + Send + Sync + 'static,
    ) {
        self.state().replies.push(Arc::new(reply));
    }

    /// Stop a container as an engine restart or a crash would.
    pub fn stop(&self, name: &str) {
        if let Some(c) = self.state().containers.get_mut(name) {
            c.running = false;
        }
    }

    // ---- looking at the result ---------------------------------------------

    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    pub fn containers(&self) -> BTreeMap<String, FakeContainer> {
        self.state().containers.clone()
    }

    pub fn container_names(&self) -> Vec<String> {
        self.state().containers.keys().cloned().collect()
    }

    pub fn volume_names(&self) -> Vec<String> {
        self.state().volumes.keys().cloned().collect()
    }

    pub fn network_names(&self) -> Vec<String> {
        self.state().networks.keys().cloned().collect()
    }

    pub fn images(&self) -> Vec<FakeImage> {
        self.state().images.values().cloned().collect()
    }

    pub fn remove_volume_now(&self, name: &str) {
        self.state().volumes.remove(name);
    }

    fn take_refusal(s: &mut State, op: Op, name: &str) -> Option<ApiErrorKind> {
        let i = s
            .refusals
            .iter()
            .position(|(o, n, _, times)| *o == op && n == name && *times > 0)?;
        s.refusals[i].3 -= 1;
        Some(s.refusals[i].2)
    }

    fn image_id(s: &State, reference: &str) -> Option<String> {
        if s.images.contains_key(reference) {
            return Some(reference.to_string());
        }
        let wanted = reference_with_tag(reference);
        s.images
            .values()
            .find(|i| i.tags.contains(&wanted))
            .map(|i| i.id.clone())
    }
}

impl Containers for FakeEngine {
    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        self.record(format!("create_container {}", spec.name));
        let mut s = self.state();
        if let Some(kind) = Self::take_refusal(&mut s, Op::CreateContainer, &spec.name) {
            return Err(refused(format!("create container {}", spec.name), kind));
        }
        if s.containers.contains_key(&spec.name) {
            return Err(refused(
                format!("create container {}: name in use", spec.name),
                ApiErrorKind::Conflict,
            ));
        }
        let image_id = Self::image_id(&s, &spec.image).ok_or_else(|| {
            not_found(format!(
                "create container {}: no image {}",
                spec.name, spec.image
            ))
        })?;
        if let Some(net) = &spec.network {
            if !s.networks.contains_key(&net.network) {
                return Err(not_found(format!("network {} not found", net.network)));
            }
        }
        for bind in &spec.binds {
            let volume = bind.split(':').next().unwrap_or_default();
            if !volume.starts_with('/') {
                s.volumes.entry(volume.to_string()).or_default();
            }
        }
        let files = s.images[&image_id].files.clone();
        let id = Self::new_id(&mut s, "ctr");
        s.containers.insert(
            spec.name.clone(),
            FakeContainer {
                id: id.clone(),
                spec: spec.clone(),
                image_id,
                running: false,
                files,
                host_ports: HashMap::new(),
            },
        );
        Ok(id)
    }

    async fn start_container(&self, name: &str) -> Result<()> {
        self.record(format!("start_container {name}"));
        let mut s = self.state();
        if let Some(kind) = Self::take_refusal(&mut s, Op::StartContainer, name) {
            return Err(refused(format!("start container {name}"), kind));
        }
        let refuse_privileged = s.refuse_privileged;
        let Some(c) = s.containers.get(name) else {
            return Err(not_found(format!(
                "start container {name}: no such container"
            )));
        };
        if c.spec.privileged && refuse_privileged {
            return Err(refused(
                format!("start container {name}: unable to apply caps"),
                ApiErrorKind::Other,
            ));
        }
        let mut ports = HashMap::new();
        for p in c.spec.ports.clone() {
            let host_port = if p.host_port == 0 {
                loop {
                    s.next_port += 1;
                    if !s.taken_ports.contains(&s.next_port) {
                        break s.next_port;
                    }
                }
            } else if s.taken_ports.contains(&p.host_port) {
                return Err(refused(
                    format!(
                        "start container {name}: port {} is already allocated",
                        p.host_port
                    ),
                    ApiErrorKind::PortInUse,
                ));
            } else {
                p.host_port
            };
            s.taken_ports.insert(host_port);
            ports.insert(p.container_port, host_port);
        }
        let c = s.containers.get_mut(name).expect("checked above");
        c.host_ports = ports;
        c.running = true;
        Ok(())
    }

    async fn stop_container(&self, name: &str, _timeout_secs: i32) -> Result<()> {
        self.record(format!("stop_container {name}"));
        let mut s = self.state();
        let freed: Vec<u16> = match s.containers.get_mut(name) {
            Some(c) => {
                c.running = false;
                c.host_ports.drain().map(|(_, h)| h).collect()
            }
            None => Vec::new(),
        };
        for port in freed {
            s.taken_ports.remove(&port);
        }
        Ok(())
    }

    async fn remove_container(&self, name: &str) -> Result<()> {
        self.record(format!("remove_container {name}"));
        let mut s = self.state();
        if let Some(c) = s.containers.remove(name) {
            for port in c.host_ports.values() {
                s.taken_ports.remove(port);
            }
        }
        Ok(())
    }

    async fn list_containers(&self, labels: &Labels<'_>) -> Result<Vec<ContainerSummary>> {
        let s = self.state();
        Ok(s.containers
            .iter()
            .map(|(name, c)| ContainerSummary {
                id: c.id.clone(),
                name: name.clone(),
                image: c.spec.image.clone(),
                state: if c.running {
                    ContainerState::Running
                } else {
                    ContainerState::NotRunning
                },
                labels: c.spec.labels.clone().into_iter().collect(),
            })
            .filter(|c| labels_match(&c.labels, labels))
            .collect())
    }

    async fn inspect_container(&self, name: &str) -> Result<Option<ContainerDetails>> {
        let s = self.state();
        Ok(s.containers.get(name).map(|c| ContainerDetails {
            id: c.id.clone(),
            name: name.to_string(),
            image_id: c.image_id.clone(),
            running: c.running,
            status: if c.running { "running" } else { "exited" }.to_string(),
            labels: c.spec.labels.clone().into_iter().collect(),
            host_ports: c.host_ports.clone(),
        }))
    }

    async fn log_tail(&self, name: &str, _lines: usize) -> Result<String> {
        Ok(format!("(log of {name})\n"))
    }

    async fn commit_container(
        &self,
        container: &str,
        reference: &str,
        config: &ImageConfig,
    ) -> Result<String> {
        self.record(format!("commit_container {container} {reference}"));
        let files = {
            let mut s = self.state();
            if let Some(kind) = Self::take_refusal(&mut s, Op::Commit, container) {
                return Err(refused(format!("commit container {container}"), kind));
            }
            match s.containers.get(container) {
                Some(c) => c.files.clone(),
                None => return Err(not_found(format!("commit {container}: no such container"))),
            }
        };
        let labels: Vec<(&str, &str)> = config
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Ok(self.add_image(&[reference], &labels, files))
    }
}

impl Files for FakeEngine {
    async fn upload_tar(&self, container: &str, dest_dir: &str, tar: ByteStream) -> Result<()> {
        let bytes: Vec<u8> = tar
            .try_fold(Vec::new(), |mut acc, chunk| async move {
                acc.extend_from_slice(&chunk);
                Ok(acc)
            })
            .await
            .map_err(|source| EngineError::Archive {
                action: format!("read upload for {container}"),
                source,
            })?;
        let mut files = Vec::new();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let io = |source| EngineError::Archive {
            action: format!("unpack upload into {container}"),
            source,
        };
        for entry in archive.entries().map_err(io)? {
            let mut entry = entry.map_err(io)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = format!(
                "{}/{}",
                dest_dir.trim_end_matches('/'),
                entry.path().map_err(io)?.display()
            );
            let mode = entry.header().mode().map_err(io)?;
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut content).map_err(io)?;
            files.push((path, mode, content));
        }
        self.record(format!(
            "upload {container} {}",
            files
                .iter()
                .map(|f| f.0.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ));
        let mut s = self.state();
        let c = s
            .containers
            .get_mut(container)
            .ok_or_else(|| not_found(format!("copy into {container}: no such container")))?;
        for (path, mode, content) in files {
            c.files.insert(path, (mode, content));
        }
        Ok(())
    }

    async fn download_tar(&self, container: &str, path: &str) -> Result<Vec<u8>> {
        let s = self.state();
        let c = s
            .containers
            .get(container)
            .ok_or_else(|| not_found(format!("copy out of {container}: no such container")))?;
        let (mode, content) = c
            .files
            .get(path)
            .ok_or_else(|| not_found(format!("copy {container}:{path} out: no such file")))?;
        let name = path.rsplit('/').next().unwrap_or(path);
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(*mode);
        header.set_cksum();
        let io = |source| EngineError::Archive {
            action: format!("pack {path}"),
            source,
        };
        builder
            .append_data(&mut header, name, content.as_slice())
            .map_err(io)?;
        builder.into_inner().map_err(io)
    }
}

impl Exec for FakeEngine {
    async fn exec(
        &self,
        container: &str,
        argv: &[&str],
        request: ExecRequest<'_>,
    ) -> Result<ExecOutput> {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        self.record(format!("exec {container}: {}", argv.join(" ")));
        let replies = {
            let s = self.state();
            match s.containers.get(container) {
                Some(c) if c.running => {}
                _ => {
                    return Err(refused(
                        format!("run `{}` in {container}: not running", argv.join(" ")),
                        ApiErrorKind::Conflict,
                    ))
                }
            }
            s.replies.clone()
        };
        let out = replies
            .iter()
            .rev()
            .find_map(|reply| reply(container, &argv))
            .unwrap_or_default();
        if let Some(cb) = request.on_line {
            let mut lines = exec::Lines::default();
            lines.feed(&out.stdout, &mut *cb);
            lines.finish(cb);
        }
        Ok(out)
    }
}

impl Networks for FakeEngine {
    async fn create_network(&self, spec: &NetworkSpec) -> Result<String> {
        self.record(format!("create_network {} {}", spec.name, spec.subnet));
        let labels: Vec<(&str, &str)> = spec
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.add_network(&spec.name, &spec.subnet, &labels);
        Ok(format!("net-{}", spec.name))
    }

    async fn inspect_network(&self, name: &str) -> Result<Option<NetworkDetails>> {
        Ok(self.state().networks.get(name).cloned())
    }

    async fn list_networks(&self) -> Result<Vec<NetworkDetails>> {
        Ok(self.state().networks.values().cloned().collect())
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        self.record(format!("remove_network {name}"));
        self.state().networks.remove(name);
        Ok(())
    }
}

impl Volumes for FakeEngine {
    async fn create_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        self.record(format!("create_volume {name}"));
        self.state()
            .volumes
            .insert(name.to_string(), labels.clone().into_iter().collect());
        Ok(())
    }

    async fn volume_exists(&self, name: &str) -> Result<bool> {
        Ok(self.state().volumes.contains_key(name))
    }

    async fn list_volumes(&self, labels: &Labels<'_>) -> Result<Vec<String>> {
        Ok(self
            .state()
            .volumes
            .iter()
            .filter(|(_, l)| labels_match(l, labels))
            .map(|(n, _)| n.clone())
            .collect())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.record(format!("remove_volume {name}"));
        self.state().volumes.remove(name);
        Ok(())
    }
}

impl Images for FakeEngine {
    async fn inspect_image(&self, reference: &str) -> Result<Option<ImageDetails>> {
        let s = self.state();
        Ok(Self::image_id(&s, reference).map(|id| {
            let i = &s.images[&id];
            ImageDetails {
                id: i.id.clone(),
                size: 0,
                arch: "amd64".into(),
                labels: i.labels.clone(),
            }
        }))
    }

    async fn list_images(&self, labels: &Labels<'_>) -> Result<Vec<ImageSummary>> {
        Ok(self
            .state()
            .images
            .values()
            .filter(|i| labels_match(&i.labels, labels))
            .map(|i| ImageSummary {
                id: i.id.clone(),
                tags: if i.tags.is_empty() {
                    vec!["<none>:<none>".into()]
                } else {
                    i.tags.clone()
                },
            })
            .collect())
    }

    async fn load_image(&self, _archive: ByteStream) -> Result<()> {
        self.record("load_image".into());
        Ok(())
    }

    fn save_images(&self, names: &[&str]) -> BoxStream<'static, Result<Bytes>> {
        self.record(format!("save_images {}", names.join(" ")));
        let content = Bytes::from(format!("images {}", names.join(" ")));
        futures_util::stream::once(async move { Ok(content) }).boxed()
    }

    async fn pull_image(
        &self,
        reference: &str,
        _on_status: &mut (dyn FnMut(&str) + Send),
    ) -> Result<()> {
        Err(refused(
            format!("pull image {reference}: no registry"),
            ApiErrorKind::Other,
        ))
    }

    async fn remove_image(&self, reference: &str, how: RemoveImage) -> Result<()> {
        self.record(format!("remove_image {reference}"));
        let mut s = self.state();
        let Some(id) = Self::image_id(&s, reference) else {
            return Ok(());
        };
        let in_use = s.containers.values().any(|c| c.image_id == id);
        if in_use && how == RemoveImage::IfUnused {
            return Err(refused(
                format!("remove image {reference}: in use"),
                ApiErrorKind::Conflict,
            ));
        }
        if reference == id || s.images[&id].tags.len() <= 1 {
            s.images.remove(&id);
        } else {
            let tag = reference_with_tag(reference);
            s.images
                .get_mut(&id)
                .expect("found above")
                .tags
                .retain(|t| *t != tag);
        }
        Ok(())
    }
}

impl Engine for FakeEngine {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value, and a multi-byte character whose bytes a chunked
    /// transfer could split, must come back exactly as they went in.
    #[tokio::test]
    async fn files_move_through_the_engine_byte_for_byte() {
        let fake = FakeEngine::new();
        let image = fake.add_image(&["node:1"], &[], FileTree::new());
        fake.add_network("n", "10.0.0.0/24", &[]);
        fake.create_container(&ContainerSpec {
            name: "c".into(),
            image: image.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
        let mut content: Vec<u8> = (0..=255u8).collect();
        content.extend_from_slice("✓ ü".as_bytes());
        content.extend((0..=255u8).rev());
        fake.write_file("c", "/var/log/all-bytes.bin", 0o640, &content)
            .await
            .unwrap();
        assert_eq!(
            fake.read_file("c", "/var/log/all-bytes.bin").await.unwrap(),
            content
        );
        assert_eq!(
            fake.containers()["c"].files["/var/log/all-bytes.bin"].0,
            0o640
        );
    }
}
