//! The outcome of a run, read from ginkgo's JSON report: counts, the failed
//! tests with their logs, and why the suite failed when no test did.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::E2eError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SuiteJson {
    suite_succeeded: bool,
    #[serde(default)]
    suite_config: SuiteConfig,
    #[serde(default)]
    special_suite_failure_reasons: Option<Vec<String>>,
    pre_run_stats: PreRunStats,
    #[serde(default)]
    run_time: u64,
    #[serde(default)]
    spec_reports: Option<Vec<SpecJson>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct SuiteConfig {
    #[serde(default)]
    dry_run: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PreRunStats {
    specs_that_will_run: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SpecJson {
    #[serde(default)]
    container_hierarchy_texts: Option<Vec<String>>,
    leaf_node_type: String,
    #[serde(default)]
    leaf_node_text: String,
    #[serde(default)]
    leaf_node_location: Option<Location>,
    state: String,
    #[serde(default)]
    run_time: u64,
    #[serde(default)]
    failure: Option<FailureJson>,
    #[serde(default)]
    captured_ginkgo_writer_output: String,
    #[serde(default)]
    captured_std_out_err: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FailureJson {
    #[serde(default)]
    message: String,
    #[serde(default)]
    location: Option<Location>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Location {
    file_name: String,
    line_number: u64,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file_name, self.line_number)
    }
}

/// A test (or suite-level node) that did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub name: String,
    /// ginkgo's word: failed, timedout, panicked, interrupted, aborted.
    pub state: String,
    pub message: String,
    /// The full log, for the results folder.
    pub log: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Tests the selection chose.
    pub selected: u64,
    /// Tests that ran (passed, failed or skipped themselves).
    pub ran: u64,
    pub passed: u64,
    /// Tests that skipped themselves (the cluster lacks what they need).
    pub skipped: u64,
    pub failed: Vec<Failed>,
    /// Selected tests that never ran (the run was interrupted or aborted).
    pub not_run: u64,
    /// Why ginkgo failed the suite beyond failed tests (e.g. a timeout, an interrupt).
    pub suite_problems: Vec<String>,
    pub succeeded: bool,
    pub run_time: Duration,
    /// ginkgo only listed the selection (a dry run): nothing ran.
    pub dry_run: bool,
    /// In a dry run, the full names of the tests that would run.
    pub listed: Vec<String>,
}

impl Summary {
    /// Nothing failed, nothing was left out, and ginkgo agrees.
    pub fn ok(&self) -> bool {
        self.succeeded && self.failed.is_empty() && self.not_run == 0
    }

    /// ginkgo failed the suite, yet no test ran, failed or was left out and
    /// it names no reason: it stopped before the run (its output says why).
    pub fn nothing_to_blame(&self) -> bool {
        !self.succeeded
            && self.selected == 0
            && self.failed.is_empty()
            && self.suite_problems.is_empty()
    }
}

/// Read ginkgo's JSON report.
pub fn read(path: &Path) -> Result<Summary, E2eError> {
    let text = std::fs::read(path).map_err(E2eError::io("reading the test report", path))?;
    parse(&text).map_err(|source| E2eError::Report {
        path: path.to_path_buf(),
        source,
    })
}

fn parse(json: &[u8]) -> Result<Summary, serde_json::Error> {
    let suites: Vec<SuiteJson> = serde_json::from_slice(json)?;
    let mut summary = Summary {
        selected: 0,
        ran: 0,
        passed: 0,
        skipped: 0,
        failed: Vec::new(),
        not_run: 0,
        suite_problems: Vec::new(),
        succeeded: !suites.is_empty(),
        run_time: Duration::ZERO,
        dry_run: false,
        listed: Vec::new(),
    };
    for suite in suites {
        if suite.suite_config.dry_run {
            // Every selected test is reported passed without running.
            summary.dry_run = true;
            summary.selected += suite.pre_run_stats.specs_that_will_run;
            summary.succeeded &= suite.suite_succeeded;
            summary.listed.extend(
                suite
                    .spec_reports
                    .into_iter()
                    .flatten()
                    .filter(|s| s.leaf_node_type == "It" && s.state == "passed")
                    .map(|s| spec_name(&s)),
            );
            continue;
        }
        summary.selected += suite.pre_run_stats.specs_that_will_run;
        summary.succeeded &= suite.suite_succeeded;
        summary.run_time += Duration::from_nanos(suite.run_time);
        summary
            .suite_problems
            .extend(suite.special_suite_failure_reasons.into_iter().flatten());
        let mut ran = 0;
        for spec in suite.spec_reports.into_iter().flatten() {
            let is_test = spec.leaf_node_type == "It";
            match spec.state.as_str() {
                "passed" if is_test => {
                    summary.passed += 1;
                    ran += 1;
                }
                // Filtered out by the selection: no failure, never started.
                "skipped" if spec.failure.is_none() && spec.run_time == 0 => {}
                "skipped" | "pending" if is_test => {
                    summary.skipped += 1;
                    ran += 1;
                }
                "passed" | "skipped" | "pending" => {}
                _ => {
                    ran += u64::from(is_test);
                    summary.failed.push(failed(spec));
                }
            }
        }
        summary.ran += ran;
        summary.not_run += suite.pre_run_stats.specs_that_will_run.saturating_sub(ran);
    }
    Ok(summary)
}

/// The test's full name, as ginkgo's focus matches it.
fn spec_name(spec: &SpecJson) -> String {
    let mut name: Vec<String> = spec.container_hierarchy_texts.clone().unwrap_or_default();
    if spec.leaf_node_type == "It" {
        name.push(spec.leaf_node_text.clone());
    } else {
        // A suite-level node, e.g. [SynchronizedBeforeSuite].
        name.push(format!("[{}]", spec.leaf_node_type));
    }
    name.join(" ")
}

fn failed(spec: SpecJson) -> Failed {
    let name = spec_name(&spec);
    let (message, location) = match spec.failure {
        Some(f) => (f.message, f.location),
        None => (String::new(), None),
    };
    let mut log = format!("{name}\n{}", spec.state.to_uppercase());
    if let Some(at) = &spec.leaf_node_location {
        log.push_str(&format!(" (test at {at})"));
    }
    log.push_str(&format!(
        " after {:.1}s\n\n",
        Duration::from_nanos(spec.run_time).as_secs_f64()
    ));
    log.push_str(&message);
    if let Some(at) = location {
        log.push_str(&format!("\nat {at}"));
    }
    for (title, text) in [
        ("Log", &spec.captured_ginkgo_writer_output),
        ("Standard output and error", &spec.captured_std_out_err),
    ] {
        if !text.is_empty() {
            log.push_str(&format!("\n\n--- {title} ---\n{text}"));
        }
    }
    Failed {
        name,
        state: spec.state,
        message,
        log,
    }
}

/// Write one file per failed test under `dir`; returns their paths.
pub fn write_failure_logs(summary: &Summary, dir: &Path) -> Result<Vec<PathBuf>, E2eError> {
    let mut paths = Vec::new();
    if summary.failed.is_empty() {
        return Ok(paths);
    }
    crate::private::dir(dir).map_err(E2eError::io("creating", dir))?;
    for (i, f) in summary.failed.iter().enumerate() {
        let path = dir.join(format!("{:03}-{}.log", i + 1, slug(&f.name)));
        crate::private::write(&path, &f.log).map_err(E2eError::io("writing", &path))?;
        paths.push(path);
    }
    Ok(paths)
}

/// A file-name-safe short form of a test name.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: &str, text: &str, state: &str, run_time: u64, failure: Option<&str>) -> String {
        let failure = match failure {
            Some(m) => format!(
                r#","Failure":{{"Message":"{m}","Location":{{"FileName":"dns.go","LineNumber":152}}}}"#
            ),
            None => String::new(),
        };
        format!(
            r#"{{"ContainerHierarchyTexts":["[sig-network] DNS"],"LeafNodeType":"{kind}","LeafNodeText":"{text}","State":"{state}","RunTime":{run_time},"CapturedGinkgoWriterOutput":"step one\n"{failure}}}"#
        )
    }

    fn report(will_run: u64, succeeded: bool, reasons: &str, specs: &[String]) -> String {
        format!(
            r#"[{{"SuiteSucceeded":{succeeded},"SpecialSuiteFailureReasons":{reasons},"PreRunStats":{{"TotalSpecs":3206,"SpecsThatWillRun":{will_run}}},"RunTime":40000000000,"SpecReports":[{}]}}]"#,
            specs.join(",")
        )
    }

    #[test]
    fn counts_passed_failed_and_self_skipped_tests_but_not_filtered_ones() {
        let json = report(
            4,
            false,
            "null",
            &[
                spec("It", "a", "passed", 5, None),
                spec("It", "b", "timedout", 9, Some("A suite timeout occurred")),
                spec(
                    "It",
                    "c",
                    "skipped",
                    3,
                    Some("Only supported for providers [gce]"),
                ),
                spec("It", "filtered", "skipped", 0, None),
                spec("It", "d", "passed", 5, None),
                spec("SynchronizedBeforeSuite", "", "passed", 1, None),
            ],
        );
        let s = parse(json.as_bytes()).unwrap();
        assert_eq!(
            (s.selected, s.ran, s.passed, s.skipped, s.not_run),
            (4, 4, 2, 1, 0)
        );
        assert_eq!(s.failed.len(), 1);
        let f = &s.failed[0];
        assert_eq!(f.name, "[sig-network] DNS b");
        assert_eq!(f.state, "timedout");
        assert!(
            f.log.contains("A suite timeout occurred\nat dns.go:152"),
            "{}",
            f.log
        );
        assert!(f.log.contains("--- Log ---\nstep one"), "{}", f.log);
        assert!(!s.ok());
    }

    #[test]
    fn a_clean_run_is_ok_and_an_interrupted_one_is_not() {
        let clean = report(1, true, "null", &[spec("It", "a", "passed", 5, None)]);
        assert!(parse(clean.as_bytes()).unwrap().ok());
        let interrupted = report(
            3,
            false,
            r#"["Interrupted by User"]"#,
            &[spec("It", "a", "passed", 5, None)],
        );
        let s = parse(interrupted.as_bytes()).unwrap();
        assert_eq!(s.not_run, 2);
        assert_eq!(s.suite_problems, ["Interrupted by User"]);
        assert!(!s.ok());
    }

    #[test]
    fn a_dry_run_lists_the_selected_tests_and_counts_none_as_run() {
        let json = report(
            2,
            true,
            "null",
            &[
                spec("It", "a", "passed", 0, None),
                spec("It", "filtered", "skipped", 0, None),
                spec("It", "b", "passed", 0, None),
                spec("SynchronizedBeforeSuite", "", "passed", 0, None),
            ],
        )
        .replacen(
            r#""SuiteSucceeded":true,"#,
            r#""SuiteSucceeded":true,"SuiteConfig":{"DryRun":true},"#,
            1,
        );
        let s = parse(json.as_bytes()).unwrap();
        assert!(s.dry_run);
        assert_eq!(s.listed, ["[sig-network] DNS a", "[sig-network] DNS b"]);
        assert_eq!((s.selected, s.ran, s.passed, s.not_run), (2, 0, 0, 0));
        assert!(s.ok());
    }

    #[test]
    fn a_failed_suite_node_is_named_by_its_kind() {
        let json = report(
            1,
            false,
            "null",
            &[spec(
                "SynchronizedBeforeSuite",
                "",
                "failed",
                1,
                Some("no nodes"),
            )],
        );
        let s = parse(json.as_bytes()).unwrap();
        assert_eq!(
            s.failed[0].name,
            "[sig-network] DNS [SynchronizedBeforeSuite]"
        );
        assert_eq!(s.not_run, 1);
        assert!(!s.nothing_to_blame());
    }

    #[test]
    fn a_suite_that_failed_before_selecting_anything_blames_nothing() {
        let s = parse(report(0, false, "null", &[]).as_bytes()).unwrap();
        assert!(s.nothing_to_blame());
        let s = parse(report(0, true, "null", &[]).as_bytes()).unwrap();
        assert!(
            !s.nothing_to_blame(),
            "an empty selection is not a failure of ginkgo"
        );
    }

    #[test]
    fn failure_logs_get_one_file_each_with_safe_names() {
        let json = report(
            2,
            false,
            "null",
            &[
                spec("It", "should work [Conformance]", "failed", 1, Some("x")),
                spec("It", "b/c", "panicked", 1, Some("y")),
            ],
        );
        let s = parse(json.as_bytes()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let paths = write_failure_logs(&s, dir.path()).unwrap();
        let names: Vec<String> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "001-sig-network-dns-should-work-conformance.log",
                "002-sig-network-dns-b-c.log"
            ]
        );
        assert!(std::fs::read_to_string(&paths[1])
            .unwrap()
            .contains("PANICKED"));
    }
}
