//! HTTP(S) downloads with checksum verification and a progress bar.

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use futures_util::StreamExt;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::ArtifactError;
use crate::settings::Checksum;
use crate::ui::Ui;

fn client(url: &str) -> Result<&'static reqwest::Client, ArtifactError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let client = client_builder()
        .connect_timeout(std::time::Duration::from_secs(20))
        .build()
        .map_err(|source| ArtifactError::Http {
            url: url.to_string(),
            source,
        })?;
    Ok(CLIENT.get_or_init(|| client))
}

/// Our HTTP clients' common settings.
pub(crate) fn client_builder() -> reqwest::ClientBuilder {
    // reqwest is built without a default crypto provider (its default pulls
    // in aws-lc, which needs cmake and a C toolchain); we use ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("kubeadm-local-cluster/", env!("CARGO_PKG_VERSION")))
}

/// Fetch a small text resource (a `.sha256` file, `stable.txt`).
pub async fn fetch_text(url: &str) -> Result<String, ArtifactError> {
    if let Some(path) = url.strip_prefix("file://") {
        return std::fs::read_to_string(path).map_err(|source| ArtifactError::LocalFile {
            url: url.to_string(),
            source,
        });
    }
    get(url).await?.text().await.map_err(http_error(url))
}

/// reqwest's own message hides the cause (DNS, refused...); it is in the
/// error's source chain, which our error formatter prints.
fn http_error(url: &str) -> impl Fn(reqwest::Error) -> ArtifactError + '_ {
    move |source| ArtifactError::Http {
        url: url.to_string(),
        source,
    }
}

/// A successful response to GET `url`.
async fn get(url: &str) -> Result<reqwest::Response, ArtifactError> {
    let resp = client(url)?
        .get(url)
        .send()
        .await
        .map_err(http_error(url))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(ArtifactError::HttpStatus {
            url: url.to_string(),
            status,
        });
    }
    Ok(resp)
}

/// The digests of a downloaded file.
pub struct Digests {
    pub sha1: [u8; 20],
    pub sha256: [u8; 32],
}

impl Digests {
    /// Compare with the expected checksum; the error names file and both sums.
    pub fn verify(&self, expected: &Checksum, file: &str, url: &str) -> Result<(), ArtifactError> {
        let (algorithm, actual, ok) = match expected {
            Checksum::Sha1(want) => ("sha1", hex::encode(self.sha1), *want == self.sha1),
            Checksum::Sha256(want) => ("sha256", hex::encode(self.sha256), *want == self.sha256),
        };
        if ok {
            Ok(())
        } else {
            Err(ArtifactError::ChecksumMismatch {
                file: file.to_string(),
                url: url.to_string(),
                algorithm,
                expected: expected.to_string(),
                actual,
            })
        }
    }
}

/// Download `url` to `dest` (written in place; callers download into a cache
/// staging directory), showing a progress bar, and return its digests.
pub async fn download(
    ui: &Ui,
    url: &str,
    dest: &Path,
    label: &str,
) -> Result<Digests, ArtifactError> {
    let io_err = |e: std::io::Error| ArtifactError::io(dest, e);
    let mut file = std::io::BufWriter::new(std::fs::File::create(dest).map_err(io_err)?);
    let mut sha1 = Sha1::new();
    let mut sha256 = Sha256::new();
    if let Some(path) = url.strip_prefix("file://") {
        let data = std::fs::read(path).map_err(|source| ArtifactError::LocalFile {
            url: url.to_string(),
            source,
        })?;
        sha1.update(&data);
        sha256.update(&data);
        file.write_all(&data).map_err(io_err)?;
    } else {
        let resp = get(url).await?;
        let bar = ui.bytes_bar(label, resp.content_length());
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(http_error(url))?;
            sha1.update(&chunk);
            sha256.update(&chunk);
            file.write_all(&chunk).map_err(io_err)?;
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
    }
    file.flush().map_err(io_err)?;
    Ok(Digests {
        sha1: sha1.finalize().into(),
        sha256: sha256.finalize().into(),
    })
}

/// Parse the first hex word of a `.sha256` / `.sha1` file.
pub fn parse_checksum_file(text: &str, url: &str) -> Result<Checksum, ArtifactError> {
    let word = text.split_whitespace().next().unwrap_or("");
    let bytes = hex::decode(word).ok();
    match bytes.as_deref().map(|b| b.len()) {
        Some(20) => Ok(Checksum::Sha1(bytes.unwrap().try_into().expect("20 bytes"))),
        Some(32) => Ok(Checksum::Sha256(
            bytes.unwrap().try_into().expect("32 bytes"),
        )),
        _ => Err(ArtifactError::BadChecksumFile {
            url: url.to_string(),
            text: text.trim().to_string(),
        }),
    }
}
