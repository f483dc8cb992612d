//! The typed values settings resolve to.
//!
//! Here: Kubernetes versions and version settings (`version.rs`), the
//! choice settings (`choice.rs`), downloads and their checksums
//! (`download.rs`), addons (`addon.rs`).

mod addon;
mod choice;
mod download;
mod version;

pub use addon::{Addon, NamedAddon, NAMED_ADDONS};
pub use choice::{
    Arch, CniPlugin, ImageSource, ImageSourceSetting, KubernetesSource, KubernetesSourceSetting,
    NodeRunMode,
};
pub use download::{Checksum, Download};
pub use version::{KubeVersion, VersionSpec};

#[cfg(test)]
mod tests;
