//! Which tests a run selects and the command lines that say so: pure, so every
//! combination of suite, substring and pass-through arguments is unit-tested.
//!
//! Kubernetes labels its tests (`framework.WithConformance()` adds both the
//! `[Conformance]` text and the `Conformance` label, likewise `Serial`), so the
//! suite is chosen with a ginkgo label filter and the user's substring becomes
//! a focus on the full test name, escaped: it is text, not a regular expression.

use std::path::Path;

/// The two commands' test sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    /// `e2e`: tests not marked Serial, spread over several processes.
    Parallel,
    /// `e2e-serial`: tests marked Serial, one at a time.
    Serial,
}

impl Suite {
    pub fn command(self) -> &'static str {
        match self {
            Suite::Parallel => "e2e",
            Suite::Serial => "e2e-serial",
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub suite: Suite,
    /// Only tests whose full name contains this; without it, the conformance tests.
    pub substring: Option<String>,
    /// Everything after `--`: `--ginkgo.X` to ginkgo as `--X`, the rest to `e2e.test`.
    pub passthrough: Vec<String>,
}

/// Where a run reads and writes.
#[derive(Debug, Clone)]
pub struct RunPaths<'a> {
    pub e2e_test: &'a Path,
    pub kubeconfig: &'a Path,
    pub results: &'a Path,
}

/// Report files ginkgo writes into the results folder.
pub const JSON_REPORT: &str = "report.json";
pub const JUNIT_REPORT: &str = "junit.xml";

impl Selection {
    /// The ginkgo label filter: the suite, and Conformance unless a substring
    /// picks tests by name.
    pub fn label_filter(&self) -> String {
        let suite = match self.suite {
            Suite::Parallel => "!Serial",
            Suite::Serial => "Serial",
        };
        match self.substring {
            Some(_) => suite.to_string(),
            None => format!("Conformance && {suite}"),
        }
    }

    /// Why a run selected no test at all, and what would select some: a
    /// substring that only Serial tests (or only non-Serial ones) contain is
    /// the usual cause, since each command runs one of the two sets.
    pub fn nothing_selected(&self) -> String {
        let (set, other) = match self.suite {
            Suite::Parallel => ("tests not marked [Serial]", Suite::Serial),
            Suite::Serial => ("tests marked [Serial]", Suite::Parallel),
        };
        let what = match &self.substring {
            Some(text) => format!("no test whose full name contains {text:?}"),
            None => "no conformance test".to_string(),
        };
        let passthrough = if self.passthrough.is_empty() {
            String::new()
        } else {
            format!(" with {}", self.passthrough.join(" "))
        };
        format!(
            "{what} is among the {set}{passthrough}; `local-cluster {}` runs the others, \
             and `-- --ginkgo.dry-run` lists what a selection holds",
            other.command()
        )
    }

    /// Whether the user asked ginkgo only to list what the selection holds
    /// (`-- --ginkgo.dry-run`, or ginkgo's older spelling `dryRun`).
    pub fn dry_run(&self) -> bool {
        self.passthrough
            .iter()
            .filter_map(|arg| ginkgo_flag(arg))
            .filter_map(|flag| {
                let (name, value) = flag.split_once('=').unwrap_or((&flag, "true"));
                matches!(name, "--dry-run" | "--dryRun").then(|| value != "false")
            })
            .next_back()
            .unwrap_or(false)
    }

    /// The arguments of `ginkgo`, including the test binary and, after `--`,
    /// the test binary's own arguments.
    pub fn ginkgo_args(&self, paths: &RunPaths, procs: u32, node_arch: &str) -> Vec<String> {
        let procs = match self.suite {
            // ginkgo refuses a dry run on several processes.
            Suite::Parallel if !self.dry_run() => procs.max(1),
            Suite::Parallel | Suite::Serial => 1,
        };
        let mut ginkgo = vec![
            format!("--procs={procs}"),
            format!("--label-filter={}", self.label_filter()),
            // ginkgo's own default (one hour for the whole run) is shorter
            // than a conformance run on a small machine.
            "--timeout=24h".to_string(),
            "--no-color".to_string(),
            "--silence-skips".to_string(),
            format!("--output-dir={}", paths.results.display()),
            format!("--json-report={JSON_REPORT}"),
            format!("--junit-report={JUNIT_REPORT}"),
        ];
        if let Some(text) = &self.substring {
            ginkgo.push(format!("--focus={}", escape_regex(text)));
        }
        let mut e2e = vec![
            format!("--kubeconfig={}", paths.kubeconfig.display()),
            // No cloud: the tests that need one skip themselves.
            "--provider=skeleton".to_string(),
            format!("--node-os-arch={node_arch}"),
            format!("--report-dir={}", paths.results.display()),
        ];
        // The user's come last so that theirs win where a flag takes one value.
        for arg in &self.passthrough {
            match ginkgo_flag(arg) {
                Some(flag) => ginkgo.push(flag),
                None => e2e.push(arg.clone()),
            }
        }
        let mut args = ginkgo;
        args.push(paths.e2e_test.display().to_string());
        args.push("--".to_string());
        args.extend(e2e);
        args
    }
}

/// `--ginkgo.focus=x` → `--focus=x` (the spelling `e2e.test` itself accepts
/// for ginkgo's flags), `-ginkgo.v` → `--v`.
fn ginkgo_flag(arg: &str) -> Option<String> {
    let bare = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    bare.strip_prefix("ginkgo.").map(|rest| format!("--{rest}"))
}

/// Quote every character a Go regular expression treats specially.
pub fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_selection_points_at_the_other_command() {
        let sel = Selection {
            suite: Suite::Parallel,
            substring: Some("Namespaces [Serial] should".into()),
            passthrough: vec![],
        };
        assert_eq!(
            sel.nothing_selected(),
            "no test whose full name contains \"Namespaces [Serial] should\" is among the tests \
             not marked [Serial]; `local-cluster e2e-serial` runs the others, and \
             `-- --ginkgo.dry-run` lists what a selection holds"
        );
        let sel = Selection {
            suite: Suite::Serial,
            substring: None,
            passthrough: vec!["--ginkgo.focus=nothing".into()],
        };
        assert!(sel.nothing_selected().starts_with(
            "no conformance test is among the tests marked [Serial] with --ginkgo.focus=nothing; \
             `local-cluster e2e` runs"
        ));
    }

    fn paths() -> RunPaths<'static> {
        RunPaths {
            e2e_test: Path::new("/c/e2e.test"),
            kubeconfig: Path::new("/h/admin.conf"),
            results: Path::new("/h/e2e/1"),
        }
    }

    fn args(suite: Suite, substring: Option<&str>, passthrough: &[&str]) -> Vec<String> {
        Selection {
            suite,
            substring: substring.map(String::from),
            passthrough: passthrough.iter().map(|s| s.to_string()).collect(),
        }
        .ginkgo_args(&paths(), 4, "amd64")
    }

    /// The arguments before and after the test binary.
    fn split(args: &[String]) -> (&[String], &[String]) {
        let at = args.iter().position(|a| a == "/c/e2e.test").unwrap();
        assert_eq!(args[at + 1], "--");
        (&args[..at], &args[at + 2..])
    }

    #[test]
    fn parallel_conformance_runs_on_several_processes_without_serial_tests() {
        let all = args(Suite::Parallel, None, &[]);
        let (ginkgo, e2e) = split(&all);
        assert!(ginkgo.contains(&"--procs=4".to_string()));
        assert!(ginkgo.contains(&"--label-filter=Conformance && !Serial".to_string()));
        assert!(!ginkgo.iter().any(|a| a.starts_with("--focus")));
        assert!(ginkgo.contains(&"--output-dir=/h/e2e/1".to_string()));
        assert!(e2e.contains(&"--kubeconfig=/h/admin.conf".to_string()));
        assert!(e2e.contains(&"--provider=skeleton".to_string()));
    }

    #[test]
    fn serial_conformance_runs_one_at_a_time() {
        let all = args(Suite::Serial, None, &[]);
        let (ginkgo, _) = split(&all);
        assert!(ginkgo.contains(&"--procs=1".to_string()));
        assert!(ginkgo.contains(&"--label-filter=Conformance && Serial".to_string()));
    }

    #[test]
    fn a_substring_selects_by_name_as_text_in_either_suite() {
        let all = args(Suite::Parallel, Some("should serve [a] (v1.2)"), &[]);
        let (ginkgo, _) = split(&all);
        assert!(ginkgo.contains(&r"--focus=should serve \[a\] \(v1\.2\)".to_string()));
        assert!(ginkgo.contains(&"--label-filter=!Serial".to_string()));
        let all = args(Suite::Serial, Some("Pods"), &[]);
        let (ginkgo, _) = split(&all);
        assert!(ginkgo.contains(&"--label-filter=Serial".to_string()));
        assert!(ginkgo.contains(&"--focus=Pods".to_string()));
    }

    #[test]
    fn passthrough_goes_to_ginkgo_or_the_test_binary_after_ours() {
        let all = args(
            Suite::Parallel,
            None,
            &[
                "--ginkgo.procs=2",
                "-ginkgo.v",
                "--ginkgo.skip=Slow",
                "--allowed-not-ready-nodes=1",
                "-v=4",
            ],
        );
        let (ginkgo, e2e) = split(&all);
        let procs: Vec<&String> = ginkgo.iter().filter(|a| a.starts_with("--procs")).collect();
        assert_eq!(procs, ["--procs=4", "--procs=2"], "the user's comes last");
        assert!(ginkgo.contains(&"--v".to_string()));
        assert!(ginkgo.contains(&"--skip=Slow".to_string()));
        assert_eq!(
            &e2e[e2e.len() - 2..],
            ["--allowed-not-ready-nodes=1", "-v=4"]
        );
    }

    #[test]
    fn a_dry_run_lists_on_one_process() {
        for flag in [
            "--ginkgo.dry-run",
            "-ginkgo.dryRun",
            "--ginkgo.dry-run=true",
        ] {
            let all = args(Suite::Parallel, None, &[flag]);
            let (ginkgo, _) = split(&all);
            assert!(
                ginkgo.contains(&"--procs=1".to_string()),
                "{flag}: {ginkgo:?}"
            );
        }
        let all = args(Suite::Parallel, None, &["--ginkgo.dry-run=false"]);
        assert!(split(&all).0.contains(&"--procs=4".to_string()));
        let all = args(Suite::Parallel, None, &["--dry-run"]);
        assert!(
            split(&all).0.contains(&"--procs=4".to_string()),
            "e2e.test's own flags are not ginkgo's"
        );
    }

    #[test]
    fn regex_escape_leaves_plain_text_alone() {
        assert_eq!(escape_regex("DNS should provide"), "DNS should provide");
        assert_eq!(escape_regex("a.b*c"), r"a\.b\*c");
    }
}
