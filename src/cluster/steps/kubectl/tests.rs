use super::*;

#[test]
fn a_mirror_pod_runs_the_build_once_a_ready_container_of_its_tag_shows() {
    let pod = |json: &str| serde_json::from_str::<Pod>(json).unwrap();
    let new = "registry.k8s.io/kube-apiserver:v1.37.2-dirty-0123abcd";
    let old = r#"{"metadata": {"name": "m"}, "status": {"containerStatuses": [
        {"image": "registry.k8s.io/kube-apiserver:v1.37.2", "ready": true}]}}"#;
    assert!(!pod(old).runs(new));
    let starting = r#"{"metadata": {"name": "m"}, "status": {"containerStatuses": [
        {"image": "registry.k8s.io/kube-apiserver:v1.37.2-dirty-0123abcd", "ready": false}]}}"#;
    assert!(!pod(starting).runs(new));
    let running = r#"{"metadata": {"name": "m"}, "status": {"containerStatuses": [
        {"image": "kube-apiserver:v1.37.2-dirty-0123abcd", "ready": true}]}}"#;
    assert!(pod(running).runs(new));
    assert!(!pod(r#"{"metadata": {"name": "m"}}"#).runs(new));
}

const BEFORE: &str = "2026-01-01T10:00:00Z";
const SINCE: &str = "2026-01-01T10:05:00Z";
const AFTER: &str = "2026-01-01T10:05:03Z";

fn node(name: &str, ready: bool, heartbeat: &str) -> String {
    format!(
        r#"{{"kind":"Node","metadata":{{"name":"{name}"}},"status":{{"conditions":[
            {{"type":"Ready","status":"{}","lastHeartbeatTime":"{heartbeat}"}}]}}}}"#,
        if ready { "True" } else { "False" }
    )
}

fn pod(app: &str, ready: bool, started: &str) -> String {
    format!(
        r#"{{"kind":"Pod","metadata":{{"name":"{app}-x","labels":{{"k8s-app":"{app}"}}}},
            "status":{{"conditions":[{{"type":"Ready","status":"{}"}}],
            "containerStatuses":[{{"state":{{"running":{{"startedAt":"{started}"}}}}}}]}}}}"#,
        if ready { "True" } else { "False" }
    )
}

const COREDNS: &str =
    r#"{"kind":"Deployment","metadata":{"name":"coredns"},"spec":{"replicas":2}}"#;

fn awaited(items: &[String]) -> Option<String> {
    let json = format!(r#"{{"kind":"List","items":[{}]}}"#, items.join(","));
    let list: List<Object> = serde_json::from_str(&json).unwrap();
    still_awaited(&list.items, 2, true, Fresh::since(SINCE))
}

#[test]
fn ready_needs_fresh_nodes_proxies_and_every_dns_replica() {
    let mut items = vec![
        node("kube-master", true, AFTER),
        node("kube-node-1", true, AFTER),
        pod("kube-proxy", true, AFTER),
        pod("kube-proxy", true, AFTER),
        pod("kube-dns", true, AFTER),
        pod("kube-dns", true, AFTER),
        COREDNS.to_string(),
    ];
    assert_eq!(awaited(&items), None);
    items[5] = pod("kube-dns", false, AFTER);
    assert_eq!(awaited(&items).as_deref(), Some("CoreDNS 1/2 ready"));
    items[3] = pod("kube-proxy", true, BEFORE);
    assert_eq!(
        awaited(&items).as_deref(),
        Some("kube-proxy ready on 1/2 nodes")
    );
}

#[test]
fn state_from_before_a_restore_does_not_count() {
    let items = [
        node("kube-master", true, AFTER),
        node("kube-node-1", true, BEFORE),
        COREDNS.to_string(),
    ];
    assert_eq!(
        awaited(&items).as_deref(),
        Some("1/2 nodes Ready (waiting for kube-node-1)")
    );
    let items = [node("kube-master", true, AFTER), COREDNS.to_string()];
    assert_eq!(awaited(&items).as_deref(), Some("1/2 nodes Ready"));
}

#[test]
fn without_a_pod_network_registered_nodes_are_enough() {
    let json = format!(
        r#"{{"kind":"List","items":[{},{},{}]}}"#,
        node("kube-master", false, AFTER),
        node("kube-node-1", false, BEFORE),
        COREDNS
    );
    let list: List<Object> = serde_json::from_str(&json).unwrap();
    assert_eq!(
        still_awaited(&list.items, 2, false, Fresh::since(SINCE)).as_deref(),
        Some("1/2 nodes registered (NotReady until a pod network is installed)")
    );
    assert_eq!(
        still_awaited(&list.items, 2, false, Fresh::since(BEFORE)),
        None
    );
    assert_eq!(
        still_awaited(&list.items, 1, false, Fresh::since(SINCE)),
        None
    );
}

#[test]
fn after_a_thaw_fresh_heartbeats_count_and_pods_may_be_old() {
    let items = [
        node("kube-master", true, AFTER),
        node("kube-node-1", true, AFTER),
        pod("kube-proxy", true, BEFORE),
        pod("kube-proxy", true, BEFORE),
        pod("kube-dns", true, BEFORE),
        pod("kube-dns", true, BEFORE),
        COREDNS.to_string(),
    ];
    let json = format!(r#"{{"kind":"List","items":[{}]}}"#, items.join(","));
    let list: List<Object> = serde_json::from_str(&json).unwrap();
    let thawed = Fresh {
        heartbeats: SINCE,
        pod_starts: "",
    };
    assert_eq!(still_awaited(&list.items, 2, true, thawed), None);
    let mut stale = list;
    stale.items.truncate(1);
    assert_eq!(
        still_awaited(&stale.items, 2, true, thawed).as_deref(),
        Some("1/2 nodes Ready")
    );
}

#[test]
fn a_system_pod_held_back_names_its_node_once() {
    let held = |app: &str, node: &str, reason: &str| {
        format!(
            r#"{{"kind":"Pod","metadata":{{"name":"{app}-x","labels":{{"k8s-app":"{app}"}}}},
                "spec":{{"nodeName":"{node}"}},
                "status":{{"containerStatuses":[{{"state":{{"waiting":{{"reason":"{reason}"}}}}}}]}}}}"#
        )
    };
    let items = [
        held("kube-proxy", "kube-node-2", "CreateContainerConfigError"),
        held("kube-dns", "kube-node-2", "CrashLoopBackOff"),
        held("kube-dns", "kube-master", "CrashLoopBackOff"),
        held("kube-proxy", "kube-node-1", "ContainerCreating"),
        held("my-app", "kube-node-1", "CrashLoopBackOff"),
        node("kube-master", true, AFTER),
    ];
    let json = format!(r#"{{"kind":"List","items":[{}]}}"#, items.join(","));
    let list: List<Object> = serde_json::from_str(&json).unwrap();
    assert_eq!(
        objects::nodes_holding_back(&list.items),
        ["kube-master", "kube-node-2"]
    );
}
