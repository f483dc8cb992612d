//! Paths in a system's tree followed through its symlinks: parent
//! directories resolved (merged /usr), and commands through
//! /etc/alternatives to the file they select.

use std::path::{Component, Path, PathBuf};

/// `rel` with its parent directories' symlinks resolved inside `root`
/// (`bin/sh` → `usr/bin/sh` on a merged-/usr system), relative again.
pub(super) fn resolve_parents(root: &Path, rel: &Path) -> PathBuf {
    let Some(name) = rel.file_name() else {
        return rel.to_path_buf();
    };
    let mut dir = PathBuf::new();
    for part in rel.parent().into_iter().flat_map(Path::components) {
        let Component::Normal(part) = part else {
            continue;
        };
        dir.push(part);
        for _ in 0..8 {
            let Ok(target) = std::fs::read_link(root.join(&dir)) else {
                break;
            };
            dir = normalize(&if target.is_absolute() {
                target.strip_prefix("/").unwrap_or(&target).to_path_buf()
            } else {
                dir.parent().unwrap_or(Path::new("")).join(target)
            });
        }
    }
    dir.join(name)
}

/// Lexically resolve `.` and `..` in a relative path.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(p) => out.push(p),
            _ => {}
        }
    }
    out
}

/// Follow `rel` through /etc/alternatives to the file it selects (relative
/// to `root`); None when it is no alternative.
pub(super) fn alternative(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut current = rel.to_path_buf();
    let mut through_alternatives = false;
    for _ in 0..8 {
        let Ok(target) = std::fs::read_link(root.join(&current)) else {
            break;
        };
        let next = if target.is_absolute() {
            target.strip_prefix("/").ok()?.to_path_buf()
        } else {
            current.parent()?.join(target)
        };
        current = resolve_parents(root, &normalize(&next));
        through_alternatives |= current.starts_with("etc/alternatives");
        if !current.starts_with("etc/alternatives") {
            break;
        }
    }
    through_alternatives.then_some(current)
}
