//! The folders are the layers: every module of `src/` imports only from its
//! own layer unit or from units below it, and no two files import each
//! other, directly or around a circle (a folder's mod.rs may use what it
//! declares: it is the folder's front door). Read from the code's own paths
//! (`use` trees, `crate::`, `super::` and `self::` paths); test modules are
//! left out.
//!
//! `PRINT_IMPORT_GRAPH=1 cargo test --test layers -- --nocapture` prints the
//! layer graph the README's layout section shows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer units, bottom first; units on one line are peers, which do not
/// import each other. A file belongs to the unit that is the longest prefix
/// of its module path.
const LAYERS: &[&[&str]] = &[
    &[
        "labels", "time", "manifest", "output", "private", "error", "disk", "memory",
    ],
    &["settings"],
    &["ui"],
    &["engine"],
    &["process"],
    &["artifacts"],
    &["source"],
    &["images"],
    &["doctor"],
    &["cni", "addons"],
    &["cluster/error"],
    &["cluster/state"],
    &["cluster"],
    &["cluster/steps"],
    &["registry"],
    &["ops"],
    &["ops/up"],
    &["e2e"],
    &["app"],
    &["cli"],
    &["main", "lib"],
];

/// File pairs that may import each other: the settings key names the
/// table's rows and the table is keyed by them (one idea in two files).
const MEANT_CIRCLES: &[[&str; 2]] = &[["settings/key", "settings/table"]];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Module path of a source file: `cluster/steps/node` for
/// `src/cluster/steps/node.rs`, `cluster` for `src/cluster/mod.rs`.
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let text = rel.to_string_lossy().replace('\\', "/");
    text.strip_suffix("/mod").unwrap_or(&text).to_string()
}

/// The file of module `module`, if there is one.
fn file_of(module: &str) -> Option<PathBuf> {
    let base = src().join(module);
    [base.with_extension("rs"), base.join("mod.rs")]
        .into_iter()
        .find(|p| p.is_file())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's text without its test modules: a `#[cfg(test)] mod NAME;`
/// declaration goes alone (what follows it is still the file's code), an
/// inline `#[cfg(test)] mod NAME { ... }` up to its closing brace.
fn without_tests(text: &str) -> String {
    const MARK: &str = "#[cfg(test)]\nmod ";
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(MARK) {
        out.push_str(&rest[..i]);
        let after = &rest[i + MARK.len()..];
        let Some(end) = after.find([';', '{']) else {
            return out;
        };
        if after.as_bytes()[end] == b';' {
            rest = &after[end + 1..];
            continue;
        }
        // Braces in strings or chars of test code could miscount; a
        // module that ends early only hides test code, never the file's.
        let mut depth = 0;
        let mut close = after.len();
        for (j, c) in after[end..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = end + j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[close..];
    }
    out.push_str(rest);
    out
}

/// The code of a file without its test modules, comments and strings.
fn code(file: &Path) -> String {
    let text = without_tests(&std::fs::read_to_string(file).unwrap());
    let mut out = String::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with("//") || line.starts_with("#[cfg(test)]") {
            continue;
        }
        // Cut string literals (a path in a message is no import).
        let mut in_string = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_string = !in_string;
            } else if !in_string {
                out.push(c);
            }
            prev = if prev == '\\' && c == '\\' { ' ' } else { c };
        }
        out.push('\n');
    }
    out
}

/// Every path a use tree names, its braces expanded.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.split_whitespace().collect();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap().to_string()];
    };
    let prefix = &tree[..open];
    let close = tree.rfind('}').unwrap_or(tree.len());
    let inner = &tree[open + 1..close];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |e| format!("{prefix}{e}")))
        .collect()
}

/// The paths a file's code names that start at `crate`, `super` or `self`.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Use declarations: lines that start one, up to its semicolon.
    let mut statement: Option<String> = None;
    for line in code.lines() {
        let line = line.trim();
        if statement.is_none() {
            let visibility = ["pub ", "pub(crate) ", "pub(super) ", ""];
            statement = visibility
                .iter()
                .find_map(|v| line.strip_prefix(v)?.strip_prefix("use "))
                .map(|rest| String::new() + rest)
                .map(|s| s.replace(line, "") + line.split_once("use ").unwrap().1);
        } else if let Some(s) = &mut statement {
            s.push_str(line);
        }
        if let Some(s) = statement.take_if(|s| s.contains(';')) {
            // A path from a child module of this one is written without
            // `self::` (`use steps::node`): say it.
            out.extend(expand(s.split(';').next().unwrap()).into_iter().map(|p| {
                let first = p.split("::").next().unwrap_or_default();
                if ["crate", "super", "self"].contains(&first) {
                    p
                } else {
                    format!("self::{p}")
                }
            }));
        }
    }
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    for (i, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        if code[..i].chars().last().is_some_and(word) {
            continue;
        }
        let end = code[i..]
            .find(|c: char| !word(c))
            .map_or(code.len(), |e| i + e);
        out.push(code[i..end].to_string());
    }
    out.into_iter()
        .filter(|p| p.starts_with("crate::") || p.starts_with("super::") || p.starts_with("self::"))
        .collect()
}

/// The module a path from module `from` names: its longest prefix that is a
/// module with a file, then a name that module re-exports from a submodule
/// (`pub use sub::{Name}`) followed into that submodule.
fn resolve(from: &str, path: &str) -> Option<String> {
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut module: Vec<String> = match segments.first()? {
        &"crate" => Vec::new(),
        _ => {
            let mut m: Vec<String> = from.split('/').map(String::from).collect();
            // In `a/b.rs` and in `a/b/mod.rs` alike, self is a/b and super is a.
            while segments.first() == Some(&"super") {
                m.pop();
                segments.remove(0);
            }
            if segments.first() == Some(&"self") {
                segments.remove(0);
                // Only a child module counts; else it is an outside crate.
                let child = format!("{from}/{}", segments.first()?);
                file_of(&child)?;
            }
            segments.insert(0, "crate");
            m
        }
    };
    for segment in &segments[1..] {
        let mut next = module.clone();
        next.push(segment.to_string());
        if file_of(&next.join("/")).is_some() {
            module = next;
            continue;
        }
        // A re-exported name: `pub use sub::...Name` in this module.
        if let Some(file) = file_of(&module.join("/")) {
            for line in code(&file).lines() {
                let Some(tree) = line.trim().strip_prefix("pub use ") else {
                    continue;
                };
                for p in expand(tree.trim_end_matches(';')) {
                    let parts: Vec<&str> = p.split("::").collect();
                    if parts.last() == Some(segment) && parts.len() > 1 && parts[0] != "crate" {
                        let mut sub = module.clone();
                        sub.push(parts[0].trim_start_matches("self::").to_string());
                        if file_of(&sub.join("/")).is_some() {
                            return Some(sub.join("/"));
                        }
                    }
                }
            }
        }
        break;
    }
    (!module.is_empty()).then(|| module.join("/"))
}

/// The unit and rank of a module.
fn unit(module: &str) -> (String, usize) {
    let mut best: Option<(&str, usize)> = None;
    for (rank, units) in LAYERS.iter().enumerate() {
        for unit in *units {
            let inside = module == *unit || module.starts_with(&format!("{unit}/"));
            if inside && best.is_none_or(|(b, _)| unit.len() > b.len()) {
                best = Some((unit, rank));
            }
        }
    }
    let (unit, rank) = best.unwrap_or_else(|| panic!("module {module} is in no layer of LAYERS"));
    (unit.to_string(), rank)
}

/// File → the files it imports (modules of this crate), tests left out.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph = BTreeMap::new();
    for file in files {
        let module = module_of(&file);
        let is_test = module
            .split('/')
            .any(|s| s == "tests" || s.ends_with("_tests"));
        if is_test {
            continue;
        }
        let mut to = BTreeSet::new();
        for path in paths(&code(&file)) {
            if let Some(target) = resolve(&module, &path) {
                let is_test = target.split('/').any(|s| s == "tests");
                if target != module && !is_test {
                    to.insert(target);
                }
            }
        }
        graph.insert(module, to);
    }
    graph
}

#[test]
fn every_import_goes_down_or_stays_in_its_unit() {
    let mut wrong = Vec::new();
    for (from, targets) in graph() {
        let (from_unit, from_rank) = unit(&from);
        for to in targets {
            let (to_unit, to_rank) = unit(&to);
            if to_rank > from_rank || (to_rank == from_rank && to_unit != from_unit) {
                wrong.push(format!("{from} ({from_unit}) imports {to} ({to_unit})"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run up or sideways:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_two_files_import_each_other_around_a_circle() {
    let graph = graph();
    let meant = |a: &str, b: &str| {
        MEANT_CIRCLES
            .iter()
            .any(|[x, y]| (a == *x && b == *y) || (a == *y && b == *x))
    };
    // Depth-first search for a path back to the start, per file.
    let mut circles = BTreeSet::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            // A folder's front door (its mod.rs) using what it declares is
            // no circle: only imports between files that are not parent
            // and descendant count.
            let onward = graph.get(&at).into_iter().flatten();
            for next in onward.filter(|n| !n.starts_with(&format!("{at}/"))) {
                if next == start {
                    if !(path.len() == 2 && meant(&path[0], &path[1])) {
                        let mut circle = path.clone();
                        circle.sort();
                        circles.insert(circle.join(" <-> "));
                    }
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "files in a circle:\n{}",
        circles.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_layer_graph() {
    // Unit → units it imports, drawn bottom-up when asked for.
    let mut units: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in graph() {
        let (from_unit, _) = unit(&from);
        let entry = units.entry(from_unit.clone()).or_default();
        for to in targets {
            let (to_unit, _) = unit(&to);
            if to_unit != from_unit {
                entry.insert(to_unit);
            }
        }
    }
    let mut lines = Vec::new();
    for units_here in LAYERS.iter().rev() {
        for name in *units_here {
            let below = units.get(*name).cloned().unwrap_or_default();
            let below: Vec<String> = below.into_iter().collect();
            lines.push(format!(
                "{name:<14} -> {}",
                if below.is_empty() {
                    "-".to_string()
                } else {
                    below.join(" ")
                }
            ));
        }
    }
    if std::env::var_os("PRINT_IMPORT_GRAPH").is_some() {
        println!("{}", lines.join("\n"));
    }
    // Every unit of LAYERS has code.
    for units_here in LAYERS {
        for name in *units_here {
            assert!(
                units.contains_key(*name),
                "LAYERS names {name}, which has no code"
            );
        }
    }
}

#[test]
fn test_modules_are_left_out_but_not_what_follows_them() {
    let text = "use crate::a;\n#[cfg(test)]\nmod tests;\npub use crate::b;\n\
                #[cfg(test)]\nmod more {\n    fn f() { let _ = crate::c; }\n}\nuse crate::d;\n";
    let code = without_tests(text);
    assert!(code.contains("crate::a") && code.contains("crate::b") && code.contains("crate::d"));
    assert!(
        !code.contains("crate::c") && !code.contains("mod tests"),
        "{code}"
    );
}
