//! A local image registry for a cluster: a container `<prefix>registry`
//! running the CNCF distribution registry on the cluster's Docker network,
//! its storage in a named volume, published on `127.0.0.1:<port>` of the
//! engine's host (port 5001 unless `cluster.registryPort` says otherwise).
//!
//! Every node's containerd is told (with `hosts.toml` files under
//! `/etc/containerd/certs.d`, the way kind documents its local registry) that
//! images named `localhost:<port>/...` come from the registry container, and,
//! for each upstream given to [`mirror`], that the registry is a mirror of
//! it: pulls of `registry.k8s.io/x:1` ask the registry for `x:1` first.
//! The registry's address is published in the ConfigMap
//! `kube-public/local-registry-hosting` (KEP-1755).
//!
//! State lives in the engine, as everywhere in this tool: the container's
//! labels name its cluster, host port and the subnet it was made for; the
//! upstreams it mirrors are listed in a file in its volume, so they survive
//! `down`/`up` and snapshot restores. The registry does not carry the
//! cluster's label, so `down` (which removes what does) keeps it and its
//! images; `clean` removes both ([`remove`]).
//!
//! For the e2e runner:
//! ```ignore
//! let reg = registry::ensure(cx, None, &ImagePlan { source, cache: &cache }).await?;
//! registry::mirror(cx, "registry.k8s.io").await?;
//! // stored as e2e-test-images/kitten:1.8, found through the mirror
//! registry::push_archive(cx, &reg, &archive, &["registry.k8s.io/e2e-test-images/kitten:1.8".into()]).await?;
//! ```
//!
//! Here: `plan.rs` names the registry and finds it; `ensure.rs` makes it
//! run; `mirrors.rs` tells the nodes about it; `hooks.rs` is what `up`,
//! `clean` and `status` call; `decide.rs` says what to do with the
//! container there is, `image.rs` makes the registry's image, `hosts.rs`
//! writes containerd's files and `push.rs` puts images in the registry.

mod decide;
mod ensure;
mod error;
mod hooks;
pub mod hosts;
pub mod image;
mod mirrors;
mod plan;
mod push;

pub use decide::{Action, Existing};
pub use ensure::ensure;
pub use error::{RegistryError, Result};
pub use hooks::{after_up, before_network, describe, remove};
pub use image::ImagePlan;
pub use mirrors::{configure_nodes, mirror, mirrors};
pub use plan::{find, running, Registry, RegistryPlan};
pub use push::{archive_references, push, push_archive, push_images, target};

/// Port the registry listens on inside its container.
pub const CONTAINER_PORT: u16 = 5000;
/// Host port of a new registry when the settings name none (kind's choice,
/// so guides written for kind work unchanged).
pub const DEFAULT_HOST_PORT: u16 = 5001;

#[cfg(test)]
mod tests;
