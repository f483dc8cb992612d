//! The command line: clap definitions generated from the settings table,
//! subcommand dispatch, and nothing else.

use std::io::Write;
use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::app::{self, NodeImageKind};
use crate::e2e::{Selection, Suite};
use crate::output::{self, Stream, WriteError};
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
                .about("Rebuild Kubernetes from the source tree and swap it into the running cluster")
                .long_about(
                    "Rebuild what --build-hyperkube (kubelet, control plane, kube-proxy), \
                     --build-kubeadm and --build-kubectl select in the source tree (--k8s-dir) \
                     and swap what changed into the running cluster without re-creating it: \
                     binaries replaced in the nodes, kubelets restarted, the control plane and \
                     kube-proxy run from images of the new binaries. A failed build changes \
                     nothing. Not running: the snapshot is restored and the build swapped in \
                     (or, without a snapshot, the cluster is brought up with the build).",
                ),
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
        .subcommand(e2e_command(
            "e2e",
            "Run the conformance tests not marked Serial, in parallel, against the running cluster",
        ))
        .subcommand(e2e_command(
            "e2e-serial",
            "Run the serial conformance tests, one at a time, against the running cluster",
        ))
        .subcommand(Command::new("status").about("Show the cluster's nodes, snapshot, node image and registry"))
        .subcommand(
            Command::new("dashboard")
                .about("Open Headlamp (the dashboard addon): print its URL and a login token, forward a loopback port to it until Ctrl-C")
                .arg(
                    Arg::new("port")
                        .long("port")
                        .value_parser(clap::value_parser!(u16).range(1..))
                        .default_value("4466")
                        .help("Port on 127.0.0.1 to forward"),
                ),
        )
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
                .about("Copy images from the Docker engine (for a remote engine, also the local one) or `docker save` archives into every node")
                .arg(
                    Arg::new("images")
                        .required_unless_present("archive")
                        .num_args(1..)
                        .value_name("IMAGE"),
                )
                .arg(
                    Arg::new("archive")
                        .long("archive")
                        .value_name("FILE")
                        .action(ArgAction::Append)
                        .help("Also load every image of this `docker save` archive (repeatable)"),
                ),
        )
        .subcommand(
            Command::new("registry")
                .about("Start the cluster's local image registry (localhost:<port>) and configure the nodes for it")
                .arg(
                    Arg::new("mirror")
                        .long("mirror")
                        .value_name("HOST")
                        .action(ArgAction::Append)
                        .help("Also let nodes look in it first for images of this registry (e.g. registry.k8s.io)"),
                ),
        )
        .subcommand(
            Command::new("push")
                .about("Push images from the Docker engine (or a `docker save` archive) into the cluster's registry")
                .long_about(
                    "Push images from the Docker engine into the cluster's registry, each under \
                     its name without registry host: myapp:dev as localhost:<port>/myapp:dev, \
                     registry.k8s.io/pause:3.10 as localhost:<port>/pause:3.10 (which a \
                     `registry --mirror registry.k8s.io` serves). Prints the stored names.",
                )
                .arg(
                    Arg::new("archive")
                        .long("archive")
                        .value_name("FILE")
                        .help("Take the images from this `docker save` archive (IMAGE names select some; all without)"),
                )
                .arg(
                    Arg::new("images")
                        .required_unless_present("archive")
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
                        )
                        .arg(
                            Arg::new("force")
                                .long("force")
                                .action(ArgAction::SetTrue)
                                .help("Build it again even when an image made from the same inputs is there"),
                        ),
                ),
        )
        .subcommand(
            Command::new("source")
                .about("Put a Kubernetes source tree together from the Go module proxy (no git access needed)")
                .long_about(
                    "Put the source tree of the configured Kubernetes version together in DIR \
                     from the Go module proxy: k8s.io/kubernetes with its staging modules, \
                     build scripts made executable, the modules its binaries need downloaded. \
                     With git installed it is committed and tagged with its version, so builds \
                     from it say which version they are and whether it was changed.",
                )
                .arg(
                    Arg::new("dir")
                        .required(true)
                        .value_name("DIR")
                        .help("A new or empty directory"),
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
    // Commands that need no settings.
    match matches.subcommand() {
        Some(("completion", m)) => {
            let shell = match m.get_one::<String>("shell").map(String::as_str) {
                Some("zsh") => clap_complete::Shell::Zsh,
                Some("fish") => clap_complete::Shell::Fish,
                _ => clap_complete::Shell::Bash,
            };
            // Into memory first: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command(), "local-cluster", &mut script);
            return finish(output::bytes(&script));
        }
        Some(("docs", _)) => {
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
    let outcome = runtime.block_on(app::interrupt::until_signal(dispatch(
        &matches, &settings, &ui,
    )));
    runtime.block_on(app::interrupt::remove_temporaries(&settings, &ui));
    // Blocking tasks of a stopped command (a tar being written) are not
    // waited for long.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => match e.chain().find_map(|c| c.downcast_ref::<WriteError>()) {
            Some(write) => output_failed(write),
            None => {
                output::note(format_args!("error: {}", crate::error::chain(e.as_ref())));
                ExitCode::FAILURE
            }
        },
        Err(stopped) => {
            let command = matches.subcommand_name().unwrap_or("up");
            let flag = crate::cluster::state::plan::cluster_flag(&settings.cluster_name);
            ui.warn(format!(
                "stopped by {}: {}",
                stopped.name(),
                app::interrupt::what_was_left(command, &settings.cluster_name, &flag)
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

fn e2e_command(name: &'static str, about: &'static str) -> Command {
    Command::new(name)
        .about(about)
        .arg(Arg::new("substring").help(
            "Instead of the conformance tests, the tests whose full name contains this text \
             (not a regular expression)",
        ))
        .arg(
            Arg::new("passthrough")
                .last(true)
                .num_args(0..)
                .allow_hyphen_values(true)
                .value_name("ARGS")
                .help(
                    "After --: arguments for the tests: --ginkgo.X=V goes to ginkgo as --X=V \
                     (e.g. --ginkgo.procs=2, --ginkgo.skip=Slow), anything else to e2e.test",
                ),
        )
        .after_help(
            "Results (JUnit XML, ginkgo's JSON report, one log per failed test) go to a new \
             folder under the cluster's directory, printed at the end. The exit status is 0 \
             only when no test failed.",
        )
}

fn selection(suite: Suite, m: &ArgMatches) -> Selection {
    Selection {
        suite,
        substring: m.get_one::<String>("substring").cloned(),
        passthrough: strings(m, "passthrough"),
    }
}

/// Every value of a repeatable argument, in order.
fn strings(m: &ArgMatches, id: &str) -> Vec<String> {
    m.get_many::<String>(id)
        .into_iter()
        .flatten()
        .cloned()
        .collect()
}

async fn dispatch(matches: &ArgMatches, settings: &Settings, ui: &Ui) -> anyhow::Result<()> {
    match matches.subcommand() {
        None | Some(("up", _)) => app::up(settings, ui).await,
        Some(("reup", _)) => app::reup(settings, ui).await,
        Some(("source", m)) => {
            let dir = m.get_one::<String>("dir").expect("required");
            app::source_tree(settings, ui, std::path::Path::new(dir)).await
        }
        Some(("down", _)) => app::down(settings, ui).await,
        Some(("clean", m)) => app::clean(settings, ui, m.get_flag("all")).await,
        Some(("e2e", m)) => app::e2e(settings, ui, selection(Suite::Parallel, m)).await,
        Some(("e2e-serial", m)) => app::e2e(settings, ui, selection(Suite::Serial, m)).await,
        Some(("status", _)) => app::status(settings, ui).await,
        Some(("dashboard", m)) => {
            let port = *m.get_one::<u16>("port").expect("has a default");
            app::dashboard(settings, ui, port).await
        }
        Some(("logs", m)) => {
            app::export_logs(settings, ui, m.get_one::<String>("dir").map(Into::into)).await
        }
        Some(("load", m)) => {
            let request = crate::ops::load::LoadRequest {
                images: strings(m, "images"),
                archives: strings(m, "archive").into_iter().map(Into::into).collect(),
            };
            app::load_images(settings, ui, request).await
        }
        Some(("registry", m)) => app::registry(settings, ui, strings(m, "mirror")).await,
        Some(("push", m)) => {
            let images = strings(m, "images");
            let archive = m.get_one::<String>("archive").map(Into::into);
            app::push(settings, ui, images, archive).await
        }
        Some(("build", m)) => {
            let flag = |name| {
                m.subcommand_matches("node-image")
                    .is_some_and(|n| n.get_flag(name))
            };
            let kind = if flag("bare") {
                NodeImageKind::Bare
            } else {
                NodeImageKind::Full
            };
            app::build_node_image(settings, ui, kind, flag("force")).await
        }
        Some(("config", _)) => {
            output::text(settings::render::effective_yaml(settings))?;
            Ok(())
        }
        Some((other, _)) => anyhow::bail!("unknown command {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Key;

    #[test]
    fn the_command_tree_is_consistent() {
        command().debug_assert();
    }

    fn e2e_selection(args: &[&str]) -> Selection {
        let m = command()
            .try_get_matches_from(std::iter::once("local-cluster").chain(args.iter().copied()))
            .unwrap();
        let (name, sub) = m.subcommand().unwrap();
        let suite = if name == "e2e" {
            Suite::Parallel
        } else {
            Suite::Serial
        };
        selection(suite, sub)
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
        assert_eq!(f.values.get(&Key::NumNodes).map(String::as_str), Some("0"));
        assert_eq!(
            f.values.get(&Key::BuildKubeadm).map(String::as_str),
            Some("true")
        );
        assert_eq!(f.verbose_count, 2);
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
