//! What `--help` shows: each command's own settings, under headings, the
//! common ones first; and what an unknown command is answered with.
//!
//! Every settings flag is accepted by every command (they are global, so
//! `local-cluster --num-nodes 1 up` works); a command's help hides those
//! that do not change what it does.

use clap::{Arg, Command};

use crate::settings::groups::Group;
use crate::settings::Key;

/// Which settings a command's help shows.
#[derive(Debug, Clone, Copy)]
pub enum Shown {
    All,
    /// These groups, and these settings of other groups.
    Some(&'static [Group], &'static [Key]),
}

const OPERATE: Shown = Shown::Some(&[Group::Engine, Group::Output], &[Key::ClusterName]);
const BUILD: Shown = Shown::Some(
    &[
        Group::KubernetesSource,
        Group::Nodes,
        Group::Engine,
        Group::Output,
    ],
    &[],
);

/// Each command (by its path of names) and the settings its help shows,
/// in the order `--help` lists the commands.
pub static SHOWN: &[(&str, Shown)] = &[
    ("up", Shown::All),
    ("down", OPERATE),
    ("clean", OPERATE),
    ("status", OPERATE),
    ("snapshot save", OPERATE),
    ("snapshot restore", Shown::All),
    ("snapshot list", OPERATE),
    ("snapshot rm", OPERATE),
    ("pause", OPERATE),
    ("unpause", OPERATE),
    ("reup", Shown::All),
    ("e2e", OPERATE),
    ("e2e-serial", OPERATE),
    ("load", OPERATE),
    ("logs", OPERATE),
    ("dashboard", OPERATE),
    (
        "registry",
        Shown::Some(
            &[Group::Engine, Group::Output],
            &[Key::ClusterName, Key::RegistryPort],
        ),
    ),
    ("push", OPERATE),
    ("build node-image", BUILD),
    (
        "build images",
        Shown::Some(
            &[
                Group::KubernetesSource,
                Group::Nodes,
                Group::Engine,
                Group::Output,
            ],
            &[Key::CniPlugin, Key::Addons],
        ),
    ),
    ("build e2e", BUILD),
    (
        "source",
        Shown::Some(&[Group::Output], &[Key::KubernetesVersion]),
    ),
    ("config", Shown::All),
    (
        "doctor",
        Shown::Some(
            &[
                Group::KubernetesSource,
                Group::Nodes,
                Group::Engine,
                Group::Output,
            ],
            &[Key::CniPlugin],
        ),
    ),
    ("completion", Shown::Some(&[], &[])),
];

impl Shown {
    fn shows(self, group: Group, key: Key) -> bool {
        match self {
            Shown::All => true,
            Shown::Some(groups, keys) => groups.contains(&group) || keys.contains(&key),
        }
    }
}

const OTHERS: &str = "Settings of other commands are accepted too; \
                      `local-cluster up --help` lists them all.";

/// Hide from each command's help the settings [`SHOWN`] does not list for
/// it. `setting` makes a setting's flag (global, so that a hidden copy in a
/// command stands in for the root's).
pub fn shape(
    mut root: Command,
    settings: &[(Group, Key)],
    setting: impl Fn(Key) -> Arg,
) -> Command {
    for (order, (path, shown)) in SHOWN.iter().enumerate() {
        let names: Vec<&str> = path.split(' ').collect();
        let hidden: Vec<Key> = settings
            .iter()
            .filter(|(group, key)| !shown.shows(*group, *key))
            .map(|(_, key)| *key)
            .collect();
        let in_order = |cmd: Command| cmd.display_order(order);
        root = at(root, &names[..1], &in_order);
        // A command that shows some settings but not all says where the rest are.
        let some_hidden = !hidden.is_empty() && !matches!(shown, Shown::Some(&[], &[]));
        root = at(root, &names, &|mut cmd: Command| {
            for key in &hidden {
                cmd = cmd.arg(setting(*key).hide(true));
            }
            if some_hidden {
                let after = match cmd.get_after_help() {
                    Some(text) => format!("{text}\n\n{OTHERS}"),
                    None => OTHERS.to_string(),
                };
                cmd = cmd.after_help(after);
            }
            cmd.display_order(order)
        });
    }
    root
}

/// `cmd` with `f` applied to the subcommand at `path` below it.
fn at(cmd: Command, path: &[&str], f: &dyn Fn(Command) -> Command) -> Command {
    match path {
        [] => f(cmd),
        [first, rest @ ..] => cmd.mut_subcommand(*first, |sub| at(sub, rest, f)),
    }
}

/// The commands of kind's command line that users bring along, and ours.
const FROM_KIND: &[(&str, &str)] = &[
    ("create", "`local-cluster up` makes (or restores) a cluster"),
    (
        "delete",
        "`local-cluster down` removes the nodes and keeps the snapshot; `local-cluster clean` \
         removes the cluster",
    ),
    (
        "get",
        "`local-cluster status` shows the cluster and its nodes",
    ),
    (
        "export",
        "`local-cluster logs` collects the logs; the kubeconfig is the admin.conf `up` prints",
    ),
];

/// Commands an unknown command's name never leads to by a guess: they
/// remove things.
const NEVER_GUESSED: &[&str] = &["clean", "down"];

/// What an unknown command `name` is answered with: the commands there are,
/// kind's equivalent when it is one of kind's, or the nearest harmless one.
pub fn unknown_command(root: &Command, name: &str) -> String {
    let mut commands: Vec<&Command> = root
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .collect();
    commands.sort_by_key(|c| c.get_display_order());
    let visible: Vec<&str> = commands.iter().map(|c| c.get_name()).collect();
    let mut text = format!("error: {name:?} is not a command of local-cluster\n\n");
    if let Some((_, ours)) = FROM_KIND.iter().find(|(kind, _)| *kind == name) {
        text.push_str(&format!("kind's `{name}`: {ours}.\n"));
    } else if let Some(near) = visible
        .iter()
        .filter(|c| !NEVER_GUESSED.contains(c))
        .map(|c| (strsim::jaro_winkler(name, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
    {
        text.push_str(&format!("Did you mean `local-cluster {near}`?\n"));
    }
    text.push_str(&format!(
        "Commands: {}. `local-cluster --help` says what each does.\n",
        visible.join(", ")
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(cmd: &Command, prefix: &str, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
            let path = format!("{prefix}{}", sub.get_name());
            if sub.has_subcommands() {
                paths(sub, &format!("{path} "), out);
            } else {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_command_says_which_settings_its_help_shows() {
        let mut all = Vec::new();
        paths(&super::super::command(), "", &mut all);
        for path in &all {
            assert!(
                SHOWN.iter().any(|(p, _)| p == path),
                "{path} is not in SHOWN"
            );
        }
        for (path, _) in SHOWN {
            assert!(all.contains(&path.to_string()), "{path} is no command");
        }
    }

    #[test]
    fn an_unknown_command_never_leads_to_one_that_removes_things() {
        let root = super::super::command();
        let create = unknown_command(&root, "create");
        assert!(create.contains("`local-cluster up` makes"), "{create}");
        let near = unknown_command(&root, "clear");
        assert!(
            !near.contains("Did you mean `local-cluster clean`"),
            "{near}"
        );
        let status = unknown_command(&root, "stauts");
        assert!(
            status.contains("Did you mean `local-cluster status`?"),
            "{status}"
        );
        assert!(
            status.contains(
                "Commands: up, down, clean, status, snapshot, pause, unpause, reup, e2e,"
            ),
            "{status}"
        );
        assert!(!status.contains("docs"), "{status}");
    }
}
