//! The generators of the fuzz tests: values near every kind of setting,
//! YAML documents and hostile files, and command lines.

use proptest::prelude::*;

use super::*;

// ---- values -------------------------------------------------------------

/// Text that is no valid value of anything in particular: control
/// characters, unicode, long runs, whitespace.
pub(super) fn junk() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        Just(" ".to_string()),
        Just("\t\n".to_string()),
        Just("\u{0}".to_string()),
        Just("é".repeat(5000)),
        Just("9".repeat(400)),
        any::<String>(),
        "\\PC{0,40}",
        "[ -~]{0,60}",
    ]
    .boxed()
}

pub(super) fn number() -> BoxedStrategy<String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        (0u64..70000).prop_map(|n| n.to_string()),
        Just(u64::MAX.to_string()),
        Just(format!("{}0", u64::MAX)),
        Just("99999999999999999999999999999".to_string()),
        Just("-0".to_string()),
        Just("+3".to_string()),
        Just("0x10".to_string()),
        Just("1e3".to_string()),
        Just("3.0".to_string()),
        Just(" 3 ".to_string()),
        Just("٣".to_string()),
    ]
    .boxed()
}

pub(super) fn cidr() -> BoxedStrategy<String> {
    prop_oneof![
        (0u32..300, 0u32..300, 0u32..300, 0u32..300, 0u32..40)
            .prop_map(|(a, b, c, d, p)| format!("{a}.{b}.{c}.{d}/{p}")),
        (0u8..=255, 0u8..=255, 0u32..=33).prop_map(|(a, b, p)| format!("10.{a}.{b}.0/{p}")),
        (0u8..=255, 8u32..=30).prop_map(|(a, p)| format!("10.{a}.0.0/{p}")),
        Just("10.0.0.0".to_string()),
        Just("10.0.0.0/".to_string()),
        Just("/16".to_string()),
        Just("::1/128".to_string()),
        Just("10.0.0.0/16/16".to_string()),
        Just("0.0.0.0/0".to_string()),
        Just("255.255.255.255/32".to_string()),
    ]
    .boxed()
}

pub(super) fn version() -> BoxedStrategy<String> {
    prop_oneof![
        (0u32..3, 0u32..45, 0u32..40).prop_map(|(a, b, c)| format!("v{a}.{b}.{c}")),
        (0u32..3, 0u32..45).prop_map(|(a, b)| format!("{a}.{b}")),
        (30u32..40, "[a-z0-9.+-]{0,12}").prop_map(|(m, s)| format!("v1.{m}.0-{s}")),
        Just("stable".to_string()),
        Just("latest".to_string()),
        Just("Stable".to_string()),
        Just("v1.36.99999999999999999999".to_string()),
        Just("v1.99999999999".to_string()),
        Just("v1..3".to_string()),
        Just("v1.36.".to_string()),
        Just("1".to_string()),
        Just("v".to_string()),
        Just("v1.36.3+build.1".to_string()),
        Just("v1.36.3-".to_string()),
        Just("1.x".to_string()),
    ]
    .boxed()
}

/// Words near `words`: each word, changed in case, with a letter dropped
/// or added.
pub(super) fn near_words(words: &'static [&'static str]) -> BoxedStrategy<String> {
    let pick = proptest::sample::select(words);
    prop_oneof![
        pick.clone().prop_map(str::to_string),
        pick.clone().prop_map(|w| w.to_uppercase()),
        (pick.clone(), any::<prop::sample::Index>()).prop_map(|(w, i)| {
            let mut s: Vec<char> = w.chars().collect();
            if !s.is_empty() {
                s.remove(i.index(s.len()));
            }
            s.into_iter().collect()
        }),
        (pick, "[a-z_ -]").prop_map(|(w, c)| format!("{w}{c}")),
    ]
    .boxed()
}

pub(super) fn url() -> BoxedStrategy<String> {
    prop_oneof![
        "https?://[a-z0-9.:-]{0,20}(/[a-z0-9._-]{0,10}){0,3}",
        Just("https://".to_string()),
        Just("http:///x".to_string()),
        Just("https:// x".to_string()),
        Just("ftp://x/y".to_string()),
        Just("HTTPS://X".to_string()),
        Just("https://[::1]:8080/r".to_string()),
        Just("https://a.example/r/////".to_string()),
    ]
    .boxed()
}

pub(super) fn path(fx_dir: &str) -> BoxedStrategy<String> {
    let dir = fx_dir.to_string();
    prop_oneof![
        Just("~".to_string()),
        Just("~/x".to_string()),
        Just("~user/x".to_string()),
        Just("/".to_string()),
        Just("../../..".to_string()),
        Just("/dev/null".to_string()),
        Just("/proc/self".to_string()),
        Just("a\u{0}b".to_string()),
        Just(format!("{dir}/addon.yaml")),
        Just(dir.clone()),
        "[a-z/._~-]{0,30}",
        Just("x/".repeat(3000)),
    ]
    .boxed()
}

pub(super) fn checksum() -> BoxedStrategy<String> {
    prop_oneof![
        "[0-9a-f]{40}",
        "[0-9a-f]{64}",
        "[0-9a-fA-F]{0,70}",
        "[0-9a-g]{40}",
        Just(format!(" {} ", "a".repeat(40))),
        Just("é".repeat(20)),
    ]
    .boxed()
}

pub(super) fn addons(fx_dir: &str) -> BoxedStrategy<String> {
    let item = prop_oneof![
        near_words(NAMED_ADDONS),
        path(fx_dir),
        url(),
        Just(String::new()),
        Just(" ".to_string()),
        "[a-z.,/ ]{0,12}",
    ];
    proptest::collection::vec(item, 0..5)
        .prop_map(|items| items.join(","))
        .boxed()
}

pub(super) fn ssh_options() -> BoxedStrategy<String> {
    let word = prop_oneof![
        "-[a-zA-Z46]",
        Just("-o".to_string()),
        Just("Port=2222".to_string()),
        Just("--".to_string()),
        Just("host".to_string()),
        "[ -~]{0,8}",
    ];
    proptest::collection::vec(word, 0..6)
        .prop_map(|w| w.join(" "))
        .boxed()
}

/// Values for `d`, valid and near-valid for its kind, and junk.
pub(super) fn value_for(d: &'static SettingDef, fx_dir: &str) -> BoxedStrategy<String> {
    let typed = match d.kind {
        Kind::Cidr => cidr(),
        Kind::Int { .. } | Kind::Port => number(),
        Kind::Bool => prop_oneof![
            near_words(&["true", "false", "yes", "no", "on", "off", "1", "0", "y", "n"]),
            Just("2".to_string()),
            Just("tru".to_string()),
        ]
        .boxed(),
        Kind::Version => version(),
        Kind::Choice(words) => near_words(words),
        Kind::Url => url(),
        Kind::ImageRepository => prop_oneof![
            "[a-z0-9.:/_-]{0,30}",
            Just("https://registry.k8s.io".to_string()),
            Just("registry.k8s.io/".to_string()),
            Just("Registry.K8s.io".to_string()),
        ]
        .boxed(),
        Kind::Path => path(fx_dir),
        Kind::Checksum => checksum(),
        Kind::ClusterName => prop_oneof!["[a-z0-9-]{0,45}", "[A-Za-z0-9_.-]{0,12}"].boxed(),
        Kind::RuntimeName => "[a-zA-Z0-9._ /-]{0,20}".boxed(),
        Kind::Addons => addons(fx_dir),
        Kind::SshOptions => ssh_options(),
        Kind::Duration { .. } => prop_oneof![
            "[0-9]{1,7}[hms]",
            "[0-9]{1,3}h[0-9]{1,3}m[0-9]{0,3}s?",
            "[0-9hmsd. ]{0,10}",
        ]
        .boxed(),
    };
    prop_oneof![4 => typed, 1 => junk()].boxed()
}

/// One setting and a value for it.
pub(super) fn setting_value(fx_dir: &str) -> BoxedStrategy<(Key, String)> {
    let dir = fx_dir.to_string();
    proptest::sample::select(Key::ALL)
        .prop_flat_map(move |key| (Just(key), value_for(key.def(), &dir)))
        .boxed()
}

// ---- YAML documents -----------------------------------------------------

/// A key: a setting's, a section's, one near them, or anything.
pub(super) fn yaml_key() -> BoxedStrategy<String> {
    let names: Vec<&'static str> = SETTINGS
        .iter()
        .flat_map(|d| {
            let (section, name) = d.key.split_once('.').unwrap_or(("", d.key));
            [section, name]
        })
        .filter(|s| !s.is_empty())
        .collect();
    let names: &'static [&'static str] = names.leak();
    prop_oneof![
        4 => near_words(names),
        1 => "[a-zA-Z0-9_.é -]{0,12}",
        1 => Just("<<".to_string()),
        1 => Just("? complex".to_string()),
    ]
    .boxed()
}

/// A scalar as YAML writes it: plain, quoted, tagged, null and the like.
pub(super) fn yaml_scalar() -> BoxedStrategy<String> {
    let plain = prop_oneof![
        number(),
        version(),
        cidr(),
        near_words(&["true", "false", "null", "~", "yes", "dashboard", "flannel"]),
        Just("1.7976931348623157e309".to_string()),
        Just(".inf".to_string()),
        Just(".nan".to_string()),
        Just("0o777".to_string()),
        "[a-z0-9 ./:-]{0,20}",
    ];
    prop_oneof![
        4 => plain.clone(),
        2 => plain.clone().prop_map(|s| format!("{s:?}")),
        1 => plain.clone().prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
        1 => plain.prop_map(|s| format!("!!str {s}")),
        1 => Just("!!binary aGVsbG8=".to_string()),
        1 => Just("!custom x".to_string()),
        1 => Just("|\n  multi\n  line".to_string()),
        1 => "[\\PC]{0,10}".prop_map(|s| format!("{s:?}")),
    ]
    .boxed()
}

/// A flow-style YAML value: scalars, lists and mappings nested a few deep.
pub(super) fn yaml_value() -> BoxedStrategy<String> {
    yaml_scalar()
        .prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                proptest::collection::vec((yaml_key(), inner), 0..5).prop_map(|kv| {
                    let body: Vec<String> =
                        kv.into_iter().map(|(k, v)| format!("{k:?}: {v}")).collect();
                    format!("{{{}}}", body.join(", "))
                }),
            ]
        })
        .boxed()
}

/// A block-style document: sections holding keys, keys holding values.
pub(super) fn yaml_document() -> BoxedStrategy<String> {
    let entry = (yaml_key(), yaml_value()).prop_map(|(k, v)| format!("  {k}: {v}\n"));
    let section = (yaml_key(), proptest::collection::vec(entry, 0..5))
        .prop_map(|(s, entries)| format!("{s}:\n{}", entries.concat()));
    let top = (yaml_key(), yaml_value()).prop_map(|(k, v)| format!("{k}: {v}\n"));
    proptest::collection::vec(prop_oneof![section, top], 0..6)
        .prop_map(|parts| parts.concat())
        .boxed()
}

/// The table's keys with valid or near-valid values: deep enough to reach
/// the value checks rather than stop at the first unknown key.
pub(super) fn yaml_settings(fx_dir: &str) -> BoxedStrategy<String> {
    proptest::collection::vec(setting_value(fx_dir), 1..4)
        .prop_map(|values| {
            let mut text = String::new();
            for (key, value) in values {
                let v = format!("{value:?}");
                match key.as_str().split_once('.') {
                    Some((section, name)) => {
                        text.push_str(&format!("{section}:\n  {name}: {v}\n"));
                    }
                    None => text.push_str(&format!("{}: {v}\n", key.as_str())),
                }
            }
            text
        })
        .boxed()
}

/// A billion-laughs document: each level an anchored list of aliases of
/// the one before, `fanout` wide and `levels` deep, used by a real key.
pub(super) fn alias_bomb() -> BoxedStrategy<String> {
    (2usize..12, 2usize..14, any::<bool>())
        .prop_map(|(fanout, levels, flow)| {
            let mut text = String::from("x0: &a0 [\"lol\"]\n");
            for l in 1..=levels {
                let refs = vec![format!("*a{}", l - 1); fanout].join(", ");
                text.push_str(&format!("x{l}: &a{l} [{refs}]\n"));
            }
            if flow {
                text.push_str(&format!("cluster: {{addons: *a{levels}}}\n"));
            } else {
                text.push_str(&format!("cluster:\n  addons: *a{levels}\n"));
            }
            text
        })
        .boxed()
}

/// Nesting thousands deep, in flow and block style.
pub(super) fn deep_nesting() -> BoxedStrategy<String> {
    (1usize..20000, 0usize..3)
        .prop_map(|(depth, style)| match style {
            0 => format!("cluster: {}{}", "[".repeat(depth), "]".repeat(depth)),
            1 => format!("cluster: {}{}", "{a: ".repeat(depth), "}".repeat(depth)),
            _ => {
                let depth = depth.min(3000);
                let mut text = String::new();
                for i in 0..depth {
                    text.push_str(&" ".repeat(i));
                    text.push_str("cluster:\n");
                }
                text
            }
        })
        .boxed()
}

/// Every kind of config file, as bytes.
pub(super) fn config_file(fx_dir: &str) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => yaml_document().prop_map(String::into_bytes),
        3 => yaml_settings(fx_dir).prop_map(String::into_bytes),
        1 => alias_bomb().prop_map(String::into_bytes),
        1 => deep_nesting().prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..300),
        1 => (yaml_settings(fx_dir), "[\\PC]{0,3}", "---\n|\n\u{feff}|\t|%YAML 1.2\n|&|\\*|!")
            .prop_map(|(doc, a, b)| format!("{b}{doc}{a}").into_bytes()),
    ]
    .boxed()
}

// ---- command lines ------------------------------------------------------

/// Argument vectors: subcommands, settings flags with values (separate,
/// `=`-joined or missing), `-v`s, unknown flags and stray words.
pub(super) fn argv(fx_dir: &str) -> BoxedStrategy<Vec<String>> {
    let flag_and_value = setting_value(fx_dir).prop_flat_map(|(key, value)| {
        let flag = format!("--{}", key.def().flag);
        prop_oneof![
            Just(vec![flag.clone(), value.clone()]),
            Just(vec![format!("{flag}={value}")]),
            Just(vec![flag.clone()]),
        ]
    });
    let other = prop_oneof![
        near_words(&[
            "up",
            "down",
            "clean",
            "status",
            "config",
            "e2e",
            "e2e-serial",
            "load",
            "logs",
            "node-image",
            "help",
            "--help",
            "--version",
            "-v",
            "-vv",
            "-vvvvvvvvvvvv",
            "-v=7",
            "-v5",
            "--",
        ])
        .prop_map(|w| vec![w]),
        "--[a-z-]{1,20}(=[a-z0-9]{0,5})?".prop_map(|w| vec![w]),
        junk().prop_map(|w| vec![w]),
    ];
    proptest::collection::vec(prop_oneof![3 => flag_and_value, 2 => other], 0..6)
        .prop_map(|parts| {
            std::iter::once("local-cluster".to_string())
                .chain(parts.into_iter().flatten())
                .collect()
        })
        .boxed()
}
