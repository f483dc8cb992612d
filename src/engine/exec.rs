//! Running commands inside containers. Every command goes through here, so a
//! failure always carries the command, its exit code and its output.

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{api, Engine, EngineError};

/// The captured result of a command.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    /// stdout and stderr together, in that order.
    pub fn combined(&self) -> String {
        let mut s = self.stdout.clone();
        if !self.stderr.is_empty() {
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(&self.stderr);
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
    pub stdin: Option<&'a [u8]>,
    pub env: Vec<String>,
    /// Called with each line of output as it arrives (for `--v 2`).
    pub on_line: Option<&'a mut (dyn FnMut(&str) + Send)>,
}

impl Engine {
    /// Run a command and return its output whatever the exit code.
    pub async fn exec_raw(
        &self,
        container: &str,
        argv: &[&str],
        request: ExecRequest<'_>,
    ) -> Result<ExecOutput, EngineError> {
        let command = argv.join(" ");
        let options = CreateExecOptions::<String> {
            attach_stdin: Some(request.stdin.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(argv.iter().map(|s| s.to_string()).collect()),
            env: (!request.env.is_empty()).then(|| request.env.clone()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(container, options)
            .await
            .map_err(api(format!("run `{command}` in {container}")))?;
        let started = self
            .docker
            .start_exec(
                &created.id,
                Some(StartExecOptions {
                    detach: false,
                    tty: false,
                    output_capacity: Some(1 << 20),
                }),
            )
            .await
            .map_err(api(format!("run `{command}` in {container}")))?;
        let mut out = ExecOutput::default();
        if let StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        {
            if let Some(stdin) = request.stdin {
                input
                    .write_all(stdin)
                    .await
                    .and(input.shutdown().await)
                    .map_err(|err| EngineError::Api {
                        action: format!("write stdin of `{command}` in {container}"),
                        source: bollard::errors::Error::IOError { err },
                    })?;
            }
            drop(input);
            let mut on_line = request.on_line;
            let mut pending = String::new();
            while let Some(chunk) = output.next().await {
                let chunk =
                    chunk.map_err(api(format!("read output of `{command}` in {container}")))?;
                let (text, is_err) = match &chunk {
                    LogOutput::StdErr { message } => (String::from_utf8_lossy(message), true),
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        (String::from_utf8_lossy(message), false)
                    }
                    LogOutput::StdIn { .. } => continue,
                };
                if is_err {
                    out.stderr.push_str(&text);
                } else {
                    out.stdout.push_str(&text);
                }
                if let Some(cb) = on_line.as_deref_mut() {
                    pending.push_str(&text);
                    while let Some(pos) = pending.find('\n') {
                        let line: String = pending.drain(..=pos).collect();
                        cb(line.trim_end_matches('\n'));
                    }
                }
            }
            if let Some(cb) = on_line {
                if !pending.is_empty() {
                    cb(&pending);
                }
            }
        }
        let inspected = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(api(format!("inspect `{command}` in {container}")))?;
        out.exit_code = inspected.exit_code.unwrap_or(-1);
        Ok(out)
    }

    /// Run a command; a non-zero exit is an [`ExecError`] with its output.
    pub async fn exec_with(
        &self,
        container: &str,
        argv: &[&str],
        request: ExecRequest<'_>,
    ) -> Result<ExecOutput, EngineError> {
        let out = self.exec_raw(container, argv, request).await?;
        if out.exit_code != 0 {
            return Err(ExecError {
                container: container.to_string(),
                command: argv.join(" "),
                exit_code: out.exit_code,
                output: out.combined(),
            }
            .into());
        }
        Ok(out)
    }

    /// Run a command and return its stdout; fails on a non-zero exit.
    pub async fn exec(&self, container: &str, argv: &[&str]) -> Result<String, EngineError> {
        Ok(self
            .exec_with(container, argv, ExecRequest::default())
            .await?
            .stdout)
    }

    /// Run `sh -c script` in a container.
    pub async fn sh(&self, container: &str, script: &str) -> Result<String, EngineError> {
        self.exec(container, &["sh", "-c", script]).await
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
}
