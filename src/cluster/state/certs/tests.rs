use super::*;

const NOW: i64 = 1_800_000_000;
const YEAR: u64 = 8760 * 3600;

fn held(node: &str, path: &str, from_now: i64) -> Held {
    Held {
        node: node.to_string(),
        path: path.to_string(),
        not_after: NOW + from_now,
    }
}

#[test]
fn the_margin_is_thirty_days_or_a_third_of_short_validities() {
    assert_eq!(margin(YEAR), 30 * DAY);
    assert_eq!(margin(300), 100);
    assert_eq!(margin(90 * DAY), 30 * DAY);
}

#[test]
fn each_file_has_the_holder_that_can_renew_it() {
    for (path, who) in [
        ("/etc/kubernetes/pki/ca.crt", Holder::Authority),
        ("/etc/kubernetes/pki/front-proxy-ca.crt", Holder::Authority),
        ("/etc/kubernetes/pki/etcd/ca.crt", Holder::Authority),
        ("/etc/kubernetes/pki/apiserver.crt", Holder::ControlPlane),
        ("/etc/kubernetes/pki/etcd/peer.crt", Holder::ControlPlane),
        ("/etc/kubernetes/admin.conf", Holder::ControlPlane),
        ("/etc/kubernetes/super-admin.conf", Holder::ControlPlane),
        ("/etc/kubernetes/kubelet.conf", Holder::Kubelet),
        (
            "/var/lib/kubelet/pki/kubelet-client-current.pem",
            Holder::Kubelet,
        ),
    ] {
        assert_eq!(holder(path), who, "{path}");
    }
}

#[test]
fn listings_are_seconds_and_paths_and_anything_else_is_skipped() {
    let text = "1800000300 /etc/kubernetes/pki/apiserver.crt\n\
                garbage\n\
                \n\
                soon /etc/kubernetes/admin.conf\n\
                1800000400 /var/lib/kubelet/pki/kubelet-client-current.pem\n";
    assert_eq!(
        parse_listing("kube-master", text),
        [
            held("kube-master", "/etc/kubernetes/pki/apiserver.crt", 300),
            held(
                "kube-master",
                "/var/lib/kubelet/pki/kubelet-client-current.pem",
                400
            ),
        ]
    );
}

#[test]
fn certificates_far_from_expiry_are_left_alone() {
    let all = [
        held("kube-master", "/etc/kubernetes/pki/ca.crt", 9 * YEAR as i64),
        held(
            "kube-master",
            "/etc/kubernetes/pki/apiserver.crt",
            200 * DAY as i64,
        ),
        held("kube-node-1", KUBELET_FILES[1], 31 * DAY as i64),
    ];
    let renewal = decide(&all, NOW, YEAR).unwrap();
    assert!(renewal.is_empty(), "{renewal:?}");
    assert_eq!(renewal.earliest(), None);
}

#[test]
fn expired_or_near_certificates_are_renewed_by_their_holder() {
    let all = [
        held("kube-master", "/etc/kubernetes/pki/ca.crt", 9 * YEAR as i64),
        held("kube-master", "/etc/kubernetes/pki/apiserver.crt", -60),
        held("kube-master", "/etc/kubernetes/admin.conf", -120),
        held(
            "kube-master",
            "/etc/kubernetes/pki/etcd/server.crt",
            10 * DAY as i64,
        ),
        held("kube-master", KUBELET_FILES[0], -100),
        held("kube-node-1", KUBELET_FILES[1], 29 * DAY as i64),
        held("kube-node-2", KUBELET_FILES[1], 31 * DAY as i64),
    ];
    let renewal = decide(&all, NOW, YEAR).unwrap();
    // The earliest of the control plane's, which expired two minutes ago.
    let cp = renewal.control_plane.clone().unwrap();
    assert_eq!(cp.path, "/etc/kubernetes/admin.conf");
    assert!(cp.expired(NOW));
    assert_eq!(say_when(&cp, NOW), "expired 2 min ago");
    let kubelets: Vec<&str> = renewal.kubelets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(kubelets, ["kube-master", "kube-node-1"]);
    assert_eq!(say_when(&renewal.kubelets[1].1, NOW), "expires in 29 days");
    assert_eq!(
        renewal.earliest().unwrap().path,
        "/etc/kubernetes/admin.conf"
    );
}

#[test]
fn a_kubelet_is_renewed_once_for_the_earlier_of_its_two_files() {
    let all = [
        held("kube-node-1", KUBELET_FILES[1], 50),
        held("kube-node-1", KUBELET_FILES[0], -10),
    ];
    let renewal = decide(&all, NOW, YEAR).unwrap();
    assert_eq!(renewal.kubelets.len(), 1);
    assert_eq!(renewal.kubelets[0].1.not_after, NOW - 10);
}

#[test]
fn short_validities_renew_within_a_third_of_their_span() {
    // Five-minute certificates: renewed under 100 s before expiry.
    let cert = "/etc/kubernetes/pki/apiserver.crt";
    assert!(decide(&[held("m", cert, 120)], NOW, 300)
        .unwrap()
        .is_empty());
    assert!(decide(&[held("m", cert, 90)], NOW, 300)
        .unwrap()
        .control_plane
        .is_some());
}

#[test]
fn an_expired_authority_cannot_be_renewed() {
    let all = [
        held("kube-master", "/etc/kubernetes/pki/apiserver.crt", -60),
        held("kube-node-1", "/etc/kubernetes/pki/ca.crt", -1),
    ];
    let err = decide(&all, NOW, YEAR).unwrap_err();
    assert_eq!(err.node, "kube-node-1");
    // One near its end is left to expire: a new cluster is the only cure.
    let near = [held("kube-master", "/etc/kubernetes/pki/ca.crt", 3600)];
    assert!(decide(&near, NOW, YEAR).unwrap().is_empty());
}

#[test]
fn spans_are_said_in_a_fitting_unit() {
    assert_eq!(say_span(59), "59 s");
    assert_eq!(say_span(600), "10 min");
    assert_eq!(say_span(5 * 3600), "5 h");
    assert_eq!(say_span(400 * DAY), "400 days");
}
