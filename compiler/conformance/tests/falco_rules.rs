//! End to end against Falco 0.44.1's alerts: the upstream rule files plus the probe rules of
//! `shared/scap/oracle-falco` (loaded in that order by the checker), every enabled syscall
//! rule evaluated by the interpreter on every event the state engine replays, must raise the
//! alerts Falco raised with `rule_matching=all` (`probe_rules.tsv` for the recovered
//! captures, `modern/workload_live_6.18.upstream_probe_alerts.jsonl` for the live one).
//!
//! A disagreement can come from the interpreter, the loader, the checker or the state engine.
//! Known ones are listed per capture and rule in `falco_rule_exceptions.txt`. The test fails
//! on an unlisted disagreement and on a listed pair that agrees, so the list stays honest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use lanner_check::driver::check_sources;
use lanner_engine::eval;
use lanner_engine::state::Accessors;
use lanner_state::{ContainerMatcher, Replay};

fn shared() -> PathBuf {
    lanner_testkit::shared()
}

/// `capture<TAB>rule<TAB>reason` lines; `#` starts a comment.
fn exceptions() -> BTreeMap<(String, String), String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/falco_rule_exceptions.txt");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.splitn(3, '\t').collect();
            assert!(
                cols.len() == 3 && !cols[2].trim().is_empty(),
                "bad line {l:?}"
            );
            ((cols[0].to_owned(), cols[1].to_owned()), cols[2].to_owned())
        })
        .collect()
}

/// Falco's alerts with `rule_matching=all`: evt.nums by capture and rule.
fn falco_alerts() -> BTreeMap<(String, String), BTreeSet<u64>> {
    let path = shared().join("scap/oracle-falco/probe_rules.tsv");
    let text = fs::read_to_string(&path).unwrap();
    let mut out: BTreeMap<(String, String), BTreeSet<u64>> = BTreeMap::new();
    for l in text.lines().skip(1) {
        let cols: Vec<&str> = l.split('\t').collect();
        if cols[1] != "all" {
            continue;
        }
        out.entry((cols[2].to_owned(), cols[3].to_owned()))
            .or_default()
            .insert(cols[5].parse().unwrap());
    }
    let path = shared().join("scap/modern/workload_live_6.18.upstream_probe_alerts.jsonl");
    for l in fs::read_to_string(&path).unwrap().lines() {
        let alert: serde_json::Value = serde_json::from_str(l).unwrap();
        out.entry((LIVE.to_owned(), alert["rule"].as_str().unwrap().to_owned()))
            .or_default()
            .insert(alert["output_fields"]["evt.num"].as_u64().unwrap());
    }
    out
}

/// The capture written live on this machine kind, beside its alerts in `shared/scap/modern`.
const LIVE: &str = "workload_live_6.18.scap";

/// The captures Falco was run on.
fn captures() -> Vec<String> {
    let path = shared().join("scap/oracle-falco/probe_runs.tsv");
    let text = fs::read_to_string(&path).unwrap();
    let set: BTreeSet<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(2).unwrap().to_owned())
        .chain([LIVE.to_owned()])
        .collect();
    set.into_iter().collect()
}

#[test]
fn rules_alert_like_falco() {
    let upstream = shared().join("upstream-rules");
    let files = [
        upstream.join("falco_rules.yaml"),
        upstream.join("falco-incubating_rules.yaml"),
        upstream.join("falco-sandbox_rules.yaml"),
        shared().join("scap/oracle-falco/probe_rules.yaml"),
    ];
    let sources = files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(p).unwrap())
        })
        .collect();
    let checked = check_sources(sources);
    let program = &checked.program;
    let mut unfold = lanner_engine::program::Unfold::new(program);
    let mut rules = Vec::new();
    for rule in &program.rules {
        if !rule.enabled || rule.source != lanner_program::Source::Syscall {
            continue;
        }
        let Some(root) = rule.condition else {
            panic!("rule {} did not check", rule.name);
        };
        rules.push((rule.name.clone(), unfold.expr(root)));
    }
    let fields = unfold.into_fields();
    let (accessors, unsupported) = Accessors::compile(&fields);
    for (f, e) in &unsupported {
        eprintln!("note: {} is not extracted by the state engine: {e}", f.text);
    }

    let want = falco_alerts();
    let listed = exceptions();
    let mut problems = Vec::new();
    let (mut agree, mut total) = (0usize, 0usize);
    for capture in captures() {
        let dir = if capture == LIVE {
            "modern"
        } else {
            "captures"
        };
        let path = shared().join("scap").join(dir).join(&capture);
        let mut got: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); rules.len()];
        Replay::run_file(&path, ContainerMatcher::falco(), |ev, st, num| {
            for (i, (_, expr)) in rules.iter().enumerate() {
                if eval(expr, &mut accessors.on(ev, st)) {
                    got[i].insert(num);
                }
            }
        })
        .unwrap();
        for ((name, _), ours) in rules.iter().zip(&got) {
            let key = (capture.clone(), name.clone());
            let empty = BTreeSet::new();
            let theirs = want.get(&key).unwrap_or(&empty);
            if ours.is_empty() && theirs.is_empty() {
                continue;
            }
            total += 1;
            let same = ours == theirs;
            agree += usize::from(same);
            match (same, listed.contains_key(&key)) {
                (true, true) => problems.push(format!(
                    "{capture}\t{name}\tlisted but agrees now: remove it"
                )),
                (false, false) => {
                    let only_ours: Vec<_> = ours.difference(theirs).take(5).collect();
                    let only_falco: Vec<_> = theirs.difference(ours).take(5).collect();
                    problems.push(format!(
                        "{capture}\t{name}\tours {} falco {}; only ours {only_ours:?}; only falco {only_falco:?}",
                        ours.len(),
                        theirs.len()
                    ));
                }
                _ => {}
            }
        }
    }
    eprintln!("capture × rule pairs with alerts: {agree}/{total} agree with Falco");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
