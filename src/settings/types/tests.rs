//! Unit tests of versions, version settings and checksums.

use super::*;

#[test]
fn versions_parse_and_order() {
    let v: KubeVersion = "v1.37.2".parse().unwrap();
    assert_eq!(v.to_string(), "v1.37.2");
    assert_eq!("1.37.2".parse::<KubeVersion>().unwrap(), v);
    let a: KubeVersion = "v1.38.0-alpha.2".parse().unwrap();
    let b: KubeVersion = "v1.38.0-alpha.10".parse().unwrap();
    let r: KubeVersion = "v1.38.0".parse().unwrap();
    assert!(a < b && b < r && v < a);
    assert!("v1.37".parse::<KubeVersion>().is_err());
    assert!("v1.x.2".parse::<KubeVersion>().is_err());
}

#[test]
fn a_tree_build_is_told_from_a_release_and_named_by_its_tag() {
    let base = |text: &str| {
        let v: KubeVersion = text.parse().unwrap();
        (v.release_base().to_string(), v.is_release())
    };
    for release in [
        "v1.37.2",
        "v1.38.0-alpha.1",
        "v1.38.0-beta.0",
        "v1.37.0-rc.1",
    ] {
        assert_eq!(base(release), (release.to_string(), true));
    }
    for (built, tag) in [
        ("v1.37.2-dirty", "v1.37.2"),
        ("v1.37.2-5+0123456789abcd", "v1.37.2"),
        ("v1.37.2-5+0123456789abcd-dirty", "v1.37.2"),
        ("v1.38.0-alpha.0.6+84c76d1142ea4d-dirty", "v1.38.0-alpha.0"),
        ("v1.37.0-rc.1-dirty", "v1.37.0-rc.1"),
        ("v1.37.2-untagged+0123456789abcd", "v1.37.2"),
    ] {
        assert_eq!(base(built), (tag.to_string(), false), "{built}");
    }
}

#[test]
fn version_specs() {
    assert_eq!(
        "stable".parse::<VersionSpec>().unwrap(),
        VersionSpec::Stable
    );
    assert_eq!(
        "1.36".parse::<VersionSpec>().unwrap(),
        VersionSpec::Minor {
            major: 1,
            minor: 36
        }
    );
    assert_eq!(
        "v1.36.3".parse::<VersionSpec>().unwrap().to_string(),
        "v1.36.3"
    );
    assert!("one".parse::<VersionSpec>().is_err());
    assert!("1.36.".parse::<VersionSpec>().is_err());
}

#[test]
fn checksums_by_length() {
    let sha1 = "4e375e27a5aa10a8d1a0d10da5c3c2f2d0ee4770";
    assert_eq!(sha1.parse::<Checksum>().unwrap().algorithm_name(), "sha1");
    let sha256 = "a".repeat(64);
    assert_eq!(
        sha256.parse::<Checksum>().unwrap().algorithm_name(),
        "sha256"
    );
    assert!("abcd"
        .parse::<Checksum>()
        .unwrap_err()
        .contains("4 hex digits"));
    assert!("xyz"
        .parse::<Checksum>()
        .unwrap_err()
        .contains("not hexadecimal"));
}
