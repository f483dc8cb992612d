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
    match d.id {
        Key::DindSubnet => s("10.150.0.0/16", "10.151.0.0/16", "10.152.0.0/24"),
        Key::PodSubnet => s("10.160.0.0/16", "10.161.0.0/16", "10.162.0.0/16"),
        Key::ServiceSubnet => s("10.170.0.0/16", "10.171.0.0/16", "10.172.0.0/16"),
        Key::Verbose => s("0", "2", "3"),
        Key::NumNodes => s("0", "3", "5"),
        Key::KubernetesVersion => s("v1.36.3", "1.35", "v1.37.0"),
        Key::KubernetesSource => s("go-module", "release", "go-module"),
        Key::ImageSource => s("build", "registry", "build"),
        Key::ImageRepository => s("localhost:5000", "example.com/mirror", "127.0.0.1:5001/k8s"),
        Key::Arch => s("arm64", "amd64", "s390x"),
        Key::RunMode => s("privileged", "capabilities", "auto"),
        Key::NodeRuntime => s("sysbox-runc", "runc", "my.runtime_2"),
        Key::CniPlugin => s("flannel", "calico", "weave"),
        Key::ClusterName => s("alpha", "beta-2", "c"),
        Key::ApiServerPort => s("6443", "30000", "1"),
        Key::RegistryPort => s("5001", "5000", "65535"),
        Key::SshOptions => s("-i /k", "-o Port=2222 -F /c", "-4"),
        Key::CertificateValidity => s("8760h", "5m", "1h30m10s"),
        Key::Addons => [
            "dashboard".to_string(),
            String::new(),
            fx.dir.path().join("addon.yaml").display().to_string(),
        ],
        Key::K8sDir | Key::CacheDir => [
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
fn companions(key: Key) -> Vec<(String, String)> {
    let pair = |url: Key, sum: Key| {
        if key == url {
            vec![(sum.def().env(), "d".repeat(40))]
        } else if key == sum {
            vec![(url.def().env(), "https://x.example/bin".to_string())]
        } else {
            vec![]
        }
    };
    let mut v = pair(Key::KubeadmUrl, Key::KubeadmSha1);
    v.extend(pair(Key::HyperkubeUrl, Key::HyperkubeSha1));
    v.extend(pair(Key::KubectlUrl, Key::KubectlSha1));
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
    flags: &[(Key, String)],
) -> Result<Resolved, SettingsError> {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let flags = Flags {
        values: flags.iter().cloned().collect(),
    };
    resolve(&fx.inputs(&env), &flags)
}

fn error_of(fx: &Fixture, env: &[(&str, &str)], flags: &[(Key, &str)]) -> String {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let flags: Vec<(Key, String)> = flags.iter().map(|(k, v)| (*k, v.to_string())).collect();
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

mod errors;
mod fuzz;
mod sources;
