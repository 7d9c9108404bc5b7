//! Whole rule files loaded together into one `RuleSet`, replayed on every capture in both
//! `rule_matching` modes, against Falco 0.44.1's runs of the same files
//! (`shared/scap/oracle-falco`):
//!
//! - `filter_rules.yaml` (67 rules, typed and untyped together) with `all` must give every
//!   rule exactly its `filters.tsv` matches (and on the live capture, its
//!   `modern/workload_live_6.18.filters.tsv` ones); Falco ran the file once per capture, so those
//!   rows are the union the rule set must reproduce. With `first` each event must go to the
//!   earliest rule in load order among those matching it, as Falco's `first` does on the
//!   probe runs (every event of `probe_rules.tsv`'s `first` runs is the lowest of its `all`
//!   rules).
//! - the upstream rule sets of `upstream_runs.tsv` (`stable`, `incubating`, `sandbox` and the
//!   three together) and the probe set of `probe_runs.tsv` (the three plus
//!   `probe_rules.yaml`), both modes: the alert count and the delivered events of every run,
//!   and every alert's rule and event number (`upstream_rules.tsv`, `probe_rules.tsv`; the
//!   live capture's probe-set alerts with `all`, `modern/…upstream_probe_alerts.jsonl`).
//!
//! There is no exceptions list: every run must agree.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use lanner_engine::ruleset::{RuleMatching, RuleSet};
use lanner_state::{ContainerMatcher, Replay};

fn shared() -> PathBuf {
    lanner_testkit::shared()
}

fn oracle(name: &str) -> PathBuf {
    shared().join("scap/oracle-falco").join(name)
}

fn tsv(path: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

fn ruleset(files: &[PathBuf]) -> RuleSet {
    let sources = files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(p).unwrap())
        })
        .collect();
    let program =
        lanner_check::driver::compile(sources).unwrap_or_else(|_| panic!("{files:?} do not check"));
    RuleSet::from_program(
        &program,
        lanner_engine::program::OutputOptions {
            suggested_output: false,
        },
    )
    .0
}

/// The files of a ruleset as the oracle names it (`stable+incubating+sandbox+probe`).
fn files_of(ruleset: &str) -> Vec<PathBuf> {
    let up = shared().join("upstream-rules");
    ruleset
        .split('+')
        .map(|part| match part {
            "stable" => up.join("falco_rules.yaml"),
            "incubating" => up.join("falco-incubating_rules.yaml"),
            "sandbox" => up.join("falco-sandbox_rules.yaml"),
            "probe" => oracle("probe_rules.yaml"),
            other => panic!("unknown ruleset part {other}"),
        })
        .collect()
}

/// What one replay produced: the delivered events and every alert as (rule name, evt.num).
struct Run {
    delivered: u64,
    alerts: BTreeSet<(String, u64)>,
    /// Alerts per event, to catch a rule reported twice or two rules under `first`.
    per_event: BTreeMap<u64, usize>,
}

/// The capture written live on this machine kind, with its own oracle files in `scap/modern`.
const LIVE: &str = "workload_live_6.18.scap";

fn replay(rs: &RuleSet, capture: &str, matching: RuleMatching) -> Run {
    let dir = if capture == LIVE {
        "modern"
    } else {
        "captures"
    };
    let path = shared().join("scap").join(dir).join(capture);
    let mut run = Run {
        delivered: 0,
        alerts: BTreeSet::new(),
        per_event: BTreeMap::new(),
    };
    let mut alerts = Vec::new();
    Replay::run_file(&path, ContainerMatcher::falco(), |ev, st, num| {
        run.delivered += 1;
        rs.evaluate(ev, st, num, matching, &mut alerts);
        for a in alerts.drain(..) {
            *run.per_event.entry(a.evt_num).or_default() += 1;
            run.alerts
                .insert((rs.rules[a.rule].name.clone(), a.evt_num));
        }
    })
    .unwrap();
    run
}

/// One expected run: what Falco reported for a rule set, mode and capture.
struct Case {
    what: String,
    capture: String,
    matching: RuleMatching,
    /// Falco's `Captured Events`, when the oracle records it.
    delivered: Option<u64>,
    alerts: BTreeSet<(String, u64)>,
}

/// Compares one replay with Falco's run. Counts into `pairs` the (rule, capture) pairs with
/// alerts on either side and how many of them agree, and returns what differs.
fn check(rs: &RuleSet, case: &Case, pairs: &mut (usize, usize)) -> Option<String> {
    let run = replay(rs, &case.capture, case.matching);
    let rules: BTreeSet<&String> = run
        .alerts
        .iter()
        .chain(&case.alerts)
        .map(|(r, _)| r)
        .collect();
    for rule in rules {
        let of = |set: &BTreeSet<(String, u64)>| -> Vec<u64> {
            set.iter()
                .filter(|(r, _)| r == rule)
                .map(|(_, n)| *n)
                .collect()
        };
        pairs.1 += 1;
        pairs.0 += usize::from(of(&run.alerts) == of(&case.alerts));
    }
    let mut problems = Vec::new();
    if let Some(d) = case.delivered
        && d != run.delivered
    {
        problems.push(format!("delivered {} events, falco {d}", run.delivered));
    }
    if case.matching == RuleMatching::First
        && let Some((num, n)) = run.per_event.iter().find(|(_, n)| **n > 1)
    {
        problems.push(format!("{n} alerts on evt.num {num} under first"));
    }
    if run.alerts != case.alerts {
        let extra: Vec<_> = run.alerts.difference(&case.alerts).take(4).collect();
        let missing: Vec<_> = case.alerts.difference(&run.alerts).take(4).collect();
        problems.push(format!(
            "{} alerts, falco {}; extra {extra:?}; missing {missing:?}",
            run.alerts.len(),
            case.alerts.len()
        ));
    }
    (!problems.is_empty()).then(|| {
        format!(
            "{} {:?} {}: {}",
            case.what,
            case.matching,
            case.capture,
            problems.join("; ")
        )
    })
}

fn matching(name: &str) -> RuleMatching {
    match name {
        "first" => RuleMatching::First,
        "all" => RuleMatching::All,
        other => panic!("unknown rule_matching {other}"),
    }
}

/// `filters.tsv` as the two runs of `filter_rules.yaml` per capture: `all` as recorded, and
/// `first` derived from it by giving each event to its earliest rule in load order.
fn filter_cases(load_order: &[String]) -> Vec<Case> {
    let position: BTreeMap<&str, usize> = load_order
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut by_capture: BTreeMap<String, BTreeSet<(String, u64)>> = BTreeMap::new();
    let live = shared().join("scap/modern/workload_live_6.18.filters.tsv");
    for row in tsv(&oracle("filters.tsv")).into_iter().chain(tsv(&live)) {
        let set = by_capture.entry(row[0].clone()).or_default();
        for m in row.get(4).into_iter().flat_map(|m| m.split(';')) {
            if m.is_empty() {
                continue;
            }
            let num = m.rsplit(':').next().unwrap().parse().unwrap();
            set.insert((format!("F{}", row[1]), num));
        }
    }
    let mut cases = Vec::new();
    for (capture, all) in by_capture {
        let mut first: BTreeMap<u64, &str> = BTreeMap::new();
        for (rule, num) in &all {
            let slot = first.entry(*num).or_insert(rule);
            if position[rule.as_str()] < position[*slot] {
                *slot = rule;
            }
        }
        let first = first
            .into_iter()
            .map(|(num, rule)| (rule.to_owned(), num))
            .collect();
        for (matching, alerts) in [(RuleMatching::All, all), (RuleMatching::First, first)] {
            cases.push(Case {
                what: "filter_rules.yaml".into(),
                capture: capture.clone(),
                matching,
                delivered: None,
                alerts,
            });
        }
    }
    cases
}

/// The runs of `upstream_runs.tsv` and `probe_runs.tsv` with their alerts, by ruleset.
fn rule_cases() -> BTreeMap<String, Vec<Case>> {
    let mut alerts: BTreeMap<(String, String, String), BTreeSet<(String, u64)>> = BTreeMap::new();
    for file in ["upstream_rules.tsv", "probe_rules.tsv"] {
        for row in tsv(&oracle(file)) {
            alerts
                .entry((row[0].clone(), row[1].clone(), row[2].clone()))
                .or_default()
                .insert((row[3].clone(), row[5].parse().unwrap()));
        }
    }
    let mut cases: BTreeMap<String, Vec<Case>> = BTreeMap::new();
    for file in ["upstream_runs.tsv", "probe_runs.tsv"] {
        for row in tsv(&oracle(file)) {
            assert_eq!(row[3], "0", "falco failed on {row:?}");
            let key = (row[0].clone(), row[1].clone(), row[2].clone());
            let alerts = alerts.remove(&key).unwrap_or_default();
            assert_eq!(
                alerts.len(),
                row[5].parse::<usize>().unwrap(),
                "{file} and its alerts disagree on {key:?}"
            );
            cases.entry(row[0].clone()).or_default().push(Case {
                what: row[0].clone(),
                capture: row[2].clone(),
                matching: matching(&row[1]),
                delivered: Some(row[4].parse().unwrap()),
                alerts,
            });
        }
    }
    // The live capture was replayed with the probe set in `all` mode only.
    let path = shared().join("scap/modern/workload_live_6.18.upstream_probe_alerts.jsonl");
    let mut live = BTreeSet::new();
    for l in fs::read_to_string(&path).unwrap().lines() {
        let alert: serde_json::Value = serde_json::from_str(l).unwrap();
        live.insert((
            alert["rule"].as_str().unwrap().to_owned(),
            alert["output_fields"]["evt.num"].as_u64().unwrap(),
        ));
    }
    cases
        .get_mut("stable+incubating+sandbox+probe")
        .unwrap()
        .push(Case {
            what: "stable+incubating+sandbox+probe".into(),
            capture: LIVE.into(),
            matching: RuleMatching::All,
            delivered: None,
            alerts: live,
        });
    // Alerts of captures outside ../shared (held out) have no run here.
    let here: BTreeSet<String> = fs::read_dir(shared().join("scap/captures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let orphans: Vec<_> = alerts.keys().filter(|k| here.contains(&k.2)).collect();
    assert!(orphans.is_empty(), "alerts without a run: {orphans:?}");
    cases
}

#[test]
fn rule_files_replayed_whole_match_falco() {
    let filter_rs = ruleset(&[oracle("filter_rules.yaml")]);
    let load_order: Vec<String> = filter_rs.rules.iter().map(|r| r.name.clone()).collect();
    assert_eq!(load_order.len(), 67, "filter_rules.yaml rules");
    assert!(
        filter_rs.rules.iter().any(|r| r.any_event) && filter_rs.rules.iter().any(|r| !r.any_event),
        "filter_rules.yaml mixes typed and untyped rules"
    );
    let mut problems = Vec::new();
    let (mut runs, mut alerts) = (0usize, 0usize);
    let mut pairs = (0usize, 0usize);
    let filter_cases = filter_cases(&load_order);
    assert_eq!(
        filter_cases.len(),
        2 * 12,
        "filter runs: 12 captures × 2 modes"
    );
    for case in &filter_cases {
        runs += 1;
        alerts += case.alerts.len();
        problems.extend(check(&filter_rs, case, &mut pairs));
    }
    let rule_cases = rule_cases();
    assert_eq!(
        rule_cases.values().map(Vec::len).collect::<Vec<_>>(),
        vec![22, 22, 22, 22, 23],
        "rule runs per ruleset: 11 captures × 2 modes, and the live capture with the probe set"
    );
    for (ruleset_name, cases) in &rule_cases {
        let rs = ruleset(&files_of(ruleset_name));
        for case in cases {
            runs += 1;
            alerts += case.alerts.len();
            problems.extend(check(&rs, case, &mut pairs));
        }
    }
    eprintln!(
        "whole-file runs: {runs} replays, {alerts} falco alerts; (rule, capture, mode) pairs with alerts: {}/{} agree",
        pairs.0, pairs.1
    );
    assert_eq!(runs, 135);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
