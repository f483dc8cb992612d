//! The command line: clap definitions generated from the settings table,
//! subcommand dispatch, and nothing else.

use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::app::{self, NodeImageKind};
use crate::settings::{self, Flags, Inputs, Kind, Settings, SETTINGS};
use crate::ui::Ui;

fn setting_arg(d: &'static settings::SettingDef) -> Arg {
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
        .help_heading("Settings (also in config.yaml and K8S_DIND_* variables)");
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
    let mut cmd = Command::new("local-cluster")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Multi-node Kubernetes clusters on one Docker engine, installed with kubeadm")
        .long_about(
            "Multi-node Kubernetes clusters on one Docker engine: each node is a container \
             running systemd and containerd, and kubeadm installs Kubernetes onto them.\n\n\
             A bare `local-cluster` means `local-cluster up`.",
        )
        .arg(
            Arg::new("verbose-count")
                .short('v')
                .action(ArgAction::Count)
                .global(true)
                .help("More output: -v shows kubeadm and build output (like --v 2), -vv more"),
        )
        .subcommand(
            Command::new("up")
                .about("Bring the cluster up (from its snapshot when the settings match)"),
        )
        .subcommand(
            Command::new("reup")
                .about("Rebuild Kubernetes from source and bring the cluster up with it"),
        )
        .subcommand(Command::new("down").about("Remove the node containers, keeping the snapshot"))
        .subcommand(
            Command::new("clean")
                .about("`down`, plus remove the snapshot, volumes and network")
                .arg(
                    Arg::new("all")
                        .long("all")
                        .action(ArgAction::SetTrue)
                        .help("Also remove node images and the build cache"),
                ),
        )
        .subcommand(
            Command::new("e2e")
                .about("Run the non-serial conformance tests in parallel")
                .arg(Arg::new("substring").help("Only tests whose name contains this")),
        )
        .subcommand(
            Command::new("e2e-serial")
                .about("Run the serial conformance tests")
                .arg(Arg::new("substring").help("Only tests whose name contains this")),
        )
        .subcommand(Command::new("status").about("Show the cluster's nodes and snapshot"))
        .subcommand(
            Command::new("logs")
                .about("Collect node, kubelet, containerd and pod logs")
                .arg(
                    Arg::new("dir")
                        .long("dir")
                        .value_name("DIR")
                        .help("Where to write them"),
                ),
        )
        .subcommand(
            Command::new("load")
                .about("Copy images from the Docker engine into every node")
                .arg(
                    Arg::new("images")
                        .required(true)
                        .num_args(1..)
                        .value_name("IMAGE"),
                ),
        )
        .subcommand(
            Command::new("build")
                .about("Build images")
                .subcommand_required(true)
                .subcommand(
                    Command::new("node-image")
                        .about("Build the node image for the Kubernetes version (or the bare one)")
                        .arg(
                            Arg::new("bare")
                                .long("bare")
                                .action(ArgAction::SetTrue)
                                .help("Without Kubernetes, for source builds"),
                        ),
                ),
        )
        .subcommand(
            Command::new("config")
                .about("Print the effective settings as YAML, with the source of each"),
        )
        .subcommand(
            Command::new("completion")
                .about("Print a shell completion script")
                .arg(
                    Arg::new("shell")
                        .required(true)
                        .value_parser(["bash", "zsh", "fish"]),
                ),
        )
        .subcommand(
            Command::new("docs")
                .hide(true)
                .subcommand_required(true)
                .subcommand(Command::new("settings-table").about("The README's settings table")),
        );
    for d in SETTINGS {
        cmd = cmd.arg(setting_arg(d));
    }
    cmd
}

/// The settings flags given on the command line (only those, not defaults).
fn flags(matches: &ArgMatches) -> Flags {
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
                    values.insert(d.key, v.clone());
                }
                break;
            }
        }
    }
    let verbose_count = all
        .iter()
        .map(|m| m.get_count("verbose-count"))
        .max()
        .unwrap_or(0);
    Flags {
        values,
        verbose_count,
    }
}

pub fn main() -> ExitCode {
    let matches = match command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // Commands that need no settings.
    match matches.subcommand() {
        Some(("completion", m)) => {
            let shell = match m.get_one::<String>("shell").map(String::as_str) {
                Some("zsh") => clap_complete::Shell::Zsh,
                Some("fish") => clap_complete::Shell::Fish,
                _ => clap_complete::Shell::Bash,
            };
            clap_complete::generate(
                shell,
                &mut command(),
                "local-cluster",
                &mut std::io::stdout(),
            );
            return ExitCode::SUCCESS;
        }
        Some(("docs", _)) => {
            print!("{}", settings::render::markdown_table());
            return ExitCode::SUCCESS;
        }
        _ => {}
    }

    let resolved = match settings::resolve(&Inputs::from_process(), &flags(&matches)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
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
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(&matches, &settings, &ui)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", crate::error::chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(matches: &ArgMatches, settings: &Settings, ui: &Ui) -> anyhow::Result<()> {
    match matches.subcommand() {
        None | Some(("up", _)) => app::up(settings, ui).await,
        Some(("reup", _)) => app::reup(settings, ui).await,
        Some(("down", _)) => app::down(settings, ui).await,
        Some(("clean", m)) => app::clean(settings, ui, m.get_flag("all")).await,
        Some(("e2e", m)) => {
            app::e2e(
                settings,
                ui,
                false,
                m.get_one::<String>("substring").cloned(),
            )
            .await
        }
        Some(("e2e-serial", m)) => {
            app::e2e(
                settings,
                ui,
                true,
                m.get_one::<String>("substring").cloned(),
            )
            .await
        }
        Some(("status", _)) => app::status(settings, ui).await,
        Some(("logs", m)) => {
            app::export_logs(settings, ui, m.get_one::<String>("dir").map(Into::into)).await
        }
        Some(("load", m)) => {
            let images = m
                .get_many::<String>("images")
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            app::load_images(settings, ui, images).await
        }
        Some(("build", m)) => {
            let bare = m
                .subcommand_matches("node-image")
                .is_some_and(|n| n.get_flag("bare"));
            app::build_node_image(
                settings,
                ui,
                if bare {
                    NodeImageKind::Bare
                } else {
                    NodeImageKind::Full
                },
            )
            .await
        }
        Some(("config", _)) => {
            print!("{}", settings::render::effective_yaml(settings));
            Ok(())
        }
        Some((other, _)) => anyhow::bail!("unknown command {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_tree_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn flags_are_read_from_any_position() {
        let m = command()
            .try_get_matches_from([
                "local-cluster",
                "--num-nodes",
                "0",
                "up",
                "--build-kubeadm",
                "-vv",
            ])
            .unwrap();
        let f = flags(&m);
        assert_eq!(
            f.values.get("cluster.numNodes").map(String::as_str),
            Some("0")
        );
        assert_eq!(
            f.values.get("source.buildKubeadm").map(String::as_str),
            Some("true")
        );
        assert_eq!(f.verbose_count, 2);
        let m = command()
            .try_get_matches_from(["local-cluster", "--no-dedicated=false"])
            .unwrap();
        assert_eq!(
            flags(&m)
                .values
                .get("cluster.noDedicated")
                .map(String::as_str),
            Some("false")
        );
        assert!(!flags(&m).values.contains_key("cluster.numNodes"));
    }
}
