//! The commands against the fake engine.

mod lifecycle;
mod load;
mod pause;
pub(crate) mod scene;
mod snapshots;
