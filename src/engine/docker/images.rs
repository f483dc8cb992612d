//! Images through the Docker API.

use bollard::query_parameters::{
    CreateImageOptionsBuilder, ImportImageOptionsBuilder, ListImagesOptionsBuilder,
    PushImageOptionsBuilder, RemoveImageOptionsBuilder, TagImageOptionsBuilder,
};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};

use super::{api, has_labels, is_not_found, label_filters, Docker};
use crate::engine::{
    split_reference, ApiErrorKind, ByteStream, EngineError, ImageDetails, ImageSummary, Images,
    Labels, RemoveImage, Result,
};

impl Images for Docker {
    async fn inspect_image(&self, reference: &str) -> Result<Option<ImageDetails>> {
        match self.api.inspect_image(reference).await {
            Ok(i) => Ok(Some(ImageDetails {
                id: i.id.unwrap_or_default(),
                size: i.size.unwrap_or_default(),
                arch: i.architecture.unwrap_or_default(),
                labels: i.config.and_then(|c| c.labels).unwrap_or_default(),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api(format!("inspect image {reference}"))(e)),
        }
    }

    /// Podman 4.3 lists no image when asked for two labels (it answers
    /// containers and volumes right): the engine is asked for the first,
    /// and the others are checked here.
    async fn list_images(&self, labels: &Labels<'_>) -> Result<Vec<ImageSummary>> {
        let options = ListImagesOptionsBuilder::default()
            .filters(&label_filters(&labels[..labels.len().min(1)]))
            .build();
        let list = self
            .api
            .list_images(Some(options))
            .await
            .map_err(api("list images"))?;
        Ok(list
            .into_iter()
            .filter(|i| has_labels(&i.labels, labels))
            .map(|i| ImageSummary {
                id: i.id,
                tags: i.repo_tags,
            })
            .collect())
    }

    async fn load_image(&self, archive: ByteStream) -> Result<()> {
        let options = ImportImageOptionsBuilder::default().quiet(true).build();
        let mut progress = self.api.import_image_stream(options, archive, None);
        while let Some(item) = progress.next().await {
            let info = item.map_err(api("load image archive"))?;
            if let Some(detail) = info.error_detail {
                let message = detail.message.unwrap_or_default();
                return Err(EngineError::Api {
                    action: "load image archive".to_string(),
                    kind: if crate::error::says_no_space(&message) {
                        ApiErrorKind::NoSpace
                    } else {
                        ApiErrorKind::Other
                    },
                    source: message.into(),
                });
            }
        }
        Ok(())
    }

    fn save_images(&self, names: &[&str]) -> BoxStream<'static, Result<Bytes>> {
        let action = format!("save images {}", names.join(" "));
        self.api
            .export_images(names)
            .map_err(move |e| api(action.clone())(e))
            .boxed()
    }

    async fn pull_image(
        &self,
        reference: &str,
        on_status: &mut (dyn FnMut(&str) + Send),
    ) -> Result<()> {
        let (repo, tag) = split_reference(reference);
        let options = CreateImageOptionsBuilder::default()
            .from_image(repo)
            .tag(tag)
            .build();
        let mut stream = self.api.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            let info = item.map_err(api(format!("pull image {reference}")))?;
            if let Some(status) = info.status {
                on_status(&status);
            }
        }
        Ok(())
    }

    async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        let (repo, tag) = split_reference(target);
        let options = TagImageOptionsBuilder::default()
            .repo(repo)
            .tag(tag)
            .build();
        self.api
            .tag_image(source, Some(options))
            .await
            .map_err(api(format!("tag image {source} as {target}")))
    }

    async fn push_image(
        &self,
        reference: &str,
        on_status: &mut (dyn FnMut(&str) + Send),
    ) -> Result<()> {
        let (repo, tag) = split_reference(reference);
        let options = PushImageOptionsBuilder::default().tag(tag).build();
        // bollard sends empty credentials and turns an error in the progress
        // stream (the registry refused a blob) into an Err.
        let mut stream = self.api.push_image(repo, Some(options), None);
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| push_error(reference, e))?;
            if let Some(status) = info.status {
                on_status(&status);
            }
        }
        Ok(())
    }

    async fn remove_image(&self, reference: &str, how: RemoveImage) -> Result<()> {
        let options = RemoveImageOptionsBuilder::default()
            .force(how == RemoveImage::Force)
            .build();
        match self.api.remove_image(reference, Some(options), None).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api(format!("remove image {reference}"))(e)),
        }
    }
}

/// A push's error, telling a registry spoken to over HTTPS apart.
fn push_error(reference: &str, e: bollard::errors::Error) -> EngineError {
    let action = format!("push image {reference}");
    if e.to_string()
        .contains("server gave HTTP response to HTTPS client")
    {
        let registry = reference.split('/').next().unwrap_or(reference).to_string();
        return EngineError::InsecureRegistry {
            action,
            registry,
            source: Box::new(e),
        };
    }
    api(action)(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_over_https_to_a_plain_registry_says_how_to_mark_it_insecure() {
        let e = bollard::errors::Error::DockerStreamError {
            error: "trying to reuse blob sha256:e15b at destination: pinging container registry \
                    localhost:5001: Get \"https://localhost:5001/v2/\": http: server gave HTTP \
                    response to HTTPS client"
                .to_string(),
        };
        let said = push_error("localhost:5001/local-test/busybox:1", e).to_string();
        assert!(said.contains("registry localhost:5001,"), "{said}");
        assert!(said.contains("location = \"localhost:5001\""), "{said}");
        let other = bollard::errors::Error::DockerStreamError {
            error: "denied".to_string(),
        };
        assert!(matches!(
            push_error("localhost:5001/x:1", other),
            EngineError::Api { .. }
        ));
    }
}
