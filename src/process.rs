//! Host commands (go, debootstrap, gcc, make, tar): output shown line by line
//! at `--v 2`, kept for the error message otherwise.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::engine::exec::tail;
use crate::ui::ui;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot run `{program}`: {reason}{hint}")]
    Spawn {
        program: String,
        reason: String,
        hint: String,
    },
    #[error("`{command}` failed ({status}){}", tail(.output, 30))]
    Failed {
        command: String,
        status: String,
        output: String,
    },
}

/// Run `cmd` to completion. Each output line goes to `on_line` and, at
/// `--v 2`, to the terminal. Returns stdout and stderr interleaved.
/// `missing_hint` is appended when the program is not installed.
pub async fn run(
    cmd: Command,
    missing_hint: &str,
    on_line: impl FnMut(&str),
) -> Result<String, ProcessError> {
    run_inner(cmd, missing_hint, true, on_line).await
}

async fn run_inner(
    mut cmd: Command,
    missing_hint: &str,
    show: bool,
    mut on_line: impl FnMut(&str),
) -> Result<String, ProcessError> {
    let std_cmd = cmd.as_std();
    let program = std_cmd.get_program().to_string_lossy().into_owned();
    let command = std::iter::once(program.clone())
        .chain(std_cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    ui().note(format!("running {command}"));
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| ProcessError::Spawn {
        program: program.clone(),
        reason: e.to_string(),
        hint: if e.kind() == std::io::ErrorKind::NotFound && !missing_hint.is_empty() {
            format!("\n  {missing_hint}")
        } else {
            String::new()
        },
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
        if show {
            ui().detail(&line);
        }
        on_line(&line);
        output.push_str(&line);
        output.push('\n');
    }
    let _ = out_task.await;
    let _ = err_task.await;
    let status = child.wait().await.map_err(|e| ProcessError::Spawn {
        program: program.clone(),
        reason: e.to_string(),
        hint: String::new(),
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

/// Run and return trimmed stdout+stderr, not shown even at `--v 2` (for
/// commands whose output is data, like `go env` or `go mod edit -json`).
pub async fn output(cmd: Command, missing_hint: &str) -> Result<String, ProcessError> {
    Ok(run_inner(cmd, missing_hint, false, |_| {})
        .await?
        .trim()
        .to_string())
}
