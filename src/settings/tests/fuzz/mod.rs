//! Property tests over bad input from every source: random config files
//! (broken YAML, deep nesting, alias bombs, wrong types, keys near valid
//! ones), random values for every setting's variable and flag, and random
//! command lines through the real clap command.
//!
//! Properties: nothing panics, every case finishes within [`LIMIT`], and
//! every rejection is a non-empty message that names where the bad value
//! came from. `cargo test` runs a few cases of each; `bench/fuzz-settings.sh`
//! runs many (PROPTEST_CASES) for a given time.

use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::*;

mod strategies;
use strategies::*;

/// The most CPU time a resolution may use. Parsing is microseconds; this
/// only catches runaway expansion and loops. CPU time, not wall time: the
/// unit tests run at the lowest priority beside the node image's Go build
/// in `.ci/test`, where a case may wait seconds for a core.
const LIMIT: Duration = Duration::from_secs(10);

/// The longest a resolution may take on the wall clock (where its CPU time
/// cannot be read, or when it waits on something instead of running).
const WALL_LIMIT: Duration = Duration::from_secs(120);

/// How long the thread `tid` of this process has run (user and system), from
/// /proc/self/task/TID/stat (fields 14 and 15, in the kernel's fixed USER_HZ
/// of 100 ticks a second); None where it cannot be read.
fn cpu_time(tid: i32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // After the command name in parentheses, the fields from the third on.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Cases per property: PROPTEST_CASES when set (the bench), else few, so
/// that CI spends seconds here.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    Config {
        cases,
        // Shrunk reproducers become regular unit tests instead of files
        // next to the sources.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Run `f` on its own thread: a panic becomes a test failure with its
/// message, and so does using more than [`LIMIT`] of CPU time (or taking
/// longer than [`WALL_LIMIT`]).
fn bounded<T: Send + 'static>(
    what: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TestCaseError> {
    let (tx, rx) = mpsc::channel();
    let (tid_tx, tid_rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("fuzz-case".into())
        // Deep nesting must be refused, not recursed into until the
        // stack runs out: a small stack makes such a bug show here.
        .stack_size(1 << 20)
        .spawn(move || {
            let _ = tid_tx.send(nix::unistd::gettid().as_raw());
            let _ = tx.send(f());
        })
        .map_err(|e| TestCaseError::fail(format!("cannot start a thread: {e}")))?;
    let tid = tid_rx.recv().ok();
    let start = std::time::Instant::now();
    let outcome = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let wall = start.elapsed();
                let cpu = tid.and_then(cpu_time);
                if cpu.unwrap_or(wall) > LIMIT || wall > WALL_LIMIT {
                    return Err(TestCaseError::fail(format!(
                        "{what}: took longer than {LIMIT:?} of CPU time or {WALL_LIMIT:?} \
                         in all (CPU {cpu:?}, wall {wall:?})"
                    )));
                }
            }
            other => break other,
        }
    };
    match outcome {
        Ok(v) => {
            let _ = handle.join();
            Ok(v)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => unreachable!("waited for above"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let why = match handle.join() {
                Err(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic".to_string()),
                Ok(()) => "no result".to_string(),
            };
            Err(TestCaseError::fail(format!("{what}: panicked: {why}")))
        }
    }
}

#[test]
fn a_thread_cpu_time_counts_running_not_sleeping() {
    // The worker says when it has slept and when it has spun; each reading
    // is taken while it waits, so a starved machine only makes it slower
    // (the worker spins until it has had its CPU time, however long that
    // takes in wall time).
    let (tx, rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        let tid = nix::unistd::gettid().as_raw();
        std::thread::sleep(Duration::from_millis(300));
        let _ = tx.send(tid);
        let _ = go_rx.recv();
        let mut x = 0u64;
        while cpu_time(tid).unwrap() < Duration::from_millis(200) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        let _ = tx.send(tid);
        let _ = go_rx.recv();
    });
    let wait = Duration::from_secs(300);
    let tid = rx.recv_timeout(wait).unwrap();
    let asleep = cpu_time(tid).expect("the worker's /proc stat");
    go_tx.send(()).unwrap();
    rx.recv_timeout(wait).unwrap();
    let after = cpu_time(tid).unwrap();
    go_tx.send(()).unwrap();
    worker.join().unwrap();
    // 300 ms asleep: wall time would count them.
    assert!(
        asleep < Duration::from_millis(100),
        "{asleep:?} after 300 ms asleep"
    );
    assert!(
        after >= Duration::from_millis(200),
        "{after:?} after spinning"
    );
}

/// A rejection must say something and name one of `sources`.
fn check_rejection(err: &SettingsError, sources: &[String]) -> Result<(), TestCaseError> {
    let text = err.to_string();
    prop_assert!(!text.trim().is_empty(), "empty error: {err:?}");
    prop_assert!(
        sources.iter().any(|s| text.contains(s.as_str())),
        "the error does not name where the value came from ({sources:?}): {text}"
    );
    Ok(())
}

// ---- the properties -----------------------------------------------------

/// Resolve with `conf` (a file's bytes, through LOCAL_CLUSTER_CONF), `env`
/// and `flags`, on a bounded thread.
fn run(
    fx: &Fixture,
    conf: Option<&[u8]>,
    env: Vec<(String, String)>,
    flags: Flags,
    what: String,
) -> Result<Result<Resolved, SettingsError>, TestCaseError> {
    let mut inputs = fx.inputs(&[]);
    inputs.env = env.into_iter().collect();
    if let Some(bytes) = conf {
        let p = fx.dir.path().join("conf.yaml");
        std::fs::write(&p, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        inputs
            .env
            .insert(CONF_VAR.to_string(), p.display().to_string());
    }
    bounded(what, move || resolve(&inputs, &flags))
}

fn fixture_dir(fx: &Fixture) -> String {
    fx.dir.path().display().to_string()
}

#[test]
fn random_config_files_are_read_or_refused_naming_the_file() {
    let fx = Fixture::new();
    let conf_path = fx.dir.path().join("conf.yaml").display().to_string();
    let mut runner = TestRunner::new(config());
    runner
        .run(&config_file(&fixture_dir(&fx)), |bytes| {
            let what = format!("file {:?}", String::from_utf8_lossy(&bytes));
            if let Err(e) = run(&fx, Some(&bytes), vec![], Flags::default(), what)? {
                check_rejection(&e, std::slice::from_ref(&conf_path))?;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn random_values_of_every_variable_are_taken_or_refused_naming_the_variable() {
    let fx = Fixture::new();
    let mut runner = TestRunner::new(config());
    let strategy = (
        setting_value(&fixture_dir(&fx)),
        proptest::collection::vec(("K8S_DIND_[A-Z_]{0,20}", junk()), 0..3),
    );
    runner
        .run(&strategy, |((key, value), noise)| {
            let var = key.def().env();
            // Unknown variables only warn, so they may come along.
            let mut env: Vec<(String, String)> = noise
                .into_iter()
                .filter(|(n, _)| SETTINGS.iter().all(|d| d.env() != *n))
                .collect();
            env.push((var.clone(), value.clone()));
            let what = format!("{var}={value:?}");
            if let Err(e) = run(&fx, None, env, Flags::default(), what)? {
                check_rejection(&e, &[var])?;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn any_conf_variable_is_read_or_refused_naming_the_file() {
    let fx = Fixture::new();
    let mut runner = TestRunner::new(config());
    let strategy = prop_oneof![
        path(&fixture_dir(&fx)),
        Just("/dev/zero".to_string()),
        Just("/dev/stdin".to_string()),
        Just("/proc/self/mem".to_string()),
        Just("/proc/self/status".to_string()),
        Just("/etc/passwd".to_string()),
    ];
    runner
        .run(&strategy, |value| {
            let expanded = reader::expand_path(&value, fx.dir.path(), &fx.inputs(&[]).home);
            let env = vec![(CONF_VAR.to_string(), value.clone())];
            let what = format!("{CONF_VAR}={value:?}");
            if let Err(e) = run(&fx, None, env, Flags::default(), what)? {
                check_rejection(&e, &[expanded.display().to_string(), CONF_VAR.to_string()])?;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn random_values_of_every_flag_are_taken_or_refused_naming_the_flag() {
    let fx = Fixture::new();
    let mut runner = TestRunner::new(config());
    runner
        .run(&setting_value(&fixture_dir(&fx)), |(key, value)| {
            let flag = format!("--{}", key.def().flag);
            let flags = Flags {
                values: [(key, value.clone())].into(),
            };
            let what = format!("{flag} {value:?}");
            if let Err(e) = run(&fx, None, vec![], flags, what)? {
                check_rejection(&e, &[flag])?;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn several_bad_values_from_every_source_name_one_of_theirs() {
    let fx = Fixture::new();
    let conf_path = fx.dir.path().join("conf.yaml").display().to_string();
    let dir = fixture_dir(&fx);
    let mut runner = TestRunner::new(config());
    let strategy = (
        proptest::option::of(yaml_settings(&dir)),
        proptest::collection::vec(setting_value(&dir), 0..4),
        proptest::collection::vec(setting_value(&dir), 0..4),
    );
    runner
        .run(&strategy, |(file, env, flags)| {
            let mut sources: Vec<String> = env.iter().map(|(k, _)| k.def().env()).collect();
            sources.extend(flags.iter().map(|(k, _)| format!("--{}", k.def().flag)));
            if file.is_some() {
                sources.push(conf_path.clone());
            }
            let env: Vec<(String, String)> =
                env.into_iter().map(|(k, v)| (k.def().env(), v)).collect();
            let flags = Flags {
                values: flags.into_iter().collect(),
            };
            let what = format!("file {file:?}, env {env:?}, flags {flags:?}");
            match run(&fx, file.as_deref().map(str::as_bytes), env, flags, what)? {
                Err(e) => check_rejection(&e, &sources)?,
                Ok(r) => prop_assert!(r.settings.verbose <= 9),
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn random_command_lines_parse_or_are_refused_and_then_resolve_or_name_a_flag() {
    let fx = Fixture::new();
    let mut runner = TestRunner::new(config());
    runner
        .run(&argv(&fixture_dir(&fx)), |args| {
            let what = format!("argv {args:?}");
            let parsed = bounded(what.clone(), {
                let args = args.clone();
                move || {
                    crate::cli::matches_from(args.into_iter().map(std::ffi::OsString::from))
                        .map(|m| crate::cli::flags(&m))
                        .map_err(|e| e.render().to_string())
                }
            })?;
            let flags = match parsed {
                // clap's own refusal (or --help/--version): it must say something.
                Err(text) => {
                    prop_assert!(!text.trim().is_empty(), "{what}: empty clap error");
                    return Ok(());
                }
                Ok(flags) => flags,
            };
            let given: Vec<String> = flags
                .values
                .keys()
                .map(|k| format!("--{}", k.def().flag))
                .collect();
            if let Err(e) = run(&fx, None, vec![], flags, what)? {
                check_rejection(&e, &given)?;
            }
            Ok(())
        })
        .unwrap();
}

/// The fuzzers' own checks can fail: a panic is caught, and an error
/// without its source is refused.
#[test]
fn the_harness_catches_panics_and_sourceless_errors() {
    let panic = bounded("p".into(), || -> u8 { panic!("boom") }).unwrap_err();
    assert!(panic.to_string().contains("boom"), "{panic}");
    let err = SettingsError::Conflict("something is wrong".into());
    assert!(check_rejection(&err, &["K8S_DIND_NUM_NODES".into()]).is_err());
    let err = SettingsError::Conflict("from env K8S_DIND_NUM_NODES".into());
    assert!(check_rejection(&err, &["K8S_DIND_NUM_NODES".into()]).is_ok());
}
