//! Differential test against the older oracle, sysdig 0.29.3 (libs of March 2022):
//! `shared/scap/oracle-sysdig/events/NAME.events.D.jsonl` holds 37 fields of every event sysdig
//! reports for each capture. Lanner follows Falco 0.44.1 (enter events folded into exits, new
//! event versions, different numbering), so the two views are joined through
//! `shared/scap/oracle-falco/evtnum_map.tsv`, which maps every event Falco delivers to the sysdig
//! event with the same (rawtime, tid), same type and direction. sysdig events that no Falco event
//! maps to (the enter halves the converter folds, the hidden `open`/`connect`/`execve` enters)
//! have no counterpart and are only counted. Each capture is replayed from `shared/scap/captures`
//! (for curl_google_comments the original file; sysdig read a copy with the SHB options stripped,
//! same events).
//!
//! Every field of every mapped event is compared as text; a per-field agreement table is printed.
//! Disagreements are expected where 0.29's semantics differ. Every disagreeing (capture, field)
//! pair must be listed with its exact count and a reason in `tests/sysdig_field_differences.txt`;
//! the test fails on an unlisted pair, a changed count and a listed pair that agrees.
//! The pseudo-field `(sysdig events without counterpart)` counts sysdig events no Falco event
//! maps to; `(events)` counts our delivered events that found no mapped sysdig event (must be 0).
//!
//! `LANNER_DIFF_EXAMPLES=N` prints N examples per pair (default 3);
//! `LANNER_SYSDIG_DUMP=FILE` writes every disagreement as a TSV line (for analysis).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use lanner_state::{Accessor, ContainerMatcher, Replay, render};
use serde_json::Value as Json;

mod common;
use common::{Tally, examples_wanted, listed_disagreements, oracle_text};

type Obj = serde_json::Map<String, Json>;

const NO_COUNTERPART: &str = "(sysdig events without counterpart)";
const UNMAPPED: &str = "(events)";

fn shared() -> PathBuf {
    lanner_testkit::shared().join("scap")
}

/// One row of evtnum_map.tsv.
struct MapRow {
    sysdig_num: u64,
    rawtime: u64,
    tid: i64,
}

/// Falco evt.num → sysdig event, per capture file name (`NAME.scap`).
fn evtnum_map() -> HashMap<String, HashMap<u64, MapRow>> {
    let text = fs::read_to_string(shared().join("oracle-falco/evtnum_map.tsv")).expect("map");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    assert_eq!(
        header,
        [
            "capture",
            "falco_evt_num",
            "sysdig_evt_num",
            "rawtime",
            "tid",
            "evt_type",
            "falco_dir",
            "sysdig_dir"
        ]
    );
    let mut out: HashMap<String, HashMap<u64, MapRow>> = HashMap::new();
    for line in lines {
        let c: Vec<&str> = line.split('\t').collect();
        assert_eq!(c.len(), 8, "map line {line}");
        // The map pairs events of the same direction; an enter in sysdig is compared only
        // where Falco delivers that enter too (procinfo, switch, signaldeliver, ...).
        assert_eq!(c[6], c[7], "map pairs different directions: {line}");
        let row = MapRow {
            sysdig_num: c[2].parse().expect("sysdig num"),
            rawtime: c[3].parse().expect("rawtime"),
            tid: c[4].parse().expect("tid"),
        };
        let prev = out
            .entry(c[0].to_owned())
            .or_default()
            .insert(c[1].parse().expect("falco num"), row);
        assert!(prev.is_none(), "duplicate map line {line}");
    }
    out
}

fn read_jsonl(path: &Path) -> Vec<Obj> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn num(obj: &Obj, key: &str) -> u64 {
    obj[key].as_u64().expect(key)
}

/// Our value as Falco prints it (numbers in decimal, as sysdig's JSON gives them).
fn ours_text(acc: &Accessor, v: &lanner_state::Value<'_>) -> String {
    render(acc.field(), Some(v))
}

fn compare(
    capture: &str,
    map: &HashMap<u64, MapRow>,
    tallies: &mut BTreeMap<(String, String), Tally>,
    mut dump: Option<&mut String>,
) {
    let root = shared();
    let events_dir = root.join("oracle-sysdig/events");
    // The -D view has every event (procinfo too); the default view is a subset with identical
    // fields (README), which is checked here.
    let all = read_jsonl(&events_dir.join(format!("{capture}.events.D.jsonl")));
    let fields: Vec<String> = all
        .first()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let mut sysdig: HashMap<u64, Obj> = HashMap::new();
    for obj in all {
        // The README speaks of 36 fields; the files have 37 (its own list counts 37).
        assert!(
            obj.keys().eq(fields.iter()),
            "{capture}: every event has the same fields"
        );
        let n = num(&obj, "evt.num");
        assert!(
            sysdig.insert(n, obj).is_none(),
            "{capture}: evt.num {n} twice"
        );
    }
    for obj in read_jsonl(&events_dir.join(format!("{capture}.events.jsonl"))) {
        let n = num(&obj, "evt.num");
        assert_eq!(
            sysdig.get(&n),
            Some(&obj),
            "{capture}: default view differs from -D at {n}"
        );
    }
    let accessors: Vec<(String, Accessor)> = fields
        .iter()
        .map(|f| {
            let r = lanner_schema::resolve_text(f).expect("field resolves");
            (f.clone(), Accessor::compile(&r).expect("field supported"))
        })
        .collect();
    let scap = root.join(format!("captures/{capture}.scap"));
    let mut used: HashMap<u64, u64> = HashMap::new();
    let mut unmapped = Tally::default();
    Replay::run_file(&scap, ContainerMatcher::falco(), |ev, st, falco_num| {
        let Some(row) = map.get(&falco_num) else {
            unmapped.record(false, examples_wanted(3), || format!("Falco evt.num {falco_num} not in map"));
            return;
        };
        let Some(want) = sysdig.get(&row.sysdig_num) else {
            unmapped.record(false, examples_wanted(3), || {
                format!("sysdig evt.num {} missing", row.sysdig_num)
            });
            return;
        };
        // The join key itself must hold, or the comparison below is meaningless.
        assert_eq!(
            (num(want, "evt.rawtime"), want["thread.tid"].as_i64()),
            (row.rawtime, Some(row.tid)),
            "{capture}: map row for Falco {falco_num} does not match sysdig's event"
        );
        unmapped.record(true, examples_wanted(3), String::new);
        *used.entry(row.sysdig_num).or_default() += 1;
        let etype = want["evt.type"].as_str().unwrap_or("?").to_owned();
        let edir = want["evt.dir"].as_str().unwrap_or("?").to_owned();
        for (name, acc) in &accessors {
            let ours = acc.extract(ev, st).map(|v| ours_text(acc, &v));
            let theirs = oracle_text(&want[name.as_str()]);
            let same = ours == theirs;
            if let (false, Some(dump)) = (same, dump.as_deref_mut()) {
                let esc = |s: &Option<String>| match s {
                    None => "<null>".to_owned(),
                    Some(s) => s.replace(['\t', '\n'], " "),
                };
                writeln!(
                    dump,
                    "{capture}\t{name}\t{falco_num}\t{}\t{etype}\t{edir}\t{}\t{}",
                    row.sysdig_num,
                    esc(&ours),
                    esc(&theirs)
                )
                .unwrap();
            }
            tallies
                .entry((capture.to_owned(), name.clone()))
                .or_default()
                .record(same, examples_wanted(3), || {
                    format!(
                        "falco#{falco_num}/sysdig#{} {etype}{edir}: ours {ours:?} sysdig {theirs:?}",
                        row.sysdig_num
                    )
                });
        }
    })
    .expect("replay");
    let dup: Vec<_> = used.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        dup.is_empty(),
        "{capture}: sysdig events mapped twice: {dup:?}"
    );
    tallies.insert((capture.to_owned(), UNMAPPED.to_owned()), unmapped);
    // sysdig events no Falco event maps to: not comparable, counted only.
    let mut without = Tally::default();
    let mut nums: Vec<&u64> = sysdig.keys().collect();
    nums.sort();
    for n in nums {
        let o = &sysdig[n];
        without.record(used.contains_key(n), examples_wanted(3), || {
            format!("sysdig#{n} {}{}", o["evt.type"], o["evt.dir"])
        });
    }
    tallies.insert((capture.to_owned(), NO_COUNTERPART.to_owned()), without);
}

#[test]
fn fields_against_sysdig_0_29() {
    let root = shared();
    let map = evtnum_map();
    let mut captures: Vec<String> = fs::read_dir(root.join("oracle-sysdig/events"))
        .expect("oracle-sysdig/events")
        .filter_map(|e| {
            let name = e.expect("entry").file_name().to_string_lossy().into_owned();
            name.strip_suffix(".events.jsonl").map(str::to_owned)
        })
        .collect();
    captures.sort();
    assert!(!captures.is_empty());
    let dump_path = std::env::var("LANNER_SYSDIG_DUMP").ok();
    let mut dump = String::from("capture\tfield\tfalco_num\tsysdig_num\ttype\tdir\tours\tsysdig\n");
    let mut tallies = BTreeMap::new();
    for capture in &captures {
        let m = map
            .get(&format!("{capture}.scap"))
            .unwrap_or_else(|| panic!("{capture}: not in evtnum_map.tsv"));
        let d = dump_path.is_some().then_some(&mut dump);
        compare(capture, m, &mut tallies, d);
    }
    if let Some(p) = dump_path {
        fs::write(p, &dump).expect("dump");
    }

    let mut per_field: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for ((_, field), t) in &tallies {
        let e = per_field.entry(field.clone()).or_default();
        e.0 += t.agree;
        e.1 += t.total;
    }
    println!("{:<38} {:>8} {:>8} {:>8}", "field", "agree", "total", "pct");
    for (field, (a, n)) in &per_field {
        let pct = if *n == 0 {
            100.0
        } else {
            *a as f64 * 100.0 / *n as f64
        };
        println!("{field:<38} {a:>8} {n:>8} {pct:>7.2}%");
    }

    let listed = listed_disagreements("sysdig_field_differences.txt");
    let mut failures = Vec::new();
    for ((capture, field), t) in &tallies {
        let bad = t.total - t.agree;
        let key = (capture.clone(), field.clone());
        match listed.get(&key) {
            None if bad == 0 => {}
            None => failures.push(format!(
                "unlisted\t{capture}\t{field}\t{bad}\t{}",
                t.examples.join(" | ")
            )),
            Some(&n) if n == bad => {}
            Some(_) if bad == 0 => failures.push(format!(
                "listed but agrees now (remove the line)\t{capture}\t{field}"
            )),
            Some(&n) => failures.push(format!(
                "count {n} listed, {bad} observed\t{capture}\t{field}\t{}",
                t.examples.join(" | ")
            )),
        }
        if bad > 0 {
            println!(
                "DIFF {capture}\t{field}\t{bad}/{}\t{}",
                t.total,
                t.examples.join(" | ")
            );
        }
    }
    for (capture, field) in listed.keys() {
        if !tallies.contains_key(&(capture.clone(), field.clone())) {
            failures.push(format!("listed but never compared\t{capture}\t{field}"));
        }
    }
    failures.sort();
    assert!(
        failures.is_empty(),
        "differences file out of date:\n{}",
        failures.join("\n")
    );
}
