//! The cluster lifecycle as small named steps acting on the engine: network,
//! nodes, kubeadm init, pod network, joins, readiness, kubeconfig, snapshot;
//! and `down`/`clean`. All state lives in the engine's objects and their
//! labels, so there is no state file to go stale.
//!
//! Every step gets a [`Ctx`]: the engine, the resolved plan and the output.
//! What to do is decided by pure functions in [`state::decide`] and [`state::snapshot`]
//! from what the engine holds; the steps only carry it out.

mod error;
pub mod state;
pub mod steps;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::BTreeMap;

pub use error::{ClusterError, Result};

use crate::engine::{ContainerState, Engine};
use crate::labels::{LABEL_CLUSTER, LABEL_ROLE, ROLE_NODE};
use crate::ui::Ui;
use state::plan::ClusterPlan;

/// What every lifecycle step works with.
pub struct Ctx<'a, E> {
    pub engine: &'a E,
    pub plan: &'a ClusterPlan,
    pub ui: &'a Ui,
}

impl<E> Clone for Ctx<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Ctx<'_, E> {}

impl<'a, E: Engine> Ctx<'a, E> {
    pub fn new(engine: &'a E, plan: &'a ClusterPlan, ui: &'a Ui) -> Ctx<'a, E> {
        Ctx { engine, plan, ui }
    }

    /// The cluster's node containers in the engine: name → running?
    /// (A paused one is not.)
    pub async fn node_containers(&self) -> Result<BTreeMap<String, bool>> {
        Ok(self
            .node_states()
            .await?
            .into_iter()
            .map(|(name, state)| (name, state == ContainerState::Running))
            .collect())
    }

    /// The cluster's node containers in the engine: name → state.
    pub async fn node_states(&self) -> Result<BTreeMap<String, ContainerState>> {
        let containers = self
            .engine
            .list_containers(&[(LABEL_CLUSTER, &self.plan.name), (LABEL_ROLE, ROLE_NODE)])
            .await?;
        Ok(containers.into_iter().map(|c| (c.name, c.state)).collect())
    }
}

/// Labels of an object belonging to the plan's cluster.
fn cluster_labels(plan: &ClusterPlan, role: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_CLUSTER.to_string(), plan.name.clone()),
        (LABEL_ROLE.to_string(), role.to_string()),
    ])
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
