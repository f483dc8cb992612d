//! calico in VXLAN mode (no BGP: kernels like ours have no IPIP), from its
//! official manifest, for engines that can pull its images.

use super::registry_only::RegistryOnly;

pub const CALICO: RegistryOnly = RegistryOnly {
    plugin: "calico",
    manifest_url: "https://raw.githubusercontent.com/projectcalico/calico/v3.28.5/manifests/calico-vxlan.yaml",
    images: &[
        "docker.io/calico/cni:v3.28.5",
        "docker.io/calico/node:v3.28.5",
        "docker.io/calico/kube-controllers:v3.28.5",
    ],
    not_built: "calico's module on the Go proxy lacks its nested module github.com/projectcalico/api, which every calico program imports",
};
