//! What a cluster is and what to do about it, as pure functions of the
//! settings and of what the engine holds: the plan, the snapshot's record
//! and judgement, the nodes' health condition, and the decisions `up`
//! takes. Nothing here talks to the engine.

pub mod certs;
pub mod decide;
pub mod health;
pub mod plan;
pub mod snapshot;
