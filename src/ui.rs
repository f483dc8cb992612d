//! What the user sees: steps with their elapsed time, bars for downloads and
//! builds, and at `--v 2` and above the output of kubeadm and the builds.
//!
//! A [`Ui`] is made once by the binary and passed down (there is no global):
//! on a terminal it draws spinners and bars on stderr; elsewhere (CI logs)
//! each step prints a start line and an end line; in tests a recording `Ui`
//! keeps what would have been shown, so step output can be asserted.
//! Everything goes to stderr so that stdout stays for results (hints, YAML).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What a recording [`Ui`] kept, in order (without timings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    StepStarted(String),
    StepDone(String),
    StepFailed(String),
    Info(String),
    Warning(String),
    Note(String),
    Detail(String),
}

enum Output {
    Terminal {
        interactive: bool,
        multi: MultiProgress,
    },
    Recording(Mutex<Vec<Event>>),
}

pub struct Ui {
    verbosity: u8,
    output: Output,
}

/// Seconds with one decimal, as shown next to finished steps.
pub fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

impl Ui {
    /// Output to stderr; spinners and bars when it is a terminal (and not CI).
    pub fn terminal(verbosity: u8) -> Ui {
        let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let multi = MultiProgress::with_draw_target(if interactive {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Ui {
            verbosity,
            output: Output::Terminal { interactive, multi },
        }
    }

    /// Keeps what a terminal at `verbosity` would show, for tests.
    pub fn recording(verbosity: u8) -> Ui {
        Ui {
            verbosity,
            output: Output::Recording(Mutex::new(Vec::new())),
        }
    }

    /// What a recording `Ui` kept (empty for a terminal).
    pub fn events(&self) -> Vec<Event> {
        match &self.output {
            Output::Recording(events) => events.lock().expect("ui lock").clone(),
            Output::Terminal { .. } => Vec::new(),
        }
    }

    /// The one place the verbosity setting is read from.
    pub fn verbosity(&self) -> u8 {
        self.verbosity
    }

    /// True at `--v 2` and above: subprocess output is shown as it comes.
    pub fn shows_details(&self) -> bool {
        self.verbosity >= 2
    }

    fn interactive(&self) -> Option<&MultiProgress> {
        match &self.output {
            Output::Terminal {
                interactive: true,
                multi,
            } if self.verbosity >= 1 => Some(multi),
            _ => None,
        }
    }

    fn emit(&self, event: Event, text: impl FnOnce() -> String) {
        match &self.output {
            Output::Recording(events) => events.lock().expect("ui lock").push(event),
            Output::Terminal { interactive, multi } => {
                let text = text();
                // A closed or full stderr is no reason to fail a command.
                if *interactive {
                    multi.suspend(|| crate::output::note(&text));
                } else {
                    crate::output::note(&text);
                }
            }
        }
    }

    /// A plain message (verbosity ≥ 1).
    pub fn info(&self, text: impl AsRef<str>) {
        if self.verbosity >= 1 {
            let text = text.as_ref();
            self.emit(Event::Info(text.to_string()), || text.to_string());
        }
    }

    /// A warning, shown at every verbosity.
    pub fn warn(&self, text: impl AsRef<str>) {
        let text = text.as_ref();
        self.emit(Event::Warning(text.to_string()), || {
            format!("warning: {text}")
        });
    }

    /// One line of a subprocess's output, shown at `--v 2` and above.
    pub fn detail(&self, text: impl AsRef<str>) {
        if self.shows_details() {
            let text = text.as_ref();
            self.emit(Event::Detail(text.to_string()), || format!("    {text}"));
        }
    }

    /// Debug facts (decisions the tool took), shown at `--v 2` and above.
    pub fn note(&self, text: impl AsRef<str>) {
        if self.shows_details() {
            let text = text.as_ref();
            self.emit(Event::Note(text.to_string()), || format!("  · {text}"));
        }
    }

    /// Begin a named step.
    pub fn step(&self, title: impl Into<String>) -> Step<'_> {
        let title = title.into();
        let bar = match self.interactive() {
            Some(multi) => {
                let pb = multi.add(ProgressBar::new_spinner());
                pb.set_style(
                    ProgressStyle::with_template(" {spinner} {msg} {elapsed:.dim}")
                        .expect("valid template"),
                );
                pb.set_message(title.clone());
                pb.enable_steady_tick(Duration::from_millis(120));
                Some(pb)
            }
            None => {
                if self.verbosity >= 1 {
                    self.emit(Event::StepStarted(title.clone()), || {
                        format!(" • {title} ...")
                    });
                }
                None
            }
        };
        Step {
            ui: self,
            title,
            start: Instant::now(),
            bar,
            finished: false,
            last_progress: Mutex::new(None),
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
        let Some(multi) = self.interactive() else {
            return ProgressBar::hidden();
        };
        let pb = multi.add(pb);
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
pub struct Step<'a> {
    ui: &'a Ui,
    title: String,
    start: Instant,
    bar: Option<ProgressBar>,
    finished: bool,
    /// When [`Step::progress`] last printed a line (non-interactive output).
    last_progress: Mutex<Option<(Instant, String)>>,
}

/// How often a long step repeats its progress where nothing is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_secs(60);

impl Step<'_> {
    /// Change the text shown while the step runs (terminal only).
    pub fn set_message(&self, text: impl AsRef<str>) {
        if let Some(pb) = &self.bar {
            pb.set_message(format!("{} — {}", self.title, text.as_ref()));
        }
    }

    /// Progress of a long step. On a terminal it is shown on the step's line;
    /// in logs a line is printed when the text changes, at most once a minute,
    /// so a long run shows it is alive without flooding the log.
    pub fn progress(&self, text: impl AsRef<str>) {
        let text = text.as_ref();
        if self.bar.is_some() {
            self.set_message(text);
            return;
        }
        let mut last = self.last_progress.lock().expect("progress lock");
        let due = match &*last {
            None => true,
            Some((at, shown)) => at.elapsed() >= PROGRESS_EVERY && shown != text,
        };
        if due {
            *last = Some((Instant::now(), text.to_string()));
            self.ui.info(format!("   {}: {text}", self.title));
        }
    }

    /// A point reached inside the step, noted at `--v 2` with the time
    /// since the step began (what a long wait went through, and when).
    pub fn milestone(&self, text: impl AsRef<str>) {
        self.ui.note(format!(
            "{}: {} after {}",
            self.title,
            text.as_ref(),
            seconds(self.start.elapsed())
        ));
    }

    /// Finish successfully; returns the elapsed time.
    pub fn done(mut self) -> Duration {
        self.finished = true;
        self.print(true)
    }

    fn print(&self, ok: bool) -> Duration {
        let elapsed = self.start.elapsed();
        if let (Some(pb), Output::Terminal { multi, .. }) = (&self.bar, &self.ui.output) {
            pb.finish_and_clear();
            multi.remove(pb);
        }
        if self.ui.verbosity >= 1 {
            let title = self.title.clone();
            let event = if ok {
                Event::StepDone(title)
            } else {
                Event::StepFailed(title)
            };
            let mark = if ok { "✓" } else { "✗" };
            self.ui.emit(event, || {
                format!(" {mark} {} ({})", self.title, seconds(elapsed))
            });
        }
        elapsed
    }
}

impl Drop for Step<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.print(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_ui_keeps_what_its_verbosity_shows() {
        let ui = Ui::recording(1);
        let step = ui.step("Doing a thing");
        ui.note("hidden at 1");
        step.done();
        {
            let _failing = ui.step("Failing");
        }
        ui.warn("careful");
        assert_eq!(
            ui.events(),
            vec![
                Event::StepStarted("Doing a thing".into()),
                Event::StepDone("Doing a thing".into()),
                Event::StepStarted("Failing".into()),
                Event::StepFailed("Failing".into()),
                Event::Warning("careful".into()),
            ]
        );
        let quiet = Ui::recording(0);
        quiet.step("x").done();
        quiet.info("y");
        assert!(quiet.events().is_empty());
    }
}
