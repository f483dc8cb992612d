//! `reup`: binaries built from a source tree swapped into the running
//! cluster without re-creating it, as small steps:
//!
//! 1. [`changed`]: which of the new binaries differ from what the nodes run
//!    (each node says: the sha256 of its `/usr/bin` binaries, and a record of
//!    what earlier swaps put in the control plane and kube-proxy, with the
//!    code each build was made from); one whose code is the same as the
//!    running one's (only the version stamp differs) is kept;
//! 2. kubeadm and kubectl into every node's `/usr/bin` (and kubectl beside
//!    admin.conf);
//! 3. the kubelet into every node, restarted, the nodes Ready again;
//! 4. kube-proxy: its image (made by the caller from the new binary) into
//!    every node, the DaemonSet pointed at it, rolled out;
//! 5. the control plane: its images into the master's containerd, and (once
//!    the master's kubelet has synced its pod sources) the static pod
//!    manifests pointed at them, so the kubelet runs them; each waited for.
//!
//! Only what changed is swapped, so a one-line change to the kubelet
//! restarts nothing but kubelets, the first one too (it turns the tree
//! dirty, which changes every binary's version stamp). Running containers are left alone: the
//! kubelet restarts without stopping pods, and kube-proxy's rules stay
//! while it is replaced. The record lives in the nodes' root filesystems,
//! like the binaries, so after `down` and `up` (the snapshot, not the
//! swap) it says what runs again.
//!
//! Here: the binaries, images and the order of the steps; `record.rs`
//! what the nodes run (step 1, and the record swaps add to); `nodes.rs`
//! the binaries in the nodes' `/usr/bin` (steps 2 and 3); `pods.rs` what
//! runs as pods (steps 4 and 5).

mod nodes;
mod pods;
mod record;

pub use record::{changed, reports, runs_code, NodeReport, Sameness};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;
use nodes::{replace_kubelet, replace_tools};
use pods::{replace_kube_proxy, replace_static_pods};

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
    /// What it was built from, without its version stamp, when known
    /// ([`crate::source::fingerprint`]): a binary with the same code as
    /// the running one is kept.
    pub code: Option<String>,
}

impl Binary {
    pub fn new(name: &str, path: PathBuf) -> Result<Binary> {
        let data = std::fs::read(&path).map_err(ClusterError::io("reading", &path))?;
        Ok(Binary {
            name: name.to_string(),
            sha256: hex::encode(Sha256::digest(&data)),
            path,
            code: None,
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
mod tests;
