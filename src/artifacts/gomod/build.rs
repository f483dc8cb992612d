//! Compiling a [`GoModuleBuild`] in its wrapper module into a build cache
//! entry: its cache key and entry name, one `go build` for several
//! programs or one per package.

use std::path::Path;

use tokio::process::Command;

use super::toolchain::{go, go_version, GO_MISSING};
use super::{GoModuleBuild, WrapperFile};
use crate::artifacts::cache::{Cache, CacheKey, Entry};
use crate::artifacts::ArtifactError;
use crate::process;
use crate::ui::Ui;

/// `v2`, `v3`, …: the suffix Go puts on a module path for a major version.
pub(super) fn is_major_suffix(part: &str) -> bool {
    part.strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Can `go build -o DIR/` make these programs in one run? It names each
/// binary after its package's last path element (the one before a
/// major-version suffix), so each name must be that, and every name one of
/// its own.
pub(super) fn builds_in_one_go(binaries: &[(String, String)]) -> bool {
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

impl GoModuleBuild {
    fn key(&self, go_version: &str, files: &[WrapperFile]) -> CacheKey {
        let mut key = CacheKey::new()
            .with("format", 1)
            .with("module", &self.module)
            .with("version", &self.version)
            .with("arch", &self.arch)
            .with("ldflags", &self.ldflags)
            .with("tags", self.tags.join(","))
            .with("go", go_version);
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
    /// binary when there is one (`agnhost`, `registry`), else the
    /// module's last path element that is not a major-version suffix, so one
    /// module's builds of different binaries are told apart at a glance.
    pub(super) fn entry_name(&self) -> &str {
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
        self.compile(ui, cache, what, &[]).await
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
        self.compile(ui, cache, what, files).await
    }

    async fn compile(
        &self,
        ui: &Ui,
        cache: &Cache,
        what: &str,
        files: &[WrapperFile],
    ) -> Result<Entry, ArtifactError> {
        let go_version = go_version(ui).await?;
        let key = self.key(&go_version, files);
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
        if builds_in_one_go(&self.binaries) {
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
            let args = self.args(&["build", "-v", "-o", &out], pkg);
            self.run_counting(ui, &wrapper, args, &bar)
                .await
                .map_err(failed)?;
            bar.finish_and_clear();
        }
        staging
            .commit(&key)
            .map_err(|e| ArtifactError::io(entry.dir(), e))
    }

    /// `go <verb...> -trimpath -ldflags=… [-tags=…] <package>`.
    pub(super) fn args(&self, verb: &[&str], package: &str) -> Vec<String> {
        let mut args: Vec<String> = verb.iter().map(|s| s.to_string()).collect();
        args.push("-trimpath".to_string());
        args.push(format!("-ldflags={}", self.ldflags));
        if !self.tags.is_empty() {
            args.push(format!("-tags={}", self.tags.join(",")));
        }
        args.push(package.to_string());
        args
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
}
