//! Every setting through every source, precedence, and each kind of bad
//! input. Cases are generated from the table, so a new setting is covered
//! as soon as it has sample values here.

use super::*;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        // A minimal Kubernetes source tree, so build* settings pass their check.
        std::fs::write(
            dir.path().join("go.mod"),
            "module k8s.io/kubernetes\n\ngo 1.26.0\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("addon.yaml"), "kind: List\n").unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Fixture { dir }
    }

    fn inputs(&self, env: &[(&str, &str)]) -> Inputs {
        Inputs {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cwd: self.dir.path().to_path_buf(),
            home: self.dir.path().join("home"),
        }
    }

    fn conf(&self, text: &str) -> String {
        let p = self.dir.path().join("conf.yaml");
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
}

/// Three valid values for each setting (distinct where the type allows).
fn samples(d: &SettingDef, fx: &Fixture) -> [String; 3] {
    let s = |a: &str, b: &str, c: &str| [a.to_string(), b.to_string(), c.to_string()];
    match d.key {
        "dind.subnet" => s("10.150.0.0/16", "10.151.0.0/16", "10.152.0.0/24"),
        "cluster.podSubnet" => s("10.160.0.0/16", "10.161.0.0/16", "10.162.0.0/16"),
        "cluster.serviceSubnet" => s("10.170.0.0/16", "10.171.0.0/16", "10.172.0.0/16"),
        "verbose" => s("0", "2", "3"),
        "cluster.numNodes" => s("0", "3", "5"),
        "source.kubernetesVersion" => s("v1.36.3", "1.35", "v1.37.0"),
        "source.kubernetesSource" => s("go-module", "release", "go-module"),
        "source.imageSource" => s("build", "registry", "build"),
        "source.imageRepository" => s("localhost:5000", "example.com/mirror", "127.0.0.1:5001/k8s"),
        "node.arch" => s("arm64", "amd64", "s390x"),
        "node.runMode" => s("privileged", "capabilities", "auto"),
        "node.runtime" => s("sysbox-runc", "runc", "my.runtime_2"),
        "cluster.cniPlugin" => s("flannel", "calico", "weave"),
        "cluster.name" => s("alpha", "beta-2", "c"),
        "cluster.apiServerPort" => s("6443", "30000", "1"),
        "cluster.addons" => [
            "dashboard".to_string(),
            String::new(),
            fx.dir.path().join("addon.yaml").display().to_string(),
        ],
        "source.k8sDir" | "cacheDir" => [
            fx.dir.path().display().to_string(),
            fx.dir.path().join("home").display().to_string(),
            "/tmp".to_string(),
        ],
        _ => match d.kind {
            Kind::Bool => s("true", "false", "yes"),
            Kind::Url => s(
                "https://a.example/r",
                "https://b.example/r",
                "http://c.example:8080/r",
            ),
            Kind::Checksum => ["a".repeat(40), "b".repeat(64), "c".repeat(40)],
            other => panic!("no samples for {} ({other:?})", d.key),
        },
    }
}

/// Settings that must accompany a sample of `key` to pass the cross-checks.
fn companions(key: &str) -> Vec<(String, String)> {
    let pair = |url: &str, sum: &str| {
        if key == url {
            vec![(def(sum).env(), "d".repeat(40))]
        } else if key == sum {
            vec![(def(url).env(), "https://x.example/bin".to_string())]
        } else {
            vec![]
        }
    };
    let mut v = pair("source.kubeadmUrl", "source.kubeadmSha1");
    v.extend(pair("source.hyperkubeUrl", "source.hyperkubeSha1"));
    v.extend(pair("source.kubectlUrl", "source.kubectlSha1"));
    v
}

fn yaml_for(key: &str, value: &str) -> String {
    let quoted = format!("\"{value}\"");
    match key.split_once('.') {
        Some((section, name)) => format!("{section}:\n  {name}: {quoted}\n"),
        None => format!("{key}: {quoted}\n"),
    }
}

fn resolve_with(
    fx: &Fixture,
    env: &[(String, String)],
    flags: &[(&'static str, String)],
) -> Result<Resolved, SettingsError> {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let flags = Flags {
        values: flags.iter().cloned().collect(),
        verbose_count: 0,
    };
    resolve(&fx.inputs(&env), &flags)
}

#[test]
fn every_setting_from_every_source_and_their_precedence() {
    for d in SETTINGS {
        let fx = Fixture::new();
        let [file_v, env_v, flag_v] = samples(d, &fx);
        let conf = fx.conf(&yaml_for(d.key, &file_v));
        let mut env = companions(d.key);
        env.push((CONF_VAR.to_string(), conf.clone()));
        let check =
            |env: &[(String, String)], flags: &[(&'static str, String)], want: &str, from: &str| {
                let r = resolve_with(&fx, env, flags)
                    .unwrap_or_else(|e| panic!("{} = {want:?} from {from}: {e}", d.key));
                let (value, source) = &r.settings.provenance.values[d.key];
                assert_eq!(value, want, "{} from {from}", d.key);
                let kind = match source {
                    Source::Default => "default",
                    Source::File { .. } => "file",
                    Source::Env { .. } => "env",
                    Source::Flag { .. } => "flag",
                };
                assert_eq!(kind, from, "{}", d.key);
            };
        // file only
        check(&env, &[], &file_v, "file");
        // env over file
        let mut with_env = env.clone();
        with_env.push((d.env(), env_v.clone()));
        check(&with_env, &[], &env_v, "env");
        // flag over env and file
        check(&with_env, &[(d.key, flag_v.clone())], &flag_v, "flag");
        // nothing: the default
        let r = resolve_with(&fx, &[], &[]).unwrap();
        assert_eq!(
            r.settings.provenance.values[d.key].1,
            Source::Default,
            "{}",
            d.key
        );
    }
}

#[test]
fn typed_values_follow_the_text() {
    let fx = Fixture::new();
    let conf = fx.conf(
        "verbose: 3\ndind:\n  subnet: 10.150.0.0/16\nsource:\n  kubernetesVersion: \"1.36\"\n  kubernetesSource: go-module\n  imageSource: build\n  buildKubeadm: yes\n  hyperkubeUrl: https://x.example/kubernetes-server-linux-amd64.tar.gz\n  hyperkubeSha1: 4e375e27a5aa10a8d1a0d10da5c3c2f2d0ee4770\ncluster:\n  numNodes: 6\n  cniPlugin: weave\n  addons: [dashboard, addon.yaml]\n  apiServerPort: 6444\nnode:\n  arch: arm64\n",
    );
    let r = resolve_with(&fx, &[(CONF_VAR.into(), conf)], &[])
        .unwrap()
        .settings;
    assert_eq!(r.verbose, 3);
    assert_eq!(r.dind_subnet.to_string(), "10.150.0.0/16");
    assert_eq!(
        r.kubernetes_version,
        VersionSpec::Minor {
            major: 1,
            minor: 36
        }
    );
    assert_eq!(r.kubernetes_source, KubernetesSource::GoModule);
    assert_eq!(r.image_source, ImageSource::Build);
    assert!(r.build_kubeadm && !r.build_kubectl && r.any_build());
    let h = r.hyperkube_download.unwrap();
    assert_eq!(h.checksum.unwrap().algorithm_name(), "sha1");
    assert_eq!(r.num_nodes, 6);
    assert_eq!(r.cni_plugin, CniPlugin::Weave);
    // A relative path in the file is relative to the file.
    assert_eq!(
        r.addons,
        vec![
            Addon::Named("dashboard".into()),
            Addon::File(fx.dir.path().join("addon.yaml"))
        ]
    );
    assert_eq!(r.apiserver_port, Some(6444));
    assert_eq!(r.arch, Some(Arch::Arm64));
    assert_eq!(
        r.home_dir,
        fx.dir.path().join("home/.kubeadm-local-cluster")
    );
    assert_eq!(
        r.cache_dir,
        fx.dir.path().join("home/.cache/kubeadm-local-cluster")
    );
}

#[test]
fn defaults() {
    let fx = Fixture::new();
    let r = resolve_with(&fx, &[], &[]).unwrap().settings;
    assert_eq!(r.dind_subnet.to_string(), "10.192.0.0/16");
    assert_eq!(r.verbose, 1);
    assert_eq!(r.kubernetes_version.to_string(), DEFAULT_KUBERNETES_VERSION);
    assert_eq!(r.num_nodes, 2);
    assert_eq!(r.cni_plugin, CniPlugin::Bridge);
    assert_eq!(r.cluster_name, "default");
    assert_eq!(r.addons, vec![Addon::Named("dashboard".into())]);
    assert_eq!(r.apiserver_port, None);
    assert_eq!(r.arch, None);
    assert_eq!(r.k8s_dir, fx.dir.path());
    assert!(r.provenance.file.is_none());
}

#[test]
fn verbose_short_flags() {
    let fx = Fixture::new();
    let flags = Flags {
        values: Default::default(),
        verbose_count: 2,
    };
    assert_eq!(
        resolve(&fx.inputs(&[]), &flags).unwrap().settings.verbose,
        3
    );
}

fn error_of(fx: &Fixture, env: &[(&str, &str)], flags: &[(&'static str, &str)]) -> String {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let flags: Vec<(&'static str, String)> =
        flags.iter().map(|(k, v)| (*k, v.to_string())).collect();
    match resolve_with(fx, &env, &flags) {
        Ok(_) => panic!("expected an error for {env:?} {flags:?}"),
        Err(e) => e.to_string(),
    }
}

fn assert_all(text: &str, parts: &[&str]) {
    for p in parts {
        assert!(text.contains(p), "{p:?} not in: {text}");
    }
}

#[test]
fn bad_values_name_setting_source_value_and_what_is_accepted() {
    let fx = Fixture::new();
    // (environment, flags, parts the error must contain)
    type Case<'a> = (
        &'a [(&'a str, &'a str)],
        &'a [(&'static str, &'a str)],
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
            &[("dind.subnet", "10.192.0.1/16")],
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
            &[("source.kubernetesVersion", "1.x")],
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
                "bridge, flannel, calico or weave",
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
        &error_of(&fx, &[], &[("cluster.podSubnet", "10.160.0.0/23")]),
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
            &[("cluster.podSubnet", "10.160.0.0/25")],
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
fn missing_checksum_opt_out_warns() {
    let fx = Fixture::new();
    let env = [
        (
            "K8S_DIND_KUBECTL_URL".to_string(),
            "https://x/kubectl".to_string(),
        ),
        (
            "K8S_DIND_ALLOW_MISSING_CHECKSUM".to_string(),
            "true".to_string(),
        ),
    ];
    let r = resolve_with(&fx, &env, &[]).unwrap();
    assert!(r.settings.kubectl_download.unwrap().checksum.is_none());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("will not be verified")),
        "{:?}",
        r.warnings
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

#[test]
fn unknown_environment_variables_are_warned_about() {
    let fx = Fixture::new();
    let env = [("K8S_DIND_NUM_NODE".to_string(), "3".to_string())];
    let r = resolve_with(&fx, &env, &[]).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("K8S_DIND_NUM_NODE")
                && w.contains("did you mean K8S_DIND_NUM_NODES")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn effective_yaml_round_trips_as_a_config_file() {
    let fx = Fixture::new();
    let env = [
        ("K8S_DIND_NUM_NODES".to_string(), "4".to_string()),
        ("K8S_DIND_ADDONS".to_string(), String::new()),
    ];
    let first = resolve_with(&fx, &env, &[("cluster.cniPlugin", "calico".to_string())])
        .unwrap()
        .settings;
    let yaml = render::effective_yaml(&first);
    assert!(
        yaml.contains("  numNodes: 4  # env K8S_DIND_NUM_NODES"),
        "{yaml}"
    );
    assert!(
        yaml.contains("  cniPlugin: calico  # flag --cni-plugin"),
        "{yaml}"
    );
    let conf = fx.conf(&yaml);
    let again = resolve_with(&fx, &[(CONF_VAR.to_string(), conf)], &[])
        .unwrap()
        .settings;
    assert_eq!(again.num_nodes, 4);
    assert_eq!(again.cni_plugin, CniPlugin::Calico);
    assert!(again.addons.is_empty());
    assert_eq!(again.cache_dir, first.cache_dir);
}
