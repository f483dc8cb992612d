//! Commands in containers through the Docker API.

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use super::{api, Docker};
use crate::engine::exec::Lines;
use crate::engine::{EngineError, Exec, ExecOutput, ExecRequest, Result};

impl Exec for Docker {
    async fn exec(
        &self,
        container: &str,
        argv: &[&str],
        request: ExecRequest<'_>,
    ) -> Result<ExecOutput> {
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
            .api
            .create_exec(container, options)
            .await
            .map_err(api(format!("run `{command}` in {container}")))?;
        let started = self
            .api
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
        if let StartExecResults::Attached { output, mut input } = started {
            if let Some(stdin) = request.stdin {
                input
                    .write_all(stdin)
                    .await
                    .and(input.shutdown().await)
                    .map_err(|source| EngineError::Archive {
                        action: format!("write stdin of `{command}` in {container}"),
                        source,
                    })?;
            }
            drop(input);
            out = collect(output, request.on_line)
                .await
                .map_err(api(format!("read output of `{command}` in {container}")))?;
        }
        let inspected = self
            .api
            .inspect_exec(&created.id)
            .await
            .map_err(api(format!("inspect `{command}` in {container}")))?;
        out.exit_code = inspected.exit_code.unwrap_or(-1);
        Ok(out)
    }
}

/// Gather a command's output: the bytes exactly as they came, and each
/// whole line handed to `on_line`. stdout and stderr are cut into lines
/// separately, as a line's halves (or a character's bytes) may arrive in
/// different chunks.
async fn collect<S>(
    mut output: S,
    mut on_line: Option<&mut (dyn FnMut(&str) + Send)>,
) -> std::result::Result<ExecOutput, bollard::errors::Error>
where
    S: Stream<Item = std::result::Result<LogOutput, bollard::errors::Error>> + Unpin,
{
    let mut out = ExecOutput::default();
    let (mut out_lines, mut err_lines) = (Lines::default(), Lines::default());
    while let Some(chunk) = output.next().await {
        let chunk = chunk?;
        let (message, buffer, lines) = match &chunk {
            LogOutput::StdErr { message } => (message, &mut out.stderr, &mut err_lines),
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                (message, &mut out.stdout, &mut out_lines)
            }
            LogOutput::StdIn { .. } => continue,
        };
        buffer.extend_from_slice(message);
        if let Some(cb) = on_line.as_deref_mut() {
            lines.feed(message, cb);
        }
    }
    if let Some(cb) = on_line {
        out_lines.finish(&mut *cb);
        err_lines.finish(cb);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// A file with every byte value and a character split across chunks
    /// comes out of an exec unchanged; lines are decoded whole.
    #[tokio::test]
    async fn output_is_kept_byte_for_byte_and_lines_whole() {
        let mut binary: Vec<u8> = (0..=255u8).collect();
        binary.extend_from_slice("naïve ✓\n".as_bytes());
        let split = binary.len() - 3; // inside the three bytes of '✓'
        let chunks = vec![
            Ok(LogOutput::StdOut {
                message: Bytes::copy_from_slice(&binary[..split]),
            }),
            Ok(LogOutput::StdErr {
                message: Bytes::from_static(b"warn"),
            }),
            Ok(LogOutput::StdOut {
                message: Bytes::copy_from_slice(&binary[split..]),
            }),
            Ok(LogOutput::StdErr {
                message: Bytes::from_static(b"ing\n"),
            }),
        ];
        let mut lines = Vec::new();
        let mut on_line = |l: &str| lines.push(l.to_string());
        let out = collect(futures_util::stream::iter(chunks), Some(&mut on_line))
            .await
            .unwrap();
        assert_eq!(out.stdout, binary);
        assert_eq!(out.stderr, b"warning\n");
        assert!(lines.contains(&"warning".to_string()), "{lines:?}");
        // The character split between chunks is decoded whole.
        assert!(lines.iter().any(|l| l.ends_with("naïve ✓")), "{lines:?}");
    }
}
