use super::*;

#[test]
fn parses_kubeadm_image_list() {
    let list = "registry.k8s.io/kube-apiserver:v1.37.2\nregistry.k8s.io/kube-proxy:v1.37.2\n\
                registry.k8s.io/coredns/coredns:v1.14.6\nregistry.k8s.io/pause:3.10.2\n\
                registry.k8s.io/etcd:3.7.0-0\n";
    let images = parse_image_list(list).unwrap();
    assert_eq!(images.len(), 5);
    assert_eq!(
        images[0].component,
        Component::Kubernetes("kube-apiserver".into())
    );
    assert_eq!(images[2].component, Component::CoreDns);
    assert_eq!(images[2].tag, "v1.14.6");
    assert_eq!(images[4].component, Component::Etcd);
    assert_eq!(images[4].tag, "3.7.0-0");
}

#[test]
fn unknown_images_are_named_in_the_error() {
    let err = parse_image_list("registry.k8s.io/something-new:v1\n").unwrap_err();
    assert!(err.to_string().contains("something-new"));
}

#[test]
fn etcd_and_coredns_are_built_at_the_versions_their_tags_name() {
    assert_eq!((super::built::ETCD.version)("3.6.5-0"), "v3.6.5");
    assert_eq!((super::built::ETCD.version)("3.7.0"), "v3.7.0");
    assert_eq!((super::built::COREDNS.version)("v1.14.6"), "v1.14.6");
    assert_eq!((super::built::COREDNS.version)("1.11.1"), "v1.11.1");
}
