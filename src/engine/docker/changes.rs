//! A commit's image configuration as Podman takes it: its Docker-compatible
//! API (4.3.1 here) ignores the request body's configuration, which Docker
//! applies, and reads only `changes`, Dockerfile-like instructions one per
//! line. Without them an image committed there kept the build container's
//! `sleep infinity` as its command, and its nodes never booted. Podman
//! takes a value's outer double quotes off and keeps everything inside as
//! written (no escapes: `\"` stays two characters), where Docker's parser
//! would unescape: so these go to Podman only.

use crate::engine::ImageConfig;

/// A value as Podman reads it back: within one pair of double quotes.
fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

/// A JSON array (the exec form of ENTRYPOINT and CMD).
fn exec_form(args: &[String]) -> String {
    serde_json::to_string(args).expect("strings serialize")
}

/// The instructions, one per line. A value with a line break cannot be
/// written on one line: it is left out.
pub(super) fn podman_commit_changes(config: &ImageConfig) -> String {
    let mut lines = Vec::new();
    if let Some(entrypoint) = &config.entrypoint {
        lines.push(format!("ENTRYPOINT {}", exec_form(entrypoint)));
    }
    if let Some(cmd) = &config.cmd {
        lines.push(format!("CMD {}", exec_form(cmd)));
    }
    for var in &config.env {
        if let Some((key, value)) = var.split_once('=') {
            lines.push(format!("ENV {key}={}", quoted(value)));
        }
    }
    for (key, value) in &config.labels {
        lines.push(format!("LABEL {}={}", quoted(key), quoted(value)));
    }
    if let Some(signal) = &config.stop_signal {
        lines.push(format!("STOPSIGNAL {signal}"));
    }
    if let Some(user) = &config.user {
        lines.push(format!("USER {user}"));
    }
    if let Some(dir) = &config.working_dir {
        lines.push(format!("WORKDIR {dir}"));
    }
    lines.retain(|line| !line.contains(['\n', '\r']));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_is_one_instruction_with_quoted_values() {
        let config = ImageConfig {
            env: vec!["PATH=/usr/bin:/bin".into(), "A=x \"y\"".into()],
            entrypoint: Some(vec!["/usr/local/bin/local-cluster-entrypoint".into()]),
            cmd: Some(vec!["/sbin/init".into()]),
            working_dir: Some("/".into()),
            user: None,
            labels: [
                (
                    "io.kubeadm-local-cluster.role".to_string(),
                    "node".to_string(),
                ),
                ("with space".to_string(), "a\\b".to_string()),
                ("json".to_string(), r#"{"a":"b c"}"#.to_string()),
                ("multi".to_string(), "line\nvalue".to_string()),
            ]
            .into_iter()
            .collect(),
            stop_signal: Some("SIGRTMIN+3".into()),
        };
        assert_eq!(
            podman_commit_changes(&config),
            [
                r#"ENTRYPOINT ["/usr/local/bin/local-cluster-entrypoint"]"#,
                r#"CMD ["/sbin/init"]"#,
                r#"ENV PATH="/usr/bin:/bin""#,
                r#"ENV A="x "y"""#,
                r#"LABEL "io.kubeadm-local-cluster.role"="node""#,
                r#"LABEL "json"="{"a":"b c"}""#,
                r#"LABEL "with space"="a\b""#,
                "STOPSIGNAL SIGRTMIN+3",
                "WORKDIR /",
            ]
            .join("\n")
        );
    }

    #[test]
    fn nothing_set_is_no_instruction() {
        assert_eq!(podman_commit_changes(&ImageConfig::default()), "");
    }
}
