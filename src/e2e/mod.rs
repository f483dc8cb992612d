//! `e2e` and `e2e-serial`: Kubernetes' own conformance tests against the
//! running cluster.
//!
//! - [`binaries`]: `e2e.test` and `ginkgo` for the cluster's version, from the
//!   official test tarball or built from the Go module, cached.
//! - [`images`]: every image the tests ask for, under the exact name the test
//!   binary prints with `--list-images`, pulled or built locally, and imported
//!   into the nodes.
//! - [`select`]: which tests a run selects, as ginkgo arguments; [`run`]:
//!   ginkgo with live counts and Ctrl-C handling; [`progress`], [`report`]:
//!   reading its console output and its JSON report.

pub mod binaries;
mod error;
pub mod images;
pub mod progress;
pub mod report;
pub mod run;
pub mod select;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use error::E2eError;
pub use select::{Selection, Suite};

use crate::artifacts::Cache;
use crate::cluster::steps::images as load;
use crate::cluster::steps::node_ops::NodeOp;
use crate::cluster::Ctx;
use crate::engine::Engine;
use crate::images::BuildContext;
use crate::labels::{LABEL_CLUSTER, LABEL_KUBERNETES_VERSION, LABEL_ROLE, ROLE_NODE};
use crate::registry;
use crate::settings::{ImageSourceSetting, KubeVersion};
use binaries::{TestBinaries, TestBinaryPlan};
use report::Summary;
use select::RunPaths;

/// What a run needs besides the cluster.
pub struct E2eInputs<'a> {
    pub binaries: TestBinaryPlan,
    pub cache: &'a Cache,
    /// ginkgo processes for the parallel suite.
    pub procs: u32,
    /// The nodes' architecture: of the test images, and for tests that ask.
    pub node_arch: String,
    pub image_source: ImageSourceSetting,
    pub debian_mirror: String,
    /// `cluster.registryPort`, for the cluster's registry.
    pub registry_port: Option<u16>,
}

/// The outcome and where its files are.
pub struct Outcome {
    pub summary: Summary,
    pub results: PathBuf,
    pub failure_logs: Vec<PathBuf>,
    pub interrupted: bool,
}

/// The Kubernetes version of the running cluster, as its API server says
/// (the master's image label when it does not answer); an error naming the
/// cluster when it is not running.
pub async fn running_version<E: Engine>(cx: Ctx<'_, E>) -> Result<KubeVersion, E2eError> {
    let not_running = || E2eError::NotRunning {
        cluster: cx.plan.name.clone(),
        flag: cx.plan.cluster_flag(),
    };
    let nodes = cx
        .engine
        .list_containers(&[(LABEL_CLUSTER, &cx.plan.name), (LABEL_ROLE, ROLE_NODE)])
        .await?;
    let master = &cx.plan.master().container;
    let Some(master) = nodes.iter().find(|c| &c.name == master) else {
        return Err(not_running());
    };
    if nodes
        .iter()
        .any(|c| c.state != crate::engine::ContainerState::Running)
    {
        return Err(not_running());
    }
    // What the API server runs: after `reup` it is the tree's build, which
    // the label (the version the nodes were made with) does not know.
    let serving = cx
        .kubectl()
        .json_of::<KubectlVersion>(NodeOp::ServerVersion, &["version"])
        .await
        .ok()
        .and_then(|v| v.server_version)
        .and_then(|v| v.git_version.parse().ok());
    let made_with = || {
        master
            .labels
            .get(LABEL_KUBERNETES_VERSION)
            .and_then(|v| v.parse().ok())
    };
    // An API server that does not answer fails the tests on its own.
    serving.or_else(made_with).ok_or_else(not_running)
}

/// What `kubectl version -o json` says, as far as it is read here.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct KubectlVersion {
    server_version: Option<GitVersion>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GitVersion {
    git_version: String,
}

/// Get the binaries and images ready, run the selection, and read the outcome.
pub async fn run<E: Engine>(
    cx: Ctx<'_, E>,
    inputs: &E2eInputs<'_>,
    selection: &Selection,
) -> Result<Outcome, E2eError> {
    let ui = cx.ui;
    let binaries = get_binaries(ui, inputs).await?;
    ensure_images(cx, inputs, &binaries).await?;

    let results = results_dir(&cx.plan.home_dir, selection.suite);
    // Private: the logs can show tokens. The home directory first, which an
    // older version made 0755.
    for dir in [&cx.plan.home_dir, &results] {
        crate::private::dir(dir).map_err(E2eError::io("creating", dir))?;
    }
    let kubeconfig = cx.plan.admin_conf();
    let paths = RunPaths {
        e2e_test: &binaries.e2e_test,
        kubeconfig: &kubeconfig,
        results: &results,
    };
    let args = selection.ginkgo_args(&paths, inputs.procs, &inputs.node_arch);
    let what = match (&selection.substring, selection.suite) {
        (None, Suite::Parallel) => "conformance tests".to_string(),
        (None, Suite::Serial) => "serial conformance tests".to_string(),
        (Some(s), Suite::Parallel) => format!("tests matching {s:?}"),
        (Some(s), Suite::Serial) => format!("serial tests matching {s:?}"),
    };
    let how = match selection.suite {
        Suite::Parallel => format!("on {} processes", inputs.procs),
        Suite::Serial => "one at a time".to_string(),
    };
    let step = ui.step(format!("Running the {what} {how}"));
    ui.note(format!(
        "ginkgo {}",
        args.iter()
            .map(|a| shell_word(a))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let finished = run::ginkgo(&binaries.ginkgo, &args, &results, ui, &step).await?;
    let report_path = results.join(select::JSON_REPORT);
    if !report_path.exists() {
        let (log, tail) = log_tail(&results);
        return Err(E2eError::NoReport {
            status: finished.status,
            log,
            tail,
        });
    }
    let summary = report::read(&report_path)?;
    if summary.nothing_to_blame() && !finished.interrupted {
        // E.g. flags ginkgo rejects: only its output says why.
        let (log, tail) = log_tail(&results);
        return Err(E2eError::NothingRan {
            status: finished.status,
            log,
            tail,
        });
    }
    if summary.ok() {
        step.done();
    } else {
        // Marked failed: the summary that follows says what went wrong.
        drop(step);
    }
    let failure_logs = report::write_failure_logs(&summary, &results.join("failed"))?;
    if finished.interrupted {
        remove_test_namespaces(cx).await;
    }
    Ok(Outcome {
        summary,
        results,
        failure_logs,
        interrupted: finished.interrupted,
    })
}

/// The test binaries and an archive of every image the tests run, made
/// (or fetched) into the cache without a cluster: what `e2e` gets first,
/// done ahead (`build e2e`). Returns how many images are ready.
pub async fn prepare<E: Engine>(
    engine: &E,
    ui: &crate::ui::Ui,
    inputs: &E2eInputs<'_>,
) -> Result<usize, E2eError> {
    let binaries = get_binaries(ui, inputs).await?;
    let step = ui.step("Listing the images the tests use");
    let wanted = list_images(&binaries, ui).await?;
    step.done();
    let prepared = prepare_images(engine, ui, inputs, &wanted, &[]).await?;
    Ok(prepared.archives.len())
}

async fn get_binaries(
    ui: &crate::ui::Ui,
    inputs: &E2eInputs<'_>,
) -> Result<TestBinaries, E2eError> {
    let step = ui.step(format!(
        "Getting the test binaries for Kubernetes {}",
        inputs.binaries.version
    ));
    let binaries = binaries::ensure(&inputs.binaries, inputs.cache, ui).await?;
    step.done();
    ui.note(format!("e2e.test and ginkgo: {}", binaries.origin));
    Ok(binaries)
}

/// The archives of the images in `wanted` that `present` (the nodes'
/// images) lacks, pulled or built into the cache.
async fn prepare_images<E: Engine>(
    engine: &E,
    ui: &crate::ui::Ui,
    inputs: &E2eInputs<'_>,
    wanted: &[String],
    present: &[String],
) -> Result<images::Prepared, E2eError> {
    let prepared = images::prepare(
        &images::Inputs {
            build: BuildContext {
                engine,
                ui,
                cache: inputs.cache,
                arch: &inputs.node_arch,
                image_source: inputs.image_source,
                debian_mirror: &inputs.debian_mirror,
            },
            kubernetes_version: &inputs.binaries.images_version(),
            node_images: present,
        },
        wanted,
    )
    .await?;
    for (reference, why) in &prepared.skipped {
        ui.note(format!("not made: {reference} ({why})"));
    }
    Ok(prepared)
}

/// Where the test images' names point; the cluster's registry mirrors it.
const TEST_IMAGE_REGISTRY: &str = "registry.k8s.io";

/// Where each node notes which build of each test image it holds (in /var,
/// which is a volume, like containerd's images: both survive `down` + `up`).
const IMPORTED_RECORD: &str = "/var/lib/kubeadm-local-cluster/e2e-images";

/// Every image the tests run, in every node under the name the test binary
/// asks for, and in the cluster's registry. They are made (or pulled) first
/// (quick when cached), then imported where a node lacks the reference or
/// holds another build of it, so a changed image replaces the old one.
async fn ensure_images<E: Engine>(
    cx: Ctx<'_, E>,
    inputs: &E2eInputs<'_>,
    binaries: &TestBinaries,
) -> Result<(), E2eError> {
    let ui = cx.ui;
    let step = ui.step("Listing the images the tests use");
    let wanted = list_images(binaries, ui).await?;
    let present: Vec<String> = load::images_in_all_nodes(cx).await?.into_iter().collect();
    step.done();
    let prepared = prepare_images(cx.engine, ui, inputs, &wanted, &present).await?;
    let record = imported_record(cx).await?;
    let stale: Vec<&images::Archive> = prepared
        .archives
        .iter()
        .filter(|a| {
            a.references.iter().any(|r| {
                !present.contains(r) || record.get(r) != Some(&a.path.display().to_string())
            })
        })
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    // A few tests pull with PullPolicy Always (ImageVolume: kitten;
    // PodCertificate: agnhost), which the images in the nodes cannot answer:
    // the cluster's registry holds them too, as a mirror of registry.k8s.io.
    let step = ui.step("Starting the cluster's registry as a mirror of registry.k8s.io");
    let plan = registry::ImagePlan {
        source: inputs.image_source,
        cache: inputs.cache,
    };
    let reg = registry::ensure(cx, inputs.registry_port, &plan).await?;
    registry::mirror(cx, TEST_IMAGE_REGISTRY).await?;
    step.done();
    let total = stale.len();
    let step = ui.step(format!(
        "Importing {total} test images into the nodes and the registry"
    ));
    let mut lines = String::new();
    for (i, archive) in stale.iter().enumerate() {
        step.progress(format!(
            "{}/{total}: {}",
            i + 1,
            archive.references.join(", ")
        ));
        load::import_archive(cx, &archive.path).await?;
        registry::push_archive(cx, &reg, &archive.path, &archive.references).await?;
        for r in &archive.references {
            lines.push_str(&format!("{r} {}\n", archive.path.display()));
        }
    }
    let nodes = cx.node_containers().await?;
    for node in nodes.keys() {
        let script = format!(
            "mkdir -p \"$(dirname {IMPORTED_RECORD})\" && cat >> {IMPORTED_RECORD} <<'EOF'\n{lines}EOF"
        );
        cx.engine.sh(node, &script).await?;
    }
    step.done();
    Ok(())
}

/// reference → the archive last imported for it, as every node agrees (a
/// node that lacks the record, or says otherwise, makes it unknown).
async fn imported_record<E: Engine>(
    cx: Ctx<'_, E>,
) -> Result<std::collections::BTreeMap<String, String>, E2eError> {
    let mut agreed: Option<std::collections::BTreeMap<String, String>> = None;
    for node in cx.node_containers().await?.keys() {
        let text = cx
            .engine
            .sh(node, &format!("cat {IMPORTED_RECORD} 2>/dev/null || true"))
            .await?;
        // Later lines win: the file is appended to.
        let here: std::collections::BTreeMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(r, a)| (r.to_string(), a.to_string()))
            .collect();
        agreed = Some(match agreed {
            None => here,
            Some(before) => before
                .into_iter()
                .filter(|(r, a)| here.get(r) == Some(a))
                .collect(),
        });
    }
    Ok(agreed.unwrap_or_default())
}

/// `e2e.test --list-images`: every image the test binary may ask for.
pub async fn list_images(
    binaries: &TestBinaries,
    ui: &crate::ui::Ui,
) -> Result<Vec<String>, E2eError> {
    let mut cmd = tokio::process::Command::new(&binaries.e2e_test);
    cmd.arg("--list-images");
    let out = crate::process::output(ui, cmd, "e2e.test comes with the test binaries.")
        .await
        .map_err(E2eError::ListImages)?;
    let mut images: Vec<String> = out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains(' '))
        .map(String::from)
        .collect();
    images.sort();
    images.dedup();
    Ok(images)
}

/// A new folder per run: `<cluster home>/e2e/<suite>-<UTC time>`.
fn results_dir(home: &Path, suite: Suite) -> PathBuf {
    let stamp = crate::time::rfc3339(SystemTime::now()).replace(':', "");
    home.join("e2e")
        .join(format!("{}-{stamp}", suite.command()))
}

/// ginkgo's log in the results folder and its last lines.
fn log_tail(results: &Path) -> (PathBuf, String) {
    let log = results.join(run::LOG_FILE);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    (log, tail)
}

/// After an interrupted run: namespaces of tests that had no time to clean up.
async fn remove_test_namespaces<E: Engine>(cx: Ctx<'_, E>) {
    let step = cx.ui.step("Removing the namespaces the stopped tests left");
    match cx
        .kubectl()
        .run(&["delete", "namespace", "-l", "e2e-framework", "--wait=false"])
        .await
    {
        Ok(_) => {
            step.done();
        }
        Err(e) => {
            drop(step);
            cx.ui.warn(format!(
                "could not remove them ({}); `kubectl delete namespace -l e2e-framework` does",
                crate::error::chain(&e)
            ));
        }
    }
}

/// Quote an argument for a shell when it needs it, for the command shown.
fn shell_word(arg: &str) -> String {
    if arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_=./:,".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::tests::cluster_c;
    use crate::engine::fake::FakeEngine;
    use crate::engine::{ContainerSpec, Containers, ExecOutput};
    use crate::ui::Ui;

    async fn node(engine: &FakeEngine, plan: &crate::cluster::state::plan::ClusterPlan, i: usize) {
        let spec = ContainerSpec {
            name: plan.nodes[i].container.clone(),
            image: "node:v1".into(),
            labels: [
                (LABEL_CLUSTER.to_string(), plan.name.clone()),
                (LABEL_ROLE.to_string(), ROLE_NODE.to_string()),
            ]
            .into(),
            ..Default::default()
        };
        engine.create_container(&spec).await.unwrap();
        engine.start_container(&spec.name).await.unwrap();
    }

    #[tokio::test]
    async fn the_version_comes_from_the_running_cluster_or_it_is_refused() {
        let engine = FakeEngine::new();
        engine.add_image(
            &["node:v1"],
            &[(LABEL_KUBERNETES_VERSION, "v1.36.3")],
            Default::default(),
        );
        let plan = cluster_c(&[]);
        let ui = Ui::recording(1);
        let cx = Ctx::new(&engine, &plan, &ui);
        let refused = running_version(cx).await.unwrap_err();
        assert!(
            refused.to_string().contains(
                "cluster \"c\" is not running; start it with `local-cluster up --cluster-name c`"
            ),
            "{refused}"
        );
        for i in 0..plan.nodes.len() {
            node(&engine, &plan, i).await;
        }
        assert_eq!(running_version(cx).await.unwrap().to_string(), "v1.36.3");
        // After reup the API server runs a tree's build: its word counts.
        engine.on_op(NodeOp::ServerVersion.name(), |_| ExecOutput {
            stdout: br#"{"clientVersion": {"gitVersion": "v1.36.3"},
                "serverVersion": {"gitVersion": "v1.36.3-dirty", "gitTreeState": "dirty"}}"#
                .to_vec(),
            ..Default::default()
        });
        assert_eq!(
            running_version(cx).await.unwrap().to_string(),
            "v1.36.3-dirty"
        );
        engine.stop(&plan.nodes[1].container);
        assert!(matches!(
            running_version(cx).await,
            Err(E2eError::NotRunning { .. })
        ));
    }
}
