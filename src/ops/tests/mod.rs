//! The commands against the fake engine.

mod lifecycle;
pub(crate) mod scene;
