//! The YAML config file: nested keys as in the settings table
//! (`cluster: {numNodes: 3}`), each value remembered with its line.

use std::collections::BTreeMap;
use std::path::Path;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::error::SettingsError;
use super::table::{Key, Kind, SETTINGS};

/// A value from the file, as text, with its line (1-based).
#[derive(Debug, Clone)]
pub struct FileValue {
    pub raw: String,
    pub line: usize,
}

/// How deep a config file may nest. Settings sit two levels down; the
/// limit only keeps a hostile or broken file from building a tree whose
/// recursive drop overflows the stack.
pub const MAX_DEPTH: usize = 32;

/// Read `text` (the content of `path`) into setting → value.
pub fn parse(path: &Path, text: &str) -> Result<BTreeMap<Key, FileValue>, SettingsError> {
    check_depth(path, text)?;
    let docs = MarkedYaml::load_from_str(text).map_err(|e| SettingsError::FileSyntax {
        path: path.to_path_buf(),
        line: e.marker().line(),
        reason: e.info().to_string(),
    })?;
    let mut out = BTreeMap::new();
    let Some(root) = docs.first() else {
        return Ok(out);
    };
    match &root.data {
        YamlData::Mapping(_) => walk(path, root, "", &mut out)?,
        YamlData::Value(Scalar::Null) => {}
        _ => {
            return Err(SettingsError::FileSyntax {
                path: path.to_path_buf(),
                line: root.span.start.line(),
                reason:
                    "the file must be a mapping of settings (like `cluster:` / `  numNodes: 3`)"
                        .to_string(),
            })
        }
    }
    if docs.len() > 1 {
        return Err(SettingsError::FileSyntax {
            path: path.to_path_buf(),
            line: docs[1].span.start.line(),
            reason: "only one YAML document is allowed".to_string(),
        });
    }
    Ok(out)
}

/// Refuse nesting deeper than [`MAX_DEPTH`], counting what aliases bring
/// in, from the parser's events (an iterative state machine) before any
/// tree is built. Syntax errors are left to the loader, which reports them
/// the same way.
fn check_depth(path: &Path, text: &str) -> Result<(), SettingsError> {
    use saphyr_parser::{Event, Parser};
    // Open collections: their anchor and the height of their tallest child.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut anchors: BTreeMap<usize, usize> = BTreeMap::new();
    let too_deep = |line: usize| SettingsError::FileSyntax {
        path: path.to_path_buf(),
        line,
        reason: format!(
            "the file nests deeper than {MAX_DEPTH} levels (settings sit at most two deep)"
        ),
    };
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else {
            return Ok(());
        };
        let child_height = match event {
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                open.push((anchor, 0));
                if open.len() > MAX_DEPTH {
                    return Err(too_deep(span.start.line()));
                }
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some((anchor, tallest)) = open.pop() else {
                    continue;
                };
                let height = tallest + 1;
                if anchor > 0 {
                    anchors.insert(anchor, height);
                }
                height
            }
            Event::Alias(id) => anchors.get(&id).copied().unwrap_or(0),
            _ => 0,
        };
        if open.len() + child_height > MAX_DEPTH {
            return Err(too_deep(span.start.line()));
        }
        if let Some(parent) = open.last_mut() {
            parent.1 = parent.1.max(child_height);
        }
    }
    Ok(())
}

fn scalar_text(node: &MarkedYaml<'_>) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::Null) => Some(String::new()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Representation(s, _, _) => Some(s.to_string()),
        _ => None,
    }
}

fn describe(node: &MarkedYaml<'_>) -> &'static str {
    match &node.data {
        YamlData::Sequence(_) => "a list",
        YamlData::Mapping(_) => "a mapping",
        YamlData::Tagged(..) => "a tagged value",
        _ => "a value",
    }
}

fn walk(
    path: &Path,
    node: &MarkedYaml<'_>,
    prefix: &str,
    out: &mut BTreeMap<Key, FileValue>,
) -> Result<(), SettingsError> {
    let YamlData::Mapping(map) = &node.data else {
        unreachable!("walk is called on mappings")
    };
    for (k, v) in map {
        let line = k.span.start.line();
        let Some(name) = scalar_text(k) else {
            return Err(SettingsError::FileSyntax {
                path: path.to_path_buf(),
                line,
                reason: "keys must be plain words".to_string(),
            });
        };
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        if let Some(id) = Key::from_config_key(&key) {
            let def = id.def();
            let raw = match (&v.data, def.kind) {
                (YamlData::Sequence(items), Kind::Addons) => {
                    let mut parts = Vec::new();
                    for item in items {
                        parts.push(scalar_text(item).ok_or_else(|| SettingsError::FileType {
                            key: def.key,
                            path: path.to_path_buf(),
                            line: item.span.start.line(),
                            found: describe(item),
                            accepted: def.kind.accepted(),
                        })?);
                    }
                    parts.join(",")
                }
                _ => scalar_text(v).ok_or_else(|| SettingsError::FileType {
                    key: def.key,
                    path: path.to_path_buf(),
                    line: v.span.start.line(),
                    found: describe(v),
                    accepted: def.kind.accepted(),
                })?,
            };
            // A value on its own line after the key reports that line.
            let line = if v.span.start.line() > 0 {
                v.span.start.line()
            } else {
                line
            };
            out.insert(id, FileValue { raw, line });
            continue;
        }
        let is_section = SETTINGS
            .iter()
            .any(|d| d.key.starts_with(&format!("{key}.")));
        if is_section {
            match &v.data {
                YamlData::Mapping(_) => walk(path, v, &key, out)?,
                YamlData::Value(Scalar::Null) => {}
                _ => {
                    return Err(SettingsError::FileSyntax {
                        path: path.to_path_buf(),
                        line,
                        reason: format!(
                            "`{key}` holds settings; expected a mapping, found {}",
                            describe(v)
                        ),
                    })
                }
            }
            continue;
        }
        return Err(SettingsError::UnknownKey {
            key,
            path: path.to_path_buf(),
            line,
            suggestion: suggest(&key_candidates(), &name_or_key(prefix, &name)),
        });
    }
    Ok(())
}

fn name_or_key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Every key and section name a file may use.
fn key_candidates() -> Vec<String> {
    let mut all: Vec<String> = SETTINGS.iter().map(|d| d.key.to_string()).collect();
    for d in SETTINGS {
        if let Some((section, _)) = d.key.split_once('.') {
            all.push(section.to_string());
        }
    }
    all.sort();
    all.dedup();
    all
}

/// The closest known name, if it is close enough to be a likely typo.
pub fn suggest(candidates: &[String], wrong: &str) -> Option<String> {
    let lower = wrong.to_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&c.to_lowercase(), &lower), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/conf.yaml")
    }

    #[test]
    fn nested_keys_with_lines() {
        let text = "verbose: 2\ncluster:\n  numNodes: 6\n  addons: [dashboard, /x.yaml]\nsource:\n  buildKubeadm: true\n";
        let v = parse(p(), text).unwrap();
        assert_eq!(v[&Key::Verbose].raw, "2");
        assert_eq!(v[&Key::NumNodes].raw, "6");
        assert_eq!(v[&Key::NumNodes].line, 3);
        assert_eq!(v[&Key::Addons].raw, "dashboard,/x.yaml");
        assert_eq!(v[&Key::BuildKubeadm].raw, "true");
    }

    #[test]
    fn unknown_keys_suggest_the_right_one() {
        let err = parse(p(), "cluster:\n  numNode: 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cluster.numNode"), "{err}");
        assert!(err.contains("/conf.yaml:2"), "{err}");
        assert!(err.contains("did you mean `cluster.numNodes`"), "{err}");
    }

    #[test]
    fn wrong_types_and_syntax() {
        let err = parse(p(), "cluster:\n  numNodes: [1]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cluster.numNodes") && err.contains("a list"),
            "{err}"
        );
        let err = parse(p(), "cluster:\n  numNodes: 1\n bad: [\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/conf.yaml:"), "{err}");
        assert!(parse(p(), "").unwrap().is_empty());
    }
}
