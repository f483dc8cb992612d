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
pub mod fingerprint;
pub mod release;
pub mod version;

pub use error::SourceError;
pub use version::TreeVersion;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::artifacts::{Cache, TreeBuild, TreeBuilder};
use crate::settings::KubeVersion;
use crate::ui::Ui;

/// The builder of the binaries a tree gives, for [`crate::artifacts`].
pub struct Trees;

impl TreeBuilder for Trees {
    async fn build(
        &self,
        ui: &Ui,
        tree: &TreeBuild,
        arch: &str,
    ) -> Result<Vec<(String, PathBuf)>, Box<dyn std::error::Error + Send + Sync>> {
        let names = selected(tree.kubeadm, tree.server, tree.kubectl);
        Ok(build::build(ui, &tree.dir, &tree.stamp, &names, arch).await?)
    }

    async fn release(
        &self,
        ui: &Ui,
        cache: &Cache,
        version: &KubeVersion,
        arch: &str,
        names: &[&str],
    ) -> Result<BTreeMap<String, PathBuf>, Box<dyn std::error::Error + Send + Sync>> {
        Ok(release::binaries(ui, cache, version, arch, names).await?)
    }
}

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
