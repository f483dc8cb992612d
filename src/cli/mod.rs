//! The command line: clap definitions generated from the settings table,
//! subcommand dispatch, and nothing else.

mod argv;
mod help;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgMatches, Command, FromArgMatches, Subcommand};

use crate::app;
use crate::app::command::Command as AppCommand;
use crate::output::{self, Stream, WriteError};
use crate::settings::groups::{self, Group};
use crate::settings::{self, Flags, Inputs, Key, Kind, SETTINGS};
use crate::ui::Ui;

fn setting_arg(d: &'static settings::SettingDef, group: Group) -> Arg {
    let default = match d.default_display() {
        "" => String::new(),
        s => format!(" [default: {s}]"),
    };
    let long_help = format!(
        "{}.\n\nAccepts {}.{default}\n[env: {}] [config: {}]",
        d.help,
        d.kind.accepted(),
        d.env(),
        d.key
    );
    let mut arg = Arg::new(d.key)
        .long(d.flag)
        .value_name(d.kind.value_name())
        .help(format!("{}{default} [env: {}]", d.help, d.env()))
        .long_help(long_help)
        .global(true)
        .help_heading(group.heading());
    if d.id == Key::Verbose {
        // As in kubectl: -v 5, -v=5 (the counted -v and -vv: see argv).
        arg = arg.short('v');
    }
    if d.kind == Kind::Bool {
        // `--build-kubeadm` alone means true; `--build-kubeadm=false` is allowed.
        arg = arg
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true");
    }
    arg
}

/// The whole command tree.
pub fn command() -> Command {
    let cmd = Command::new("local-cluster")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Multi-node Kubernetes clusters on one Docker engine, installed with kubeadm")
        .long_about(
            "Multi-node Kubernetes clusters on one Docker engine: each node is a container \
             running systemd and containerd, and kubeadm installs Kubernetes onto them.\n\n\
             A bare `local-cluster` means `local-cluster up`.\n\n\
             Each setting is a flag, a K8S_DIND_* environment variable and a key of the \
             config file (~/.kubeadm-local-cluster/config.yaml); `local-cluster config` \
             shows where each value came from.",
        );
    let mut cmd = AppCommand::augment_subcommands(cmd);
    let order: Vec<(Group, Key)> = groups::in_help_order().collect();
    for (group, key) in &order {
        cmd = cmd.arg(setting_arg(key.def(), *group));
    }
    help::shape(cmd, &order, |key| {
        setting_arg(key.def(), groups::group_of(key))
    })
}

/// The command line `args` (the program's name first) read by clap.
pub(crate) fn matches_from(
    args: impl IntoIterator<Item = OsString>,
) -> Result<ArgMatches, clap::Error> {
    command().try_get_matches_from(argv::normalize(args))
}

/// The settings flags given on the command line (only those, not defaults).
pub(crate) fn flags(matches: &ArgMatches) -> Flags {
    let mut values = std::collections::BTreeMap::new();
    let mut sub = Some(matches);
    let mut all = Vec::new();
    while let Some(m) = sub {
        all.push(m);
        sub = m.subcommand().map(|(_, s)| s);
    }
    for d in SETTINGS {
        // Global args are propagated to the subcommand; read the deepest.
        for m in all.iter().rev() {
            if m.value_source(d.key) == Some(clap::parser::ValueSource::CommandLine) {
                if let Some(v) = m.get_one::<String>(d.key) {
                    values.insert(d.id, v.clone());
                }
                break;
            }
        }
    }
    Flags { values }
}

/// The command the command line names; `up` when it names none.
fn parse(matches: &ArgMatches) -> Result<AppCommand, clap::Error> {
    match matches.subcommand() {
        None => Ok(AppCommand::Up),
        Some(_) => AppCommand::from_arg_matches(matches),
    }
}

pub fn main() -> ExitCode {
    let matches = match matches_from(std::env::args_os()) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::InvalidSubcommand => {
            let name = match e.get(ContextKind::InvalidSubcommand) {
                Some(ContextValue::String(name)) => name.clone(),
                _ => String::new(),
            };
            output::note(help::unknown_command(&command(), &name).trim_end());
            return ExitCode::from(2);
        }
        Err(e) => {
            // `--help` and `--version` go to stdout, usage errors to stderr;
            // clap reports a failed write instead of panicking, but leaves
            // stdout unflushed.
            let (stream, code) = if e.use_stderr() {
                (Stream::Stderr, ExitCode::from(2))
            } else {
                (Stream::Stdout, ExitCode::SUCCESS)
            };
            let printed = e.print().and_then(|()| std::io::stdout().flush());
            return match (printed, stream) {
                (Err(error), Stream::Stdout) => output_failed(&WriteError { stream, error }),
                _ => code,
            };
        }
    };
    let invoked = match parse(&matches) {
        Ok(invoked) => invoked,
        Err(e) => {
            output::note(format_args!("error: {e}"));
            return ExitCode::from(2);
        }
    };
    // Commands that need no settings.
    match &invoked {
        AppCommand::Completion { shell } => {
            let shell = match shell.as_str() {
                "zsh" => clap_complete::Shell::Zsh,
                "fish" => clap_complete::Shell::Fish,
                _ => clap_complete::Shell::Bash,
            };
            // Into memory first: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command(), "local-cluster", &mut script);
            return finish(output::bytes(&script));
        }
        AppCommand::Docs { .. } => {
            return finish(output::text(settings::render::markdown_table()));
        }
        _ => {}
    }

    let resolved = match settings::resolve(&Inputs::from_process(), &flags(&matches)) {
        Ok(r) => r,
        Err(e) => {
            output::note(format_args!("error: {e}"));
            return ExitCode::from(2);
        }
    };
    let settings = resolved.settings;
    let ui = Ui::terminal(settings.verbose);
    for w in &resolved.warnings {
        ui.warn(w);
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::note(format_args!("error: cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let what_was_left = |flag: &str| invoked.what_was_left(&settings.cluster_name, flag);
    let outcome = runtime.block_on(app::interrupt::until_signal(app::command::run(
        invoked.clone(),
        &settings,
        &ui,
    )));
    runtime.block_on(app::interrupt::remove_temporaries(&settings, &ui));
    // Blocking tasks of a stopped command (a tar being written) are not
    // waited for long.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match outcome {
        Ok(Ok(exit)) => ExitCode::from(exit.code()),
        Ok(Err(e)) => match e.chain().find_map(|c| c.downcast_ref::<WriteError>()) {
            Some(write) => output_failed(write),
            None => {
                output::note(format_args!("error: {}", crate::error::chain(e.as_ref())));
                ExitCode::FAILURE
            }
        },
        Err(stopped) => {
            let flag = crate::cluster::state::plan::cluster_flag(&settings.cluster_name);
            ui.warn(format!(
                "stopped by {}: {}",
                stopped.name(),
                what_was_left(&flag)
            ));
            ExitCode::from(stopped.exit_code())
        }
    }
}

fn finish(written: Result<(), WriteError>) -> ExitCode {
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => output_failed(&e),
    }
}

/// How a command ends whose results could not be written: quietly when the
/// reader went away (like a tool SIGPIPE killed), else saying why.
fn output_failed(e: &WriteError) -> ExitCode {
    if e.is_broken_pipe() {
        return ExitCode::from(output::BROKEN_PIPE_EXIT);
    }
    output::note(format_args!("error: {e}"));
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::command::Build;
    use crate::e2e::{Selection, Suite};

    #[test]
    fn the_command_tree_is_consistent() {
        command().debug_assert();
    }

    fn parsed(args: &[&str]) -> AppCommand {
        let m = matches_from(
            std::iter::once("local-cluster")
                .chain(args.iter().copied())
                .map(OsString::from),
        )
        .unwrap();
        parse(&m).unwrap()
    }

    fn e2e_selection(args: &[&str]) -> Selection {
        match parsed(args) {
            AppCommand::E2e(a) => a.selection(Suite::Parallel),
            AppCommand::E2eSerial(a) => a.selection(Suite::Serial),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_command_line_is_read_into_its_command() {
        assert_eq!(parsed(&[]), AppCommand::Up);
        assert_eq!(parsed(&["--num-nodes", "1"]), AppCommand::Up);
        assert_eq!(parsed(&["clean", "--all"]), AppCommand::Clean { all: true });
        assert_eq!(
            parsed(&["build", "node-image", "--force"]),
            AppCommand::Build {
                what: Build::NodeImage {
                    bare: false,
                    force: true
                }
            }
        );
        assert_eq!(
            parsed(&["load", "a:1", "b:2", "--archive", "x.tar"]),
            AppCommand::Load {
                images: vec!["a:1".into(), "b:2".into()],
                archive: vec!["x.tar".into()]
            }
        );
        assert_eq!(parsed(&["dashboard"]), AppCommand::Dashboard { port: 4466 });
        assert_eq!(
            parsed(&["push", "--archive", "i.tar"]),
            AppCommand::Push {
                archive: Some("i.tar".into()),
                images: vec![]
            }
        );
        assert_eq!(
            parsed(&[
                "registry",
                "--mirror",
                "registry.k8s.io",
                "--mirror",
                "ghcr.io"
            ]),
            AppCommand::Registry {
                mirror: vec!["registry.k8s.io".into(), "ghcr.io".into()]
            }
        );
    }

    #[test]
    fn e2e_takes_a_substring_and_passes_what_follows_the_double_dash() {
        let s = e2e_selection(&["e2e"]);
        assert_eq!(
            (s.suite, s.substring, s.passthrough.len()),
            (Suite::Parallel, None, 0)
        );
        let s = e2e_selection(&[
            "e2e-serial",
            "Pods should",
            "--",
            "--ginkgo.procs=2",
            "-v=4",
            "plain",
        ]);
        assert_eq!(s.suite, Suite::Serial);
        assert_eq!(s.substring.as_deref(), Some("Pods should"));
        assert_eq!(s.passthrough, ["--ginkgo.procs=2", "-v=4", "plain"]);
        // Settings flags still work beside it.
        let s = e2e_selection(&["e2e", "--cluster-name", "x", "--", "--ginkgo.v"]);
        assert_eq!(
            (s.substring, s.passthrough),
            (None, vec!["--ginkgo.v".to_string()])
        );
    }

    #[test]
    fn e2e_refuses_a_second_substring_and_unknown_flags_before_the_double_dash() {
        for args in [&["e2e", "a", "b"][..], &["e2e", "--ginkgo.procs=2"][..]] {
            let all: Vec<&str> = std::iter::once("local-cluster")
                .chain(args.iter().copied())
                .collect();
            assert!(command().try_get_matches_from(all).is_err(), "{args:?}");
        }
    }

    #[test]
    fn flags_are_read_from_any_position() {
        let m = matches_from(
            [
                "local-cluster",
                "--num-nodes",
                "0",
                "up",
                "--build-kubeadm",
                "-vv",
            ]
            .map(OsString::from),
        )
        .unwrap();
        let f = flags(&m);
        assert_eq!(f.values.get(&Key::NumNodes).map(String::as_str), Some("0"));
        assert_eq!(
            f.values.get(&Key::BuildKubeadm).map(String::as_str),
            Some("true")
        );
        assert_eq!(f.values.get(&Key::Verbose).map(String::as_str), Some("3"));
        let m = command()
            .try_get_matches_from(["local-cluster", "--no-dedicated=false"])
            .unwrap();
        assert_eq!(
            flags(&m).values.get(&Key::NoDedicated).map(String::as_str),
            Some("false")
        );
        assert!(!flags(&m).values.contains_key(&Key::NumNodes));
    }
}
