//! The fake's networks, volumes and images.

use std::collections::BTreeMap;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;

use super::{not_found, refused, FakeEngine, Op};
use crate::engine::*;

impl Networks for FakeEngine {
    async fn create_network(&self, spec: &NetworkSpec) -> Result<String> {
        self.record(format!("create_network {} {}", spec.name, spec.subnet));
        let labels: Vec<(&str, &str)> = spec
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.add_network(&spec.name, &spec.subnet, &labels);
        Ok(format!("net-{}", spec.name))
    }

    async fn inspect_network(&self, name: &str) -> Result<Option<NetworkDetails>> {
        Ok(self.state().networks.get(name).cloned())
    }

    async fn list_networks(&self) -> Result<Vec<NetworkDetails>> {
        Ok(self.state().networks.values().cloned().collect())
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        self.record(format!("remove_network {name}"));
        self.state().networks.remove(name);
        Ok(())
    }
}

impl Volumes for FakeEngine {
    async fn create_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        self.record(format!("create_volume {name}"));
        self.state()
            .volumes
            .insert(name.to_string(), labels.clone().into_iter().collect());
        Ok(())
    }

    async fn volume_exists(&self, name: &str) -> Result<bool> {
        Ok(self.state().volumes.contains_key(name))
    }

    async fn list_volumes(&self, labels: &Labels<'_>) -> Result<Vec<String>> {
        Ok(self
            .state()
            .volumes
            .iter()
            .filter(|(_, l)| labels_match(l, labels))
            .map(|(n, _)| n.clone())
            .collect())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.record(format!("remove_volume {name}"));
        self.state().volumes.remove(name);
        Ok(())
    }
}

impl Images for FakeEngine {
    async fn inspect_image(&self, reference: &str) -> Result<Option<ImageDetails>> {
        let s = self.state();
        Ok(Self::image_id(&s, reference).map(|id| {
            let i = &s.images[&id];
            ImageDetails {
                id: i.id.clone(),
                size: 0,
                arch: "amd64".into(),
                labels: i.labels.clone(),
            }
        }))
    }

    async fn list_images(&self, labels: &Labels<'_>) -> Result<Vec<ImageSummary>> {
        Ok(self
            .state()
            .images
            .values()
            .filter(|i| labels_match(&i.labels, labels))
            .map(|i| ImageSummary {
                id: i.id.clone(),
                tags: if i.tags.is_empty() {
                    vec!["<none>:<none>".into()]
                } else {
                    i.tags.clone()
                },
            })
            .collect())
    }

    async fn load_image(&self, _archive: ByteStream) -> Result<()> {
        self.record("load_image".into());
        Ok(())
    }

    fn save_images(&self, names: &[&str]) -> BoxStream<'static, Result<Bytes>> {
        self.record(format!("save_images {}", names.join(" ")));
        let content = Bytes::from(format!("images {}", names.join(" ")));
        futures_util::stream::once(async move { Ok(content) }).boxed()
    }

    async fn pull_image(
        &self,
        reference: &str,
        _on_status: &mut (dyn FnMut(&str) + Send),
    ) -> Result<()> {
        Err(refused(
            format!("pull image {reference}: no registry"),
            ApiErrorKind::Other,
        ))
    }

    async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        self.record(format!("tag_image {source} {target}"));
        let mut s = self.state();
        let Some(id) = Self::image_id(&s, source) else {
            return Err(not_found(format!("tag image {source}: no such image")));
        };
        let target = reference_with_tag(target);
        for image in s.images.values_mut() {
            image.tags.retain(|t| *t != target);
        }
        s.images
            .get_mut(&id)
            .expect("found above")
            .tags
            .push(target);
        Ok(())
    }

    async fn push_image(
        &self,
        reference: &str,
        _on_status: &mut (dyn FnMut(&str) + Send),
    ) -> Result<()> {
        self.record(format!("push_image {reference}"));
        match Self::image_id(&self.state(), reference) {
            Some(_) => Ok(()),
            None => Err(not_found(format!("push image {reference}: no such image"))),
        }
    }

    async fn remove_image(&self, reference: &str, how: RemoveImage) -> Result<()> {
        self.record(format!("remove_image {reference}"));
        let mut s = self.state();
        let Some(id) = Self::image_id(&s, reference) else {
            return Ok(());
        };
        if let Some(kind) = Self::take_refusal(&mut s, Op::RemoveImage, reference) {
            return Err(refused(format!("remove image {reference}"), kind));
        }
        let in_use = s.containers.values().any(|c| c.image_id == id);
        if in_use && how == RemoveImage::IfUnused {
            return Err(refused(
                format!("remove image {reference}: in use"),
                ApiErrorKind::Conflict,
            ));
        }
        if reference == id || s.images[&id].tags.len() <= 1 {
            s.images.remove(&id);
        } else {
            let tag = reference_with_tag(reference);
            s.images
                .get_mut(&id)
                .expect("found above")
                .tags
                .retain(|t| *t != tag);
        }
        Ok(())
    }
}

impl Engine for FakeEngine {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}
