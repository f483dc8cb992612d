//! `local-cluster logs`: what one needs to see why a cluster misbehaves,
//! collected from every node into a directory.

use std::path::Path;

use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;

/// What is collected from each node: (file name, shell command).
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
    // Binary (rotated logs are gzipped): written byte for byte.
    (
        "pods.tar",
        "tar -C /var/log -cf - pods containers 2>/dev/null",
    ),
];

/// Write the logs of every node of the cluster under `dir/<node>/`; returns
/// how many files were written. Private (0700/0600): kubeadm.yaml has the
/// bootstrap token, and journals can show more.
pub async fn export<E: Engine>(cx: Ctx<'_, E>, dir: &Path) -> Result<usize> {
    let nodes = cx.node_containers().await?;
    let mut count = 0;
    for (node, running) in &nodes {
        let node_dir = dir.join(node);
        crate::private::dir(&node_dir).map_err(ClusterError::io("creating", &node_dir))?;
        if !running {
            let path = node_dir.join("NOT-RUNNING");
            crate::private::write(&path, "the node container was stopped\n")
                .map_err(ClusterError::io("writing", &path))?;
            continue;
        }
        for (file, command) in COLLECT {
            let out = cx
                .engine
                .exec(node, &["sh", "-c", command], Default::default())
                .await?;
            // Kept as bytes; archives without stderr (tar's warnings),
            // which would corrupt them.
            let mut content = out.stdout;
            if !file.ends_with(".tar") {
                content.extend_from_slice(&out.stderr);
            }
            let path = node_dir.join(file);
            crate::private::write(&path, content).map_err(ClusterError::io("writing", &path))?;
            count += 1;
        }
    }
    Ok(count)
}
