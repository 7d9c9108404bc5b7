//! `lanner replay` against Falco 0.44.1's alerts, with the same rules on the same captures:
//! the three upstream files plus the probe rules, on every shared capture, with
//! `rule_matching` first and all (`oracle-falco/probe_rules.tsv`, suggested output on, as
//! Falco's defaults), and on the capture written live on this machine kind
//! (`modern/…upstream_probe_alerts.jsonl`, all, suggested output off). Every alert must agree
//! in rule, event number and output text; known differences are listed with a reason in
//! `falco_alert_exceptions.txt` (`capture<TAB>matching<TAB>rule<TAB>reason`), and a listed
//! pair that agrees fails the test so the list stays honest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lanner_engine::ruleset::{RuleMatching, RuleSet};
use lanner_event::ScapReader;
use lanner_state::{ContainerMatcher, Replay};

fn shared() -> PathBuf {
    lanner_testkit::shared()
}

fn ruleset(suggested_output: bool) -> RuleSet {
    let up = shared().join("upstream-rules");
    let files = [
        up.join("falco_rules.yaml"),
        up.join("falco-incubating_rules.yaml"),
        up.join("falco-sandbox_rules.yaml"),
        shared().join("scap/oracle-falco/probe_rules.yaml"),
    ];
    let sources = files
        .iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect();
    let program = lanner_check::driver::compile(sources)
        .unwrap_or_else(|d| panic!("{:?}", d.errors().map(|e| &e.message).collect::<Vec<_>>()));
    RuleSet::from_program(
        &program,
        lanner_engine::program::OutputOptions { suggested_output },
    )
    .0
}

type Key = (String, String, String); // capture, matching, rule
type Alerts = BTreeMap<Key, BTreeSet<(u64, String)>>;

fn replay(path: &Path, rs: &RuleSet, matching: RuleMatching) -> Vec<(String, u64, String)> {
    let mut reader = ScapReader::open(path).unwrap();
    let mut replay = Replay::new(ContainerMatcher::falco());
    let mut alerts = Vec::new();
    let mut out = Vec::new();
    while let Some(rec) = reader.next_record().unwrap() {
        if let Some(d) = replay.record(&rec)
            && d.delivered
            && let Some(ev) = replay.event()
        {
            rs.evaluate(&ev, &replay.state, d.num, matching, &mut alerts);
        }
        for a in alerts.drain(..) {
            out.push((
                rs.rules[a.rule].name.clone(),
                a.evt_num,
                lanner::replay::alert_text(&a, rs),
            ));
        }
    }
    out
}

fn exceptions() -> BTreeMap<Key, String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/falco_alert_exceptions.txt"),
    )
    .unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.splitn(4, '\t').collect();
            (
                (c[0].into(), c[1].into(), c[2].into()),
                c.get(3).unwrap_or(&"").to_string(),
            )
        })
        .collect()
}

#[test]
fn alerts_match_falco() {
    let tsv = std::fs::read_to_string(shared().join("scap/oracle-falco/probe_rules.tsv")).unwrap();
    let mut want: Alerts = BTreeMap::new();
    for l in tsv.lines().skip(1) {
        let c: Vec<&str> = l.split('\t').collect();
        want.entry((c[2].into(), c[1].into(), c[3].into()))
            .or_default()
            .insert((c[5].parse().unwrap(), c[8].to_string()));
    }
    let runs = std::fs::read_to_string(shared().join("scap/oracle-falco/probe_runs.tsv")).unwrap();
    let captures: BTreeSet<String> = runs
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(2).unwrap().to_string())
        .collect();
    let live = "workload_live_6.18.scap".to_string();
    for l in std::fs::read_to_string(
        shared().join("scap/modern/workload_live_6.18.upstream_probe_alerts.jsonl"),
    )
    .unwrap()
    .lines()
    {
        let a: serde_json::Value = serde_json::from_str(l).unwrap();
        want.entry((
            live.clone(),
            "all".into(),
            a["rule"].as_str().unwrap().into(),
        ))
        .or_default()
        .insert((
            a["output_fields"]["evt.num"].as_u64().unwrap(),
            a["output"].as_str().unwrap().into(),
        ));
    }

    let mut got: Alerts = BTreeMap::new();
    let with_suggested = ruleset(true);
    let without = ruleset(false);
    let mut runs_done = 0;
    for cap in &captures {
        for (name, m) in [("first", RuleMatching::First), ("all", RuleMatching::All)] {
            for (rule, num, text) in replay(
                &shared().join("scap/captures").join(cap),
                &with_suggested,
                m,
            ) {
                got.entry((cap.clone(), name.into(), rule))
                    .or_default()
                    .insert((num, text));
            }
            runs_done += 1;
        }
    }
    for (rule, num, text) in replay(
        &shared().join("scap/modern").join(&live),
        &without,
        RuleMatching::All,
    ) {
        got.entry((live.clone(), "all".into(), rule))
            .or_default()
            .insert((num, text));
    }
    runs_done += 1;

    let listed = exceptions();
    let keys: BTreeSet<&Key> = want.keys().chain(got.keys()).collect();
    let (mut agree, mut alerts) = (0usize, 0usize);
    let mut problems = Vec::new();
    for k in keys {
        let w = want.get(k).cloned().unwrap_or_default();
        let g = got.get(k).cloned().unwrap_or_default();
        alerts += w.len();
        let same = w == g;
        if same {
            agree += w.len();
        }
        match (same, listed.contains_key(k)) {
            (false, false) => {
                let missing: Vec<_> = w.difference(&g).take(2).collect();
                let extra: Vec<_> = g.difference(&w).take(2).collect();
                problems.push(format!(
                    "{k:?}: falco {} alerts, lanner {}; missing {missing:?}; extra {extra:?}",
                    w.len(),
                    g.len()
                ));
            }
            (true, true) => problems.push(format!("{k:?} is listed but agrees now: remove it")),
            _ => {}
        }
    }
    eprintln!(
        "falco alerts: {runs_done} replays, {agree}/{alerts} of Falco's alerts identical in rule, event and output text, {} listed exceptions",
        listed.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
