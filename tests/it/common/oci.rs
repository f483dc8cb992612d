//! A multi-platform image of which one platform is present, as an engine
//! with the containerd image store holds an image pulled for one platform:
//! an OCI archive whose index names this machine's platform (the busybox
//! test image's layer and config) and arm64, whose manifest is absent.
//! A `manifest.json` beside it lets engines that read only `docker save`'s
//! own format (Docker 20.10) load the present platform.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{docker, BUSYBOX};

/// The image's name.
pub const MULTI: &str = "local-test/multi:1";

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The files of a tar archive by path.
fn tar_files(archive: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut tar = tar::Archive::new(std::fs::File::open(archive).unwrap());
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type().is_file() {
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            files.insert(path, bytes);
        }
    }
    files
}

/// Write the archive of [`MULTI`] to `path`.
pub fn multi_platform_archive(path: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("busybox.tar");
    docker(&["save", "-o", saved.to_str().unwrap(), BUSYBOX]);
    let files = tar_files(&saved);
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    // A config of its own (a label added), so the image has an ID of its
    // own: the kubelet keeps a record of each image ID it pulled, and a
    // `Never` pod naming an image whose ID it pulled under another name
    // only (the busybox image from the cluster's registry) gets
    // ErrImageNeverPull (KubeletEnsureSecretPulledImages).
    let mut config: Value =
        serde_json::from_slice(&files[manifest[0]["Config"].as_str().unwrap()]).unwrap();
    config["config"]["Labels"] = json!({"io.kubeadm-local-cluster.test": "multi"});
    let config = serde_json::to_vec(&config).unwrap();
    let layers = manifest[0]["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "the busybox test image has one layer");
    let layer = files[layers[0].as_str().unwrap()].clone();
    let arch: Value = serde_json::from_slice::<Value>(&config).unwrap()["architecture"].clone();

    let mut blobs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut add = |bytes: Vec<u8>| {
        let d = digest(&bytes);
        let size = bytes.len();
        blobs.insert(d.clone(), bytes);
        (d, size)
    };
    let (config_digest, config_size) = add(config);
    let (layer_digest, layer_size) = add(layer);
    let image = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest, "size": layer_size}],
    }))
    .unwrap();
    let (image_digest, image_size) = add(image);
    // Named by the index, never written: the platform not pulled.
    let absent = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#;
    let other = if arch == "arm64" { "amd64" } else { "arm64" };
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": image_digest, "size": image_size,
             "platform": {"architecture": arch, "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": digest(absent), "size": absent.len(),
             "platform": {"architecture": other, "os": "linux"}},
        ],
    }))
    .unwrap();
    let (index_digest, index_size) = add(index);
    let (repo, tag) = MULTI.split_once(':').unwrap();
    let top = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": index_digest, "size": index_size,
            "annotations": {
                "io.containerd.image.name": format!("docker.io/{repo}:{tag}"),
                "org.opencontainers.image.ref.name": tag,
            },
        }],
    }))
    .unwrap();
    let blob_path = |d: &str| format!("blobs/sha256/{}", d.trim_start_matches("sha256:"));
    let legacy = serde_json::to_vec(&json!([{
        "Config": blob_path(&config_digest),
        "RepoTags": [MULTI],
        "Layers": [blob_path(&layer_digest)],
    }]))
    .unwrap();

    let mut out = tar::Builder::new(std::fs::File::create(path).unwrap());
    let mut put = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        out.append_data(&mut header, name, bytes).unwrap();
    };
    put("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    put("index.json", &top);
    put("manifest.json", &legacy);
    for (d, bytes) in &blobs {
        put(&blob_path(d), bytes);
    }
    out.finish().unwrap();
}

/// The platforms an image index in a `docker save` archive names whose
/// manifests the archive lacks (what containerd's `--all-platforms` import
/// refuses).
pub fn absent_platforms(archive: &Path) -> Vec<String> {
    let files = tar_files(archive);
    let blob = |d: &str| {
        files
            .get(&format!("blobs/sha256/{}", d.trim_start_matches("sha256:")))
            .cloned()
    };
    let mut absent = Vec::new();
    let top: Value = serde_json::from_slice(&files["index.json"]).unwrap();
    let mut pending: Vec<Value> = top["manifests"].as_array().unwrap().clone();
    while let Some(descriptor) = pending.pop() {
        let d = descriptor["digest"].as_str().unwrap();
        match blob(d) {
            None => absent.push(format!(
                "{}/{}",
                descriptor["platform"]["os"].as_str().unwrap_or("?"),
                descriptor["platform"]["architecture"]
                    .as_str()
                    .unwrap_or("?")
            )),
            Some(bytes) => {
                let inner: Value = serde_json::from_slice(&bytes).unwrap();
                if let Some(children) = inner["manifests"].as_array() {
                    pending.extend(children.iter().cloned());
                }
            }
        }
    }
    absent
}
