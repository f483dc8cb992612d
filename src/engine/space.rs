//! Finding a failure for want of space in an error's chain: our own writes,
//! a tool's message, or the engine's (whose data root is then full).

use crate::error::{is_storage_full, says_no_space};

/// A failure for want of space somewhere in an error's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSpace {
    /// The file that did not fit, when a message names one: as the host
    /// sees it for our own writes and most tools', as the engine or a
    /// chroot sees it otherwise.
    pub path: Option<std::path::PathBuf>,
    /// The Docker engine's own write failed (its data root is full).
    pub in_engine: bool,
}

/// Finds the deepest failure for want of space in `e`'s chain: an
/// [`std::io::Error`] of ours (its path is in the message of the error
/// wrapping it) or a tool's or the engine's message saying so. None when
/// space was not the problem (as far as the messages tell).
pub fn no_space(e: &(dyn std::error::Error + 'static)) -> Option<NoSpace> {
    let mut found = None;
    let mut in_engine = false;
    // The messages of the errors around the current one, outermost first.
    let mut outer: Vec<String> = Vec::new();
    let mut current = Some(e);
    while let Some(err) = current {
        let engine = err.downcast_ref::<super::EngineError>();
        in_engine |= engine.is_some();
        let text = err.to_string();
        if engine.is_some_and(|e| e.is_no_space()) {
            found = Some(NoSpace {
                path: None,
                in_engine,
            });
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if is_storage_full(io) {
                found = Some(NoSpace {
                    path: outer.iter().rev().find_map(|t| path_in(t)),
                    in_engine,
                });
            }
        } else if let Some(line) = text.lines().find(|l| says_no_space(l)) {
            found = Some(NoSpace {
                path: path_in(line),
                in_engine,
            });
        }
        outer.push(text);
        current = err.source();
    }
    found
}

/// The first absolute path in a message (`tar: /x/y: Cannot write: ...`,
/// `write /var/lib/docker/tmp/z: no space left on device`, `writing '/a'`).
fn path_in(text: &str) -> Option<std::path::PathBuf> {
    text.split_whitespace()
        .map(|word| word.trim_matches(|c: char| "'\"`,:;()[]{}".contains(c)))
        .find(|word| word.len() > 1 && word.starts_with('/'))
        .map(std::path::PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("writing {}", .0.display())]
    struct Writing(std::path::PathBuf, #[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Tool(String);

    #[test]
    fn our_own_full_writes_are_found_with_their_path() {
        let full = std::io::Error::from_raw_os_error(28);
        assert!(is_storage_full(&full));
        let e = Outer(std::io::Error::other(Writing(
            "/cache/base/x/rootfs.tar.gz".into(),
            std::io::Error::from_raw_os_error(28),
        )));
        // Through an io::Error that only wraps: the path is still found.
        assert_eq!(
            no_space(&e),
            Some(NoSpace {
                path: Some("/cache/base/x/rootfs.tar.gz".into()),
                in_engine: false
            })
        );
        let quota = Writing("/q".into(), std::io::Error::from_raw_os_error(122));
        assert_eq!(no_space(&quota).unwrap().path, Some("/q".into()));
    }

    #[test]
    fn tools_saying_so_are_found_with_the_file_they_name() {
        let tar = Tool(
            "`tar -czf /c/r.tar.gz .` failed (exit status: 2)\n    tar: /c/r.tar.gz: \
             Cannot write: No space left on device\n    tar: Error is not recoverable"
                .into(),
        );
        assert_eq!(no_space(&tar).unwrap().path, Some("/c/r.tar.gz".into()));
        let go = Tool("go: write '/root/.cache/go-build/ab/x-d': no space left on device".into());
        assert_eq!(
            no_space(&go).unwrap().path,
            Some("/root/.cache/go-build/ab/x-d".into())
        );
        assert_eq!(
            no_space(&Tool("no space left on device".into())),
            Some(NoSpace {
                path: None,
                in_engine: false
            })
        );
    }

    #[test]
    fn other_failures_are_not_taken_for_a_full_disk() {
        let e = Writing("/c/x".into(), std::io::Error::from_raw_os_error(13));
        assert_eq!(no_space(&e), None);
        assert_eq!(
            no_space(&Tool("E: Couldn't download packages".into())),
            None
        );
    }
}
