//! The integration tests: one test crate, each file a module, so that the
//! shared helpers (`common`) are compiled once and one binary is linked
//! instead of one per file. `.ci/test` selects a tier's tests by module path
//! (`cluster::`, `reliability::core_`, ...).
//!
//! `cargo test` runs the quick ones (CLI tests, no Docker engine needed);
//! the others are `#[ignore]`d: they need root, a Docker engine and minutes.

mod common;

mod addons;
mod arch;
mod cli;
mod cluster;
mod damaged;
mod doctor;
mod e2e;
mod e2e_images;
mod engine;
mod engines;
mod install;
mod node_image;
mod pod_networks;
mod registry;
mod reliability;
mod remote;
mod resources;
mod reup;
mod user;
