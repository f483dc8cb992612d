//! Values from each source, their precedence, the typed values they
//! resolve to, and what resolving warns about.

use super::*;

#[test]
fn every_setting_from_every_source_and_their_precedence() {
    for d in SETTINGS {
        let fx = Fixture::new();
        let [file_v, env_v, flag_v] = samples(d, &fx);
        let conf = fx.conf(&yaml_for(d.key, &file_v));
        let mut env = companions(d.id);
        env.push((CONF_VAR.to_string(), conf.clone()));
        let check = |env: &[(String, String)], flags: &[(Key, String)], want: &str, from: &str| {
            let r = resolve_with(&fx, env, flags)
                .unwrap_or_else(|e| panic!("{} = {want:?} from {from}: {e}", d.key));
            let (value, source) = &r.settings.provenance.values[d.id];
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
        check(&with_env, &[(d.id, flag_v.clone())], &flag_v, "flag");
        // nothing: the default
        let r = resolve_with(&fx, &[], &[]).unwrap();
        assert_eq!(
            r.settings.provenance.values[d.id].1,
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
    assert_eq!(r.kubernetes_source, KubernetesSourceSetting::GoModule);
    assert_eq!(r.image_source, ImageSourceSetting::Build);
    assert!(r.build_kubeadm && !r.build_kubectl && r.any_build());
    let h = r.hyperkube_download.unwrap();
    assert_eq!(h.checksum.unwrap().algorithm_name(), "sha1");
    assert_eq!(r.num_nodes, 6);
    assert_eq!(r.cni_plugin, CniPlugin::Weave);
    // A relative path in the file is relative to the file.
    assert_eq!(
        r.addons,
        vec![
            Addon::Named(NamedAddon::Dashboard),
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
    assert_eq!(
        r.addons,
        vec![
            Addon::Named(NamedAddon::LocalPath),
            Addon::Named(NamedAddon::Dashboard)
        ]
    );
    assert_eq!(r.kubernetes_source, KubernetesSourceSetting::Auto);
    assert_eq!(r.image_source, ImageSourceSetting::Auto);
    assert_eq!(r.apiserver_port, None);
    assert_eq!(r.registry_port, None);
    assert_eq!(r.arch, None);
    assert_eq!(r.k8s_dir, fx.dir.path());
    assert!(r.provenance.file.is_none());
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
    let first = resolve_with(&fx, &env, &[(Key::CniPlugin, "calico".to_string())])
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

/// Each choice enum's names parse back to their variant (in any case) and
/// are exactly the words its row accepts, in the order `--help` shows them.
#[test]
fn choice_names_round_trip_and_are_the_table_words() {
    fn check<T: std::str::FromStr + strum::VariantNames>(
        key: Key,
        as_str: fn(&T) -> &'static str,
        want: &[&str],
    ) {
        assert_eq!(key.def().kind, Kind::Choice(T::VARIANTS), "{key}");
        assert_eq!(T::VARIANTS, want, "{key}");
        for name in T::VARIANTS {
            let v: T = reader::parse_choice(name).unwrap();
            assert_eq!(as_str(&v), *name, "{key}");
            let v: T = reader::parse_choice(&name.to_uppercase()).unwrap();
            assert_eq!(as_str(&v), *name, "{key}");
        }
        assert!(reader::parse_choice::<T>("no-such-word").is_err(), "{key}");
    }
    check(
        Key::KubernetesSource,
        KubernetesSourceSetting::as_str,
        &["auto", "release", "go-module"],
    );
    check(
        Key::ImageSource,
        ImageSourceSetting::as_str,
        &["auto", "registry", "build"],
    );
    check(
        Key::Arch,
        Arch::as_str,
        &["amd64", "arm", "arm64", "ppc64le", "s390x"],
    );
    check(
        Key::RunMode,
        NodeRunMode::as_str,
        &["auto", "privileged", "capabilities"],
    );
    check(
        Key::CniPlugin,
        CniPlugin::as_str,
        &[
            "bridge",
            "flannel",
            "kube-router",
            "calico",
            "weave",
            "none",
        ],
    );
}
