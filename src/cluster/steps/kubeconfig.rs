//! The files users get: `admin.conf` pointing at the published API server
//! port, and a kubectl matching the cluster.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::cluster::steps::kubectl::ADMIN_CONF;
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;

/// Point every `server:` line of a kubeconfig at `server`.
pub fn rewrite_server(kubeconfig: &str, server: &str) -> String {
    kubeconfig
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("server:") {
                let indent = &line[..line.len() - trimmed.len()];
                format!("{indent}server: {server}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Name the kubeconfig's user and context `name` (kubeadm calls every
/// cluster's admin `kubernetes-admin`), so that the kubeconfigs of several
/// clusters can be used together (`KUBECONFIG=a:b`) without one user's
/// credentials standing for another's. The cluster entry keeps its name,
/// which kubeadm already takes from the cluster.
pub fn rename_user_and_context(kubeconfig: &str, name: &str) -> String {
    let entry = |line: &str| -> Option<(String, String, String)> {
        let trimmed = line.trim_start();
        let item = trimmed.strip_prefix("- ").unwrap_or(trimmed);
        let (key, value) = item.split_once(':')?;
        let lead = &line[..line.len() - item.len()];
        Some((lead.to_string(), key.to_string(), value.trim().to_string()))
    };
    let value_of = |wanted: &str| {
        kubeconfig
            .lines()
            .filter_map(entry)
            .find_map(|(_, k, v)| (k == wanted && !v.is_empty()).then_some(v))
    };
    let (context, user) = (value_of("current-context"), value_of("user"));
    let mut out = String::new();
    for line in kubeconfig.lines() {
        let renamed = entry(line).and_then(|(lead, key, value)| {
            let rename = match key.as_str() {
                "current-context" | "user" => !value.is_empty(),
                "name" => Some(&value) == context.as_ref() || Some(&value) == user.as_ref(),
                _ => false,
            };
            rename.then(|| format!("{lead}{key}: {name}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Write `content` to `path` atomically with the given mode, in a private
/// directory (see [`crate::private`]).
pub fn write_private(path: &Path, content: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::private::dir(dir).map_err(ClusterError::io("creating", dir))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        // Before the content: a left-over temporary file keeps its old mode.
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(content)?;
        f.sync_all()
    };
    write().map_err(ClusterError::io("writing", &tmp))?;
    std::fs::rename(&tmp, path).map_err(ClusterError::io("writing", path))
}

/// Fetch admin.conf from the master and write it for the host.
pub async fn export_admin_conf<E: Engine>(cx: Ctx<'_, E>, api_port: u16) -> Result<()> {
    let raw = cx
        .engine
        .read_file(&cx.plan.master().container, ADMIN_CONF)
        .await?;
    let text = String::from_utf8(raw).map_err(ClusterError::AdminConfNotText)?;
    let server = format!(
        "https://{}:{api_port}",
        cx.engine.endpoint().published_address()
    );
    let text = rename_user_and_context(&text, &cx.plan.kube_cluster_name());
    write_private(
        &cx.plan.admin_conf(),
        rewrite_server(&text, &server).as_bytes(),
        0o600,
    )
}

/// Put a kubectl of the cluster's version next to admin.conf. The node's own
/// kubectl serves when this machine is Linux on the node's architecture.
pub async fn export_kubectl<E: Engine>(cx: Ctx<'_, E>, node_arch: &str) -> Result<()> {
    let plan = cx.plan;
    let host_arch = crate::engine::go_arch(std::env::consts::ARCH);
    if std::env::consts::OS != "linux" || host_arch != node_arch {
        cx.ui.warn(format!(
            "no kubectl for {}/{host_arch} is provided yet; use a kubectl {} of your own",
            std::env::consts::OS,
            plan.kubernetes_version
        ));
        return Ok(());
    }
    let stamp = plan.home_dir.join("kubectl.version");
    let want = plan.kubernetes_version.to_string();
    if plan.kubectl_path().exists()
        && std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str())
    {
        return Ok(());
    }
    let binary = cx
        .engine
        .read_file(&plan.master().container, "/usr/bin/kubectl")
        .await?;
    // Executable by anyone who can reach it; its directory is 0700.
    write_private(&plan.kubectl_path(), &binary, 0o755)?;
    // No secret, but everything we put in the home directory is 0600.
    crate::private::write(&stamp, &want).map_err(ClusterError::io("writing", &stamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_lines_are_replaced_keeping_indentation() {
        let conf = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: X\n    server: https://kube-master:6443\n  name: k\n";
        let out = rewrite_server(conf, "https://127.0.0.1:40123");
        assert!(out.contains("    server: https://127.0.0.1:40123\n"));
        assert!(!out.contains("kube-master:6443"));
        assert!(out.contains("certificate-authority-data: X"));
    }

    #[test]
    fn user_and_context_take_the_cluster_s_name() {
        let conf = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://kube-master:6443\n  name: kubeadm-local-cluster-b\ncontexts:\n- context:\n    cluster: kubeadm-local-cluster-b\n    user: kubernetes-admin\n  name: kubernetes-admin@kubeadm-local-cluster-b\ncurrent-context: kubernetes-admin@kubeadm-local-cluster-b\nkind: Config\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: X\n";
        let out = rename_user_and_context(conf, "kubeadm-local-cluster-b");
        assert_eq!(
            out,
            "apiVersion: v1\nclusters:\n- cluster:\n    server: https://kube-master:6443\n  name: kubeadm-local-cluster-b\ncontexts:\n- context:\n    cluster: kubeadm-local-cluster-b\n    user: kubeadm-local-cluster-b\n  name: kubeadm-local-cluster-b\ncurrent-context: kubeadm-local-cluster-b\nkind: Config\nusers:\n- name: kubeadm-local-cluster-b\n  user:\n    client-certificate-data: X\n"
        );
        assert!(!out.contains("kubernetes-admin"));
    }

    #[test]
    fn private_files_get_mode_0600_in_a_0700_directory() {
        use crate::private::tests::{mode, with_umask_022};
        with_umask_022(|| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("sub/admin.conf");
            write_private(&path, b"x", 0o600).unwrap();
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(&dir.path().join("sub")), 0o700);
            // A temporary file a crash left behind, world-readable.
            let tmp = dir
                .path()
                .join(format!("sub/.admin.conf.tmp{}", std::process::id()));
            std::fs::write(&tmp, "old").unwrap();
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
            write_private(&path, b"y", 0o600).unwrap();
            assert_eq!(mode(&path), 0o600);
            assert_eq!(std::fs::read(&path).unwrap(), b"y");
            let kubectl = dir.path().join("sub/kubectl");
            write_private(&kubectl, b"\x7fELF", 0o755).unwrap();
            assert_eq!(mode(&kubectl), 0o755);
        });
    }
}
