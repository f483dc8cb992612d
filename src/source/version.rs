//! Which Kubernetes version a source tree is, stamped into what is built
//! from it the way Kubernetes' own `hack/lib/version.sh` stamps its builds.
//!
//! - A git checkout: `git describe --tags --match 'v*' --abbrev=14` turned
//!   into a semantic version as version.sh does (`v1.37.2-5-g<hash>` →
//!   `v1.37.2-5+<hash>`), with `-dirty` when `git status` shows changes; the
//!   commit, and the commit's time as the build date.
//! - Any other tree: the configured `source.kubernetesVersion` with `-dirty`
//!   (nothing says whether the tree was changed), checked against the minor
//!   the tree names in `build/build-image/cross/VERSION`.
//!
//! The build date is the commit's time (or fixed), not the time of the
//! build: a rebuild of unchanged code links to the same binary, which
//! `reup` then leaves alone.

use std::path::Path;

use tokio::process::Command;

use super::SourceError;
use crate::artifacts::VersionStamp;
use crate::process;
use crate::settings::KubeVersion;
use crate::ui::Ui;

/// The tree's version and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeVersion {
    pub stamp: VersionStamp,
    /// For messages: where the version came from.
    pub how: String,
}

impl TreeVersion {
    pub fn version(&self) -> &KubeVersion {
        &self.stamp.version
    }
}

/// The minor named in `build/build-image/cross/VERSION` (`v1.37.0-go1.26…`),
/// the build image a Kubernetes branch uses.
const CROSS_VERSION: &str = "build/build-image/cross/VERSION";

/// The version of the tree at `dir`; `configured` is what the settings say,
/// used where the tree has no git history.
pub async fn of_tree(
    ui: &Ui,
    dir: &Path,
    configured: &KubeVersion,
) -> Result<TreeVersion, SourceError> {
    if let Some(git) = git_facts(ui, dir).await? {
        return from_git(dir, &git, configured);
    }
    let tree_minor = std::fs::read_to_string(dir.join(CROSS_VERSION))
        .ok()
        .and_then(|text| cross_minor(&text));
    if let Some(minor) = tree_minor {
        if minor != configured.minor {
            return Err(SourceError::VersionMismatch {
                dir: dir.to_path_buf(),
                tree: format!("1.{minor}"),
                file: CROSS_VERSION.to_string(),
                configured: configured.to_string(),
            });
        }
    }
    Ok(TreeVersion {
        stamp: VersionStamp::untracked(configured),
        how: format!(
            "{} is not a git checkout: source.kubernetesVersion {configured}, marked -dirty",
            dir.display()
        ),
    })
}

/// What git says about a checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GitFacts {
    commit: String,
    /// `git describe` output; None when no `v*` tag is reachable.
    describe: Option<String>,
    dirty: bool,
    commit_time: u64,
}

async fn git(ui: &Ui, dir: &Path, args: &[&str]) -> Result<String, process::ProcessError> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    process::output(ui, cmd, "git reads the tree's version.").await
}

/// None when `dir` is not (the top of) a git checkout or git is missing.
async fn git_facts(ui: &Ui, dir: &Path) -> Result<Option<GitFacts>, SourceError> {
    // A tree inside another project's checkout is not that project's version.
    let top = match git(ui, dir, &["rev-parse", "--show-toplevel"]).await {
        Ok(top) => top,
        Err(_) => return Ok(None),
    };
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same(Path::new(&top), dir) {
        return Ok(None);
    }
    let failed = |source| SourceError::Git {
        dir: dir.to_path_buf(),
        source,
    };
    let commit = git(ui, dir, &["rev-parse", "HEAD^{commit}"])
        .await
        .map_err(failed)?;
    let describe = git(
        ui,
        dir,
        &[
            "describe",
            "--tags",
            "--match=v*",
            "--abbrev=14",
            "HEAD^{commit}",
        ],
    )
    .await
    .ok();
    let status = git(ui, dir, &["status", "--porcelain"])
        .await
        .map_err(failed)?;
    let time = git(ui, dir, &["log", "-1", "--format=%ct", "HEAD"])
        .await
        .map_err(failed)?;
    Ok(Some(GitFacts {
        commit,
        describe,
        dirty: !status.trim().is_empty(),
        commit_time: time.trim().parse().unwrap_or(0),
    }))
}

fn from_git(
    dir: &Path,
    git: &GitFacts,
    configured: &KubeVersion,
) -> Result<TreeVersion, SourceError> {
    let state = if git.dirty { "dirty" } else { "clean" };
    let Some(describe) = &git.describe else {
        // A shallow clone or a fork without tags: the configured version,
        // told apart by the commit.
        let text = format!(
            "{configured}-untagged+{}{}",
            &git.commit[..git.commit.len().min(14)],
            if git.dirty { "-dirty" } else { "" }
        );
        let version = parse(&text, dir)?;
        return Ok(TreeVersion {
            stamp: VersionStamp::tree(version, &git.commit, state, git.commit_time),
            how: format!(
                "no v* tag is reachable from HEAD in {}: source.kubernetesVersion and the commit",
                dir.display()
            ),
        });
    };
    let text = semantic(describe, git.dirty);
    let version = parse(&text, dir)?;
    Ok(TreeVersion {
        stamp: VersionStamp::tree(version, &git.commit, state, git.commit_time),
        how: format!("git describe in {} ({state})", dir.display()),
    })
}

fn parse(text: &str, dir: &Path) -> Result<KubeVersion, SourceError> {
    text.parse().map_err(|reason| SourceError::BadVersion {
        dir: dir.to_path_buf(),
        text: text.to_string(),
        reason,
    })
}

/// version.sh's reading of `git describe`: the distance and hash become
/// semantic-version parts, and a dirty tree gets `-dirty`.
fn semantic(describe: &str, dirty: bool) -> String {
    let mut version = describe.trim().to_string();
    let dashes = version.matches('-').count();
    // `…-<distance>-g<14 hex>`: the hash becomes build metadata; with a
    // pre-release before it (three dashes) the distance joins that with a dot.
    if dashes >= 2 {
        if let Some((head, hash)) = version.rsplit_once("-g") {
            if hash.len() == 14 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                if let Some((base, distance)) = head.rsplit_once('-') {
                    let joiner = if dashes == 3 { "." } else { "-" };
                    version = format!("{base}{joiner}{distance}+{hash}");
                }
            }
        }
    }
    if dirty {
        version.push_str("-dirty");
    }
    version
}

/// `v1.37.0-go1.26.10-bullseye.0` → 37.
fn cross_minor(text: &str) -> Option<u32> {
    let rest = text.trim().strip_prefix("v1.")?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_output_becomes_a_semantic_version_as_in_version_sh() {
        assert_eq!(semantic("v1.37.2", false), "v1.37.2");
        assert_eq!(semantic("v1.37.2", true), "v1.37.2-dirty");
        assert_eq!(
            semantic("v1.37.2-5-g0123456789abcd", false),
            "v1.37.2-5+0123456789abcd"
        );
        assert_eq!(
            semantic("v1.38.0-alpha.0-6-g84c76d1142ea4d", true),
            "v1.38.0-alpha.0.6+84c76d1142ea4d-dirty"
        );
        // Each parses as a version.
        for text in [
            "v1.37.2-5+0123456789abcd",
            "v1.38.0-alpha.0.6+84c76d1142ea4d-dirty",
        ] {
            let v: KubeVersion = text.parse().unwrap();
            assert_eq!(v.to_string(), text);
        }
    }

    #[test]
    fn the_cross_build_image_names_the_branch_minor() {
        assert_eq!(cross_minor("v1.37.0-go1.26.10-bullseye.0\n"), Some(37));
        assert_eq!(cross_minor("v1.4.0"), Some(4));
        assert_eq!(cross_minor("junk"), None);
    }

    fn facts(describe: Option<&str>, dirty: bool) -> GitFacts {
        GitFacts {
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            describe: describe.map(String::from),
            dirty,
            commit_time: 1_800_000_000,
        }
    }

    #[test]
    fn a_git_tree_is_stamped_with_its_commit_state_and_time() {
        let configured: KubeVersion = "v1.37.2".parse().unwrap();
        let v = from_git(Path::new("/k"), &facts(Some("v1.37.2"), true), &configured).unwrap();
        assert_eq!(v.version().to_string(), "v1.37.2-dirty");
        assert_eq!(v.stamp.tree_state, "dirty");
        assert_eq!(v.stamp.minor, "37+");
        assert_eq!(v.stamp.build_date(), "2027-01-15T08:00:00Z");
        let v = from_git(Path::new("/k"), &facts(None, false), &configured).unwrap();
        assert_eq!(v.version().to_string(), "v1.37.2-untagged+0123456789abcd");
        assert!(v.how.contains("no v* tag"), "{}", v.how);
    }

    #[tokio::test]
    async fn a_plain_tree_takes_the_configured_version_if_its_minor_agrees() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("build/build-image/cross")).unwrap();
        std::fs::write(
            dir.path().join(CROSS_VERSION),
            "v1.36.0-go1.25.3-bullseye.0\n",
        )
        .unwrap();
        let ui = Ui::recording(1);
        let err = of_tree(&ui, dir.path(), &"v1.37.2".parse().unwrap())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is Kubernetes 1.36")
                && err.contains("build/build-image/cross/VERSION")
                && err.contains("v1.37.2"),
            "{err}"
        );
        let v = of_tree(&ui, dir.path(), &"v1.36.3".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(v.version().to_string(), "v1.36.3-dirty");
        assert_eq!(v.stamp.commit, "");
    }
}
