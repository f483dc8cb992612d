//! The command line as users meet it: settings from all three sources, bad
//! input rejected with precise errors before any engine is asked, generated
//! docs. None of these tests needs a Docker engine.

use crate::common;

use common::{command, files_under, text, NoEngine};

struct Case {
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    file: Option<&'static str>,
    expect: &'static [&'static str],
}

/// Run `up` with bad input; it must fail with exit code 2, say `expect`,
/// and leave no file in HOME without contacting any engine.
fn rejected(name: &str, case: &Case) {
    refused(name, "up", 2, case);
}

/// As [`rejected`], for `subcommand` and with the exit code `code`: 2 for
/// settings errors, 1 for input refused by the command itself.
fn refused(name: &str, subcommand: &str, code: i32, case: &Case) {
    let home = tempfile::tempdir().unwrap();
    let engine = NoEngine::new();
    let mut cmd = command(home.path());
    cmd.env("DOCKER_HOST", engine.docker_host())
        .arg(subcommand)
        .arg("--cluster-name")
        .arg(format!("clitest-{name}"))
        .args(case.args);
    for (k, v) in case.env {
        cmd.env(k, v);
    }
    let conf_dir = tempfile::tempdir().unwrap();
    if let Some(text) = case.file {
        let path = conf_dir.path().join("config.yaml");
        std::fs::write(&path, text).unwrap();
        cmd.env("LOCAL_CLUSTER_CONF", &path);
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(code), "{name}: {stdout}{stderr}");
    for part in case.expect {
        assert!(stderr.contains(part), "{name}: {part:?} not in {stderr}");
    }
    assert!(
        files_under(home.path()).is_empty(),
        "{name}: files created: {:?}",
        files_under(home.path())
    );
    assert!(!engine.was_contacted(), "{name}: the engine was contacted");
}

#[test]
fn bad_input_is_rejected_before_anything_is_created() {
    let cases = [
        ("cidr", Case { args: &["--dind-subnet", "10.1.2.3"], env: &[], file: None, expect: &["invalid dind.subnet (--dind-subnet) from flag --dind-subnet", "\"10.1.2.3\"", "IPv4 CIDR"] }),
        ("port", Case { args: &[], env: &[("K8S_DIND_APISERVER_PORT", "0")], file: None, expect: &["cluster.apiServerPort", "env K8S_DIND_APISERVER_PORT", "out of range", "1 to 65535"] }),
        ("version", Case { args: &["--kubernetes-version", "v1.20.0"], env: &[], file: None, expect: &["source.kubernetesVersion", "not supported", "1.35 to 1.37"] }),
        ("url", Case { args: &["--release-url", "dl.k8s.io"], env: &[], file: None, expect: &["source.releaseUrl", "http(s) URL"] }),
        ("checksum", Case { args: &["--kubeadm-url", "https://x.example/kubeadm", "--kubeadm-sha1", "1234"], env: &[], file: None, expect: &["source.kubeadmSha1", "4 hex digits", "sha1 has 40 and a sha256 64"] }),
        ("bool", Case { args: &[], env: &[("K8S_DIND_BUILD_KUBEADM", "perhaps")], file: None, expect: &["source.buildKubeadm", "not a boolean"] }),
        ("cni", Case { args: &["--cni-plugin", "cilium"], env: &[], file: None, expect: &["cluster.cniPlugin", "bridge, flannel, kube-router, calico, weave or none"] }),
        ("addon", Case { args: &["--addons", "dashboard,./missing.yaml"], env: &[], file: None, expect: &["cluster.addons", "missing.yaml", "not a file"] }),
        ("unknown-key", Case { args: &[], env: &[], file: Some("cluster:\n  numNodes: 1\n  noDedicate: true\n"), expect: &["config.yaml:3", "unknown setting `cluster.noDedicate`", "did you mean `cluster.noDedicated`?"] }),
        ("file-type", Case { args: &[], env: &[], file: Some("dind:\n  subnet:\n    - 10.0.0.0/8\n"), expect: &["dind.subnet must be an IPv4 CIDR", "not a list"] }),
        ("file-value", Case { args: &[], env: &[], file: Some("verbose: loud\n"), expect: &["invalid verbose (--v) from file", "config.yaml:1", "\"loud\""] }),
        ("subnet-room", Case { args: &["--dind-subnet", "10.150.0.0/29", "--num-nodes", "9"], env: &[], file: None, expect: &["dind.subnet 10.150.0.0/29 (from flag --dind-subnet)", "cluster.numNodes 9 (from flag --num-nodes)", "/28"] }),
        ("overlap", Case { args: &["--service-subnet", "10.192.0.0/24"], env: &[], file: None, expect: &["overlaps cluster.serviceSubnet 10.192.0.0/24 (from flag --service-subnet)"] }),
        ("build-without-tree", Case { args: &["--build-hyperkube", "--k8s-dir", "/"], env: &[], file: None, expect: &["source.buildHyperkube (from flag --build-hyperkube)", "source.k8sDir / (from flag --k8s-dir) is not one"] }),
        ("url-without-checksum", Case { args: &["--hyperkube-url", "https://x.example/kubernetes-server-linux-amd64.tar.gz"], env: &[], file: None, expect: &["source.hyperkubeUrl is set (from flag --hyperkube-url) without source.hyperkubeSha1", "--allow-missing-checksum"] }),
        ("checksum-without-url", Case { args: &[], env: &[("K8S_DIND_KUBECTL_SHA1", "4e375e27a5aa10a8d1a0d10da5c3c2f2d0ee4770")], file: None, expect: &["source.kubectlSha1 is set (from env K8S_DIND_KUBECTL_SHA1) but source.kubectlUrl is not"] }),
    ];
    for (name, case) in &cases {
        rejected(name, case);
    }
}

#[test]
fn a_missing_conf_file_named_by_the_variable_is_an_error() {
    let home = tempfile::tempdir().unwrap();
    let engine = NoEngine::new();
    let out = command(home.path())
        .env("DOCKER_HOST", engine.docker_host())
        .env("LOCAL_CLUSTER_CONF", "/nonexistent/local-cluster.yaml")
        .args(["up", "--cluster-name", "clitest-conf"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains(
        "LOCAL_CLUSTER_CONF names /nonexistent/local-cluster.yaml, which does not exist"
    ));
    assert!(!engine.was_contacted());
}

#[test]
fn config_shows_values_and_sources_in_precedence_order() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".kubeadm-local-cluster");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.yaml"),
        "cluster:\n  numNodes: 4\n  cniPlugin: weave\nverbose: 2\n",
    )
    .unwrap();
    let out = command(home.path())
        .env("K8S_DIND_NUM_NODES", "5")
        .args(["config", "--num-nodes", "6"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("  numNodes: 6  # flag --num-nodes"),
        "{stdout}"
    );
    assert!(stdout.contains("  cniPlugin: weave  # file "), "{stdout}");
    assert!(stdout.contains("config.yaml:3"), "{stdout}");
    assert!(stdout.contains("verbose: 2  # file "), "{stdout}");
    assert!(
        stdout.contains("  subnet: 10.192.0.0/16  # default"),
        "{stdout}"
    );
    let out = command(home.path())
        .env("K8S_DIND_NUM_NODES", "5")
        .arg("config")
        .output()
        .unwrap();
    assert!(text(&out)
        .0
        .contains("  numNodes: 5  # env K8S_DIND_NUM_NODES"));
}

#[test]
fn readme_settings_table_is_generated_from_the_definitions() {
    let readme_path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(readme_path).unwrap();
    let (start, end) = (
        "<!-- settings-table:start -->\n",
        "<!-- settings-table:end -->",
    );
    let a = readme.find(start).expect("start marker") + start.len();
    let b = readme.find(end).expect("end marker");
    let table = local_cluster::settings::render::markdown_table();
    if readme[a..b] != table {
        if std::env::var_os("UPDATE_README").is_some() {
            let updated = format!("{}{}{}", &readme[..a], table, &readme[b..]);
            std::fs::write(readme_path, updated).unwrap();
            return;
        }
        panic!(
            "README.md's settings table is stale; regenerate it with \
             `UPDATE_README=1 cargo test --test cli readme` (or `cargo run -q -- docs settings-table`)"
        );
    }
}

#[test]
fn help_lists_every_setting_with_its_variable() {
    let home = tempfile::tempdir().unwrap();
    let out = command(home.path())
        .args(["up", "--help"])
        .output()
        .unwrap();
    let help = text(&out).0;
    for d in local_cluster::settings::SETTINGS {
        assert!(
            help.contains(&format!("--{}", d.flag)),
            "--{} missing from help",
            d.flag
        );
        assert!(help.contains(&d.env()), "{} missing from help", d.env());
    }
}

#[test]
fn verbosity_is_written_as_in_kubectl() {
    let home = tempfile::tempdir().unwrap();
    for (args, level) in [
        (&["-v", "5", "config"][..], 5),
        (&["config", "-v=5"][..], 5),
        (&["config", "-v5"][..], 5),
        (&["config", "--v", "4"][..], 4),
        (&["config", "--v=0"][..], 0),
        (&["-v", "config"][..], 2),
        (&["config", "-vv"][..], 3),
    ] {
        let out = command(home.path()).args(args).output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(
            stdout.contains(&format!("\nverbose: {level}  # flag --v\n")),
            "{args:?}: {stdout}"
        );
    }
}

#[test]
fn help_shows_each_command_its_own_settings_under_headings() {
    let home = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| {
        let out = command(home.path()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        text(&out).0
    };
    let up = help(&["up", "--help"]);
    let headings = [
        "\nCluster:\n",
        "\nKubernetes source:\n",
        "\nNodes:\n",
        "\nEngine and cache:\n",
        "\nOutput:\n",
    ];
    let at: Vec<usize> = headings
        .iter()
        .map(|h| up.find(h).unwrap_or_else(|| panic!("{h:?} not in {up}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    // The common settings lead their heading.
    let cluster = &up[at[0]..at[1]];
    let order: Vec<usize> = [
        "--cluster-name",
        "--num-nodes",
        "--cni-plugin",
        "--dind-subnet",
    ]
    .iter()
    .map(|f| cluster.find(f).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{cluster}");
    assert!(up[at[1]..].starts_with("\nKubernetes source:\n      --kubernetes-version"));

    let down = help(&["down", "--help"]);
    assert!(down.contains("--cluster-name") && down.contains("-v, --v <N>"));
    assert!(!down.contains("--num-nodes") && !down.contains("--kubernetes-version"));
    assert!(down.contains("`local-cluster up --help` lists them all"));
    let load = help(&["load", "--help"]);
    assert!(load.contains("Images to copy"), "{load}");
    let completion = help(&["completion", "--help"]);
    assert!(
        completion.contains("~/.config/fish/completions/"),
        "{completion}"
    );
    // A setting hidden from a command's help is still taken by it.
    let out = command(home.path())
        .args(["config", "--num-nodes", "4"])
        .output()
        .unwrap();
    assert!(text(&out).0.contains("numNodes: 4  # flag --num-nodes"));
    let engine = NoEngine::new();
    let out = command(home.path())
        .env("DOCKER_HOST", engine.docker_host())
        .args([
            "status",
            "--num-nodes",
            "4",
            "--cluster-name",
            "clitest-help",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
}

#[test]
fn an_unknown_command_leads_to_a_harmless_one() {
    let home = tempfile::tempdir().unwrap();
    let out = command(home.path())
        .args(["create", "cluster"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.starts_with("error: \"create\" is not a command of local-cluster\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("kind's `create`: `local-cluster up` makes"),
        "{stderr}"
    );
    assert!(!stderr.contains("`local-cluster clean`"), "{stderr}");
}

#[test]
fn completion_scripts_name_the_commands() {
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = command(home.path())
            .args(["completion", shell])
            .output()
            .unwrap();
        let script = text(&out).0;
        assert!(out.status.success());
        for word in [
            "up",
            "down",
            "clean",
            "reup",
            "e2e-serial",
            "num-nodes",
            "build-kubeadm",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
}

/// Commands that only write to stdout, and need neither engine nor files.
const PRINTING: &[&[&str]] = &[
    &["completion", "bash"],
    &["config"],
    &["docs", "settings-table"],
    &["--help"],
    &["--version"],
];

/// A pipe whose reader is already gone: every write to it fails with EPIPE,
/// as when `| head -1` has read its line and exited.
fn widowed_pipe() -> std::process::Stdio {
    // Close-on-exec, so no child that tests start meanwhile keeps the
    // reader open (std::io::pipe is newer than the MSRV).
    let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    drop(reader);
    writer.into()
}

#[test]
fn output_into_a_pipe_its_reader_closed_ends_quietly_with_141() {
    let home = tempfile::tempdir().unwrap();
    for args in PRINTING {
        let out = command(home.path())
            .args(*args)
            .stdout(widowed_pipe())
            .output()
            .unwrap();
        let stderr = text(&out).1;
        // 128 + SIGPIPE, as a shell shows for a tool SIGPIPE killed.
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
    // The same through a real reader that stops after one line (the
    // script is bigger than a pipe's buffer, so later writes fail).
    let mut child = command(home.path())
        .args(["completion", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert!(!first.is_empty());
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn output_to_a_full_device_is_an_error_saying_so() {
    let home = tempfile::tempdir().unwrap();
    for args in PRINTING {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = command(home.path())
            .args(*args)
            .stdout(full)
            .output()
            .unwrap();
        let stderr = text(&out).1;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stderr, "error: writing to standard output: No space left on device\n",
            "{args:?}"
        );
    }
}

#[test]
fn a_stderr_that_cannot_be_written_changes_nothing_but_the_message() {
    let home = tempfile::tempdir().unwrap();
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
            .into()
    };
    // A settings error (exit 2) whose message cannot be written: full,
    // a pipe without reader, closed.
    for (what, stderr) in [
        ("full", full()),
        ("widowed pipe", widowed_pipe()),
        ("closed", std::process::Stdio::null()),
    ] {
        let mut cmd = if what == "closed" {
            let mut sh = std::process::Command::new("sh");
            sh.args([
                "-c",
                "exec \"$0\" config 2>&-",
                common::bin().to_str().unwrap(),
            ])
            .env("HOME", home.path());
            sh
        } else {
            let mut cmd = command(home.path());
            cmd.arg("config");
            cmd
        };
        let out = cmd
            .env("K8S_DIND_NUM_NODES", "many")
            .stderr(stderr)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{what}");
    }
    // A command that succeeds still does, with its output intact.
    let out = command(home.path())
        .arg("config")
        .stderr(full())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(text(&out).0.contains("numNodes"), "{}", text(&out).0);
}

#[test]
fn registry_only_pod_networks_with_built_images_are_refused_before_the_engine_is_asked() {
    refused(
        "calico",
        "up",
        1,
        &Case {
            args: &["--cni-plugin", "calico", "--image-source", "build"],
            env: &[],
            file: None,
            expect: &[
                "cluster.cniPlugin calico (from flag --cni-plugin) with source.imageSource build (from flag --image-source)",
                "images (docker.io/calico/cni:v3.28.5, docker.io/calico/node:v3.28.5, docker.io/calico/kube-controllers:v3.28.5) cannot be built here",
                "github.com/projectcalico/api",
                "use --image-source registry",
            ],
        },
    );
    refused(
        "weave",
        "up",
        1,
        &Case {
            args: &[],
            env: &[
                ("K8S_DIND_CNI_PLUGIN", "weave"),
                ("K8S_DIND_IMAGE_SOURCE", "build"),
            ],
            file: None,
            expect: &[
                "cluster.cniPlugin weave (from env K8S_DIND_CNI_PLUGIN)",
                "docker.io/weaveworks/weave-kube:2.8.1",
                "weave's sources are not on the Go proxy",
            ],
        },
    );
}

#[test]
fn reup_without_a_build_setting_says_what_to_build_before_the_engine_is_asked() {
    refused(
        "reup",
        "reup",
        1,
        &Case {
            args: &[],
            env: &[],
            file: None,
            expect: &[
                "no build setting says what to build",
                "--build-hyperkube",
                "--build-kubeadm",
            ],
        },
    );
}

#[test]
fn source_refuses_a_directory_that_is_not_empty() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mine.txt"), "keep me\n").unwrap();
    let out = command(home.path())
        .env("K8S_DIND_KUBERNETES_SOURCE", "go-module")
        .args(["source", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("is not empty; give a new or empty directory"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mine.txt")).unwrap(),
        "keep me\n"
    );
}

/// An engine that answers every request as Docker 19.03 (API 1.40) would
/// answer `/version`: too old for the node containers' private cgroup
/// namespaces, and refused by name before anything is made.
#[test]
fn an_engine_too_old_is_refused_naming_its_version() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("old.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                let body = r#"{"Version":"19.03.15","ApiVersion":"1.40","MinAPIVersion":"1.12","Os":"linux","Arch":"amd64"}"#;
                loop {
                    // Requests without bodies: read up to the blank line.
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let _ = write!(
                        writer,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.40\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
        }
    });
    let home = tempfile::tempdir().unwrap();
    let out = command(home.path())
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .args(["up", "--cluster-name", "old-engine"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "is Docker 19.03.15 (API 1.40); local-cluster needs API 1.41 (Docker 20.10) or newer"
        ),
        "{stderr}"
    );
    assert!(
        files_under(home.path()).is_empty(),
        "{:?}",
        files_under(home.path())
    );
}

#[test]
fn a_tcp_engine_with_tls_verify_0_is_spoken_to_in_plain_http() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let first_bytes = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).unwrap();
        buf
    });
    let home = tempfile::tempdir().unwrap();
    let out = command(home.path())
        .env("DOCKER_HOST", format!("tcp://127.0.0.1:{port}"))
        .env("DOCKER_TLS_VERIFY", "0")
        .env("DOCKER_CONFIG", home.path().join("no-docker-config"))
        .args(["status", "--cluster-name", "clitest-tcp"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!stderr.contains("certificate"), "{stderr}");
    // An HTTP request, not a TLS handshake (which starts with byte 0x16).
    let first = first_bytes.join().unwrap();
    assert!(
        first[..3].iter().all(u8::is_ascii_uppercase),
        "{first:?} {stderr}"
    );
}
