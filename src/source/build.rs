//! Building Kubernetes binaries in a source tree: with the tree's own `make`
//! where it has one, else `go build` of the same packages with the same
//! version stamp. Either way the Go caches are the user's own (`go env`), so
//! a rebuild after a small change compiles only what the change touches.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use super::SourceError;
use crate::artifacts::{gomod, VersionStamp, KUBERNETES_TAGS};
use crate::process::{self, ProcessError};
use crate::ui::Ui;

const TOOLS: &str = "Building from a Kubernetes source tree needs a Go toolchain matching the \
     tree's go.mod (and make and bash for the tree's Makefile).";

/// How the tree is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    /// `make all WHAT=...`, Kubernetes' own build.
    Make,
    /// `go build` of `./cmd/<name>`, for trees without a Makefile or hosts without make.
    Go,
}

impl Builder {
    fn name(self) -> &'static str {
        match self {
            Builder::Make => "make",
            Builder::Go => "go build",
        }
    }
}

/// The tree's Makefile is a link to build/root/Makefile in a checkout.
fn has_makefile(dir: &Path) -> bool {
    dir.join("Makefile").is_file()
}

async fn make_available() -> bool {
    Command::new("make")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// Where both builders leave the binaries, as Kubernetes' make does.
pub fn output_dir(dir: &Path, arch: &str) -> PathBuf {
    dir.join("_output/local/bin/linux").join(arch)
}

/// What a build makes in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A command under `cmd/` (`kubelet`, `kubeadm`, ...).
    Command(String),
    /// The conformance suite: `go test -c` of `test/e2e`.
    E2eTest,
    /// The ginkgo runner, at the version the tree's go.mod requires.
    Ginkgo,
}

const GINKGO_PACKAGE: &str = "github.com/onsi/ginkgo/v2/ginkgo";

impl Target {
    /// The file the build leaves in the output directory.
    pub fn file(&self) -> &str {
        match self {
            Target::Command(name) => name,
            Target::E2eTest => "e2e.test",
            Target::Ginkgo => "ginkgo",
        }
    }

    /// As Kubernetes' Makefile takes it in `WHAT=`.
    fn make_name(&self) -> String {
        match self {
            Target::Command(name) => format!("cmd/{name}"),
            Target::E2eTest => "test/e2e/e2e.test".to_string(),
            // The Makefile's documented alias for the ginkgo CLI.
            Target::Ginkgo => "ginkgo".to_string(),
        }
    }
}

/// Build `names` (`kubelet`, `kubeadm`, ...) for linux/`arch` in the tree at
/// `dir`, stamped with `stamp`; returns each binary's path.
pub async fn build(
    ui: &Ui,
    dir: &Path,
    stamp: &VersionStamp,
    names: &[&str],
    arch: &str,
) -> Result<Vec<(String, PathBuf)>, SourceError> {
    let targets: Vec<Target> = names
        .iter()
        .map(|n| Target::Command(n.to_string()))
        .collect();
    build_targets(ui, dir, stamp, &targets, arch).await
}

/// `e2e.test` and `ginkgo` built in the tree for this host (`arch`), so that
/// the tests are those of the code the cluster runs.
pub async fn test_binaries(
    ui: &Ui,
    dir: &Path,
    stamp: &VersionStamp,
    arch: &str,
) -> Result<(PathBuf, PathBuf), SourceError> {
    let built = build_targets(ui, dir, stamp, &[Target::E2eTest, Target::Ginkgo], arch).await?;
    let path = |target: Target| {
        built
            .iter()
            .find(|(name, _)| name == target.file())
            .map(|(_, path)| path.clone())
            .expect("every target built has its path")
    };
    Ok((path(Target::E2eTest), path(Target::Ginkgo)))
}

pub(super) async fn build_targets(
    ui: &Ui,
    dir: &Path,
    stamp: &VersionStamp,
    targets: &[Target],
    arch: &str,
) -> Result<Vec<(String, PathBuf)>, SourceError> {
    let builder = if has_makefile(dir) && make_available().await {
        Builder::Make
    } else {
        Builder::Go
    };
    let names: Vec<String> = targets.iter().map(|t| t.file().to_string()).collect();
    let step = ui.step(format!(
        "Building {} {} in {} ({})",
        names.join(", "),
        stamp.version,
        dir.display(),
        builder.name()
    ));
    // Share the user's Go caches: Kubernetes' scripts would otherwise put
    // them under _output and start from nothing.
    let caches = gomod::go_env(ui, &["GOCACHE", "GOMODCACHE"]).await?;
    let out = output_dir(dir, arch);
    let commands = match builder {
        Builder::Make => vec![make_command(dir, stamp, targets, arch)?],
        Builder::Go => go_commands(stamp, targets, arch, &out)?,
    };
    let mut compiled = 0usize;
    for mut cmd in commands {
        cmd.current_dir(dir)
            .env("GOTOOLCHAIN", "local")
            .env("GOCACHE", &caches[0])
            .env("GOMODCACHE", &caches[1])
            // The compiler names each package it compiles: progress. No
            // vet for `go test -c`: it is for the suite's authors, and would
            // analyse every package the suite imports (commands ignore it).
            .env("GOFLAGS", "-v -vet=off");
        gomod::compiler_memory(&mut cmd);
        let result = process::run(ui, cmd, TOOLS, |line| {
            if looks_like_package(line) {
                compiled += 1;
                step.progress(format!("{compiled} packages compiled"));
            }
        })
        .await;
        if let Err(source) = result {
            let packages = match &source {
                ProcessError::Failed { output, .. } => failing_packages(output),
                _ => Vec::new(),
            };
            return Err(SourceError::Build {
                what: names.clone(),
                dir: dir.to_path_buf(),
                packages,
                source: Box::new(source),
            });
        }
    }
    let built = names
        .iter()
        .map(|n| {
            let path = out.join(n);
            if path.is_file() {
                Ok((n.to_string(), path))
            } else {
                Err(SourceError::NotBuilt {
                    dir: dir.to_path_buf(),
                    missing: path,
                })
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    step.done();
    ui.note(format!("{compiled} packages compiled"));
    Ok(built)
}

fn make_command(
    dir: &Path,
    stamp: &VersionStamp,
    targets: &[Target],
    arch: &str,
) -> Result<Command, SourceError> {
    // version.sh reads the stamp from this file instead of asking git, so
    // the binaries say exactly what the tool decided.
    let file = dir.join("_output/local-cluster-version-defs");
    let parent = file.parent().expect("has a parent");
    std::fs::create_dir_all(parent).map_err(SourceError::io("creating", parent))?;
    std::fs::write(&file, stamp.version_file()).map_err(SourceError::io("writing", &file))?;
    let what = targets
        .iter()
        .map(Target::make_name)
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("make");
    cmd.arg("all")
        .arg(format!("WHAT={what}"))
        .arg(format!("KUBE_BUILD_PLATFORMS=linux/{arch}"))
        .env("KUBE_GIT_VERSION_FILE", &file)
        .env("SOURCE_DATE_EPOCH", stamp.build_epoch.to_string())
        // The kubelet is the one binary Kubernetes links with cgo; static,
        // it runs on any node base like the others (and shares their
        // compiled packages).
        .env("KUBE_STATIC_OVERRIDES", "kubelet");
    Ok(cmd)
}

/// `go build` of the commands and ginkgo (one invocation), `go test -c` of
/// the suite: what the Makefile does, without it.
fn go_commands(
    stamp: &VersionStamp,
    targets: &[Target],
    arch: &str,
    out: &Path,
) -> Result<Vec<Command>, SourceError> {
    std::fs::create_dir_all(out).map_err(SourceError::io("creating", out))?;
    let go = |verb: &[&str]| {
        let mut cmd = Command::new("go");
        cmd.args(verb)
            .arg("-trimpath")
            // The tags Kubernetes' build uses.
            .arg(format!("-tags={}", KUBERNETES_TAGS.join(",")))
            .arg(format!("-ldflags={}", stamp.ldflags()))
            .env("CGO_ENABLED", "0")
            .env("GOOS", "linux")
            .env("GOARCH", arch);
        cmd
    };
    let packages: Vec<String> = targets
        .iter()
        .filter_map(|t| match t {
            Target::Command(name) => Some(format!("./cmd/{name}")),
            Target::Ginkgo => Some(GINKGO_PACKAGE.to_string()),
            Target::E2eTest => None,
        })
        .collect();
    let mut commands = Vec::new();
    if !packages.is_empty() {
        let mut cmd = go(&["build"]);
        cmd.arg("-o")
            .arg(format!("{}/", out.display()))
            .args(packages);
        commands.push(cmd);
    }
    if targets.contains(&Target::E2eTest) {
        // Like the module build of e2e.test: vet is for the suite's authors.
        let mut cmd = go(&["test", "-c", "-vet=off"]);
        cmd.arg("-o").arg(out.join("e2e.test")).arg("./test/e2e");
        commands.push(cmd);
    }
    Ok(commands)
}

/// A line `go build -v` prints for a package it compiles.
fn looks_like_package(line: &str) -> bool {
    let line = line.trim();
    !line.is_empty()
        && !line.contains(' ')
        && !line.starts_with('#')
        && !line.starts_with('+')
        && line.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && !line.contains(':')
}

/// The packages the compiler complains about: it heads each one's errors
/// with `# <import path>`.
fn failing_packages(output: &str) -> Vec<String> {
    let mut packages: Vec<String> = output
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty() && !p.contains(' '))
        .collect();
    packages.dedup();
    packages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(cmd: &Command) -> Vec<String> {
        cmd.as_std()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_test_binaries_are_built_as_kubernetes_builds_them() {
        let dir = tempfile::tempdir().unwrap();
        let stamp = VersionStamp::untracked(&"v1.37.2".parse().unwrap());
        let tests = [Target::E2eTest, Target::Ginkgo];
        let make = make_command(dir.path(), &stamp, &tests, "amd64").unwrap();
        assert_eq!(
            args(&make),
            [
                "all",
                "WHAT=test/e2e/e2e.test ginkgo",
                "KUBE_BUILD_PLATFORMS=linux/amd64"
            ]
        );
        // Without make: ginkgo beside any command in one `go build`, the
        // suite by `go test -c`, all into the make's output directory.
        let out = output_dir(dir.path(), "amd64");
        let mut targets = vec![Target::Command("kubectl".into())];
        targets.extend(tests);
        let go = go_commands(&stamp, &targets, "amd64", &out).unwrap();
        let go: Vec<Vec<String>> = go.iter().map(args).collect();
        assert_eq!(go.len(), 2, "{go:?}");
        assert_eq!(go[0][0], "build");
        assert!(go[0].ends_with(&[
            format!("{}/", out.display()),
            "./cmd/kubectl".to_string(),
            GINKGO_PACKAGE.to_string()
        ]));
        assert_eq!(go[1][..3], ["test", "-c", "-vet=off"]);
        assert!(go[1].ends_with(&[
            out.join("e2e.test").display().to_string(),
            "./test/e2e".to_string()
        ]));
        assert!(go.iter().all(|c| c.contains(&"-trimpath".to_string())
            && c.iter()
                .any(|a| a.starts_with("-ldflags=") && a.contains("v1.37.2-dirty"))));
    }

    #[test]
    fn a_tree_is_built_with_the_flags_of_every_other_kubernetes_build() {
        let out = tempfile::tempdir().unwrap();
        let stamp = VersionStamp::release(&"v1.37.2".parse().unwrap());
        let targets = [Target::Command("kubelet".into()), Target::E2eTest];
        for cmd in go_commands(&stamp, &targets, "amd64", out.path()).unwrap() {
            let args = args(&cmd);
            assert!(args.contains(&"-trimpath".to_string()), "{args:?}");
            assert!(
                args.contains(&"-tags=selinux,notest,grpcnotrace".to_string()),
                "{args:?}"
            );
            let env: Vec<_> = cmd.as_std().get_envs().collect();
            assert!(env.contains(&(
                std::ffi::OsStr::new("CGO_ENABLED"),
                Some(std::ffi::OsStr::new("0"))
            )));
        }
    }

    #[test]
    fn compiler_errors_name_their_package() {
        let output = "+++ [1202 05:51:08] Building go targets for linux/amd64\n\
            k8s.io/kubernetes/pkg/kubelet/util\n\
            # k8s.io/kubernetes/pkg/kubelet\n\
            pkg/kubelet/kubelet.go:12:3: undefined: nope\n\
            # k8s.io/kubernetes/pkg/kubelet\n\
            !!! [1202 05:51:30] Call tree:\n";
        assert_eq!(failing_packages(output), ["k8s.io/kubernetes/pkg/kubelet"]);
    }

    #[test]
    fn only_package_lines_count_as_progress() {
        assert!(looks_like_package("k8s.io/kubernetes/pkg/kubelet"));
        assert!(looks_like_package("golang.org/x/net/http2"));
        assert!(!looks_like_package(
            "+++ [1202 05:51:08] Building go targets"
        ));
        assert!(!looks_like_package(
            "pkg/kubelet/kubelet.go:12:3: undefined: nope"
        ));
        assert!(!looks_like_package("# k8s.io/kubernetes/pkg/kubelet"));
    }
}
