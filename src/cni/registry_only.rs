//! Pod networks whose images can only be pulled (calico, weave): their
//! sources are not on the Go module proxy, so nothing of theirs is built
//! here. `up` installs them from their official manifests on engines that
//! can pull the images the manifest names, and otherwise stops before
//! anything is created, naming the images and why they cannot be had.

use super::{manifest_images, CniError, Inputs, Install};
use crate::artifacts::download;
use crate::engine::Engine;
use crate::images::components::pull_and_save;
use crate::images::MakeError;
use crate::settings::ImageSourceSetting;

/// What such a plugin is.
#[derive(Debug, Clone, Copy)]
pub struct RegistryOnly {
    pub plugin: &'static str,
    /// The official manifest of the release installed.
    pub manifest_url: &'static str,
    /// The images that manifest names, for the error when it cannot even be
    /// fetched (or images are to be built).
    pub images: &'static [&'static str],
    /// Why its images cannot be built here.
    pub not_built: &'static str,
}

impl RegistryOnly {
    /// Why it cannot be had when images are to be built.
    pub fn not_buildable(&self) -> CniError {
        CniError::NotBuildable {
            plugin: self.plugin,
            images: self.images.join(", "),
            why: self.not_built,
        }
    }
}

pub async fn prepare<E: Engine>(
    network: &RegistryOnly,
    inputs: &Inputs<'_, E>,
) -> Result<Install, CniError> {
    if inputs.build.image_source == ImageSourceSetting::Build {
        return Err(network.not_buildable());
    }
    let manifest = download::fetch_text(network.manifest_url)
        .await
        .map_err(MakeError::getting(format!(
            "the {} manifest",
            network.plugin
        )))?;
    let mut archives = Vec::new();
    let mut missing = Vec::new();
    for image in manifest_images(&manifest) {
        match pull_and_save(
            inputs.build.engine,
            inputs.build.ui,
            inputs.build.cache,
            &image,
        )
        .await
        {
            Ok(archive) => archives.push(archive),
            Err(e) => missing.push(format!("{image} ({})", crate::error::chain(&e))),
        }
    }
    if !missing.is_empty() {
        return Err(CniError::ImagesUnavailable {
            plugin: network.plugin,
            missing: missing.join("; "),
        });
    }
    Ok(Install {
        manifest: Some(manifest),
        images: archives,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::cache::Cache;
    use crate::engine::fake::FakeEngine;
    use crate::images::BuildContext;
    use crate::ui::Ui;

    fn inputs<'a>(engine: &'a FakeEngine, ui: &'a Ui, cache: &'a Cache) -> Inputs<'a, FakeEngine> {
        Inputs {
            build: BuildContext {
                engine,
                ui,
                cache,
                arch: "amd64",
                image_source: ImageSourceSetting::Registry,
                debian_mirror: "http://deb.invalid/debian",
            },
            pod_subnet: "10.244.0.0/16".parse().unwrap(),
            service_subnet: "10.96.0.0/12".parse().unwrap(),
            api_server: "10.192.0.2:6443".parse().unwrap(),
        }
    }

    /// Every image the engine cannot pull is named, with its reason, and
    /// nothing is installed.
    #[tokio::test]
    async fn images_that_cannot_be_pulled_are_all_named() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("net.yaml");
        std::fs::write(
            &manifest,
            "spec:\n  containers:\n  - image: docker.io/x/node:v1\n  - image: docker.io/x/cni:v1\n",
        )
        .unwrap();
        let url: &'static str =
            Box::leak(format!("file://{}", manifest.display()).into_boxed_str());
        let network = RegistryOnly {
            plugin: "calico",
            manifest_url: url,
            images: &[],
            not_built: "",
        };
        let (engine, ui, cache) = (FakeEngine::new(), Ui::recording(1), Cache::new(dir.path()));
        let err = prepare(&network, &inputs(&engine, &ui, &cache))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("the calico pod network needs images this engine could not pull"),
            "{err}"
        );
        assert!(err.contains("docker.io/x/node:v1 ("), "{err}");
        assert!(err.contains("docker.io/x/cni:v1 ("), "{err}");
        assert!(err.contains("no registry"), "{err}");
    }

    #[tokio::test]
    async fn a_manifest_that_cannot_be_fetched_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let network = RegistryOnly {
            plugin: "weave",
            manifest_url: "file:///nonexistent/weave.yaml",
            images: &[],
            not_built: "",
        };
        let (engine, ui, cache) = (FakeEngine::new(), Ui::recording(1), Cache::new(dir.path()));
        let err = prepare(&network, &inputs(&engine, &ui, &cache))
            .await
            .unwrap_err();
        let text = crate::error::chain(&err);
        assert!(text.contains("getting the weave manifest"), "{text}");
        assert!(text.contains("/nonexistent/weave.yaml"), "{text}");
    }
}
