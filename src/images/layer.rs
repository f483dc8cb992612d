//! Image layers written deterministically: fixed times and owners, entries in
//! the order given, gzip-compressed, with both digests computed while writing.
//!
//! Determinism matters: the same inputs give the same layer digest, so layers
//! shared by several images (the common base files) are stored once in the
//! node's containerd, and cache keys stay stable.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};

/// A finished, compressed layer on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerBlob {
    pub path: PathBuf,
    /// `sha256:<hex>` of the uncompressed tar (what image configs list).
    pub diff_id: String,
    /// `sha256:<hex>` of the compressed blob (what manifests list).
    pub digest: String,
    /// Size of the compressed blob.
    pub size: u64,
}

/// Writes a tar stream through a hasher, then gzip, then a hasher, to a file.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type Sink = HashingWriter<GzEncoder<HashingWriter<BufWriter<File>>>>;

/// Builds one layer. Paths are given without a leading slash (`usr/bin/x`).
pub struct LayerBuilder {
    tar: tar::Builder<Sink>,
    path: PathBuf,
    /// Directories already written, so parents are emitted once.
    dirs: std::collections::BTreeSet<String>,
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

impl LayerBuilder {
    /// Start a layer that will be written to `path` (a `.tar.gz`).
    pub fn create(path: &Path) -> io::Result<LayerBuilder> {
        let file = File::create(path)?;
        let compressed = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            written: 0,
        };
        // Level 6: a third of the size of Go binaries for a few seconds of CPU,
        // paid once per cached build.
        let gz = GzEncoder::new(compressed, Compression::new(6));
        let plain = HashingWriter {
            inner: gz,
            hasher: Sha256::new(),
            written: 0,
        };
        let mut tar = tar::Builder::new(plain);
        tar.mode(tar::HeaderMode::Deterministic);
        Ok(LayerBuilder {
            tar,
            path: path.to_path_buf(),
            dirs: Default::default(),
        })
    }

    fn ensure_parents(&mut self, path: &str) -> io::Result<()> {
        let mut prefix = String::new();
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if self.dirs.insert(prefix.clone()) {
                let mut h = header(tar::EntryType::Directory, 0o755, 0);
                self.tar
                    .append_data(&mut h, format!("{prefix}/"), io::empty())?;
            }
        }
        Ok(())
    }

    /// A directory with the given mode.
    pub fn dir(&mut self, path: &str, mode: u32) -> io::Result<()> {
        self.ensure_parents(path)?;
        let path = path.trim_end_matches('/');
        if self.dirs.insert(path.to_string()) {
            let mut h = header(tar::EntryType::Directory, mode, 0);
            self.tar
                .append_data(&mut h, format!("{path}/"), io::empty())?;
        }
        Ok(())
    }

    /// A regular file from memory.
    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        self.ensure_parents(path)?;
        let mut h = header(tar::EntryType::Regular, mode, data.len() as u64);
        self.tar.append_data(&mut h, path, data)
    }

    /// A regular file copied from the host, streamed.
    pub fn file_from(&mut self, path: &str, mode: u32, source: &Path) -> io::Result<()> {
        self.ensure_parents(path)?;
        let file = File::open(source)?;
        let len = file.metadata()?.len();
        let mut h = header(tar::EntryType::Regular, mode, len);
        self.tar.append_data(&mut h, path, file)
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> io::Result<()> {
        self.ensure_parents(path)?;
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        self.tar.append_link(&mut h, path, target)
    }

    /// A file or symlink of an unpacked root filesystem, as it is there
    /// (a symlink stays a symlink; a file keeps its mode, setuid included).
    pub fn copy_from(&mut self, path: &str, on_disk: &Path) -> io::Result<()> {
        let meta = std::fs::symlink_metadata(on_disk)?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(on_disk)?;
            self.symlink(path, &target.to_string_lossy())
        } else {
            use std::os::unix::fs::PermissionsExt;
            self.file_from(path, meta.permissions().mode() & 0o7777, on_disk)
        }
    }

    /// Finish and return the blob with its digests.
    pub fn finish(self) -> io::Result<LayerBlob> {
        let plain = self.tar.into_inner()?;
        let diff_id = format!("sha256:{}", hex::encode(plain.hasher.finalize()));
        let mut compressed = plain.inner.finish()?;
        compressed.flush()?;
        let size = compressed.written;
        let digest = format!("sha256:{}", hex::encode(compressed.hasher.finalize()));
        compressed
            .inner
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        Ok(LayerBlob {
            path: self.path,
            diff_id,
            digest,
            size,
        })
    }
}

/// Hash an existing gzip layer file (e.g. a rootfs tarball made by GNU tar):
/// digest of the file, diff id of its decompressed content.
pub fn describe_gzip_layer(path: &Path) -> io::Result<LayerBlob> {
    struct Tee<R> {
        inner: R,
        hasher: Sha256,
        read: u64,
    }
    impl<R: Read> Read for Tee<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.hasher.update(&buf[..n]);
            self.read += n as u64;
            Ok(n)
        }
    }
    let file = io::BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut tee = Tee {
        inner: file,
        hasher: Sha256::new(),
        read: 0,
    };
    let mut plain_hasher = Sha256::new();
    {
        let mut gz = flate2::read::MultiGzDecoder::new(&mut tee);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = gz.read(&mut buf)?;
            if n == 0 {
                break;
            }
            plain_hasher.update(&buf[..n]);
        }
    }
    // The decoder may stop before trailing padding; hash the rest of the file.
    io::copy(&mut tee, &mut io::sink())?;
    Ok(LayerBlob {
        path: path.to_path_buf(),
        diff_id: format!("sha256:{}", hex::encode(plain_hasher.finalize())),
        digest: format!("sha256:{}", hex::encode(tee.hasher.finalize())),
        size: tee.read,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(dir: &Path, name: &str) -> LayerBlob {
        let mut l = LayerBuilder::create(&dir.join(name)).unwrap();
        l.file(
            "etc/passwd",
            0o644,
            b"root:x:0:0:root:/root:/sbin/nologin\n",
        )
        .unwrap();
        l.symlink("usr/bin/tool", "/usr/local/bin/tool").unwrap();
        l.dir("tmp", 0o1777).unwrap();
        l.finish().unwrap()
    }

    #[test]
    fn same_content_gives_same_digests() {
        let dir = tempfile::tempdir().unwrap();
        let a = build(dir.path(), "a.tar.gz");
        let b = build(dir.path(), "b.tar.gz");
        assert_eq!(a.diff_id, b.diff_id);
        assert_eq!(a.digest, b.digest);
        assert_ne!(a.diff_id, a.digest);
        assert_eq!(a.size, std::fs::metadata(&a.path).unwrap().len());
    }

    #[test]
    fn digests_match_an_independent_reading() {
        let dir = tempfile::tempdir().unwrap();
        let a = build(dir.path(), "a.tar.gz");
        let again = describe_gzip_layer(&a.path).unwrap();
        assert_eq!(a, again);
        // And the tar lists parents before children.
        let gz = flate2::read::GzDecoder::new(File::open(&a.path).unwrap());
        let names: Vec<String> = tar::Archive::new(gz)
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "etc/",
                "etc/passwd",
                "usr/",
                "usr/bin/",
                "usr/bin/tool",
                "tmp/"
            ]
        );
    }
}
