//! One live action per upstream rule: `lanner run` with the three upstream rule files, as root,
//! and for each action of `tests/live-actions/*.json` a real process doing what the rule looks
//! for. The same for Lanner's standard rules: `lanner run` with no rules argument (the built-in
//! bundle compiled from `stdlib-rules/lanner_rules.yaml`) and `tests/live-actions/stdlib/*.json`,
//! every standard rule acted or listed in `live-actions/stdlib/untriggerable.json` with a reason.
//! The live tests run one at a time. Each action must raise its rule with the listed output fields. Actions touch only this
//! run's temporary directory (and a file of `/dev/shm` they remove), each runs in well under
//! 0.2 s, and the test waits for alerts rather than sleeping.
//!
//! The actor is bash under another name (`lanner-actor`) so that the actions' parent is not a
//! shell, and alerts are told apart from other activity on the machine by their fields (the
//! actor's name as `proc.pname`, this run's paths, the container id). Programs a rule names
//! that the machine lacks (`nc`, `xmrig`, `kubectl`...) are symbolic links of that name to
//! bash, python3 or true made in the run's directory: the kernel names a process after the
//! path it was executed by, as it would the real program.
//!
//! Containers: the agent runs with `--containers runtimes`, so a process is in a container when
//! one of its cgroups is named like a runtime's (`docker-<64 hex digits>.scope`); the sessions of
//! these machines sit in `/<name>/<32 hex>` cgroups, which that mode takes for the host. An
//! action marked `container` first moves its actor into `pids:/docker-<id>.scope`, a cgroup the
//! test creates and removes. Container runtime metadata (image, privileged flag, Kubernetes
//! labels) does not exist on such a host: the rules that need it are listed in
//! `live-actions/untriggerable.json` with the reason, as are those that need DNS answers, and
//! the test requires that every upstream rule is either acted or listed there.
//!
//! Paths outside the temporary directory (`/etc`, `/var/log`, `/usr/sbin`, `/home`...) are
//! written only inside a private mount namespace over a fresh tmpfs (`unshare -m`), and
//! addresses other than 127.0.0.1 exist only inside a private network namespace (`unshare -n`,
//! the address on its loopback). Rules upstream ships disabled are enabled
//! (`-o rules[].enable.rule=*`) so that they are proven too.

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

mod support;
use support::shared;

struct Action {
    file: String,
    rule: String,
    script: String,
    fields: BTreeMap<String, String>,
    /// Why the action cannot raise its rule yet: the test then requires that it does not, so
    /// that the entry is revisited the day it does.
    pending: Option<String>,
    /// Whether the actor first joins the test's container cgroup.
    container: bool,
    /// A process started before the agent (for rules on long-running processes), which the
    /// action then prompts.
    background: Option<String>,
    /// The action's time limit: 0.2 s unless the fixture gives one (with `why_slower`).
    limit: Duration,
}

/// Names the actions run programs by: symbolic links in the run's directory.
const ALIASES: &[(&str, &str)] = &[
    ("login", "/bin/bash"),
    ("nc", "/bin/bash"),
    ("mysqld", "/bin/bash"),
    ("containerd-shim", "/bin/bash"),
    ("npm", "/bin/bash"),
    ("sudoedit", "/bin/bash"),
    ("pkexec", "/bin/bash"),
    ("sshd", "/bin/bash"),
    ("ssh", "/usr/bin/python3"),
    ("java", "/usr/bin/python3"),
    ("crontab", "/bin/true"),
    ("kubectl", "/bin/true"),
    ("scp", "/bin/true"),
    ("xmrig", "/bin/true"),
    // Names the standard rules look for.
    ("curl", "/bin/bash"),
    ("Runner.Worker", "/bin/bash"),
    ("apk", "/bin/true"),
    ("modprobe", "/bin/true"),
    ("docker", "/bin/true"),
    ("ncat", "/bin/true"),
    ("systemctl", "/bin/true"),
    ("useradd", "/bin/true"),
    ("sudo", "/bin/true"),
    ("setcap", "/bin/true"),
    ("setenforce", "/bin/true"),
    ("nmap", "/bin/true"),
    ("linpeas.sh", "/bin/true"),
];

fn actions(fixtures: &Path, id: &str, dir: &Path, cid: &str) -> Vec<Action> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| !p.ends_with("untriggerable.json"))
        .collect();
    files.sort();
    let fill = |s: &str| {
        s.replace("{id}", id)
            .replace("{dir}", &dir.display().to_string())
            .replace("{cid}", cid)
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
                container: a["container"].as_bool().unwrap_or(false),
                background: a["background"].as_str().map(fill),
                limit: match (a["limit_ms"].as_u64(), a["why_slower"].as_str()) {
                    (None, _) => Duration::from_millis(200),
                    (Some(ms), Some(_)) => Duration::from_millis(ms),
                    (Some(_), None) => panic!("{}: `limit_ms` without `why_slower`", f.display()),
                },
            });
        }
    }
    out
}

/// Starts `lanner run` with these arguments after the ones every live test gives, and waits
/// until it watches.
fn start_agent<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (Child, Receiver<String>) {
    let every = ["run", "--format", "json", "--containers", "runtimes"];
    let args = (every.iter().map(std::ffi::OsStr::new)).chain(args.iter().map(AsRef::as_ref));
    let (mut agent, stderr) =
        support::start_watching(args, Stdio::piped(), Duration::from_secs(120));
    // Keep draining stderr so the agent never blocks on it.
    std::thread::spawn(move || for _ in stderr.lines() {});
    let rx = support::lines(agent.stdout.take().unwrap());
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

/// The rule names of an upstream file (each rule starts with an unquoted `- rule: ` line).
fn rule_names(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("- rule: "))
        .map(|n| n.trim().to_owned())
        .collect()
}

/// The live tests share the machine's one set of kernel hooks and its two cores: they run one
/// at a time.
static LIVE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/live-actions")
}

/// A live test's scene: its temporary directory with the actor, the programs named by
/// `ALIASES` and the overlay directories, and its container cgroup. Removed on drop.
struct Stage {
    id: String,
    dir: PathBuf,
    actor: PathBuf,
    cid: String,
    cgroup: ContainerCgroup,
}

impl Stage {
    fn new(what: &str) -> Stage {
        let id = format!("{}", std::process::id());
        let dir = std::env::temp_dir().join(format!("lanner-{what}-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".aws")).unwrap();
        std::fs::write(dir.join(".aws/credentials"), b"").unwrap();
        let actor = dir.join("lanner-actor");
        std::fs::copy("/bin/bash", &actor).unwrap();
        std::fs::copy("/bin/bash", dir.join("nginx")).unwrap();
        // The overlay an action mounts to run a binary from its upper layer.
        for d in ["l", "u", "w", "m"] {
            std::fs::create_dir_all(dir.join("ov").join(d)).unwrap();
        }
        for (name, target) in ALIASES {
            std::os::unix::fs::symlink(target, dir.join(name)).unwrap();
        }
        let fifo = std::ffi::CString::new(dir.join("go-fifo").display().to_string()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        // A container id as docker writes it: 64 hex digits, this run's pid in front.
        let full_cid = format!("{:0>16x}{}", std::process::id(), "c0ffee".repeat(8));
        let cgroup = ContainerCgroup {
            path: PathBuf::from(format!("/sys/fs/cgroup/pids/docker-{full_cid}.scope")),
        };
        std::fs::create_dir_all(&cgroup.path).unwrap();
        let cid = &full_cid[..12];
        Stage {
            cid: cid.to_owned(),
            id,
            dir,
            actor,
            cgroup,
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs each action as the stage's actor and waits for its alert; returns what went wrong.
fn run_actions(
    stage: &Stage,
    actions: &[Action],
    background: &[(String, Instant, Child)],
    rx: &Receiver<String>,
) -> Vec<String> {
    run_actions_seen(stage, actions, background, rx).0
}

/// [`run_actions`], and every alert read meanwhile.
fn run_actions_seen(
    stage: &Stage,
    actions: &[Action],
    background: &[(String, Instant, Child)],
    rx: &Receiver<String>,
) -> (Vec<String>, Vec<serde_json::Value>) {
    let (dir, actor, cgroup) = (&stage.dir, &stage.actor, &stage.cgroup);
    let mut seen: Vec<serde_json::Value> = Vec::new();
    let mut failures = Vec::new();
    for a in actions {
        if let Some((_, since, _)) = background.iter().find(|(r, _, _)| *r == a.rule) {
            // Falco's `proc_is_new` holds for five seconds after a process starts.
            let old = Duration::from_millis(5500);
            if let Some(left) = old.checked_sub(since.elapsed()) {
                std::thread::sleep(left);
            }
        }
        let join = if a.container {
            format!("echo $$ > {}/cgroup.procs\n", cgroup.path.display())
        } else {
            String::new()
        };
        let started = Instant::now();
        let status = Command::new(actor)
            .arg("-c")
            // `exit` keeps bash from exec'ing the last command in its own place.
            .arg(format!("{join}{}\nexit 0\n", a.script))
            .current_dir(dir)
            .status()
            .unwrap();
        let took = started.elapsed();
        if !status.success() {
            failures.push(format!("{}: `{}` failed", a.rule, a.script));
            continue;
        }
        // The bound is the action's design budget, reported, not asserted: a timed assertion
        // fails on a loaded machine without saying anything about the rule.
        if took >= a.limit {
            eprintln!(
                "slow action: {}: took {took:?} (budget {:?})",
                a.rule, a.limit
            );
        }
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
    (failures, seen)
}

/// The test's container cgroup: named as docker names one, removed on drop.
struct ContainerCgroup {
    path: PathBuf,
}

impl Drop for ContainerCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}

#[test]
fn every_upstream_rule_has_an_action_or_a_reason() {
    let dir = std::env::temp_dir();
    let acted: Vec<String> = actions(&fixtures(), "0", &dir, "0")
        .into_iter()
        .map(|a| a.rule)
        .collect();
    let untriggerable: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("untriggerable.json")).unwrap(),
    )
    .unwrap();
    let mut problems = Vec::new();
    let mut all = Vec::new();
    for f in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ] {
        all.extend(rule_names(&shared().join("upstream-rules").join(f)));
    }
    assert_eq!(all.len(), 93, "rules in the upstream files");
    for r in &all {
        match (
            acted.iter().filter(|a| *a == r).count(),
            untriggerable.get(r),
        ) {
            (0, None) => problems.push(format!("`{r}`: no action and no reason")),
            (_, None) | (0, Some(_)) => {}
            (_, Some(_)) => problems.push(format!("`{r}`: an action and a reason")),
        }
    }
    for r in acted.iter().chain(untriggerable.keys()) {
        if !all.contains(r) {
            problems.push(format!("`{r}` is no upstream rule"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // INVARIANT: the list of rules no host can raise stays short.
    assert!(untriggerable.len() <= 7, "{untriggerable:?}");
}

#[test]
fn every_action_raises_its_upstream_rule() {
    if !support::root_or_skip("live rules test") {
        return;
    }
    let _serial = LIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let stage = Stage::new("actions");
    let (id, dir, actor, cid) = (&stage.id, &stage.dir, &stage.actor, &stage.cid[..]);
    let rules: Vec<PathBuf> = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]
    .iter()
    .map(|f| shared().join("upstream-rules").join(f))
    .collect();
    let actions = actions(&fixtures(), id, dir, cid);
    // 86 rules, and two more actions for `Read sensitive file untrusted`: relative paths after
    // `chdir` and `fchdir`, whose `fd.name` is made absolute with the cwd the agent tracks.
    assert_eq!(actions.len(), 88, "actions in tests/live-actions");

    // Processes the actions prompt later, started before the agent as a server would be.
    let mut background = Vec::new();
    for a in &actions {
        if let Some(script) = &a.background {
            let child = Command::new(actor)
                .arg("-c")
                .arg(script)
                .current_dir(dir)
                .spawn()
                .unwrap();
            background.push((a.rule.clone(), Instant::now(), child));
        }
    }

    let mut args = vec![
        std::ffi::OsString::from("--rule-matching"),
        "all".into(),
        "-o".into(),
        "rules[].enable.rule=*".into(),
        "--rules".into(),
    ];
    args.extend(rules.iter().map(|r| r.clone().into_os_string()));
    let (mut agent, rx) = start_agent(&args);
    // `lanner capture` beside the agent: its replay must give the same alerts (below).
    let capture = std::env::temp_dir().join(format!("lanner-actions-{id}.scap"));
    let mut capturer = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(["capture", "--write"])
        .arg(&capture)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut cap_err = BufReader::new(capturer.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("lanner: capturing") {
        line.clear();
        assert!(
            cap_err.read_line(&mut line).unwrap() > 0,
            "lanner capture ended before it was ready"
        );
    }
    std::thread::spawn(move || for _ in cap_err.lines() {});
    let failures = run_actions(&stage, &actions, &background, &rx);
    for (_, _, mut child) in background {
        let _ = child.kill();
        let _ = child.wait();
    }
    // SAFETY: kill with a valid pid and signal number.
    unsafe {
        libc::kill(agent.id() as libc::pid_t, libc::SIGINT);
    }
    let status = agent.wait().unwrap();
    // SAFETY: kill with a valid pid and signal number.
    unsafe {
        libc::kill(capturer.id() as libc::pid_t, libc::SIGINT);
    }
    let cap_status = capturer.wait().unwrap();
    drop(stage);
    assert!(status.success(), "lanner run exited with {status}");
    assert!(
        cap_status.success(),
        "lanner capture exited with {cap_status}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The capture replayed with the same rules and options raises every action's alert.
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args([
            "replay",
            "--format",
            "json",
            "--rule-matching",
            "all",
            "--containers",
            "runtimes",
            "-o",
            "rules[].enable.rule=*",
        ])
        .arg(&capture)
        .arg("--rules")
        .args(&rules)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&capture);
    assert!(
        out.status.success(),
        "lanner replay: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replayed: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let missing: Vec<&str> = actions
        .iter()
        .filter(|a| a.pending.is_none())
        .filter(|a| !replayed.iter().any(|al| matches(al, a)))
        .map(|a| a.rule.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "live alerts the replay of `lanner capture` misses: {missing:?}"
    );
}

fn stdlib_rules() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../stdlib-rules/lanner_rules.yaml")
}

#[test]
fn every_stdlib_rule_has_an_action_or_a_reason() {
    let dir = std::env::temp_dir();
    let acted: Vec<String> = actions(&fixtures().join("stdlib"), "0", &dir, "0")
        .into_iter()
        .map(|a| a.rule)
        .collect();
    let untriggerable: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("stdlib/untriggerable.json")).unwrap(),
    )
    .unwrap();
    let all = rule_names(&stdlib_rules());
    assert!(
        all.len() >= 50,
        "rules in the standard rules: {}",
        all.len()
    );
    let mut problems = Vec::new();
    for r in &all {
        match (acted.iter().any(|a| a == r), untriggerable.get(r)) {
            (false, None) => problems.push(format!("`{r}`: no action and no reason")),
            (true, Some(_)) => problems.push(format!("`{r}`: an action and a reason")),
            _ => {}
        }
    }
    for r in acted.iter().chain(untriggerable.keys()) {
        if !all.contains(r) {
            problems.push(format!("`{r}` is no standard rule"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // INVARIANT: a standard rule no live host can raise is the exception.
    assert!(untriggerable.len() <= 2, "{untriggerable:?}");
}

/// `lanner run` with no rules argument watches with the built-in standard rules (the bundle
/// compiled from `stdlib-rules/lanner_rules.yaml`): each action of `live-actions/stdlib/` raises
/// its rule with all of them loaded together.
#[test]
fn every_action_raises_its_stdlib_rule() {
    if !support::root_or_skip("live stdlib rules test") {
        return;
    }
    let _serial = LIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let stage = Stage::new("stdlib");
    let actions = actions(
        &fixtures().join("stdlib"),
        &stage.id,
        &stage.dir,
        &stage.cid,
    );
    let (mut agent, rx) = start_agent(&["--rule-matching", "all"]);
    let failures = run_actions(&stage, &actions, &[], &rx);
    // SAFETY: kill with a valid pid and signal number.
    unsafe {
        libc::kill(agent.id() as libc::pid_t, libc::SIGINT);
    }
    let status = agent.wait().unwrap();
    drop(stage);
    assert!(status.success(), "lanner run exited with {status}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A rules file that appends the pids cgroup of the alerting thread to every named rule's
/// output: alerts are then told apart by the cgroup their process was in.
fn cgroup_overlay(rules: &[String]) -> String {
    let mut out = String::new();
    for r in rules {
        out.push_str(&format!(
            "- rule: {}\n  output: \"benign_cgroup=%thread.cgroup.pids\"\n  override:\n    output: append\n",
            serde_json::to_string(r).unwrap()
        ));
    }
    out
}

/// Reads an agent's alerts until `until` holds for one (or the deadline passes).
fn drain(
    rx: &Receiver<String>,
    into: &mut Vec<serde_json::Value>,
    until: impl Fn(&serde_json::Value) -> bool,
    deadline: Instant,
) -> bool {
    if into.iter().any(&until) {
        return true;
    }
    while Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(50)) {
            let alert: serde_json::Value = serde_json::from_str(&l).unwrap();
            let hit = until(&alert);
            into.push(alert);
            if hit {
                return true;
            }
        }
    }
    false
}

/// Counts alerts by rule, as `rule: n` lines.
fn by_rule<'a>(alerts: impl Iterator<Item = &'a serde_json::Value>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for a in alerts {
        *m.entry(a["rule"].as_str().unwrap_or("?").to_owned())
            .or_insert(0) += 1;
    }
    m
}

/// `deploy/workload/benign.sh` (what a busy host does: C and Rust builds, a package install
/// into a scratch root, git, a web server and client on 127.0.0.1, log rotation, scheduled jobs,
/// a shell on a pty, namespaces) under `lanner run` with the standard rules raises no alert.
/// The workload runs in a pids cgroup of its own, and an overlay appends
/// `%thread.cgroup.pids` to every rule's output, so the machine's other activity does not
/// count (the total is printed too). The upstream rules (all three files as shipped, Falco's
/// default first-match) watch the same run beside it; their count is printed, not asserted. A
/// control action in the cgroup after the workload must be attributed on both agents, which
/// proves the attribution works and that both agents have read past the workload's events.
#[test]
fn benign_workload_raises_no_stdlib_alert() {
    if !support::root_or_skip("benign workload test") {
        return;
    }
    let _serial = LIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let id = std::process::id();
    let dir = std::env::temp_dir().join(format!("lanner-benign-test-{id}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cg_name = format!("/lanner-benign-{id}");
    let cgroup = ContainerCgroup {
        path: PathBuf::from(format!("/sys/fs/cgroup/pids{cg_name}")),
    };
    std::fs::create_dir_all(&cgroup.path).unwrap();

    let upstream: Vec<PathBuf> = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]
    .iter()
    .map(|f| shared().join("upstream-rules").join(f))
    .collect();
    let std_overlay = dir.join("stdlib-cgroup.yaml");
    std::fs::write(&std_overlay, cgroup_overlay(&rule_names(&stdlib_rules()))).unwrap();
    let up_overlay = dir.join("upstream-cgroup.yaml");
    let up_names: Vec<String> = upstream.iter().flat_map(|f| rule_names(f)).collect();
    std::fs::write(&up_overlay, cgroup_overlay(&up_names)).unwrap();

    let mut std_args: Vec<std::ffi::OsString> =
        vec!["--rule-matching".into(), "all".into(), "--rules".into()];
    std_args.push(stdlib_rules().into_os_string());
    std_args.push(std_overlay.clone().into_os_string());
    let mut up_args: Vec<std::ffi::OsString> =
        vec!["--rule-matching".into(), "first".into(), "--rules".into()];
    up_args.extend(upstream.iter().map(|p| p.clone().into_os_string()));
    up_args.push(up_overlay.clone().into_os_string());
    let (mut std_agent, std_rx) = start_agent(&std_args);
    let (mut up_agent, up_rx) = start_agent(&up_args);

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/workload/benign.sh");
    let procs = cgroup.path.join("cgroup.procs");
    let started = Instant::now();
    let mut workload = Command::new("/bin/bash")
        .arg("-c")
        .arg(format!(
            "echo $$ > {} && exec /bin/bash {}",
            procs.display(),
            script.display()
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = workload.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > Duration::from_secs(150) {
            let _ = workload.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let took = started.elapsed();
    let out = workload.wait_with_output().unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The control: a sensitive read from the workload's cgroup, which both rule sets report.
    let control = Command::new("/bin/bash")
        .arg("-c")
        .arg(format!(
            "echo $$ > {} && cat /etc/shadow > /dev/null; exit 0",
            procs.display()
        ))
        .status()
        .unwrap();
    assert!(control.success());
    let ours = |a: &serde_json::Value| a["output_fields"]["thread.cgroup.pids"] == cg_name.as_str();
    let is_control = |a: &serde_json::Value| {
        ours(a)
            && a["output_fields"]["proc.cmdline"] == "cat /etc/shadow"
            && a["output_fields"]["fd.name"] == "/etc/shadow"
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut std_alerts = Vec::new();
    let mut up_alerts = Vec::new();
    let std_control = drain(&std_rx, &mut std_alerts, is_control, deadline);
    let up_control = drain(&up_rx, &mut up_alerts, is_control, deadline);
    for agent in [&mut std_agent, &mut up_agent] {
        // SAFETY: kill with a valid pid and signal number.
        unsafe {
            libc::kill(agent.id() as libc::pid_t, libc::SIGINT);
        }
    }
    let std_status = std_agent.wait().unwrap();
    let up_status = up_agent.wait().unwrap();
    // What the agents wrote before they stopped.
    std_alerts.extend(std_rx.try_iter().map(|l| serde_json::from_str(&l).unwrap()));
    up_alerts.extend(up_rx.try_iter().map(|l| serde_json::from_str(&l).unwrap()));
    drop(cgroup);
    let _ = std::fs::remove_dir_all(&dir);

    let std_ours: Vec<&serde_json::Value> = std_alerts
        .iter()
        .filter(|a| ours(a) && !is_control(a))
        .collect();
    let up_ours: Vec<&serde_json::Value> = up_alerts
        .iter()
        .filter(|a| ours(a) && !is_control(a))
        .collect();
    let upstream_file = |rule: &str| -> &str {
        for f in &upstream {
            if rule_names(f).iter().any(|n| n == rule) {
                return f.file_name().and_then(|n| n.to_str()).unwrap_or("?");
            }
        }
        "?"
    };
    let mut per_file: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &up_ours {
        *per_file
            .entry(upstream_file(a["rule"].as_str().unwrap_or("")))
            .or_insert(0) += 1;
    }
    eprintln!(
        "benign workload: {took:.1?}; standard rules: {} alert(s) from the workload, {} in all; \
         upstream rules: {} from the workload ({per_file:?}), {} in all",
        std_ours.len(),
        std_alerts.iter().filter(|a| !is_control(a)).count(),
        up_ours.len(),
        up_alerts.iter().filter(|a| !is_control(a)).count(),
    );
    eprintln!(
        "upstream alerts from the workload by rule: {:?}",
        by_rule(up_ours.iter().copied())
    );
    eprintln!(
        "standard alerts outside the workload by rule: {:?}",
        by_rule(std_alerts.iter().filter(|a| !ours(a)))
    );

    assert!(
        std_status.success(),
        "lanner run (standard rules) exited with {std_status}"
    );
    assert!(
        up_status.success(),
        "lanner run (upstream rules) exited with {up_status}"
    );
    let status = status.unwrap_or_else(|| panic!("the workload ran over 150 s:\n{log}"));
    assert!(status.success(), "the workload failed ({status}):\n{log}");
    assert!(
        std_control && up_control,
        "the control alert did not come (standard: {std_control}, upstream: {up_control})"
    );
    let shown: Vec<String> = std_ours.iter().map(|a| a.to_string()).collect();
    assert!(
        std_ours.is_empty(),
        "standard rules alerted on the benign workload:\n{}",
        shown.join("\n")
    );
}

/// The upstream rules' stable actions with the kernel's rule prefilter on (`--prefilter rules`,
/// the default) and off: every action raises its rule both ways, the alerts about the stage's
/// files and processes are the same rules, and `--stats-json` writes the contract.
#[test]
fn prefilter_on_and_off_raise_the_same_alerts() {
    if !support::root_or_skip("live prefilter test") {
        return;
    }
    let _serial = LIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let rules: Vec<PathBuf> = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]
    .iter()
    .map(|f| shared().join("upstream-rules").join(f))
    .collect();
    let mut by_mode = BTreeMap::new();
    for mode in ["off", "rules"] {
        // A stage per run: the actions create files that must not exist yet.
        let stage = Stage::new(&format!("prefilter-{mode}"));
        let dir = stage.dir.display().to_string();
        let actions: Vec<Action> = actions(&fixtures(), &stage.id, &stage.dir, &stage.cid)
            .into_iter()
            .filter(|a| a.file == "stable.json")
            .filter(|a| a.pending.is_none() && !a.container && a.background.is_none())
            .collect();
        assert!(actions.len() >= 10, "stable actions: {}", actions.len());
        let stats = stage.dir.join(format!("stats-{mode}.json"));
        let mut args = vec![
            std::ffi::OsString::from("--rule-matching"),
            "all".into(),
            "--prefilter".into(),
            mode.into(),
            "--stats-json".into(),
            stats.clone().into_os_string(),
            "--rules".into(),
        ];
        args.extend(rules.iter().map(|r| r.clone().into_os_string()));
        let (mut agent, rx) = start_agent(&args);
        let (failures, mut seen) = run_actions_seen(&stage, &actions, &[], &rx);
        // SAFETY: kill with a valid pid and signal number.
        unsafe {
            libc::kill(agent.id() as libc::pid_t, libc::SIGINT);
        }
        let status = agent.wait().unwrap();
        seen.extend(rx.try_iter().map(|l| serde_json::from_str(&l).unwrap()));
        assert!(status.success(), "lanner run --prefilter {mode}: {status}");
        assert!(
            failures.is_empty(),
            "--prefilter {mode}: {}",
            failures.join("\n")
        );
        let ours: std::collections::BTreeSet<String> = seen
            .iter()
            .filter(|al| al["output_fields"].to_string().contains(&dir))
            .map(|al| al["rule"].as_str().unwrap().to_owned())
            .collect();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
        drop(stage);
        let p = &v["prefilter"];
        for k in ["seen", "passed", "dropped"] {
            assert!(p[k].is_u64(), "--prefilter {mode}: `prefilter.{k}` in {v}");
        }
        for k in ["events", "alerts", "drops"] {
            assert!(v[k].is_u64(), "--prefilter {mode}: `{k}` in {v}");
        }
        let (seen_n, passed, dropped) = (
            p["seen"].as_u64().unwrap(),
            p["passed"].as_u64().unwrap(),
            p["dropped"].as_u64().unwrap(),
        );
        assert_eq!(seen_n, passed + dropped, "{v}");
        let by_type = p["by_type"].as_object().unwrap();
        for t in ["openat", "execve"] {
            assert!(
                by_type.contains_key(t),
                "--prefilter {mode}: no `{t}` in {v}"
            );
        }
        let sum: u64 = by_type.values().map(|c| c["seen"].as_u64().unwrap()).sum();
        assert_eq!(sum, seen_n, "{v}");
        for c in by_type.values() {
            assert_eq!(
                c["seen"].as_u64().unwrap(),
                c["passed"].as_u64().unwrap() + c["dropped"].as_u64().unwrap()
            );
        }
        if mode == "off" {
            assert_eq!(dropped, 0, "nothing is dropped with the prefilter off: {v}");
        }
        assert!(v["alerts"].as_u64().unwrap() > 0, "{v}");
        eprintln!(
            "--prefilter {mode}: kernel saw {seen_n}, passed {passed}, dropped {dropped}; {} event(s) evaluated",
            v["events"]
        );
        by_mode.insert(mode, ours);
    }
    assert_eq!(
        by_mode["off"], by_mode["rules"],
        "alerts about the stage's activity"
    );
}
