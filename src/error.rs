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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_chain_is_joined_once() {
        let e = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(chain(&e), "outer: disk on fire");
    }
}
