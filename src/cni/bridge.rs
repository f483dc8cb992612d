//! The default pod network: each node puts its pods on a local Linux bridge
//! with addresses from its own pod range, and every node routes the other
//! nodes' ranges to them over the Docker network. No overlay, no daemon:
//! what kubeadm-dind-cluster did, and easy to see through with `ip route`.

use std::fmt::Write as _;

use ipnet::Ipv4Net;

use super::NetworkNode;
use crate::engine::{Engine, EngineError};

pub const CONF_PATH: &str = "/etc/cni/net.d/10-local-cluster-bridge.conflist";
/// Re-applied at every boot (snapshot restores start from a fresh network namespace).
pub const SCRIPT_PATH: &str = "/etc/kubeadm-local-cluster/pod-routes.sh";
const UNIT_PATH: &str = "/etc/systemd/system/local-cluster-pod-routes.service";

/// The CNI configuration for one node.
pub fn conflist(node: &NetworkNode) -> String {
    format!(
        r#"{{
  "cniVersion": "1.0.0",
  "name": "local-cluster",
  "plugins": [
    {{
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {{
        "type": "host-local",
        "ranges": [[{{ "subnet": "{}" }}]],
        "routes": [{{ "dst": "0.0.0.0/0" }}]
      }}
    }},
    {{ "type": "portmap", "capabilities": {{ "portMappings": true }} }}
  ]
}}
"#,
        node.pod_cidr
    )
}

/// Routes to the other nodes' pod ranges, and masquerading for traffic that
/// leaves the pod network (pod-to-pod traffic keeps its source address).
/// (Service addresses are guarded for every pod network: `service_guard`.)
pub fn routes_script(node: &NetworkNode, all: &[NetworkNode], pod_subnet: Ipv4Net) -> String {
    let mut s = String::from(
        "#!/bin/sh\n# Written by kubeadm-local-cluster: pod routes between nodes.\nset -e\n",
    );
    for other in all.iter().filter(|o| o.name != node.name) {
        let _ = writeln!(
            s,
            "ip route replace {} via {}  # {}",
            other.pod_cidr, other.ip, other.name
        );
    }
    let _ = writeln!(
        s,
        "iptables -t nat -C POSTROUTING -s {pod_subnet} ! -d {pod_subnet} -m comment --comment local-cluster-masquerade -j MASQUERADE 2>/dev/null ||\n  iptables -t nat -A POSTROUTING -s {pod_subnet} ! -d {pod_subnet} -m comment --comment local-cluster-masquerade -j MASQUERADE"
    );
    s
}

const UNIT: &str = "[Unit]
Description=Routes to the pod ranges of the other nodes (kubeadm-local-cluster)
After=network.target
Before=kubelet.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh /etc/kubeadm-local-cluster/pod-routes.sh

[Install]
WantedBy=multi-user.target
";

/// Write the node's CNI configuration and route script, and apply it now.
pub async fn install<E: Engine>(
    engine: &E,
    node: &NetworkNode,
    all: &[NetworkNode],
    pod_subnet: Ipv4Net,
) -> Result<(), EngineError> {
    let script = routes_script(node, all, pod_subnet);
    engine
        .write_file(&node.container, SCRIPT_PATH, 0o755, script.as_bytes())
        .await?;
    engine
        .write_file(&node.container, UNIT_PATH, 0o644, UNIT.as_bytes())
        .await?;
    engine
        .sh(
            &node.container,
            "systemctl daemon-reload && systemctl enable --now local-cluster-pod-routes.service >/dev/null 2>&1 \
             && systemctl restart local-cluster-pod-routes.service",
        )
        .await?;
    // The CNI configuration last: its appearance makes the kubelet report Ready.
    engine
        .write_file(&node.container, CONF_PATH, 0o644, conflist(node).as_bytes())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, ip: &str, cidr: &str) -> NetworkNode {
        NetworkNode {
            container: name.to_string(),
            name: name.to_string(),
            ip: ip.parse().unwrap(),
            pod_cidr: cidr.parse().unwrap(),
        }
    }

    #[test]
    fn each_node_routes_the_others_ranges() {
        let all = [
            node("kube-master", "10.192.0.2", "10.244.0.0/24"),
            node("kube-node-1", "10.192.0.3", "10.244.1.0/24"),
            node("kube-node-2", "10.192.0.4", "10.244.2.0/24"),
        ];
        let s = routes_script(&all[1], &all, "10.244.0.0/16".parse().unwrap());
        assert!(s.contains("ip route replace 10.244.0.0/24 via 10.192.0.2"));
        assert!(s.contains("ip route replace 10.244.2.0/24 via 10.192.0.4"));
        assert!(!s.contains("10.244.1.0/24 via"));
        assert!(s.contains("-s 10.244.0.0/16 ! -d 10.244.0.0/16"));
    }

    #[test]
    fn conflist_uses_the_node_range() {
        let c = conflist(&node("kube-node-1", "10.192.0.3", "10.244.1.0/24"));
        let v: serde_json::Value = serde_json::from_str(&c).unwrap();
        assert_eq!(
            v["plugins"][0]["ipam"]["ranges"][0][0]["subnet"],
            "10.244.1.0/24"
        );
        assert_eq!(v["plugins"][0]["type"], "bridge");
    }
}
