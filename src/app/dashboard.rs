//! `dashboard`: open Headlamp (the `dashboard` addon) from this machine. It
//! prints a login token and forwards a loopback port to Headlamp's Service
//! through the API server (nothing is published on other addresses) until
//! interrupted.

use anyhow::{bail, Context, Result};

use super::{connect, plan_without_version};
use crate::addons::headlamp::{ADMIN, NAMESPACE, SERVICE};
use crate::cluster::Ctx;
use crate::ops::lifecycle;
use crate::output;
use crate::settings::Settings;
use crate::ui::Ui;

/// How long the printed token is valid.
const TOKEN_DURATION: &str = "24h";

pub async fn dashboard(settings: &Settings, ui: &Ui, port: u16) -> Result<()> {
    let engine = connect(settings, ui).await?;
    let plan = plan_without_version(settings);
    let cx = Ctx::new(&engine, &plan, ui);
    if !lifecycle::is_running(cx).await? {
        bail!(
            "cluster {:?} is not running; `local-cluster up{}` starts it",
            plan.name,
            plan.cluster_flag()
        );
    }
    let kubectl = cx.kubectl();
    if kubectl
        .run(&["get", "service", SERVICE, "-n", NAMESPACE, "-o", "name"])
        .await
        .is_err()
    {
        bail!(
            "the dashboard (Headlamp) is not installed in cluster {:?}: cluster.addons does not \
             name dashboard, or `up` left it out (its warning said why; Headlamp's image is only \
             pulled, from ghcr.io)",
            plan.name
        );
    }
    let token = kubectl
        .run(&[
            "create",
            "token",
            ADMIN,
            "-n",
            NAMESPACE,
            "--duration",
            TOKEN_DURATION,
        ])
        .await
        .context("making a login token for Headlamp")?;
    ui.info(format!(
        "Headlamp: http://127.0.0.1:{port}/ — log in with the token below (valid {TOKEN_DURATION}); Ctrl-C stops the forwarding"
    ));
    output::line(format_args!("http://127.0.0.1:{port}/"))?;
    output::line(token.trim())?;
    let status = tokio::process::Command::new(plan.kubectl_path())
        .arg("--kubeconfig")
        .arg(plan.admin_conf())
        .args([
            "port-forward",
            "--address",
            "127.0.0.1",
            "-n",
            NAMESPACE,
            &format!("service/{SERVICE}"),
            &format!("{port}:80"),
        ])
        .status()
        .await
        .with_context(|| format!("running {}", plan.kubectl_path().display()))?;
    if !status.success() {
        bail!("kubectl port-forward ended: {status}");
    }
    Ok(())
}
