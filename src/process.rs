//! Host commands (go, debootstrap, gcc, make, tar): output shown line by line
//! at `--v 2`, kept for the error message otherwise.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::engine::exec::tail;
use crate::ui::Ui;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot run `{program}`: it is not installed or not on PATH. {hint}")]
    Missing { program: String, hint: String },
    #[error("cannot run `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}){}", tail(.output, 30))]
    Failed {
        command: String,
        status: String,
        output: String,
    },
}

/// How a command's output is treated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Show {
    /// Shown at `--v 2` as it comes (builds, debootstrap).
    Progress,
    /// Data for the caller (`go env`, `go mod edit -json`): never shown.
    Data,
}

/// Run `cmd` to completion. Each output line goes to `on_line` and, at
/// `--v 2`, to the terminal. Returns stdout and stderr interleaved.
/// `missing_hint` says what to install when the program is not there.
pub async fn run(
    ui: &Ui,
    cmd: Command,
    missing_hint: &str,
    on_line: impl FnMut(&str),
) -> Result<String, ProcessError> {
    run_inner(ui, cmd, missing_hint, Show::Progress, on_line).await
}

/// Run and return trimmed stdout+stderr, not shown even at `--v 2`.
pub async fn output(ui: &Ui, cmd: Command, missing_hint: &str) -> Result<String, ProcessError> {
    Ok(run_inner(ui, cmd, missing_hint, Show::Data, |_| {})
        .await?
        .trim()
        .to_string())
}

async fn run_inner(
    ui: &Ui,
    mut cmd: Command,
    missing_hint: &str,
    show: Show,
    mut on_line: impl FnMut(&str),
) -> Result<String, ProcessError> {
    let std_cmd = cmd.as_std();
    let program = std_cmd.get_program().to_string_lossy().into_owned();
    let command = std::iter::once(program.clone())
        .chain(std_cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    ui.note(format!("running {command}"));
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ProcessError::Missing {
                program: program.clone(),
                hint: missing_hint.to_string(),
            }
        } else {
            ProcessError::Spawn {
                program: program.clone(),
                source,
            }
        }
    })?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let tx2 = tx.clone();
    let out_task = tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = tx.send(line);
        }
    });
    let err_task = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = tx2.send(line);
        }
    });
    let mut output = String::new();
    while let Some(line) = rx.recv().await {
        if show == Show::Progress {
            ui.detail(&line);
        }
        on_line(&line);
        output.push_str(&line);
        output.push('\n');
    }
    let _ = out_task.await;
    let _ = err_task.await;
    let status = child.wait().await.map_err(|source| ProcessError::Spawn {
        program: program.clone(),
        source,
    })?;
    if !status.success() {
        return Err(ProcessError::Failed {
            command,
            status: status.to_string(),
            output,
        });
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_program_says_what_to_install() {
        let ui = Ui::recording(1);
        let err = run(
            &ui,
            Command::new("no-such-program-here"),
            "Install it from the moon.",
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot run `no-such-program-here`: it is not installed or not on PATH. Install it from the moon."
        );
    }

    #[tokio::test]
    async fn output_is_shown_at_verbosity_2_and_kept_for_failures() {
        let ui = Ui::recording(2);
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo one; echo two >&2; exit 3"]);
        let err = run(&ui, cmd, "", |_| {}).await.unwrap_err().to_string();
        assert!(err.contains("failed (exit status: 3)"), "{err}");
        assert!(err.contains("one") && err.contains("two"), "{err}");
        assert!(ui
            .events()
            .contains(&crate::ui::Event::Detail("one".to_string())));
    }
}
