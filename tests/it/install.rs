//! The README's install, on a clean clone of this repository: `cargo
//! install --locked --path .` puts `local-cluster` where PATH finds it.

use std::path::Path;
use std::process::Command;

use crate::common::text;

/// The install command as the README gives it.
const INSTALL: &str = "cargo install --locked --path .";

#[test]
#[ignore = "builds the tool from a clean clone (minutes cold); run by .ci/test --tier install"]
fn the_documented_install_puts_local_cluster_on_path() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    assert!(
        readme.contains(INSTALL),
        "the README no longer says {INSTALL:?}"
    );

    // What is committed, as a user's clone has it.
    let dir = tempfile::tempdir().unwrap();
    let clone = dir.path().join("clone");
    let out = Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(repo)
        .arg(&clone)
        .output()
        .unwrap();
    assert!(out.status.success(), "git clone: {}", text(&out).1);

    // Where cargo puts it for the user (~/.cargo/bin), here a directory of
    // the test's; the build's own directory is kept between runs.
    let root = dir.path().join("cargo-home");
    let mut words = INSTALL.split(' ');
    let out = Command::new(words.next().unwrap())
        .args(words)
        .current_dir(&clone)
        .env("CARGO_INSTALL_ROOT", &root)
        .env("CARGO_TARGET_DIR", repo.join("target/install-test"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{INSTALL}: {}", text(&out).1);

    let path = format!(
        "{}:{}",
        root.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .args(["-c", "command -v local-cluster && local-cluster --version"])
        .env("PATH", path)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "{}\nlocal-cluster {}\n",
            root.join("bin/local-cluster").display(),
            env!("CARGO_PKG_VERSION")
        )
    );
}
