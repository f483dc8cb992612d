//! Unit tests of the artifacts layer: version stamps, and where each
//! Kubernetes binary comes from.

use super::*;

#[test]
fn ldflags_set_both_version_packages() {
    let v: KubeVersion = "v1.37.2".parse().unwrap();
    let flags = VersionStamp::release(&v).ldflags();
    assert!(flags.contains("-X k8s.io/component-base/version.gitVersion=v1.37.2"));
    assert!(flags.contains("-X k8s.io/client-go/pkg/version.gitMinor=37"));
    assert!(flags.contains("-X k8s.io/component-base/version.gitMajor=1"));
    assert!(flags.contains("buildDate=1970-01-01T00:00:00Z"));
    assert!(!flags.contains("gitCommit"));
}

#[test]
fn a_tree_build_says_its_commit_and_that_it_is_no_release() {
    let v: KubeVersion = "v1.37.2-dirty".parse().unwrap();
    let stamp = VersionStamp::tree(v, "abc", "dirty", 0);
    assert_eq!(stamp.minor, "37+");
    assert!(stamp
        .ldflags()
        .contains("-X k8s.io/client-go/pkg/version.gitCommit=abc"));
    assert_eq!(
        stamp.version_file(),
        "KUBE_GIT_COMMIT='abc'\nKUBE_GIT_TREE_STATE='dirty'\nKUBE_GIT_VERSION='v1.37.2-dirty'\n\
         KUBE_GIT_MAJOR='1'\nKUBE_GIT_MINOR='37+'\n"
    );
    let untracked = VersionStamp::untracked(&"v1.36.3".parse().unwrap());
    assert_eq!(untracked.version.to_string(), "v1.36.3-dirty");
}

/// Records what it is asked to build; the tree gives kubeadm.
struct FakeTrees(std::sync::Mutex<Vec<String>>);

impl TreeBuilder for FakeTrees {
    async fn build(
        &self,
        _: &Ui,
        tree: &TreeBuild,
        _: &str,
    ) -> Result<Vec<(String, PathBuf)>, Box<dyn std::error::Error + Send + Sync>> {
        self.0.lock().unwrap().push("tree: kubeadm".into());
        Ok(vec![("kubeadm".into(), tree.dir.join("kubeadm"))])
    }

    async fn release(
        &self,
        _: &Ui,
        _: &Cache,
        version: &KubeVersion,
        arch: &str,
        names: &[&str],
    ) -> Result<BTreeMap<String, PathBuf>, Box<dyn std::error::Error + Send + Sync>> {
        self.0
            .lock()
            .unwrap()
            .push(format!("release {version} {arch}: {}", names.join(" ")));
        Ok(names
            .iter()
            .map(|n| (n.to_string(), PathBuf::from("/rel").join(n)))
            .collect())
    }
}

#[tokio::test]
async fn what_no_tree_or_url_gives_is_built_as_the_release_tree() {
    let v: KubeVersion = "v1.37.2".parse().unwrap();
    let plan = BinaryPlan {
        version: v.clone(),
        arch: "arm64".into(),
        source: KubernetesSourceSetting::GoModule,
        release_url: "http://127.0.0.1:9/unused".into(),
        kubeadm_url: None,
        hyperkube_url: None,
        kubectl_url: None,
        tree: Some(TreeBuild {
            dir: "/tree".into(),
            kubeadm: true,
            server: false,
            kubectl: false,
            stamp: VersionStamp::untracked(&v),
        }),
    };
    let trees = FakeTrees(Default::default());
    let cache = Cache::new("/nonexistent-cache");
    let got = kubernetes_binaries(&plan, &cache, &Ui::recording(0), &trees)
        .await
        .unwrap();
    assert_eq!(
        *trees.0.lock().unwrap(),
        [
            "tree: kubeadm",
            "release v1.37.2 arm64: kubectl kubelet kube-apiserver kube-controller-manager \
             kube-scheduler kube-proxy"
        ]
    );
    assert_eq!(got.path("kubeadm"), Path::new("/tree/kubeadm"));
    assert_eq!(got.path("kubelet"), Path::new("/rel/kubelet"));
    assert!(got.origins["kubelet"].contains("k8s.io/kubernetes@v1.37.2 as a source tree"));
    // The server binaries are the release's: its version, no tree.
    assert_eq!(got.version, v);
    assert!(got.source_tree.is_none());
}
