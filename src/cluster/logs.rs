//! `local-cluster logs`: what one needs to see why a cluster misbehaves,
//! collected from every node into a directory.

use std::path::Path;

use anyhow::{Context, Result};

use super::plan::ClusterPlan;
use crate::engine::Engine;

/// (file name, shell command run in each node)
const COLLECT: &[(&str, &str)] = &[
    ("journal.log", "journalctl --no-pager -o short-precise"),
    (
        "kubelet.log",
        "journalctl --no-pager -o short-precise -u kubelet",
    ),
    (
        "containerd.log",
        "journalctl --no-pager -o short-precise -u containerd",
    ),
    ("systemd-units.txt", "systemctl list-units --all --no-pager"),
    ("images.txt", "ctr --namespace k8s.io images ls"),
    ("containers.txt", "ctr --namespace k8s.io containers ls"),
    (
        "kubeadm.yaml",
        "cat /etc/kubeadm-local-cluster/kubeadm.yaml",
    ),
    (
        "resolv.conf",
        "cat /etc/resolv.conf /etc/kubeadm-local-cluster/resolv.conf",
    ),
    ("network.txt", "ip addr; ip route; iptables-save"),
    (
        "pods.tar",
        "tar -C /var/log -cf - pods containers 2>/dev/null",
    ),
];

/// Write the logs of every node of the cluster under `dir/<node>/`.
pub async fn export(engine: &Engine, plan: &ClusterPlan, dir: &Path) -> Result<usize> {
    let nodes = super::node_containers(engine, plan).await?;
    let mut count = 0;
    for (node, running) in &nodes {
        let node_dir = dir.join(node);
        std::fs::create_dir_all(&node_dir)
            .with_context(|| format!("creating {}", node_dir.display()))?;
        if !running {
            std::fs::write(
                node_dir.join("NOT-RUNNING"),
                "the node container was stopped\n",
            )?;
            continue;
        }
        for (file, command) in COLLECT {
            let out = engine
                .exec_raw(node, &["sh", "-c", command], Default::default())
                .await?;
            let content = if file.ends_with(".tar") {
                out.stdout.into_bytes()
            } else {
                out.combined().into_bytes()
            };
            std::fs::write(node_dir.join(file), content)?;
            count += 1;
        }
    }
    Ok(count)
}
