//! Hot reload of `lanner run`, as root, through the binary: 100 reloads (file changes and
//! SIGHUP) while a paced load runs. Every event is evaluated by exactly one program (the agent's
//! events-in and events-evaluated counters agree, and every load event raises exactly one
//! alert), the alert stream switches rule at the swap point the agent reports, and a broken
//! rules file is refused while the running rules keep alerting. Under `CI=true` it fails rather
//! than skip without root.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod support;

/// One rule, named `name`, matching the creation of this run's marker files.
fn rules(name: &str, dir: &Path) -> String {
    format!(
        r#"
- rule: Reload {name}
  desc: a marker file of the reload test was created
  condition: evt.type in (open, openat, openat2) and fd.num >= 0 and fd.name startswith {dir}/mark-
  output: "mark (fd.name=%fd.name evt.num=%evt.num proc.pid=%proc.pid)"
  priority: NOTICE
"#,
        dir = dir.display()
    )
}

/// Replaces `path` as editors and `rulec build` do: write a temporary file, rename it over.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn wait_for(rx: &mpsc::Receiver<String>, what: &str, log: &mut Vec<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                log.push(line.clone());
                if line.contains(what) {
                    return line;
                }
            }
            Err(_) => panic!("no `{what}` on stderr; stderr so far:\n{}", log.join("\n")),
        }
    }
}

/// The number after `key` in `line`.
fn number_after(line: &str, key: &str) -> u64 {
    let at = line
        .find(key)
        .unwrap_or_else(|| panic!("no `{key}` in `{line}`"))
        + key.len();
    line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after `{key}` in `{line}`"))
}

#[test]
fn hundred_reloads_under_load_lose_nothing_and_switch_at_the_swap() {
    if !support::root_or_skip("reload test") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("lanner-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rules_path = dir.join("rules.yaml");
    std::fs::write(&rules_path, rules("A", &dir)).unwrap();

    let mut agent = support::lanner()
        .args(["run", "--format", "json", "--containers", "none", "--rules"])
        .arg(&rules_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err_rx = support::lines(agent.stderr.take().unwrap());
    let stdout = BufReader::new(agent.stdout.take().unwrap());
    let alerts = std::thread::spawn(move || {
        stdout
            .lines()
            .map_while(Result::ok)
            .map(|l| serde_json::from_str::<serde_json::Value>(&l).unwrap())
            .collect::<Vec<_>>()
    });
    let mut log = Vec::new();
    wait_for(&err_rx, "lanner: watching", &mut log);

    // The paced load: one marker file created every millisecond until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(AtomicU64::new(0));
    let load = {
        let (stop, created, dir) = (Arc::clone(&stop), Arc::clone(&created), dir.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                std::fs::File::create(dir.join(format!("mark-{i}"))).unwrap();
                i += 1;
                created.store(i, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };

    // Program 0 is rule A. Each reload either rewrites the file with the other rule (the
    // watcher) or sends SIGHUP with the file unchanged (same rule again); halfway, a broken
    // file is refused and the running rules stay.
    let mut expected = vec!["Reload A"];
    let mut from_event = vec![0u64];
    let mut name = "A";
    for i in 0..100 {
        std::thread::sleep(Duration::from_millis(20));
        if i == 50 {
            replace(&rules_path, "- rule: [broken\n");
            let line = wait_for(&err_rx, "failed, keeping the running rules", &mut log);
            assert!(line.contains("error"), "{line}");
            eprintln!("{line}");
        }
        let why = if i % 10 == 9 {
            // SAFETY: kill with a live child's pid and a valid signal.
            assert_eq!(unsafe { libc::kill(agent.id() as i32, libc::SIGHUP) }, 0);
            "SIGHUP"
        } else {
            name = if name == "A" { "B" } else { "A" };
            replace(&rules_path, &rules(name, &dir));
            "a change"
        };
        let line = wait_for(&err_rx, "lanner: rules reloaded after", &mut log);
        assert!(
            line.contains(why),
            "reload {i}: `{line}` is not after {why}"
        );
        assert_eq!(number_after(&line, "program "), i + 1, "{line}");
        expected.push(if name == "A" { "Reload A" } else { "Reload B" });
        from_event.push(number_after(&line, "from event "));
    }
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    // Let the last events reach the agent before it stops.
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill with a live child's pid and a valid signal.
    assert_eq!(unsafe { libc::kill(agent.id() as i32, libc::SIGTERM) }, 0);
    assert!(agent.wait().unwrap().success());
    log.extend(err_rx.iter());
    let alerts = alerts.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    let stderr = log.join("\n");
    let counters = log
        .iter()
        .find(|l| l.starts_with("lanner: events in"))
        .unwrap_or_else(|| panic!("no counters on stderr:\n{stderr}"));
    let stopped = log
        .iter()
        .find(|l| l.starts_with("lanner: stopped after"))
        .unwrap();
    assert!(stopped.contains(" 0 dropped"), "kernel drops: {stopped}");
    let events_in = number_after(counters, "events in ");
    let evaluated = number_after(counters, "evaluated ");
    assert_eq!(events_in, evaluated, "{counters}");
    assert!(
        counters.contains("by 101 program(s)") && counters.contains("reloads 100 ok, 1 failed"),
        "{counters}"
    );

    // Exactly one alert per marker file, from the program running at its event.
    let n = created.load(Ordering::Relaxed);
    assert!(n > 500, "the load ran: {n} file(s)");
    let mut seen = BTreeMap::new();
    let mut per_program = vec![0u64; expected.len()];
    for a in &alerts {
        let f = &a["output_fields"];
        let file = f["fd.name"].as_str().unwrap().to_owned();
        let num = f["evt.num"].as_u64().unwrap();
        assert_eq!(f["proc.pid"].as_u64(), Some(u64::from(std::process::id())));
        let program = from_event.iter().rposition(|e| *e <= num).unwrap();
        assert_eq!(
            a["rule"].as_str(),
            Some(expected[program]),
            "event {num} was evaluated by program {program} (from event {})",
            from_event[program]
        );
        per_program[program] += 1;
        assert!(
            seen.insert(file.clone(), num).is_none(),
            "{file} alerted twice"
        );
    }
    let want: BTreeSet<String> = (0..n)
        .map(|i| dir.join(format!("mark-{i}")).display().to_string())
        .collect();
    let got: BTreeSet<String> = seen.keys().cloned().collect();
    assert_eq!(
        want.difference(&got).count(),
        0,
        "marker files without an alert"
    );
    assert_eq!(got.len() as u64, n);
    // The switch is visible: both rules alerted, under many programs.
    let busy = per_program.iter().filter(|c| **c > 0).count();
    eprintln!(
        "{counters}\n{n} marker file(s), {} alert(s), per program: {per_program:?}",
        alerts.len()
    );
    assert!(busy > 50, "alerts under {busy} program(s): {per_program:?}");
}
