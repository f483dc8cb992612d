//! Errors shared across modules: the one formatter of an error's chain and
//! the one constructor of local I/O errors.
//!
//! Each module has its own typed error with `#[source]` links; messages
//! never repeat their source's text, so walking the chain says everything
//! once.

/// An error and its causes on one line (`outer: cause: root cause`), for
/// warnings and notes that must not stop the command.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // Some libraries repeat their source in their own message.
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

/// Gives an error type with an `Io { action, path, source }` variant the
/// constructor its call sites use: `.map_err(Type::io("reading", path))`.
macro_rules! io_constructor {
    ($type:ident) => {
        impl $type {
            pub fn io(
                action: &'static str,
                path: &std::path::Path,
            ) -> impl FnOnce(std::io::Error) -> Self {
                let path = path.to_path_buf();
                move |source| $type::Io {
                    action,
                    path,
                    source,
                }
            }
        }
    };
}
pub(crate) use io_constructor;

/// How a tool, the kernel or the Docker engine says a write found no room.
const NO_SPACE: &str = "no space left on device";

/// Does a tool's or the engine's message say a write found no room?
pub fn says_no_space(text: &str) -> bool {
    text.to_ascii_lowercase().contains(NO_SPACE)
}

/// ENOSPC, or EDQUOT (a quota counts as full for whoever hit it).
pub fn is_storage_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(122)
}

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
        let engine = err.downcast_ref::<crate::engine::EngineError>();
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

    #[test]
    fn the_chain_is_joined_once() {
        let e = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(chain(&e), "outer: disk on fire");
    }
}
