//! What the user sees: steps with their elapsed time, bars for downloads and
//! builds, and at `--v 2` and above the output of kubeadm and the builds.
//!
//! Everything goes to stderr so that stdout stays for results (hints, YAML).
//! On a terminal a step is a spinner that turns into a check mark; elsewhere
//! (CI logs, tests) each step prints a start line and an end line.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Ui {
    verbosity: u8,
    interactive: bool,
    multi: MultiProgress,
}

static UI: OnceLock<Ui> = OnceLock::new();

/// Set the verbosity once, at start-up. Later calls are ignored.
pub fn init(verbosity: u8) {
    let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let multi = MultiProgress::with_draw_target(if interactive {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let _ = UI.set(Ui {
        verbosity,
        interactive,
        multi,
    });
}

/// The process-wide printer (verbosity 1 if `init` was never called).
pub fn ui() -> &'static Ui {
    UI.get_or_init(|| Ui {
        verbosity: 1,
        interactive: false,
        multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
    })
}

/// Seconds with one decimal, as shown next to finished steps.
pub fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

impl Ui {
    pub fn verbosity(&self) -> u8 {
        self.verbosity
    }

    /// True at `--v 2` and above: subprocess output is shown as it comes.
    pub fn shows_details(&self) -> bool {
        self.verbosity >= 2
    }

    fn line(&self, text: &str) {
        if self.interactive {
            self.multi.suspend(|| eprintln!("{text}"));
        } else {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{text}");
        }
    }

    /// A plain message (verbosity ≥ 1).
    pub fn info(&self, text: impl AsRef<str>) {
        if self.verbosity >= 1 {
            self.line(text.as_ref());
        }
    }

    /// A warning, shown at every verbosity.
    pub fn warn(&self, text: impl AsRef<str>) {
        self.line(&format!("warning: {}", text.as_ref()));
    }

    /// One line of a subprocess's output, shown at `--v 2` and above.
    pub fn detail(&self, text: impl AsRef<str>) {
        if self.shows_details() {
            self.line(&format!("    {}", text.as_ref()));
        }
    }

    /// Debug facts (decisions the tool took), shown at `--v 2` and above.
    pub fn note(&self, text: impl AsRef<str>) {
        if self.shows_details() {
            self.line(&format!("  · {}", text.as_ref()));
        }
    }

    /// Begin a named step.
    pub fn step(&'static self, title: impl Into<String>) -> Step {
        let title = title.into();
        let bar = if self.interactive && self.verbosity >= 1 {
            let pb = self.multi.add(ProgressBar::new_spinner());
            pb.set_style(
                ProgressStyle::with_template(" {spinner} {msg} {elapsed:.dim}")
                    .expect("valid template"),
            );
            pb.set_message(title.clone());
            pb.enable_steady_tick(Duration::from_millis(120));
            Some(pb)
        } else {
            if self.verbosity >= 1 {
                self.line(&format!(" • {title} ..."));
            }
            None
        };
        Step {
            ui: self,
            title,
            start: Instant::now(),
            bar,
            finished: false,
        }
    }

    /// A byte-count bar for a download (`total` when the size is known).
    pub fn bytes_bar(&self, title: &str, total: Option<u64>) -> ProgressBar {
        let pb = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::no_length(),
        };
        let template = if total.is_some() {
            "   {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}"
        } else {
            "   {msg} {bytes} {bytes_per_sec}"
        };
        self.attach(pb, template, title)
    }

    /// An item-count bar for builds (packages compiled, images assembled...).
    pub fn count_bar(&self, title: &str, total: u64) -> ProgressBar {
        self.attach(
            ProgressBar::new(total),
            "   {msg} [{bar:30}] {pos}/{len} {elapsed}",
            title,
        )
    }

    fn attach(&self, pb: ProgressBar, template: &str, title: &str) -> ProgressBar {
        if !(self.interactive && self.verbosity >= 1) {
            return ProgressBar::hidden();
        }
        let pb = self.multi.add(pb);
        pb.set_style(
            ProgressStyle::with_template(template)
                .expect("valid template")
                .progress_chars("=> "),
        );
        pb.set_message(title.to_string());
        pb
    }
}

/// A step in progress. Finish it with [`Step::done`]; dropping it unfinished
/// (an error escaped) marks it failed.
pub struct Step {
    ui: &'static Ui,
    title: String,
    start: Instant,
    bar: Option<ProgressBar>,
    finished: bool,
}

impl Step {
    /// Change the text shown while the step runs (terminal only).
    pub fn set_message(&self, text: impl AsRef<str>) {
        if let Some(pb) = &self.bar {
            pb.set_message(format!("{} — {}", self.title, text.as_ref()));
        }
    }

    /// Finish successfully; returns the elapsed time.
    pub fn done(self) -> Duration {
        self.finish("✓", None)
    }

    fn finish(mut self, mark: &str, note: Option<String>) -> Duration {
        self.finished = true;
        self.print(mark, note.as_deref())
    }

    fn print(&self, mark: &str, note: Option<&str>) -> Duration {
        let elapsed = self.start.elapsed();
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
            self.ui.multi.remove(pb);
        }
        if self.ui.verbosity >= 1 {
            let note = note.map(|n| format!(", {n}")).unwrap_or_default();
            self.ui.line(&format!(
                " {mark} {} ({}{note})",
                self.title,
                seconds(elapsed)
            ));
        }
        elapsed
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if !self.finished {
            self.print("✗", None);
        }
    }
}
