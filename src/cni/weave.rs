//! Weave Net (archived upstream in 2024) from its last release's manifest,
//! for engines that can pull its images. Its router also needs the kernel's
//! `dummy` network device.

use super::registry_only::RegistryOnly;

pub const WEAVE: RegistryOnly = RegistryOnly {
    plugin: "weave",
    manifest_url:
        "https://github.com/weaveworks/weave/releases/download/v2.8.1/weave-daemonset-k8s-1.11.yaml",
    images: &[
        "docker.io/weaveworks/weave-kube:2.8.1",
        "docker.io/weaveworks/weave-npc:2.8.1",
    ],
    not_built: "weave's sources are not on the Go proxy",
};
