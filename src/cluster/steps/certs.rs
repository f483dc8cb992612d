//! The certificates the nodes hold, listed with their expiry, and their
//! renewal: kubeadm's own for the control plane, a new client certificate
//! for a kubelet. What to renew is decided in
//! [`state::certs`](crate::cluster::state::certs).

use futures_util::future::try_join_all;

use crate::cluster::state::certs::{self, Held, Renewal};
use crate::cluster::state::plan::NodePlan;
use crate::cluster::steps::kubeadm::{bootstrap_token, API_PORT, CONFIG_PATH};
use crate::cluster::steps::node_ops::NodeOp;
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;

/// Prints `SECONDS PATH` for every certificate file and every kubeconfig
/// with an embedded client certificate the node holds (openssl and GNU
/// date are in the node image).
const LIST_SCRIPT: &str = r#"
show() { d=$(openssl x509 -noout -enddate 2>/dev/null | cut -d= -f2) && [ -n "$d" ] && echo "$(date -u -d "$d" +%s) $1"; }
for f in /etc/kubernetes/pki/*.crt /etc/kubernetes/pki/etcd/*.crt /var/lib/kubelet/pki/kubelet-client-current.pem; do
  [ -f "$f" ] && show "$f" <"$f"
done
for f in /etc/kubernetes/*.conf; do
  data=$(sed -n 's/^ *client-certificate-data: *//p' "$f" 2>/dev/null | head -n 1)
  [ -n "$data" ] && printf '%s' "$data" | base64 -d | show "$f"
done
exit 0
"#;

/// What every node holds.
pub async fn list<E: Engine>(cx: Ctx<'_, E>) -> Result<Vec<Held>> {
    let argv = ["sh", "-c", LIST_SCRIPT];
    let listings = try_join_all(
        cx.plan
            .nodes
            .iter()
            .map(|node| NodeOp::CertList.run(cx.engine, &node.container, &argv)),
    )
    .await?;
    Ok(cx
        .plan
        .nodes
        .iter()
        .zip(listings)
        .flat_map(|(node, out)| certs::parse_listing(&node.name, &out.stdout_text()))
        .collect())
}

/// kubeadm renews every certificate and kubeconfig it made (keeping their
/// names and addresses); the control plane's processes are stopped so that
/// the kubelet starts them again on the new ones (their manifests name
/// them by their command). Processes not started yet will start on the new
/// ones anyway.
fn renew_control_plane_script() -> String {
    format!(
        "set -e\n\
         kubeadm certs renew all --config {CONFIG_PATH}\n\
         pkill -f '^(etcd|kube-apiserver|kube-controller-manager|kube-scheduler)( |$)' || true\n"
    )
}

/// A restored node may still be booting: systemctl answers once systemd's
/// manager does (within a minute).
const WAIT_FOR_SYSTEMD: &str = "i=0; until systemctl show -p Version >/dev/null 2>&1 || [ $i -ge 120 ]; do i=$((i+1)); sleep 0.5; done\n";

/// The master's kubelet cannot bootstrap (it runs the API server it would
/// ask): kubeadm writes it a kubeconfig with a new certificate, as at
/// `init`. The rotated certificates go first: the kubelet prefers them.
/// It rotates the new one through the controller manager as before.
fn renew_master_kubelet_script() -> String {
    format!(
        "set -e\n\
         rm -f /etc/kubernetes/kubelet.conf /var/lib/kubelet/pki/kubelet-client-*.pem\n\
         kubeadm init phase kubeconfig kubelet --config {CONFIG_PATH}\n\
         {WAIT_FOR_SYSTEMD}\
         systemctl restart kubelet\n"
    )
}

/// A worker's kubelet asks for a new certificate as at `join`: a bootstrap
/// kubeconfig with the cluster's token (made without expiry), its old
/// certificate removed. `$1` is the API server, `$2` the token.
const RENEW_WORKER_KUBELET: &str = r#"set -e
ca=$(base64 -w0 /etc/kubernetes/pki/ca.crt)
umask 077
cat >/etc/kubernetes/bootstrap-kubelet.conf <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cluster
  cluster:
    server: $1
    certificate-authority-data: $ca
contexts:
- name: bootstrap
  context:
    cluster: cluster
    user: bootstrap
current-context: bootstrap
users:
- name: bootstrap
  user:
    token: $2
EOF
rm -f /etc/kubernetes/kubelet.conf /var/lib/kubelet/pki/kubelet-client-*.pem
"#;

fn renew_worker_kubelet_script() -> String {
    format!("{RENEW_WORKER_KUBELET}{WAIT_FOR_SYSTEMD}systemctl restart kubelet\n")
}

/// Renew what `renewal` says: the control plane first, then the kubelets
/// (a worker's needs the controller manager to sign its new certificate).
pub async fn renew<E: Engine>(cx: Ctx<'_, E>, renewal: &Renewal) -> Result<()> {
    let master = cx.plan.master();
    if renewal.control_plane.is_some() {
        run(
            cx,
            master,
            NodeOp::RenewControlPlane,
            &renew_control_plane_script(),
            &[],
        )
        .await?;
    }
    let server = format!("https://{}:{API_PORT}", master.name);
    let token = bootstrap_token(cx.plan);
    for (name, _) in &renewal.kubelets {
        let node = cx.plan.node(name)?;
        let (script, args) = if node.name == master.name {
            (renew_master_kubelet_script(), vec![])
        } else {
            (renew_worker_kubelet_script(), vec![server.as_str(), &token])
        };
        run(cx, node, NodeOp::RenewKubelet, &script, &args).await?;
    }
    Ok(())
}

async fn run<E: Engine>(
    cx: Ctx<'_, E>,
    node: &NodePlan,
    op: NodeOp,
    script: &str,
    args: &[&str],
) -> Result<()> {
    let mut argv = vec!["sh", "-c", script, op.name()];
    argv.extend_from_slice(args);
    op.run(cx.engine, &node.container, &argv)
        .await
        .map_err(|source| ClusterError::RenewCertificates {
            node: node.name.clone(),
            source,
        })?;
    Ok(())
}
