use super::host::{Disk, HostFacts, Probe};
use super::*;

fn info() -> EngineInfo {
    EngineInfo {
        id: "id".into(),
        server_version: "20.10.24".into(),
        api_version: "1.41".into(),
        arch: "amd64".into(),
        os_type: "linux".into(),
        cgroup_version: 2,
        cgroup_driver: "systemd".into(),
        rootless: false,
        runtimes: vec!["runc".into()],
        kernel_version: "6.1.0".into(),
        data_root: "/var/lib/docker".into(),
        ..Default::default()
    }
}

/// A machine where everything is fine and the node image is built.
fn good() -> Facts {
    Facts {
        engine: Ok(EngineFacts {
            describe: "unix:///var/run/docker.sock (from the default)".into(),
            info: info(),
            node_image: Some(("node:v1.37.2".into(), true)),
        }),
        sources: Some(Sources {
            version: "v1.37.2".into(),
            release_site: Some(("https://dl.k8s.io/release".into(), Ok(()))),
            registry: Some(("registry.k8s.io".into(), Ok(()))),
            builds_kubernetes: false,
        }),
        version_error: None,
        host: HostFacts {
            root: false,
            inotify: Some((524_288, 512)),
            disks: vec![Disk {
                what: "cache disk",
                path: "/home/u/.cache".into(),
                free: Some(100 << 30),
            }],
            go: Err("`go` is not installed or not on PATH".into()),
            links: vec![
                ("bridge", Probe::Works),
                ("veth", Probe::Works),
                ("vxlan", Probe::Fails("Operation not supported".into())),
            ],
        },
        cni_plugin: CniPlugin::Bridge,
    }
}

fn of<'a>(findings: &'a [Finding], topic: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.topic == topic).collect()
}

fn worst(findings: &[Finding]) -> Verdict {
    findings.iter().map(|f| f.verdict).max().unwrap()
}

#[test]
fn a_machine_with_its_node_image_needs_neither_go_nor_root_nor_vxlan_for_bridge() {
    let findings = judge(&good());
    // Go missing is a warning only, root is not asked, vxlan not looked at.
    assert_eq!(of(&findings, "go")[0].verdict, Verdict::Warning);
    assert!(of(&findings, "root").is_empty());
    assert_eq!(of(&findings, "kernel").len(), 2);
    assert_eq!(worst(&findings), Verdict::Warning);
}

#[test]
fn a_denied_socket_says_to_join_the_docker_group() {
    let mut facts = good();
    facts.engine = Err(
        "cannot reach the Docker engine at unix:///var/run/docker.sock: \
                        Permission denied (os error 13)"
            .into(),
    );
    let engine = &judge(&facts)[0];
    assert_eq!(engine.verdict, Verdict::Problem);
    assert!(engine
        .fix
        .as_deref()
        .unwrap()
        .contains("usermod -aG docker"));
    facts.engine = Err("cannot reach the Docker engine: No such file or directory".into());
    assert!(judge(&facts)[0]
        .fix
        .as_deref()
        .unwrap()
        .contains("start dockerd"));
}

#[test]
fn a_first_build_offline_needs_go_root_and_says_what_is_built() {
    let mut facts = good();
    if let Ok(e) = &mut facts.engine {
        e.node_image = Some(("node:v1.37.2".into(), false));
    }
    let s = facts.sources.as_mut().unwrap();
    s.release_site = Some((
        "https://dl.k8s.io/release".into(),
        Err("no answer in 3 s".into()),
    ));
    s.registry = Some(("registry.k8s.io".into(), Err("no answer in 3 s".into())));
    s.builds_kubernetes = true;
    let findings = judge(&facts);
    assert_eq!(of(&findings, "node image")[0].verdict, Verdict::Warning);
    let release = of(&findings, "release site")[0];
    assert!(release
        .fix
        .as_deref()
        .unwrap()
        .contains("built here from its Go module"));
    let go = of(&findings, "go")[0];
    assert_eq!(go.verdict, Verdict::Problem);
    let root = of(&findings, "root")[0];
    assert!(root
        .fix
        .as_deref()
        .unwrap()
        .contains("sudo local-cluster build node-image"));
}

#[test]
fn vxlan_matters_to_flannel_and_limits_and_disks_are_judged_by_size() {
    let mut facts = good();
    facts.cni_plugin = CniPlugin::Flannel;
    facts.host.inotify = Some((8192, 128));
    facts.host.disks[0].free = Some(5 << 30);
    let findings = judge(&facts);
    let vxlan = of(&findings, "kernel")
        .into_iter()
        .find(|f| f.detail.contains("vxlan"))
        .unwrap();
    assert_eq!(vxlan.verdict, Verdict::Problem);
    assert!(vxlan.fix.as_deref().unwrap().contains("cniPlugin flannel"));
    let inotify = of(&findings, "inotify")[0];
    assert_eq!(inotify.verdict, Verdict::Warning);
    assert!(inotify.fix.as_deref().unwrap().contains("/etc/sysctl.d/"));
    assert_eq!(of(&findings, "cache disk")[0].verdict, Verdict::Problem);
}
