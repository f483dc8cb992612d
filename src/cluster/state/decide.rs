//! The decisions that make `up` what it is, as pure functions of what the
//! engine holds: what to do with the cluster's network, and which path `up`
//! takes (nothing, restore, or a new cluster, and why). The steps in
//! [`lifecycle`](crate::ops::lifecycle) carry them out.

use super::health::Condition;
use super::snapshot::{SnapshotFields, SnapshotState};
use crate::cluster::state::plan::{ClusterPlan, RunMode};
use crate::cluster::ClusterError;
use crate::engine::NetworkDetails;
use crate::labels::LABEL_CLUSTER;

/// What to do about the cluster's Docker network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkAction {
    /// Ours, with the right subnet.
    Keep,
    Create,
    /// Ours, made for another subnet: remove it, then create it anew.
    Replace {
        old_subnets: Vec<String>,
    },
}

/// Decide from the network named like the plan's (if any) and every network
/// of the engine. A network of the same name that is not ours, or another
/// network whose subnet overlaps the plan's, is refused.
pub fn network_action(
    plan: &ClusterPlan,
    existing: Option<&NetworkDetails>,
    all: &[NetworkDetails],
) -> Result<NetworkAction, ClusterError> {
    let replace = match existing {
        Some(net) if net.labels.get(LABEL_CLUSTER) != Some(&plan.name) => {
            return Err(ClusterError::ForeignNetwork {
                network: plan.network.clone(),
                cluster: plan.name.clone(),
            })
        }
        Some(net) if net.subnets == [plan.subnet.to_string()] => return Ok(NetworkAction::Keep),
        Some(net) => Some(net.subnets.clone()),
        None => None,
    };
    for other in all.iter().filter(|n| n.name != plan.network) {
        for subnet in &other.subnets {
            let Ok(net) = subnet.parse::<ipnet::Ipv4Net>() else {
                continue; // IPv6 ranges cannot overlap ours
            };
            if net.contains(&plan.subnet.network()) || plan.subnet.contains(&net.network()) {
                return Err(ClusterError::SubnetOverlap {
                    subnet: plan.subnet.to_string(),
                    other_subnet: net.to_string(),
                    other: other.name.clone(),
                });
            }
        }
    }
    Ok(match replace {
        Some(old_subnets) => NetworkAction::Replace { old_subnets },
        None => NetworkAction::Create,
    })
}

/// Why `up` makes a new cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateReason {
    NoSnapshot,
    /// The snapshot was made for other settings; what differs.
    Stale(String),
    /// The snapshot is incomplete or inconsistent; what is wrong.
    Damaged(String),
}

/// The path `up` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpPath {
    /// Every node runs, finished by an `up`, with its units active.
    AlreadyRunning,
    /// A finished cluster with some nodes broken: start their units again
    /// and replace the nodes that are gone, stopped or not finished from
    /// their snapshot images, keeping the others (and their workloads).
    Repair {
        restart: Vec<String>,
        replace: Vec<String>,
        /// A snapshot for these settings is there to replace nodes from
        /// (its port and run mode labels may still be absent: older ones).
        from_snapshot: bool,
        api_port: Option<u16>,
        run_mode: Option<RunMode>,
    },
    /// Start from the snapshot, which matches the settings.
    Restore {
        api_port: Option<u16>,
        run_mode: Option<RunMode>,
    },
    Create(CreateReason),
}

/// What `up` does first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpDecision {
    /// Node containers exist but the cluster cannot go on with them (an
    /// interrupted `up`, an engine restart, broken nodes without a snapshot
    /// to replace them from): they are removed first; the snapshot, when
    /// there is one, has what they held.
    pub remove_nodes: bool,
    pub path: UpPath,
}

/// Decide from the nodes' condition and the snapshot.
pub fn up_path(
    condition: &Condition,
    snapshot: &SnapshotState,
    wanted: &SnapshotFields,
) -> UpDecision {
    let usable = match snapshot {
        SnapshotState::Complete {
            fingerprint,
            api_port,
            run_mode,
            ..
        } if *fingerprint == wanted.fingerprint() => Some((*api_port, *run_mode)),
        _ => None,
    };
    match (condition, usable) {
        (Condition::Healthy, _) => {
            return UpDecision {
                remove_nodes: false,
                path: UpPath::AlreadyRunning,
            }
        }
        (Condition::Broken { restart, replace }, Some((api_port, run_mode))) => {
            return UpDecision {
                remove_nodes: false,
                path: UpPath::Repair {
                    restart: restart.clone(),
                    replace: replace.clone(),
                    from_snapshot: true,
                    api_port,
                    run_mode,
                },
            }
        }
        // Units to start again need no snapshot.
        (Condition::Broken { restart, replace }, None) if replace.is_empty() => {
            return UpDecision {
                remove_nodes: false,
                path: UpPath::Repair {
                    restart: restart.clone(),
                    replace: Vec::new(),
                    from_snapshot: false,
                    api_port: None,
                    run_mode: None,
                },
            }
        }
        _ => {}
    }
    let path = match (snapshot, usable) {
        (_, Some((api_port, run_mode))) => UpPath::Restore { api_port, run_mode },
        (SnapshotState::Complete { fields, .. }, None) => {
            UpPath::Create(CreateReason::Stale(fields.describe_difference(wanted)))
        }
        (SnapshotState::Damaged(why), None) => UpPath::Create(CreateReason::Damaged(why.clone())),
        (SnapshotState::None, None) => UpPath::Create(CreateReason::NoSnapshot),
    };
    UpDecision {
        remove_nodes: *condition != Condition::Absent,
        path,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::cluster::tests::cluster_c as plan;

    fn network(name: &str, subnet: &str, cluster: Option<&str>) -> NetworkDetails {
        NetworkDetails {
            id: name.into(),
            name: name.into(),
            subnets: vec![subnet.into()],
            labels: cluster
                .map(|c| HashMap::from([(LABEL_CLUSTER.to_string(), c.to_string())]))
                .unwrap_or_default(),
        }
    }

    #[test]
    fn network_actions() {
        // The test plan: cluster "c", network k8s-kubeadm-local-cluster-c, 10.250.0.0/24.
        let p = plan(&[]);
        let bridge = network("bridge", "172.17.0.0/16", None);
        assert_eq!(
            network_action(&p, None, std::slice::from_ref(&bridge)).unwrap(),
            NetworkAction::Create
        );
        let ours = network(&p.network, "10.250.0.0/24", Some("c"));
        assert_eq!(
            network_action(&p, Some(&ours), &[bridge.clone(), ours.clone()]).unwrap(),
            NetworkAction::Keep
        );
        let old = network(&p.network, "10.251.0.0/24", Some("c"));
        assert_eq!(
            network_action(&p, Some(&old), &[bridge.clone(), old.clone()]).unwrap(),
            NetworkAction::Replace {
                old_subnets: vec!["10.251.0.0/24".into()]
            }
        );
        // Our own network with an overlapping old subnet is no obstacle.
        let wide = network(&p.network, "10.250.0.0/16", Some("c"));
        assert!(network_action(&p, Some(&wide), std::slice::from_ref(&wide)).is_ok());
    }

    #[test]
    fn foreign_or_overlapping_networks_are_refused() {
        let p = plan(&[]);
        let foreign = network(&p.network, "10.250.0.0/24", None);
        let err = network_action(&p, Some(&foreign), std::slice::from_ref(&foreign)).unwrap_err();
        assert!(matches!(err, ClusterError::ForeignNetwork { .. }));
        assert!(err
            .to_string()
            .contains("was not made by local-cluster for cluster \"c\""));
        let other_cluster = network(&p.network, "10.250.0.0/24", Some("d"));
        assert!(matches!(
            network_action(&p, Some(&other_cluster), &[]),
            Err(ClusterError::ForeignNetwork { .. })
        ));
        for subnet in ["10.250.0.0/25", "10.0.0.0/8"] {
            let err = network_action(&p, None, &[network("lab", subnet, None)]).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "dind.subnet 10.250.0.0/24 overlaps the subnet {subnet} of the Docker network \
                     \"lab\"; choose another --dind-subnet"
                )
            );
        }
        assert!(network_action(&p, None, &[network("v6", "fd00::/64", None)]).is_ok());
    }

    fn complete(fields: &SnapshotFields) -> SnapshotState {
        SnapshotState::Complete {
            fingerprint: fields.fingerprint(),
            fields: Box::new(fields.clone()),
            api_port: Some(40001),
            run_mode: Some(RunMode::Privileged),
        }
    }

    #[test]
    fn up_paths() {
        let wanted = SnapshotFields::of(&plan(&[]), "sha256:node");
        let none = Condition::Absent;
        let broken = Condition::Broken {
            restart: vec!["w1".into()],
            replace: vec!["w2".into()],
        };

        let d = up_path(&Condition::Healthy, &complete(&wanted), &wanted);
        assert_eq!(d.path, UpPath::AlreadyRunning);
        assert!(!d.remove_nodes);

        let d = up_path(&none, &complete(&wanted), &wanted);
        assert_eq!(
            d,
            UpDecision {
                remove_nodes: false,
                path: UpPath::Restore {
                    api_port: Some(40001),
                    run_mode: Some(RunMode::Privileged)
                }
            }
        );
        // After an engine restart or an interrupted up the nodes exist but
        // none was finished: all are replaced from the snapshot.
        let d = up_path(&Condition::Unfinished, &complete(&wanted), &wanted);
        assert!(d.remove_nodes);
        assert!(matches!(d.path, UpPath::Restore { .. }));
        // Broken nodes of a finished cluster are repaired in place.
        let d = up_path(&broken, &complete(&wanted), &wanted);
        assert_eq!(
            d,
            UpDecision {
                remove_nodes: false,
                path: UpPath::Repair {
                    restart: vec!["w1".into()],
                    replace: vec!["w2".into()],
                    from_snapshot: true,
                    api_port: Some(40001),
                    run_mode: Some(RunMode::Privileged)
                }
            }
        );

        let older = SnapshotFields {
            num_nodes: 1,
            ..wanted.clone()
        };
        assert_eq!(
            up_path(&none, &complete(&older), &wanted).path,
            UpPath::Create(CreateReason::Stale("numNodes 1 → 2".into()))
        );
        // Without a usable snapshot a gone node cannot be replaced alone...
        let d = up_path(&broken, &complete(&older), &wanted);
        assert!(d.remove_nodes);
        assert!(matches!(d.path, UpPath::Create(CreateReason::Stale(_))));
        // ...but a stopped kubelet can be started again.
        let units_only = Condition::Broken {
            restart: vec!["w1".into()],
            replace: vec![],
        };
        assert!(matches!(
            up_path(&units_only, &SnapshotState::None, &wanted).path,
            UpPath::Repair { ref replace, from_snapshot: false, .. } if replace.is_empty()
        ));
        assert_eq!(
            up_path(
                &Condition::Unfinished,
                &SnapshotState::Damaged("x".into()),
                &wanted
            )
            .path,
            UpPath::Create(CreateReason::Damaged("x".into()))
        );
        assert_eq!(
            up_path(&none, &SnapshotState::None, &wanted).path,
            UpPath::Create(CreateReason::NoSnapshot)
        );
    }
}
