//! Images into the nodes' containerd: `docker save` archives imported into
//! every running node, and what all nodes already hold.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use futures_util::future::try_join_all;

use crate::cluster::steps::node_ops::NodeOp;
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::{Engine, ExecError};

const IMPORT_DIR: &str = "/var/tmp/local-cluster-load";

/// The running nodes, or an error when none is.
pub async fn running_nodes<E: Engine>(cx: Ctx<'_, E>) -> Result<Vec<String>> {
    let nodes = cx.node_containers().await?;
    let running: Vec<String> = nodes
        .into_iter()
        .filter(|(_, up)| *up)
        .map(|(name, _)| name)
        .collect();
    if running.is_empty() {
        return Err(ClusterError::NotRunning {
            cluster: cx.plan.name.clone(),
            flag: cx.plan.cluster_flag(),
        });
    }
    Ok(running)
}

/// Import a `docker save` archive into every running node's containerd.
pub async fn import_archive<E: Engine>(cx: Ctx<'_, E>, archive: &Path) -> Result<()> {
    let running = running_nodes(cx).await?;
    import_archives_into(cx, &[archive.to_path_buf()], &running).await
}

/// Import `docker save` archives into the containerd of these node
/// containers: each node gets them in one upload, and all nodes at once.
pub async fn import_archives_into<E: Engine>(
    cx: Ctx<'_, E>,
    archives: &[PathBuf],
    nodes: &[String],
) -> Result<()> {
    let engine = cx.engine;
    let files: Vec<(String, PathBuf)> = archives
        .iter()
        .enumerate()
        .map(|(i, path)| (format!("{i}.tar"), path.clone()))
        .collect();
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    let script = import_script(IMPORT_DIR, &names);
    try_join_all(nodes.iter().map(|node| {
        let (files, script) = (&files, &script);
        async move {
            let failed = |source| ClusterError::ImportImages {
                node: node.to_string(),
                source,
            };
            engine
                .upload_files(node, IMPORT_DIR, files)
                .await
                .map_err(failed)?;
            let argv = ["sh", "-c", script.as_str()];
            let out = NodeOp::ImportImages
                .exec(engine, node, &argv)
                .await
                .map_err(failed)?;
            if out.exit_code == 0 {
                return Ok(());
            }
            if let Some((file, machine)) = no_image_for_platform(&out.stdout_text()) {
                if let Some((_, path)) = files.iter().find(|(name, _)| *name == file) {
                    return Err(ClusterError::NoImageForPlatform {
                        node: node.to_string(),
                        archive: path.clone(),
                        images: Vec::new(),
                        machine,
                    });
                }
            }
            Err(failed(
                ExecError {
                    container: node.to_string(),
                    command: "ctr images import".to_string(),
                    exit_code: out.exit_code,
                    output: out.combined(),
                }
                .into(),
            ))
        }
    }))
    .await?;
    Ok(())
}

/// The script importing the uploaded `files` (in `dir`), one after
/// another, then removing `dir`.
///
/// Only the node's own platform (ctr's default) is imported and required,
/// not `--all-platforms`: an engine with the containerd image store saves a
/// multi-platform image as its whole index, with the manifests of the
/// platforms it never pulled absent, and containerd refuses an import that
/// asks for those (`content digest ... not found`). An archive with no
/// image for the node's platform (containerd: "image might be filtered
/// out") is reported by name with the node's machine, for a clear error.
fn import_script(dir: &str, files: &[&str]) -> String {
    format!(
        "rc=0
for f in {files}; do
  out=$(ctr --namespace k8s.io images import {dir}/$f 2>&1) && continue
  case $out in
    *'filtered out'*|*'no match for platform'*) echo \"no-image-for-platform $f $(uname -m)\"; rc=3 ;;
    *) printf '%s\\n' \"$out\" >&2; rc=1 ;;
  esac
  break
done
rm -rf {dir}
exit $rc",
        files = files.join(" ")
    )
}

/// The file and the node's machine from [`import_script`]'s report of an
/// archive without an image for the node's platform.
fn no_image_for_platform(stdout: &str) -> Option<(String, String)> {
    stdout.lines().find_map(|line| {
        let mut words = line.strip_prefix("no-image-for-platform ")?.split(' ');
        Some((words.next()?.to_string(), words.next()?.to_string()))
    })
}

/// The image references every running node's containerd holds (those all
/// nodes share).
pub async fn images_in_all_nodes<E: Engine>(cx: Ctx<'_, E>) -> Result<BTreeSet<String>> {
    let running = running_nodes(cx).await?;
    let mut common: Option<BTreeSet<String>> = None;
    for node in &running {
        let listed = cx
            .engine
            .sh(node, "ctr --namespace k8s.io images list --quiet")
            .await
            .map_err(|source| ClusterError::ListNodeImages {
                node: node.to_string(),
                source,
            })?;
        let here: BTreeSet<String> = listed.lines().map(|l| l.trim().to_string()).collect();
        common = Some(match common {
            None => here,
            Some(before) => before.intersection(&here).cloned().collect(),
        });
    }
    Ok(common.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The script run by `sh` against a `ctr` that imports `0.tar`, finds
    /// nothing for its platform in `1.tar` and fails otherwise on `2.tar`.
    fn run_script(files: &[&str]) -> std::process::Output {
        let bin = tempfile::tempdir().unwrap();
        let ctr = bin.path().join("ctr");
        std::fs::write(
            &ctr,
            "#!/bin/sh\n\
             case \"$*\" in\n\
               *0.tar) echo imported ;;\n\
               *1.tar) echo 'ctr: image might be filtered out' >&2; exit 1 ;;\n\
               *) echo 'ctr: content digest sha256:abc: not found' >&2; exit 1 ;;\n\
             esac\n",
        )
        .unwrap();
        std::fs::set_permissions(&ctr, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let uploads = tempfile::tempdir().unwrap();
        let dir = uploads.path().join("load");
        std::fs::create_dir(&dir).unwrap();
        let path = format!(
            "{}:{}",
            bin.path().display(),
            std::env::var("PATH").unwrap()
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(import_script(dir.to_str().unwrap(), files))
            .env("PATH", path)
            .output()
            .unwrap();
        assert!(!dir.exists(), "the uploaded archives are removed");
        out
    }

    #[test]
    fn the_script_imports_each_archive_and_names_one_for_another_platform() {
        let out = run_script(&["0.tar"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let out = run_script(&["0.tar", "1.tar", "2.tar"]);
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let (file, machine) = no_image_for_platform(&stdout).unwrap();
        assert_eq!(file, "1.tar");
        assert_eq!(machine, std::env::consts::ARCH);
        let out = run_script(&["0.tar", "2.tar"]);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert_eq!(
            no_image_for_platform(&String::from_utf8_lossy(&out.stdout)),
            None
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("content digest sha256:abc"));
    }
}
