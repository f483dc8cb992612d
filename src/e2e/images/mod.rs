//! The images the Conformance tests run, made without a container registry.
//!
//! `e2e.test --list-images` prints every image of the test binary's manifest
//! (`test/utils/image/manifest.go`); [`prepare`] decides for each one
//! ([`plan`]) and makes those the Conformance tests run, as `docker save`
//! archives under the exact references the tests use:
//!
//! | image | made of |
//! |---|---|
//! | agnhost (current and previous tag) | `test/images/agnhost` built from k8s.io/kubernetes at the cluster's version with `main.Version` = the tag; upstream's layout (`/agnhost`, `/agnhost-2`, `/uploads`, porter's certificate, user 1000 in group 50000); Debian's bash, coreutils, dig, getent, curl, wget, nc, ip, ss, socat, iperf and busybox for the rest |
//! | nautilus, kitten | agnhost plus `test/images/{nautilus,kitten}/html` |
//! | glibc-dns-testing (jessie-dnsutils before 1.36) | the same tools: dig, getent, sh on glibc |
//! | busybox | upstream's busybox built from Debian's source of it, a link per applet in /bin |
//! | nginx | Debian's nginx on port 80 in the foreground, over busybox |
//! | nonewprivs | `test/images/nonewprivs` as setuid-root `/usr/local/bin/nnp`, over busybox |
//! | sample-apiserver | k8s.io/sample-apiserver v0.<minor>.<patch>, over busybox |
//! | etcd, pause | skipped when the node image holds that reference; else as `images::components` makes them |
//!
//! Every other image of the list is skipped with the reason.
//!
//! With `imageSource: build` the Debian files come from one debootstrap
//! (cached, see [`debian`](crate::images::debian)) and the binaries from Go module builds (cached);
//! each archive is cached by everything it is made of, so a second `prepare`
//! only checks the cache. With `imageSource: registry` each image is pulled
//! through the engine and saved.
//!
//! Differences from upstream's images, all on purpose: Debian instead of
//! Alpine, so the DNS test's "musl" prober runs glibc's resolver too; agnhost
//! has no fake-registry content (it is fetched from the internet when
//! upstream builds it) and no CoreDNS binary (only non-Conformance DNS tests
//! run it); kitten's `/etc/os-release` mentions "Alpine Linux", which the
//! ImageVolume Conformance test looks for.

mod busybox;
mod make;
mod plan;

use std::path::PathBuf;

use plan::Decision;

use crate::engine::{Engine, EngineError, Images};
use crate::images::{components, BuildContext, MakeError};
use crate::labels::LABEL_PRELOADED;
use crate::settings::{ImageSource, KubeVersion};

/// What [`prepare`] works with.
pub struct Inputs<'a, E> {
    pub build: BuildContext<'a, E>,
    /// The cluster's version: agnhost, nonewprivs and sample-apiserver are
    /// built from its Go modules.
    pub kubernetes_version: &'a KubeVersion,
    /// References the node image already holds ([`node_image_preloads`]).
    pub node_images: &'a [String],
}

/// A `docker save` archive holding these references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    pub references: Vec<String>,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prepared {
    pub archives: Vec<Archive>,
    /// (reference, why it is not made)
    pub skipped: Vec<(String, String)>,
}

/// Make (or take from the cache) every image of `wanted` the Conformance
/// tests run; say why the others are skipped.
pub async fn prepare<E: Engine>(
    inputs: &Inputs<'_, E>,
    wanted: &[String],
) -> Result<Prepared, MakeError> {
    let planned = plan::plan(wanted, inputs.node_images);
    let mut prepared = Prepared::default();
    let mut to_make = Vec::new();
    for p in planned {
        match p.decision {
            Decision::Make(kind) => to_make.push((kind, p.reference, p.tag)),
            Decision::Skip(why) => prepared.skipped.push((p.reference, why)),
        }
    }
    if to_make.is_empty() {
        return Ok(prepared);
    }
    let total = to_make.len();
    let ui = inputs.build.ui;
    let source = inputs.build.source_of(&to_make[0].1).await;
    match source {
        ImageSource::Registry => {
            for (i, (_, reference, _)) in to_make.into_iter().enumerate() {
                let step = ui.step(format!("Pulling test image {}/{total}: {reference}", i + 1));
                let path = components::pull_and_save(
                    inputs.build.engine,
                    ui,
                    inputs.build.cache,
                    &reference,
                )
                .await
                .map_err(MakeError::making(&reference))?;
                step.done();
                prepared.archives.push(Archive {
                    references: vec![reference],
                    path,
                });
            }
        }
        ImageSource::Build => {
            // One step: when everything is cached it takes a moment and
            // should not print a line per image.
            let step = ui.step(format!(
                "Making {total} test images (or taking them from the cache)"
            ));
            let mut maker = make::Maker::new(inputs).await?;
            for (i, (kind, reference, tag)) in to_make.into_iter().enumerate() {
                step.progress(format!("{}/{total}: {reference}", i + 1));
                let path = maker
                    .make(kind, &reference, &tag)
                    .await
                    .map_err(MakeError::making(&reference))?;
                prepared.archives.push(Archive {
                    references: vec![reference],
                    path,
                });
            }
            step.done();
        }
    }
    Ok(prepared)
}

/// The references a node image holds already, from its label; empty when
/// the engine does not have the image.
pub async fn node_image_preloads<E: Images>(
    engine: &E,
    node_image: &str,
) -> Result<Vec<String>, EngineError> {
    Ok(engine
        .inspect_image(node_image)
        .await?
        .and_then(|details| details.labels.get(LABEL_PRELOADED).cloned())
        .map(|list| {
            list.split(',')
                .filter(|r| !r.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::cache::Cache;
    use crate::engine::fake::FakeEngine;
    use crate::settings::ImageSourceSetting;
    use crate::ui::{Event, Ui};

    const LIST: &str = include_str!("testdata/list-images-v1.37.2.txt");

    fn wanted() -> Vec<String> {
        LIST.lines().map(String::from).collect()
    }

    /// The engine holds every image the Conformance tests run, and the node
    /// image with its preloaded list.
    fn engine_with_images(missing: &str) -> FakeEngine {
        let fake = FakeEngine::new();
        for p in plan::plan(&wanted(), &[]) {
            if matches!(p.decision, Decision::Make(_)) && p.reference != missing {
                fake.add_image(&[&p.reference], &[], Default::default());
            }
        }
        fake.add_image(
            &["kubeadm-local-cluster/node:v1.37.2-amd64"],
            &[(
                LABEL_PRELOADED,
                "registry.k8s.io/kube-apiserver:v1.37.2,registry.k8s.io/etcd:3.7.0-0,registry.k8s.io/pause:3.10.2",
            )],
            Default::default(),
        );
        fake
    }

    #[tokio::test]
    async fn registry_mode_saves_each_image_and_skips_what_the_node_holds() {
        let fake = engine_with_images("");
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let ui = Ui::recording(1);
        let version: KubeVersion = "v1.37.2".parse().unwrap();
        let node_images = node_image_preloads(&fake, "kubeadm-local-cluster/node:v1.37.2-amd64")
            .await
            .unwrap();
        assert_eq!(node_images.len(), 3);
        let inputs = Inputs {
            build: BuildContext {
                engine: &fake,
                ui: &ui,
                cache: &cache,
                arch: "amd64",
                image_source: ImageSourceSetting::Registry,
                debian_mirror: "http://deb.debian.org/debian",
            },
            kubernetes_version: &version,
            node_images: &node_images,
        };
        let prepared = prepare(&inputs, &wanted()).await.unwrap();
        assert_eq!(prepared.archives.len(), 11);
        assert_eq!(prepared.skipped.len(), 41 - 11);
        assert!(prepared.skipped.contains(&(
            "registry.k8s.io/etcd:3.7.0-0".into(),
            "in the node image".into()
        )));
        let agnhost = prepared
            .archives
            .iter()
            .find(|a| a.references == ["registry.k8s.io/e2e-test-images/agnhost:2.66.1"])
            .unwrap();
        // The fake engine's `save` names what it saved.
        assert_eq!(
            std::fs::read_to_string(&agnhost.path).unwrap(),
            "images registry.k8s.io/e2e-test-images/agnhost:2.66.1"
        );
        let steps: Vec<String> = ui
            .events()
            .into_iter()
            .filter_map(|e| match e {
                Event::StepDone(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(steps.len(), 11);
        assert_eq!(
            steps[0],
            "Pulling test image 1/11: registry.k8s.io/e2e-test-images/agnhost:2.55"
        );
        // A second run saves nothing again.
        let saves = |f: &FakeEngine| {
            f.calls()
                .iter()
                .filter(|c| c.starts_with("save_images"))
                .count()
        };
        assert_eq!(saves(&fake), 11);
        let again = prepare(&inputs, &wanted()).await.unwrap();
        assert_eq!(again, prepared);
        assert_eq!(saves(&fake), 11);
    }

    #[tokio::test]
    async fn a_failed_pull_names_the_image() {
        let missing = "registry.k8s.io/e2e-test-images/nginx:1.28.0-2";
        let fake = engine_with_images(missing);
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let ui = Ui::recording(1);
        let version: KubeVersion = "v1.37.2".parse().unwrap();
        let inputs = Inputs {
            build: BuildContext {
                engine: &fake,
                ui: &ui,
                cache: &cache,
                arch: "amd64",
                image_source: ImageSourceSetting::Registry,
                debian_mirror: "http://deb.debian.org/debian",
            },
            kubernetes_version: &version,
            node_images: &[],
        };
        let err = prepare(&inputs, &wanted()).await.unwrap_err();
        let text = crate::error::chain(&err);
        assert!(
            text.starts_with(&format!("making image {missing}")),
            "{text}"
        );
        assert!(
            text.contains(&format!("pulling {missing} failed")),
            "{text}"
        );
        assert!(ui.events().contains(&Event::StepFailed(format!(
            "Pulling test image 9/13: {missing}"
        ))));
    }
}
