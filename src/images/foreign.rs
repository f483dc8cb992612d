//! Building images for an architecture other than the host's.
//!
//! Go programs cross-compile (GOARCH) and C programs need a cross compiler,
//! but two steps run the target's own programs: debootstrap's second stage
//! and the package maintainer scripts (dpkg configuring systemd, dbus,
//! ca-certificates, update-alternatives for iptables...), and the node image
//! build container (kubeadm lists its images, containerd imports them). On a
//! foreign architecture those run under qemu-user through binfmt_misc. The
//! entry must carry the F (fix binary) flag: the kernel then opens the
//! interpreter when it is registered, so it also serves inside a chroot and
//! inside containers, which do not have the host's /usr/bin/qemu-*.
//!
//! This module knows each architecture's names (Go, Debian, ELF machine,
//! qemu, cross compiler) and reads binfmt_misc to say whether the host can
//! run a target's programs, and if not, exactly what to set up.

use std::path::Path;

use super::error::ImageError;

/// Everything known about one target architecture, by its Go name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// GOARCH, and what the settings and image tags call it.
    pub go: &'static str,
    /// Debian's name (debootstrap --arch, dpkg).
    pub debian: &'static str,
    /// ELF e_machine of its programs.
    pub elf_machine: u16,
    /// ELFCLASS64 (true) or ELFCLASS32.
    pub elf_64: bool,
    /// ELFDATA2MSB: s390x is the only big-endian one here.
    pub big_endian: bool,
    /// qemu-user's name for it (qemu-<name>-static, binfmt entry qemu-<name>).
    pub qemu: &'static str,
    /// The GNU triplet: the cross compiler is `<triplet>-gcc`.
    pub triplet: &'static str,
    /// Debian packages of the cross compiler and its static libc.
    pub cross_packages: &'static str,
}

/// The architectures the settings accept (`Arch`).
pub const TARGETS: [Target; 5] = [
    Target {
        go: "amd64",
        debian: "amd64",
        elf_machine: 62, // EM_X86_64
        elf_64: true,
        big_endian: false,
        qemu: "x86_64",
        triplet: "x86_64-linux-gnu",
        cross_packages: "gcc-x86-64-linux-gnu libc6-dev-amd64-cross",
    },
    Target {
        go: "arm64",
        debian: "arm64",
        elf_machine: 183, // EM_AARCH64
        elf_64: true,
        big_endian: false,
        qemu: "aarch64",
        triplet: "aarch64-linux-gnu",
        cross_packages: "gcc-aarch64-linux-gnu libc6-dev-arm64-cross",
    },
    Target {
        // GOARM=7 (gomod), Debian armhf: ARMv7 with hardware floating point.
        go: "arm",
        debian: "armhf",
        elf_machine: 40, // EM_ARM
        elf_64: false,
        big_endian: false,
        qemu: "arm",
        triplet: "arm-linux-gnueabihf",
        cross_packages: "gcc-arm-linux-gnueabihf libc6-dev-armhf-cross",
    },
    Target {
        go: "ppc64le",
        debian: "ppc64el",
        elf_machine: 21, // EM_PPC64
        elf_64: true,
        big_endian: false,
        qemu: "ppc64le",
        triplet: "powerpc64le-linux-gnu",
        cross_packages: "gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross",
    },
    Target {
        go: "s390x",
        debian: "s390x",
        elf_machine: 22, // EM_S390
        elf_64: true,
        big_endian: true,
        qemu: "s390x",
        triplet: "s390x-linux-gnu",
        cross_packages: "gcc-s390x-linux-gnu libc6-dev-s390x-cross",
    },
];

/// The target of Go architecture `go`, if it is one of [`TARGETS`].
pub fn target(go: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.go == go)
}

/// Debian's name for Go architecture `go` (unknown names pass through, so
/// debootstrap reports them itself).
pub fn debian_arch(go: &str) -> &str {
    target(go).map_or(go, |t| t.debian)
}

/// The host's Go architecture name.
pub fn host_arch() -> String {
    crate::engine::go_arch(std::env::consts::ARCH)
}

/// Whether `arch` is not the host's own.
pub fn is_foreign(arch: &str) -> bool {
    host_arch() != arch
}

impl Target {
    /// The start of an executable of this architecture, as binfmt_misc
    /// matches it: e_ident (magic, class, data, version) and, after the
    /// padding, e_type ET_EXEC and e_machine.
    fn elf_header(&self) -> [u8; 20] {
        let mut h = [0u8; 20];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = if self.elf_64 { 2 } else { 1 };
        h[5] = if self.big_endian { 2 } else { 1 };
        h[6] = 1;
        let (e_type, machine) = if self.big_endian {
            (2u16.to_be_bytes(), self.elf_machine.to_be_bytes())
        } else {
            (2u16.to_le_bytes(), self.elf_machine.to_le_bytes())
        };
        h[16..18].copy_from_slice(&e_type);
        h[18..20].copy_from_slice(&machine);
        h
    }

    /// Whether an ELF file's first bytes say it is a program of this
    /// architecture (class, byte order and e_machine; any e_type).
    pub fn matches_elf(&self, head: &[u8]) -> bool {
        let Some(machine) = elf_machine(head) else {
            return false;
        };
        head[4] == if self.elf_64 { 2 } else { 1 }
            && head[5] == if self.big_endian { 2 } else { 1 }
            && machine == self.elf_machine
    }
}

/// e_machine of an ELF file from its first 20 bytes; None if it is no ELF.
pub fn elf_machine(head: &[u8]) -> Option<u16> {
    if head.len() < 20 || &head[..4] != b"\x7fELF" {
        return None;
    }
    let bytes = [head[18], head[19]];
    match head[5] {
        1 => Some(u16::from_le_bytes(bytes)),
        2 => Some(u16::from_be_bytes(bytes)),
        _ => None,
    }
}

/// One binfmt_misc entry, as its file in /proc/sys/fs/binfmt_misc says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BinfmtEntry {
    pub name: String,
    pub enabled: bool,
    pub interpreter: String,
    pub flags: String,
    pub offset: usize,
    pub magic: Vec<u8>,
    pub mask: Vec<u8>,
}

/// Parse an entry's file (`enabled`, `interpreter …`, `flags: PF`,
/// `offset 0`, `magic 7f45…`, `mask ffff…`). None for extension entries
/// and anything unreadable.
pub fn parse_binfmt_entry(name: &str, text: &str) -> Option<BinfmtEntry> {
    let mut entry = BinfmtEntry {
        name: name.to_string(),
        ..Default::default()
    };
    let mut has_magic = false;
    for line in text.lines().map(str::trim) {
        if line == "enabled" {
            entry.enabled = true;
        } else if let Some(v) = line.strip_prefix("interpreter ") {
            entry.interpreter = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("flags:") {
            entry.flags = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("offset ") {
            entry.offset = v.trim().parse().ok()?;
        } else if let Some(v) = line.strip_prefix("magic ") {
            entry.magic = hex::decode(v.trim()).ok()?;
            has_magic = true;
        } else if let Some(v) = line.strip_prefix("mask ") {
            entry.mask = hex::decode(v.trim()).ok()?;
        }
    }
    has_magic.then_some(entry)
}

impl BinfmtEntry {
    /// Whether the kernel would hand `head` (a file's first bytes) to this
    /// entry's interpreter, enabled or not.
    fn matches(&self, head: &[u8]) -> bool {
        let Some(window) = head.get(self.offset..self.offset + self.magic.len()) else {
            return false;
        };
        window
            .iter()
            .zip(&self.magic)
            .enumerate()
            .all(|(i, (b, m))| {
                let mask = self.mask.get(i).copied().unwrap_or(0xff);
                b & mask == m & mask
            })
    }

    /// The F flag: the interpreter was opened at registration.
    fn fixed(&self) -> bool {
        self.flags.contains('F')
    }
}

/// Whether this host can run `arch`'s programs, and if not why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emulation {
    /// The host's own architecture.
    Native,
    /// Through this binfmt_misc entry (enabled, with the F flag).
    Emulated { entry: String, interpreter: String },
    /// Not possible yet; says what to do.
    Missing(String),
}

/// Where binfmt_misc lives.
pub const BINFMT_DIR: &str = "/proc/sys/fs/binfmt_misc";

/// Can this host run programs of `arch` (in a chroot and in containers)?
pub fn emulation(arch: &str) -> Emulation {
    if !is_foreign(arch) {
        return Emulation::Native;
    }
    emulation_in(arch, Path::new(BINFMT_DIR))
}

/// [`emulation`] with binfmt_misc at `dir` (for tests).
pub fn emulation_in(arch: &str, dir: &Path) -> Emulation {
    let Some(target) = target(arch) else {
        return Emulation::Missing(format!(
            "{arch} is no architecture this tool knows (it knows {})",
            TARGETS.map(|t| t.go).join(", ")
        ));
    };
    let setup = setup_commands(target);
    if !dir.join("status").exists() {
        return Emulation::Missing(format!(
            "binfmt_misc is not mounted at {}; as root: {setup}",
            dir.display()
        ));
    }
    let entries: Vec<BinfmtEntry> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "status" || name == "register" {
                return None;
            }
            let text = std::fs::read_to_string(e.path()).ok()?;
            parse_binfmt_entry(&name, &text)
        })
        .collect();
    decide(target, &entries, &setup)
}

/// The decision of [`emulation_in`] from the parsed entries.
fn decide(target: &Target, entries: &[BinfmtEntry], setup: &str) -> Emulation {
    let header = target.elf_header();
    let matching: Vec<&BinfmtEntry> = entries.iter().filter(|e| e.matches(&header)).collect();
    if let Some(e) = matching.iter().find(|e| e.enabled && e.fixed()) {
        return Emulation::Emulated {
            entry: e.name.clone(),
            interpreter: e.interpreter.clone(),
        };
    }
    let why = match matching.first() {
        None => format!("no binfmt_misc entry runs {} programs", target.go),
        Some(e) if !e.enabled => format!("the binfmt_misc entry {} is disabled", e.name),
        Some(e) => format!(
            "the binfmt_misc entry {} lacks the F (fix binary) flag (flags: {:?}), so chroots \
             and containers cannot reach its interpreter {}",
            e.name, e.flags, e.interpreter
        ),
    };
    Emulation::Missing(format!("{why}; as root: {setup}"))
}

/// What to run (as root, once per boot for the mount) so that `target`'s
/// programs run here: Debian's qemu-user-static registers its entries
/// with the F flag.
pub fn setup_commands(target: &Target) -> String {
    format!(
        "`apt-get install qemu-user-static binfmt-support && \
         (mountpoint -q {BINFMT_DIR} || mount -t binfmt_misc binfmt_misc {BINFMT_DIR}) && \
         update-binfmts --enable qemu-{}`",
        target.qemu
    )
}

/// The C compiler for `arch` on this host, and the hint naming what to
/// install when it is missing. None for an architecture this tool does not
/// know.
pub fn c_compiler(arch: &str) -> Option<(String, String)> {
    let target = target(arch)?;
    if !is_foreign(arch) {
        return Some((
            "gcc".to_string(),
            "a C compiler with static libc (Debian: apt-get install gcc libc6-dev)".to_string(),
        ));
    }
    let compiler = format!("{}-gcc", target.triplet);
    let hint = format!(
        "the cross compiler {compiler} with a static libc for {arch} on this {} host \
         (Debian: apt-get install {})",
        host_arch(),
        target.cross_packages
    );
    Some((compiler, hint))
}

/// Refuse, before anything long starts, a build that will compile pause
/// for `arch` when its C compiler is not on `path` (the PATH variable).
pub fn check_c_compiler(arch: &str, path: Option<&std::ffi::OsStr>) -> Result<(), ImageError> {
    let (compiler, needs) =
        c_compiler(arch).ok_or_else(|| ImageError::NoCrossCompiler(arch.to_string()))?;
    let found = path
        .map(std::env::split_paths)
        .into_iter()
        .flatten()
        .any(|dir| dir.join(&compiler).is_file());
    if found {
        return Ok(());
    }
    Err(ImageError::HostCannotBuild(format!(
        "the node image's pause is compiled here for {arch}, which needs {needs}: `{compiler}` \
         is not on PATH; install it first (nothing was built yet)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const QEMU_AARCH64: &str = "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n\
        flags: PF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\n\
        mask ffffffffffffff00fffffffffffffffffeffffff\n";

    fn arm64() -> &'static Target {
        target("arm64").unwrap()
    }

    #[test]
    fn debian_names_differ_for_arm_and_ppc64le() {
        assert_eq!(debian_arch("arm"), "armhf");
        assert_eq!(debian_arch("ppc64le"), "ppc64el");
        assert_eq!(debian_arch("arm64"), "arm64");
        assert_eq!(debian_arch("riscv64"), "riscv64");
    }

    #[test]
    fn each_target_header_is_recognized_as_its_own_only() {
        for t in &TARGETS {
            let h = t.elf_header();
            assert_eq!(elf_machine(&h), Some(t.elf_machine), "{}", t.go);
            for other in &TARGETS {
                assert_eq!(
                    other.matches_elf(&h),
                    other == t,
                    "{} vs {}",
                    t.go,
                    other.go
                );
            }
        }
        assert_eq!(elf_machine(b"#!/bin/sh\n echo not an elf"), None);
        assert_eq!(elf_machine(b"\x7fELF"), None);
    }

    #[test]
    fn a_qemu_entry_with_f_emulates() {
        let e = parse_binfmt_entry("qemu-aarch64", QEMU_AARCH64).unwrap();
        assert_eq!(e.flags, "PF");
        assert_eq!(
            decide(arm64(), &[e], "setup"),
            Emulation::Emulated {
                entry: "qemu-aarch64".into(),
                interpreter: "/usr/libexec/qemu-binfmt/aarch64-binfmt-P".into()
            }
        );
        // The aarch64 entry does not run arm (32-bit) programs.
        let e = parse_binfmt_entry("qemu-aarch64", QEMU_AARCH64).unwrap();
        assert!(matches!(
            decide(target("arm").unwrap(), &[e], "setup"),
            Emulation::Missing(m) if m.contains("no binfmt_misc entry runs arm")
        ));
    }

    #[test]
    fn disabled_or_unfixed_entries_say_what_is_wrong() {
        let text = QEMU_AARCH64.replace("enabled", "disabled");
        let e = parse_binfmt_entry("qemu-aarch64", &text).unwrap();
        assert!(matches!(decide(arm64(), &[e], "do this"),
            Emulation::Missing(m) if m.contains("disabled") && m.ends_with("do this")));
        let text = QEMU_AARCH64.replace("flags: PF", "flags: P");
        let e = parse_binfmt_entry("qemu-aarch64", &text).unwrap();
        assert!(matches!(decide(arm64(), &[e], "x"),
            Emulation::Missing(m) if m.contains("lacks the F")));
    }

    #[test]
    fn an_unmounted_binfmt_misc_names_the_mount() {
        let dir = tempfile::tempdir().unwrap();
        let arch = if host_arch() == "arm64" {
            "amd64"
        } else {
            "arm64"
        };
        match emulation_in(arch, dir.path()) {
            Emulation::Missing(m) => {
                assert!(
                    m.contains("not mounted") && m.contains("mount -t binfmt_misc"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(dir.path().join("status"), "enabled\n").unwrap();
        std::fs::write(dir.path().join("register"), "").unwrap();
        std::fs::write(
            dir.path().join("qemu-aarch64"),
            QEMU_AARCH64.replace(
                "7f454c460201010000000000000000000200b700",
                &hex::encode(target(arch).unwrap().elf_header()),
            ),
        )
        .unwrap();
        assert!(matches!(
            emulation_in(arch, dir.path()),
            Emulation::Emulated { .. }
        ));
    }

    #[test]
    fn cross_compilers_name_their_debian_packages() {
        let other = if host_arch() == "arm64" {
            "amd64"
        } else {
            "arm64"
        };
        let (cc, hint) = c_compiler(other).unwrap();
        assert!(cc.ends_with("-linux-gnu-gcc"), "{cc}");
        assert!(hint.contains("-cross"), "{hint}");
        assert_eq!(c_compiler(&host_arch()).unwrap().0, "gcc");
        assert!(c_compiler("mips").is_none());
    }

    #[test]
    fn a_missing_compiler_is_refused_naming_its_packages() {
        let dir = tempfile::tempdir().unwrap();
        let other = if host_arch() == "amd64" {
            "arm64"
        } else {
            "amd64"
        };
        let err = check_c_compiler(other, Some(dir.path().as_os_str())).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("is not on PATH") && text.contains("apt-get install"),
            "{text}"
        );
        let (compiler, _) = c_compiler(other).unwrap();
        std::fs::write(dir.path().join(compiler), "").unwrap();
        check_c_compiler(other, Some(dir.path().as_os_str())).unwrap();
    }
}
