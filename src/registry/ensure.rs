//! Making the registry run: its image, network, volume and container made,
//! kept, started or made again as [`decide::action`] says, on a free port
//! when none was asked for.

use super::decide::{self, Action, Existing};
use super::error::{RegistryError, Result};
use super::image::{self, ImagePlan};
use super::mirrors::{configure_nodes, publish, write_mirrors, MIRRORS_FILE};
use super::plan::{existing_container, Registry, RegistryPlan};
use super::DEFAULT_HOST_PORT;
use crate::cluster::steps::network;
use crate::cluster::Ctx;
use crate::engine::{ContainerState, Engine};
use crate::labels::ROLE_REGISTRY_DATA;

/// Start the cluster's registry if needed (making its image, network,
/// volume and container), on `port` or, when None, on the port it has (a
/// new one on [`DEFAULT_HOST_PORT`]); then configure every running node
/// and publish the address in the cluster.
pub async fn ensure<E: Engine>(
    cx: Ctx<'_, E>,
    port: Option<u16>,
    image: &ImagePlan<'_>,
) -> Result<Registry> {
    let plan = RegistryPlan::new(cx.plan, port);
    plan.check_address(cx.plan)?;
    let existing = existing_container(cx).await?;
    let state = existing
        .as_ref()
        .map(|c| Existing::from_labels(c.state == ContainerState::Running, &c.image, &c.labels));
    let action = decide::action(state.as_ref(), plan.port, &plan.subnet.to_string());
    let reference = match (&action, &state) {
        (Action::Create { .. }, _) | (Action::Recreate { .. }, None) => {
            Some(image::ensure(cx.engine, cx.ui, image).await?)
        }
        (Action::Recreate { .. }, Some(s)) => Some(s.image.clone()),
        _ => None,
    };
    let registry = match carry_out(cx, &plan, &action, reference.as_deref()).await {
        // No port was asked for and another cluster's registry (or another
        // program) has the default one: the next free port will do.
        Err(RegistryError::PortTaken { .. })
            if plan.port.is_none() && matches!(action, Action::Create { .. }) =>
        {
            next_free_port(cx, &plan, reference.as_deref()).await?
        }
        other => other?,
    };
    configure_nodes(cx, &registry).await?;
    publish(cx, &registry).await?;
    Ok(registry)
}

/// Make the registry on the first free port after the default one.
async fn next_free_port<E: Engine>(
    cx: Ctx<'_, E>,
    plan: &RegistryPlan,
    image: Option<&str>,
) -> Result<Registry> {
    let mut last = None;
    for port in DEFAULT_HOST_PORT + 1..=DEFAULT_HOST_PORT + 50 {
        match carry_out(cx, plan, &Action::Create { port }, image).await {
            Err(e @ RegistryError::PortTaken { .. }) => last = Some(e),
            other => return other,
        }
    }
    Err(last.expect("at least one port was tried"))
}

/// Do what [`decide::action`] said. `image` is needed to make a container.
pub(super) async fn carry_out<E: Engine>(
    cx: Ctx<'_, E>,
    plan: &RegistryPlan,
    action: &Action,
    image: Option<&str>,
) -> Result<Registry> {
    let engine = cx.engine;
    let port = action.port();
    match action {
        Action::Keep { .. } => {}
        Action::Start { .. } => {
            cx.ui
                .note(format!("starting the stopped registry {}", plan.container));
            start(cx, plan, port).await?;
        }
        Action::Create { .. } | Action::Recreate { .. } => {
            if let Action::Recreate { why, .. } = action {
                cx.ui.note(format!(
                    "making the registry container {} again: {why} (its images stay)",
                    plan.container
                ));
                engine.remove_container(&plan.container).await?;
            } else {
                // A leftover of another tool, or of a half-made registry.
                engine.remove_container(&plan.container).await?;
            }
            network::ensure(cx).await?;
            if !engine.volume_exists(&plan.volume).await? {
                engine
                    .create_volume(&plan.volume, &plan.labels(ROLE_REGISTRY_DATA))
                    .await?;
            }
            let image = image.expect("an image is given to make a container");
            engine
                .create_container(&plan.container_spec(image, port))
                .await
                .map_err(|source| RegistryError::Start {
                    container: plan.container.clone(),
                    source,
                })?;
            start(cx, plan, port).await?;
            // The list of mirrors outlives containers, in the volume.
            if engine
                .read_file(&plan.container, MIRRORS_FILE)
                .await
                .is_err()
            {
                write_mirrors(cx, &plan.container, &[]).await?;
            }
        }
    }
    Ok(Registry {
        container: plan.container.clone(),
        host_port: port,
        ip: plan.ip,
        running: true,
    })
}

async fn start<E: Engine>(cx: Ctx<'_, E>, plan: &RegistryPlan, port: u16) -> Result<()> {
    cx.engine
        .start_container(&plan.container)
        .await
        .map_err(|source| {
            if source.is_port_in_use() {
                RegistryError::PortTaken { port, source }
            } else {
                RegistryError::Start {
                    container: plan.container.clone(),
                    source,
                }
            }
        })
}
