//! Showing settings: the effective configuration as YAML (loadable as a
//! config file) and the README's settings table.

use std::fmt::Write as _;

use super::table::{DefaultValue, SettingDef, SETTINGS};
use super::{Settings, Source};

/// Quote a YAML scalar when plain style would change its meaning.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`~ ".contains(c))
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(' ');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The effective settings as YAML, each with its source as a comment.
pub fn effective_yaml(settings: &Settings) -> String {
    let mut out = String::from(
        "# Effective settings of kubeadm-local-cluster (flags > environment > config file > defaults).\n",
    );
    if let Some(file) = &settings.provenance.file {
        let _ = writeln!(out, "# Config file: {}", file.display());
    }
    let mut section = "";
    for d in SETTINGS {
        let (value, source) = &settings.provenance.values[d.id];
        let (sec, name) = d.key.split_once('.').unwrap_or(("", d.key));
        if sec != section {
            if !sec.is_empty() {
                let _ = writeln!(out, "{sec}:");
            }
            section = sec;
        }
        let indent = if sec.is_empty() { "" } else { "  " };
        let from = match source {
            Source::Default => "default".to_string(),
            other => other.to_string(),
        };
        let _ = writeln!(
            out,
            "{indent}{name}: {}  # {from}",
            yaml_scalar(value.trim())
        );
    }
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The README's settings table.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| config key | flag | environment variable | values | default | meaning |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for d in SETTINGS {
        let _ = writeln!(
            out,
            "| `{}` | `--{}` | `{}` | {} | {} | {} |",
            d.key,
            d.flag,
            d.env(),
            cell(&d.kind.accepted()),
            default_cell(d),
            cell(d.help)
        );
    }
    out
}

fn default_cell(d: &SettingDef) -> String {
    match d.default {
        DefaultValue::Text(text) => format!("`{}`", cell(text)),
        DefaultValue::None => "(none)".to_string(),
        DefaultValue::Computed { shown, .. } => cell(shown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_quoted_only_when_needed() {
        assert_eq!(yaml_scalar("10.192.0.0/16"), "10.192.0.0/16");
        assert_eq!(yaml_scalar(""), "\"\"");
        assert_eq!(yaml_scalar("a: b"), "\"a: b\"");
        assert_eq!(yaml_scalar("http://x/y"), "http://x/y");
    }

    #[test]
    fn table_has_a_row_per_setting() {
        let t = markdown_table();
        assert_eq!(t.lines().count(), SETTINGS.len() + 2);
        assert!(t.contains("| `cluster.numNodes` | `--num-nodes` | `K8S_DIND_NUM_NODES` |"));
    }
}
