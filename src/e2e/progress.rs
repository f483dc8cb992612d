//! Live counts read from ginkgo's console output while a run goes on.
//!
//! ginkgo (with `--silence-skips`) prints `Will run N of M specs`, then one
//! `•` per passed test, and for a test that did not pass a block between two
//! lines of dashes whose first line names the outcome (`• [FAILED] [3.1
//! seconds]`) and whose second names the test. The counts are only for the
//! progress line: the summary is read from ginkgo's JSON report.

const DELIMITER: &str = "------------------------------";

/// Counts so far.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Progress {
    /// From `Will run N of M specs`, once printed.
    pub total: Option<u64>,
    pub passed: u64,
    pub failed: u64,
    /// Names of the failed tests, in the order they finished.
    pub failures: Vec<String>,
}

impl Progress {
    pub fn done(&self) -> u64 {
        self.passed + self.failed
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
enum Block {
    #[default]
    Outside,
    /// Just after the opening delimiter: the next line is the header.
    Header,
    /// The header said the test failed; the next line is its name.
    FailedName,
    Inside,
}

/// Feed it output as it arrives, in pieces of any size.
#[derive(Debug, Default)]
pub struct ProgressReader {
    progress: Progress,
    line: Vec<u8>,
    block: Block,
}

impl ProgressReader {
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Take in more output; true when a count changed.
    pub fn feed(&mut self, bytes: &[u8]) -> bool {
        let before = self.progress.clone();
        for &b in bytes {
            if b == b'\n' {
                let line = String::from_utf8_lossy(&self.line).into_owned();
                self.line.clear();
                self.end_line(line.trim_end_matches('\r'));
            } else {
                self.line.push(b);
                // `•` (UTF-8 e2 80 a2) outside a block is a passed test; it
                // arrives without a newline, so count it as it comes.
                if self.block == Block::Outside && self.line.ends_with("•".as_bytes()) {
                    let text = String::from_utf8_lossy(&self.line);
                    if text.chars().all(|c| matches!(c, '•' | 'S' | 'P')) {
                        self.progress.passed += 1;
                    }
                }
            }
        }
        self.progress != before
    }

    fn end_line(&mut self, line: &str) {
        if line == DELIMITER {
            self.block = match self.block {
                Block::Outside => Block::Header,
                _ => Block::Outside,
            };
            return;
        }
        match self.block {
            Block::Outside => {
                if let Some(rest) = line.strip_prefix("Will run ") {
                    self.progress.total =
                        rest.split_whitespace().next().and_then(|n| n.parse().ok());
                }
            }
            Block::Header => {
                self.block = if failed_header(line) {
                    self.progress.failed += 1;
                    Block::FailedName
                } else {
                    if passed_header(line) {
                        // A passed test shown in full (verbose runs).
                        self.progress.passed += 1;
                    }
                    Block::Inside
                };
            }
            Block::FailedName => {
                self.progress.failures.push(line.trim().to_string());
                self.block = Block::Inside;
            }
            Block::Inside => {}
        }
    }
}

fn failed_header(line: &str) -> bool {
    line.starts_with("• [")
        && [
            "[FAILED]",
            "[PANICKED]",
            "[TIMEDOUT]",
            "[INTERRUPTED]",
            "[ABORTED]",
        ]
        .iter()
        .any(|s| line.contains(s))
}

fn passed_header(line: &str) -> bool {
    line.starts_with("• [") && !failed_header(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = "Running Suite: Kubernetes e2e suite - /x\n\
        ====\n\
        Random Seed: 1 - will randomize all specs\n\
        \n\
        Will run 4 of 3206 specs\n\
        Running in parallel across 2 processes\n\
        ••\n\
        ------------------------------\n\
        • [FAILED] [39.7 seconds]\n\
        [sig-network] DNS [It] should provide DNS for services [Conformance]\n\
        k8s.io/kubernetes/test/e2e/network/dns.go:152\n\
        \n\
          Timeline >>\n\
          • a bullet inside the log\n\
        ------------------------------\n\
        •\n\
        \n\
        Ran 4 of 3206 Specs in 40.260 seconds\n";

    #[test]
    fn counts_passes_failures_and_names_from_ginkgo_output() {
        let mut reader = ProgressReader::default();
        reader.feed(RUN.as_bytes());
        let p = reader.progress();
        assert_eq!(p.total, Some(4));
        assert_eq!((p.passed, p.failed, p.done()), (3, 1, 4));
        assert_eq!(
            p.failures,
            ["[sig-network] DNS [It] should provide DNS for services [Conformance]"]
        );
    }

    #[test]
    fn the_same_counts_whatever_the_pieces() {
        let mut whole = ProgressReader::default();
        whole.feed(RUN.as_bytes());
        for size in [1, 2, 3, 7] {
            let mut reader = ProgressReader::default();
            for piece in RUN.as_bytes().chunks(size) {
                reader.feed(piece);
            }
            assert_eq!(reader.progress(), whole.progress(), "pieces of {size}");
        }
    }

    #[test]
    fn bullets_count_as_they_arrive() {
        let mut reader = ProgressReader::default();
        assert!(reader.feed("Will run 9 of 10 specs\n•".as_bytes()));
        assert_eq!(reader.progress().passed, 1);
        assert!(!reader.feed(b"x"));
        assert!(reader.feed("\n••".as_bytes()));
        assert_eq!(reader.progress().passed, 3);
    }

    #[test]
    fn a_verbose_passed_block_is_a_pass() {
        let mut reader = ProgressReader::default();
        reader.feed(format!("{DELIMITER}\n• [12.0 seconds]\n[sig-x] y\n{DELIMITER}\n").as_bytes());
        assert_eq!((reader.progress().passed, reader.progress().failed), (1, 0));
    }
}
