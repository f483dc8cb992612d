//! Kubernetes versions: an exact one ([`KubeVersion`], in semantic order,
//! told from a source tree's build) and a version setting before it is
//! resolved ([`VersionSpec`]).

use std::fmt;
use std::str::FromStr;

/// An exact Kubernetes version, e.g. `v1.37.2` or `v1.38.0-alpha.1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub pre: Option<String>,
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(pre) = &self.pre {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

impl FromStr for KubeVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let body = s.strip_prefix('v').unwrap_or(s);
        let (numbers, pre) = match body.split_once('-') {
            Some((n, p)) if !p.is_empty() => (n, Some(p.to_string())),
            Some(_) => return Err("has an empty pre-release part".to_string()),
            None => (body, None),
        };
        let parts: Vec<&str> = numbers.split('.').collect();
        if parts.len() != 3 {
            return Err("is not of the form v1.x.y".to_string());
        }
        let num = |p: &str| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                Err("is not of the form v1.x.y".to_string())
            } else {
                p.parse::<u32>()
                    .map_err(|e| format!("has a bad number: {e}"))
            }
        };
        Ok(KubeVersion {
            major: num(parts[0])?,
            minor: num(parts[1])?,
            patch: num(parts[2])?,
            pre,
        })
    }
}

impl KubeVersion {
    /// The release this version was built from: itself for a release
    /// (`v1.37.2`, `v1.38.0-alpha.1`, `-beta.0`, `-rc.1`); for a source
    /// tree's version as Kubernetes stamps it, the tag it was described
    /// from: `v1.37.2-5+<hash>` (5 commits on) and `v1.37.2-dirty` are of
    /// v1.37.2, `v1.38.0-alpha.0.6+<hash>-dirty` of v1.38.0-alpha.0.
    pub fn release_base(&self) -> KubeVersion {
        let pre = self.pre.as_deref().and_then(|pre| {
            let pre = pre.split('+').next().unwrap_or(pre);
            let pre = pre.strip_suffix("-dirty").unwrap_or(pre);
            let mut parts = pre.split('.');
            let (stage, number) = (parts.next()?, parts.next()?);
            let stage_ok = matches!(stage, "alpha" | "beta" | "rc");
            let number_ok = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
            (stage_ok && number_ok).then(|| format!("{stage}.{number}"))
        });
        KubeVersion {
            pre,
            ..self.clone()
        }
    }

    /// A version the project publishes, not one stamped on a source tree's
    /// build.
    pub fn is_release(&self) -> bool {
        self.release_base() == *self
    }
}

impl PartialOrd for KubeVersion {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KubeVersion {
    /// Semantic order: a pre-release sorts before its release.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                (Some(a), Some(b)) => compare_pre(a, b),
            })
    }
}

/// `alpha.2` < `alpha.10` < `beta.1` < `rc.0`: numeric parts compare as numbers.
fn compare_pre(a: &str, b: &str) -> std::cmp::Ordering {
    let mut ia = a.split('.');
    let mut ib = b.split('.');
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(n), Ok(m)) => n.cmp(&m),
                    _ => x.cmp(y),
                };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// A version setting before it is resolved to an exact version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSpec {
    Exact(KubeVersion),
    /// The newest patch release of a minor.
    Minor {
        major: u32,
        minor: u32,
    },
    Stable,
    Latest,
}

impl fmt::Display for VersionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSpec::Exact(v) => write!(f, "{v}"),
            VersionSpec::Minor { major, minor } => write!(f, "v{major}.{minor}"),
            VersionSpec::Stable => f.write_str("stable"),
            VersionSpec::Latest => f.write_str("latest"),
        }
    }
}

impl VersionSpec {
    pub fn minor(&self) -> Option<(u32, u32)> {
        match self {
            VersionSpec::Exact(v) => Some((v.major, v.minor)),
            VersionSpec::Minor { major, minor } => Some((*major, *minor)),
            _ => None,
        }
    }
}

impl FromStr for VersionSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "stable" => return Ok(VersionSpec::Stable),
            "latest" => return Ok(VersionSpec::Latest),
            _ => {}
        }
        let body = s.strip_prefix('v').unwrap_or(s);
        let dots = body.split('-').next().unwrap_or("").matches('.').count();
        if dots == 1 && !body.contains('-') {
            let (major, minor) = body.split_once('.').expect("one dot");
            let n = |p: &str| {
                if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                    p.parse::<u32>().map_err(|e| e.to_string())
                } else {
                    Err("is not a version".to_string())
                }
            };
            return Ok(VersionSpec::Minor {
                major: n(major)?,
                minor: n(minor)?,
            });
        }
        s.parse().map(VersionSpec::Exact)
    }
}
