//! `DOCKER_HOST=ssh://[user@]host[:port]`: the Engine API over ssh, the way
//! the Docker CLI does it. Every HTTP connection is one `ssh … docker system
//! dial-stdio` process on this machine, whose stdin and stdout are the
//! connection; the remote `docker` CLI bridges them to its engine's socket.
//!
//! We run the system's `ssh` rather than an ssh library so the user's
//! `~/.ssh/config`, agent, keys and known hosts apply unchanged, and add the
//! options of `engine.sshOptions` (e.g. `-i key -F config` on CI machines).
//! What ssh wrote to stderr is kept, so a failed connection names the command
//! and says ssh's own reason.

use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Where an `ssh://` URL points, parsed as the Docker CLI reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url:?} is not an ssh engine address: {reason} (expected ssh://[user@]host[:port])")]
pub struct SshUrlError {
    pub url: String,
    pub reason: &'static str,
}

impl SshTarget {
    pub fn parse(url: &str) -> Result<SshTarget, SshUrlError> {
        let err = |reason| SshUrlError {
            url: url.to_string(),
            reason,
        };
        let rest = url.strip_prefix("ssh://").ok_or(err("no ssh:// scheme"))?;
        // The remote `docker` CLI picks the socket; a path here would be
        // silently ignored, so it is refused as the Docker CLI does.
        let rest = match rest.split_once('/') {
            Some((authority, "")) => authority,
            Some(_) => return Err(err("a path after the host is not supported")),
            None => rest,
        };
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((user, hostport)) => (Some(user.to_string()), hostport),
            None => (None, rest),
        };
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or(err("unclosed '['"))?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(err("no host"));
        }
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .map_err(|_| err("the port is not a number"))
            })
            .transpose()?;
        Ok(SshTarget {
            user: user.filter(|u| !u.is_empty()),
            host: host.to_string(),
            port,
        })
    }

    /// `ssh` arguments up to (and including) the destination.
    pub fn ssh_args(&self, options: &[String]) -> Vec<String> {
        let mut args: Vec<String> = options.to_vec();
        // No terminal, and no waiting for minutes on a host that does not answer.
        args.extend(["-T", "-o", "ConnectTimeout=30"].map(String::from));
        if let Some(user) = &self.user {
            args.extend(["-l".to_string(), user.clone()]);
        }
        if let Some(port) = self.port {
            args.extend(["-p".to_string(), port.to_string()]);
        }
        args.extend(["--".to_string(), self.host.clone()]);
        args
    }

    /// The command line of one connection, as shown in errors.
    pub fn dial_command(&self, options: &[String]) -> String {
        let mut argv = vec!["ssh".to_string()];
        argv.extend(self.ssh_args(options));
        argv.extend(DIAL.map(String::from));
        argv.join(" ")
    }

    /// The host name ssh really connects to (`ssh -G` applies the user's
    /// config, where `host` may be an alias); the host as given when ssh
    /// cannot say.
    pub async fn resolved_hostname(&self, options: &[String]) -> String {
        let mut cmd = Command::new("ssh");
        // The connection's own arguments: `-G` then prints what they resolve to.
        cmd.arg("-G").args(self.ssh_args(options));
        let Ok(out) = cmd.stdin(Stdio::null()).output().await else {
            return self.host.clone();
        };
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("hostname ").map(str::to_string))
            .unwrap_or_else(|| self.host.clone())
    }
}

const DIAL: [&str; 3] = ["docker", "system", "dial-stdio"];

/// Opens connections by starting ssh; the stderr of the latest is kept.
#[derive(Clone)]
pub struct SshConnector {
    args: Arc<Vec<String>>,
    stderr: Arc<Mutex<String>>,
}

impl SshConnector {
    pub fn new(target: &SshTarget, options: &[String]) -> SshConnector {
        let mut args = target.ssh_args(options);
        args.extend(DIAL.map(String::from));
        SshConnector {
            args: Arc::new(args),
            stderr: Arc::default(),
        }
    }

    /// What the last ssh process wrote to stderr (its reason for failing).
    pub fn last_stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn spawn(&self) -> std::io::Result<SshStream> {
        let mut child = Command::new("ssh")
            .args(self.args.iter())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(std::io::Error::other("ssh started without its pipes"));
        };
        let keep = self.stderr.clone();
        tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            if !text.trim().is_empty() {
                if let Ok(mut last) = keep.lock() {
                    *last = text.trim().to_string();
                }
            }
        });
        Ok(SshStream {
            stdout: TokioIo::new(stdout),
            stdin: Some(TokioIo::new(stdin)),
            _child: child,
        })
    }
}

impl tower_service::Service<hyper::Uri> for SshConnector {
    type Response = SshStream;
    type Error = std::io::Error;
    type Future = std::future::Ready<std::io::Result<SshStream>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        std::future::ready(self.spawn())
    }
}

/// One connection: the ssh process's stdout to read, its stdin to write.
pub struct SshStream {
    stdout: TokioIo<ChildStdout>,
    /// None once shut down. Closing the pipe is what tells the far end
    /// that nothing more comes: a command run with input (`kubectl apply
    /// -f -` in a node) waits for that end of its stdin.
    stdin: Option<TokioIo<ChildStdin>>,
    // Dropping the connection ends its ssh process.
    _child: Child,
}

impl SshStream {
    fn stdin(&mut self) -> std::io::Result<Pin<&mut TokioIo<ChildStdin>>> {
        self.stdin
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| std::io::ErrorKind::BrokenPipe.into())
    }
}

impl Connection for SshStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for SshStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stdout).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for SshStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.get_mut().stdin()?.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut().stdin.as_mut() {
            Some(stdin) => Pin::new(stdin).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if let Some(stdin) = this.stdin.as_mut() {
            std::task::ready!(Pin::new(stdin).poll_flush(cx))?;
        }
        this.stdin = None;
        Poll::Ready(Ok(()))
    }
}

/// A bollard client whose connections are ssh processes.
pub fn client(connector: SshConnector) -> Result<bollard::Docker, bollard::errors::Error> {
    let http = Arc::new(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector),
    );
    bollard::Docker::connect_with_custom_transport(
        move |req: bollard::BollardRequest| {
            let http = http.clone();
            async move {
                http.request(req)
                    .await
                    .map_err(bollard::errors::Error::from)
            }
        },
        // Requests are addressed to this name; the connector ignores it.
        Some("http://remote-docker"),
        120,
        bollard::API_DEFAULT_VERSION,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_as_the_docker_cli_reads_them() {
        assert_eq!(
            SshTarget::parse("ssh://me@build.example:2222").unwrap(),
            SshTarget {
                user: Some("me".into()),
                host: "build.example".into(),
                port: Some(2222)
            }
        );
        let t = SshTarget::parse("ssh://box/").unwrap();
        assert_eq!((t.user, t.host.as_str(), t.port), (None, "box", None));
        let t = SshTarget::parse("ssh://root@[fd00::5]:22").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("fd00::5", Some(22)));
        for bad in [
            "ssh://",
            "ssh://me@",
            "ssh://host:port",
            "ssh://host/var/run/docker.sock",
        ] {
            let err = SshTarget::parse(bad).unwrap_err().to_string();
            assert!(err.contains("ssh://[user@]host[:port]"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_command_puts_options_first_and_the_host_after_a_double_dash() {
        let t = SshTarget::parse("ssh://me@box:2200").unwrap();
        assert_eq!(
            t.dial_command(&["-i".into(), "/k".into()]),
            "ssh -i /k -T -o ConnectTimeout=30 -l me -p 2200 -- box docker system dial-stdio"
        );
    }

    #[tokio::test]
    async fn a_failing_ssh_leaves_its_reason() {
        // An option ssh rejects makes it exit at once with a message, without
        // any network traffic.
        let t = SshTarget::parse("ssh://nowhere.invalid").unwrap();
        let connector = SshConnector::new(&t, &["-o".into(), "NoSuchOption=1".into()]);
        let docker = client(connector.clone()).unwrap();
        assert!(docker.version().await.is_err());
        for _ in 0..50 {
            if !connector.last_stderr().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(
            connector
                .last_stderr()
                .to_lowercase()
                .contains("bad configuration option: nosuchoption"),
            "{}",
            connector.last_stderr()
        );
    }
}
