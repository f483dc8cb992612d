//! Commands run inside containers: what a command is given, what it returns,
//! and the error a failed command becomes (with its output).
//!
//! Output is kept as bytes exactly as the command wrote it: a tar stream of
//! pod logs or a binary must come out unchanged, and a multi-byte character
//! may arrive split across two chunks. Text is decoded only when asked for,
//! from the whole buffer or from whole lines.

/// The captured result of a command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// A successful command that printed `stdout`.
    pub fn ok(stdout: impl Into<Vec<u8>>) -> ExecOutput {
        ExecOutput {
            exit_code: 0,
            stdout: stdout.into(),
            stderr: Vec::new(),
        }
    }

    /// A failed command that printed `stderr`.
    pub fn failed(exit_code: i64, stderr: impl Into<Vec<u8>>) -> ExecOutput {
        ExecOutput {
            exit_code,
            stdout: Vec::new(),
            stderr: stderr.into(),
        }
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stdout and stderr together, in that order, as text.
    pub fn combined(&self) -> String {
        let mut s = self.stdout_text();
        if !self.stderr.is_empty() {
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(&String::from_utf8_lossy(&self.stderr));
        }
        s
    }
}

/// A command that ran and failed.
#[derive(Debug, thiserror::Error)]
#[error("`{command}` in {container} exited with {exit_code}{}", tail(.output, 25))]
pub struct ExecError {
    pub container: String,
    pub command: String,
    pub exit_code: i64,
    pub output: String,
}

/// The last `n` lines of `output`, indented, for error messages.
pub fn tail(output: &str, n: usize) -> String {
    let lines: Vec<&str> = output.lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(n);
    let mut s = String::from("; last output:");
    if start > 0 {
        s.push_str(&format!("\n    ... ({start} earlier lines)"));
    }
    for line in &lines[start..] {
        s.push_str("\n    ");
        s.push_str(line);
    }
    s
}

/// Options for one command.
#[derive(Default)]
pub struct ExecRequest<'a> {
    /// What the command is for, by name (a node operation): the fake
    /// engine answers by it, so tests say what a node does, not what a
    /// script says.
    pub op: Option<&'static str>,
    pub stdin: Option<&'a [u8]>,
    pub env: Vec<String>,
    /// Called with each line of output as it arrives (for `--v 2`).
    pub on_line: Option<&'a mut (dyn FnMut(&str) + Send)>,
}

/// Cuts a byte stream into lines. Bytes are kept until their line is
/// complete, so a character split across chunks is decoded whole.
#[derive(Default)]
pub struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// Feed a chunk; `emit` gets each line it completes (without the newline).
    pub fn feed(&mut self, chunk: &[u8], mut emit: impl FnMut(&str)) {
        self.pending.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(pos) = self.pending[start..].iter().position(|b| *b == b'\n') {
            let end = start + pos;
            emit(&String::from_utf8_lossy(&self.pending[start..end]));
            start = end + 1;
        }
        self.pending.drain(..start);
    }

    /// The last line, if the stream did not end with a newline.
    pub fn finish(self, mut emit: impl FnMut(&str)) {
        if !self.pending.is_empty() {
            emit(&String::from_utf8_lossy(&self.pending));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines_and_counts_the_rest() {
        let out = (1..=30)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let t = tail(&out, 3);
        assert!(t.contains("(27 earlier lines)"));
        assert!(t.ends_with("line 28\n    line 29\n    line 30"));
        assert_eq!(tail("", 3), "");
    }

    #[test]
    fn lines_survive_characters_split_across_chunks() {
        let text = "grüße\nzweite Zeile ✓\nohne Ende";
        let bytes = text.as_bytes();
        // Split inside the two-byte 'ü' and inside the three-byte '✓'.
        let ue = text.find('ü').unwrap() + 1;
        let check = text.find('✓').unwrap() + 2;
        let mut lines = Lines::default();
        let mut got = Vec::new();
        for chunk in [&bytes[..ue], &bytes[ue..check], &bytes[check..]] {
            lines.feed(chunk, |l| got.push(l.to_string()));
        }
        lines.finish(|l| got.push(l.to_string()));
        assert_eq!(got, ["grüße", "zweite Zeile ✓", "ohne Ende"]);
    }
}
