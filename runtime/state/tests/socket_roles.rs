//! Socket roles against Falco 0.44.1: `socket_roles.tsv` lists, per capture, how many events
//! (and, where known, which) Falco matched with a `FIELD=VALUE` expression on the socket-role
//! fields. The field is extracted on every event of the capture and compared by its rendered
//! text, so each event the list names must match and no other.
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
    value: String,
    count: usize,
    nums: Option<BTreeSet<u64>>,
}

fn cases() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/socket_roles.tsv");
    let text = fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let (field, value) = cols[1].split_once('=').unwrap();
            let nums: BTreeSet<u64> = cols
                .get(3)
                .unwrap_or(&"")
                .split_whitespace()
                .map(|n| n.parse().unwrap())
                .collect();
            Case {
                capture: cols[0].to_owned(),
                field: field.to_owned(),
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
    let scap = shared().join("scap/captures").join(&case.capture);
    Replay::run_file(&scap, ContainerMatcher::falco(), |ev, st, num| {
        if let Some(v) = acc.extract(ev, st)
            && render(acc.field(), Some(&v)) == case.value
        {
            matched.insert(num);
        }
    })
    .unwrap();
    let wrong_count = matched.len() != case.count;
    let wrong_events = case.nums.as_ref().is_some_and(|n| *n != matched);
    (wrong_count || wrong_events).then(|| {
        format!(
            "{} {}={}: ours {} {:?}, falco {} {:?}",
            case.capture,
            case.field,
            case.value,
            matched.len(),
            matched.iter().take(12).collect::<Vec<_>>(),
            case.count,
            case.nums
        )
    })
}

#[test]
fn socket_roles_match_falco() {
    let cases = cases();
    assert_eq!(cases.len(), 4, "socket_roles.tsv cases");
    let problems: Vec<String> = cases.iter().filter_map(check).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
