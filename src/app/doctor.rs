//! `doctor`: gathers what [`crate::doctor`] judges (the engine, the node
//! image, the download sites, this machine) and prints the findings.

use anyhow::Result;

use super::exit::Exit;
use super::images::{node_arch, resolve_version};
use crate::artifacts::auto;
use crate::doctor::{self, EngineFacts, Facts, Sources, Verdict};
use crate::engine::{Docker, Engine};
use crate::images::node as node_image;
use crate::output;
use crate::settings::{ImageSourceSetting, KubernetesSource, KubernetesSourceSetting, Settings};
use crate::ui::Ui;

pub async fn doctor(settings: &Settings, ui: &Ui) -> Result<Exit> {
    let engine = Docker::connect_with(&settings.ssh_options).await;
    let facts = gather(settings, ui, engine.as_ref().map_err(|e| e as _)).await;
    let findings = doctor::judge(&facts);
    for f in &findings {
        output::line(format!(
            "{:<8} {}: {}",
            f.verdict.label(),
            f.topic,
            f.detail
        ))?;
        if let Some(fix) = &f.fix {
            output::line(format!("{:<8}   → {fix}", ""))?;
        }
    }
    Ok(if findings.iter().any(|f| f.verdict == Verdict::Problem) {
        Exit::Problems
    } else {
        Exit::Success
    })
}

async fn gather<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: std::result::Result<&E, &(dyn std::error::Error + Send + Sync + 'static)>,
) -> Facts {
    let version = resolve_version(settings, ui).await;
    let arch = match engine {
        Ok(e) => node_arch(settings, e.info()),
        Err(_) => settings
            .arch
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| crate::engine::go_arch(std::env::consts::ARCH)),
    };
    let engine_facts = match engine {
        Ok(e) => {
            let node_image = match &version {
                Ok(v) => {
                    let reference = node_image::node_image_reference(&v.to_string(), &arch);
                    let present = matches!(node_image::facts(e, &reference).await, Ok(Some(_)));
                    Some((reference, present))
                }
                Err(_) => None,
            };
            Ok(EngineFacts {
                describe: e.endpoint().describe(),
                info: e.info().clone(),
                node_image,
            })
        }
        Err(why) => Err(crate::error::chain(why)),
    };
    let data_root = match engine {
        Ok(e) if !e.endpoint().is_remote() && !e.info().data_root.is_empty() => {
            Some(std::path::PathBuf::from(&e.info().data_root))
        }
        _ => None,
    };
    // Asked as every build asks it.
    let go = crate::artifacts::gomod::go_version(ui)
        .await
        .map_err(|e| crate::error::chain(&e));
    let sources = match &version {
        Ok(v) => Some(sources(settings, v, &arch).await),
        Err(_) => None,
    };
    Facts {
        engine: engine_facts,
        sources,
        version_error: version.err().map(|e| crate::error::chain(e.as_ref())),
        host: doctor::host::gather(&settings.cache_dir, data_root.as_deref(), go).await,
        cni_plugin: settings.cni_plugin,
    }
}

/// The release site and the registry, asked as `up`'s `auto` asks them.
async fn sources(
    settings: &Settings,
    version: &crate::settings::KubeVersion,
    arch: &str,
) -> Sources {
    let choice = auto::kubernetes_source(
        settings.kubernetes_source,
        &settings.release_url,
        version,
        arch,
    )
    .await;
    let release_site = (settings.kubernetes_source == KubernetesSourceSetting::Auto).then(|| {
        let answer = match choice.source {
            KubernetesSource::Release => Ok(()),
            _ => Err(choice.why.trim_start_matches("auto: ").to_string()),
        };
        (settings.release_url.clone(), answer)
    });
    let registry = if settings.image_source == ImageSourceSetting::Auto {
        let pause = format!("{}/pause", settings.image_repository);
        Some((
            settings.image_repository.clone(),
            auto::registry_answers(&pause).await,
        ))
    } else {
        None
    };
    Sources {
        version: version.to_string(),
        release_site,
        registry,
        builds_kubernetes: choice.source == KubernetesSource::GoModule,
    }
}
