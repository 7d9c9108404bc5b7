//! Operating Lanner through the binary: `falco.yaml` checks (`tests/ops/config/*.yaml`, with
//! `# args:` for `-o` overrides) and rule selection on real rule files and captures
//! (`tests/ops/select/*.args`, one argument per line), each snapshotted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn lanner() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lanner"))
}

/// Falco's stable, incubating and sandbox rules plus the oracle's probe rules, which fire on
/// the shared captures.
fn rule_files() -> Vec<PathBuf> {
    let s = shared();
    let files = vec![
        s.join("upstream-rules/falco_rules.yaml"),
        s.join("upstream-rules/falco-incubating_rules.yaml"),
        s.join("upstream-rules/falco-sandbox_rules.yaml"),
        s.join("scap/oracle-falco/probe_rules.yaml"),
    ];
    for f in &files {
        assert!(f.exists(), "missing {}", f.display());
    }
    files
}

fn captures() -> Vec<PathBuf> {
    let s = shared().join("scap/captures");
    vec![
        s.join("curl_google.scap"),
        s.join("run_as_user_0_container.scap"),
    ]
}

fn fixtures(dir: &str, ext: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ops")
        .join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

fn check_config(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let mut cmd = lanner();
    cmd.current_dir(path.parent().unwrap());
    cmd.args(["config", "check"]);
    cmd.arg(path.file_name().unwrap());
    if let Some(args) = text.lines().find_map(|l| l.strip_prefix("# args: ")) {
        cmd.args(args.split_whitespace());
    }
    let out = cmd.output().unwrap();
    format!(
        "rc: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn config_check_corpus() {
    let files = fixtures("config", "yaml");
    assert_eq!(files.len(), 13, "config fixtures");
    for f in &files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(format!("config__{name}"), check_config(f));
    }
}

fn check_selection(path: &Path) -> String {
    let args: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let out = lanner()
        .args(["replay", "--rule-matching", "all", "--format", "json"])
        .args(&args)
        .arg("--rules")
        .args(rule_files())
        .args(captures())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let alerts = String::from_utf8_lossy(&out.stdout).lines().count();
    // INVARIANT: every detection reaches stdout; the summary counts what was printed.
    if out.status.code() == Some(0) {
        let detected = stderr
            .lines()
            .find_map(|l| l.strip_prefix("Events detected: "))
            .and_then(|n| n.parse::<usize>().ok())
            .expect("a summary");
        assert_eq!(detected, alerts, "{}", path.display());
    }
    let kept: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("replayed ") && !l.starts_with("warning: field"))
        .collect();
    format!(
        "args: {args:?}\nrc: {:?}\nalerts on stdout: {alerts}\n--- stderr\n{}\n",
        out.status.code(),
        kept.join("\n")
    )
}

#[test]
fn rule_selection_corpus() {
    let files = fixtures("select", "args");
    assert_eq!(files.len(), 18, "selection fixtures");
    for f in &files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(format!("select__{name}"), check_selection(f));
    }
}

fn check_noise(path: &Path) -> String {
    let out = lanner()
        .arg("replay")
        .arg("--config")
        .arg(path)
        .arg("--rules")
        .args(rule_files())
        .args(captures())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let alerts: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (internal, rules): (Vec<_>, Vec<_>) =
        alerts.iter().partition(|a| a["source"] == "internal");
    let detected: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Events detected: "))
        .and_then(|n| n.parse().ok())
        .unwrap();
    let suppressed: u64 = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("lanner: suppressed "))
        .filter_map(|l| l.rsplit_once(": ").and_then(|(_, n)| n.parse::<u64>().ok()))
        .sum();
    // INVARIANT: nothing is suppressed without a counter.
    assert_eq!(
        rules.len() as u64 + suppressed,
        detected,
        "{}",
        path.display()
    );
    let folded: u64 = rules
        .iter()
        .filter_map(|a| a["lanner_folded"].as_u64())
        .sum();
    let internal: Vec<String> = internal
        .iter()
        .map(|a| format!("{} | {} | {}", a["rule"], a["priority"], a["output_fields"]))
        .collect();
    let kept: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("replayed ") && !l.starts_with("warning: field"))
        .collect();
    format!(
        "rule alerts on stdout: {}\nfolded counts carried: {folded}\ninternal alerts:\n{}\n--- stderr\n{}\n",
        rules.len(),
        internal.join("\n"),
        kept.join("\n")
    )
}

#[test]
fn noise_control_corpus() {
    let files = fixtures("noise", "yaml");
    assert_eq!(files.len(), 5, "noise fixtures");
    for f in &files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(format!("noise__{name}"), check_noise(f));
    }
}

/// Forwards the evaluation hook to a registry (what the agent's emitter does).
struct Counting<'r>(&'r lanner::metrics::Registry);

impl lanner::emit::Emit for Counting<'_> {
    fn alert(
        &mut self,
        _: &lanner_engine::ruleset::Alert,
        _: &lanner_engine::ruleset::RuleSet,
        _: Option<std::time::Duration>,
    ) -> std::io::Result<()> {
        Ok(())
    }
    fn evaluated(&mut self, code: u16, first_alert: Option<usize>) {
        self.0.evaluated(code, first_alert);
    }
}

/// The per-rule evaluation counts (`lanner_rule_evaluations_total`) against an oracle that
/// reads each rule's event types and every rule's verdict on every event: with `all` a rule is
/// evaluated on every event of its types, with `first` only until an earlier rule matched.
#[test]
fn per_rule_evaluation_counts_match_an_oracle() {
    use lanner_engine::ruleset::{RuleMatching, RuleSet};
    let sources = rule_files()
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap()))
        .collect();
    let program = lanner_check::driver::compile(sources).unwrap_or_else(|_| panic!("rules"));
    let ruleset = RuleSet::from_program(&program, Default::default()).0;
    for matching in [RuleMatching::First, RuleMatching::All] {
        let metas = ruleset
            .rules
            .iter()
            .map(|r| lanner::metrics::RuleMeta {
                name: r.name.clone(),
                priority: r.priority as u8,
                source: r.source.clone(),
                tags: r.tags.clone(),
            })
            .collect();
        let registry = lanner::metrics::Registry::new(metas, &[], None, "replay")
            .with_dispatch(&ruleset, matching == RuleMatching::First);
        let mut expected = vec![0u64; ruleset.rules.len()];
        for capture in captures() {
            let options = lanner::replay::Options {
                matching,
                matcher: lanner_state::ContainerMatcher::falco(),
                format: lanner::replay::Format::Json,
            };
            lanner::replay::replay_capture(
                &capture,
                &ruleset,
                &options,
                &mut Counting(&registry),
                &mut Default::default(),
                &mut |_| {},
                None,
            )
            .unwrap();
            // The oracle: every rule's verdict on every event (`all`), then who was evaluated.
            let mut reader = lanner_event::ScapReader::open(&capture).unwrap();
            let mut replay = lanner_state::Replay::new(lanner_state::ContainerMatcher::falco());
            let mut alerts = Vec::new();
            while let Some(rec) = reader.next_record().unwrap() {
                if let Some(d) = replay.record(&rec)
                    && d.delivered
                    && let Some(ev) = replay.event()
                {
                    alerts.clear();
                    ruleset.evaluate(&ev, &replay.state, d.num, RuleMatching::All, &mut alerts);
                    let first = alerts.iter().map(|a| a.rule).min();
                    for (i, r) in ruleset.rules.iter().enumerate() {
                        let typed = r.any_event || r.event_codes.contains(&ev.event_type());
                        let reached = matching == RuleMatching::All || first.is_none_or(|f| i <= f);
                        if typed && reached {
                            expected[i] += 1;
                        }
                    }
                }
            }
        }
        let got = registry.rule_evaluations();
        assert_eq!(got, expected, "{matching:?}");
        assert!(got.iter().sum::<u64>() > 1_000, "a real workload: {got:?}");
        if matching == RuleMatching::First {
            // Some rule was cut short by an earlier match, or the check proves nothing.
            let table = registry.rules();
            let all: u64 = table
                .events_by_slot
                .iter()
                .map(|n| n.load(std::sync::atomic::Ordering::Relaxed))
                .sum();
            assert!(all > 0);
            assert!(
                table
                    .skipped
                    .iter()
                    .any(|n| n.load(std::sync::atomic::Ordering::Relaxed) > 0)
            );
        }
    }
}

fn small_ruleset(yaml: &str) -> lanner_engine::ruleset::RuleSet {
    let program = lanner_check::driver::compile(vec![("rules.yaml".into(), yaml.into())])
        .unwrap_or_else(|d| panic!("{:?}", d.errors().map(|e| &e.message).collect::<Vec<_>>()));
    lanner_engine::ruleset::RuleSet::from_program(&program, Default::default()).0
}

/// Replays the shared captures through `out` with `ruleset`.
fn replay_all(ruleset: &lanner_engine::ruleset::RuleSet, out: &mut dyn lanner::emit::Emit) {
    for capture in captures() {
        let options = lanner::replay::Options {
            matching: lanner_engine::ruleset::RuleMatching::First,
            matcher: lanner_state::ContainerMatcher::falco(),
            format: lanner::replay::Format::Json,
        };
        lanner::replay::replay_capture(
            &capture,
            ruleset,
            &options,
            out,
            &mut Default::default(),
            &mut |_| {},
            None,
        )
        .unwrap();
    }
}

/// A quiet pipeline (no sink) and its metrics as `(series, value)`.
fn quiet_pipeline(ruleset: &lanner_engine::ruleset::RuleSet) -> lanner::pipeline::Pipeline {
    let c = lanner::config::Config {
        stdout_output: false,
        ..Default::default()
    };
    lanner::pipeline::start(&c, ruleset, &[], None, lanner::pipeline::Mode::Replay).unwrap()
}

fn by_rule(text: &str, family: &str) -> std::collections::BTreeMap<String, f64> {
    lanner::metrics::parse_text(text)
        .into_iter()
        .filter(|(s, _)| s.starts_with(&format!("{family}{{")))
        .filter_map(|(s, v)| {
            let name = s
                .split("rule_name=\"")
                .nth(1)?
                .split('"')
                .next()?
                .to_string();
            Some((name, v))
        })
        .collect()
}

/// Per-rule metrics survive a rules reload: counted by rule name, not position. The reloaded
/// set reorders the rules, drops one and adds one; every count must equal the sum of what
/// each rule set counts on its own (two fresh pipelines, the oracle), and the dropped rule
/// stays exported with its final count (a counter never goes backwards or vanishes).
#[test]
fn per_rule_metrics_survive_a_rules_reload_by_name() {
    let rule = |name: &str, cond: &str| {
        format!(
            "- rule: {name}\n  desc: d\n  condition: {cond}\n  output: \"{name} %proc.name\"\n  priority: NOTICE\n"
        )
    };
    let exec = rule("Exec", "evt.type in (execve, execveat)");
    let open = rule("Open", "evt.type in (open, openat)");
    let connect = rule("Connect", "evt.type = connect");
    let before = small_ruleset(&format!("{exec}{open}"));
    let after = small_ruleset(&format!("{connect}{exec}"));

    let mut p = quiet_pipeline(&before);
    replay_all(&before, &mut p.emitter);
    lanner::emit::Emit::rules_changed(&mut p.emitter, &after);
    lanner::emit::Emit::reloaded(&mut p.emitter, true);
    replay_all(&after, &mut p.emitter);
    let text = p.emitter.registry.render();

    let alone = |rs: &lanner_engine::ruleset::RuleSet| {
        let mut q = quiet_pipeline(rs);
        replay_all(rs, &mut q.emitter);
        q.emitter.registry.render()
    };
    let (a, b) = (alone(&before), alone(&after));
    for family in [
        "falcosecurity_falco_rules_matches_total",
        "lanner_rule_evaluations_total",
    ] {
        let got = by_rule(&text, family);
        let mut want = by_rule(&a, family);
        for (k, v) in by_rule(&b, family) {
            *want.entry(k).or_default() += v;
        }
        assert_eq!(got, want, "{family}\n{text}");
        // A real workload, or the check proves nothing.
        assert!(
            want.get("Exec").is_some_and(|n| *n > 0.0),
            "{family}: {want:?}"
        );
        assert!(
            want.get("Open").is_some_and(|n| *n > 0.0),
            "{family}: {want:?}"
        );
        assert!(
            want.get("Connect").is_some_and(|n| *n > 0.0),
            "{family}: {want:?}"
        );
    }
    assert!(
        text.contains("lanner_reloads_total{kind=\"rules\",outcome=\"ok\"} 1"),
        "{text}"
    );
    // Falco's summary at exit names the rules of both sets.
    let summary = lanner::pipeline::falco_summary(&p.emitter.registry).join("\n");
    for name in ["Exec", "Open", "Connect"] {
        assert!(summary.contains(&format!("   {name}: ")), "{summary}");
    }
}

/// The README's minimal configuration (HTTP sink + metrics) is valid as printed, and works: a
/// replay with it (only the receiver's address and the rules given on the command line) posts
/// Falco's JSON alerts to a local HTTP receiver, one request per alert.
#[test]
fn the_readmes_minimal_config_checks_clean_and_posts_alerts() {
    use std::io::{BufRead, BufReader, Read, Write};
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let after = readme
        .split_once("A minimal\nconfiguration sending alerts")
        .expect("the README's minimal config")
        .1;
    let yaml = after
        .split_once("```yaml\n")
        .unwrap()
        .1
        .split_once("```")
        .unwrap()
        .0;
    assert!(yaml.contains("http_output:") && yaml.contains("prometheus_metrics_enabled: true"));
    let dir = std::env::temp_dir().join(format!("lanner-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("falco.yaml");
    std::fs::write(&config, yaml).unwrap();
    let out = lanner()
        .args(["config", "check"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The receiver: every request's body, answered 200.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut w = conn.try_clone().unwrap();
                let mut r = BufReader::new(conn);
                loop {
                    let mut len = 0;
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).unwrap();
                    let _ = tx.send(String::from_utf8(body).unwrap());
                    if w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    let webserver = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = lanner();
    cmd.arg("replay").arg("--config").arg(&config);
    cmd.args(["-o", &format!("http_output.url=http://127.0.0.1:{port}/")]);
    cmd.args(["-o", &format!("webserver.listen_port={webserver}")]);
    for r in rule_files() {
        cmd.arg("-r").arg(r);
    }
    let out = cmd.arg(&captures()[0]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let printed = stdout.lines().filter(|l| l.starts_with('{')).count();
    let posted: Vec<String> = rx.try_iter().collect();
    assert!(posted.len() > 10, "{} posted; {stderr}", posted.len());
    assert_eq!(posted.len(), printed, "every alert printed is posted");
    for body in &posted {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        for key in [
            "output",
            "priority",
            "rule",
            "time",
            "output_fields",
            "hostname",
        ] {
            assert!(v.get(key).is_some(), "`{key}` missing: {body}");
        }
    }
}
