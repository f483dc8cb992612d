//! The commands that act on a cluster, composed of the cluster's steps:
//! `up` (create, restore, repair), `down`, `clean`, `reup`, `load`, `logs`,
//! and the lock that keeps two of them from working on one cluster at once.

pub mod lifecycle;
pub mod load;
pub mod lock;
pub mod logs;
pub mod pause;
pub mod reup;
pub mod snapshots;
#[cfg(test)]
pub(crate) mod tests;
pub mod up;
