//! The agent with the real programs around it: Debian's `prometheus` scraping a live run
//! (`lanner run`, root) and a query returning the expected alert count; Debian's `rsyslogd`
//! receiving the syslog alerts of a replay. Under `CI=true` a missing tool or missing root is a
//! failure, never a skip. Network only on 127.0.0.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::{in_ci, is_root, shared, tempdir};

/// Whether the test can run; panics under CI when it cannot.
fn have(tool: &str, needs_root: bool) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .any(|d| Path::new(d).join(tool).exists());
    let ok = found && (!needs_root || is_root());
    if !ok {
        assert!(
            !in_ci(),
            "`{tool}` (and root: {needs_root}) is needed under CI=true"
        );
        eprintln!("skipping: `{tool}` missing or not root");
    }
    ok
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `lanner run --duration SECS --config CONFIG --rules RULES`, started and watching; its stderr
/// is kept open (and handed back) so that the agent never writes to a closed pipe.
fn run_for(
    secs: u32,
    config: &Path,
    rules: &Path,
    stdout: Stdio,
) -> (Child, BufReader<std::process::ChildStderr>) {
    support::start_watching(
        [
            "run".into(),
            "--duration".into(),
            secs.to_string().into(),
            "--config".into(),
            config.as_os_str().to_owned(),
            "--rules".into(),
            rules.as_os_str().to_owned(),
        ] as [std::ffi::OsString; 7],
        stdout,
        Duration::from_secs(120),
    )
}

struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(url: &str) -> Option<String> {
    ureq::get(url)
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
}

#[test]
fn prometheus_scrapes_a_live_run_and_counts_its_alerts() {
    if !have("prometheus", true) {
        return;
    }
    let dir = tempdir("prom");
    let agent_port = free_port();
    let prom_port = free_port();
    // A probe binary with a name nothing else on the machine has.
    let probe = dir.join("lanner_promprb");
    std::fs::copy("/bin/true", &probe).unwrap();
    let rules = dir.join("rules.yaml");
    std::fs::write(
        &rules,
        "- rule: Prometheus probe exec\n  desc: the test's probe binary ran\n  \
         condition: evt.type in (execve, execveat) and proc.name = lanner_promprb\n  \
         output: \"probe ran (proc.name=%proc.name)\"\n  priority: WARNING\n  tags: [test, prom]\n",
    )
    .unwrap();
    let config = dir.join("falco.yaml");
    std::fs::write(
        &config,
        format!(
            "json_output: true\nstdout_output:\n  enabled: true\n\
             metrics:\n  enabled: true\n  interval: 1h\n  output_rule: false\n\
             webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: {agent_port}\n  prometheus_metrics_enabled: true\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: lanner\n    static_configs:\n      - targets: ['127.0.0.1:{agent_port}']\n"
        ),
    )
    .unwrap();
    let _prom = Reaper(
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (mut agent, mut stderr) = run_for(40, &config, &rules, Stdio::piped());
    let base = format!("http://127.0.0.1:{agent_port}");
    assert_eq!(
        get(&format!("{base}/healthz")).as_deref(),
        Some("{\"status\": \"ok\"}")
    );
    let versions: serde_json::Value =
        serde_json::from_str(&get(&format!("{base}/versions")).unwrap()).unwrap();
    assert!(versions["engine_version_semver"].is_string());
    const RUNS: usize = 12;
    for _ in 0..RUNS {
        assert!(Command::new(&probe).status().unwrap().success());
    }
    // Prometheus scrapes every second; ask it until it has seen every alert.
    let query = "sum(falcosecurity_falco_rules_matches_total{rule_name=\"Prometheus probe exec\",priority=\"4\",source=\"syscall\",tag_prom=\"true\"})";
    let url = format!(
        "http://127.0.0.1:{prom_port}/api/v1/query?query={}",
        query
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            })
            .collect::<String>()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut value = None;
    while Instant::now() < deadline {
        if let Some(body) = get(&url) {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            if let Some(s) = v["data"]["result"][0]["value"][1].as_str() {
                value = Some(s.to_string());
                if s == RUNS.to_string() {
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(value.as_deref(), Some(RUNS.to_string().as_str()));
    // `lanner stats` reads the same agent.
    let stats = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(["stats", "--format", "json", "--url", &base])
        .output()
        .unwrap();
    assert!(stats.status.success());
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert!(stats["falcosecurity_scap_n_evts_total"].as_f64().unwrap() > 0.0);
    assert_eq!(stats["lanner_alerts_total"].as_f64(), Some(RUNS as f64));
    // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
    unsafe { libc::kill(agent.id() as i32, libc::SIGTERM) };
    let status = agent.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "{rest}");
    assert!(rest.contains(&format!("Events detected: {RUNS}")), "{rest}");
}

#[test]
fn rsyslogd_receives_syslog_alerts_at_falcos_levels() {
    if !have("rsyslogd", false) {
        return;
    }
    let dir = tempdir("syslog");
    let socket = dir.join("log.sock");
    let out = dir.join("out.log");
    std::fs::write(
        dir.join("rsyslog.conf"),
        format!(
            "global(workDirectory=\"{d}\")\n\
             module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
             input(type=\"imuxsock\" Socket=\"{s}\" RateLimit.Interval=\"0\")\n\
             template(name=\"raw\" type=\"string\" string=\"%syslogseverity%|%syslogfacility-text%|%programname%|%msg%\\n\")\n\
             *.* action(type=\"omfile\" file=\"{o}\" template=\"raw\")\n",
            d = dir.display(),
            s = socket.display(),
            o = out.display()
        ),
    )
    .unwrap();
    let _rsyslog = Reaper(
        Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(
            Instant::now() < deadline,
            "rsyslogd did not create its socket"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let config = dir.join("falco.yaml");
    std::fs::write(
        &config,
        "stdout_output:\n  enabled: false\nsyslog_output:\n  enabled: true\nrule_matching: all\n",
    )
    .unwrap();
    let s = shared();
    let run = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .env("LANNER_SYSLOG_SOCKET", &socket)
        .arg("replay")
        .arg("--config")
        .arg(&config)
        .arg("--rules")
        .arg(s.join("upstream-rules/falco_rules.yaml"))
        .arg(s.join("upstream-rules/falco-incubating_rules.yaml"))
        .arg(s.join("upstream-rules/falco-sandbox_rules.yaml"))
        .arg(s.join("scap/oracle-falco/probe_rules.yaml"))
        .arg(s.join("scap/captures/curl_google.scap"))
        .arg(s.join("scap/captures/run_as_user_0_container.scap"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(run.stdout.is_empty(), "stdout_output is off");
    assert!(
        stderr.contains("lanner: output syslog: 84 delivered, 0 dropped"),
        "{stderr}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = Vec::new();
    while Instant::now() < deadline {
        lines = std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        if lines.len() >= 84 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(lines.len(), 84);
    // Falco's priority is the syslog severity: the summary's counts per priority must match.
    let by_level = |level: &str| {
        lines
            .iter()
            .filter(|l| l.starts_with(&format!("{level}|")))
            .count()
    };
    assert_eq!(by_level("4"), 2, "Warning");
    assert_eq!(by_level("5"), 19, "Notice");
    assert_eq!(by_level("6"), 20, "Informational");
    assert_eq!(by_level("7"), 43, "Debug");
    for l in &lines {
        let parts: Vec<&str> = l.splitn(4, '|').collect();
        assert_eq!(parts[1], "user");
        assert_eq!(parts[2], "lanner");
        assert!(parts[3].contains(": "), "{l}");
    }
}

#[test]
fn sigusr1_reopens_the_file_output_for_logrotate() {
    if !have("true", true) {
        return;
    }
    let dir = tempdir("rotate");
    let probe = dir.join("lanner_rotprb");
    std::fs::copy("/bin/true", &probe).unwrap();
    let rules = dir.join("rules.yaml");
    std::fs::write(
        &rules,
        "- rule: Rotate probe exec\n  desc: the test's probe binary ran\n  \
         condition: evt.type in (execve, execveat) and proc.name = lanner_rotprb\n  \
         output: \"probe ran (proc.name=%proc.name)\"\n  priority: NOTICE\n",
    )
    .unwrap();
    let events = dir.join("events.txt");
    let config = dir.join("falco.yaml");
    std::fs::write(
        &config,
        format!(
            "stdout_output:\n  enabled: false\nfile_output:\n  enabled: true\n  keep_alive: true\n  filename: {}\n",
            events.display()
        ),
    )
    .unwrap();
    let (mut agent, _stderr) = run_for(30, &config, &rules, Stdio::null());
    let lines_of = |p: &Path, n: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = std::fs::read_to_string(p)
                .unwrap_or_default()
                .lines()
                .count();
            if got >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    for _ in 0..3 {
        assert!(Command::new(&probe).status().unwrap().success());
    }
    assert_eq!(lines_of(&events, 3), 3);
    // What logrotate does: move the file away, then signal.
    let rotated = dir.join("events.txt.1");
    std::fs::rename(&events, &rotated).unwrap();
    // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
    unsafe { libc::kill(agent.id() as i32, libc::SIGUSR1) };
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..2 {
        assert!(Command::new(&probe).status().unwrap().success());
    }
    assert_eq!(
        lines_of(&events, 2),
        2,
        "new alerts go to the reopened file"
    );
    assert_eq!(
        lines_of(&rotated, 3),
        3,
        "the rotated file got nothing more"
    );
    // SAFETY: as above.
    unsafe { libc::kill(agent.id() as i32, libc::SIGTERM) };
    assert!(agent.wait().unwrap().success());
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The metric names an expression uses: identifiers followed by `{`, `[` or `)` or standing
/// alone, that look like exported series (not functions, labels or recording rules).
fn series_in(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_braces = 0;
    let mut in_quotes = false;
    for c in expr.chars().chain(std::iter::once(' ')) {
        if in_quotes {
            in_quotes = c != '"';
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
            continue;
        }
        if !word.is_empty()
            && in_braces == 0
            && (word.starts_with("falcosecurity_") || word.starts_with("lanner_"))
        {
            out.push(word.clone());
        }
        word.clear();
        match c {
            '{' => in_braces += 1,
            '}' => in_braces -= 1,
            '"' => in_quotes = true,
            _ => {}
        }
    }
    out
}

/// The series a running agent exports: a live `lanner run` with a config file and the
/// webserver is scraped once (shared by the tests that check dashboards and rules), and every
/// family its exposition declares counts (histograms with their parts). `None`: not root.
fn exported_series() -> Option<&'static std::collections::BTreeSet<String>> {
    static SCRAPED: std::sync::OnceLock<Option<std::collections::BTreeSet<String>>> =
        std::sync::OnceLock::new();
    SCRAPED.get_or_init(scrape_running_agent).as_ref()
}

fn scrape_running_agent() -> Option<std::collections::BTreeSet<String>> {
    if !have("true", true) {
        return None;
    }
    let dir = tempdir("series");
    let rules = dir.join("rules.yaml");
    std::fs::write(
        &rules,
        "- rule: Series probe exec\n  desc: any exec\n  \
         condition: evt.type in (execve, execveat)\n  \
         output: \"exec (proc.name=%proc.name)\"\n  priority: NOTICE\n",
    )
    .unwrap();
    let port = free_port();
    let config = dir.join("falco.yaml");
    std::fs::write(
        &config,
        format!(
            "json_output: true\nstdout_output:\n  enabled: false\n\
             metrics:\n  enabled: true\n  output_rule: false\n\
             webserver:\n  enabled: true\n  listen_port: {port}\n  prometheus_metrics_enabled: true\n"
        ),
    )
    .unwrap();
    let (child, _stderr) = run_for(60, &config, &rules, Stdio::null());
    let agent = Reaper(child);
    // An alert, so the per-rule families carry a sample too.
    assert!(Command::new("/bin/true").status().unwrap().success());
    let url = format!("http://127.0.0.1:{port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        if let Some(t) = get(&url)
            && t.contains("falcosecurity_falco_rules_matches_total{")
        {
            break t;
        }
        assert!(Instant::now() < deadline, "no match scraped from {url}");
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(agent);
    Some(
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .flat_map(|l| {
                let (name, kind) = l.split_once(' ').unwrap();
                let mut v = vec![name.to_string()];
                if kind == "histogram" {
                    for s in ["_bucket", "_sum", "_count"] {
                        v.push(format!("{name}{s}"));
                    }
                }
                v
            })
            .collect(),
    )
}

#[test]
fn grafana_dashboards_query_only_exported_series() {
    let Some(exported) = exported_series() else {
        return;
    };
    let dir = repo().join("deploy/grafana");
    let mut dashboards = 0;
    let mut queries = 0;
    for f in ["executive.json", "oncall.json", "debug.json"] {
        let d: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap();
        dashboards += 1;
        for p in d["panels"].as_array().unwrap() {
            for t in p["targets"].as_array().unwrap() {
                let expr = t["expr"].as_str().unwrap();
                let series = series_in(expr);
                assert!(!series.is_empty(), "{f}: `{expr}` names no series");
                for s in series {
                    assert!(exported.contains(&s), "{f}: `{s}` is not exported");
                }
                queries += 1;
            }
        }
    }
    assert_eq!((dashboards, queries), (3, 19));
}

#[test]
fn prometheus_rules_pass_promtool_and_name_only_exported_series() {
    if !have("promtool", false) {
        return;
    }
    let rules = repo().join("deploy/prometheus/lanner-rules.yml");
    let check = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let Some(exported) = exported_series() else {
        return;
    };
    let text = std::fs::read_to_string(&rules).unwrap();
    let mut named = 0;
    for line in text.lines() {
        let Some(expr) = line.trim().strip_prefix("expr:") else {
            continue;
        };
        let expr = if expr.trim() == ">" {
            // A folded expression: the following indented lines.
            let start = text.find(line).unwrap() + line.len();
            text[start..]
                .lines()
                .skip(1)
                .take_while(|l| l.starts_with("          "))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            expr.to_string()
        };
        for s in series_in(&expr) {
            named += 1;
            assert!(exported.contains(&s), "`{s}` is not exported: {expr}");
        }
    }
    assert_eq!(named, 11, "series references checked");
}

#[test]
fn the_documented_example_config_checks_clean() {
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(["config", "check"])
        .arg(repo().join("deploy/lanner.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("lanner.yaml: Ok\n"));
}

fn cap_field(status: &str, key: &str) -> u64 {
    let v = status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {status}"));
    u64::from_str_radix(v.trim(), 16).unwrap()
}

#[test]
fn after_attach_the_agent_keeps_only_cap_bpf_and_cap_perfmon() {
    if !have("true", true) {
        return;
    }
    let dir = tempdir("caps");
    let probe = dir.join("lanner_capprb");
    std::fs::copy("/bin/true", &probe).unwrap();
    let rules = dir.join("rules.yaml");
    std::fs::write(
        &rules,
        "- rule: Caps probe exec\n  desc: the test's probe binary ran\n  \
         condition: evt.type in (execve, execveat) and proc.name = lanner_capprb\n  \
         output: \"probe ran (proc.name=%proc.name)\"\n  priority: NOTICE\n",
    )
    .unwrap();
    let port = free_port();
    let config = dir.join("falco.yaml");
    std::fs::write(
        &config,
        format!(
            "json_output: true\nfile_output:\n  enabled: true\n  filename: {}/events.txt\n\
             metrics:\n  enabled: true\n  output_rule: false\n\
             webserver:\n  enabled: true\n  listen_port: {port}\n  prometheus_metrics_enabled: true\n",
            dir.display()
        ),
    )
    .unwrap();
    let (mut agent, mut stderr) = run_for(30, &config, &rules, Stdio::piped());
    let pid = agent.id();
    let main = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kept = (1u64 << 38) | (1u64 << 39);
    assert_eq!(cap_field(&main, "CapEff:"), kept, "{main}");
    assert_eq!(cap_field(&main, "CapPrm:"), kept);
    // Every other thread (outputs, webserver) holds nothing.
    let mut threads = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let t = t.unwrap().file_name().into_string().unwrap();
        if t == pid.to_string() {
            continue;
        }
        let st = std::fs::read_to_string(format!("/proc/{pid}/task/{t}/status")).unwrap();
        assert_eq!(cap_field(&st, "CapEff:"), 0, "thread {t}: {st}");
        assert_eq!(cap_field(&st, "CapPrm:"), 0, "thread {t}");
        threads += 1;
    }
    assert!(
        threads >= 3,
        "stdout, file and webserver threads: {threads}"
    );
    // Still working: detection, the file output, the metrics endpoint, then a clean detach.
    for _ in 0..3 {
        assert!(Command::new(&probe).status().unwrap().success());
    }
    let mut out = BufReader::new(agent.stdout.take().unwrap());
    for _ in 0..3 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.contains("Caps probe exec"), "{line}");
    }
    let metrics = get(&format!("http://127.0.0.1:{port}/metrics")).unwrap();
    assert!(metrics.contains("lanner_alerts_total 3"), "{metrics}");
    // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let status = agent.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "{rest}");
    assert!(rest.contains("lanner: stopped after"), "{rest}");
    assert_eq!(
        std::fs::read_to_string(dir.join("events.txt"))
            .unwrap()
            .lines()
            .count(),
        3
    );
}

#[test]
fn the_daemonset_validates_against_the_kubernetes_schema() {
    if !have("kubernetes-validate", false) {
        return;
    }
    let out = Command::new("kubernetes-validate")
        .arg(repo().join("deploy/kubernetes/daemonset.yaml"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches(" passed for resource ").count(), 3, "{text}");
}

/// One series' value from the agent's `/metrics` (0 when absent).
fn metric(base: &str, series: &str) -> f64 {
    get(&format!("{base}/metrics"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Waits until `series` reaches `want`; returns its last value.
fn wait_metric(base: &str, series: &str, want: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = metric(base, series);
        if v >= want || Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn watched_config_changes_apply_silences_without_a_restart() {
    if !have("sh", true) {
        return;
    }
    let dir = tempdir("reload");
    let port = free_port();
    let probe = dir.join("lanner_rldprb");
    std::fs::copy("/bin/true", &probe).unwrap();
    let rules = dir.join("rules.yaml");
    std::fs::write(
        &rules,
        "- rule: Reload probe exec\n  desc: the test's probe binary ran\n  \
         condition: evt.type in (execve, execveat) and proc.name = lanner_rldprb\n  \
         output: \"probe ran (proc.name=%proc.name)\"\n  priority: WARNING\n  tags: [test]\n",
    )
    .unwrap();
    let base_config = format!(
        "json_output: true\nstdout_output:\n  enabled: true\nwatch_config_files: true\n\
         metrics:\n  enabled: true\n\
         webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: {port}\n  prometheus_metrics_enabled: true\n"
    );
    let config = dir.join("falco.yaml");
    std::fs::write(&config, &base_config).unwrap();
    let mut agent = Reaper(
        Command::new(env!("CARGO_BIN_EXE_lanner"))
            .args(["run", "--duration", "90", "--config"])
            .arg(&config)
            .arg("--rules")
            .arg(&rules)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(agent.0.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("lanner: watching") {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "agent ended: {seen}"
        );
        seen.push_str(&line);
    }
    assert!(
        seen.contains("for changes (noise control applies without a restart)"),
        "{seen}"
    );
    let base = format!("http://127.0.0.1:{port}");
    let alerts = "lanner_alerts_total";
    let silenced =
        "lanner_suppressed_alerts_total{rule_name=\"Reload probe exec\",reason=\"silence\"}";
    let ok = "lanner_reloads_total{kind=\"config\",outcome=\"ok\"}";
    let failed = "lanner_reloads_total{kind=\"config\",outcome=\"failed\"}";
    let run = |n: usize| {
        for _ in 0..n {
            assert!(Command::new(&probe).status().unwrap().success());
        }
    };
    // 1. No silence: every run alerts.
    run(3);
    assert_eq!(wait_metric(&base, alerts, 3.0), 3.0);
    // 2. A silence appears in the file (written elsewhere and renamed in, as editors and
    //    ConfigMaps do): the running agent applies it.
    let silence = format!(
        "{base_config}lanner:\n  silences:\n    - rule: \"Reload probe*\"\n      reason: maintenance TICKET-7\n"
    );
    let tmp = dir.join("falco.yaml.new");
    std::fs::write(&tmp, &silence).unwrap();
    std::fs::rename(&tmp, &config).unwrap();
    assert_eq!(wait_metric(&base, ok, 1.0), 1.0);
    run(4);
    assert_eq!(wait_metric(&base, silenced, 4.0), 4.0);
    assert_eq!(
        metric(&base, alerts),
        7.0,
        "matches are counted, silenced or not"
    );
    // 3. An invalid file is refused and counted; the silence stays.
    std::fs::write(&config, format!("{silence}priority: loud\n")).unwrap();
    assert_eq!(wait_metric(&base, failed, 1.0), 1.0);
    run(2);
    assert_eq!(wait_metric(&base, silenced, 6.0), 6.0);
    // 4. The silence removed: alerts flow again, without a restart.
    std::fs::write(&config, &base_config).unwrap();
    assert_eq!(wait_metric(&base, ok, 2.0), 2.0);
    run(5);
    assert_eq!(wait_metric(&base, alerts, 14.0), 14.0);
    assert_eq!(metric(&base, silenced), 6.0);
    assert_eq!(metric(&base, ok), 2.0);
    // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
    unsafe { libc::kill(agent.0.id() as i32, libc::SIGTERM) };
    let mut out = String::new();
    agent
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(agent.0.wait().unwrap().success(), "{rest}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let probe_alerts = lines
        .iter()
        .filter(|v| v["rule"] == "Reload probe exec")
        .count();
    assert_eq!(probe_alerts, 3 + 5, "{out}");
    // The refused file reached the outputs as Falco's hot restart failure, with the located error.
    let failure = lines
        .iter()
        .find(|v| v["rule"] == "Falco internal: hot restart failure")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(failure["priority"], "Critical");
    assert_eq!(failure["source"], "internal");
    assert!(
        failure["output"]
            .as_str()
            .unwrap()
            .contains("Unknown priority \"loud\""),
        "{failure}"
    );
    assert!(
        rest.contains("lanner: config reload failed, the running configuration stays"),
        "{rest}"
    );
    assert!(
        rest.contains("lanner: suppressed Reload probe exec (silence): 6"),
        "{rest}"
    );
}
