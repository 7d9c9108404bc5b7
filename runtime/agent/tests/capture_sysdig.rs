//! `lanner capture` writes what sysdig 0.29 reads: the same events, with the same field values
//! as `lanner replay` gives for them. Needs root (the capture is live) and sysdig (`.ci/run`
//! installs Debian's 0.29); when CI is set, a missing one fails the test instead of skipping it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

const FORMAT: &str =
    "%evt.rawtime %thread.tid %evt.type %proc.name %proc.pname %fd.name %user.name %proc.cmdline";

#[test]
fn sysdig_reads_our_capture_with_the_same_values() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() == 0 };
    let sysdig = Command::new("sysdig").arg("--version").output().is_ok();
    if !(root && sysdig) {
        assert!(
            !in_ci(),
            "CI runs as root with sysdig installed: this test must run"
        );
        eprintln!("skipping: needs root and sysdig");
        return;
    }
    let id = std::process::id();
    let dir = std::env::temp_dir().join(format!("lanner-cap-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let cap = dir.join("live.scap");
    let mark = format!("{}/lanner-cap-{id}", dir.display());

    let mut agent = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(["capture", "--duration", "30", "-w"])
        .arg(&cap)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(agent.stderr.take().unwrap());
    let mut line = String::new();
    let started = Instant::now();
    while !line.contains("lanner: capturing") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "lanner capture ended early"
        );
        assert!(started.elapsed() < Duration::from_secs(60));
    }
    let script = format!(
        "cat /etc/shadow {mark} > /dev/null 2>&1\n\
         touch {mark}\n\
         chmod 0644 {mark}\n\
         cat {mark}\n\
         rm -f {mark}\n\
         exit 0\n"
    );
    assert!(
        Command::new("bash")
            .arg("-c")
            .arg(&script)
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(800));
    // SAFETY: kill with a valid pid and signal number.
    unsafe {
        libc::kill(agent.id() as libc::pid_t, libc::SIGINT);
    }
    assert!(agent.wait().unwrap().success());

    // The file syscalls of this test's commands, as sysdig 0.29 sees them... Left out, each for
    // a 0.29 limit rather than a capture problem: the bash running the script (its parent is a
    // thread of this multi-threaded test, and which thread names a parent is the state
    // engine's question); failed syscalls (0.29 names the fd of a failed open differently);
    // `close` (0.29 takes the fd from the enter event, which a capture of exit events does not
    // have); and event versions newer than 0.29's table (dup2 is id 363 > 335; execve's newest
    // exit has 31 parameters where 0.29 knows 20, and 0.29 does not show it). 0.29 does not
    // show our unlinkat and fchmodat exits either (not investigated yet), so the comparison is
    // on the open family, which every rule about files rests on.
    let filter = format!(
        "proc.cmdline contains lanner-cap-{id} and proc.name != bash and evt.rawres >= 0 \
         and evt.type in (open, openat, openat2)"
    );
    let out = Command::new("sysdig")
        .arg("-r")
        .arg(&cap)
        .arg(&filter)
        .args(["-p", FORMAT])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect();

    // ... and as `lanner replay` sees them.
    let rules = dir.join("r.yaml");
    std::fs::write(
        &rules,
        format!(
            "- rule: every event\n  desc: d\n  condition: {filter}\n  output: \"{FORMAT}\"\n  priority: DEBUG\n  warn_evttypes: false\n"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args([
            "replay",
            "--format",
            "text",
            "--rule-matching",
            "all",
            "--no-suggested-output",
            "--rules",
        ])
        .arg(&rules)
        .arg(&cap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        // Drop the "HH:MM:SS.nnnnnnnnn: Debug " prefix of text alerts.
        .filter_map(|l| {
            l.split_once(": Debug ")
                .map(|(_, m)| m.trim_end().to_string())
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);

    assert!(theirs.len() >= 5, "sysdig saw too few events: {theirs:#?}");
    assert!(
        theirs
            .iter()
            .any(|l| l.contains(" openat cat ") && l.contains("/etc/shadow")),
        "{theirs:#?}"
    );
    let only_theirs: Vec<_> = theirs.difference(&ours).collect();
    let only_ours: Vec<_> = ours.difference(&theirs).collect();
    assert!(
        only_theirs.is_empty() && only_ours.is_empty(),
        "sysdig and lanner disagree\nonly sysdig: {only_theirs:#?}\nonly lanner: {only_ours:#?}"
    );
}
