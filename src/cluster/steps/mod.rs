//! Steps that act on the engine for one cluster, each over a [`Ctx`](super::Ctx):
//! its network, node containers, kubeadm, the pod network, addons, waits,
//! kubeconfig, snapshot, health marks. What to do is decided in
//! [`state`](super::state); commands ([`crate::ops`]) compose the steps.

pub mod addons;
pub mod certs;
pub mod health;
pub mod images;
pub mod kubeadm;
pub mod kubeconfig;
pub mod kubectl;
pub mod named;
pub mod network;
pub mod node;
pub mod node_ops;
pub mod pod_network;
pub mod service_guard;
pub mod snapshot;
pub mod wait;
