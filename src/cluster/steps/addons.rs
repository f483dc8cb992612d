//! The addons step of a new cluster: each prepared addon's images go into
//! every node, then its manifest is applied. An addon that fails to install
//! is a warning: the cluster is up, and stays, without it.

use std::path::{Path, PathBuf};

use crate::addons::{Manifest, Prepared};
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;

/// Where kustomizations are copied in the master to be rendered.
const RENDER_DIR: &str = "/var/tmp/local-cluster-addons";

pub async fn install<E: Engine>(cx: Ctx<'_, E>, addons: &[Prepared]) {
    for addon in addons {
        if let Err(e) = install_one(cx, addon).await {
            cx.ui.warn(format!(
                "addon {} was not installed ({}); the cluster is up without it",
                addon.name,
                crate::error::chain(&e)
            ));
        }
    }
}

async fn install_one<E: Engine>(cx: Ctx<'_, E>, addon: &Prepared) -> Result<()> {
    let plan = cx.plan;
    if !addon.images.is_empty() {
        let containers: Vec<String> = plan.nodes.iter().map(|n| n.container.clone()).collect();
        crate::cluster::steps::images::import_archives_into(cx, &addon.images, &containers).await?;
    }
    let manifest = match &addon.manifest {
        Manifest::Text(text) => text.clone(),
        Manifest::Kustomize { dir, path, edit } => {
            let rendered = kustomize(cx, &addon.name, dir, path).await?;
            edit(&rendered).map_err(|e| ClusterError::AddonRender {
                addon: addon.name.clone(),
                why: e.to_string(),
            })?
        }
    };
    cx.kubectl()
        .apply(&manifest)
        .await
        .map_err(|e| ClusterError::AddonApply {
            addon: addon.name.clone(),
            source: Box::new(e),
        })?;
    Ok(())
}

/// `kubectl kustomize` of `dir`/`path`, run in the master on a copy of `dir`.
async fn kustomize<E: Engine>(
    cx: Ctx<'_, E>,
    name: &str,
    dir: &Path,
    path: &str,
) -> Result<String> {
    let files = files_under(dir).map_err(ClusterError::io("reading addon", dir))?;
    let target = format!(
        "{RENDER_DIR}/{}",
        name.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    cx.engine
        .upload_files(&cx.plan.master().container, &target, &files)
        .await?;
    cx.kubectl()
        .run(&["kustomize", &format!("{target}/{path}")])
        .await
}

/// Every file under `dir`, by its path relative to it.
fn files_under(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("under dir");
                out.push((relative.display().to_string(), path.clone()));
            }
        }
    }
    out.sort();
    Ok(out)
}
