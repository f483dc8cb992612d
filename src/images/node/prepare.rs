//! Before the long steps of a node image build: where the Kubernetes binaries
//! come from, and whether this machine has what the build will need (a
//! cross compiler, room on its disks). A build that cannot finish is
//! refused here, with what to do, not after its long steps.

use std::path::PathBuf;

use super::{Build, KubernetesContent};
use crate::artifacts::{auto, BinaryPlan};
use crate::engine::Engine;
use crate::images::{room, ImageError, Result};
use crate::settings::{ImageSource, KubernetesSource};

/// What the checks decided, for the build's steps.
pub(super) struct Prepared {
    /// The binaries' plan with `auto` resolved.
    pub binaries: BinaryPlan,
    /// The binaries step's title, saying where they come from and why.
    pub title: String,
    /// Where etcd, CoreDNS and pause come from.
    pub image_source: ImageSource,
}

impl<E: Engine> Build<'_, E> {
    /// Decide the sources, then check what the build needs. `force`: the
    /// image is built again even if the engine has one.
    pub(super) async fn prepare(&self, k8s: &KubernetesContent, force: bool) -> Result<Prepared> {
        let mut binaries = k8s.binaries.clone();
        let mut title = format!("Getting Kubernetes {} binaries", binaries.version);
        if binaries.needs_source() {
            let choice = auto::kubernetes_source(
                binaries.source,
                &binaries.release_url,
                &binaries.version,
                &binaries.arch,
            )
            .await;
            title.push_str(&match choice.source {
                KubernetesSource::Release => {
                    format!(" from {} ({})", binaries.release_url, choice.why)
                }
                KubernetesSource::GoModule => format!(
                    " by building the Go module k8s.io/kubernetes ({})",
                    choice.why
                ),
            });
            binaries.source = choice.source.into();
        }
        // The repository's own images (etcd, CoreDNS, pause) decide.
        let pause = format!("{}/pause", k8s.image_repository);
        let image_source = self.context.source_of(&pause).await;
        if image_source == ImageSource::Build {
            crate::images::foreign::check_c_compiler(
                self.context.arch,
                std::env::var_os("PATH").as_deref(),
            )?;
        }
        let go_builds = image_source == ImageSource::Build
            || binaries.tree.is_some()
            || (binaries.needs_source()
                && binaries.source == crate::settings::KubernetesSourceSetting::GoModule);
        if force || self.first_of_its_version(&binaries).await? {
            self.check_room(go_builds).await?;
        }
        Ok(Prepared {
            binaries,
            title,
            image_source,
        })
    }

    /// Is there no node image of this version and architecture yet? Then
    /// this build writes everything from nothing.
    async fn first_of_its_version(&self, binaries: &BinaryPlan) -> Result<bool> {
        let reference =
            super::node_image_reference(&binaries.version.to_string(), self.context.arch);
        Ok(super::inspect(self.context.engine, &reference)
            .await?
            .is_none())
    }

    /// Refuse when the disks that will hold the build are short of room.
    async fn check_room(&self, go_builds: bool) -> Result<()> {
        let go_caches = if go_builds {
            // No Go here is said by the build that needs it.
            crate::artifacts::gomod::go_env(self.context.ui, &["GOCACHE", "GOMODCACHE"])
                .await
                .ok()
                .map(|c| (PathBuf::from(&c[0]), PathBuf::from(&c[1])))
        } else {
            None
        };
        let engine = self.context.engine;
        let data_root = (!engine.endpoint().is_remote() && !engine.info().data_root.is_empty())
            .then(|| PathBuf::from(&engine.info().data_root));
        let needs = room::needs(
            self.context.cache.root(),
            go_caches.as_ref().map(|(b, m)| (b.as_path(), m.as_path())),
            data_root.as_deref(),
        );
        let judged: Vec<_> = needs
            .into_iter()
            .map(|n| {
                let space = crate::disk::space(&n.path);
                (n, space)
            })
            .collect();
        match room::shortfall(&judged) {
            Some(why) => Err(ImageError::NoRoom(why)),
            None => Ok(()),
        }
    }
}
