//! `e2e` and `e2e-serial`.

use anyhow::{bail, Result};

use super::{connect, node_arch, plan_without_version};
use crate::artifacts::Cache;
use crate::cluster::plan::ClusterPlan;
use crate::cluster::Ctx;
use crate::e2e;
use crate::engine::Engine;
use crate::output;
use crate::settings::Settings;
use crate::ui::{seconds, Ui};

/// `e2e` (parallel) or `e2e-serial`: Kubernetes' conformance tests (or the
/// tests the selection names) against the running cluster.
pub async fn e2e(settings: &Settings, ui: &Ui, selection: e2e::Selection) -> Result<()> {
    let engine = connect(settings, ui).await?;
    // The cluster decides the version; the settings only name the cluster.
    let version =
        e2e::running_version(Ctx::new(&engine, &plan_without_version(settings), ui)).await?;
    let plan = ClusterPlan::new(settings, version.clone());
    let cx = Ctx::new(&engine, &plan, ui);
    let cache = Cache::new(&settings.cache_dir);
    let inputs = e2e::E2eInputs {
        binaries: e2e::binaries::TestBinaryPlan {
            version,
            source: settings.kubernetes_source,
            release_url: settings.release_url.clone(),
        },
        cache: &cache,
        procs: e2e_procs(),
        node_arch: node_arch(settings, engine.info()),
        image_source: settings.image_source,
        debian_mirror: settings.debian_mirror.clone(),
        registry_port: settings.registry_port,
    };
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
