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
//!
//! Here: what a build is; `toolchain.rs` runs the local `go`; `module.rs`
//! downloads module versions and reads their go.mod; `wrapper.rs` writes
//! the wrapper module; `build.rs` compiles in it, into the build cache.

mod build;
mod module;
mod toolchain;
mod wrapper;

pub use module::{download_module, module_dir, module_file, required_version, DownloadedModule};
pub use toolchain::{compiler_memory, go_env, go_version, require_go};

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

#[cfg(test)]
mod tests;
