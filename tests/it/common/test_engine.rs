//! What the tests ask of an engine of their own, whatever it is: a dockerd
//! (remote.rs) or Podman's Docker-compatible service (podman.rs).

use std::path::Path;

pub trait TestEngine {
    /// The docker CLI on the engine (the tests' view, not the tool's);
    /// fails the test when it fails.
    fn docker(&self, args: &[&str]) -> String;
    /// A directory of the engine's own, removed with it.
    fn dir(&self) -> &Path;
    /// Environment for the tool to reach the engine.
    fn tool_env(&self) -> Vec<(String, String)>;

    /// `docker save` from this machine's engine, `docker load` here (the
    /// image's name and id unchanged).
    fn copy_image(&self, reference: &str) {
        let archive = self.dir().join("copied-image.tar");
        super::docker(&["save", "-o", archive.to_str().unwrap(), reference]);
        self.docker(&["load", "-i", archive.to_str().unwrap()]);
        std::fs::remove_file(&archive).unwrap();
    }

    /// What the engine holds: containers, volumes, images and networks
    /// beyond those every engine has.
    fn objects(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (kind, args) in [
            ("container", &["ps", "-a", "--format", "{{.Names}}"][..]),
            ("volume", &["volume", "ls", "--format", "{{.Name}}"][..]),
            (
                "image",
                &["images", "--format", "{{.Repository}}:{{.Tag}}"][..],
            ),
            ("network", &["network", "ls", "--format", "{{.Name}}"][..]),
        ] {
            for line in self.docker(args).lines() {
                // Docker's three networks; Podman's one.
                let builtin = ["bridge", "host", "none", "podman"].contains(&line);
                if !(kind == "network" && builtin) {
                    found.push(format!("{kind} {line}"));
                }
            }
        }
        found
    }

    /// What [`TestEngine::objects`] lists besides the tool's own images,
    /// which only `clean --all` removes (Podman names local images
    /// `localhost/...`).
    fn objects_but_tool_images(&self) -> Vec<String> {
        self.objects()
            .into_iter()
            .filter(|o| {
                !o.starts_with("image kubeadm-local-cluster/")
                    && !o.starts_with("image localhost/kubeadm-local-cluster/")
            })
            .collect()
    }
}
