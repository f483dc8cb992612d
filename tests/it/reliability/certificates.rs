//! A snapshot restored after its certificates expired.

use super::*;

/// The expiry (Unix seconds) of the certificate in `path` in `container`.
fn expiry(container: &str, path: &str) -> i64 {
    let out = docker(&[
        "exec",
        container,
        "sh",
        "-c",
        &format!("date -u -d \"$(openssl x509 -noout -enddate -in {path} | cut -d= -f2)\" +%s"),
    ]);
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{path}: {out:?}"))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A cluster made with 5-minute certificates, taken down, and restored
/// after they expired: `up` says so and renews them (kubeadm's own renewal
/// on the master, a new bootstrap for the worker's kubelet) before it
/// waits for the nodes; every node is Ready again, admin.conf is the
/// renewed one, what was written before is still there, and the worker's
/// kubelet got its new certificate through a CSR the cluster approved (the
/// way its rotation goes on).
#[test]
#[ignore = "needs root, a Docker engine and about ten minutes; run by .ci/test"]
fn restored_after_its_certificates_expired() {
    const NAME: &str = "it-relc";
    const MASTER: &str = "it-relc-kube-master";
    const WORKER: &str = "it-relc-kube-node-1";
    const APISERVER: &str = "/etc/kubernetes/pki/apiserver.crt";
    const KUBELET: &str = "/var/lib/kubelet/pki/kubelet-client-current.pem";
    let mut c = cluster(NAME, "10.241.0.0/24");
    c.extra.push((
        "K8S_DIND_CERTIFICATE_VALIDITY".to_string(),
        "5m".to_string(),
    ));
    let (_, said) = c.run(&["up"]);
    assert!(said.contains("created"), "{said}");
    let expires = expiry(MASTER, APISERVER);
    assert!(expires - now() <= 5 * 60, "5-minute certificates");
    c.kubectl(&[
        "create",
        "configmap",
        "before",
        "--from-literal=written=yes",
    ]);
    let approved = |c: &Cluster| {
        c.kubectl(&["get", "csr", "--no-headers"])
            .lines()
            .filter(|l| l.contains("Approved,Issued"))
            .count()
    };
    let approved_before = approved(&c);
    let admin_before = std::fs::read_to_string(c.home().join("admin.conf")).unwrap();
    c.run(&["down"]);

    let wait = expires + 5 - now();
    eprintln!("waiting {wait} s for the certificates to expire");
    std::thread::sleep(Duration::from_secs(wait.max(0) as u64));
    let (_, said) = c.run(&["up"]);
    assert!(
        said.contains("Renewing certificates (expired") && said.contains("restored"),
        "{said}"
    );
    assert!(expiry(MASTER, APISERVER) - now() > 3 * 60, "renewed");
    assert!(
        expiry(WORKER, KUBELET) - now() > 3 * 60,
        "the worker's renewed"
    );
    assert_ne!(
        std::fs::read_to_string(c.home().join("admin.conf")).unwrap(),
        admin_before,
        "admin.conf rewritten"
    );
    let ready = c.nodes_ready();
    assert!(
        ready.len() == 2 && ready.iter().all(|(_, r)| *r),
        "{ready:?}"
    );
    let written = c.kubectl(&[
        "get",
        "configmap",
        "before",
        "-o",
        "jsonpath={.data.written}",
    ]);
    assert_eq!(written, "yes");
    assert!(approved(&c) > approved_before, "a new CSR approved");

    c.run(&["clean"]);
    assert_eq!(engine_objects(NAME), Vec::<String>::new());
}
