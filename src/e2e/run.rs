//! Running ginkgo: its output to a log file (and to the terminal at `--v 2`),
//! live counts on the step line, and Ctrl-C handled so that the tests clean
//! up after themselves.
//!
//! ginkgo runs in its own process group. A first Ctrl-C (or SIGTERM) is passed
//! to that group once, as a terminal would: ginkgo then interrupts the running
//! tests, which delete their namespaces, and writes its report. A second one
//! kills the group at once.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use super::progress::{Progress, ProgressReader};
use super::E2eError;
use crate::ui::{Step, Ui};

/// Output file of the whole run, in the results folder.
pub const LOG_FILE: &str = "ginkgo.log";

/// How a run ended.
#[derive(Debug)]
pub struct Finished {
    pub status: std::process::ExitStatus,
    /// The user stopped it.
    pub interrupted: bool,
    pub progress: Progress,
}

enum Chunk {
    Out(Vec<u8>),
    Err(Vec<u8>),
}

/// Run `ginkgo args...`, writing its output to `results/ginkgo.log`.
pub async fn ginkgo(
    ginkgo: &Path,
    args: &[String],
    results: &Path,
    ui: &Ui,
    step: &Step<'_>,
) -> Result<Finished, E2eError> {
    let log_path = results.join(LOG_FILE);
    let mut log = crate::private::create(&log_path)
        .map(tokio::fs::File::from_std)
        .map_err(E2eError::io("creating", &log_path))?;
    let mut child = Command::new(ginkgo)
        .args(args)
        .current_dir(results)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| E2eError::Spawn {
            program: ginkgo.to_path_buf(),
            source,
        })?;
    let group = child.id().map(|id| Pid::from_raw(id as i32));
    let (tx, mut rx) = mpsc::channel(64);
    forward(child.stdout.take(), tx.clone(), Chunk::Out);
    forward(child.stderr.take(), tx, Chunk::Err);

    let mut interrupts = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut terminations = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut reader = ProgressReader::default();
    let mut interrupted = false;
    let mut echo = LineEcho::default();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let start = tokio::time::Instant::now();
    let write_error = |source| E2eError::io("writing", &log_path)(source);
    loop {
        tokio::select! {
            chunk = rx.recv() => match chunk {
                Some(Chunk::Out(bytes)) => {
                    log.write_all(&bytes).await.map_err(write_error)?;
                    echo.feed(ui, &bytes);
                    if reader.feed(&bytes) {
                        step.progress(describe(reader.progress(), start.elapsed()));
                    }
                }
                Some(Chunk::Err(bytes)) => {
                    log.write_all(&bytes).await.map_err(write_error)?;
                    echo.feed(ui, &bytes);
                }
                // Both pipes closed: ginkgo is exiting.
                None => break,
            },
            _ = ticker.tick() => step.progress(describe(reader.progress(), start.elapsed())),
            _ = interrupts.recv() => interrupt(ui, group, &mut interrupted),
            _ = terminations.recv() => interrupt(ui, group, &mut interrupted),
        }
    }
    log.flush().await.map_err(write_error)?;
    let status = child.wait().await.map_err(|source| E2eError::Spawn {
        program: ginkgo.to_path_buf(),
        source,
    })?;
    Ok(Finished {
        status,
        interrupted,
        progress: reader.progress().clone(),
    })
}

fn signal_error(source: std::io::Error) -> E2eError {
    E2eError::Io {
        action: "listening for Ctrl-C in",
        path: std::env::current_dir().unwrap_or_default(),
        source,
    }
}

/// First time: let ginkgo stop the tests and clean up; again: kill it.
fn interrupt(ui: &Ui, group: Option<Pid>, interrupted: &mut bool) {
    let Some(group) = group else { return };
    if *interrupted {
        ui.warn("Stopping the tests at once; their namespaces may be left behind.");
        let _ = killpg(group, Signal::SIGKILL);
    } else {
        *interrupted = true;
        ui.warn(
            "Stopping: the running tests are being interrupted and clean up after themselves \
             (Ctrl-C again to stop at once).",
        );
        let _ = killpg(group, Signal::SIGINT);
    }
}

fn forward<R, F>(pipe: Option<R>, tx: mpsc::Sender<Chunk>, wrap: F)
where
    R: AsyncRead + Unpin + Send + 'static,
    F: Fn(Vec<u8>) -> Chunk + Send + 'static,
{
    let Some(mut pipe) = pipe else { return };
    tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = pipe.read(&mut buf).await {
            if n == 0 || tx.send(wrap(buf[..n].to_vec())).await.is_err() {
                break;
            }
        }
    });
}

/// `120/462 done, 2 failed, 14m05s`.
pub fn describe(p: &Progress, elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    let time = format!("{}m{:02}s", secs / 60, secs % 60);
    match p.total {
        // ginkgo prints the count once the suite's setup is done.
        None => format!("setting up, {time}"),
        Some(total) => format!("{}/{total} done, {} failed, {time}", p.done(), p.failed),
    }
}

/// At `--v 2` ginkgo's output is shown as it comes, line by line.
#[derive(Default)]
struct LineEcho {
    line: Vec<u8>,
}

impl LineEcho {
    fn feed(&mut self, ui: &Ui, bytes: &[u8]) {
        if !ui.shows_details() {
            return;
        }
        for &b in bytes {
            if b == b'\n' {
                ui.detail(String::from_utf8_lossy(&self.line));
                self.line.clear();
            } else {
                self.line.push(b);
            }
        }
    }
}
