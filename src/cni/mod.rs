//! Pod networks. Each plugin knows what to install and how, given the nodes
//! and their pod ranges once they have joined.

pub mod bridge;

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// A node as the pod network sees it.
#[derive(Debug, Clone)]
pub struct NetworkNode {
    pub container: String,
    pub name: String,
    pub ip: Ipv4Addr,
    /// From the Node object's spec.podCIDR (allocated by the controller manager).
    pub pod_cidr: Ipv4Net,
}
