//! Differential test against Falco 0.44.1: every field of every event Falco reports for the
//! shared captures (`shared/scap/oracle-falco/events/`, `shared/scap/modern/`), replayed through
//! the converter and the state engine, rendered as text and compared.
//!
//! Disagreements are allowed only when `tests/field_disagreements.txt` lists them (capture,
//! field, count, reason); a listed count is an upper bound.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use lanner_state::{Accessor, ContainerMatcher, Replay, render};
use serde_json::Value as Json;

mod common;
use common::{Tally, examples_wanted, listed_disagreements, oracle_text};

fn shared() -> PathBuf {
    lanner_testkit::shared()
}

fn compare(
    capture: &str,
    scap: &Path,
    jsonl: &Path,
    tallies: &mut BTreeMap<(String, String), Tally>,
) {
    let text = fs::read_to_string(jsonl).expect("oracle file");
    let mut oracle: HashMap<u64, serde_json::Map<String, Json>> = HashMap::new();
    let mut fields: Vec<String> = Vec::new();
    for line in text.lines() {
        let obj: serde_json::Map<String, Json> = serde_json::from_str(line).expect("json line");
        if fields.is_empty() {
            fields = obj.keys().cloned().collect();
        }
        let num = obj["evt.num"].as_u64().expect("evt.num");
        oracle.insert(num, obj);
    }
    let accessors: Vec<(String, Accessor)> = fields
        .iter()
        .map(|f| {
            let r = lanner_schema::resolve_text(f).expect("field resolves");
            (f.clone(), Accessor::compile(&r).expect("field supported"))
        })
        .collect();
    let mut seen = 0u64;
    let mut extra = 0u64;
    Replay::run_file(scap, ContainerMatcher::falco(), |ev, st, num| {
        let Some(want) = oracle.get(&num) else {
            extra += 1;
            return;
        };
        seen += 1;
        for (name, acc) in &accessors {
            let ours = acc.extract(ev, st).map(|v| render_json(acc, &v));
            let theirs = oracle_text(&want[name.as_str()]);
            let t = tallies
                .entry((capture.to_owned(), name.clone()))
                .or_default();
            t.record(ours == theirs, examples_wanted(4), || {
                format!(
                    "evt.num {num} {}: ours {:?} falco {:?}",
                    want["evt.type"], ours, theirs
                )
            });
        }
    })
    .expect("replay");
    let t = tallies
        .entry((capture.to_owned(), "(events)".to_owned()))
        .or_default();
    t.total = oracle.len() as u64 + extra;
    t.agree = seen;
    if extra > 0 || seen < oracle.len() as u64 {
        t.examples.push(format!(
            "{seen} of {} Falco events matched by number, {extra} extra",
            oracle.len()
        ));
    }
}

/// The modern capture's alerts (upstream and probe rules) carry further fields in their
/// `output_fields` (proc.duration, proc.aname[3], proc.pcmdline, ...): compare those too, per
/// alert.
fn compare_alerts(scap: &Path, jsonl: &Path, tallies: &mut BTreeMap<(String, String), Tally>) {
    let text = fs::read_to_string(jsonl).expect("alerts file");
    let mut by_num: HashMap<u64, Vec<serde_json::Map<String, Json>>> = HashMap::new();
    for line in text.lines() {
        let obj: serde_json::Map<String, Json> = serde_json::from_str(line).expect("json line");
        let fields = obj["output_fields"]
            .as_object()
            .expect("output_fields")
            .clone();
        let num = fields["evt.num"].as_u64().expect("evt.num");
        by_num.entry(num).or_default().push(fields);
    }
    let mut accessors: HashMap<String, Accessor> = HashMap::new();
    Replay::run_file(scap, ContainerMatcher::falco(), |ev, st, num| {
        let Some(alerts) = by_num.get(&num) else {
            return;
        };
        for fields in alerts {
            for (name, want) in fields {
                let acc = accessors.entry(name.clone()).or_insert_with(|| {
                    let r = lanner_schema::resolve_text(name).expect("field resolves");
                    Accessor::compile(&r).expect("field supported")
                });
                let ours = acc.extract(ev, st).map(|v| render_json(acc, &v));
                let theirs = oracle_text(want);
                let t = tallies
                    .entry(("workload_live_6.18 alerts".to_owned(), name.clone()))
                    .or_default();
                t.record(ours == theirs, examples_wanted(4), || {
                    format!("evt.num {num}: ours {ours:?} falco {theirs:?}")
                });
            }
        }
    })
    .expect("replay");
}

/// Falco's JSON output gives `evt.time` as the raw timestamp; every other field as its text.
fn render_json(acc: &Accessor, v: &lanner_state::Value<'_>) -> String {
    match (acc.field().name, v) {
        ("evt.time", lanner_state::Value::UInt(ts)) => ts.to_string(),
        _ => render(acc.field(), Some(v)),
    }
}

#[test]
fn fields_agree_with_falco() {
    let root = shared().join("scap");
    let mut cases: Vec<(String, PathBuf, PathBuf)> = Vec::new();
    let mut names: Vec<_> = fs::read_dir(root.join("oracle-falco/events"))
        .expect("oracle dir")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    for p in names {
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        cases.push((stem.clone(), root.join(format!("captures/{stem}.scap")), p));
    }
    cases.push((
        "workload_live_6.18".to_owned(),
        root.join("modern/workload_live_6.18.scap"),
        root.join("modern/workload_live_6.18.events.jsonl"),
    ));
    let mut tallies = BTreeMap::new();
    for (name, scap, jsonl) in &cases {
        compare(name, scap, jsonl, &mut tallies);
    }
    compare_alerts(
        &root.join("modern/workload_live_6.18.scap"),
        &root.join("modern/workload_live_6.18.upstream_probe_alerts.jsonl"),
        &mut tallies,
    );
    // Per-field summary over all captures.
    let mut per_field: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for ((_, field), t) in &tallies {
        let e = per_field.entry(field.clone()).or_default();
        e.0 += t.agree;
        e.1 += t.total;
    }
    println!("{:<28} {:>8} {:>8} {:>8}", "field", "agree", "total", "pct");
    for (field, (a, n)) in &per_field {
        let pct = if *n == 0 {
            100.0
        } else {
            *a as f64 * 100.0 / *n as f64
        };
        println!("{field:<28} {a:>8} {n:>8} {pct:>7.2}%");
    }
    let allowed = listed_disagreements("field_disagreements.txt");
    let mut failures = Vec::new();
    for ((capture, field), t) in &tallies {
        let bad = t.total - t.agree;
        if bad == 0 {
            continue;
        }
        let limit = allowed
            .get(&(capture.clone(), field.clone()))
            .copied()
            .unwrap_or(0);
        let line = format!("{capture}\t{field}\t{bad}\t{}", t.examples.join(" | "));
        println!("DIFF {line}");
        if bad > limit {
            failures.push(line);
        }
    }
    assert!(
        failures.is_empty(),
        "unlisted disagreements:\n{}",
        failures.join("\n")
    );
}
