//! What the agent's integration tests share: where the reference data is, root and CI checks,
//! temporary folders, and starting `lanner` and reading its output as lines.
//!
//! Included with `mod support;`; each suite uses a part of it, hence the `dead_code` allowance.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether a root-only test can run: without root it skips, except under `CI=true`, where it
/// fails (CI runs as root, so a missing root there is a broken set-up, never a skip).
pub fn root_or_skip(what: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(!in_ci(), "CI runs as root: the {what} must run");
    eprintln!("skipping the {what}: not root");
    false
}

/// The reference data (`../shared` beside the checkout).
pub fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// Falco's three upstream rule files and the oracle's probe rules (which fire on the shared
/// captures).
pub fn rule_files() -> Vec<PathBuf> {
    let s = shared();
    vec![
        s.join("upstream-rules/falco_rules.yaml"),
        s.join("upstream-rules/falco-incubating_rules.yaml"),
        s.join("upstream-rules/falco-sandbox_rules.yaml"),
        s.join("scap/oracle-falco/probe_rules.yaml"),
    ]
}

/// A fresh, empty folder for this test process, named after `name`.
pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lanner-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The `lanner` binary under test.
pub fn lanner() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lanner"))
}

/// Starts `lanner ARGS` (stdout to `stdout`, stderr piped) and waits until it reports
/// `lanner: watching` on stderr, for at most `limit`; the stderr reader is handed back,
/// positioned after that line.
pub fn start_watching<S: AsRef<OsStr>>(
    args: impl IntoIterator<Item = S>,
    stdout: Stdio,
    limit: Duration,
) -> (Child, BufReader<ChildStderr>) {
    let mut agent = lanner()
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(agent.stderr.take().unwrap());
    let started = Instant::now();
    let mut seen = String::new();
    while !seen.contains("lanner: watching") {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "lanner run ended before it was ready: {seen}"
        );
        seen.push_str(&line);
        assert!(
            started.elapsed() < limit,
            "lanner run did not start: {seen}"
        );
    }
    (agent, stderr)
}

/// The lines of `r`, read on a thread as they come; the channel closes at end of input.
pub fn lines(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
