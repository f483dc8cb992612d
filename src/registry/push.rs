//! Putting images into the registry.
//!
//! Pushes go through the Docker engine (tag as `localhost:<port>/path:tag`,
//! `docker push`, untag) rather than speaking the registry's HTTP API from
//! here: the engine reaches the registry on its own loopback, where the port
//! is published, so pushing works the same for local, remote and rootless
//! engines without exposing the registry beyond 127.0.0.1; and the engine
//! already handles the protocol (blob uploads, manifests, layer
//! compression, retries) and treats 127.0.0.0/8 registries as plain HTTP.
//! An archive is loaded into the engine first, and the names it added are
//! removed again afterwards.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use super::{hosts, image::file_stream, running, Registry, RegistryError, Result};
use crate::cluster::Ctx;
use crate::engine::{reference_with_tag, Engine, RemoveImage};

/// Where `reference` is stored: `localhost:<port>/<path>:<tag>`, the path
/// being the reference's without its registry host.
pub fn target(registry: &Registry, reference: &str) -> Result<String> {
    let bad = || RegistryError::BadReference {
        reference: reference.to_string(),
    };
    let (_, path) = hosts::split_host(reference).ok_or_else(bad)?;
    if path.contains('@') {
        // A digest names content, not a name the engine can tag.
        return Err(bad());
    }
    Ok(format!("{}/{path}", registry.host()))
}

/// Push images from the Docker engine into the cluster's running registry,
/// each stored under its path without registry host (`myapp:dev` →
/// `localhost:<port>/myapp:dev`, `registry.k8s.io/pause:3.10` →
/// `localhost:<port>/pause:3.10`). Returns the names pods can use.
pub async fn push_images<E: Engine>(
    cx: Ctx<'_, E>,
    registry: &Registry,
    images: &[String],
) -> Result<Vec<String>> {
    let mut targets = Vec::new();
    for image in images {
        let t = target(registry, image)?;
        if cx.engine.inspect_image(image).await?.is_none() {
            return Err(RegistryError::ImageMissing(image.clone()));
        }
        targets.push(t);
    }
    for (image, target) in images.iter().zip(&targets) {
        push_one(cx, image, target).await?;
    }
    Ok(targets)
}

async fn push_one<E: Engine>(cx: Ctx<'_, E>, image: &str, target: &str) -> Result<()> {
    let engine = cx.engine;
    let failed = |source| RegistryError::Push {
        image: image.to_string(),
        target: target.to_string(),
        source: Box::new(source),
    };
    // A name of the engine's own is kept; one made for the push is not.
    let temporary =
        reference_with_tag(image) != *target && engine.inspect_image(target).await?.is_none();
    if reference_with_tag(image) != *target {
        engine.tag_image(image, target).await.map_err(failed)?;
    }
    let ui = cx.ui;
    let pushed = engine
        .push_image(target, &mut |status| ui.detail(status))
        .await
        .map_err(failed);
    if temporary {
        engine.remove_image(target, RemoveImage::IfUnused).await?;
    }
    pushed
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
}

/// The image names a `docker save` archive holds (its manifest.json's
/// RepoTags), as the engine will name them once loaded.
pub fn archive_references(archive: &Path) -> Result<Vec<String>> {
    let io = |source| RegistryError::Archive {
        path: archive.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(archive).map_err(io)?;
    let mut tar = tar::Archive::new(std::io::BufReader::new(file));
    for entry in tar.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        let path = entry.path().map_err(io)?;
        if path.to_str() == Some("manifest.json") {
            let manifest: Vec<ManifestEntry> =
                serde_json::from_reader(&mut entry).map_err(|e| io(e.into()))?;
            return Ok(manifest
                .into_iter()
                .flat_map(|m| m.repo_tags.unwrap_or_default())
                .collect());
        }
    }
    Err(io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "no manifest.json: not a `docker save` archive",
    )))
}

/// The engine's short form of a Docker Hub name (`docker.io/library/x:1` →
/// `x:1`), which is how archives and the engine list them.
fn familiar(reference: &str) -> String {
    let full = reference_with_tag(reference);
    let short = full
        .strip_prefix("docker.io/library/")
        .or_else(|| full.strip_prefix("docker.io/"))
        .unwrap_or(&full);
    short.to_string()
}

/// Put images from a `docker save` archive into the cluster's running
/// registry: each of `references` (names the archive holds; all of them
/// when empty) is stored under its path without registry host, so
/// `registry.k8s.io/e2e-test-images/kitten:1.8` becomes
/// `localhost:<port>/e2e-test-images/kitten:1.8`, which a [`super::mirror`]
/// of `registry.k8s.io` serves. Returns the stored names.
///
/// The archive is loaded into the Docker engine to be pushed; names the
/// engine did not have before are removed again.
pub async fn push_archive<E: Engine>(
    cx: Ctx<'_, E>,
    registry: &Registry,
    archive: &Path,
    references: &[String],
) -> Result<Vec<String>> {
    let path = archive.to_path_buf();
    let held = tokio::task::spawn_blocking(move || archive_references(&path))
        .await
        .expect("archive reader panicked")?;
    let held_set: BTreeSet<String> = held.iter().map(|r| familiar(r)).collect();
    let wanted: Vec<String> = if references.is_empty() {
        held.clone()
    } else {
        references.to_vec()
    };
    for reference in &wanted {
        target(registry, reference)?;
        if !held_set.contains(&familiar(reference)) {
            return Err(RegistryError::NotInArchive {
                path: archive.to_path_buf(),
                reference: reference.clone(),
                held: if held.is_empty() {
                    "no named image".to_string()
                } else {
                    held.join(", ")
                },
            });
        }
    }
    let engine = cx.engine;
    let mut new_names = Vec::new();
    for reference in &wanted {
        if engine.inspect_image(reference).await?.is_none() {
            new_names.push(reference.clone());
        }
    }
    let load_err = |source| RegistryError::LoadArchive {
        path: archive.to_path_buf(),
        source,
    };
    let file = tokio::fs::File::open(archive)
        .await
        .map_err(|source| RegistryError::Archive {
            path: archive.to_path_buf(),
            source,
        })?;
    engine
        .load_image(file_stream(file))
        .await
        .map_err(load_err)?;
    let pushed = push_images(cx, registry, &wanted).await;
    for name in &new_names {
        engine.remove_image(name, RemoveImage::IfUnused).await?;
    }
    pushed
}

/// [`push_images`] into the cluster's registry, which must be running.
pub async fn push<E: Engine>(cx: Ctx<'_, E>, images: &[String]) -> Result<Vec<String>> {
    let registry = running(cx).await?;
    push_images(cx, &registry, images).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn registry() -> Registry {
        Registry {
            container: "registry".into(),
            host_port: 5001,
            ip: Ipv4Addr::new(10, 192, 255, 254),
            running: true,
        }
    }

    #[test]
    fn images_are_stored_under_their_path_on_the_registry() {
        let r = registry();
        assert_eq!(
            target(&r, "registry.k8s.io/e2e-test-images/kitten:1.8").unwrap(),
            "localhost:5001/e2e-test-images/kitten:1.8"
        );
        assert_eq!(target(&r, "myapp").unwrap(), "localhost:5001/myapp:latest");
        assert_eq!(
            target(&r, "localhost:5001/myapp:dev").unwrap(),
            "localhost:5001/myapp:dev"
        );
        assert!(target(&r, "a/b@sha256:00").is_err());
        assert!(target(&r, "Bad").is_err());
    }

    #[test]
    fn docker_hub_names_compare_in_their_short_form() {
        assert_eq!(familiar("docker.io/library/busybox:1.37"), "busybox:1.37");
        assert_eq!(familiar("docker.io/team/app"), "team/app:latest");
        assert_eq!(
            familiar("registry.k8s.io/pause:3.10"),
            "registry.k8s.io/pause:3.10"
        );
    }
}
