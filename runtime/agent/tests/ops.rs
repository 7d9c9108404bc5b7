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
            let all: u64 = registry
                .events_by_slot
                .iter()
                .map(|n| n.load(std::sync::atomic::Ordering::Relaxed))
                .sum();
            assert!(all > 0);
            assert!(
                registry
                    .rule_skipped
                    .iter()
                    .any(|n| n.load(std::sync::atomic::Ordering::Relaxed) > 0)
            );
        }
    }
}
