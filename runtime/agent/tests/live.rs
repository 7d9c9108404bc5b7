//! `lanner run` against the real kernel, as root: real actions by real processes must raise
//! exactly the expected alerts with the right fields. The machine and CI run as root; when CI is
//! set this test fails rather than skip without root.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::{in_ci, is_root};

/// The rules, each narrowed to this run's unique names so that other activity on the machine
/// cannot add alerts.
fn rules(id: &str, port: u16) -> String {
    format!(
        r#"
- macro: spawned_process
  condition: evt.type in (execve, execveat)
- macro: open_read
  condition: (evt.type in (open, openat, openat2) and evt.is_open_read = true and fd.typechar = 'f' and fd.num >= 0)
- macro: open_write
  condition: (evt.type in (open, openat, openat2) and evt.is_open_write = true and fd.typechar = 'f' and fd.num >= 0)

- rule: Live shadow read
  desc: /etc/shadow read by the actor's child
  condition: open_read and fd.name = /etc/shadow and proc.pname = lanner-actor
  output: "shadow read (proc.name=%proc.name proc.pname=%proc.pname proc.cmdline=%proc.cmdline fd.name=%fd.name user.name=%user.name)"
  priority: WARNING

- rule: Live shell from non-shell
  desc: a shell spawned by a parent that is not a shell
  condition: spawned_process and proc.name in (sh, dash, bash) and not proc.pname in (sh, dash, bash) and proc.pname = lanner-actor
  output: "shell spawned (proc.name=%proc.name proc.pname=%proc.pname proc.cmdline=%proc.cmdline user.name=%user.name)"
  priority: NOTICE

- rule: Live write below usr bin
  desc: a file written below /usr/bin
  condition: open_write and fd.name = /usr/bin/lanner-live-{id}
  output: "write below /usr/bin (proc.name=%proc.name proc.pname=%proc.pname fd.name=%fd.name user.name=%user.name)"
  priority: ERROR

- rule: Live connect to localhost
  desc: a connection to this run's listener
  condition: evt.type = connect and fd.sip = 127.0.0.1 and fd.sport = {port}
  output: "connect (proc.name=%proc.name proc.cmdline=%proc.cmdline fd.name=%fd.name fd.lip=%fd.lip fd.rport=%fd.rport user.name=%user.name)"
  priority: NOTICE

- rule: Live setuid bit
  desc: chmod set the setuid bit on this run's file
  condition: evt.type in (chmod, fchmod, fchmodat) and evt.arg.mode contains S_ISUID and evt.arg.filename contains lanner-live-{id}
  output: "setuid (proc.name=%proc.name proc.pname=%proc.pname proc.cmdline=%proc.cmdline user.name=%user.name)"
  priority: NOTICE
"#
    )
}

#[test]
fn live_actions_raise_exactly_the_expected_alerts() {
    if !support::root_or_skip("live test") {
        return;
    }
    let id = format!("{}", std::process::id());
    let dir = std::env::temp_dir().join(format!("lanner-live-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let rules_path = dir.join("rules.yaml");
    std::fs::write(&rules_path, rules(&id, port)).unwrap();
    // The actor is bash under another name, so that its children's parent is not a shell.
    let actor = dir.join("lanner-actor");
    std::fs::copy("/bin/bash", &actor).unwrap();
    let target = dir.join(format!("lanner-live-{id}"));
    std::fs::write(&target, b"x").unwrap();

    let (mut agent, mut stderr) = support::start_watching(
        [
            "run",
            "--format",
            "json",
            "--rule-matching",
            "all",
            "--containers",
            "none",
            "--rules",
        ]
        .map(std::ffi::OsString::from)
        .into_iter()
        .chain([rules_path.clone().into_os_string()]),
        Stdio::piped(),
        Duration::from_secs(60),
    );

    // The script ends with `exit`, or bash would exec its last command in place of itself and
    // that command's parent would be the test.
    let script = format!(
        "cat /etc/shadow > /dev/null\n\
         sh -c true\n\
         touch /usr/bin/lanner-live-{id}\n\
         rm -f /usr/bin/lanner-live-{id}\n\
         exec 3<>/dev/tcp/127.0.0.1/{port}\n\
         exec 3>&-\n\
         chmod u+s {target}\n\
         exit 0\n",
        target = target.display()
    );
    // Alerts are read as they come, so the test waits no longer than the agent needs.
    let rx = support::lines(agent.stdout.take().unwrap());
    let status = Command::new(&actor)
        .arg("-c")
        .arg(&script)
        .status()
        .unwrap();
    assert!(status.success());
    let _accepted = listener.accept();
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while lines.len() < 5 && Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(l);
        }
    }
    // A moment more, so that an unexpected sixth alert would be seen too.
    std::thread::sleep(Duration::from_millis(500));
    // Stop it as an operator would.
    // SAFETY: kill with a valid pid and signal number.
    unsafe {
        libc::kill(agent.id() as libc::pid_t, libc::SIGINT);
    }
    let status = agent.wait().unwrap();
    // The channel closes when the reader has read the agent's last line.
    lines.extend(rx.iter());
    let out = lines.join("\n");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "lanner run exited with {status}: {rest}");
    assert!(rest.contains("lanner: stopped"), "{rest}");
    let _ = std::fs::remove_dir_all(&dir);

    let alerts: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |rule: &str| -> Vec<&serde_json::Value> {
        alerts.iter().filter(|a| a["rule"] == rule).collect()
    };
    let field = |a: &serde_json::Value, f: &str| a["output_fields"][f].as_str().map(String::from);
    let one = |rule: &str| -> serde_json::Value {
        let v = of(rule);
        assert_eq!(v.len(), 1, "{rule}: {} alerts in\n{out}", v.len());
        v[0].clone()
    };

    let a = one("Live shadow read");
    assert_eq!(field(&a, "proc.name").as_deref(), Some("cat"));
    assert_eq!(field(&a, "proc.pname").as_deref(), Some("lanner-actor"));
    assert_eq!(
        field(&a, "proc.cmdline").as_deref(),
        Some("cat /etc/shadow")
    );
    assert_eq!(field(&a, "fd.name").as_deref(), Some("/etc/shadow"));
    assert_eq!(field(&a, "user.name").as_deref(), Some("root"));

    let a = one("Live shell from non-shell");
    assert_eq!(field(&a, "proc.name").as_deref(), Some("sh"));
    assert_eq!(field(&a, "proc.pname").as_deref(), Some("lanner-actor"));
    assert_eq!(field(&a, "proc.cmdline").as_deref(), Some("sh -c true"));
    assert_eq!(field(&a, "user.name").as_deref(), Some("root"));

    let a = one("Live write below usr bin");
    assert_eq!(field(&a, "proc.name").as_deref(), Some("touch"));
    assert_eq!(field(&a, "proc.pname").as_deref(), Some("lanner-actor"));
    assert_eq!(
        field(&a, "fd.name"),
        Some(format!("/usr/bin/lanner-live-{id}"))
    );
    assert_eq!(field(&a, "user.name").as_deref(), Some("root"));

    let a = one("Live connect to localhost");
    assert_eq!(field(&a, "proc.name").as_deref(), Some("lanner-actor"));
    let name = field(&a, "fd.name").unwrap();
    assert!(
        name.starts_with("127.0.0.1:") && name.ends_with(&format!("->127.0.0.1:{port}")),
        "{name}"
    );
    // The local end is the client's because 127.0.0.1 is one of the machine's interfaces,
    // which the agent reads at start as libscap does.
    assert_eq!(field(&a, "fd.lip").as_deref(), Some("127.0.0.1"), "{a}");
    assert_eq!(
        a["output_fields"]["fd.rport"].as_u64(),
        Some(u64::from(port)),
        "{a}"
    );
    assert_eq!(field(&a, "user.name").as_deref(), Some("root"));

    let a = one("Live setuid bit");
    assert_eq!(field(&a, "proc.name").as_deref(), Some("chmod"));
    assert_eq!(field(&a, "proc.pname").as_deref(), Some("lanner-actor"));
    assert!(field(&a, "proc.cmdline").unwrap().starts_with("chmod u+s "));
    assert_eq!(field(&a, "user.name").as_deref(), Some("root"));

    assert_eq!(alerts.len(), 5, "exactly the five alerts:\n{out}");
}

#[test]
fn run_refuses_without_root() {
    if !is_root() {
        let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
            .args(["run", "--rules", "/dev/null"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("must run as root"));
        return;
    }
    // As root, drop to `nobody` for the check.
    let Ok(out) = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_lanner"))
        .args(["run", "--rules", "/dev/null"])
        .output()
    else {
        assert!(
            !in_ci(),
            "setpriv (util-linux) is needed for this check in CI"
        );
        return;
    };
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("must run as root"));
}
