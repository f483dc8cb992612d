//! Pure text: the containerd `hosts.toml` files that point nodes at the
//! registry, the registry path an image reference is stored under, and the
//! ConfigMap that publishes the registry's address (KEP-1755).

/// Where containerd (with `config_path`) reads per-registry host files.
pub const CERTS_DIR: &str = "/etc/containerd/certs.d";

/// First line of every file we write, so they can be told from others.
pub const MARKER: &str = "# Written by local-cluster for the cluster's local registry.";

/// The file configuring pulls of images named `<registry_host>/...`.
pub fn hosts_path(registry_host: &str) -> String {
    format!("{CERTS_DIR}/{registry_host}/hosts.toml")
}

/// `hosts.toml` for `localhost:<port>`: images a pod names
/// `localhost:<port>/...` come from the registry container over the cluster
/// network (on the node, localhost is the node itself, not the host that
/// publishes the port).
pub fn local_hosts_toml(registry_url: &str) -> String {
    format!(
        "{MARKER}\n\
         # Images named localhost:<port>/... come from the registry container.\n\
         [host.\"{registry_url}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
    )
}

/// `hosts.toml` making the registry a mirror of `upstream`: pulls of
/// `upstream/path:tag` ask the registry for `path:tag` first and fall back to
/// the upstream server when it does not have it.
pub fn mirror_hosts_toml(upstream: &str, registry_url: &str) -> String {
    format!(
        "{MARKER}\n\
         # Pulls of {upstream}/... try the local registry first.\n\
         server = \"{}\"\n\n\
         [host.\"{registry_url}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
        upstream_server(upstream)
    )
}

/// The server containerd falls back to for `upstream`.
pub fn upstream_server(upstream: &str) -> String {
    match upstream {
        // Docker Hub's names and its API live on different hosts.
        "docker.io" => "https://registry-1.docker.io".to_string(),
        other => format!("https://{other}"),
    }
}

/// Is `host` usable as a registry host name in a reference and a directory
/// name (`registry.k8s.io`, `localhost:5001`, `10.0.0.1:5000`)?
pub fn is_registry_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))
        && !host.starts_with(['.', '-', ':'])
        && !host.contains("..")
}

/// An image reference split into its registry host (if it names one) and
/// the repository path with the tag or digest: `registry.k8s.io/pause:3.10`
/// → (`registry.k8s.io`, `pause:3.10`); `myapp` → (None, `myapp:latest`).
///
/// As in Docker's rules, the first component is a host when it contains a
/// `.` or `:` or is `localhost`. A name without a host is kept as written
/// (`myapp:dev`, not Docker Hub's `library/myapp:dev`): that is what users
/// expect `localhost:<port>/myapp:dev` to be. To serve a Docker Hub mirror,
/// name the image with its host (`docker.io/library/busybox:1.37`).
pub fn split_host(reference: &str) -> Option<(Option<&str>, String)> {
    let reference = reference.trim();
    if reference.is_empty()
        || reference.chars().any(char::is_whitespace)
        || reference.contains("://")
    {
        return None;
    }
    let (host, rest) = match reference.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (Some(first), rest)
        }
        _ => (None, reference),
    };
    if rest.is_empty() || rest.starts_with('/') || rest.ends_with('/') || rest.contains("//") {
        return None;
    }
    let path = if rest.contains('@') {
        rest.to_string()
    } else {
        crate::engine::reference_with_tag(rest)
    };
    // Repository paths are lowercase: Docker refuses the rest anyway.
    let (repo, _) = path.split_once(['@']).unwrap_or((&path, ""));
    let (repo, _) = crate::engine::split_reference(repo);
    if repo.chars().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    Some((host, path))
}

/// The ConfigMap of KEP-1755 ("Communicating a local registry"), which tools
/// like Tilt and Skaffold read to learn where to push.
pub fn local_registry_hosting(host: &str, from_cluster: &str) -> String {
    format!(
        "apiVersion: v1\n\
         kind: ConfigMap\n\
         metadata:\n  name: local-registry-hosting\n  namespace: kube-public\n\
         data:\n  localRegistryHosting.v1: |\n    host: \"{host}\"\n    \
         hostFromContainerRuntime: \"{host}\"\n    hostFromClusterNetwork: \"{from_cluster}\"\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_hosts_file_points_at_the_registry_container() {
        assert_eq!(
            local_hosts_toml("http://reg-registry:5000"),
            "# Written by local-cluster for the cluster's local registry.\n\
             # Images named localhost:<port>/... come from the registry container.\n\
             [host.\"http://reg-registry:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        );
        assert_eq!(
            hosts_path("localhost:5001"),
            "/etc/containerd/certs.d/localhost:5001/hosts.toml"
        );
    }

    #[test]
    fn a_mirror_falls_back_to_the_upstream_server() {
        let text = mirror_hosts_toml("registry.k8s.io", "http://registry:5000");
        assert!(
            text.contains("server = \"https://registry.k8s.io\"\n"),
            "{text}"
        );
        assert!(text.contains(
            "[host.\"http://registry:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        ));
        // The server line must come before any table, or TOML puts it inside.
        assert!(text.find("server").unwrap() < text.find("[host").unwrap());
        let hub = mirror_hosts_toml("docker.io", "http://registry:5000");
        assert!(hub.contains("server = \"https://registry-1.docker.io\"\n"));
    }

    #[test]
    fn references_split_into_host_and_stored_path() {
        let split = |r| split_host(r).unwrap();
        assert_eq!(
            split("registry.k8s.io/e2e-test-images/kitten:1.8"),
            (Some("registry.k8s.io"), "e2e-test-images/kitten:1.8".into())
        );
        assert_eq!(split("myapp"), (None, "myapp:latest".into()));
        assert_eq!(split("team/myapp:dev"), (None, "team/myapp:dev".into()));
        assert_eq!(
            split("localhost:5001/myapp:dev"),
            (Some("localhost:5001"), "myapp:dev".into())
        );
        assert_eq!(split("localhost/x"), (Some("localhost"), "x:latest".into()));
        assert_eq!(
            split("docker.io/library/busybox:1.37"),
            (Some("docker.io"), "library/busybox:1.37".into())
        );
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            split(&format!("quay.io/a/b@{digest}")),
            (Some("quay.io"), format!("a/b@{digest}"))
        );
        for bad in [
            "",
            "a b",
            "registry.k8s.io/",
            "x//y",
            "MyApp:1",
            "http://x/y",
        ] {
            assert_eq!(split_host(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn registry_hosts_are_checked() {
        for good in [
            "registry.k8s.io",
            "docker.io",
            "localhost:5001",
            "10.0.0.1:5000",
        ] {
            assert!(is_registry_host(good), "{good}");
        }
        for bad in ["", "a/b", "../x", ".x", "a b", "x..y"] {
            assert!(!is_registry_host(bad), "{bad}");
        }
    }

    #[test]
    fn the_configmap_names_the_host_and_cluster_addresses() {
        let text = local_registry_hosting("localhost:5001", "10.231.0.254:5000");
        assert!(text.contains("name: local-registry-hosting\n  namespace: kube-public\n"));
        assert!(text.contains("  localRegistryHosting.v1: |\n    host: \"localhost:5001\"\n"));
        assert!(text.contains("    hostFromClusterNetwork: \"10.231.0.254:5000\"\n"));
    }
}
