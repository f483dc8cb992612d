//! kubeadm-local-cluster: multi-node Kubernetes clusters on one Docker engine.
//!
//! Data flows one way: `settings` (file, environment, flags) → a resolved
//! cluster plan → named steps acting on the engine through the `engine` traits.
//!
//! - [`settings`]: every setting from the config file, `K8S_DIND_*` variables
//!   and flags, validated, with where each value came from.
//! - [`engine`]: the container engine as traits (containers, files, exec,
//!   networks, volumes, images), implemented over the Docker API and, for
//!   tests, in memory.
//! - [`artifacts`]: Kubernetes binaries (release downloads, URLs, source tree,
//!   Go module builds) and the build cache.
//! - [`images`]: image layers and archives, the Debian base system, component
//!   images and node images.
//! - [`cluster`]: the lifecycle as named steps over a context (engine, plan,
//!   output), with its decisions as pure functions; [`cni`]: pod networks.
//! - [`cli`], [`app`]: the command line and the command entry points;
//!   [`ui`]: progress; [`output`]: every write to stdout and stderr;
//!   [`error`]: error chains; [`process`]: host commands; [`private`]:
//!   files only the user may read; [`disk`]: free space; [`doctor`]: can this machine run
//!   clusters, judged from what it is.

pub mod addons;
pub mod app;
pub mod artifacts;
pub mod cli;
pub mod cluster;
pub mod cni;
pub mod disk;
pub mod doctor;
pub mod e2e;
pub mod engine;
pub mod error;
pub mod images;
pub mod labels;
pub mod manifest;
pub mod memory;
pub mod ops;
pub mod output;
pub mod private;
pub mod process;
pub mod registry;
pub mod settings;
pub mod source;
pub mod time;
pub mod ui;
