//! Building binaries from published Go modules (k8s.io/kubernetes, etcd,
//! CoreDNS) with the local Go toolchain.
//!
//! Such modules often cannot be built with `go install module@version`: their
//! go.mod replaces sibling modules with local paths (`k8s.io/api =>
//! ./staging/src/k8s.io/api`), which the published module zip does not carry.
//! So we generate a small wrapper module that requires the upstream module and
//! replaces each of those local paths with the sibling's published version,
//! copying upstream's other replaces and its `go`/`godebug` lines, and build
//! the packages from there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokio::process::Command;

use super::cache::{Cache, CacheKey, Entry};
use super::ArtifactError;
use crate::process;
use crate::ui::Ui;

/// Where replaced sibling modules are published: given the sibling's path and
/// the main module's version, the version to use.
pub type SiblingVersion = fn(sibling: &str, main_version: &str) -> String;

/// One build of one or more `main` packages from a module.
#[derive(Debug, Clone)]
pub struct GoModuleBuild {
    pub module: String,
    pub version: String,
    /// (package import path, output file name)
    pub binaries: Vec<(String, String)>,
    pub ldflags: String,
    pub tags: Vec<String>,
    pub arch: String,
    pub sibling_version: SiblingVersion,
}

/// The wrapper module's path: its own packages (see [`WrapperFile`]) are
/// `WRAPPER_MODULE/<dir>`.
pub const WRAPPER_MODULE: &str = "kubeadm-local-cluster.invalid/build";

/// A file of a package of the wrapper module itself. For a program whose
/// published `main` package cannot be built here (it imports a module the
/// proxy does not serve), an adapted copy is built from the wrapper instead.
#[derive(Debug, Clone)]
pub struct WrapperFile {
    /// Relative to the wrapper module, e.g. `cmd/flanneld/main.go`.
    pub path: String,
    pub content: String,
}

/// Kubernetes publishes its staging modules as `v0.<minor>.<patch>` for
/// `v1.<minor>.<patch>`.
pub fn kubernetes_staging_version(_sibling: &str, main_version: &str) -> String {
    match main_version.strip_prefix("v1.") {
        Some(rest) => format!("v0.{rest}"),
        None => main_version.to_string(),
    }
}

/// Multi-module repositories like etcd publish every module at the same version.
pub fn same_version(_sibling: &str, main_version: &str) -> String {
    main_version.to_string()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ModFile {
    go: Option<String>,
    // `go mod edit -json` writes null for empty lists.
    go_debug: Option<Vec<GoDebug>>,
    require: Option<Vec<Require>>,
    replace: Option<Vec<Replace>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Require {
    path: String,
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GoDebug {
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Replace {
    old: ModVersion,
    new: ModVersion,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ModVersion {
    path: String,
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DownloadJson {
    go_mod: Option<String>,
    dir: Option<String>,
    error: Option<String>,
}

/// A module version in the local module cache.
pub struct DownloadedModule {
    /// Its go.mod file.
    pub go_mod: String,
    /// Its extracted source.
    pub dir: PathBuf,
}

/// `go mod download` a module version (outside any module) and say where it is.
pub async fn download_module(
    ui: &Ui,
    module: &str,
    version: &str,
) -> Result<DownloadedModule, ArtifactError> {
    let spec = format!("{module}@{version}");
    let scratch = tempfile::tempdir().map_err(|e| ArtifactError::io(&std::env::temp_dir(), e))?;
    let mut cmd = go(&["mod", "download", "-json", &spec]);
    cmd.current_dir(scratch.path()).env("GOFLAGS", "");
    // On failure go still prints the JSON, with an Error field; prefer that.
    let json = match process::output(ui, cmd, GO_MISSING).await {
        Ok(out) => out,
        Err(process::ProcessError::Failed { output, .. }) => output,
        Err(source) => {
            return Err(ArtifactError::Build {
                what: format!("download {spec}"),
                source,
            })
        }
    };
    let start = json.find('{').unwrap_or(0);
    let parsed: DownloadJson =
        serde_json::from_str(&json[start..]).map_err(|source| ArtifactError::GoOutput {
            command: format!("go mod download -json {spec}"),
            source,
        })?;
    let failed = |reason: String| ArtifactError::GoModule {
        spec: spec.clone(),
        reason,
    };
    if let Some(err) = parsed.error {
        return Err(failed(err));
    }
    match (parsed.go_mod, parsed.dir) {
        (Some(go_mod), Some(dir)) => Ok(DownloadedModule {
            go_mod,
            dir: PathBuf::from(dir),
        }),
        _ => Err(failed(
            "go printed no go.mod or directory for it".to_string(),
        )),
    }
}

/// The extracted source of a module version.
pub async fn module_dir(ui: &Ui, module: &str, version: &str) -> Result<PathBuf, ArtifactError> {
    Ok(download_module(ui, module, version).await?.dir)
}

/// A module version's source directory and the text of its `file` (a
/// manifest the module publishes).
pub async fn module_file(
    ui: &Ui,
    module: &str,
    version: &str,
    file: &str,
) -> Result<(PathBuf, String), ArtifactError> {
    let dir = module_dir(ui, module, version).await?;
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| ArtifactError::io(&path, e))?;
    Ok((dir, text))
}

/// The version of `dependency` that `module@version`'s go.mod requires, if any
/// (e.g. the ginkgo a Kubernetes release was tested with).
pub async fn required_version(
    ui: &Ui,
    module: &str,
    version: &str,
    dependency: &str,
) -> Result<Option<String>, ArtifactError> {
    let go_mod = download_module(ui, module, version).await?.go_mod;
    let parsed = read_go_mod(ui, &go_mod).await?;
    Ok(parsed
        .require
        .into_iter()
        .flatten()
        .find(|r| r.path == dependency)
        .and_then(|r| r.version))
}

/// `go mod edit -json` of a go.mod file.
async fn read_go_mod(ui: &Ui, go_mod: &str) -> Result<ModFile, ArtifactError> {
    let mut cmd = go(&["mod", "edit", "-json", go_mod]);
    cmd.env("GOFLAGS", "");
    let json = process::output(ui, cmd, GO_MISSING).await?;
    serde_json::from_str(&json).map_err(|source| ArtifactError::GoOutput {
        command: format!("go mod edit -json {go_mod}"),
        source,
    })
}

const GO_MISSING: &str = "Install the Go toolchain (https://go.dev/dl/) and put `go` on PATH, \
     or use --kubernetes-source release / --image-source registry to download instead of building.";

fn go(args: &[&str]) -> Command {
    let mut cmd = Command::new("go");
    cmd.args(args);
    // Never let go fetch a newer toolchain behind our back: a module that
    // needs one should fail with a clear message instead.
    cmd.env("GOTOOLCHAIN", "local");
    cmd.env("GOFLAGS", "-mod=mod");
    cmd
}

/// The local Go version, e.g. `go1.26.8`.
pub async fn go_version(ui: &Ui) -> Result<String, ArtifactError> {
    Ok(process::output(ui, go(&["env", "GOVERSION"]), GO_MISSING).await?)
}

/// `go env` values, one per name, in order.
pub async fn go_env(ui: &Ui, names: &[&str]) -> Result<Vec<String>, ArtifactError> {
    let mut args = vec!["env"];
    args.extend_from_slice(names);
    let out = process::output(ui, go(&args), GO_MISSING).await?;
    let values: Vec<String> = out.lines().map(str::to_string).collect();
    if values.len() != names.len() {
        return Err(ArtifactError::GoModule {
            spec: format!("go env {}", names.join(" ")),
            reason: format!("printed {out:?}"),
        });
    }
    Ok(values)
}

/// `1.26.0` ≤ `go1.26.8`?
fn go_satisfies(required: &str, local: &str) -> bool {
    fn parts(v: &str) -> Vec<u32> {
        v.trim_start_matches("go")
            .split(|c: char| !c.is_ascii_digit())
            .take(3)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    }
    let (mut r, mut l) = (parts(required), parts(local));
    r.resize(3, 0);
    l.resize(3, 0);
    l >= r
}

/// `v2`, `v3`, …: the suffix Go puts on a module path for a major version.
fn is_major_suffix(part: &str) -> bool {
    part.strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Can `go build -o DIR/` make these programs in one run? It names each
/// binary after its package's last path element (the one before a
/// major-version suffix), so each name must be that, and every name one of
/// its own.
fn builds_in_one_go(binaries: &[(String, String)]) -> bool {
    let go_name = |pkg: &str| {
        let mut parts = pkg.rsplit('/');
        let last = parts.next().unwrap_or(pkg);
        match parts.next() {
            Some(before) if is_major_suffix(last) => before.to_string(),
            _ => last.to_string(),
        }
    };
    let mut names: Vec<&str> = binaries.iter().map(|(_, n)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    binaries.len() > 1
        && names.len() == binaries.len()
        && binaries.iter().all(|(pkg, name)| go_name(pkg) == *name)
}

/// What `go` makes of each package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compile {
    /// `go build` of a `main` package.
    Program,
    /// `go test -c`: the package's tests as one binary (how Kubernetes ships
    /// its e2e suite).
    Tests,
}

impl GoModuleBuild {
    fn key(&self, go_version: &str, compile: Compile, files: &[WrapperFile]) -> CacheKey {
        let mut key = CacheKey::new()
            .with("format", 1)
            .with("module", &self.module)
            .with("version", &self.version)
            .with("arch", &self.arch)
            .with("ldflags", &self.ldflags)
            .with("tags", self.tags.join(","))
            .with("go", go_version);
        if compile == Compile::Tests {
            // Only added for test binaries, so keys of programs stay as they were.
            key = key.with("compile", "test");
        }
        for (pkg, name) in &self.binaries {
            key = key.with("binary", format!("{pkg} -> {name}"));
        }
        for file in files {
            let digest = <sha2::Sha256 as sha2::Digest>::digest(file.content.as_bytes());
            key = key.with(
                "wrapper-file",
                format!("{} {}", file.path, hex::encode(digest)),
            );
        }
        key
    }

    /// What the cache entry is called (before version and architecture): the
    /// binary when there is one (`agnhost`, `ginkgo`, `e2e.test`), else the
    /// module's last path element that is not a major-version suffix, so one
    /// module's builds of different binaries are told apart at a glance.
    fn entry_name(&self) -> &str {
        if let [(_, name)] = self.binaries.as_slice() {
            return name;
        }
        self.module
            .rsplit('/')
            .find(|part| !is_major_suffix(part))
            .unwrap_or(&self.module)
    }

    /// Build (or take from the cache) and return the entry whose `bin`
    /// directory holds the binaries.
    pub async fn build(&self, ui: &Ui, cache: &Cache, what: &str) -> Result<Entry, ArtifactError> {
        self.compile(ui, cache, what, Compile::Program, &[]).await
    }

    /// Like [`build`](Self::build), with `files` written into the wrapper
    /// module first (its `binaries` may then name `WRAPPER_MODULE/<dir>`).
    pub async fn build_with_files(
        &self,
        ui: &Ui,
        cache: &Cache,
        what: &str,
        files: &[WrapperFile],
    ) -> Result<Entry, ArtifactError> {
        self.compile(ui, cache, what, Compile::Program, files).await
    }

    /// Like [`build`](Self::build), but each package's tests are compiled
    /// into one binary (`go test -c`) instead.
    pub async fn build_tests(
        &self,
        ui: &Ui,
        cache: &Cache,
        what: &str,
    ) -> Result<Entry, ArtifactError> {
        self.compile(ui, cache, what, Compile::Tests, &[]).await
    }

    async fn compile(
        &self,
        ui: &Ui,
        cache: &Cache,
        what: &str,
        compile: Compile,
        files: &[WrapperFile],
    ) -> Result<Entry, ArtifactError> {
        let go_version = go_version(ui).await?;
        let key = self.key(&go_version, compile, files);
        let entry = cache.entry(
            "go-build",
            &format!("{}-{}-{}", self.entry_name(), self.version, self.arch),
            &key,
        );
        if entry.is_complete() {
            return Ok(entry);
        }
        let wrapper = self.prepare_wrapper(ui, cache, &go_version, files).await?;
        let staging = entry
            .stage()
            .map_err(|e| ArtifactError::io(entry.dir(), e))?;
        let out_dir = staging.path("bin");
        std::fs::create_dir_all(&out_dir).map_err(|e| ArtifactError::io(&out_dir, e))?;
        if compile == Compile::Program && builds_in_one_go(&self.binaries) {
            // One `go build` for every program: the compiles of one overlap
            // the links of another (a link keeps one core busy), and the
            // module graph is loaded once. Go names each binary after its
            // package, as the names say.
            let names: Vec<&str> = self.binaries.iter().map(|(_, n)| n.as_str()).collect();
            let bar = ui.count_bar(&format!("{what}: {}", names.join(", ")), 0);
            let mut args = self.args(
                &["build", "-v", "-o", &format!("{}/", out_dir.display())],
                "",
            );
            args.pop();
            args.extend(self.binaries.iter().map(|(pkg, _)| pkg.clone()));
            self.run_counting(ui, &wrapper, args, &bar)
                .await
                .map_err(|source| ArtifactError::Build {
                    what: format!("{} from {}@{}", names.join(", "), self.module, self.version),
                    source,
                })?;
            bar.finish_and_clear();
            return staging
                .commit(&key)
                .map_err(|e| ArtifactError::io(entry.dir(), e));
        }
        for (pkg, name) in &self.binaries {
            let out = out_dir.join(name).display().to_string();
            let failed = |source| ArtifactError::Build {
                what: format!("{name} from {}@{}", self.module, self.version),
                source,
            };
            let bar = ui.count_bar(&format!("{what}: {name}"), 0);
            match compile {
                Compile::Program => {
                    let args = self.args(&["build", "-v", "-o", &out], pkg);
                    self.run_counting(ui, &wrapper, args, &bar)
                        .await
                        .map_err(failed)?;
                }
                Compile::Tests => {
                    // `go test -c` names no packages as it compiles them, so
                    // compile the dependencies first with `go build -v`
                    // (counted against their number); the test binary then
                    // only compiles its own package and links.
                    let deps = self.test_dependencies(ui, &wrapper, pkg).await?;
                    bar.set_length(deps.len() as u64);
                    let mut args = self.args(&["build", "-v"], "");
                    args.pop();
                    args.extend(deps);
                    self.run_counting(ui, &wrapper, args, &bar)
                        .await
                        .map_err(failed)?;
                    let args = self.test_binary_args(&out, pkg);
                    self.run_counting(ui, &wrapper, args, &bar)
                        .await
                        .map_err(failed)?;
                }
            }
            bar.finish_and_clear();
        }
        staging
            .commit(&key)
            .map_err(|e| ArtifactError::io(entry.dir(), e))
    }

    /// `go <verb...> -trimpath -ldflags=… [-tags=…] <package>`.
    fn args(&self, verb: &[&str], package: &str) -> Vec<String> {
        let mut args: Vec<String> = verb.iter().map(|s| s.to_string()).collect();
        args.push("-trimpath".to_string());
        args.push(format!("-ldflags={}", self.ldflags));
        if !self.tags.is_empty() {
            args.push(format!("-tags={}", self.tags.join(",")));
        }
        args.push(package.to_string());
        args
    }

    /// `go test -c` of `package` into `out`, without vet: `go test` runs it
    /// over the package and, for its facts, over every package it imports;
    /// it checks code, the binary is the same without it.
    fn test_binary_args(&self, out: &str, package: &str) -> Vec<String> {
        self.args(&["test", "-c", "-vet=off", "-o", out], package)
    }

    /// The environment every compile of this build shares.
    fn command(&self, wrapper: &Path, args: &[String]) -> Command {
        let mut cmd = go(&args.iter().map(String::as_str).collect::<Vec<_>>());
        cmd.current_dir(wrapper)
            .env("GOOS", "linux")
            .env("GOARCH", &self.arch)
            .env("CGO_ENABLED", "0");
        if self.arch == "arm" {
            cmd.env("GOARM", "7");
        }
        cmd
    }

    /// Run go, counting the packages `-v` names on the bar.
    async fn run_counting(
        &self,
        ui: &Ui,
        wrapper: &Path,
        args: Vec<String>,
        bar: &indicatif::ProgressBar,
    ) -> Result<(), process::ProcessError> {
        let cmd = self.command(wrapper, &args);
        process::run(ui, cmd, GO_MISSING, |line| {
            // `go build -v` names each package as it is compiled.
            // With no known total the bar grows with the count.
            if !line.starts_with('#') && !line.contains(' ') {
                bar.inc(1);
                if bar.length().is_some_and(|len| bar.position() > len) {
                    bar.set_length(bar.position());
                }
            }
        })
        .await
        .map(drop)
    }

    /// The non-standard packages a package's test binary is built from,
    /// without the package itself and its test variants.
    async fn test_dependencies(
        &self,
        ui: &Ui,
        wrapper: &Path,
        package: &str,
    ) -> Result<Vec<String>, ArtifactError> {
        let args = self.args(
            &[
                "list",
                "-deps",
                "-test",
                "-f",
                "{{if not .Standard}}{{.ImportPath}}{{end}}",
            ],
            package,
        );
        let listed = process::output(ui, self.command(wrapper, &args), GO_MISSING)
            .await
            .map_err(|source| ArtifactError::Build {
                what: format!("the package list of {package}"),
                source,
            })?;
        Ok(listed
            .lines()
            .map(str::trim)
            .filter(|p| !p.is_empty() && !p.contains(' ') && !p.ends_with(".test") && *p != package)
            .map(String::from)
            .collect())
    }

    /// Write the wrapper module for this module version; returns its directory.
    async fn prepare_wrapper(
        &self,
        ui: &Ui,
        cache: &Cache,
        go_version: &str,
        files: &[WrapperFile],
    ) -> Result<PathBuf, ArtifactError> {
        let spec = format!("{}@{}", self.module, self.version);
        let go_mod = download_module(ui, &self.module, &self.version)
            .await?
            .go_mod;
        let upstream = read_go_mod(ui, &go_mod).await?;
        if let Some(required) = &upstream.go {
            if !go_satisfies(required, go_version) {
                return Err(ArtifactError::GoTooOld {
                    module: spec,
                    required: required.clone(),
                    local: go_version.to_string(),
                });
            }
        }
        let text = self.wrapper_go_mod(&upstream);
        let dir = cache
            .root()
            .join("go-wrappers")
            .join(spec.replace('/', "_"));
        std::fs::create_dir_all(&dir).map_err(|e| ArtifactError::io(&dir, e))?;
        // Keep go.sum between runs; rewrite go.mod only when it changed, so
        // `go` does not redo its requirement resolution every time.
        let own = files.iter().map(|f| (f.path.as_str(), f.content.as_str()));
        for (name, content) in std::iter::once(("go.mod", text.as_str())).chain(own) {
            let path = dir.join(name);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(content) {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| ArtifactError::io(parent, e))?;
                }
                std::fs::write(&path, content).map_err(|e| ArtifactError::io(&path, e))?;
            }
        }
        Ok(dir)
    }

    fn wrapper_go_mod(&self, upstream: &ModFile) -> String {
        let mut s = String::from(
            "// Generated by kubeadm-local-cluster to build a published module whose\n\
             // go.mod replaces siblings with local paths.\n\
             module ",
        );
        s.push_str(WRAPPER_MODULE);
        s.push_str("\n\n");
        if let Some(go) = &upstream.go {
            s.push_str(&format!("go {go}\n\n"));
        }
        for d in upstream.go_debug.iter().flatten() {
            s.push_str(&format!("godebug {}={}\n", d.key, d.value));
        }
        let required: std::collections::BTreeSet<&str> = upstream
            .require
            .iter()
            .flatten()
            .map(|r| r.path.as_str())
            .collect();
        let mut replaces = BTreeMap::new();
        // Each sibling required at the version it is replaced with, not at
        // upstream's placeholder (v0.0.0): a module some other build needs
        // (the e2e suite's) may require the published version, and the
        // selected version is part of every compiled package's cache key
        // with -trimpath, so each build would compile them all again.
        let mut pinned = vec![format!("{} {}", self.module, self.version)];
        for r in upstream.replace.iter().flatten() {
            let old = match &r.old.version {
                Some(v) => format!("{} {v}", r.old.path),
                None => r.old.path.clone(),
            };
            let local = r.new.path.starts_with("./") || r.new.path.starts_with("../");
            if local && !required.contains(r.old.path.as_str()) {
                // Not a sibling the module uses but a guard, like etcd's
                // `go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY`: nothing to replace.
                continue;
            }
            let new = if local {
                let sibling = format!(
                    "{} {}",
                    r.old.path,
                    (self.sibling_version)(&r.old.path, &self.version)
                );
                if r.old.version.is_none() {
                    pinned.push(sibling.clone());
                }
                sibling
            } else {
                match &r.new.version {
                    Some(v) => format!("{} {v}", r.new.path),
                    None => r.new.path.clone(),
                }
            };
            replaces.insert(old, new);
        }
        s.push_str("\nrequire (\n");
        for line in pinned {
            s.push_str(&format!("\t{line}\n"));
        }
        s.push_str(")\n");
        if !replaces.is_empty() {
            s.push_str("\nreplace (\n");
            for (old, new) in replaces {
                s.push_str(&format!("\t{old} => {new}\n"));
            }
            s.push_str(")\n");
        }
        s
    }
}

#[cfg(test)]
#[path = "gomod_tests.rs"]
mod tests;
