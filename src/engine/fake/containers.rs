//! The fake's containers: their lifecycle, their files and commands in them.

use std::collections::HashMap;

use futures_util::TryStreamExt;

use super::{not_found, refused, FakeContainer, FakeEngine, Op, State};
use crate::engine::*;

impl FakeEngine {
    /// Paused or thawed, as Docker does it: only a running container, and
    /// only from the other state.
    fn set_paused(&self, name: &str, paused: bool) -> Result<()> {
        let verb = if paused { "pause" } else { "unpause" };
        self.record(format!("{verb}_container {name}"));
        let mut s = self.state();
        match s.containers.get_mut(name) {
            Some(c) if c.running && c.paused != paused => {
                c.paused = paused;
                Ok(())
            }
            Some(_) => Err(refused(
                format!("{verb} container {name}: not in a state to {verb}"),
                ApiErrorKind::Conflict,
            )),
            None => Err(not_found(format!(
                "{verb} container {name}: no such container"
            ))),
        }
    }

    /// Stopped or killed: no longer running, its published ports freed.
    fn halt(&self, name: &str) {
        let mut s = self.state();
        let freed: Vec<u16> = match s.containers.get_mut(name) {
            Some(c) => {
                c.running = false;
                c.paused = false;
                c.host_ports.drain().map(|(_, h)| h).collect()
            }
            None => Vec::new(),
        };
        for port in freed {
            s.taken_ports.remove(&port);
        }
    }
}

impl Containers for FakeEngine {
    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        self.record(format!("create_container {}", spec.name));
        // A real engine takes a while: requests made together interleave.
        tokio::task::yield_now().await;
        let mut s = self.state();
        if let Some(kind) = Self::take_refusal(&mut s, Op::CreateContainer, &spec.name) {
            return Err(refused(format!("create container {}", spec.name), kind));
        }
        if let Some(i) = s.late.iter().position(|l| l.name == spec.name) {
            let late = s.late.remove(i);
            Self::insert_container(&mut s, &late)?;
        }
        if s.containers.contains_key(&spec.name) {
            return Err(refused(
                format!("create container {}: name in use", spec.name),
                ApiErrorKind::Conflict,
            ));
        }
        Self::insert_container(&mut s, spec)
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
        self.halt(name);
        Ok(())
    }

    async fn kill_container(&self, name: &str) -> Result<()> {
        self.record(format!("kill_container {name}"));
        self.halt(name);
        Ok(())
    }

    async fn pause_container(&self, name: &str) -> Result<()> {
        self.set_paused(name, true)
    }

    async fn unpause_container(&self, name: &str) -> Result<()> {
        self.set_paused(name, false)
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
                state: if c.paused {
                    ContainerState::Paused
                } else if c.running {
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
        let (replies, by_op) = {
            let s = self.state();
            match s.containers.get(container) {
                Some(c) if c.paused => {
                    return Err(refused(
                        format!("run `{}` in {container}: it is paused", argv.join(" ")),
                        ApiErrorKind::Conflict,
                    ))
                }
                Some(c) if c.running => {}
                _ => {
                    return Err(refused(
                        format!("run `{}` in {container}: not running", argv.join(" ")),
                        ApiErrorKind::Conflict,
                    ))
                }
            }
            let by_op = request.op.and_then(|op| {
                s.op_replies
                    .iter()
                    .rev()
                    .find(|(name, _)| *name == op)
                    .map(|(_, reply)| reply.clone())
            });
            (s.replies.clone(), by_op)
        };
        let out = match by_op {
            Some(reply) => reply(container),
            None => replies
                .iter()
                .rev()
                .find_map(|reply| reply(container, &argv))
                .unwrap_or_default(),
        };
        if let Some(cb) = request.on_line {
            let mut lines = exec::Lines::default();
            lines.feed(&out.stdout, &mut *cb);
            lines.finish(cb);
        }
        Ok(out)
    }
}

impl FakeEngine {
    /// A new container of `spec`, created and not started.
    fn insert_container(s: &mut State, spec: &ContainerSpec) -> Result<String> {
        let image_id = Self::image_id(s, &spec.image).ok_or_else(|| {
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
        // Like Docker, a container carries its image's labels under its own.
        let mut spec = spec.clone();
        for (k, v) in &s.images[&image_id].labels {
            spec.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let id = Self::new_id(s, "ctr");
        s.containers.insert(
            spec.name.clone(),
            FakeContainer {
                id: id.clone(),
                spec,
                image_id,
                running: false,
                paused: false,
                files,
                host_ports: HashMap::new(),
            },
        );
        Ok(id)
    }
}
