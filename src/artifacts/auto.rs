//! `auto` sources: the release site or a registry is used when it answers
//! within a few seconds, otherwise what it would have served is built here.
//! A machine that reaches only Debian and the Go module proxy then needs no
//! settings. Each site is asked once per run; the answer and why are said
//! where the choice is used.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::settings::{
    ImageSource, ImageSourceSetting, KubeVersion, KubernetesSource, KubernetesSourceSetting,
};
use crate::ui::Ui;

/// How long a site has to answer: an unreachable one costs no more.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// A source and why it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice<T> {
    pub source: T,
    pub why: String,
}

/// Where Kubernetes `version`'s binaries for `arch` come from: the release
/// site when it has them (its kubeadm checksum answers), otherwise the Go
/// module.
pub async fn kubernetes_source(
    setting: KubernetesSourceSetting,
    release_url: &str,
    version: &KubeVersion,
    arch: &str,
) -> Choice<KubernetesSource> {
    if let Some(source) = setting.fixed() {
        return Choice {
            source,
            why: format!("source.kubernetesSource {}", source.as_str()),
        };
    }
    let url = format!("{release_url}/{version}/bin/linux/{arch}/kubeadm.sha256");
    match probe(&url, Expect::Success).await {
        Ok(()) => Choice {
            source: KubernetesSource::Release,
            why: format!("auto: {release_url} answered"),
        },
        Err(why) => Choice {
            source: KubernetesSource::GoModule,
            why: format!("auto: {why}"),
        },
    }
}

/// Where the version markers (`stable.txt`) are read: the release site when
/// it answers, otherwise the Go module proxy's version list.
pub async fn version_source(
    setting: KubernetesSourceSetting,
    release_url: &str,
    marker: &str,
) -> KubernetesSource {
    match setting.fixed() {
        Some(source) => source,
        None => match probe(&format!("{release_url}/{marker}"), Expect::Success).await {
            Ok(()) => KubernetesSource::Release,
            Err(_) => KubernetesSource::GoModule,
        },
    }
}

/// Whether image `reference` is pulled or built. With `auto`, the registry
/// it names is asked (once per run; the first time, `ui` says what was
/// decided for its images, and why).
pub async fn image_source(ui: &Ui, setting: ImageSourceSetting, reference: &str) -> ImageSource {
    if let Some(source) = setting.fixed() {
        return source;
    }
    let host = registry_host(reference);
    let (result, first) = probe_once(&registry_url(&host), Expect::AnyHttp).await;
    let source = match &result {
        Ok(()) => ImageSource::Registry,
        Err(_) => ImageSource::Build,
    };
    if first {
        ui.info(match result {
            Ok(()) => format!("images of {host}: pulled (imageSource auto: it answered)"),
            Err(why) => format!("images of {host}: built here (imageSource auto: {why})"),
        });
    }
    source
}

/// Does the registry of image `reference` answer (asked once per run)? The
/// error says what happened instead.
pub async fn registry_answers(reference: &str) -> Result<(), String> {
    probe_once(&registry_url(&registry_host(reference)), Expect::AnyHttp)
        .await
        .0
}

fn registry_url(host: &str) -> String {
    if is_loopback(host) {
        format!("http://{host}/v2/")
    } else {
        format!("https://{host}/v2/")
    }
}

/// The registry host of an image reference, as Docker reads it: a first
/// component with a dot, a colon or `localhost` is a host; anything else is
/// on Docker Hub.
pub fn registry_host(reference: &str) -> String {
    match reference.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => {
            if first == "docker.io" {
                DOCKER_HUB.to_string()
            } else {
                first.to_string()
            }
        }
        _ => DOCKER_HUB.to_string(),
    }
}

const DOCKER_HUB: &str = "registry-1.docker.io";

fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    name == "localhost" || name.starts_with("127.") || name == "[::1]"
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A 2xx answer: the file is there.
    Success,
    /// Any HTTP answer: a registry says 401 to anonymous `/v2/`.
    AnyHttp,
}

/// `probe`, asked once per URL and run; also says whether this was the first
/// time.
async fn probe_once(url: &str, expect: Expect) -> (Result<(), String>, bool) {
    static SEEN: OnceLock<Mutex<BTreeMap<String, Result<(), String>>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if let Some(known) = seen.lock().expect("probe memo poisoned").get(url) {
        return (known.clone(), false);
    }
    let result = probe(url, expect).await;
    let mut seen = seen.lock().expect("probe memo poisoned");
    match seen.get(url) {
        // Asked meanwhile by another task: it has said it.
        Some(known) => (known.clone(), false),
        None => {
            seen.insert(url.to_string(), result.clone());
            (result, true)
        }
    }
}

/// Does `url` answer as expected within [`PROBE_TIMEOUT`]? The error says
/// what happened instead, for the user.
async fn probe(url: &str, expect: Expect) -> Result<(), String> {
    if let Some(path) = url.strip_prefix("file://") {
        return match std::path::Path::new(path).exists() {
            true => Ok(()),
            false => Err(format!("{url} does not exist")),
        };
    }
    let client = client().map_err(|e| format!("no HTTP client: {e}"))?;
    let answer = tokio::time::timeout(PROBE_TIMEOUT, client.get(url).send()).await;
    match answer {
        Err(_) => Err(format!(
            "{url} did not answer within {} s",
            PROBE_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) => Err(format!("{url} did not answer ({})", innermost(&e))),
        Ok(Ok(response)) => match expect {
            Expect::AnyHttp => Ok(()),
            Expect::Success if response.status().is_success() => Ok(()),
            Expect::Success => Err(format!("{url} answered {}", response.status())),
        },
    }
}

/// reqwest's own message hides the cause (DNS, refused, TLS).
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn client() -> Result<&'static reqwest::Client, reqwest::Error> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let client = super::download::client_builder()
        .connect_timeout(PROBE_TIMEOUT)
        .timeout(PROBE_TIMEOUT)
        .build()?;
    Ok(CLIENT.get_or_init(|| client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_hosts_are_read_as_docker_reads_them() {
        assert_eq!(
            registry_host("registry.k8s.io/pause:3.10"),
            "registry.k8s.io"
        );
        assert_eq!(registry_host("ghcr.io/flannel-io/flannel:v1"), "ghcr.io");
        assert_eq!(registry_host("localhost:5001/x"), "localhost:5001");
        assert_eq!(registry_host("localhost/x"), "localhost");
        assert_eq!(registry_host("busybox"), DOCKER_HUB);
        assert_eq!(registry_host("rancher/local-path"), DOCKER_HUB);
        assert_eq!(registry_host("docker.io/library/busybox"), DOCKER_HUB);
        // A repository is named by an image in it.
        assert_eq!(registry_host("registry.k8s.io/pause"), "registry.k8s.io");
        assert!(is_loopback("127.0.0.1:5000") && is_loopback("localhost:1"));
        assert!(!is_loopback("registry.k8s.io"));
    }

    /// A port nothing listens on, on loopback.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn an_unreachable_release_site_means_the_go_module() {
        let v: KubeVersion = "v1.37.2".parse().unwrap();
        let url = format!("http://127.0.0.1:{}", closed_port());
        let c = kubernetes_source(KubernetesSourceSetting::Auto, &url, &v, "amd64").await;
        assert_eq!(c.source, KubernetesSource::GoModule);
        assert!(c.why.contains("did not answer"), "{}", c.why);
        // Explicit settings are not asked about.
        let c = kubernetes_source(KubernetesSourceSetting::Release, &url, &v, "amd64").await;
        assert_eq!(c.source, KubernetesSource::Release);
    }

    #[tokio::test]
    async fn a_site_that_answers_is_used() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 2048];
                let n = conn.read(&mut buf).await.unwrap();
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let status =
                    if request.starts_with("GET /v1.37.2/") || request.starts_with("GET /v2/") {
                        "200 OK"
                    } else {
                        "404 Not Found"
                    };
                let reply =
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                conn.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        let url = format!("http://127.0.0.1:{port}");
        let v: KubeVersion = "v1.37.2".parse().unwrap();
        let c = kubernetes_source(KubernetesSourceSetting::Auto, &url, &v, "amd64").await;
        assert_eq!(c.source, KubernetesSource::Release, "{}", c.why);
        // Another version is not there: a 404 is no answer for it.
        let other: KubeVersion = "v1.36.3".parse().unwrap();
        let c = kubernetes_source(KubernetesSourceSetting::Auto, &url, &other, "amd64").await;
        assert_eq!(c.source, KubernetesSource::GoModule);
        assert!(c.why.contains("404"), "{}", c.why);
        let ui = Ui::recording(1);
        let registry = format!("127.0.0.1:{port}/pause:3.10");
        assert_eq!(
            image_source(&ui, ImageSourceSetting::Auto, &registry).await,
            ImageSource::Registry
        );
        let closed = format!("127.0.0.1:{}/pause:3.10", closed_port());
        assert_eq!(
            image_source(&ui, ImageSourceSetting::Auto, &closed).await,
            ImageSource::Build
        );
    }
}
