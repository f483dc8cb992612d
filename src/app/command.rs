//! The commands, as one typed enum: clap reads the command line into it
//! ([`crate::cli`] adds the settings flags from the settings table), and
//! [`run`] carries each out. Nothing is dispatched on strings.

use std::path::PathBuf;

use clap::{ArgAction, Args, Subcommand};

pub use super::exit::Exit;
use super::NodeImageKind;
use crate::e2e::{Selection, Suite};
use crate::output;
use crate::settings::{self, Settings};
use crate::ui::Ui;

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Bring the cluster up (from its snapshot when the settings match)
    Up,
    /// Rebuild Kubernetes from the source tree and swap it into the running cluster
    #[command(
        long_about = "Rebuild what --build-hyperkube (kubelet, control plane, kube-proxy), \
                      --build-kubeadm and --build-kubectl select in the source tree (--k8s-dir) \
                      and swap what changed into the running cluster without re-creating it: \
                      binaries replaced in the nodes, kubelets restarted, the control plane and \
                      kube-proxy run from images of the new binaries. A failed build changes \
                      nothing. Not running: the snapshot is restored and the build swapped in \
                      (or, without a snapshot, the cluster is brought up with the build)."
    )]
    Reup,
    /// Remove the node containers, keeping the snapshot
    Down,
    /// Freeze every node (no CPU used, memory kept) until `unpause`
    Pause,
    /// Resume a paused cluster and wait until it is ready
    Unpause,
    /// Named snapshots of the cluster with its workloads: save, restore, list, rm
    Snapshot {
        #[command(subcommand)]
        what: SnapshotCommand,
    },
    /// `down`, plus remove the snapshot, volumes and network (named snapshots stay)
    Clean {
        /// Also remove the named snapshots, node images and the build cache
        #[arg(long)]
        all: bool,
    },
    /// Run the conformance tests not marked Serial, in parallel, against the running cluster
    #[command(after_help = E2E_AFTER_HELP)]
    E2e(E2eArgs),
    /// Run the serial conformance tests, one at a time, against the running cluster
    #[command(after_help = E2E_AFTER_HELP)]
    E2eSerial(E2eArgs),
    /// Show the cluster's nodes, snapshot, node image and registry
    #[command(after_help = STATUS_AFTER_HELP)]
    Status,
    /// Open Headlamp (the dashboard addon): print its URL and a login token, forward a loopback port to it until Ctrl-C
    Dashboard {
        /// Port on 127.0.0.1 to forward
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..), default_value = "4466")]
        port: u16,
    },
    /// Collect node, kubelet, containerd and pod logs
    Logs {
        /// Where to write them
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Copy images from the Docker engine (for a remote engine, also the local one) or `docker save` archives into every node
    Load {
        /// Images to copy, by the name the engine knows them by (e.g. myapp:dev, registry.k8s.io/pause:3.10)
        #[arg(required_unless_present = "archive", num_args = 1.., value_name = "IMAGE")]
        images: Vec<String>,
        /// Also load every image of this `docker save` archive (repeatable)
        #[arg(long, value_name = "FILE", action = ArgAction::Append)]
        archive: Vec<PathBuf>,
    },
    /// Start the cluster's local image registry (localhost:<port>) and configure the nodes for it
    Registry {
        /// Also let nodes look in it first for images of this registry (e.g. registry.k8s.io)
        #[arg(long, value_name = "HOST", action = ArgAction::Append)]
        mirror: Vec<String>,
    },
    /// Push images from the Docker engine (or a `docker save` archive) into the cluster's registry
    #[command(
        long_about = "Push images from the Docker engine into the cluster's registry, each under \
                      its name without registry host: myapp:dev as localhost:<port>/myapp:dev, \
                      registry.k8s.io/pause:3.10 as localhost:<port>/pause:3.10 (which a \
                      `registry --mirror registry.k8s.io` serves). Prints the stored names."
    )]
    Push {
        /// Take the images from this `docker save` archive (IMAGE names select some; all without)
        #[arg(long, value_name = "FILE")]
        archive: Option<PathBuf>,
        /// Images to push, by the name the engine (or the archive) knows them by
        #[arg(required_unless_present = "archive", num_args = 1.., value_name = "IMAGE")]
        images: Vec<String>,
    },
    /// Build images
    Build {
        #[command(subcommand)]
        what: Build,
    },
    /// Put a Kubernetes source tree together from the Go module proxy (no git access needed)
    #[command(
        long_about = "Put the source tree of the configured Kubernetes version together in DIR \
                      from the Go module proxy: k8s.io/kubernetes with its staging modules, \
                      build scripts made executable, the modules its binaries need downloaded. \
                      With git installed it is committed and tagged with its version, so builds \
                      from it say which version they are and whether it was changed."
    )]
    Source {
        /// A new or empty directory
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Print the effective settings as YAML, with the source of each
    Config,
    /// Check that this machine can run clusters: engine and its permissions, node image, download sites, Go, root, disk, inotify, kernel
    #[command(after_help = DOCTOR_AFTER_HELP)]
    Doctor,
    /// Print a shell completion script (`completion --help` says how to install it)
    #[command(after_help = COMPLETION_AFTER_HELP)]
    Completion {
        /// The shell the script is for
        #[arg(value_parser = ["bash", "zsh", "fish"])]
        shell: String,
    },
    #[command(hide = true)]
    Docs {
        #[command(subcommand)]
        what: Docs,
    },
}

const E2E_AFTER_HELP: &str = "Results (JUnit XML, ginkgo's JSON report, one log per failed \
    test) go to a new folder under the cluster's directory, printed at the end. The exit status \
    is 0 only when no test failed.";

const COMPLETION_AFTER_HELP: &str = "To install it for your user (then open a new shell):\n  \
    bash: mkdir -p ~/.local/share/bash-completion/completions && local-cluster completion bash \
    > ~/.local/share/bash-completion/completions/local-cluster\n  \
    zsh:  mkdir -p ~/.zfunc && local-cluster completion zsh > ~/.zfunc/_local-cluster, and in \
    ~/.zshrc before compinit: fpath=(~/.zfunc $fpath)\n  \
    fish: local-cluster completion fish > ~/.config/fish/completions/local-cluster.fish";

const DOCTOR_AFTER_HELP: &str = "Each finding is ok, a warning (works, with a cost worth \
    knowing) or a PROBLEM, with what to do about it. Exit status: 0 without problems, 1 with \
    one or more. It makes nothing: the network devices are tried in a network namespace of its \
    own (as root), and the release site and registry are asked as `up` asks them.";

const STATUS_AFTER_HELP: &str = "Exit status: 0 when the cluster runs and is well, 3 when it \
    is not running (no node container), 4 when it runs but is unfinished or has broken nodes \
    (`up` repairs it), 5 when it is paused (`unpause` or `up` resumes it), 1 when the engine \
    could not be asked, 2 for a wrong command line.";

/// What `e2e` and `e2e-serial` take.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct E2eArgs {
    /// Instead of the conformance tests, the tests whose full name contains this text (not a regular expression)
    pub substring: Option<String>,
    /// After --: arguments for the tests: --ginkgo.X=V goes to ginkgo as --X=V (e.g. --ginkgo.procs=2, --ginkgo.skip=Slow), anything else to e2e.test
    #[arg(last = true, num_args = 0.., allow_hyphen_values = true, value_name = "ARGS")]
    pub passthrough: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Build {
    /// Build the node image for the Kubernetes version (or the bare one)
    NodeImage {
        /// Without Kubernetes, for source builds
        #[arg(long)]
        bare: bool,
        /// Build it again even when an image made from the same inputs is there
        #[arg(long)]
        force: bool,
    },
    /// Build the images a new cluster installs beside the node image (pod network, addons), into the cache, without a cluster
    Images,
    /// Get the conformance tests (e2e.test, ginkgo) and build the images they run, into the cache, without a cluster
    E2e,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum SnapshotCommand {
    /// Save the running cluster as it is now (workloads, etcd, loaded images, volumes); its nodes are frozen while their /var is copied
    Save {
        /// Lowercase letters, digits and dashes (e.g. before-upgrade)
        name: String,
    },
    /// Return the cluster to a saved snapshot (what it runs now is replaced)
    Restore { name: String },
    /// The cluster's named snapshots: name, when saved, size, Kubernetes version, nodes, settings
    List,
    /// Remove a named snapshot
    Rm { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Docs {
    /// The README's settings table
    SettingsTable,
}

impl E2eArgs {
    pub fn selection(&self, suite: Suite) -> Selection {
        Selection {
            suite,
            substring: self.substring.clone(),
            passthrough: self.passthrough.clone(),
        }
    }
}

impl Command {
    /// What an interrupted run of this command left, and what to run next.
    pub fn what_was_left(&self, cluster: &str, flag: &str) -> String {
        match self {
            Command::Up | Command::Reup => format!(
                "cluster {cluster:?} may be half made or half restored; `local-cluster up{flag}` \
                 finishes it (from its snapshot when there is a complete one, else anew), \
                 `local-cluster clean{flag}` removes it"
            ),
            Command::Down => format!(
                "some node containers of cluster {cluster:?} may be left; `local-cluster \
                 down{flag}` again removes them (the snapshot stays), `local-cluster up{flag}` \
                 starts the cluster"
            ),
            Command::Snapshot {
                what: SnapshotCommand::Save { name },
            } => format!(
                "snapshot {name:?} may be half saved (it is never restored so; `local-cluster \
                 snapshot rm {name}{flag}` removes it) and the nodes of cluster {cluster:?} may \
                 be left paused; `local-cluster unpause{flag}` resumes them"
            ),
            Command::Snapshot {
                what: SnapshotCommand::Restore { .. },
            } => format!(
                "cluster {cluster:?} may be half replaced by the snapshot: the same \
                 `local-cluster snapshot restore` again restores it (a half-made cluster \
                 snapshot is never restored: `local-cluster up{flag}` would make the cluster anew)"
            ),
            Command::Pause | Command::Unpause => format!(
                "some nodes of cluster {cluster:?} may be paused and others not; `local-cluster \
                 unpause{flag}` resumes them all, `local-cluster pause{flag}` freezes them all"
            ),
            Command::Clean { .. } => format!(
                "part of cluster {cluster:?} may be left; `local-cluster clean{flag}` again \
                 removes the rest"
            ),
            Command::Build { .. } => "nothing half built is kept: the next build starts the \
                                      interrupted step again and reuses the finished ones"
                .to_string(),
            Command::E2e(_) | Command::E2eSerial(_) => format!(
                "the test run was stopped; its results so far are in its folder, and cluster \
                 {cluster:?} is as the tests left it"
            ),
            _ => "nothing needs repair".to_string(),
        }
    }
}

/// Carry out `command` with `settings`.
pub async fn run(command: Command, settings: &Settings, ui: &Ui) -> anyhow::Result<Exit> {
    let done = match command {
        Command::Status => return super::status(settings, ui).await,
        Command::Doctor => return super::doctor(settings, ui).await,
        Command::Up => super::up(settings, ui).await,
        Command::Reup => super::reup(settings, ui).await,
        Command::Source { dir } => super::source_tree(settings, ui, &dir).await,
        Command::Down => super::down(settings, ui).await,
        Command::Pause => super::pause(settings, ui).await,
        Command::Unpause => super::unpause(settings, ui).await,
        Command::Snapshot { what } => match what {
            SnapshotCommand::Save { name } => super::snapshot_save(settings, ui, &name).await,
            SnapshotCommand::Restore { name } => super::snapshot_restore(settings, ui, &name).await,
            SnapshotCommand::List => super::snapshot_list(settings, ui).await,
            SnapshotCommand::Rm { name } => super::snapshot_rm(settings, ui, &name).await,
        },
        Command::Clean { all } => super::clean(settings, ui, all).await,
        Command::E2e(args) => super::e2e(settings, ui, args.selection(Suite::Parallel)).await,
        Command::E2eSerial(args) => super::e2e(settings, ui, args.selection(Suite::Serial)).await,
        Command::Dashboard { port } => super::dashboard(settings, ui, port).await,
        Command::Logs { dir } => super::export_logs(settings, ui, dir).await,
        Command::Load { images, archive } => {
            let request = crate::ops::load::LoadRequest {
                images,
                archives: archive,
            };
            super::load_images(settings, ui, request).await
        }
        Command::Registry { mirror } => super::registry(settings, ui, mirror).await,
        Command::Push { images, archive } => super::push(settings, ui, images, archive).await,
        Command::Build {
            what: Build::NodeImage { bare, force },
        } => {
            let kind = if bare {
                NodeImageKind::Bare
            } else {
                NodeImageKind::Full
            };
            super::build_node_image(settings, ui, kind, force).await
        }
        Command::Build { what: Build::E2e } => super::build_e2e(settings, ui).await,
        Command::Build {
            what: Build::Images,
        } => super::build_images(settings, ui).await,
        Command::Config => {
            output::text(settings::render::effective_yaml(settings))?;
            Ok(())
        }
        // The command line prints these before reading settings.
        Command::Completion { .. } | Command::Docs { .. } => {
            anyhow::bail!("completion and docs are printed without settings")
        }
    };
    done.map(|()| Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interruption_names_the_command_that_goes_on() {
        let text = Command::Up.what_was_left("kube", " --cluster-name kube");
        assert!(text.contains("`local-cluster up --cluster-name kube` finishes it"));
        let down = Command::Down.what_was_left("kube", "");
        assert!(down.contains("`local-cluster down` again"));
        let clean = Command::Clean { all: false }.what_was_left("kube", "");
        assert!(clean.contains("`local-cluster clean` again"));
        assert_eq!(
            Command::Status.what_was_left("kube", ""),
            "nothing needs repair"
        );
    }
}
