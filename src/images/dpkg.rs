//! Reading a Debian root filesystem's package database, to lift a package and
//! its dependencies out of it (kube-proxy's image needs iptables and nft with
//! their libraries, and nothing else from Debian).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// An installed package as dpkg's status file describes it.
#[derive(Debug, Clone, Default)]
pub struct Package {
    pub name: String,
    pub arch: String,
    /// Each entry is a list of alternatives (`a | b`).
    pub depends: Vec<Vec<String>>,
}

/// Parse `var/lib/dpkg/status`, keeping installed packages.
pub fn installed_packages(status: &str) -> BTreeMap<String, Package> {
    let mut out = BTreeMap::new();
    for stanza in status.split("\n\n") {
        let mut pkg = Package::default();
        let mut installed = false;
        let mut field = String::new();
        let mut fields: BTreeMap<String, String> = BTreeMap::new();
        for line in stanza.lines() {
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some(v) = fields.get_mut(&field) {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                field = k.to_string();
                fields.insert(field.clone(), v.trim().to_string());
            }
        }
        if let Some(status) = fields.get("Status") {
            installed = status.ends_with(" installed");
        }
        let Some(name) = fields.get("Package") else {
            continue;
        };
        if !installed {
            continue;
        }
        pkg.name = name.clone();
        pkg.arch = fields.get("Architecture").cloned().unwrap_or_default();
        for key in ["Pre-Depends", "Depends"] {
            if let Some(deps) = fields.get(key) {
                for dep in deps.split(',') {
                    let alternatives = dep
                        .split('|')
                        .map(|alt| {
                            alt.trim()
                                .split([' ', '('])
                                .next()
                                .unwrap_or("")
                                .split(':')
                                .next()
                                .unwrap_or("")
                                .to_string()
                        })
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>();
                    if !alternatives.is_empty() {
                        pkg.depends.push(alternatives);
                    }
                }
            }
        }
        out.insert(pkg.name.clone(), pkg);
    }
    out
}

/// `roots` and everything they depend on, minus `skip` (packages whose files
/// a single-purpose image does not need, like dpkg or debconf).
pub fn closure(
    packages: &BTreeMap<String, Package>,
    roots: &[&str],
    skip: &[&str],
) -> Result<BTreeSet<String>, String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = roots.iter().map(|s| s.to_string()).collect();
    while let Some(name) = todo.pop() {
        if skip.contains(&name.as_str()) || seen.contains(&name) {
            continue;
        }
        let pkg = packages
            .get(&name)
            .ok_or_else(|| format!("package {name} is not installed in the base system"))?;
        seen.insert(name);
        for alternatives in &pkg.depends {
            // The first alternative that is installed satisfies the dependency.
            if let Some(found) = alternatives.iter().find(|a| packages.contains_key(*a)) {
                todo.push(found.clone());
            }
        }
    }
    Ok(seen)
}

/// Files (not directories) a package installed, from `var/lib/dpkg/info/*.list`,
/// without documentation.
pub fn package_files(root: &Path, pkg: &Package) -> std::io::Result<Vec<PathBuf>> {
    let info = root.join("var/lib/dpkg/info");
    let list = [
        info.join(format!("{}:{}.list", pkg.name, pkg.arch)),
        info.join(format!("{}.list", pkg.name)),
    ]
    .into_iter()
    .find(|p| p.exists())
    .ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no file list for package {}", pkg.name),
        )
    })?;
    let text = std::fs::read_to_string(list)?;
    Ok(text
        .lines()
        .filter(|l| !l.is_empty() && *l != "/.")
        .filter(|l| {
            ![
                "/usr/share/doc",
                "/usr/share/man",
                "/usr/share/info",
                "/usr/share/lintian",
                "/usr/share/locale",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .map(PathBuf::from)
        .filter(|p| {
            let on_disk = root.join(p.strip_prefix("/").unwrap_or(p));
            std::fs::symlink_metadata(on_disk).is_ok_and(|m| !m.is_dir())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Package: iptables
Status: install ok installed
Architecture: amd64
Depends: libip4tc2 (= 1.8.11-2), libxtables12 (>= 1.8.4), netbase | other-base, libc6 (>= 2.38)

Package: libip4tc2
Status: install ok installed
Architecture: amd64
Depends: libc6 (>= 2.4)

Package: libxtables12
Status: install ok installed
Architecture: amd64
Pre-Depends: libc6:amd64 (>= 2.34)

Package: netbase
Status: install ok installed
Architecture: all

Package: libc6
Status: install ok installed
Architecture: amd64
Depends: libgcc-s1,
 debconf

Package: libgcc-s1
Status: install ok installed
Architecture: amd64

Package: debconf
Status: install ok installed
Architecture: all

Package: removed-thing
Status: deinstall ok config-files
Architecture: amd64
";

    #[test]
    fn closure_follows_depends_and_skips() {
        let pkgs = installed_packages(STATUS);
        assert!(!pkgs.contains_key("removed-thing"));
        let c = closure(&pkgs, &["iptables"], &["debconf"]).unwrap();
        let names: Vec<&str> = c.iter().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "iptables",
                "libc6",
                "libgcc-s1",
                "libip4tc2",
                "libxtables12",
                "netbase"
            ]
        );
    }

    #[test]
    fn a_missing_root_is_an_error() {
        let pkgs = installed_packages(STATUS);
        assert!(closure(&pkgs, &["nftables"], &[])
            .unwrap_err()
            .contains("nftables"));
    }
}
