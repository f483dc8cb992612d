//! The pod network on the master (the workers get theirs as they join), or
//! a word on what to do when the settings ask for none.

use crate::cluster::steps::pod_network;
use crate::cluster::{Ctx, Result};
use crate::cni;
use crate::engine::Engine;

/// Runs beside the workers' joins ([`super::network_join`]).
pub(super) async fn on_master<E: Engine>(cx: Ctx<'_, E>, install: &cni::Install) -> Result<()> {
    let plan = cx.plan;
    if !plan.cni.installs_network() {
        cx.ui.info(
            "No pod network (cniPlugin: none): the nodes stay NotReady and CoreDNS \
             waits until you install one (CNI configuration in /etc/cni/net.d, \
             plugins in /opt/cni/bin of every node)",
        );
        return Ok(());
    }
    let step = cx.ui.step(format!(
        "Installing the pod network ({})",
        plan.cni.as_str()
    ));
    pod_network::install(cx, install, &[plan.master()]).await?;
    step.done();
    Ok(())
}
