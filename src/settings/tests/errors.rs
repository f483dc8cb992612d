//! Bad input: each kind of bad value, settings that do not go together,
//! and config-file errors, each named with its source.

use super::*;

#[test]
fn bad_values_name_setting_source_value_and_what_is_accepted() {
    let fx = Fixture::new();
    // (environment, flags, parts the error must contain)
    type Case<'a> = (
        &'a [(&'a str, &'a str)],
        &'a [(Key, &'a str)],
        &'a [&'a str],
    );
    let cases: &[Case] = &[
        (
            &[("K8S_DIND_DIND_SUBNET", "10.192.0.0/33")],
            &[],
            &[
                "dind.subnet",
                "--dind-subnet",
                "env K8S_DIND_DIND_SUBNET",
                "\"10.192.0.0/33\"",
                "IPv4 CIDR",
            ],
        ),
        (
            &[],
            &[(Key::DindSubnet, "10.192.0.1/16")],
            &["flag --dind-subnet", "host bits", "10.192.0.0/16"],
        ),
        (
            &[("K8S_DIND_APISERVER_PORT", "70000")],
            &[],
            &[
                "cluster.apiServerPort",
                "\"70000\"",
                "out of range",
                "1 to 65535",
            ],
        ),
        (
            &[("K8S_DIND_NUM_NODES", "two")],
            &[],
            &["cluster.numNodes", "\"two\"", "not a number", "integer ≥ 0"],
        ),
        (
            &[],
            &[(Key::KubernetesVersion, "1.x")],
            &[
                "source.kubernetesVersion",
                "flag --kubernetes-version",
                "\"1.x\"",
                "v1.x.y",
            ],
        ),
        (
            &[("K8S_DIND_KUBERNETES_VERSION", "v1.20.4")],
            &[],
            &["not supported", "1.35 to 1.37"],
        ),
        (
            &[("K8S_DIND_RELEASE_URL", "ftp://x/y")],
            &[],
            &["source.releaseUrl", "not an http(s) URL"],
        ),
        (
            &[
                ("K8S_DIND_KUBEADM_URL", "https://x/kubeadm"),
                ("K8S_DIND_KUBEADM_SHA1", "abc"),
            ],
            &[],
            &["source.kubeadmSha1", "3 hex digits", "40", "64"],
        ),
        (
            &[
                ("K8S_DIND_KUBEADM_URL", "https://x/kubeadm"),
                ("K8S_DIND_KUBEADM_SHA1", "z".repeat(40).leak()),
            ],
            &[],
            &["not hexadecimal"],
        ),
        (
            &[("K8S_DIND_NO_DEDICATED", "maybe")],
            &[],
            &[
                "cluster.noDedicated",
                "\"maybe\"",
                "not a boolean",
                "true or false",
            ],
        ),
        (
            &[("K8S_DIND_CNI_PLUGIN", "flanel")],
            &[],
            &[
                "cluster.cniPlugin",
                "did you mean flannel",
                "bridge, flannel, kube-router, calico, weave or none",
            ],
        ),
        (
            &[("K8S_DIND_ADDONS", "dashboard,/nonexistent/x.yaml")],
            &[],
            &["cluster.addons", "/nonexistent/x.yaml", "not a file"],
        ),
        (
            &[("K8S_DIND_ADDONS", "grafana")],
            &[],
            &["cluster.addons", "no known addon"],
        ),
        (
            &[("K8S_DIND_CLUSTER_NAME", "Bad_Name")],
            &[],
            &["cluster.name", "lowercase"],
        ),
        (
            &[("K8S_DIND_IMAGE_REPOSITORY", "https://registry")],
            &[],
            &["source.imageRepository", "not an image repository"],
        ),
    ];
    for (env, flags, parts) in cases {
        assert_all(&error_of(&fx, env, flags), parts);
    }
}

#[test]
fn cross_checks() {
    let fx = Fixture::new();
    // Too small a subnet: 2 workers + master need 3 of the /30's 1 usable.
    assert_all(
        &error_of(&fx, &[("K8S_DIND_DIND_SUBNET", "10.150.0.0/30")], &[]),
        &[
            "dind.subnet 10.150.0.0/30",
            "env K8S_DIND_DIND_SUBNET",
            "cluster.numNodes 2",
            "the default",
            "/29",
        ],
    );
    assert_all(
        &error_of(&fx, &[("K8S_DIND_POD_SUBNET", "10.192.128.0/17")], &[]),
        &[
            "dind.subnet 10.192.0.0/16",
            "overlaps cluster.podSubnet 10.192.128.0/17",
            "env K8S_DIND_POD_SUBNET",
        ],
    );
    // A pod range per node: a /23 holds two /24s, not three.
    assert_all(
        &error_of(&fx, &[], &[(Key::PodSubnet, "10.160.0.0/23")]),
        &[
            "cluster.podSubnet 10.160.0.0/23 (from flag --pod-subnet)",
            "room for 2 node pod range(s) of /24",
            "cluster.numNodes 2 (from the default) needs 3",
            "use a /22",
        ],
    );
    assert_all(
        &error_of(
            &fx,
            &[("K8S_DIND_NUM_NODES", "0")],
            &[(Key::PodSubnet, "10.160.0.0/25")],
        ),
        &["room for 0 node pod range(s)", "needs 1", "use a /24"],
    );
    for wrong in ["10.160.0.0/11", "10.170.0.0/29"] {
        assert_all(
            &error_of(&fx, &[("K8S_DIND_SERVICE_SUBNET", wrong)], &[]),
            &[
                &format!("cluster.serviceSubnet {wrong} (from env K8S_DIND_SERVICE_SUBNET)"),
                "must be a /12 to /28",
            ],
        );
    }
    // Building needs a tree.
    let other = tempfile::tempdir().unwrap();
    assert_all(
        &error_of(
            &fx,
            &[
                ("K8S_DIND_BUILD_KUBEADM", "true"),
                ("K8S_DIND_K8S_DIR", other.path().to_str().unwrap()),
            ],
            &[],
        ),
        &[
            "source.buildKubeadm (from env K8S_DIND_BUILD_KUBEADM)",
            "source.k8sDir",
            "not one",
            "module k8s.io/kubernetes",
        ],
    );
    // URL without checksum, checksum without URL, build and URL together.
    assert_all(
        &error_of(&fx, &[("K8S_DIND_KUBECTL_URL", "https://x/kubectl")], &[]),
        &[
            "source.kubectlUrl",
            "without source.kubectlSha1",
            "--kubectl-sha1",
            "--allow-missing-checksum",
        ],
    );
    assert_all(
        &error_of(&fx, &[("K8S_DIND_KUBECTL_SHA1", &"a".repeat(40))], &[]),
        &["source.kubectlSha1 is set (from env K8S_DIND_KUBECTL_SHA1) but source.kubectlUrl is not"],
    );
    assert_all(
        &error_of(
            &fx,
            &[
                ("K8S_DIND_BUILD_KUBECTL", "1"),
                ("K8S_DIND_KUBECTL_URL", "https://x/kubectl"),
                ("K8S_DIND_KUBECTL_SHA1", &"a".repeat(40)),
            ],
            &[],
        ),
        &["source.buildKubectl", "source.kubectlUrl", "choose one"],
    );
}

#[test]
fn config_file_errors() {
    let fx = Fixture::new();
    let missing = fx.dir.path().join("nope.yaml");
    assert_all(
        &error_of(&fx, &[(CONF_VAR, missing.to_str().unwrap())], &[]),
        &["LOCAL_CLUSTER_CONF", "nope.yaml", "does not exist"],
    );
    let conf = fx.conf("cluster:\n  numNodes: 2\n  cniPlugn: bridge\n");
    assert_all(
        &error_of(&fx, &[(CONF_VAR, &conf)], &[]),
        &[
            "conf.yaml:3",
            "unknown setting `cluster.cniPlugn`",
            "did you mean `cluster.cniPlugin`?",
        ],
    );
    let conf = fx.conf("cluster:\n  numNodes: [2]\n");
    assert_all(
        &error_of(&fx, &[(CONF_VAR, &conf)], &[]),
        &[
            "conf.yaml:2",
            "cluster.numNodes must be an integer ≥ 0, not a list",
        ],
    );
    let conf = fx.conf("cluster:\n  numNodes: 2\n   bad\n");
    assert_all(&error_of(&fx, &[(CONF_VAR, &conf)], &[]), &["conf.yaml:"]);
    let conf = fx.conf("cluster:\n  numNodes: many\n");
    assert_all(
        &error_of(&fx, &[(CONF_VAR, &conf)], &[]),
        &["cluster.numNodes", "from file", "conf.yaml:2", "\"many\""],
    );
    // The default file may be absent.
    assert!(resolve_with(&fx, &[], &[]).is_ok());
}

/// Integer settings take exactly the bounds their row states: one past
/// either end is out of range, the ends themselves are valid values.
#[test]
fn integer_bounds_come_from_the_table() {
    let fx = Fixture::new();
    let mut covered = Vec::new();
    for d in SETTINGS {
        let Some((min, max)) = d.kind.bounds() else {
            continue;
        };
        covered.push(d.id);
        let env = d.env();
        let mut outside = vec![max + 1];
        outside.extend(min.checked_sub(1));
        for n in outside {
            let n = n.to_string();
            assert_all(
                &error_of(&fx, &[(&env, &n)], &[]),
                &[d.key, &format!("{n:?}"), "is out of range"],
            );
        }
        for n in [min, max] {
            let env = [(env.clone(), n.to_string())];
            // Other checks may still refuse the value (too many nodes for
            // the subnet), but not as out of range.
            if let Err(e) = resolve_with(&fx, &env, &[]) {
                assert!(!matches!(e, SettingsError::Invalid(_)), "{}: {e}", d.key);
            }
        }
    }
    assert_eq!(
        covered,
        [
            Key::Verbose,
            Key::NumNodes,
            Key::ApiServerPort,
            Key::RegistryPort
        ],
        "the integer settings"
    );
}

#[test]
fn durations_are_hours_minutes_and_seconds_within_the_table_bounds() {
    let fx = Fixture::new();
    let env = Key::CertificateValidity.def().env();
    let read = |text: &str| resolve_with(&fx, &[(env.clone(), text.to_string())], &[]);
    for (text, seconds) in [
        ("8760h", 8760 * 3600),
        ("5m", 300),
        ("1h30m", 5400),
        ("2h0m45s", 7245),
        ("60s", 60),
        ("87600h", 87_600 * 3600),
    ] {
        let got = read(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(got.settings.certificate_validity, seconds, "{text}");
    }
    for (text, why) in [
        ("59s", "is out of range"),
        ("87600h1s", "is out of range"),
        ("99999999999999999999h", "is out of range"),
        ("365d", "is not a duration"),
        ("1m1h", "is not a duration"),
        ("1h1h", "is not a duration"),
        ("1.5h", "is not a duration"),
        ("h", "is not a duration"),
        ("300", "without a unit"),
        ("", "is empty"),
    ] {
        assert_all(
            &error_of(&fx, &[(&env, text)], &[]),
            &[
                "cluster.certificateValidity",
                "K8S_DIND_CERTIFICATE_VALIDITY",
                why,
                "such as 8760h",
                "from 1m to 87600h",
            ],
        );
    }
}

// Reproducers of what the property tests (tests/fuzz.rs) found.

/// Nesting thousands deep built a tree whose drop overflowed the stack
/// (an abort, not even a panic); it is refused before the tree is built.
#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let fx = Fixture::new();
    let block: String = (0..1000)
        .map(|i| format!("{}cluster:\n", " ".repeat(i)))
        .collect();
    let flow = format!("cluster: {}{}", "[".repeat(200), "]".repeat(200));
    let mapping = format!("cluster: {}{}", "{a: ".repeat(5000), "}".repeat(5000));
    for text in [block, flow, mapping] {
        let conf = fx.conf(&text);
        // A small stack, as the fuzzers use, so a recursion shows here too.
        let err = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn({
                let fx_inputs = fx.inputs(&[("LOCAL_CLUSTER_CONF", &conf)]);
                move || resolve(&fx_inputs, &Flags::default()).map(|_| ())
            })
            .unwrap()
            .join()
            .unwrap()
            .unwrap_err()
            .to_string();
        assert_all(&err, &[&conf, "nests deeper than 32 levels"]);
    }
    // Aliases count with what they bring in.
    let mut text = String::from("a0: &a0 [x]\n");
    for l in 1..40 {
        text.push_str(&format!("a{l}: &a{l} [*a{}]\n", l - 1));
    }
    let conf = fx.conf(&text);
    assert_all(
        &error_of(&fx, &[("LOCAL_CLUSTER_CONF", &conf)], &[]),
        &[&conf, "nests deeper"],
    );
    // Ordinary nesting is fine.
    let conf = fx.conf("cluster:\n  numNodes: 2\n  addons: [dashboard]\n");
    assert!(resolve_with(&fx, &[("LOCAL_CLUSTER_CONF".into(), conf)], &[]).is_ok());
}

/// A billion-laughs file is refused quickly, naming the file.
#[test]
fn an_alias_bomb_is_refused_quickly() {
    let fx = Fixture::new();
    let mut text = String::from("x0: &a0 [\"lol\"]\n");
    for l in 1..=12 {
        let refs = vec![format!("*a{}", l - 1); 10].join(", ");
        text.push_str(&format!("x{l}: &a{l} [{refs}]\n"));
    }
    text.push_str("cluster:\n  addons: *a12\n");
    let conf = fx.conf(&text);
    let start = std::time::Instant::now();
    let err = error_of(&fx, &[("LOCAL_CLUSTER_CONF", &conf)], &[]);
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    assert!(err.contains(&conf), "{err}");
}

/// `LOCAL_CLUSTER_CONF=/dev/zero` was read until memory ran out, and a FIFO
/// would have blocked: only regular files of at most 1 MiB of UTF-8 are read.
#[test]
fn only_small_regular_utf8_files_are_read_as_config() {
    let fx = Fixture::new();
    for (path, why) in [("/dev/zero", "not a regular file"), ("/", "a directory")] {
        assert_all(
            &error_of(&fx, &[("LOCAL_CLUSTER_CONF", path)], &[]),
            &["cannot read config file", path, why],
        );
    }
    let big = fx.dir.path().join("big.yaml");
    std::fs::write(&big, "#".repeat(MAX_CONF_BYTES as usize + 1)).unwrap();
    let big = big.display().to_string();
    assert_all(
        &error_of(&fx, &[("LOCAL_CLUSTER_CONF", &big)], &[]),
        &[&big, "larger than 1048576 bytes"],
    );
    let bin = fx.dir.path().join("bin.yaml");
    std::fs::write(&bin, b"verbose: 2\n\xff\xfe").unwrap();
    let bin = bin.display().to_string();
    assert_all(
        &error_of(&fx, &[("LOCAL_CLUSTER_CONF", &bin)], &[]),
        &[&bin, "not UTF-8", "offset 11"],
    );
}
