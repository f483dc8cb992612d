//! The wait for a cluster: nothing is asked with kubectl, and kube-proxy
//! not at all, until the API server says it is ready.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::scene::*;
use crate::cluster::steps::node_ops::NodeOp;
use crate::engine::ExecOutput;
use crate::ops::up::UpOutcome;
use crate::ui::Ui;

#[tokio::test(start_paused = true)]
async fn kubectl_and_kube_proxy_wait_for_the_api_server() {
    let s = Scene::made_and_down(&[]).await;
    let asked = Arc::new(AtomicUsize::new(0));
    let count = asked.clone();
    s.fake.on_op(NodeOp::ApiReady.name(), move |_| {
        if count.fetch_add(1, Ordering::SeqCst) < 2 {
            ExecOutput {
                exit_code: 1,
                stdout: b"curl: (7) Failed to connect".to_vec(),
                ..Default::default()
            }
        } else {
            ExecOutput::ok("")
        }
    });
    let from = s.fake.calls().len();
    assert_eq!(s.up(&Ui::recording(1)).await.unwrap(), UpOutcome::Restored);
    let calls = &s.fake.calls()[from..];
    let position = |word: &str| calls.iter().position(|c| c.contains(word));
    let api_ready = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.contains("/readyz"))
        .map(|(i, _)| i)
        .collect::<Vec<_>>();
    assert_eq!(api_ready.len(), 3, "{calls:#?}");
    let kubectl = position("get nodes,pods,deployments").expect("kubectl asked");
    let proxy = position("10256/healthz").expect("kube-proxy asked");
    assert!(api_ready[2] < kubectl && api_ready[2] < proxy, "{calls:#?}");
}
