//! Helpers for unit tests of the cluster and of the commands over it.

use super::state::plan::ClusterPlan;
use crate::settings::{Flags, Inputs, Settings};

/// Settings from the defaults and `env`, with a home directory of their own.
pub fn settings(env: &[(&str, &str)]) -> Settings {
    settings_at(tempfile::tempdir().unwrap().path(), env)
}

/// Settings from the defaults and `env`, for a user whose home is `home`.
pub(crate) fn settings_at(home: &std::path::Path, env: &[(&str, &str)]) -> Settings {
    let inputs = Inputs {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        cwd: home.to_path_buf(),
        home: home.to_path_buf(),
    };
    crate::settings::resolve(&inputs, &Flags::default())
        .unwrap()
        .settings
}

/// The plan for Kubernetes v1.37.2 with `env` on top of the defaults.
pub fn plan(env: &[(&str, &str)]) -> ClusterPlan {
    ClusterPlan::new(&settings(env), "v1.37.2".parse().unwrap())
}

/// Cluster `c` on 10.250.0.0/24 without addons (which would be fetched
/// from the network), with `env` on top.
pub(crate) fn cluster_c_env<'a>(env: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![
        ("K8S_DIND_CLUSTER_NAME", "c"),
        ("K8S_DIND_DIND_SUBNET", "10.250.0.0/24"),
        ("K8S_DIND_ADDONS", ""),
    ];
    all.extend_from_slice(env);
    all
}

/// The plan of cluster `c` (see [`cluster_c_env`]).
pub fn cluster_c(env: &[(&str, &str)]) -> ClusterPlan {
    plan(&cluster_c_env(env))
}
