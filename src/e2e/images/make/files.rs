//! What the test images are made of: the Debian packages of each shared
//! layer (recipes), the entries of an image's own top layer ([`Content`]),
//! the image configurations and the small files written into them.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::Result;
use crate::artifacts::cache;
use crate::engine::ImageConfig;
use crate::images::debian::{Purpose, Recipe, NOT_NEEDED};
use crate::images::layer::LayerBuilder;
use crate::images::ImageError;
use crate::labels::LABEL_ASSEMBLED;

pub(super) const E2E_SYSTEM: Purpose = Purpose {
    name: "e2e",
    images: "the e2e test images",
    as_root: "sudo local-cluster e2e",
};

pub(super) const BUSYBOX: Recipe = Recipe {
    name: "busybox",
    packages: &["busybox-static"],
    skip: NOT_NEEDED,
    busybox_fill: true,
};

pub(super) const TOOLS: Recipe = Recipe {
    name: "tools",
    packages: &[
        "bash",
        "dash",
        "coreutils",
        "grep",
        "sed",
        "mawk",
        "findutils",
        "procps",
        "util-linux",
        "mount",
        "hostname",
        "iproute2",
        "curl",
        "wget",
        "netcat-openbsd",
        "socat",
        "iperf",
        "bind9-dnsutils",
        "libc-bin",
    ],
    skip: NOT_NEEDED,
    busybox_fill: true,
};

pub(super) const NGINX: Recipe = Recipe {
    name: "nginx",
    packages: &["nginx"],
    // nginx's package wants `ip` for its init script only.
    skip: &[
        "debconf",
        "dpkg",
        "perl-base",
        "init-system-helpers",
        "iproute2",
        "lsb-base",
        "sensible-utils",
    ],
    busybox_fill: false,
};

/// Every layer cut from the Debian system: what it installs.
pub(super) const RECIPES: [&Recipe; 3] = [&BUSYBOX, &TOOLS, &NGINX];

pub(super) const PATH_ENV: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One entry of an image's top layer.
#[derive(Debug, Clone)]
pub(super) enum Content {
    Dir(String, u32),
    Data(String, u32, Vec<u8>),
    File(String, u32, PathBuf),
    Link(String, String),
}

impl Content {
    pub(super) fn data(path: &str, mode: u32, data: impl Into<Vec<u8>>) -> Content {
        Content::Data(path.to_string(), mode, data.into())
    }

    pub(super) fn file(path: &str, mode: u32, source: PathBuf) -> Content {
        Content::File(path.to_string(), mode, source)
    }

    /// What identifies this entry in a cache key.
    pub(super) fn identity(&self) -> Result<String> {
        Ok(match self {
            Content::Dir(p, m) => format!("dir {p} {m:o}"),
            Content::Data(p, m, d) => format!("data {p} {m:o} {}", hex::encode(Sha256::digest(d))),
            Content::File(p, m, s) => format!(
                "file {p} {m:o} {}",
                cache::file_identity(s).map_err(ImageError::io("reading", s))?
            ),
            Content::Link(p, t) => format!("link {p} {t}"),
        })
    }

    pub(super) fn write(&self, layer: &mut LayerBuilder) -> std::io::Result<()> {
        match self {
            Content::Dir(p, m) => layer.dir(p, *m),
            Content::Data(p, m, d) => layer.file(p, *m, d),
            Content::File(p, m, s) => layer.file_from(p, *m, s),
            Content::Link(p, t) => layer.symlink(p, t),
        }
    }
}

pub(super) fn base_config() -> ImageConfig {
    ImageConfig {
        env: vec![PATH_ENV.to_string()],
        labels: [(LABEL_ASSEMBLED.to_string(), "true".to_string())].into(),
        ..Default::default()
    }
}

pub(super) fn agnhost_config() -> ImageConfig {
    ImageConfig {
        entrypoint: Some(vec!["/agnhost".to_string()]),
        cmd: Some(vec!["pause".to_string()]),
        ..base_config()
    }
}

pub(super) fn os_release(name: &str, note: &str) -> Content {
    Content::data(
        "etc/os-release",
        0o644,
        format!(
            "NAME=\"{name} e2e test image\"\nID=kubeadm-local-cluster-e2e\n\
             PRETTY_NAME=\"{name} e2e test image from Debian packages{note}\"\n\
             HOME_URL=\"https://github.com/kubernetes/kubernetes/tree/master/test/images\"\n"
        ),
    )
}

pub(super) const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n\
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
pub(super) const GROUP: &str = "root:x:0:\ndaemon:x:1:\nwww-data:x:33:\nnogroup:x:65534:\n";
/// agnhost's user and group for the SupplementalGroups tests (upstream's
/// Dockerfile: `adduser -u 1000 user-defined-in-image`, group 50000).
pub(super) const AGNHOST_USER: &str =
    "user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\n";
pub(super) const AGNHOST_GROUPS: &str =
    "user-defined-in-image:x:1000:\ngroup-defined-in-image:x:50000:user-defined-in-image\n";

pub(super) const NGINX_CONF: &str =
    "# nginx for the e2e tests: serves a page on port 80, logs to the container's output.
user www-data;
worker_processes 1;
error_log stderr;
pid /run/nginx.pid;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    keepalive_timeout 65;

    server {
        listen 80 default_server;
        server_name _;
        root /usr/share/nginx/html;
        index index.html;
    }
}
";

pub(super) const NGINX_INDEX: &str = "<!DOCTYPE html>
<html>
<head><title>Welcome to nginx!</title></head>
<body><h1>Welcome to nginx!</h1></body>
</html>
";
