//! A user in the `docker` group, not root: with a node image already in the
//! engine, `up`, kubectl, `status` and `clean` need no root.

use crate::common::user::OtherUser;
use crate::common::{engine_objects, text};

#[test]
#[ignore = "needs root (to act as another user), a Docker engine with the node image and a minute; run by .ci/test"]
fn a_docker_group_member_brings_a_cluster_up_from_an_existing_node_image() {
    let user = OtherUser::new();
    let name = "it-user";
    let run = |args: &[&str]| {
        let out = user
            .command(&[OtherUser::docker_group()])
            .args(args)
            .args(["--cluster-name", name])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        eprintln!(
            "--- local-cluster {} (as nobody)\n{stderr}{stdout}",
            args.join(" ")
        );
        (stdout, out.status.code())
    };
    // What an earlier run may have left.
    assert_eq!(run(&["clean"]).1, Some(0));
    // Nothing to build: bridge networking and no addon (their images are
    // made with debootstrap, as root, when they are not in the cache).
    let (stdout, code) = run(&[
        "up",
        "--num-nodes",
        "1",
        "--addons",
        "",
        "--dind-subnet",
        "10.214.0.0/24",
    ]);
    assert_eq!(code, Some(0), "up failed");
    let home = user.home.join(".kubeadm-local-cluster/clusters").join(name);
    assert!(
        stdout.contains(&format!(
            "export KUBECONFIG={}",
            home.join("admin.conf").display()
        )),
        "{stdout}"
    );
    // The user's kubectl and admin.conf, as up printed them.
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(home.join("kubectl"))
        .args(["get", "nodes", "--no-headers"])
        .env("KUBECONFIG", home.join("admin.conf"))
        .output()
        .unwrap();
    let (nodes, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(nodes.lines().count(), 2, "{nodes}");
    assert!(
        nodes
            .lines()
            .all(|l| l.split_whitespace().nth(1) == Some("Ready")),
        "{nodes}"
    );

    assert_eq!(run(&["status"]).1, Some(0));
    assert_eq!(run(&["clean"]).1, Some(0));
    assert_eq!(engine_objects(name), Vec::<String>::new());
}
