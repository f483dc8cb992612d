//! What the steps of `up` share: the [`Step`] each one is, and the [`Job`]
//! they work on (what the path was given, and what earlier steps found).

// tokio's clock, which tests can pause and advance.
use tokio::time::Instant;

use futures_util::future::LocalBoxFuture;

use super::{Extras, NodeImageRef, PrepareError};
use crate::cluster::state::decide::UpPath;
use crate::cluster::state::plan::{ClusterPlan, RunMode};
use crate::cluster::state::snapshot::{self, SnapshotFields};
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ui::seconds;

/// One named step of a path of `up`.
pub trait Step<E: Engine> {
    /// Its name in the path lists (and in tests of them).
    fn name(&self) -> &'static str;
    /// Carry it out; it shows its own progress, if any.
    fn run<'a>(&'a self, cx: Ctx<'a, E>, job: &'a mut Job<'_>) -> LocalBoxFuture<'a, Result<()>>;
}

/// Prepares the [`Extras`] of a new cluster (only a new one needs them).
pub type Prepare<'a> =
    Box<dyn FnOnce() -> LocalBoxFuture<'a, std::result::Result<Extras, PrepareError>> + 'a>;

/// What a path of `up` works on.
pub struct Job<'a> {
    pub image: &'a NodeImageRef,
    /// The settings the snapshot is for.
    pub fields: SnapshotFields,
    /// One image per node, in plan order: the node image, or the snapshot's.
    pub node_images: Vec<String>,
    /// Host port for the API server; None lets the engine choose.
    pub api_port: Option<u16>,
    /// The port may be swapped for a free one when it is taken (a
    /// snapshot's, which was free when it was made; never one the settings name).
    pub api_port_may_change: bool,
    /// How the nodes ran, when a snapshot says (a restore on the same
    /// engine need not probe again).
    pub known_mode: Option<RunMode>,
    /// How the nodes run: set by the step that decides it.
    pub mode: Option<RunMode>,
    /// Wait for systemd and containerd after starting the nodes (a restore
    /// need not: the readiness wait covers it).
    pub wait_boot: bool,
    /// Readiness counts only node heartbeats and pod starts after this time.
    pub since: Option<String>,
    pub prepare: Option<Prepare<'a>>,
    pub extras: Extras,
    /// Repair: nodes whose units are to be started again, nodes to replace.
    pub restart: Vec<String>,
    pub replace: Vec<String>,
    /// Repair: nodes can be replaced from the snapshot.
    pub from_snapshot: bool,
}

impl<'a> Job<'a> {
    /// A job for `image` with `fields`, the nodes started from the node image.
    pub fn new(nodes: usize, image: &'a NodeImageRef, fields: SnapshotFields) -> Job<'a> {
        Job {
            image,
            fields,
            node_images: vec![image.reference.clone(); nodes],
            api_port: None,
            api_port_may_change: false,
            known_mode: None,
            mode: None,
            wait_boot: true,
            since: None,
            prepare: None,
            extras: Extras::default(),
            restart: Vec::new(),
            replace: Vec::new(),
            from_snapshot: false,
        }
    }

    /// A repair of what `path` ([`UpPath::Repair`]) says is broken, from the
    /// snapshot's images.
    pub fn for_repair(&mut self, plan: &ClusterPlan, path: &UpPath) {
        if let UpPath::Repair {
            restart,
            replace,
            from_snapshot,
            api_port,
            run_mode,
        } = path
        {
            self.node_images = snapshot::node_images(plan);
            self.api_port = *api_port;
            self.known_mode = *run_mode;
            self.restart = restart.clone();
            self.replace = replace.clone();
            self.from_snapshot = *from_snapshot;
        }
    }

    /// A restore ([`UpPath::Restore`]) from the snapshot's images.
    pub fn for_restore(&mut self, plan: &ClusterPlan, path: &UpPath) {
        if let UpPath::Restore { api_port, run_mode } = path {
            self.node_images = snapshot::node_images(plan);
            // Keep the port admin.conf already names, unless the settings
            // say otherwise; only a snapshot's port gives way when taken.
            self.api_port = plan.apiserver_port.or(*api_port);
            self.api_port_may_change = plan.apiserver_port.is_none();
            self.known_mode = *run_mode;
            self.wait_boot = false;
        }
    }

    pub fn fingerprint(&self) -> String {
        self.fields.fingerprint()
    }

    /// How the nodes run, once decided.
    pub fn mode(&self) -> RunMode {
        self.mode
            .expect("the run mode is decided before nodes are started")
    }
}

/// Run `steps` in order; the first failure ends the path. At `--v 2` each
/// step's time is noted, with when it ended since the path began: the
/// timeline of a restore or a new cluster.
pub async fn run<E: Engine>(
    cx: Ctx<'_, E>,
    steps: &[&dyn Step<E>],
    job: &mut Job<'_>,
) -> Result<()> {
    let path = Instant::now();
    for step in steps {
        let start = Instant::now();
        step.run(cx, job).await?;
        cx.ui.note(format!(
            "step {}: {} (at {})",
            step.name(),
            seconds(start.elapsed()),
            seconds(path.elapsed())
        ));
    }
    Ok(())
}
