//! Renewing certificates that expired while the cluster slept.

use super::*;
use crate::cluster::steps::node_ops::NodeOp;
use crate::engine::ExecOutput;

/// The nodes list certificates that expire `from_now` seconds from now:
/// (container, path, from_now).
fn holding(s: &Scene, held: &'static [(&'static str, &'static str, i64)]) {
    s.fake.on_op(NodeOp::CertList.name(), move |c| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let text: String = held
            .iter()
            .filter(|(node, _, _)| *node == c)
            .map(|(_, path, from_now)| format!("{} {path}\n", now + from_now))
            .collect();
        ExecOutput::ok(text)
    });
}

/// The renewals run, in order: (container, operation).
fn renewals(s: &Scene) -> Vec<(String, String)> {
    s.fake
        .calls()
        .iter()
        .filter_map(|c| {
            let (container, argv) = c.strip_prefix("exec ")?.split_once(": ")?;
            let op = ["renew-control-plane", "renew-kubelet"]
                .into_iter()
                .find(|op| argv.contains(&format!(" {op}")))?;
            Some((container.to_string(), op.to_string()))
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn renew_certificates_renews_what_expired_control_plane_first() {
    let s = before("wait-ready", &[]).await;
    holding(
        &s,
        &[
            (NODES[0], "/etc/kubernetes/pki/ca.crt", 3 * 365 * 86400),
            (NODES[0], "/etc/kubernetes/pki/apiserver.crt", -3600),
            (NODES[0], "/etc/kubernetes/admin.conf", -3500),
            (NODES[0], "/etc/kubernetes/kubelet.conf", -3600),
            (
                NODES[1],
                "/var/lib/kubelet/pki/kubelet-client-current.pem",
                86400,
            ),
            (
                NODES[2],
                "/var/lib/kubelet/pki/kubelet-client-current.pem",
                300 * 86400,
            ),
        ],
    );
    let (result, events) = run(&s, &RenewCertificates, &mut job(&s)).await;
    result.unwrap();
    assert!(
        done(
            &events,
            "Renewing certificates (expired 60 min ago on /etc/kubernetes/pki/apiserver.crt)"
        ),
        "{events}"
    );
    let op = |c: &str, o: &str| (c.to_string(), o.to_string());
    assert_eq!(
        renewals(&s),
        [
            op(NODES[0], "renew-control-plane"),
            op(NODES[0], "renew-kubelet"),
            op(NODES[1], "renew-kubelet"),
        ]
    );
    // The worker asks the master's API server with the cluster's token.
    let calls = s.fake.calls();
    let worker = calls
        .iter()
        .find(|c| c.starts_with(&format!("exec {}:", NODES[1])) && c.contains("renew-kubelet"))
        .unwrap();
    let token = crate::cluster::steps::kubeadm::bootstrap_token(&s.plan);
    assert!(
        worker.ends_with(&format!(" https://kube-master:6443 {token}")),
        "{worker}"
    );
    // Every kubelet given a new certificate is started again on it.
    let kubelets: Vec<&String> = calls
        .iter()
        .filter(|c| c.contains(" renew-kubelet"))
        .collect();
    assert_eq!(kubelets.len(), 2);
    for call in kubelets {
        assert!(call.contains("systemctl restart kubelet"), "{call}");
    }
}

#[tokio::test(start_paused = true)]
async fn renew_certificates_is_silent_when_all_are_far_from_expiry() {
    let s = before("wait-ready", &[]).await;
    holding(
        &s,
        &[
            (NODES[0], "/etc/kubernetes/pki/apiserver.crt", 200 * 86400),
            (
                NODES[2],
                "/var/lib/kubelet/pki/kubelet-client-current.pem",
                31 * 86400,
            ),
        ],
    );
    let (result, events) = run(&s, &RenewCertificates, &mut job(&s)).await;
    result.unwrap();
    assert!(!events.contains("Renewing"), "{events}");
    assert!(renewals(&s).is_empty());
}

#[tokio::test(start_paused = true)]
async fn renew_certificates_refuses_an_expired_authority_and_says_what_helps() {
    let s = before("wait-ready", &[]).await;
    holding(
        &s,
        &[
            (NODES[0], "/etc/kubernetes/pki/apiserver.crt", -60),
            (NODES[1], "/etc/kubernetes/pki/ca.crt", -2 * 86400),
        ],
    );
    let (result, _) = run(&s, &RenewCertificates, &mut job(&s)).await;
    let text = crate::error::chain(&result.unwrap_err());
    for part in [
        "/etc/kubernetes/pki/ca.crt",
        "kube-node-1",
        "2 days ago",
        "clean",
    ] {
        assert!(text.contains(part), "{part:?} not in {text}");
    }
    assert!(renewals(&s).is_empty(), "nothing renewed");
}

#[tokio::test(start_paused = true)]
async fn a_failed_renewal_names_the_node() {
    let s = before("wait-ready", &[]).await;
    holding(&s, &[(NODES[0], "/etc/kubernetes/pki/apiserver.crt", -60)]);
    s.fake
        .on_op(NodeOp::RenewControlPlane.name(), |_| ExecOutput {
            exit_code: 1,
            stderr: b"error: couldn't load the CA".to_vec(),
            ..Default::default()
        });
    let (result, _) = run(&s, &RenewCertificates, &mut job(&s)).await;
    let text = crate::error::chain(&result.unwrap_err());
    assert!(
        text.contains("renewing the certificates of kube-master") && text.contains("load the CA"),
        "{text}"
    );
}
