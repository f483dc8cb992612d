//! The conformance runner through the real command on a real cluster: a
//! focused subset (a Service, a DNS, an image pulled with PullPolicy Always
//! through the cluster's registry, and a Serial conformance test) with the
//! test binaries built from the Go module and the test images built locally;
//! a run that fails, with its exit status and failure log; and the test
//! binaries from a release site on 127.0.0.1 (a tarball laid out like the
//! official one, made from the binaries built here), including a bad checksum.
//! Ignored by default (root, dockerd, minutes); .ci/test runs it.

use crate::common;

use std::path::{Path, PathBuf};

use common::cluster::Cluster;
use common::serve::serve;
use common::{cache_sharing, text};
use sha2::{Digest, Sha256};

/// `Ran … selected tests …` and the results folder, from the tool's stdout.
fn outcome(stdout: &str) -> (String, PathBuf) {
    let ran = stdout
        .lines()
        .find(|l| l.starts_with("Ran "))
        .unwrap_or_else(|| panic!("no summary in {stdout}"))
        .to_string();
    let results = stdout
        .lines()
        .find_map(|l| l.split_once("): ").filter(|_| l.starts_with("Results")))
        .map(|(_, dir)| PathBuf::from(dir.trim()))
        .unwrap_or_else(|| panic!("no results folder in {stdout}"));
    (ran, results)
}

fn assert_passed(stdout: &str, tests: u32) -> PathBuf {
    let (ran, results) = outcome(stdout);
    assert!(
        ran.starts_with(&format!("Ran {tests} of {tests} selected tests"))
            && ran.contains(&format!(": {tests} passed, 0 failed")),
        "{ran}"
    );
    let junit = std::fs::read_to_string(results.join("junit.xml")).unwrap();
    assert!(junit.contains("failures=\"0\""), "{}", &junit[..400]);
    results
}

/// What the e2e command builds, apart from the test binaries.
const E2E_BUILDS: &[&str] = &["base", "go-build", "go-wrappers", "images", "layers"];

/// A file in the tool's Go build cache whose path ends with `suffix`, in an
/// entry whose name holds `name_part`.
fn cached(name_part: &str, suffix: &str) -> PathBuf {
    common::go_builds(name_part)
        .into_iter()
        .map(|p| p.join(suffix))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no {suffix} in a Go build named *{name_part}*"))
}

/// `<site>/release/<version>/kubernetes-test-linux-amd64.tar.gz` holding
/// `kubernetes/test/bin/{e2e.test,ginkgo}`, and its `.sha256` (or a wrong one).
fn release_site(site: &Path, version: &str, e2e_test: &Path, ginkgo: &Path, good_sum: bool) {
    let dir = site.join("release").join(version);
    std::fs::create_dir_all(&dir).unwrap();
    let tarball = dir.join("kubernetes-test-linux-amd64.tar.gz");
    let file = std::fs::File::create(&tarball).unwrap();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::fast(),
    ));
    for (name, path) in [("e2e.test", e2e_test), ("ginkgo", ginkgo)] {
        tar.append_path_with_name(path, format!("kubernetes/test/bin/{name}"))
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    let sum = if good_sum {
        hex::encode(Sha256::digest(std::fs::read(&tarball).unwrap()))
    } else {
        "0".repeat(64)
    };
    std::fs::write(dir.join("kubernetes-test-linux-amd64.tar.gz.sha256"), sum).unwrap();
}

#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn a_focused_conformance_subset_passes_through_the_real_command() {
    let c = Cluster::new("e2etest", "10.232.0.0/24");
    c.run(&["up"]);

    // A Service and a DNS test in parallel mode, then a Serial one. The
    // substrings are matched as text: the brackets are not a regex class.
    let (stdout, _) = c.run(&[
        "e2e",
        "Services should serve a basic endpoint from pods [Conformance]",
    ]);
    assert_passed(&stdout, 1);
    let (stdout, _) = c.run(&[
        "e2e",
        "DNS should provide DNS for the cluster [Conformance]",
    ]);
    assert_passed(&stdout, 1);
    let (stdout, stderr) = c.run(&[
        "e2e-serial",
        "Namespaces should ensure that all pods are removed when a namespace is deleted",
    ]);
    let results = assert_passed(&stdout, 1);
    assert!(stderr.contains("one at a time"), "{stderr}");
    assert!(results.join("report.json").is_file());
    assert!(results.join("ginkgo.log").is_file());

    // A dry run lists the whole parallel selection (ginkgo refuses to dry
    // run on several processes: the tool gives it one) and runs nothing.
    let (stdout, _) = c.run(&["e2e", "--", "--ginkgo.dry-run"]);
    let listed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("  [")).collect();
    assert!(
        stdout.contains(&format!(
            "Dry run: {} tests selected, none ran:",
            listed.len()
        )) && listed.len() > 400,
        "{stdout}"
    );
    assert!(
        listed
            .iter()
            .any(|l| l.contains("Services should serve a basic endpoint from pods [Conformance]"))
            && !listed.iter().any(|l| l.contains("[Serial]")),
        "{stdout}"
    );
    assert!(!stdout.contains("Ran "), "{stdout}");

    // A run that fails: ginkgo's whole-run timeout, given after `--`, is far
    // shorter than the test, which watches a pod for 4 minutes to see that
    // its liveness probe never restarts it. Exit status 1, the failure
    // named, its log written.
    let out = c
        .command(&[
            "e2e",
            r#"Probing container should *not* be restarted with a exec "cat /tmp/health""#,
            "--",
            "--ginkgo.timeout=45s",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("1 of 1 tests failed; results in"),
        "{stderr}"
    );
    let (_, results) = outcome(&stdout);
    let logs: Vec<_> = std::fs::read_dir(results.join("failed"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let log = std::fs::read_to_string(&logs[0]).unwrap();
    assert!(
        log.contains("Probing container should *not* be restarted"),
        "{log}"
    );
    // The test cleaned up after itself: its namespace is gone or going.
    let phases = c.kubectl(&[
        "get",
        "namespaces",
        "-l",
        "e2e-framework",
        "-o",
        "jsonpath={.items[*].status.phase}",
    ]);
    assert!(
        phases.split_whitespace().all(|p| p == "Terminating"),
        "{phases}"
    );

    // A substring that only a Serial test contains selects nothing in the
    // parallel suite: an error that says so, not a silent success.
    let out = c
        .command(&[
            "e2e",
            "Namespaces [Serial] should apply an update to a Namespace",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "is among the tests not marked [Serial]; `local-cluster e2e-serial` runs the others"
        ),
        "{stderr}"
    );

    // The release path: the same binaries from a release site, checked
    // against the published sha256, into an empty cache (the images are
    // already in the nodes, so nothing else is needed from it).
    let version = "v1.37.2";
    let e2e_test = cached(&format!("-{version}-"), "bin/e2e.test");
    let ginkgo = cached(&format!("-{version}-"), "bin/ginkgo");
    let site = tempfile::tempdir().unwrap();
    release_site(site.path(), version, &e2e_test, &ginkgo, true);
    let url = serve(site.path().to_path_buf());
    // The test images are made as usual; only the test binaries are downloaded.
    let cache = cache_sharing(E2E_BUILDS);
    let release_env = |cmd: &mut std::process::Command| {
        cmd.env("K8S_DIND_KUBERNETES_SOURCE", "release")
            .env("K8S_DIND_RELEASE_URL", &url)
            .env("K8S_DIND_CACHE_DIR", cache.path());
    };
    // `--v 2` shows where the binaries came from.
    let mut cmd = c.command(&[
        "e2e",
        "Discovery should validate PreferredVersion for each APIGroup",
        "--v",
        "2",
    ]);
    release_env(&mut cmd);
    let out = cmd.output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "{url}/{version}/kubernetes-test-linux-amd64.tar.gz"
        )),
        "{stderr}"
    );
    assert_passed(&stdout, 1);

    // A tarball that does not match its checksum is refused, and nothing runs.
    let bad_site = tempfile::tempdir().unwrap();
    release_site(bad_site.path(), version, &e2e_test, &ginkgo, false);
    let bad_url = serve(bad_site.path().to_path_buf());
    let bad_cache = cache_sharing(E2E_BUILDS);
    let out = c
        .command(&["e2e", "Namespaces"])
        .env("K8S_DIND_KUBERNETES_SOURCE", "release")
        .env("K8S_DIND_RELEASE_URL", &bad_url)
        .env("K8S_DIND_CACHE_DIR", bad_cache.path())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("checksum mismatch for kubernetes-test-linux-amd64.tar.gz"),
        "{stderr}"
    );
    assert!(!stdout.contains("Ran "), "{stdout}");
}
