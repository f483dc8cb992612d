//! Images: deterministic layers, `docker save` archives, the Debian base
//! system, Debian systems images are cut from, the component images kubeadm runs and the node images.

pub mod archive;
pub mod components;
pub mod context;
pub mod debian;
pub mod dpkg;
mod error;
pub mod foreign;
pub mod layer;
pub mod node;
pub mod room;
pub mod rootfs;
pub mod workload;

pub use context::{BuildContext, MakeError};
pub use error::{ImageError, Result};
