//! Ctrl-C (SIGINT) and SIGTERM: the command stops where it is, and says
//! what it left and which command goes on from there.
//!
//! Stopping is dropping the command's future: every await point is a place
//! it can stop, requests to the engine are abandoned, child processes are
//! killed (they are spawned with `kill_on_drop`), staging directories are
//! deleted by their guards. What the command already did to the engine
//! stays, and is what the next `up` or `clean` starts from: lifecycle steps
//! judge what they find rather than trusting that an earlier run finished
//! (a cluster counts as up only once `up` marked its nodes at the very end;
//! a snapshot only with every node's image labelled; a cache entry only
//! once renamed into place).

use std::future::Future;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};

use crate::engine::{temporary, Docker};
use crate::settings::Settings;
use crate::ui::Ui;

/// The signal that stopped a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    Interrupt,
    Terminate,
}

impl Stopped {
    pub fn name(self) -> &'static str {
        match self {
            Stopped::Interrupt => "SIGINT",
            Stopped::Terminate => "SIGTERM",
        }
    }

    /// 128 + the signal's number, as shells report a process it killed.
    pub fn exit_code(self) -> u8 {
        match self {
            Stopped::Interrupt => 130,
            Stopped::Terminate => 143,
        }
    }
}

/// Run `work` until it ends or a signal comes, whichever is first. `work`
/// is dropped (stopped) before this returns.
pub async fn until_signal<T>(work: impl Future<Output = T>) -> Result<T, Stopped> {
    let (Ok(mut interrupts), Ok(mut terminations)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        // Without handlers the default action (exit) stays: nothing to add.
        return Ok(work.await);
    };
    let work = std::pin::pin!(work);
    tokio::select! {
        done = work => Ok(done),
        _ = interrupts.recv() => Err(Stopped::Interrupt),
        _ = terminations.recv() => Err(Stopped::Terminate),
    }
}

/// Remove the temporary containers the command made and did not remove
/// (it was stopped at an await point, or it failed before its removal),
/// through a new connection: the command's own is gone with it. Bounded,
/// so a dead engine cannot hold the exit up.
pub async fn remove_temporaries(settings: &Settings, ui: &Ui) {
    if temporary::left().is_empty() {
        return;
    }
    let removed = async {
        let engine = Docker::connect_with(&settings.ssh_options).await?;
        anyhow::Ok(temporary::remove_left(&engine).await)
    };
    let left = match tokio::time::timeout(Duration::from_secs(20), removed).await {
        Ok(Ok(failed)) => failed,
        Ok(Err(e)) => temporary::left()
            .into_iter()
            .map(|name| (name, crate::error::chain(e.as_ref())))
            .collect(),
        Err(_) => temporary::left()
            .into_iter()
            .map(|name| (name, "the engine did not answer within 20s".to_string()))
            .collect(),
    };
    for (name, why) in left {
        ui.warn(format!(
            "could not remove the temporary container {name} ({why}); `docker rm -f {name}` does"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_signal_stops_the_work_and_drops_it() {
        struct Guard(std::sync::Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let guard = Guard(dropped.clone());
        let work = async move {
            let _guard = guard;
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        };
        let signal = async {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM).unwrap();
        };
        let (stopped, ()) = tokio::join!(until_signal(work), signal);
        assert_eq!(stopped, Err(Stopped::Terminate));
        assert!(dropped.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(Stopped::Terminate.exit_code(), 143);
    }
}
