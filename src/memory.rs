//! This machine's memory, as the kernel counts it.

/// Bytes of memory this machine has, or None when /proc/meminfo cannot be
/// read.
pub fn total() -> Option<u64> {
    parse_total(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

/// The `MemTotal:` line of /proc/meminfo (kibibytes) in bytes.
fn parse_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line.split_whitespace().skip(1);
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => Some(value * 1024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_read_in_bytes() {
        let text = "MemTotal:       24579384 kB\nMemFree:         1000 kB\n";
        assert_eq!(parse_total(text), Some(24_579_384 * 1024));
        assert_eq!(parse_total("MemFree: 1 kB\n"), None);
        assert_eq!(parse_total("MemTotal: lots\n"), None);
    }

    #[test]
    fn this_machine_has_some() {
        assert!(total().is_some_and(|bytes| bytes > 0));
    }
}
