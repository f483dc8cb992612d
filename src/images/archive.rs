//! Image archives in the `docker save` format (manifest.json + config + layer
//! blobs). Both `docker load` (any Docker version) and containerd's
//! `ctr images import` read it, so one writer serves the node image and the
//! images preloaded inside nodes.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::layer::LayerBlob;
use crate::engine::ImageConfig;

/// Everything needed to write one image.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// Full references, e.g. `registry.k8s.io/kube-apiserver:v1.37.2`.
    pub references: Vec<String>,
    /// Go architecture name.
    pub arch: String,
    pub config: ImageConfig,
    /// Bottom layer first.
    pub layers: Vec<LayerBlob>,
}

#[derive(Serialize)]
struct ConfigFile<'a> {
    architecture: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
    os: &'static str,
    created: &'static str,
    config: &'a ImageConfig,
    rootfs: RootFs<'a>,
    history: Vec<History>,
}

#[derive(Serialize)]
struct RootFs<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<&'a str>,
}

#[derive(Serialize)]
struct History {
    created: &'static str,
    created_by: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry<'a> {
    config: String,
    repo_tags: &'a [String],
    layers: Vec<String>,
}

/// A fixed creation time keeps image ids reproducible.
const CREATED: &str = "1970-01-01T00:00:00Z";

impl ImageSpec {
    /// The image config JSON and its digest (the image id).
    pub fn config_json(&self) -> (Vec<u8>, String) {
        let (arch, variant) = match self.arch.as_str() {
            "arm" => ("arm", Some("v7")),
            "arm64" => ("arm64", Some("v8")),
            a => (a, None),
        };
        let config = ConfigFile {
            architecture: arch,
            variant,
            os: "linux",
            created: CREATED,
            config: &self.config,
            rootfs: RootFs {
                kind: "layers",
                diff_ids: self.layers.iter().map(|l| l.diff_id.as_str()).collect(),
            },
            history: self
                .layers
                .iter()
                .map(|_| History {
                    created: CREATED,
                    created_by: "kubeadm-local-cluster",
                })
                .collect(),
        };
        let json = serde_json::to_vec(&config).expect("serializable");
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&json)));
        (json, digest)
    }

    /// Write a `docker save`-format archive to `path`.
    pub fn write_archive(&self, path: &Path) -> io::Result<String> {
        let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let id = self.write_archive_to(file)?;
        Ok(id)
    }

    /// Write the archive to any writer; returns the image id.
    pub fn write_archive_to<W: Write>(&self, out: W) -> io::Result<String> {
        let mut tar = tar::Builder::new(out);
        let (config, id) = self.config_json();
        let config_name = format!("{}.json", id.trim_start_matches("sha256:"));
        append_bytes(&mut tar, &config_name, &config)?;
        let mut layer_names = Vec::new();
        for layer in &self.layers {
            let name = format!("{}/layer.tar", layer.digest.trim_start_matches("sha256:"));
            if !layer_names.contains(&name) {
                let file = File::open(&layer.path)?;
                let mut h = tar::Header::new_gnu();
                h.set_size(file.metadata()?.len());
                h.set_mode(0o644);
                h.set_mtime(0);
                tar.append_data(&mut h, &name, file)?;
            }
            layer_names.push(name);
        }
        let manifest = vec![ManifestEntry {
            config: config_name,
            repo_tags: &self.references,
            layers: layer_names,
        }];
        append_bytes(
            &mut tar,
            "manifest.json",
            &serde_json::to_vec(&manifest).expect("serializable"),
        )?;
        tar.into_inner()?.flush()?;
        Ok(id)
    }
}

fn append_bytes<W: Write>(tar: &mut tar::Builder<W>, name: &str, data: &[u8]) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    tar.append_data(&mut h, name, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::layer::LayerBuilder;

    #[test]
    fn archive_lists_config_layers_and_tags() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = LayerBuilder::create(&dir.path().join("l.tar.gz")).unwrap();
        l.file("pause", 0o755, b"\x7fELF").unwrap();
        let layer = l.finish().unwrap();
        let spec = ImageSpec {
            references: vec!["registry.k8s.io/pause:3.10.2".into()],
            arch: "amd64".into(),
            config: ImageConfig {
                entrypoint: Some(vec!["/pause".into()]),
                ..Default::default()
            },
            layers: vec![layer.clone()],
        };
        let out = dir.path().join("image.tar");
        let id = spec.write_archive(&out).unwrap();
        let mut names = Vec::new();
        let mut manifest = String::new();
        let mut config = String::new();
        for entry in tar::Archive::new(File::open(&out).unwrap())
            .entries()
            .unwrap()
        {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().display().to_string();
            if name == "manifest.json" {
                io::Read::read_to_string(&mut entry, &mut manifest).unwrap();
            } else if name.ends_with(".json") {
                io::Read::read_to_string(&mut entry, &mut config).unwrap();
            }
            names.push(name);
        }
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(manifest.contains("registry.k8s.io/pause:3.10.2"));
        assert!(config.contains(&layer.diff_id));
        assert!(config.contains("\"Entrypoint\":[\"/pause\"]"));
        assert_eq!(
            id,
            format!("sha256:{}", hex::encode(Sha256::digest(config.as_bytes())))
        );
    }
}
