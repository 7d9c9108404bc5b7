//! Single comparisons against Falco 0.44.1 where the event dumps say nothing:
//! `falco_matches.tsv` lists, per capture, how many events (and, where known, which) Falco
//! matched with `FIELD=VALUE` or `FIELD!=VALUE` (socket roles, container events). The field is
//! extracted on every event of the capture and compared by its rendered text, so each event
//! the list names must match and no other.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use lanner_state::{Accessor, ContainerMatcher, Replay, render};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

struct Case {
    capture: String,
    field: String,
    /// `!=` rather than `=`: a value that differs (`<NA>` matches neither).
    negated: bool,
    value: String,
    count: usize,
    nums: Option<BTreeSet<u64>>,
}

fn cases() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/falco_matches.tsv");
    let text = fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let (field, value) = cols[1].split_once('=').unwrap();
            let (field, negated) = match field.strip_suffix('!') {
                Some(f) => (f, true),
                None => (field, false),
            };
            let nums: BTreeSet<u64> = cols
                .get(3)
                .unwrap_or(&"")
                .split_whitespace()
                .map(|n| n.parse().unwrap())
                .collect();
            Case {
                capture: cols[0].to_owned(),
                field: field.to_owned(),
                negated,
                value: value.to_owned(),
                count: cols[2].parse().unwrap(),
                nums: (!nums.is_empty()).then_some(nums),
            }
        })
        .collect()
}

fn check(case: &Case) -> Option<String> {
    let r = lanner_schema::resolve_text(&case.field).unwrap();
    let acc = Accessor::compile(&r).unwrap();
    let mut matched = BTreeSet::new();
    let scap = shared().join("scap").join(&case.capture);
    Replay::run_file(&scap, ContainerMatcher::falco(), |ev, st, num| {
        if let Some(v) = acc.extract(ev, st)
            && (render(acc.field(), Some(&v)) == case.value) != case.negated
        {
            matched.insert(num);
        }
    })
    .unwrap();
    let wrong_count = matched.len() != case.count;
    let wrong_events = case.nums.as_ref().is_some_and(|n| *n != matched);
    (wrong_count || wrong_events).then(|| {
        format!(
            "{} {}{}={}: ours {} {:?}, falco {} {:?}",
            case.capture,
            case.field,
            if case.negated { "!" } else { "" },
            case.value,
            matched.len(),
            matched.iter().take(12).collect::<Vec<_>>(),
            case.count,
            case.nums
        )
    })
}

#[test]
fn single_comparisons_match_falco() {
    let cases = cases();
    assert_eq!(cases.len(), 9, "falco_matches.tsv cases");
    let problems: Vec<String> = cases.iter().filter_map(check).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
