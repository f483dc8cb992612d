//! Node images for real: what is inside, and the release-download path
//! against an HTTP server on 127.0.0.1 laid out like the official release
//! site. Ignored by default; run by .ci/test.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, text};
use sha2::{Digest, Sha256};

const VERSION: &str = "v1.37.2";
const IMAGE: &str = "kubeadm-local-cluster/node:v1.37.2-amd64";

fn local_cluster(env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env("K8S_DIND_KUBERNETES_SOURCE", "go-module")
        .env("K8S_DIND_IMAGE_SOURCE", "build")
        .env("K8S_DIND_ADDONS", "")
        .env_remove("LOCAL_CLUSTER_CONF");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = text(&out);
    eprintln!("--- local-cluster {}\n{stderr}{stdout}", args.join(" "));
    (out.status.success(), stdout, stderr)
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "docker {}: {stderr}", args.join(" "));
    stdout
}

/// Run a script in a throwaway container of the node image, with its
/// containerd started (but not systemd): what is inside, not how it boots.
fn in_node_image(script: &str) -> String {
    let full = format!(
        "containerd >/dev/null 2>&1 & for i in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done; {script}"
    );
    docker(&["run", "--rm", "--entrypoint", "sh", IMAGE, "-c", &full])
}

#[test]
#[ignore = "builds Kubernetes and the node image (minutes on a cold cache); run by .ci/test"]
fn node_image_holds_every_kubeadm_image_and_the_right_versions() {
    let (ok, stdout, _) = local_cluster(&[], &["build", "node-image"]);
    assert!(ok);
    assert!(stdout.contains(IMAGE), "{stdout}");
    let wanted = in_node_image(&format!(
        "kubeadm config images list --kubernetes-version {VERSION}"
    ));
    let present = in_node_image("ctr --namespace k8s.io images ls -q");
    let wanted: Vec<&str> = wanted.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(wanted.len(), 7, "{wanted:?}");
    for image in &wanted {
        assert!(
            present.lines().any(|l| l == *image),
            "{image} is not preloaded; containerd has:\n{present}"
        );
    }
    let versions =
        in_node_image("kubeadm version -o short; kubelet --version; kubectl version --client");
    assert!(versions.contains(&format!("{VERSION}\n")), "{versions}");
    assert!(
        versions.contains(&format!("Kubernetes {VERSION}")),
        "{versions}"
    );
    assert!(
        versions.contains(&format!("Client Version: {VERSION}")),
        "{versions}"
    );
}

/// A minimal HTTP/1.1 file server on 127.0.0.1 (GET only), enough for the
/// tool's downloads; returns the base URL.
fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let root = root.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let file = root.join(path.trim_start_matches('/'));
                match std::fs::File::open(&file) {
                    Ok(mut f) if file.is_file() => {
                        let len = f.metadata().unwrap().len();
                        let _ = write!(
                            stream,
                            "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
                        );
                        let mut buf = vec![0u8; 1 << 20];
                        while let Ok(n) = f.read(&mut buf) {
                            if n == 0 || stream.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                    _ => {
                        let _ = write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    }
                }
            });
        }
    });
    format!("http://127.0.0.1:{port}/release")
}

/// The Kubernetes binaries the Go-module build cached.
fn built_binaries(cache: &Path) -> PathBuf {
    let dir = cache.join("go-build");
    std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("kubernetes-{VERSION}-amd64-"))
                && p.join(".complete").exists()
        })
        .map(|p| p.join("bin"))
        .expect("the Go-module build of Kubernetes in the cache")
}

fn shared_cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::home_dir().unwrap().join(".cache"))
        .join("kubeadm-local-cluster")
}

/// A cache that shares the slow, download-independent parts (the Debian base,
/// Go builds of etcd and CoreDNS, pause) with the usual cache, but not the
/// downloads: they must really come from the server.
fn download_test_cache() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for part in ["base", "go-build", "go-wrappers", "pause", "layers"] {
        let target = shared_cache().join(part);
        if target.exists() {
            std::os::unix::fs::symlink(target, dir.path().join(part)).unwrap();
        }
    }
    dir
}

#[test]
#[ignore = "builds Kubernetes and the node image (minutes on a cold cache); run by .ci/test"]
fn release_downloads_are_verified_against_published_checksums() {
    // Binaries we built, published as the release site lays them out.
    let (ok, _, _) = local_cluster(&[], &["build", "node-image"]);
    assert!(ok);
    let built = built_binaries(&shared_cache());
    let site = tempfile::tempdir().unwrap();
    let dir = site
        .path()
        .join(format!("release/{VERSION}/bin/linux/amd64"));
    std::fs::create_dir_all(&dir).unwrap();
    for name in local_cluster::artifacts::ALL_BINARIES {
        let data = std::fs::read(built.join(name)).unwrap();
        std::fs::write(dir.join(name), &data).unwrap();
        std::fs::write(
            dir.join(format!("{name}.sha256")),
            hex::encode(Sha256::digest(&data)),
        )
        .unwrap();
    }
    let url = serve(site.path().to_path_buf());

    let cache = download_test_cache();
    let env = [
        ("K8S_DIND_KUBERNETES_SOURCE", "release"),
        ("K8S_DIND_RELEASE_URL", url.as_str()),
        ("K8S_DIND_CACHE_DIR", cache.path().to_str().unwrap()),
    ];
    let (ok, stdout, stderr) = local_cluster(&env, &["build", "node-image", "--v", "2"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains(IMAGE));
    let versions = in_node_image("kubeadm version -o short");
    assert_eq!(versions.trim(), VERSION);

    // A published checksum that does not match: the build fails, naming the
    // file and both sums, and the download does not enter the cache.
    let cache = download_test_cache();
    let wrong = "0".repeat(64);
    std::fs::write(dir.join("kubelet.sha256"), &wrong).unwrap();
    let actual = hex::encode(Sha256::digest(std::fs::read(dir.join("kubelet")).unwrap()));
    let env = [
        ("K8S_DIND_KUBERNETES_SOURCE", "release"),
        ("K8S_DIND_RELEASE_URL", url.as_str()),
        ("K8S_DIND_CACHE_DIR", cache.path().to_str().unwrap()),
    ];
    let (ok, _, stderr) = local_cluster(&env, &["build", "node-image"]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("checksum mismatch for kubelet (downloaded from {url}/{VERSION}/bin/linux/amd64/kubelet): expected sha256 {wrong}, got {actual}")),
        "{stderr}"
    );
    let cached: Vec<String> = std::fs::read_dir(cache.path().join("downloads"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !cached.iter().any(|n| n.starts_with("kubelet-")),
        "a bad download was cached: {cached:?}"
    );

    // Leave the engine with the usual (Go-module) node image; the one from
    // the release binaries, which it replaces, must not linger untagged.
    let (ok, _, _) = local_cluster(&[], &["build", "node-image"]);
    assert!(ok);
    let superseded = docker(&[
        "image",
        "ls",
        "--quiet",
        "--filter",
        "dangling=true",
        "--filter",
        &format!("label={}=node-image", local_cluster::engine::LABEL_ROLE),
    ]);
    assert_eq!(
        superseded.trim(),
        "",
        "superseded node images were left behind"
    );
}
