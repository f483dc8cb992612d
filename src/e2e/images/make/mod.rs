//! Making each kind of image from layers of the e2e Debian system, binaries
//! built from Go modules, and files from Kubernetes' `test/images`.
//!
//! Layers, shared where the content is the same (stored once by the engine):
//! - `busybox`: busybox-static and a link per applet. Under nginx,
//!   nonewprivs and sample-apiserver (whose upstream images are Alpine, which
//!   is busybox too). The busybox image itself is upstream's busybox built
//!   from source instead ([`super::busybox`] says why).
//! - `tools`: the shell tools, DNS tools and network tools the tests run in
//!   agnhost pods, with busybox applets for any other command. Under agnhost,
//!   nautilus, kitten and the DNS test image.
//! - `nginx`: nginx and its libraries.
//!
//! and on top one small layer per image: users, name service configuration,
//! CA bundle, `/etc/os-release`, the image's own files.

use std::collections::BTreeMap;
use std::path::PathBuf;

mod files;

use super::plan::Kind;
use super::Inputs;
use crate::artifacts::cache::Entry;
use crate::artifacts::gomod::{self, GoModuleBuild};
use crate::artifacts::Binaries;
use crate::engine::{Engine, ImageConfig};
use crate::images::archive::ImageSpec;
use crate::images::components::{self, ComponentInputs};
use crate::images::debian::{self, Recipe};
use crate::images::layer::{LayerBlob, LayerBuilder};
use crate::images::MakeError;
use crate::images::{BuildContext, ImageError};
use crate::labels::LABEL_E2E_IMAGE;
use crate::settings::ImageSourceSetting;
use files::*;

type Result<T, E = ImageError> = std::result::Result<T, E>;

/// Makes images in build mode; holds what several images share.
pub(super) struct Maker<'a, E> {
    inputs: &'a Inputs<'a, E>,
    system: Entry,
    /// What `system` is; its suite's busybox source is what the busybox image is built from.
    made_of: debian::System,
    /// k8s.io/kubernetes at the cluster's version: test/images' files.
    module: PathBuf,
    layers: BTreeMap<&'static str, LayerBlob>,
}

impl<'a, E: Engine> Maker<'a, E> {
    pub(super) async fn new(inputs: &'a Inputs<'a, E>) -> Result<Maker<'a, E>, MakeError> {
        let system = debian::System::new(
            E2E_SYSTEM,
            inputs.build.arch,
            inputs.build.debian_mirror,
            &RECIPES,
        );
        let entry = debian::build(inputs.build.ui, &system, inputs.build.cache)
            .await
            .map_err(MakeError::making(
                "the Debian system of the e2e test images",
            ))?;
        let version = inputs.kubernetes_version.to_string();
        let module = gomod::module_dir(inputs.build.ui, "k8s.io/kubernetes", &version)
            .await
            .map_err(MakeError::getting(format!(
                "k8s.io/kubernetes@{version} (the e2e test images' files)"
            )))?;
        Ok(Maker {
            inputs,
            system: entry,
            made_of: system,
            module,
            layers: BTreeMap::new(),
        })
    }

    /// Make the image `reference` of `kind`; returns its archive.
    pub(super) async fn make(&mut self, kind: Kind, reference: &str, tag: &str) -> Result<PathBuf> {
        match kind {
            Kind::Agnhost => {
                let mut contents = self.agnhost_files(tag).await?;
                contents.push(os_release("agnhost", ""));
                let layers = vec![self.layer(&TOOLS).await?];
                self.assemble(reference, layers, contents, agnhost_config())
            }
            Kind::Nautilus | Kind::Kitten => {
                let name = if kind == Kind::Nautilus {
                    "nautilus"
                } else {
                    "kitten"
                };
                // Upstream builds these FROM the current agnhost.
                let agnhost_version = self.module_file("test/images/agnhost/VERSION")?;
                let mut contents = self.agnhost_files(agnhost_version.trim()).await?;
                let html = self.module.join("test/images").join(name).join("html");
                contents.push(Content::file(
                    &format!("{name}.jpg"),
                    0o644,
                    html.join(format!("{name}.jpg")),
                ));
                contents.push(Content::file("data.json", 0o644, html.join("data.json")));
                // The ImageVolume Conformance test (1.35+) mounts kitten and
                // checks that its /etc/os-release says "Alpine Linux", the
                // base of upstream's image; ours says what it stands in for.
                let note = if kind == Kind::Kitten {
                    " standing in for the Alpine Linux based upstream image"
                } else {
                    ""
                };
                contents.push(os_release(name, note));
                let layers = vec![self.layer(&TOOLS).await?];
                let config = ImageConfig {
                    cmd: Some(vec!["test-webserver".to_string()]),
                    ..agnhost_config()
                };
                self.assemble(reference, layers, contents, config)
            }
            Kind::BusyBox => {
                let contents = self.busybox_files().await?;
                let config = ImageConfig {
                    cmd: Some(vec!["sh".to_string()]),
                    ..base_config()
                };
                self.assemble(reference, Vec::new(), contents, config)
            }
            Kind::DnsUtils => {
                let contents = vec![os_release("DNS test", "")];
                let layers = vec![self.layer(&TOOLS).await?];
                let config = ImageConfig {
                    cmd: Some(vec!["sh".to_string()]),
                    ..base_config()
                };
                self.assemble(reference, layers, contents, config)
            }
            Kind::Nginx => {
                let contents = vec![
                    os_release("nginx", ""),
                    Content::data("etc/nginx/nginx.conf", 0o644, NGINX_CONF),
                    Content::data("usr/share/nginx/html/index.html", 0o644, NGINX_INDEX),
                    Content::Dir("var/lib/nginx".into(), 0o755),
                    Content::Dir("var/log/nginx".into(), 0o755),
                ];
                let layers = vec![self.layer(&BUSYBOX).await?, self.layer(&NGINX).await?];
                let config = ImageConfig {
                    cmd: Some(vec!["nginx".into(), "-g".into(), "daemon off;".into()]),
                    stop_signal: Some("SIGQUIT".to_string()),
                    ..base_config()
                };
                self.assemble(reference, layers, contents, config)
            }
            Kind::Nonewprivs => {
                let nnp = self
                    .kubernetes_binary("k8s.io/kubernetes/test/images/nonewprivs", "nnp", "-s -w")
                    .await?;
                let contents = vec![
                    os_release("nonewprivs", ""),
                    // setuid root: the test checks the effective uid it gets.
                    Content::file("usr/local/bin/nnp", 0o4755, nnp),
                ];
                let layers = vec![self.layer(&BUSYBOX).await?];
                let config = ImageConfig {
                    cmd: Some(vec!["nnp".to_string()]),
                    ..base_config()
                };
                self.assemble(reference, layers, contents, config)
            }
            Kind::SampleApiserver => {
                // Published as k8s.io/sample-apiserver v0.<minor>.<patch>.
                let version = gomod::kubernetes_staging_version(
                    "k8s.io/sample-apiserver",
                    &self.inputs.kubernetes_version.to_string(),
                );
                let binary = self
                    .go_build(
                        "k8s.io/sample-apiserver",
                        &version,
                        "k8s.io/sample-apiserver",
                        "sample-apiserver",
                        "-s -w",
                    )
                    .await?;
                let contents = vec![
                    os_release("sample-apiserver", ""),
                    Content::file("sample-apiserver", 0o755, binary),
                ];
                let layers = vec![self.layer(&BUSYBOX).await?];
                let config = ImageConfig {
                    entrypoint: Some(vec!["/sample-apiserver".to_string()]),
                    ..base_config()
                };
                self.assemble(reference, layers, contents, config)
            }
            Kind::Etcd | Kind::Pause => self.component(reference).await,
        }
    }

    /// etcd and pause the way the node image's are made (`components`).
    async fn component(&self, reference: &str) -> Result<PathBuf> {
        let wanted = components::parse_image_list(reference)?;
        let inputs = self.inputs;
        // Only the version is read (pause's source is in Kubernetes' module).
        let binaries = Binaries {
            version: inputs.kubernetes_version.clone(),
            files: BTreeMap::new(),
            origins: BTreeMap::new(),
            source_tree: None,
        };
        let made = components::make_images(
            &wanted,
            &ComponentInputs {
                build: BuildContext {
                    image_source: ImageSourceSetting::Build,
                    ..inputs.build
                },
                // Holds the CA bundle components' shared layer takes.
                base: &self.system,
                binaries: &binaries,
                image_source: crate::settings::ImageSource::Build,
            },
        )
        .await?;
        Ok(made.into_iter().next().expect("one image asked, one made"))
    }

    /// agnhost as upstream's Dockerfile lays it out, minus what needs the
    /// internet (the fake registry's images) or is not Kubernetes' (CoreDNS).
    async fn agnhost_files(&self, version: &str) -> Result<Vec<Content>> {
        let agnhost = self
            .kubernetes_binary(
                "k8s.io/kubernetes/test/images/agnhost",
                "agnhost",
                &format!("-s -w -X main.Version={version}"),
            )
            .await?;
        let porter = self.module.join("test/images/agnhost/porter");
        Ok(vec![
            Content::data("etc/passwd", 0o644, format!("{PASSWD}{AGNHOST_USER}")),
            Content::data("etc/group", 0o644, format!("{GROUP}{AGNHOST_GROUPS}")),
            Content::Dir("home/user-defined-in-image".into(), 0o755),
            Content::file("agnhost", 0o755, agnhost),
            // The entrypoint tests run the image with this name instead.
            Content::Link("agnhost-2".into(), "agnhost".into()),
            // netexec's upload target
            Content::Dir("uploads".into(), 0o755),
            // porter's and the probes' TLS server certificate
            Content::file("localhost.crt", 0o644, porter.join("localhost.crt")),
            Content::file("localhost.key", 0o644, porter.join("localhost.key")),
        ])
    }

    /// Upstream's busybox image: the binary in /bin and a link to it for
    /// every applet, in /bin (where upstream's image has them all) and
    /// where busybox itself would install it.
    async fn busybox_files(&self) -> Result<Vec<Content>> {
        let inputs = self.inputs;
        let built = super::busybox::build(
            inputs.build.ui,
            inputs.build.cache,
            &self.made_of.suite,
            inputs.build.debian_mirror,
            inputs.build.arch,
        )
        .await?;
        let list_path = built.path(super::busybox::APPLETS);
        let list =
            std::fs::read_to_string(&list_path).map_err(ImageError::io("reading", &list_path))?;
        let mut contents = vec![
            os_release("busybox", ""),
            Content::file("bin/busybox", 0o755, built.path(super::busybox::BINARY)),
        ];
        let mut places = std::collections::BTreeSet::new();
        for applet in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let name = applet.rsplit('/').next().unwrap_or(applet);
            places.insert(format!("bin/{name}"));
            places.insert(applet.to_string());
        }
        places.remove("bin/busybox");
        contents.extend(
            places
                .into_iter()
                .map(|p| Content::Link(p, "/bin/busybox".to_string())),
        );
        Ok(contents)
    }

    fn module_file(&self, rel: &str) -> Result<String> {
        let path = self.module.join(rel);
        std::fs::read_to_string(&path).map_err(ImageError::io("reading", &path))
    }

    async fn kubernetes_binary(&self, package: &str, name: &str, ldflags: &str) -> Result<PathBuf> {
        let version = self.inputs.kubernetes_version.to_string();
        self.go_build("k8s.io/kubernetes", &version, package, name, ldflags)
            .await
    }

    async fn go_build(
        &self,
        module: &str,
        version: &str,
        package: &str,
        name: &str,
        ldflags: &str,
    ) -> Result<PathBuf> {
        let built = GoModuleBuild {
            module: module.to_string(),
            version: version.to_string(),
            binaries: vec![(package.to_string(), name.to_string())],
            ldflags: ldflags.to_string(),
            tags: vec![],
            arch: self.inputs.build.arch.to_string(),
            sibling_version: gomod::kubernetes_staging_version,
        }
        .build(
            self.inputs.build.ui,
            self.inputs.build.cache,
            &format!("{name} {version}"),
        )
        .await?;
        Ok(built.path("bin").join(name))
    }

    /// The layer for `recipe`, cut once (off the async threads: it reads
    /// and compresses tens of megabytes).
    async fn layer(&mut self, recipe: &Recipe) -> Result<LayerBlob> {
        if let Some(blob) = self.layers.get(recipe.name) {
            return Ok(blob.clone());
        }
        let (cache, entry, system, owned) = (
            self.inputs.build.cache.clone(),
            self.system.clone(),
            self.made_of.clone(),
            *recipe,
        );
        let blob =
            tokio::task::spawn_blocking(move || debian::layer(&cache, &entry, &system, &owned))
                .await
                .expect("layer task panicked")?;
        self.layers.insert(recipe.name, blob.clone());
        Ok(blob)
    }

    /// The archive of `layers` plus a top layer of the shared files and
    /// `contents` (which override them); cached by all of it.
    fn assemble(
        &self,
        reference: &str,
        mut layers: Vec<LayerBlob>,
        contents: Vec<Content>,
        mut config: ImageConfig,
    ) -> Result<PathBuf> {
        let arch = self.inputs.build.arch;
        config
            .labels
            .insert(LABEL_E2E_IMAGE.to_string(), reference.to_string());
        let mut top = self.shared_files()?;
        // Later entries with the same path win.
        let mut seen = std::collections::BTreeSet::new();
        let mut all: Vec<Content> = contents.into_iter().chain(top.drain(..)).collect();
        all.retain(|c| {
            let path = match c {
                Content::Dir(p, _)
                | Content::Data(p, _, _)
                | Content::File(p, _, _)
                | Content::Link(p, _) => p,
            };
            seen.insert(path.clone())
        });
        let mut key = components::archive_key(reference, arch, &config, &layers);
        for content in &all {
            key = key.with("content", content.identity()?);
        }
        let (repository, tag) = crate::engine::split_reference(reference);
        let short = repository.rsplit('/').next().unwrap_or(repository);
        let entry =
            self.inputs
                .build
                .cache
                .entry("images", &format!("e2e-{short}-{tag}-{arch}"), &key);
        let archive = entry.path("image.tar");
        if entry.is_complete() {
            return Ok(archive);
        }
        let staging = entry
            .stage()
            .map_err(ImageError::io("creating", entry.dir()))?;
        let top_path = staging.path("top.tar.gz");
        let io = ImageError::io("writing a layer in", staging.dir());
        let blob = (|| {
            let mut layer = LayerBuilder::create(&top_path)?;
            // Directories first, so files' parents keep the given modes.
            for c in all.iter().filter(|c| matches!(c, Content::Dir(..))) {
                c.write(&mut layer)?;
            }
            for c in all.iter().filter(|c| !matches!(c, Content::Dir(..))) {
                c.write(&mut layer)?;
            }
            layer.finish()
        })()
        .map_err(io)?;
        layers.push(blob);
        let spec = ImageSpec {
            references: vec![reference.to_string()],
            arch: arch.to_string(),
            config,
            layers,
        };
        let out = staging.path("image.tar");
        spec.write_archive(&out)
            .map_err(ImageError::io("writing", &out))?;
        let _ = std::fs::remove_file(&top_path);
        staging
            .commit(&key)
            .map_err(ImageError::io("completing", entry.dir()))?;
        Ok(archive)
    }

    /// Files every image has (an image's own contents override them).
    fn shared_files(&self) -> Result<Vec<Content>> {
        let bundle = self.system.path(debian::CA_BUNDLE);
        Ok(vec![
            Content::data("etc/passwd", 0o644, PASSWD),
            Content::data("etc/group", 0o644, GROUP),
            Content::data(
                "etc/nsswitch.conf",
                0o644,
                "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n",
            ),
            Content::file("etc/ssl/certs/ca-certificates.crt", 0o644, bundle),
            Content::Dir("root".into(), 0o700),
            Content::Dir("tmp".into(), 0o1777),
            Content::Dir("var/tmp".into(), 0o1777),
            Content::Dir("run".into(), 0o755),
            Content::Link("var/run".into(), "/run".into()),
        ])
    }
}

#[cfg(test)]
mod tests;
