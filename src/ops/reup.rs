//! `reup`: binaries built from a source tree swapped into the running
//! cluster without re-creating it, as small steps:
//!
//! 1. [`changed`]: which of the new binaries differ from what the nodes run
//!    (each node says: the sha256 of its `/usr/bin` binaries, and a record of
//!    what earlier swaps put in the control plane and kube-proxy);
//! 2. kubeadm and kubectl into every node's `/usr/bin` (and kubectl beside
//!    admin.conf);
//! 3. the kubelet into every node, restarted, the nodes Ready again;
//! 4. kube-proxy: its image (made by the caller from the new binary) into
//!    every node, the DaemonSet pointed at it, rolled out;
//! 5. the control plane: its images into the master's containerd, and the
//!    static pod manifests pointed at them, so the kubelet runs them; each
//!    waited for.
//!
//! Only what changed is swapped, so a one-line change to the kubelet
//! restarts nothing but kubelets. Running containers are left alone: the
//! kubelet restarts without stopping pods, and kube-proxy's rules stay
//! while it is replaced. The record lives in the nodes' root filesystems,
//! like the binaries, so after `down` and `up` (the snapshot, not the
//! swap) it says what runs again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::try_join_all;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;

/// Where a node notes which builds of the control plane and kube-proxy
/// swaps gave it: `<binary> <sha256>` lines.
const RECORD: &str = "/etc/kubeadm-local-cluster/swapped";
/// New binaries wait here, on the same filesystem as /usr/bin, to be
/// renamed into place (a running binary cannot be overwritten).
const INCOMING: &str = "/usr/bin/.local-cluster-incoming";
const MANIFESTS: &str = "/etc/kubernetes/manifests";
/// Binaries installed in every node's /usr/bin.
const NODE_BINARIES: [&str; 3] = ["kubeadm", "kubelet", "kubectl"];
/// Control-plane components run as static pods on the master.
pub const STATIC_PODS: [&str; 3] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];

const TIMEOUT: Duration = Duration::from_secs(240);

/// A new binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    pub name: String,
    pub path: PathBuf,
    pub sha256: String,
}

impl Binary {
    pub fn new(name: &str, path: PathBuf) -> Result<Binary> {
        let data = std::fs::read(&path).map_err(ClusterError::io("reading", &path))?;
        Ok(Binary {
            name: name.to_string(),
            sha256: hex::encode(Sha256::digest(&data)),
            path,
        })
    }
}

/// An image made from a new binary, to be run in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Its reference, e.g. `registry.k8s.io/kube-apiserver:v1.37.2-dirty-0123456789ab`.
    pub reference: String,
    /// A `docker save` archive of it.
    pub archive: PathBuf,
}

/// The tag of the image made from `binary` at `version`: the version (with
/// `+` as `_`, as kubeadm writes tags) and the binary's hash, so each build
/// gets its own tag and the kubelet sees a changed manifest.
pub fn image_tag(version: &str, binary: &Binary) -> String {
    format!("{}-{}", version.replace('+', "_"), &binary.sha256[..12])
}

/// `name hash` per binary as one node reports them: `sha256sum` lines for
/// its `/usr/bin` binaries (what is there), then the record of what swaps
/// gave the control plane and kube-proxy (later lines win).
fn parse_node_report(text: &str) -> BTreeMap<String, String> {
    let mut hashes = BTreeMap::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(a), Some(b), None) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        if let Some(name) = b.strip_prefix("/usr/bin/") {
            hashes.insert(name.to_string(), a.to_string());
        } else if a.len() != 64 && !NODE_BINARIES.contains(&a) {
            // What runs as a container; later records win.
            hashes.insert(a.to_string(), b.to_string());
        }
    }
    hashes
}

/// The new binaries some node does not run yet.
fn differing<'a>(new: &'a [Binary], nodes: &[BTreeMap<String, String>]) -> Vec<&'a Binary> {
    new.iter()
        .filter(|b| nodes.iter().any(|n| n.get(&b.name) != Some(&b.sha256)))
        .collect()
}

/// Step 1: which of `new` differ from what runs, as every node reports it.
pub async fn changed<E: Engine>(cx: Ctx<'_, E>, new: &[Binary]) -> Result<Vec<Binary>> {
    let script = format!(
        "cd /usr/bin && sha256sum {} 2>/dev/null | sed 's#  #  /usr/bin/#'; cat {RECORD} 2>/dev/null; true",
        NODE_BINARIES.join(" ")
    );
    let reports = try_join_all(
        cx.plan
            .nodes
            .iter()
            .map(|n| cx.engine.sh(&n.container, &script)),
    )
    .await?;
    let nodes: Vec<BTreeMap<String, String>> =
        reports.iter().map(|r| parse_node_report(r)).collect();
    Ok(differing(new, &nodes).into_iter().cloned().collect())
}

/// What to swap in: binaries that changed, and the images made from those
/// that run as containers (control plane, kube-proxy), by binary name.
pub struct Swap {
    pub binaries: Vec<Binary>,
    pub images: BTreeMap<String, Image>,
}

impl Swap {
    fn binary(&self, name: &str) -> Option<&Binary> {
        self.binaries.iter().find(|b| b.name == name)
    }
}

/// Steps 2 to 5 for what `swap` holds.
pub async fn swap<E: Engine>(cx: Ctx<'_, E>, swap: &Swap) -> Result<()> {
    let tools: Vec<&Binary> = ["kubeadm", "kubectl"]
        .iter()
        .filter_map(|n| swap.binary(n))
        .collect();
    if !tools.is_empty() {
        replace_tools(cx, &tools).await?;
    }
    if let Some(kubelet) = swap.binary("kubelet") {
        replace_kubelet(cx, kubelet).await?;
    }
    // kube-proxy before the control plane: its rollout needs the
    // DaemonSet controller and the scheduler, which, once replaced, wait
    // for their predecessors' leader leases to expire.
    if let (Some(binary), Some(image)) = (swap.binary("kube-proxy"), swap.images.get("kube-proxy"))
    {
        replace_kube_proxy(cx, binary, image).await?;
    }
    let pods: Vec<(&Binary, &Image)> = STATIC_PODS
        .iter()
        .filter_map(|name| Some((swap.binary(name)?, swap.images.get(*name)?)))
        .collect();
    if !pods.is_empty() {
        replace_static_pods(cx, &pods).await?;
    }
    Ok(())
}

/// Put `binaries` into `/usr/bin` of `node`: uploaded beside it, then renamed.
async fn install<E: Engine>(cx: Ctx<'_, E>, node: &str, binaries: &[&Binary]) -> Result<()> {
    let files: Vec<(String, PathBuf)> = binaries
        .iter()
        .map(|b| (b.name.clone(), b.path.clone()))
        .collect();
    cx.engine.upload_files(node, INCOMING, &files).await?;
    let moves: Vec<String> = binaries
        .iter()
        .map(|b| {
            format!(
                "chmod 755 {INCOMING}/{0} && mv -f {INCOMING}/{0} /usr/bin/{0}",
                b.name
            )
        })
        .collect();
    cx.engine
        .sh(node, &format!("{} && rmdir {INCOMING}", moves.join(" && ")))
        .await?;
    Ok(())
}

/// Note on every node that `binaries` now run.
async fn record<E: Engine>(cx: Ctx<'_, E>, binaries: &[&Binary]) -> Result<()> {
    let lines: String = binaries
        .iter()
        .map(|b| format!("{} {}\n", b.name, b.sha256))
        .collect();
    let script = format!("mkdir -p \"$(dirname {RECORD})\" && cat >> {RECORD} <<'EOF'\n{lines}EOF");
    try_join_all(
        cx.plan
            .nodes
            .iter()
            .map(|n| cx.engine.sh(&n.container, &script)),
    )
    .await?;
    Ok(())
}

/// Step 2: kubeadm and kubectl in every node, kubectl beside admin.conf.
async fn replace_tools<E: Engine>(cx: Ctx<'_, E>, tools: &[&Binary]) -> Result<()> {
    let names: Vec<&str> = tools.iter().map(|b| b.name.as_str()).collect();
    let step = cx.ui.step(format!(
        "Replacing {} in {} nodes",
        names.join(" and "),
        cx.plan.nodes.len()
    ));
    try_join_all(
        cx.plan
            .nodes
            .iter()
            .map(|n| install(cx, &n.container, tools)),
    )
    .await?;
    if let Some(kubectl) = tools.iter().find(|b| b.name == "kubectl") {
        let host = cx.plan.kubectl_path();
        // Beside it, then renamed: the old one may be running.
        let incoming = host.with_extension("new");
        std::fs::copy(&kubectl.path, &incoming).map_err(ClusterError::io("writing", &incoming))?;
        std::fs::rename(&incoming, &host).map_err(ClusterError::io("replacing", &host))?;
    }
    step.done();
    Ok(())
}

/// Step 3: the kubelet on every node, restarted; then every node Ready
/// with a heartbeat from the new kubelet.
async fn replace_kubelet<E: Engine>(cx: Ctx<'_, E>, kubelet: &Binary) -> Result<()> {
    let step = cx.ui.step(format!(
        "Replacing and restarting the kubelet on {} nodes",
        cx.plan.nodes.len()
    ));
    let since = crate::time::rfc3339(std::time::SystemTime::now());
    // Restarted, then healthy: the new process answers on its health port.
    let healthy = "systemctl restart kubelet; i=0; \
                   until curl -sf --max-time 1 http://127.0.0.1:10248/healthz >/dev/null; do \
                   i=$((i + 1)); [ $i -lt 600 ] || { echo 'kubelet not healthy'; exit 1; }; sleep 0.1; done";
    try_join_all(cx.plan.nodes.iter().map(|n| async move {
        install(cx, &n.container, &[kubelet]).await?;
        cx.engine
            .sh(&n.container, healthy)
            .await
            .map_err(|source| ClusterError::Restart {
                what: format!("the kubelet on {}", n.name),
                source,
            })
    }))
    .await?;
    let kubectl = cx.kubectl();
    let expected = cx.plan.nodes.len();
    wait_for("the nodes' kubelets", &step, || async {
        let nodes = kubectl.nodes().await?;
        let fresh = nodes
            .iter()
            .filter(|n| n.ready && n.heartbeat.as_str() >= since.as_str())
            .count();
        Ok((fresh >= expected)
            .then_some(())
            .ok_or(format!("{fresh}/{expected} nodes Ready")))
    })
    .await?;
    step.done();
    Ok(())
}

/// The static pod manifest with its container's image replaced.
fn with_image(manifest: &str, image: &str) -> Option<String> {
    let mut replaced = 0;
    let lines: Vec<String> = manifest
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            match trimmed.strip_prefix("image:") {
                Some(_) => {
                    replaced += 1;
                    let indent = &line[..line.len() - trimmed.len()];
                    format!("{indent}image: {image}")
                }
                None => line.to_string(),
            }
        })
        .collect();
    (replaced == 1).then(|| lines.join("\n") + "\n")
}

/// Where each control-plane component says it is healthy, in the master.
fn health_url(name: &str) -> &'static str {
    match name {
        "kube-apiserver" => "https://127.0.0.1:6443/readyz",
        "kube-controller-manager" => "https://127.0.0.1:10257/healthz",
        _ => "https://127.0.0.1:10259/healthz",
    }
}

/// Replaces a static pod by its new manifest (already at `staged`), in the
/// master: the old manifest is taken out of the kubelet's folder, and once
/// the kubelet has stopped the old pod the new one goes in. (Changed in
/// place, the kubelet would start the new pod only at its next resync of
/// the old one, 10-15 s later.) The old pod gets two seconds to stop, then
/// is killed: it is being replaced, and the API server would otherwise
/// drain connections for ten more. Done when a container of the new image
/// runs and the component answers its health check.
fn restart_script(name: &str, pod: &str, staged: &str, image: &str) -> String {
    let health = health_url(name);
    format!(
        r#"set -e
m={MANIFESTS}/{name}.yaml
old=/etc/kubernetes/.{name}.yaml.old
pod_tasks() {{
  for c in $(ctr -n k8s.io containers ls -q 'labels."io.kubernetes.pod.name"=={pod}'); do
    ctr -n k8s.io tasks ls | awk -v c="$c" '$1 == c && $3 == "RUNNING" {{ print c }}'
  done
}}
mv -f "$m" "$old"
i=0
while [ -n "$(pod_tasks)" ]; do
  i=$((i + 1))
  if [ $i -eq 20 ]; then
    for t in $(pod_tasks); do ctr -n k8s.io tasks kill -s SIGKILL "$t" 2>/dev/null || true; done
  fi
  if [ $i -ge 600 ]; then echo "the old {pod} did not stop"; mv -f "$old" "$m"; exit 1; fi
  sleep 0.1
done
mv -f {staged} "$m"
rm -f "$old"
i=0
until ctr -n k8s.io containers ls 'labels."io.kubernetes.pod.name"=={pod}' | awk '$2 == "{image}"' | grep -q . &&
      curl -sfk --max-time 2 {health} >/dev/null; do
  i=$((i + 1))
  if [ $i -ge 1200 ]; then echo "{pod} did not become healthy with {image}"; exit 1; fi
  sleep 0.2
done
"#
    )
}

/// Step 5: the control-plane components' images into the master and their
/// manifests pointed at them, all at once (the others wait for the API
/// server by themselves); each done when it runs the new image, is healthy,
/// and its mirror pod in the API reports it.
async fn replace_static_pods<E: Engine>(cx: Ctx<'_, E>, pods: &[(&Binary, &Image)]) -> Result<()> {
    let master = cx.plan.master();
    let names: Vec<&str> = pods.iter().map(|(b, _)| b.name.as_str()).collect();
    let step = cx.ui.step(format!(
        "Restarting {} with the new build",
        names.join(", ")
    ));
    let archives: Vec<PathBuf> = pods.iter().map(|(_, i)| i.archive.clone()).collect();
    crate::cluster::steps::images::import_archives_into(
        cx,
        &archives,
        std::slice::from_ref(&master.container),
    )
    .await?;
    let mut scripts = Vec::new();
    for (binary, image) in pods {
        let name = &binary.name;
        let path = format!("{MANIFESTS}/{name}.yaml");
        let manifest = cx.engine.read_file(&master.container, &path).await?;
        let text = String::from_utf8_lossy(&manifest);
        let updated =
            with_image(&text, &image.reference).ok_or_else(|| ClusterError::Manifest {
                path: path.clone(),
                node: master.name.clone(),
            })?;
        let staged = format!("/etc/kubernetes/.{name}.yaml.new");
        cx.engine
            .write_file(&master.container, &staged, 0o600, updated.as_bytes())
            .await?;
        let pod = format!("{name}-{}", master.name);
        scripts.push((
            name.as_str(),
            restart_script(name, &pod, &staged, &image.reference),
        ));
    }
    try_join_all(scripts.iter().map(|(name, script)| async move {
        cx.engine
            .sh(&master.container, script)
            .await
            .map_err(|source| ClusterError::Restart {
                what: name.to_string(),
                source,
            })
    }))
    .await?;
    // The mirror pods in the API report the new containers a few seconds
    // later; until then `kubectl logs` of them fails. Done when they do.
    let kubectl = cx.kubectl();
    wait_for("the control plane's pods in the API", &step, || async {
        let mut behind = Vec::new();
        for (binary, image) in pods {
            let pod = format!("{}-{}", binary.name, master.name);
            let mirror: crate::cluster::steps::kubectl::Pod = kubectl
                .json(&["-n", "kube-system", "get", "pod", &pod])
                .await?;
            if !mirror.runs(&image.reference) {
                behind.push(pod);
            }
        }
        Ok(behind.is_empty().then_some(()).ok_or(format!(
            "{} not yet reported with the new image",
            behind.join(", ")
        )))
    })
    .await?;
    let binaries: Vec<&Binary> = pods.iter().map(|(b, _)| *b).collect();
    record(cx, &binaries).await?;
    step.done();
    Ok(())
}

/// Step 4: kube-proxy's image into every node, the DaemonSet updated and
/// rolled out.
async fn replace_kube_proxy<E: Engine>(
    cx: Ctx<'_, E>,
    binary: &Binary,
    image: &Image,
) -> Result<()> {
    let step = cx.ui.step("Rolling kube-proxy out with the new build");
    let nodes: Vec<String> = cx.plan.nodes.iter().map(|n| n.container.clone()).collect();
    crate::cluster::steps::images::import_archives_into(
        cx,
        std::slice::from_ref(&image.archive),
        &nodes,
    )
    .await?;
    let kubectl = cx.kubectl();
    kubectl
        .run(&[
            "-n",
            "kube-system",
            "set",
            "image",
            "daemonset/kube-proxy",
            &format!("kube-proxy={}", image.reference),
        ])
        .await?;
    kubectl
        .run(&[
            "-n",
            "kube-system",
            "rollout",
            "status",
            "daemonset/kube-proxy",
            &format!("--timeout={}s", TIMEOUT.as_secs()),
        ])
        .await?;
    record(cx, &[binary]).await?;
    step.done();
    Ok(())
}

/// Poll `probe` until it says done (`Ok(Ok(()))`); its `Err(text)` is what
/// is still awaited, shown on the step and in the timeout's error.
async fn wait_for<F, Fut>(what: &str, step: &crate::ui::Step<'_>, mut probe: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<std::result::Result<(), String>>>,
{
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < TIMEOUT {
        match probe().await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(now)) => last = now,
            Err(e) => last = crate::error::chain(&e),
        }
        step.set_message(&last);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(ClusterError::SwapTimeout {
        what: what.to_string(),
        secs: TIMEOUT.as_secs(),
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary(name: &str, sha: char) -> Binary {
        Binary {
            name: name.to_string(),
            path: PathBuf::from(format!("/b/{name}")),
            sha256: sha.to_string().repeat(64),
        }
    }

    #[test]
    fn what_nodes_report_is_read_from_their_files_and_record() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let report = format!(
            "{a}  /usr/bin/kubelet\n{a}  /usr/bin/kubeadm\nkube-apiserver {b}\nkubelet {b}\ngarbage\n"
        );
        let hashes = parse_node_report(&report);
        assert_eq!(hashes["kubeadm"], a);
        // The file in /usr/bin is what runs, whatever a record says.
        assert_eq!(hashes["kubelet"], a);
        assert_eq!(hashes["kube-apiserver"], b);
        assert_eq!(hashes.len(), 3);
    }

    #[test]
    fn a_binary_is_swapped_when_any_node_runs_something_else() {
        let new = [
            binary("kubelet", 'a'),
            binary("kube-proxy", 'b'),
            binary("kubeadm", 'c'),
        ];
        let same = |n: &str, c: char| (n.to_string(), c.to_string().repeat(64));
        let node1 = BTreeMap::from([same("kubelet", 'a'), same("kubeadm", 'c')]);
        let node2 = BTreeMap::from([same("kubelet", 'x'), same("kubeadm", 'c')]);
        let names: Vec<&str> = differing(&new, &[node1.clone(), node2])
            .iter()
            .map(|b| b.name.as_str())
            .collect();
        // kubelet differs on node2; kube-proxy was never recorded.
        assert_eq!(names, ["kubelet", "kube-proxy"]);
        assert_eq!(differing(&new[..1], &[node1]).len(), 0);
    }

    #[test]
    fn manifests_get_the_new_image_and_nothing_else() {
        let manifest = "spec:\n  containers:\n  - command:\n    - kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.37.2\n    imagePullPolicy: IfNotPresent\n";
        let updated = with_image(
            manifest,
            "registry.k8s.io/kube-apiserver:v1.37.2-dirty-0123456789ab",
        )
        .unwrap();
        assert_eq!(
            updated,
            manifest.replace(
                "kube-apiserver:v1.37.2\n",
                "kube-apiserver:v1.37.2-dirty-0123456789ab\n"
            )
        );
        assert_eq!(with_image("spec: {}\n", "x"), None, "no image line");
    }

    #[test]
    fn image_tags_are_valid_and_name_the_build() {
        let b = binary("kube-apiserver", 'f');
        assert_eq!(
            image_tag("v1.38.0-alpha.0.6+84c76d1142ea4d-dirty", &b),
            "v1.38.0-alpha.0.6_84c76d1142ea4d-dirty-ffffffffffff"
        );
    }
}
