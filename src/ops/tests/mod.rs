//! The commands against the fake engine.

mod lifecycle;
