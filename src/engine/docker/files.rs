//! Files in containers through the Docker API (tar archives both ways).

use bollard::query_parameters::{
    DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::TryStreamExt;

use super::{api, Docker};
use crate::engine::{ByteStream, Files, Result};

impl Files for Docker {
    async fn upload_tar(&self, container: &str, dest_dir: &str, tar: ByteStream) -> Result<()> {
        let options = UploadToContainerOptionsBuilder::default()
            .path(dest_dir)
            .build();
        self.api
            .upload_to_container(container, Some(options), bollard::body_try_stream(tar))
            .await
            .map_err(api(format!("copy files into {container}:{dest_dir}")))
    }

    async fn download_tar(&self, container: &str, path: &str) -> Result<Vec<u8>> {
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        self.api
            .download_from_container(container, Some(options))
            .try_fold(Vec::new(), |mut acc, chunk| async move {
                acc.extend_from_slice(&chunk);
                Ok(acc)
            })
            .await
            .map_err(api(format!("copy {container}:{path} out")))
    }
}
