//! Edits of upstream manifests (YAML as text): each edit must find exactly
//! what it expects, so a manifest whose layout changed fails loudly instead
//! of being installed half-rendered.

/// What an edit expected and found instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {from:?} ({what}) {times} time(s) in it, found it {found} times")]
pub struct EditError {
    pub from: String,
    pub what: String,
    pub times: usize,
    pub found: usize,
}

/// `text` with `from`, which must occur exactly once, replaced by `to`.
pub fn replace_once(text: &str, from: &str, to: &str, what: &str) -> Result<String, EditError> {
    replace_n(text, from, to, what, 1)
}

/// `text` with each of the exactly `times` occurrences of `from` replaced.
pub fn replace_n(
    text: &str,
    from: &str,
    to: &str,
    what: &str,
    times: usize,
) -> Result<String, EditError> {
    match text.matches(from).count() {
        n if n == times => Ok(text.replace(from, to)),
        found => Err(EditError {
            from: from.to_string(),
            what: what.to_string(),
            times,
            found,
        }),
    }
}

/// The image references a manifest names (`image:` fields), each once, in
/// order.
pub fn images(manifest: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in manifest.lines() {
        let line = line.trim_start().trim_start_matches("- ");
        let Some(value) = line.strip_prefix("image:") else {
            continue;
        };
        let image = value.trim().trim_matches(['"', '\'']).to_string();
        if !image.is_empty() && !out.contains(&image) {
            out.push(image);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_listed_once_in_order() {
        let m = "spec:\n  initContainers:\n  - name: a\n    image: x/a:1\n  - image: \"x/b:2\"\n  containers:\n  - name: c\n    image: x/a:1\n";
        assert_eq!(images(m), vec!["x/a:1", "x/b:2"]);
    }

    #[test]
    fn replacements_must_match_exactly_once() {
        assert_eq!(replace_once("a b", "b", "c", "b").unwrap(), "a c");
        let twice = replace_once("b b", "b", "c", "the letter").unwrap_err();
        assert!(twice.to_string().contains("found it 2 times"), "{twice}");
        assert_eq!(replace_n("b b", "b", "c", "b", 2).unwrap(), "c c");
        assert!(replace_once("a", "b", "c", "b").is_err());
    }
}
