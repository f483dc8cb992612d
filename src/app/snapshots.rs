//! `snapshot save | restore | list | rm NAME`, the changing ones under the
//! cluster's lock.

use anyhow::Result;

use super::images::versions;
use super::up::{node_image_for, up_locked};
use super::{connect, lock_cluster, plan_without_version};
use crate::cluster::state::plan::ClusterPlan;
use crate::cluster::state::snapshot::SnapshotFields;
use crate::cluster::steps::named;
use crate::cluster::Ctx;
use crate::engine::Engine;
use crate::ops::snapshots::{self, say_date, say_size};
use crate::output;
use crate::settings::Settings;
use crate::ui::Ui;

pub async fn save(settings: &Settings, ui: &Ui, name: &str) -> Result<()> {
    named::check_name(name)?;
    save_on(settings, ui, &connect(settings, ui).await?, name).await
}

pub(super) async fn save_on<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
    name: &str,
) -> Result<()> {
    let _lock = lock_cluster(settings, ui, engine, "snapshot save").await?;
    let plan = plan_without_version(settings);
    snapshots::save(Ctx::new(engine, &plan, ui), name).await?;
    Ok(())
}

pub async fn restore(settings: &Settings, ui: &Ui, name: &str) -> Result<()> {
    named::check_name(name)?;
    restore_on(settings, ui, &connect(settings, ui).await?, name).await
}

/// Refused before anything changes when the snapshot is unknown, damaged
/// or for other settings than `up` would use now; otherwise the cluster is
/// replaced by it and `up` restores it.
pub(super) async fn restore_on<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
    name: &str,
) -> Result<()> {
    let _lock = lock_cluster(settings, ui, engine, "snapshot restore").await?;
    let versions = versions(settings, ui).await?;
    let plan = ClusterPlan::new(settings, versions.cluster());
    let image = node_image_for(settings, ui, engine, &plan, &versions).await?;
    let wanted = SnapshotFields::of(&plan, &image.id);
    snapshots::prepare_restore(Ctx::new(engine, &plan, ui), name, &wanted).await?;
    up_locked(settings, ui, engine).await
}

pub async fn list(settings: &Settings, ui: &Ui) -> Result<()> {
    let engine = connect(settings, ui).await?;
    for line in list_lines(settings, ui, &engine).await? {
        output::line(line)?;
    }
    Ok(())
}

/// One line per snapshot under a heading; a line saying there is none.
pub(super) async fn list_lines<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
) -> Result<Vec<String>> {
    let plan = plan_without_version(settings);
    let all = named::list(Ctx::new(engine, &plan, ui)).await?;
    if all.is_empty() {
        return Ok(vec![format!(
            "cluster {} has no named snapshots (`local-cluster snapshot save NAME{}` makes one)",
            plan.name,
            plan.cluster_flag()
        )]);
    }
    let mut lines = vec![format!(
        "{:<20} {:<20} {:>9}  {:<9} {:>5}  SETTINGS",
        "NAME", "SAVED", "SIZE", "VERSION", "NODES"
    )];
    for s in all {
        let (version, nodes, settings_text) = match &s.fields {
            Some(f) => (
                f.kubernetes_version.clone(),
                (f.num_nodes + 1).to_string(),
                format!(
                    "{} pod network, {}{}",
                    f.cni_plugin,
                    if f.addons.is_empty() {
                        "no addons".to_string()
                    } else {
                        format!("addons {}", addons_text(&f.addons))
                    },
                    if f.dind_subnet.is_empty() {
                        String::new()
                    } else {
                        format!(", subnet {}", f.dind_subnet)
                    }
                ),
            ),
            None => ("?".to_string(), "?".to_string(), String::new()),
        };
        let settings_text = match &s.damage {
            Some(why) => format!("DAMAGED: {why}"),
            None => settings_text,
        };
        lines.push(format!(
            "{:<20} {:<20} {:>9}  {:<9} {:>5}  {settings_text}",
            s.name,
            say_date(s.saved_at),
            say_size(s.var_bytes),
            version,
            nodes,
        ));
    }
    Ok(lines)
}

pub async fn remove(settings: &Settings, ui: &Ui, name: &str) -> Result<()> {
    named::check_name(name)?;
    let engine = connect(settings, ui).await?;
    let _lock = lock_cluster(settings, ui, &engine, "snapshot rm").await?;
    let plan = plan_without_version(settings);
    snapshots::remove(Ctx::new(&engine, &plan, ui), name).await?;
    Ok(())
}

/// The addons as a snapshot records them (`Named(LocalPath),Url("…")`),
/// as the settings name them (`local-path, …`).
fn addons_text(recorded: &str) -> String {
    recorded
        .split(',')
        .map(|item| {
            match item
                .strip_prefix("Named(")
                .and_then(|i| i.strip_suffix(')'))
            {
                Some(camel) => {
                    let mut kebab = String::new();
                    for (i, c) in camel.chars().enumerate() {
                        if c.is_ascii_uppercase() && i > 0 {
                            kebab.push('-');
                        }
                        kebab.push(c.to_ascii_lowercase());
                    }
                    kebab
                }
                None => ["Url(\"", "File(\""]
                    .iter()
                    .find_map(|p| item.strip_prefix(p).and_then(|i| i.strip_suffix("\")")))
                    .unwrap_or(item)
                    .to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn recorded_addons_read_as_the_settings_name_them() {
        assert_eq!(
            super::addons_text("Named(LocalPath),Named(Dashboard)"),
            "local-path, dashboard"
        );
        assert_eq!(
            super::addons_text("Url(\"https://x/y.yaml\"),File(\"/a.yaml\")"),
            "https://x/y.yaml, /a.yaml"
        );
    }
}
