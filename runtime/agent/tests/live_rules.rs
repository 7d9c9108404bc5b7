//! One live action per upstream rule: `lanner run` with the three upstream rule files, as root,
//! and for each action of `tests/live-actions/*.json` a real process doing what the rule looks
//! for. Each action must raise its rule with the listed output fields. Actions touch only this
//! run's temporary directory (and a file of `/dev/shm` they remove), each runs in well under
//! 0.2 s, and the test waits for alerts rather than sleeping.
//!
//! The actor is bash under another name (`lanner-actor`) so that the actions' parent is not a
//! shell, and alerts are told apart from other activity on the machine by their fields (the
//! actor's name as `proc.pname`, this run's paths). Processes are seen from the host
//! (`--containers none`): these machines put every session in a container-like cgroup.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

struct Action {
    file: String,
    rule: String,
    script: String,
    fields: BTreeMap<String, String>,
    /// Why the action cannot raise its rule yet: the test then requires that it does not, so
    /// that the entry is revisited the day it does.
    pending: Option<String>,
}

fn actions(id: &str, dir: &Path) -> Vec<Action> {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/live-actions");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let fill = |s: &str| {
        s.replace("{id}", id)
            .replace("{dir}", &dir.display().to_string())
    };
    for f in files {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for a in v.as_array().unwrap() {
            out.push(Action {
                file: f.file_name().unwrap().to_string_lossy().into_owned(),
                rule: a["rule"].as_str().unwrap().to_owned(),
                script: fill(a["script"].as_str().unwrap()),
                fields: a["fields"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), fill(v.as_str().unwrap())))
                    .collect(),
                pending: a["pending"].as_str().map(str::to_owned),
            });
        }
    }
    out
}

/// Starts `lanner run` and waits until it watches.
fn start_agent(rules: &[PathBuf]) -> (Child, Receiver<String>) {
    let mut agent = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args([
            "run",
            "--format",
            "json",
            "--rule-matching",
            "all",
            "--containers",
            "none",
            "--rules",
        ])
        .args(rules)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(agent.stderr.take().unwrap());
    let started = Instant::now();
    let mut line = String::new();
    while !line.contains("lanner: watching") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "lanner run ended before it was ready"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "lanner run did not start"
        );
    }
    // Keep draining stderr so the agent never blocks on it.
    std::thread::spawn(move || for _ in stderr.lines() {});
    let stdout = agent.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (agent, rx)
}

fn matches(alert: &serde_json::Value, a: &Action) -> bool {
    alert["rule"] == a.rule.as_str()
        && a.fields
            .iter()
            .all(|(k, v)| match &alert["output_fields"][k] {
                serde_json::Value::String(s) => s == v,
                // Numbers are written as JSON numbers; the fixture gives them as text.
                serde_json::Value::Number(n) => n.to_string() == *v,
                _ => false,
            })
}

#[test]
fn every_action_raises_its_upstream_rule() {
    if !is_root() {
        assert!(!in_ci(), "CI runs as root: the live test must run");
        eprintln!("skipping the live rules test: not root");
        return;
    }
    let id = format!("{}", std::process::id());
    let dir = std::env::temp_dir().join(format!("lanner-actions-{id}"));
    std::fs::create_dir_all(dir.join(".aws")).unwrap();
    std::fs::write(dir.join(".aws/credentials"), b"").unwrap();
    let actor = dir.join("lanner-actor");
    std::fs::copy("/bin/bash", &actor).unwrap();
    std::fs::copy("/bin/bash", dir.join("nginx")).unwrap();
    let rules: Vec<PathBuf> = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]
    .iter()
    .map(|f| shared().join("upstream-rules").join(f))
    .collect();
    let actions = actions(&id, &dir);
    assert_eq!(actions.len(), 15, "actions in tests/live-actions");

    let (mut agent, rx) = start_agent(&rules);
    let mut seen: Vec<serde_json::Value> = Vec::new();
    let mut failures = Vec::new();
    for a in &actions {
        let started = Instant::now();
        let status = Command::new(&actor)
            .arg("-c")
            // `exit` keeps bash from exec'ing the last command in its own place.
            .arg(format!("{}\nexit 0\n", a.script))
            .current_dir(&dir)
            .status()
            .unwrap();
        let took = started.elapsed();
        assert!(status.success(), "{}: `{}` failed", a.rule, a.script);
        assert!(
            took < Duration::from_millis(200),
            "{}: the action took {took:?}",
            a.rule
        );
        // A pending action gets a shorter wait: the alert is not expected.
        let wait = if a.pending.is_some() { 2 } else { 10 };
        let deadline = Instant::now() + Duration::from_secs(wait);
        let mut found = seen.iter().any(|al| matches(al, a));
        while !found && Instant::now() < deadline {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(50)) {
                let alert: serde_json::Value = serde_json::from_str(&l).unwrap();
                found = matches(&alert, a);
                seen.push(alert);
            }
        }
        if let Some(why) = &a.pending {
            if found {
                failures.push(format!(
                    "{} ({}): fires now, drop `pending: {why}`",
                    a.rule, a.file
                ));
            }
            continue;
        }
        if !found {
            let same_rule: Vec<String> = seen
                .iter()
                .filter(|al| al["rule"] == a.rule.as_str())
                .map(|al| al["output_fields"].to_string())
                .collect();
            failures.push(format!(
                "{} ({}): no alert with {:?}; alerts of the rule: {same_rule:?}",
                a.rule, a.file, a.fields
            ));
        }
    }
    // SAFETY: kill with a valid pid and signal number.
    unsafe {
        libc::kill(agent.id() as libc::pid_t, libc::SIGINT);
    }
    let status = agent.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.success(), "lanner run exited with {status}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
