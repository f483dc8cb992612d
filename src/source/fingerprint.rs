//! What a binary is built from, without its version stamp: a hash of the
//! Go files (and assembly, embedded files) of every package it links, as
//! `go list -deps` selects them for the build's platform and tags, and of
//! the Go version.
//!
//! The version stamp goes in at link time (`-ldflags -X`), so a tree that
//! turns from clean to dirty changes every binary's bytes, and a string of
//! another length moves everything after it: bytes cannot tell a code
//! change from a stamp change, this can. `reup` keeps a running binary
//! whose code is the same as the new build's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::process::Command;

use super::SourceError;
use crate::artifacts::{gomod, KUBERNETES_TAGS};
use crate::process;
use crate::ui::Ui;

/// One line per package (`P`), its files (`F`), and for commands the
/// packages they import, all the way down (`D`).
const TEMPLATE: &str = "P\t{{.ImportPath}}\t{{.Dir}}\n\
    {{range .GoFiles}}F\t{{.}}\n{{end}}\
    {{range .SFiles}}F\t{{.}}\n{{end}}\
    {{range .HFiles}}F\t{{.}}\n{{end}}\
    {{range .EmbedFiles}}F\t{{.}}\n{{end}}\
    {{if eq .Name \"main\"}}{{range .Deps}}D\t{{.}}\n{{end}}{{end}}";

/// A package as `go list` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Package {
    pub import_path: String,
    pub dir: PathBuf,
    /// Names relative to `dir`.
    pub files: Vec<String>,
    /// For commands: every package they import, directly or not.
    pub deps: Vec<String>,
}

/// The packages in `go list` output made with [`TEMPLATE`].
pub(crate) fn parse(text: &str) -> Vec<Package> {
    let mut packages: Vec<Package> = Vec::new();
    for line in text.lines() {
        let Some((kind, rest)) = line.split_once('\t') else {
            continue;
        };
        match (kind, packages.last_mut()) {
            ("P", _) => {
                let (path, dir) = rest.split_once('\t').unwrap_or((rest, ""));
                packages.push(Package {
                    import_path: path.to_string(),
                    dir: PathBuf::from(dir),
                    ..Package::default()
                });
            }
            ("F", Some(p)) => p.files.push(rest.to_string()),
            ("D", Some(p)) => p.deps.push(rest.to_string()),
            _ => {}
        }
    }
    packages
}

/// The hash of one package's files: names and contents.
fn package_hash(p: &Package) -> std::io::Result<[u8; 32]> {
    let mut files = p.files.clone();
    files.sort();
    let mut h = Sha256::new();
    for name in files {
        let data = std::fs::read(p.dir.join(&name))?;
        h.update(name.as_bytes());
        h.update([0]);
        h.update((data.len() as u64).to_le_bytes());
        h.update(&data);
    }
    Ok(h.finalize().into())
}

/// Each command's code: `salt` (the Go version and build settings), then
/// its own package and every package it imports, by import path and
/// `hash` of the package; by the command's import path.
pub(crate) fn combine(
    packages: &[Package],
    hashes: &BTreeMap<String, [u8; 32]>,
    salt: &str,
) -> BTreeMap<String, String> {
    packages
        .iter()
        .filter(|p| !p.deps.is_empty())
        .map(|main| {
            let mut all: Vec<&str> = main.deps.iter().map(String::as_str).collect();
            all.push(&main.import_path);
            all.sort();
            all.dedup();
            let mut h = Sha256::new();
            h.update(salt.as_bytes());
            h.update([0]);
            for path in all {
                h.update(path.as_bytes());
                h.update([0]);
                // A package go list did not describe (none such: -deps lists
                // every one) counts as absent.
                h.update(hashes.get(path).copied().unwrap_or_default());
            }
            (main.import_path.clone(), hex::encode(h.finalize()))
        })
        .collect()
}

/// The code of each command `names` in the tree at `dir` built for
/// linux/`arch` as [`super::build`] builds it, by name.
pub async fn of_commands(
    ui: &Ui,
    dir: &Path,
    names: &[&str],
    arch: &str,
) -> Result<BTreeMap<String, String>, SourceError> {
    let mut cmd = Command::new("go");
    // -e: a tree that does not compile is listed all the same; the build
    // then says what is wrong with it.
    cmd.current_dir(dir)
        .args(["list", "-e", "-deps"])
        .arg(format!("-tags={}", KUBERNETES_TAGS.join(",")))
        .arg(format!("-f={TEMPLATE}"))
        .args(names.iter().map(|n| format!("./cmd/{n}")))
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .env("CGO_ENABLED", "0")
        .env("GOOS", "linux")
        .env("GOARCH", arch);
    let listing = process::output(ui, cmd, "reup compares code with `go list`").await?;
    let go = gomod::go_version(ui).await?;
    let packages = parse(&listing);
    let hashes = tokio::task::spawn_blocking(move || {
        let hashes = packages
            .iter()
            .map(|p| {
                package_hash(p)
                    .map(|h| (p.import_path.clone(), h))
                    .map_err(SourceError::io("reading", &p.dir))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        Ok::<_, SourceError>((packages, hashes))
    })
    .await
    .expect("hashing does not panic");
    let (packages, hashes) = hashes?;
    let salt = format!(
        "{go} linux/{arch} CGO_ENABLED=0 -tags={}",
        KUBERNETES_TAGS.join(",")
    );
    let by_path = combine(&packages, &hashes, &salt);
    Ok(names
        .iter()
        .filter_map(|n| {
            let code = by_path
                .iter()
                .find(|(path, _)| path.ends_with(&format!("/cmd/{n}")))?
                .1;
            Some((n.to_string(), code.clone()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "P\tinternal/a\t/go/src/internal/a\nF\ta.go\n\
        P\tk8s.io/kubernetes/pkg/x\t/t/pkg/x\nF\tx.go\nF\tx_amd64.s\n\
        P\tk8s.io/kubernetes/cmd/kubelet\t/t/cmd/kubelet\nF\tkubelet.go\n\
        D\tinternal/a\nD\tk8s.io/kubernetes/pkg/x\n\
        P\tk8s.io/kubernetes/cmd/kubeadm\t/t/cmd/kubeadm\nF\tkubeadm.go\nD\tinternal/a\n";

    #[test]
    fn go_list_output_is_read_as_packages_with_files_and_commands_with_deps() {
        let packages = parse(LISTING);
        assert_eq!(packages.len(), 4);
        assert_eq!(packages[1].files, ["x.go", "x_amd64.s"]);
        assert_eq!(packages[1].dir, PathBuf::from("/t/pkg/x"));
        assert!(packages[1].deps.is_empty());
        assert_eq!(packages[2].deps, ["internal/a", "k8s.io/kubernetes/pkg/x"]);
    }

    fn hashes(x: u8) -> BTreeMap<String, [u8; 32]> {
        [
            ("internal/a", 1),
            ("k8s.io/kubernetes/pkg/x", x),
            ("k8s.io/kubernetes/cmd/kubelet", 3),
            ("k8s.io/kubernetes/cmd/kubeadm", 4),
        ]
        .into_iter()
        .map(|(p, b)| (p.to_string(), [b; 32]))
        .collect()
    }

    #[test]
    fn a_change_in_a_package_changes_only_the_commands_that_link_it() {
        let packages = parse(LISTING);
        let before = combine(&packages, &hashes(2), "go1.26.8");
        let after = combine(&packages, &hashes(9), "go1.26.8");
        let (kubelet, kubeadm) = (
            "k8s.io/kubernetes/cmd/kubelet",
            "k8s.io/kubernetes/cmd/kubeadm",
        );
        assert_eq!(before.len(), 2);
        assert_ne!(before[kubelet], after[kubelet]);
        assert_eq!(before[kubeadm], after[kubeadm]);
        // Another Go version is other code.
        let other_go = combine(&packages, &hashes(2), "go1.27.0");
        assert_ne!(before[kubeadm], other_go[kubeadm]);
    }

    #[test]
    fn a_package_hash_follows_its_files_names_and_contents() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.go"), "package a\n").unwrap();
        std::fs::write(dir.path().join("b.go"), "package a\n// b\n").unwrap();
        let p = Package {
            import_path: "a".into(),
            dir: dir.path().to_path_buf(),
            files: vec!["b.go".into(), "a.go".into()],
            deps: vec![],
        };
        let first = package_hash(&p).unwrap();
        let mut sorted = p.clone();
        sorted.files.sort();
        assert_eq!(package_hash(&sorted).unwrap(), first);
        std::fs::write(dir.path().join("b.go"), "package a\n// c\n").unwrap();
        assert_ne!(package_hash(&p).unwrap(), first);
        let mut fewer = p.clone();
        fewer.files.pop();
        assert_ne!(package_hash(&fewer).unwrap(), first);
    }
}
