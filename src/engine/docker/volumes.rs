//! Volumes through the Docker API.

use std::collections::BTreeMap;

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder};

use super::{api, is_not_found, label_filters, Docker};
use crate::engine::{Labels, Result, Volumes};

impl Volumes for Docker {
    async fn create_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        self.api
            .create_volume(request)
            .await
            .map(|_| ())
            .map_err(api(format!("create volume {name}")))
    }

    async fn volume_exists(&self, name: &str) -> Result<bool> {
        match self.api.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(api(format!("inspect volume {name}"))(e)),
        }
    }

    async fn list_volumes(&self, labels: &Labels<'_>) -> Result<Vec<String>> {
        let options = ListVolumesOptionsBuilder::default()
            .filters(&label_filters(labels))
            .build();
        let list = self
            .api
            .list_volumes(Some(options))
            .await
            .map_err(api("list volumes"))?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        let options = RemoveVolumeOptionsBuilder::default().force(true).build();
        match self.api.remove_volume(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api(format!("remove volume {name}"))(e)),
        }
    }
}
