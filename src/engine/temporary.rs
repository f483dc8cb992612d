//! Containers a command makes for itself and removes before it ends (the
//! node image build container, the run-mode probe), kept in a list for as
//! long as they exist.
//!
//! A command stopped by a signal is dropped at an await point, so the
//! removal written after the work never runs, and a `Drop` cannot await the
//! engine. Instead each such container is listed from its creation until its
//! removal succeeds, and whatever is still listed when the command ends,
//! however it ends, is removed then (`cli` asks [`left`] and removes them
//! through a new connection). A SIGKILLed process leaves its container: the
//! name carries its pid, and `clean --all` does not know whether another
//! process still uses it.

use std::collections::BTreeSet;
use std::sync::Mutex;

use super::{Containers, Result};

static LISTED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn listed() -> std::sync::MutexGuard<'static, BTreeSet<String>> {
    // A panic while holding the lock leaves a set that is still whole.
    LISTED.lock().unwrap_or_else(|e| e.into_inner())
}

/// A temporary container's name, listed until [`Temporary::remove`] succeeds.
#[derive(Debug)]
#[must_use = "remove the container with `Temporary::remove`"]
pub struct Temporary {
    name: String,
}

impl Temporary {
    /// List `name` before it is created, so that a stop during creation
    /// still removes it.
    pub fn list(name: impl Into<String>) -> Temporary {
        let name = name.into();
        listed().insert(name.clone());
        Temporary { name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Remove the container (present or not) and take it off the list.
    pub async fn remove<E: Containers>(self, engine: &E) -> Result<()> {
        engine.remove_container(&self.name).await?;
        listed().remove(&self.name);
        Ok(())
    }
}

/// The temporary containers not removed yet (none when every command that
/// made one finished its work).
pub fn left() -> Vec<String> {
    listed().iter().cloned().collect()
}

/// Remove what [`left`] lists; the names that could not be removed, with why.
pub async fn remove_left<E: Containers>(engine: &E) -> Vec<(String, String)> {
    let mut failed = Vec::new();
    for name in left() {
        match engine.remove_container(&name).await {
            Ok(()) => {
                listed().remove(&name);
            }
            Err(e) => failed.push((name, crate::error::chain(&e))),
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::FakeEngine;
    use crate::engine::ContainerSpec;

    async fn made(engine: &FakeEngine, name: &str) -> Temporary {
        let temporary = Temporary::list(name);
        engine
            .create_container(&ContainerSpec {
                name: name.to_string(),
                image: "img".to_string(),
                ..Default::default()
            })
            .await
            .unwrap();
        temporary
    }

    #[tokio::test]
    async fn a_container_dropped_before_its_removal_stays_listed_until_removed() {
        let engine = FakeEngine::new();
        engine.add_image(&["img"], &[], Default::default());
        let removed = made(&engine, "temporary-test-removed").await;
        let stopped = made(&engine, "temporary-test-stopped").await;
        removed.remove(&engine).await.unwrap();
        // What a command stopped at an await point does: drop the handle.
        drop(stopped);
        let names = left();
        assert!(names.contains(&"temporary-test-stopped".to_string()));
        assert!(!names.contains(&"temporary-test-removed".to_string()));
        assert!(remove_left(&engine).await.is_empty());
        assert!(!left().contains(&"temporary-test-stopped".to_string()));
        assert!(!engine
            .container_names()
            .contains(&"temporary-test-stopped".to_string()));
    }
}
