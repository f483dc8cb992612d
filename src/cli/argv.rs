//! The command line before clap reads it: verbosity written as kubectl
//! users write it.
//!
//! `-v N`, `-v=N`, `-vN` and `--v N` are the `verbose` setting's own flag
//! (short `-v`, as in kubectl). A `-v` without a number after it, and
//! `-vv`, `-vvv`…, mean 2, 3…: they become `--v=N` here, since clap cannot
//! tell `-v up` (a count, then a command) from `-v 5`.

use std::ffi::OsString;

/// The highest verbosity (the setting's maximum).
const MAX: usize = 9;

/// `args` with the counted forms of `-v` written as `--v=N`. Nothing after
/// `--` is touched: that belongs to the e2e tests.
pub fn normalize(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let args: Vec<OsString> = args.into_iter().collect();
    let mut out = Vec::with_capacity(args.len());
    let mut rest = false;
    for (i, arg) in args.iter().enumerate() {
        let text = arg.to_str();
        if rest || text == Some("--") {
            rest = true;
            out.push(arg.clone());
            continue;
        }
        let count = text
            .and_then(|t| t.strip_prefix('-'))
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b == b'v'))
            .map(str::len);
        let number_follows = args
            .get(i + 1)
            .and_then(|a| a.to_str())
            .is_some_and(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()));
        match count {
            Some(1) if number_follows => out.push(arg.clone()),
            Some(n) => out.push(format!("--v={}", (n + 1).min(MAX)).into()),
            None => out.push(arg.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn counted_v_becomes_a_level_and_a_level_stays() {
        assert_eq!(norm(&["lc", "-v", "up"]), ["lc", "--v=2", "up"]);
        assert_eq!(norm(&["lc", "up", "-v"]), ["lc", "up", "--v=2"]);
        assert_eq!(norm(&["lc", "-vv"]), ["lc", "--v=3"]);
        assert_eq!(norm(&["lc", "-vvvvvvvvvvvv"]), ["lc", "--v=9"]);
        assert_eq!(norm(&["lc", "-v", "5", "up"]), ["lc", "-v", "5", "up"]);
        for kept in ["-v=5", "-v5", "--v", "--verbose", "-x", "-"] {
            assert_eq!(norm(&["lc", kept]), ["lc", kept]);
        }
    }

    #[test]
    fn what_follows_the_double_dash_is_left_alone() {
        assert_eq!(
            norm(&["lc", "e2e", "-v", "--", "-v", "-vv"]),
            ["lc", "e2e", "--v=2", "--", "-v", "-vv"]
        );
    }
}
