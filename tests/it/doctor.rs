//! `doctor` on this machine's engine: as root, and as a user the engine's
//! socket refuses. The release site and the registry it asks are closed
//! ports on 127.0.0.1, so nothing leaves this machine.

use std::process::Command;

use crate::common::user::OtherUser;
use crate::common::{self, text};

/// Where nothing listens: the sites then do not answer, at once.
const CLOSED: &str = "127.0.0.1:9";

fn doctor(cmd: &mut Command) -> (String, i32) {
    let out = cmd
        .args(["doctor", "--release-url", &format!("http://{CLOSED}")])
        .args(["--image-repository", &format!("{CLOSED}/k8s")])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    eprintln!("{stdout}{stderr}");
    (stdout, out.status.code().unwrap_or(-1))
}

/// Every finding that is not ok is followed by its fix; the exit status is
/// 1 exactly when one is a PROBLEM.
fn check_shape(report: &str, code: i32) {
    let lines: Vec<&str> = report.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("warning ") || line.starts_with("PROBLEM ") {
            assert!(
                lines
                    .get(i + 1)
                    .is_some_and(|l| l.trim_start().starts_with("→ ")),
                "no fix after {line:?}"
            );
        }
    }
    let problems = lines.iter().any(|l| l.starts_with("PROBLEM "));
    assert_eq!(code, if problems { 1 } else { 0 }, "{report}");
}

#[test]
#[ignore = "needs root and a Docker engine; run by .ci/test"]
fn doctor_as_root_reports_the_engine_the_sites_and_the_kernel() {
    let home = tempfile::tempdir().unwrap();
    let (report, code) = doctor(&mut common::command(home.path()));
    check_shape(&report, code);
    assert!(report.starts_with("ok       engine: Docker "), "{report}");
    let site = format!("release site: http://{CLOSED}: ");
    for line in [
        site.as_str(),
        "\nok       kernel: bridge devices can be made\n",
        "\nok       kernel: veth devices can be made\n",
        "\nok       go: go1.",
    ] {
        assert!(report.contains(line), "{line:?} not in {report}");
    }
}

#[test]
#[ignore = "needs root and a Docker engine; run by .ci/test"]
fn doctor_as_a_user_the_socket_refuses_says_to_join_the_docker_group() {
    let user = OtherUser::new();
    let mut cmd = user.command(&[]);
    let (report, code) = doctor(&mut cmd);
    check_shape(&report, code);
    assert_eq!(code, 1);
    assert!(
        report.starts_with(&format!(
            "PROBLEM  engine: cannot reach the Docker engine at unix://{}",
            OtherUser::socket().display()
        )),
        "{report}"
    );
    assert!(report.contains("→ this user may not use the engine's socket: add it to the `docker` group (`sudo usermod -aG docker $USER`"), "{report}");
    assert!(
        report.contains("\nwarning  root: not root: building a node image runs debootstrap"),
        "{report}"
    );
    assert!(
        report.contains("kernel: bridge devices: not tried"),
        "{report}"
    );
}
