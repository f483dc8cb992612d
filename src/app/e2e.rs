//! `e2e` and `e2e-serial`.

use std::path::Path;

use anyhow::{bail, Result};

use super::images::node_arch;
use super::{connect, plan_without_version};
use crate::artifacts::Cache;
use crate::cluster::state::plan::ClusterPlan;
use crate::cluster::Ctx;
use crate::e2e::{self, binaries::TestTree, E2eError};
use crate::engine::Engine;
use crate::output;
use crate::settings::{is_kubernetes_tree, Key, KubeVersion, Settings};
use crate::source;
use crate::ui::{seconds, Ui};

/// `e2e` (parallel) or `e2e-serial`: Kubernetes' conformance tests (or the
/// tests the selection names) against the running cluster.
pub async fn e2e(settings: &Settings, ui: &Ui, selection: e2e::Selection) -> Result<()> {
    let engine = connect(settings, ui).await?;
    e2e_on(settings, ui, &engine, selection).await
}

/// `e2e` against the cluster on `engine`.
async fn e2e_on<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
    selection: e2e::Selection,
) -> Result<()> {
    // The cluster decides the version; the settings only name the cluster.
    let version =
        e2e::running_version(Ctx::new(engine, &plan_without_version(settings), ui)).await?;
    let plan = ClusterPlan::new(settings, version.clone());
    let cx = Ctx::new(engine, &plan, ui);
    let cache = Cache::new(&settings.cache_dir);
    let inputs = inputs(settings, ui, engine, &cache, version).await?;
    let outcome = e2e::run(cx, &inputs, &selection).await?;
    print_e2e_outcome(&outcome)?;
    let s = &outcome.summary;
    if outcome.interrupted {
        bail!(
            "the tests were stopped; results so far are in {}",
            outcome.results.display()
        );
    }
    if s.selected == 0 && s.suite_problems.is_empty() {
        bail!("{}", selection.nothing_selected());
    }
    if !s.ok() {
        bail!(
            "{} of {} tests failed{}; results in {}",
            s.failed.len(),
            s.selected,
            if s.not_run > 0 {
                format!(", {} did not run", s.not_run)
            } else {
                String::new()
            },
            outcome.results.display()
        );
    }
    Ok(())
}

/// `build e2e`: the test binaries and the images the tests run, for the
/// version `up` would make, into the cache ahead of a cluster (CI can make
/// them while something else runs; `e2e` then only imports them).
pub async fn build_e2e(settings: &Settings, ui: &Ui) -> Result<()> {
    let engine = connect(settings, ui).await?;
    build_e2e_on(settings, ui, &engine).await
}

async fn build_e2e_on<E: Engine>(settings: &Settings, ui: &Ui, engine: &E) -> Result<()> {
    let start = std::time::Instant::now();
    let version = super::images::versions(settings, ui).await?.cluster();
    let cache = Cache::new(&settings.cache_dir);
    let inputs = inputs(settings, ui, engine, &cache, version).await?;
    let images = e2e::prepare(engine, ui, &inputs).await?;
    ui.info(format!(
        "The tests of Kubernetes {} and {images} test images are ready ({}).",
        inputs.binaries.version,
        seconds(start.elapsed())
    ));
    Ok(())
}

/// What the tests of `version` need, from the settings and the engine.
async fn inputs<'c, E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
    cache: &'c Cache,
    version: KubeVersion,
) -> Result<e2e::E2eInputs<'c>, E2eError> {
    let tree = test_tree(
        ui,
        &settings.cluster_name,
        &version,
        &settings.k8s_dir,
        settings.provenance.source(Key::K8sDir).to_string(),
    )
    .await?;
    Ok(e2e::E2eInputs {
        binaries: e2e::binaries::TestBinaryPlan {
            version,
            source: settings.kubernetes_source,
            release_url: settings.release_url.clone(),
            tree,
        },
        cache,
        procs: e2e_procs(),
        node_arch: node_arch(settings, engine.info()),
        image_source: settings.image_source,
        debian_mirror: settings.debian_mirror.clone(),
        registry_port: settings.registry_port,
    })
}

/// The source tree whose tests a cluster built from a tree runs: the tree
/// at `dir` (`source.k8sDir`, set from `setting_source`), which must be of
/// the version the cluster runs. None for a cluster of a release.
async fn test_tree(
    ui: &Ui,
    cluster: &str,
    running: &KubeVersion,
    dir: &Path,
    setting_source: String,
) -> Result<Option<TestTree>, E2eError> {
    if running.is_release() {
        return Ok(None);
    }
    let other = |tree: String| E2eError::OtherTree {
        cluster: cluster.to_string(),
        running: running.to_string(),
        dir: dir.to_path_buf(),
        setting_source: setting_source.clone(),
        tree,
    };
    if !is_kubernetes_tree(dir) {
        let why = "not a Kubernetes source tree (no go.mod with `module k8s.io/kubernetes`)";
        return Err(other(why.to_string()));
    }
    // A tree without git history is taken at the cluster's own release.
    let tree = source::version::of_tree(ui, dir, &running.release_base())
        .await
        .map_err(E2eError::TreeVersion)?;
    if tree.version() != running {
        return Err(other(format!("{} ({})", tree.version(), tree.how)));
    }
    Ok(Some(TestTree {
        dir: dir.to_path_buf(),
        stamp: tree.stamp,
    }))
}

/// ginkgo processes for the parallel suite: most tests wait on the cluster
/// rather than compute, so twice the cores, kept small enough for a cluster
/// that shares this machine.
fn e2e_procs() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    (cores * 2).clamp(2, 8)
}

fn print_e2e_outcome(outcome: &e2e::Outcome) -> Result<(), output::WriteError> {
    let s = &outcome.summary;
    if s.dry_run {
        output::line(format_args!(
            "Dry run: {} tests selected, none ran{}",
            s.listed.len(),
            if s.listed.is_empty() { "." } else { ":" }
        ))?;
        for name in &s.listed {
            output::line(format_args!("  {name}"))?;
        }
        return output::line(format_args!(
            "Results (ginkgo's JSON report and log): {}",
            outcome.results.display()
        ));
    }
    output::line(format_args!(
        "Ran {} of {} selected tests in {}: {} passed, {} failed, {} skipped{}.",
        s.ran,
        s.selected,
        seconds(s.run_time),
        s.passed,
        s.failed.len(),
        s.skipped,
        if s.not_run > 0 {
            format!(", {} not run", s.not_run)
        } else {
            String::new()
        }
    ))?;
    for problem in &s.suite_problems {
        output::line(format_args!("Suite: {problem}"))?;
    }
    for (f, log) in s.failed.iter().zip(&outcome.failure_logs) {
        output::line(format_args!(
            "  [{}] {}
      {}",
            f.state.to_uppercase(),
            f.name,
            log.display()
        ))?;
    }
    output::line(format_args!(
        "Results (JUnit XML, ginkgo's JSON report and log): {}",
        outcome.results.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_for(running: &str, dir: &Path) -> Result<Option<TestTree>, E2eError> {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let ui = Ui::recording(1);
        let running: KubeVersion = running.parse().unwrap();
        rt.block_on(test_tree(
            &ui,
            "kube",
            &running,
            dir,
            "flag --k8s-dir".into(),
        ))
    }

    #[test]
    fn a_tree_build_runs_the_tests_of_its_own_tree_and_a_release_the_published_ones() {
        let dir = tempfile::tempdir().unwrap();
        // A release needs no tree, whatever the setting names.
        assert!(tree_for("v1.37.2", dir.path()).unwrap().is_none());
        // A tree's build needs a tree.
        let err = tree_for("v1.37.2-dirty", dir.path())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("runs Kubernetes v1.37.2-dirty, a build of a source tree")
                && err.contains(
                    "(source.k8sDir, from flag --k8s-dir) is not a Kubernetes source tree"
                ),
            "{err}"
        );
        // A tree without git history is the cluster's release, -dirty.
        std::fs::write(dir.path().join("go.mod"), "module k8s.io/kubernetes\n").unwrap();
        let tree = tree_for("v1.37.2-dirty", dir.path()).unwrap().unwrap();
        assert_eq!(
            (tree.dir.as_path(), tree.stamp.version.to_string().as_str()),
            (dir.path(), "v1.37.2-dirty")
        );
        // Another build than the cluster's is refused, saying both.
        let err = tree_for("v1.37.2-5+0123456789abcd", dir.path())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("runs Kubernetes v1.37.2-5+0123456789abcd")
                && err.contains("is v1.37.2-dirty ("),
            "{err}"
        );
    }
}
