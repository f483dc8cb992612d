//! kubeadm-local-cluster: multi-node Kubernetes clusters on one Docker engine.
//!
//! Data flows one way: `settings` (file, environment, flags) → a resolved
//! cluster plan → named steps acting on the Docker engine through `engine`.
//!
//! - [`settings`]: every setting from the config file, `K8S_DIND_*` variables
//!   and flags, validated, with where each value came from.
//! - [`engine`]: the Docker engine API (containers, networks, volumes, images, exec).
//! - [`artifacts`]: Kubernetes binaries (release downloads, URLs, source tree,
//!   Go module builds) and the build cache.
//! - [`images`]: image layers and archives, the Debian base system, component
//!   images and node images.
//! - [`cluster`]: the lifecycle as named steps; [`cni`]: pod networks.
//! - [`cli`], [`app`], [`ui`]: the command line, command entry points, output.

pub mod app;
pub mod artifacts;
pub mod cli;
pub mod cluster;
pub mod cni;
pub mod engine;
pub mod images;
pub mod process;
pub mod settings;
pub mod ui;
