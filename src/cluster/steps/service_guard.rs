//! Traffic to Service addresses that kube-proxy has not (yet) translated is
//! rejected in every node, whatever the pod network. Until kube-proxy has
//! written its rules (a node that just joined, a restore), a Service address
//! would otherwise go out through the engine's network to whatever the host
//! routes it to: flannel's pods, which run before kube-proxy on a new node,
//! reach for the API server's Service address at once.
//!
//! One Service needs no kube-proxy: the API server's own (`kubernetes`, the
//! first address of the Service range), whose only endpoint is the master's
//! fixed address. It is translated there from boot, so that pods started
//! before kube-proxy's first sync (CoreDNS and the pod network after a
//! restore) reach the API server at once instead of being refused and
//! backing off. kube-proxy puts its own rules first when it starts (it
//! prepends its chain), so this one only answers before that.
//!
//! kube-proxy translates Service addresses in the nat table, before the
//! filter table's rules are consulted, so translated traffic is never
//! rejected. A unit applies the rules at every boot, before the kubelet.

use std::net::{Ipv4Addr, SocketAddrV4};

use futures_util::future::try_join_all;
use ipnet::Ipv4Net;

use crate::cluster::steps::kubeadm::API_PORT;
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;

const SCRIPT_PATH: &str = "/etc/kubeadm-local-cluster/service-guard.sh";
const UNIT_PATH: &str = "/etc/systemd/system/local-cluster-service-guard.service";
/// Where `systemctl enable` would link it (its `WantedBy`).
const WANTS: &str = "/etc/systemd/system/multi-user.target.wants";

const UNIT: &str = "[Unit]
Description=Service addresses before kube-proxy: the API server's translated, others rejected (kubeadm-local-cluster)
After=network.target
Before=kubelet.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh /etc/kubeadm-local-cluster/service-guard.sh

[Install]
WantedBy=multi-user.target
";

/// The API server's Service address: the first of the Service range.
pub fn api_service_address(service_subnet: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(service_subnet.network()) + 1)
}

/// The rules, idempotent: forwarded traffic (pods) and the node's own
/// (host-network pods, the kubelet); the API server's Service address
/// translated to `api_server` (appended: after kube-proxy's chain).
pub fn script(service_subnet: Ipv4Net, api_server: SocketAddrV4) -> String {
    let mut s = String::from(
        "#!/bin/sh\n# Written by kubeadm-local-cluster: Service addresses never leave untranslated.\nset -e\n",
    );
    let service = api_service_address(service_subnet);
    for chain in ["PREROUTING", "OUTPUT"] {
        let rule = format!(
            "{chain} -d {service}/32 -p tcp --dport 443 -m comment --comment local-cluster-api-service -j DNAT --to-destination {api_server}"
        );
        s.push_str(&format!(
            "iptables -t nat -C {rule} 2>/dev/null ||\n  iptables -t nat -A {rule}\n"
        ));
    }
    for chain in ["FORWARD", "OUTPUT"] {
        s.push_str(&format!(
            "iptables -C {chain} -d {service_subnet} -m comment --comment local-cluster-no-service-leak -j REJECT 2>/dev/null ||\n  iptables -A {chain} -d {service_subnet} -m comment --comment local-cluster-no-service-leak -j REJECT\n"
        ));
    }
    s
}

/// Write the rules and their unit into every node and apply them now.
pub async fn install<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    let api_server = SocketAddrV4::new(cx.plan.master().ip, API_PORT);
    let script = script(cx.plan.service_subnet, api_server);
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
        let s = script("10.96.0.0/12".parse().unwrap(), api());
        assert!(s.contains("iptables -A FORWARD -d 10.96.0.0/12"), "{s}");
        assert!(s.contains("iptables -A OUTPUT -d 10.96.0.0/12"), "{s}");
        assert!(s.contains("iptables -C OUTPUT -d 10.96.0.0/12"), "{s}");
    }

    fn api() -> SocketAddrV4 {
        "10.192.0.2:6443".parse().unwrap()
    }

    #[test]
    fn the_api_servers_service_leads_to_the_master_from_boot() {
        let s = script("10.100.0.0/16".parse().unwrap(), api());
        for chain in ["PREROUTING", "OUTPUT"] {
            let rule = format!(
                "{chain} -d 10.100.0.1/32 -p tcp --dport 443 -m comment \
                 --comment local-cluster-api-service -j DNAT --to-destination 10.192.0.2:6443"
            );
            assert!(s.contains(&format!("iptables -t nat -C {rule} ")), "{s}");
            // Appended, so that kube-proxy's chain (prepended) comes first.
            assert!(s.contains(&format!("iptables -t nat -A {rule}\n")), "{s}");
        }
        assert_eq!(
            api_service_address("10.96.0.0/12".parse().unwrap()),
            Ipv4Addr::new(10, 96, 0, 1)
        );
    }
}
