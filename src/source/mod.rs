//! Kubernetes from a source tree: which version the tree is ([`version`]),
//! building binaries in it ([`build`]), and putting a tree together from the
//! Go module proxy for machines without git access ([`assemble`]).
//!
//! `up` with `build*` settings makes its node image from what the tree
//! builds; `reup` (in `ops::reup`) swaps such a build into a running
//! cluster.

pub mod assemble;
pub mod build;
mod error;
pub mod version;

pub use error::SourceError;
pub use version::TreeVersion;

/// The binaries each `build*` setting selects, in build order.
pub fn selected(kubeadm: bool, server: bool, kubectl: bool) -> Vec<&'static str> {
    let mut names = Vec::new();
    if kubeadm {
        names.push("kubeadm");
    }
    if kubectl {
        names.push("kubectl");
    }
    if server {
        names.extend(crate::artifacts::SERVER_BINARIES);
    }
    names
}
