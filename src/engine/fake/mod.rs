//! An in-memory engine for unit tests: it keeps containers (with their
//! files), networks, volumes, images and labels like a real engine would,
//! answers commands from a script, can be told to refuse an operation, and
//! records every call. Lifecycle code runs against it in milliseconds.

mod containers;
mod store;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use super::*;

/// The files of a container or image: path → (mode, content).
pub type FileTree = BTreeMap<String, (u32, Vec<u8>)>;

type Reply = Arc<dyn Fn(&str, &[String]) -> Option<ExecOutput> + Send + Sync>;
/// The answer to a named operation in a container.
type OpReply = Arc<dyn Fn(&str) -> ExecOutput + Send + Sync>;

#[derive(Debug, Clone)]
pub struct FakeContainer {
    pub id: String,
    pub spec: ContainerSpec,
    pub image_id: String,
    pub running: bool,
    pub paused: bool,
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
    RemoveImage,
}

#[derive(Default)]
pub(super) struct State {
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
    op_replies: Vec<(&'static str, OpReply)>,
    calls: Vec<String>,
    /// Containers whose creation the engine finishes for a command already
    /// gone (killed while its request was under way): each appears, created
    /// and not started, when the next request to create its name comes in.
    late: Vec<ContainerSpec>,
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

pub(super) fn refused(action: String, kind: ApiErrorKind) -> EngineError {
    let source = match kind {
        // As dockerd says it.
        ApiErrorKind::NoSpace => {
            "write /var/lib/docker/overlay2/fake/diff/x: no space left on device".to_string()
        }
        _ => format!("refused by the fake engine ({kind:?})"),
    };
    EngineError::Api {
        action,
        kind,
        source: source.into(),
    }
}

pub(super) fn not_found(action: String) -> EngineError {
    refused(action, ApiErrorKind::Other)
}

impl FakeEngine {
    pub fn new() -> FakeEngine {
        FakeEngine {
            info: EngineInfo {
                id: "FAKE:ENGINE".to_string(),
                server_version: "fake".into(),
                api_version: "1.41".into(),
                arch: "amd64".into(),
                os_type: "linux".into(),
                cgroup_version: 1,
                cgroup_driver: "cgroupfs".into(),
                rootless: false,
                runtimes: vec!["runc".into()],
                kernel_version: "6.0".into(),
                data_root: "/var/lib/docker".into(),
                product: Product::Docker,
                image_store: ImageStore::Classic {
                    driver: "overlay2".into(),
                },
            },
            endpoint: Endpoint {
                host: endpoint::DEFAULT_SOCKET.into(),
                tls_dir: None,
                origin: "fake".into(),
                ssh_hostname: None,
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
    /// Pretend to be the engine at `endpoint` (a remote one, say).
    pub fn set_endpoint(&mut self, endpoint: Endpoint) {
        self.endpoint = endpoint;
    }

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

    /// Answer the operation named `op` ([`ExecRequest::op`]): `reply(container)`.
    /// Later answers take precedence over earlier ones and over [`on_exec`](Self::on_exec).
    pub fn on_op(
        &self,
        op: &'static str,
        reply: impl Fn(&str) -> ExecOutput + Send + Sync + 'static,
    ) {
        self.state().op_replies.push((op, Arc::new(reply)));
    }

    /// The engine creates `spec` for a command that was killed meanwhile,
    /// just before the next request to create its name.
    pub fn create_late(&self, spec: ContainerSpec) {
        self.state().late.push(spec);
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

    /// As `docker rmi -f <tag>` of an image with children: only the tag goes.
    pub fn untag(&self, reference: &str) {
        let tag = reference_with_tag(reference);
        for image in self.state().images.values_mut() {
            image.tags.retain(|t| *t != tag);
        }
    }

    /// The image disappears whatever uses it.
    pub fn forget_image(&self, id: &str) {
        self.state().images.remove(id);
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
