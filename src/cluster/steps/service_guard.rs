//! Traffic to Service addresses that kube-proxy has not (yet) translated is
//! rejected in every node, whatever the pod network. Until kube-proxy has
//! written its rules (a node that just joined, a restore), a Service address
//! would otherwise go out through the engine's network to whatever the host
//! routes it to: flannel's pods, which run before kube-proxy on a new node,
//! reach for the API server's Service address at once.
//!
//! kube-proxy translates Service addresses in the nat table, before the
//! filter table's rules are consulted, so translated traffic is never
//! rejected. A unit applies the rules at every boot, before the kubelet.

use futures_util::future::try_join_all;
use ipnet::Ipv4Net;

use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;

const SCRIPT_PATH: &str = "/etc/kubeadm-local-cluster/service-guard.sh";
const UNIT_PATH: &str = "/etc/systemd/system/local-cluster-service-guard.service";
/// Where `systemctl enable` would link it (its `WantedBy`).
const WANTS: &str = "/etc/systemd/system/multi-user.target.wants";

const UNIT: &str = "[Unit]
Description=Reject traffic to Service addresses kube-proxy has not translated (kubeadm-local-cluster)
After=network.target
Before=kubelet.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh /etc/kubeadm-local-cluster/service-guard.sh

[Install]
WantedBy=multi-user.target
";

/// The rules, idempotent: forwarded traffic (pods) and the node's own
/// (host-network pods, the kubelet).
pub fn script(service_subnet: Ipv4Net) -> String {
    let mut s = String::from(
        "#!/bin/sh\n# Written by kubeadm-local-cluster: Service addresses never leave untranslated.\nset -e\n",
    );
    for chain in ["FORWARD", "OUTPUT"] {
        s.push_str(&format!(
            "iptables -C {chain} -d {service_subnet} -m comment --comment local-cluster-no-service-leak -j REJECT 2>/dev/null ||\n  iptables -A {chain} -d {service_subnet} -m comment --comment local-cluster-no-service-leak -j REJECT\n"
        ));
    }
    s
}

/// Write the rules and their unit into every node and apply them now.
pub async fn install<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    let script = script(cx.plan.service_subnet);
    try_join_all(cx.plan.nodes.iter().map(|node| {
        let script = &script;
        async move {
            let apply = async {
                cx.engine
                    .write_file(&node.container, SCRIPT_PATH, 0o755, script.as_bytes())
                    .await?;
                cx.engine
                    .write_file(&node.container, UNIT_PATH, 0o644, UNIT.as_bytes())
                    .await?;
                // Enabled by its link and applied by running the script:
                // the node may still be booting, when systemctl may not
                // answer yet.
                cx.engine
                    .sh(
                        &node.container,
                        &format!(
                            "mkdir -p {WANTS} && ln -sf {UNIT_PATH} {WANTS}/ && /bin/sh {SCRIPT_PATH}"
                        ),
                    )
                    .await
            };
            apply.await.map_err(|source| ClusterError::ServiceGuard {
                node: node.name.clone(),
                source,
            })
        }
    }))
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_are_guarded() {
        let s = script("10.96.0.0/12".parse().unwrap());
        assert!(s.contains("iptables -A FORWARD -d 10.96.0.0/12"), "{s}");
        assert!(s.contains("iptables -A OUTPUT -d 10.96.0.0/12"), "{s}");
        assert!(s.contains("iptables -C OUTPUT -d 10.96.0.0/12"), "{s}");
    }
}
