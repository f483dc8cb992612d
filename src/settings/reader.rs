//! Reading one setting's text: the typed readers over the resolved raw
//! values, and the parsers of each kind of value.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use ipnet::Ipv4Net;
use strum::VariantNames;

use super::{
    error, file, Addon, Inputs, Key, NamedAddon, PerKey, SettingsError, Source, NAMED_ADDONS,
};

/// `~` expansion and resolution against `base`.
pub(super) fn expand_path(text: &str, base: &Path, home: &Path) -> PathBuf {
    let p = if text == "~" {
        home.to_path_buf()
    } else if let Some(rest) = text.strip_prefix("~/") {
        home.join(rest)
    } else {
        PathBuf::from(text)
    };
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

/// Every setting's raw text and source, read as typed values; a bad value
/// becomes an error naming the setting, its source and what is accepted.
pub(super) struct Reader<'a> {
    pub(super) raw: &'a PerKey<(String, Source)>,
    pub(super) inputs: &'a Inputs,
    pub(super) file_dir: Option<PathBuf>,
}

impl Reader<'_> {
    pub(super) fn raw(&self, key: Key) -> &str {
        self.raw[key].0.trim()
    }

    pub(super) fn source(&self, key: Key) -> &Source {
        &self.raw[key].1
    }

    pub(super) fn invalid(&self, key: Key, reason: String) -> SettingsError {
        let d = key.def();
        SettingsError::Invalid(Box::new(error::InvalidValue {
            key: d.key,
            flag: d.flag,
            origin: self.source(key).clone(),
            value: self.raw[key].0.clone(),
            reason,
            accepted: d.kind.accepted(),
        }))
    }

    pub(super) fn parse<T>(
        &self,
        key: Key,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, SettingsError> {
        f(self.raw(key)).map_err(|reason| self.invalid(key, reason))
    }

    /// Empty means unset.
    pub(super) fn optional<T>(
        &self,
        key: Key,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, SettingsError> {
        if self.raw(key).is_empty() {
            Ok(None)
        } else {
            self.parse(key, f).map(Some)
        }
    }

    pub(super) fn bool(&self, key: Key) -> Result<bool, SettingsError> {
        self.parse(key, |s| match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" | "y" => Ok(true),
            "false" | "no" | "off" | "0" | "n" => Ok(false),
            _ => Err("is not a boolean".to_string()),
        })
    }

    /// An integer within the bounds the setting's row states.
    pub(super) fn int<T: TryFrom<u64>>(&self, key: Key) -> Result<T, SettingsError> {
        self.parse(key, bounded_int(key))
    }

    /// As [`Reader::int`]; empty means unset.
    pub(super) fn optional_int<T: TryFrom<u64>>(
        &self,
        key: Key,
    ) -> Result<Option<T>, SettingsError> {
        self.optional(key, bounded_int(key))
    }

    /// A path: relative to the config file's directory when it came from
    /// the file, to the current directory otherwise.
    pub(super) fn path(&self, key: Key) -> Result<PathBuf, SettingsError> {
        let text = self.raw(key);
        if text.is_empty() {
            return Err(self.invalid(key, "is empty".to_string()));
        }
        let base = match (self.source(key), &self.file_dir) {
            (Source::File { .. }, Some(dir)) => dir.clone(),
            _ => self.inputs.cwd.clone(),
        };
        Ok(expand_path(text, &base, &self.inputs.home))
    }

    pub(super) fn addons(&self) -> Result<Vec<Addon>, SettingsError> {
        let key = Key::Addons;
        let mut out = Vec::new();
        for item in self
            .raw(key)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let addon = if item.starts_with("http://") || item.starts_with("https://") {
                Addon::Url(
                    parse_url(item).map_err(|r| self.invalid(key, format!("item {item:?} {r}")))?,
                )
            } else if item.ends_with(".yaml") || item.ends_with(".yml") || item.contains('/') {
                let base = match (self.source(key), &self.file_dir) {
                    (Source::File { .. }, Some(dir)) => dir.clone(),
                    _ => self.inputs.cwd.clone(),
                };
                let path = expand_path(item, &base, &self.inputs.home);
                if !path.is_file() {
                    return Err(self.invalid(
                        key,
                        format!("names {}, which is not a file", path.display()),
                    ));
                }
                Addon::File(path)
            } else if let Some(named) = NamedAddon::from_name(item) {
                if out.contains(&Addon::Named(named)) {
                    continue;
                }
                Addon::Named(named)
            } else {
                return Err(self.invalid(
                    key,
                    format!(
                        "has {item:?}, which is no known addon (known: {})",
                        NAMED_ADDONS.join(", ")
                    ),
                ));
            };
            out.push(addon);
        }
        Ok(out)
    }
}

pub(super) fn parse_cidr(s: &str) -> Result<Ipv4Net, String> {
    let net: Ipv4Net = s.parse().map_err(|_| "is not an IPv4 CIDR".to_string())?;
    if net.network() != net.addr() {
        return Err(format!(
            "has host bits set (the network is {})",
            net.trunc()
        ));
    }
    Ok(net)
}

/// One of the names of a choice enum's variants (in any case).
pub(super) fn parse_choice<T: FromStr + VariantNames>(s: &str) -> Result<T, String> {
    let value = s.to_ascii_lowercase();
    value.parse().map_err(|_| {
        let words: Vec<String> = T::VARIANTS.iter().map(|w| w.to_string()).collect();
        file::suggest(&words, &value)
            .map(|s| format!("(did you mean {s}?)"))
            .unwrap_or_else(|| "is not one of them".to_string())
    })
}

/// The bounds of an integer setting, as its row's kind states them.
pub(super) fn bounds(key: Key) -> (u64, u64) {
    key.def()
        .kind
        .bounds()
        .unwrap_or_else(|| unreachable!("{key} is not an integer setting"))
}

/// A parser of `key`'s integers: within its bounds, and of the type the
/// value is kept in.
fn bounded_int<T: TryFrom<u64>>(key: Key) -> impl Fn(&str) -> Result<T, String> {
    let (min, max) = bounds(key);
    move |s| {
        let n: u64 = s.parse().map_err(|_| "is not a number".to_string())?;
        if n < min || n > max {
            return Err("is out of range".to_string());
        }
        T::try_from(n).map_err(|_| "is out of range".to_string())
    }
}

/// A duration of whole hours, minutes and seconds, each unit at most once
/// and in that order (`8760h`, `1h30m`, `300s`), in seconds, within the
/// bounds the setting's row states.
pub(super) fn duration(key: Key) -> impl Fn(&str) -> Result<u64, String> {
    let (min, max) = match key.def().kind {
        super::Kind::Duration { min, max } => (min, max),
        _ => unreachable!("{key} is not a duration setting"),
    };
    move |s| {
        let seconds = parse_duration(s)?;
        if seconds < min || seconds > max {
            return Err("is out of range".to_string());
        }
        Ok(seconds)
    }
}

fn parse_duration(s: &str) -> Result<u64, String> {
    const UNITS: [(char, u64); 3] = [('h', 3600), ('m', 60), ('s', 1)];
    let bad = || "is not a duration".to_string();
    let mut rest = s;
    let mut total: u64 = 0;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("has the number {rest} without a unit (h, m or s)"))?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| "is out of range".to_string())?;
        let unit = rest[digits..].chars().next().unwrap_or_default();
        let at = UNITS[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(bad)?;
        let (_, scale) = UNITS[next_unit + at];
        next_unit += at + 1;
        total = n
            .checked_mul(scale)
            .and_then(|v| v.checked_add(total))
            .ok_or_else(|| "is out of range".to_string())?;
        rest = &rest[digits + 1..];
    }
    if s.is_empty() {
        return Err("is empty".to_string());
    }
    Ok(total)
}

pub(super) fn parse_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .ok_or_else(|| "is not an http(s) URL".to_string())?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err("has no host".to_string());
    }
    Ok(s.trim_end_matches('/').to_string())
}

pub(super) fn parse_image_repository(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && !s.contains("://")
        && !s.ends_with('/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:/".contains(c));
    if ok {
        Ok(s.to_string())
    } else {
        Err("is not an image repository".to_string())
    }
}

pub(super) fn parse_cluster_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 40
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(s.to_string())
    } else {
        Err("is not a valid cluster name".to_string())
    }
}

/// Whitespace-separated ssh options. The first word must be an option: a
/// stray host name here would make ssh connect somewhere else.
pub(super) fn parse_ssh_options(s: &str) -> Result<Vec<String>, String> {
    let words: Vec<String> = s.split_whitespace().map(str::to_string).collect();
    match words.first() {
        Some(first) if !first.starts_with('-') => {
            Err(format!("starts with {first:?}, not an option"))
        }
        _ if words.iter().any(|w| w == "--") => {
            Err("contains \"--\" (the host comes from DOCKER_HOST)".to_string())
        }
        _ => Ok(words),
    }
}

pub(super) fn parse_runtime_name(s: &str) -> Result<String, String> {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        Ok(s.to_string())
    } else {
        Err("is not a runtime name".to_string())
    }
}
