//! The one way the program writes to its standard output and error.
//!
//! `print!`/`println!`/`eprintln!` panic when the write fails, and Rust
//! ignores SIGPIPE, so `local-cluster completion bash | head -1` used to
//! end in a backtrace. Everything goes through here instead, and failures
//! come back as a [`WriteError`]:
//!
//! - standard output carries the results (YAML, hints, names), so a failed
//!   write ends the command: a reader that went away (`| head`) quietly with
//!   [`BROKEN_PIPE_EXIT`], anything else (`> /dev/full`) with
//!   `error: writing to standard output: ...` and a failure status;
//! - standard error carries progress, warnings and the final error message;
//!   a command's outcome does not depend on them, so its callers ignore
//!   failures ([`note`]) and the exit status stays the command's own.
//!
//! SIGPIPE is left ignored on purpose: the process also writes to ssh
//! children's pipes and to sockets, where a vanished peer is an error to
//! report, not a reason to die.

use std::fmt::Display;
use std::io::Write;

/// The status of a command whose standard output was closed by its reader:
/// 128 + SIGPIPE, what a shell shows for a tool that SIGPIPE killed, so
/// `set -o pipefail` scripts and `$PIPESTATUS` see the same as for `yes | head`
/// (the output was cut short, which is not success), without our dying of a
/// signal we keep ignored.
pub const BROKEN_PIPE_EXIT: u8 = 141;

/// Which standard stream a write failed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Display for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stream::Stdout => "standard output",
            Stream::Stderr => "standard error",
        })
    }
}

/// A write to standard output or error that failed.
#[derive(Debug, thiserror::Error)]
#[error("writing to {stream}: {}", describe(.error))]
pub struct WriteError {
    pub stream: Stream,
    // Not a `#[source]`: the message already says it, once.
    pub error: std::io::Error,
}

impl WriteError {
    /// The reader closed its end (`| head`): nothing to report.
    pub fn is_broken_pipe(&self) -> bool {
        self.error.kind() == std::io::ErrorKind::BrokenPipe
    }
}

/// The system's text for an I/O error without Rust's ` (os error N)`.
fn describe(e: &std::io::Error) -> String {
    let text = e.to_string();
    match (e.raw_os_error(), text.rfind(" (os error ")) {
        (Some(_), Some(at)) => text[..at].to_string(),
        _ => text,
    }
}

fn write_to(stream: Stream, bytes: &[u8]) -> Result<(), WriteError> {
    // Flushed at once: what stays in std's buffer is flushed at exit with
    // its errors dropped.
    let result = match stream {
        Stream::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
        Stream::Stderr => {
            let mut err = std::io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush())
        }
    };
    result.map_err(|error| WriteError { stream, error })
}

/// Write `bytes` to standard output as they are.
pub fn bytes(bytes: &[u8]) -> Result<(), WriteError> {
    write_to(Stream::Stdout, bytes)
}

/// Write `text` to standard output as it is (it brings its own newlines).
pub fn text(text: impl Display) -> Result<(), WriteError> {
    bytes(text.to_string().as_bytes())
}

/// Write `text` and a newline to standard output.
pub fn line(text: impl Display) -> Result<(), WriteError> {
    bytes(format!("{text}\n").as_bytes())
}

/// Write `text` and a newline to standard error.
pub fn error_line(text: impl Display) -> Result<(), WriteError> {
    write_to(Stream::Stderr, format!("{text}\n").as_bytes())
}

/// [`error_line`] for messages whose loss changes nothing: progress,
/// warnings, the final error (the exit status says it failed anyway).
pub fn note(text: impl Display) {
    let _ = error_line(text);
}

/// Flush standard output, for text a library wrote to it directly.
pub fn flush() -> Result<(), WriteError> {
    bytes(b"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_stream_and_the_systems_words_only() {
        let full = WriteError {
            stream: Stream::Stdout,
            error: std::io::Error::from_raw_os_error(28),
        };
        assert_eq!(
            full.to_string(),
            "writing to standard output: No space left on device"
        );
        assert!(!full.is_broken_pipe());
        let pipe = WriteError {
            stream: Stream::Stderr,
            error: std::io::Error::from_raw_os_error(32),
        };
        assert!(pipe.is_broken_pipe());
        assert_eq!(pipe.to_string(), "writing to standard error: Broken pipe");
        let other = WriteError {
            stream: Stream::Stdout,
            error: std::io::Error::other("odd (os error 1) text"),
        };
        assert_eq!(
            other.to_string(),
            "writing to standard output: odd (os error 1) text"
        );
    }
}
