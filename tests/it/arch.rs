//! A node image for another architecture than the host's (arm64 on amd64,
//! amd64 on arm64), checked by bench/check-arch.sh: the image config, every
//! ELF file in the image and in its preloaded images, and `kubeadm version`
//! under qemu-user. Ignored by default: a cold build cross-compiles
//! Kubernetes (half an hour on two cores) and installs Debian under
//! emulation; it needs qemu-user-static registered with binfmt_misc and the
//! cross compiler for pause, and says so when they are missing.

use crate::common;

use std::process::Command;

use common::{bin, text};
use local_cluster::images::foreign::{self, Emulation};

const VERSION: &str = "v1.37.2";

#[test]
#[ignore = "cross-builds Kubernetes and a Debian base under qemu-user (long on a cold cache)"]
fn a_node_image_for_another_architecture_is_that_architecture_throughout() {
    let arch = if foreign::host_arch() == "arm64" {
        "amd64"
    } else {
        "arm64"
    };
    if let Emulation::Missing(why) = foreign::emulation(arch) {
        panic!("this host cannot run {arch} programs: {why}");
    }
    let out = Command::new(bin())
        .args(["build", "node-image", "--arch", arch])
        .args(["--kubernetes-version", VERSION])
        .env("K8S_DIND_KUBERNETES_SOURCE", "go-module")
        .env("K8S_DIND_IMAGE_SOURCE", "build")
        .env_remove("LOCAL_CLUSTER_CONF")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}{stdout}");
    let image = format!("kubeadm-local-cluster/node:{VERSION}-{arch}");
    assert!(stdout.contains(&image), "{stdout}");
    let check = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/check-arch.sh");
    let out = Command::new(check).args([&image, arch]).output().unwrap();
    let (stdout, stderr) = text(&out);
    eprintln!("{stdout}{stderr}");
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "kubeadm version in the image (linux/{arch}): {VERSION}"
        )),
        "{stdout}"
    );
}
