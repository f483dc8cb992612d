//! The images of pod networks built here ([`crate::images::workload`]).

pub use crate::images::workload::{BUSYBOX, FLANNEL, KUBE_ROUTER};
