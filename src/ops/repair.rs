//! Repairing a finished cluster whose nodes broke while it ran (a node
//! container killed or removed, containerd or the kubelet stopped): only
//! the broken nodes are touched, so the others and their pods keep running.

use crate::cluster::state::health::UNITS;
use crate::cluster::state::plan::RunMode;
use crate::cluster::state::snapshot;
use crate::cluster::steps::health;
use crate::cluster::steps::node::{self, Launch};
use crate::cluster::steps::wait;
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;
use crate::ops::lifecycle::{export_files, NodeImageRef};
use crate::settings::NodeRunMode;

/// What [`repair`] does.
pub(super) struct Broken<'a> {
    pub restart: &'a [String],
    pub replace: &'a [String],
    /// Nodes can be replaced from the snapshot.
    pub from_snapshot: bool,
    pub api_port: Option<u16>,
    pub run_mode: Option<RunMode>,
}

/// Bring broken nodes of a finished cluster back, leaving the others as
/// they are: units started again where the container is fine (a node
/// whose units will not start is replaced too), the rest started anew from
/// their snapshot images with their /var volumes, which keeps their
/// identity, certificates and (on the master) etcd.
pub(super) async fn repair<E: Engine>(
    cx: Ctx<'_, E>,
    image: &NodeImageRef,
    fingerprint: &str,
    broken: &Broken<'_>,
) -> Result<()> {
    let plan = cx.plan;
    let mut replace: Vec<String> = broken.replace.to_vec();
    for name in broken.restart {
        let node = plan.node(name)?;
        let step = cx
            .ui
            .step(format!("Starting {} again on {name}", UNITS.join(" and ")));
        if health::restart_units(cx, node).await {
            step.done();
        } else if broken.from_snapshot {
            drop(step);
            cx.ui.warn(format!(
                "{name}: its units do not start; replacing the node"
            ));
            replace.push(name.clone());
        } else {
            drop(step);
            return Err(ClusterError::UnitsDoNotStart { node: name.clone() });
        }
    }
    if !replace.is_empty() {
        let step = cx.ui.step(format!(
            "Replacing {} from the snapshot: {}",
            if replace.len() == 1 {
                "a node"
            } else {
                "nodes"
            },
            replace.join(", ")
        ));
        let mode = match (broken.run_mode, plan.run_mode) {
            (Some(mode), NodeRunMode::Auto) => mode,
            _ => node::detect_run_mode(cx, &image.reference).await?,
        };
        // The port admin.conf names: the master's as published now, else
        // the snapshot's.
        let api_port = match node::published_api_port(cx).await {
            Ok(port) => Some(port),
            Err(_) => plan.apiserver_port.or(broken.api_port),
        };
        let launch = Launch {
            images: plan
                .nodes
                .iter()
                .map(|n| snapshot::image_reference(plan, &n.name))
                .collect(),
            fingerprint: fingerprint.to_string(),
            api_port,
            mode,
        };
        node::replace(cx, &launch, &replace).await?;
        step.done();
    }
    wait::ready(cx, None).await?;
    crate::registry::after_up(cx).await;
    export_files(cx, &image.arch).await?;
    health::mark_finished(cx).await
}
