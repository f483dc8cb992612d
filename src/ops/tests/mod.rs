//! The commands against the fake engine.

mod lifecycle;
mod load;
pub(crate) mod scene;
