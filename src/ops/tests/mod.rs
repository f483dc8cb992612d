//! The commands against the fake engine.

mod lifecycle;
mod load;
mod pause;
mod ready;
pub(crate) mod scene;
mod snapshots;
