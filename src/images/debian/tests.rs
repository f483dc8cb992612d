//! Unit tests of cutting layers and following links in a tiny tree.

use std::os::unix::fs::symlink;
use std::path::Path;

use super::cut::cut;
use super::links::resolve_parents;
use super::*;

/// A tiny merged-/usr tree with one package whose command is an
/// alternative, and busybox.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in [
        "usr/bin",
        "usr/sbin",
        "etc/alternatives",
        "var/lib/dpkg/info",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    symlink("usr/bin", root.join("bin")).unwrap();
    symlink("usr/sbin", root.join("sbin")).unwrap();
    std::fs::write(root.join("usr/bin/nc.openbsd"), b"nc").unwrap();
    std::fs::write(root.join("usr/bin/busybox"), b"bb").unwrap();
    std::fs::write(root.join("usr/bin/dash"), b"dash").unwrap();
    symlink("dash", root.join("usr/bin/sh")).unwrap();
    symlink("/bin/nc.openbsd", root.join("etc/alternatives/nc")).unwrap();
    symlink("/etc/alternatives/nc", root.join("usr/bin/nc")).unwrap();
    std::fs::write(
        root.join("var/lib/dpkg/status"),
        "Package: netcat-openbsd\nStatus: install ok installed\nArchitecture: amd64\nDepends: dash\n\n\
         Package: dash\nStatus: install ok installed\nArchitecture: amd64\n\n\
         Package: busybox-static\nStatus: install ok installed\nArchitecture: amd64\n",
    )
    .unwrap();
    let info = root.join("var/lib/dpkg/info");
    std::fs::write(
        info.join("netcat-openbsd.list"),
        // base-files lists the merged-/usr links among its files
        "/.\n/bin\n/usr\n/usr/bin\n/usr/bin/nc.openbsd\n",
    )
    .unwrap();
    // an old-style path through the /bin link
    std::fs::write(info.join("dash.list"), "/.\n/bin/dash\n/usr/bin/sh\n").unwrap();
    std::fs::write(info.join("busybox-static.list"), "/.\n/usr/bin/busybox\n").unwrap();
    std::fs::write(
        root.join("applets"),
        "bin/sh\nusr/bin/wget\nsbin/ifconfig\nusr/bin/nc\n",
    )
    .unwrap();
    dir
}

fn entries(layer: &Path) -> Vec<(String, Option<String>)> {
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(layer).unwrap());
    tar::Archive::new(gz)
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let link = e.link_name().unwrap().map(|l| l.display().to_string());
            (name, link)
        })
        .filter(|(name, _)| !name.ends_with('/'))
        .collect()
}

#[test]
fn a_layer_holds_the_closure_alternatives_and_missing_applets() {
    let dir = tree();
    let out = dir.path().join("layer.tar.gz");
    let recipe = Recipe {
        name: "t",
        packages: &["netcat-openbsd"],
        skip: &[],
        busybox_fill: true,
    };
    cut(dir.path(), &dir.path().join("applets"), &recipe, &out).unwrap();
    let got = entries(&out);
    let link = |p: &str| got.iter().find(|(n, _)| n == p).map(|(_, l)| l.clone());
    // merged-/usr links, the closure, paths through /bin placed in /usr/bin
    assert_eq!(link("bin"), Some(Some("usr/bin".into())));
    assert_eq!(link("usr/bin/dash"), Some(None));
    assert!(link("bin/dash").is_none(), "{got:?}");
    assert_eq!(link("usr/bin/sh"), Some(Some("dash".into())));
    // the alternative links straight to its choice
    assert_eq!(link("usr/bin/nc"), Some(Some("/usr/bin/nc.openbsd".into())));
    // applets fill only what is missing
    assert_eq!(link("usr/bin/wget"), Some(Some("/usr/bin/busybox".into())));
    assert_eq!(
        link("usr/sbin/ifconfig"),
        Some(Some("/usr/bin/busybox".into()))
    );
    // every applet in /bin too, as in upstream's busybox image
    assert_eq!(
        link("usr/bin/ifconfig"),
        Some(Some("/usr/bin/busybox".into()))
    );
    // no path twice (`docker load` refuses that)
    let mut names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    let all = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all, "{got:?}");
}

#[test]
fn without_fill_there_is_no_busybox() {
    let dir = tree();
    let out = dir.path().join("layer.tar.gz");
    let recipe = Recipe {
        name: "t",
        packages: &["netcat-openbsd"],
        skip: &["dash"],
        busybox_fill: false,
    };
    cut(dir.path(), &dir.path().join("applets"), &recipe, &out).unwrap();
    let names: Vec<String> = entries(&out).into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"usr/bin/nc.openbsd".to_string()));
    assert!(
        !names
            .iter()
            .any(|n| n.contains("busybox") || n.contains("dash") || n == "usr/bin/wget"),
        "{names:?}"
    );
}

#[test]
fn parents_resolve_through_relative_and_absolute_links() {
    let dir = tree();
    symlink("/usr/bin", dir.path().join("abs")).unwrap();
    assert_eq!(
        resolve_parents(dir.path(), Path::new("bin/x")),
        Path::new("usr/bin/x")
    );
    assert_eq!(
        resolve_parents(dir.path(), Path::new("abs/x")),
        Path::new("usr/bin/x")
    );
    assert_eq!(
        resolve_parents(dir.path(), Path::new("etc/x")),
        Path::new("etc/x")
    );
}
