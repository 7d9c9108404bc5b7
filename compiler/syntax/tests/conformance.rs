//! Conformance against Falco's own parser: every case of
//! `../shared/reference/parser_cases.json` whose outcome is decided by the parser.
//!
//! For `parse`-stage cases the accept/reject verdict must match Falco's. For every case that
//! Falco accepts and prints (`as_string`, any stage: the later stages' expressions must parse
//! too), our canonical printer must produce exactly Falco's text. Cases we knowingly do not
//! match are listed, with a reason, in `tests/parser_conformance_exceptions.txt`; a listed case
//! that starts passing fails the test too, so the list stays honest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use lanner_syntax::condition::{OffsetMap, parse, print::canonical};
use lanner_syntax::span::FileId;

/// libsinsp's parser tests run with a nesting limit of 100.
const TEST_MAX_DEPTH: usize = 100;

fn shared() -> PathBuf {
    lanner_testkit::shared()
}

#[derive(serde::Deserialize)]
struct Case {
    expr: String,
    expect: String,
    stage: String,
    as_string: Option<String>,
}

fn exceptions() -> BTreeMap<String, String> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/parser_conformance_exceptions.txt");
    let text = lanner_testkit::read(&path);
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (expr, reason) = l.split_once("\t#")?;
            let expr: String = serde_json::from_str(expr).ok()?;
            Some((expr, reason.trim().to_string()))
        })
        .collect()
}

#[test]
fn parser_cases() {
    let path = shared().join("reference/parser_cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cases: Vec<Case> = serde_json::from_str(&text).unwrap();
    let exceptions = exceptions();
    let mut failures = Vec::new();
    let mut unexpected_passes = Vec::new();
    let (mut verdicts, mut printed) = (0usize, 0usize);
    for case in &cases {
        let map = OffsetMap {
            file: FileId(0),
            base: 0,
        };
        let (expr, diags) = parse(&case.expr, &map, TEST_MAX_DEPTH);
        let accepted = diags.iter().all(|d| !d.is_error());
        let mut problem = None;
        if case.stage == "parse" {
            verdicts += 1;
            let want = case.expect == "ok";
            if accepted != want {
                problem = Some(format!(
                    "verdict: falco {}, lanner {} {:?}",
                    if want { "accepts" } else { "rejects" },
                    if accepted { "accepts" } else { "rejects" },
                    diags.iter().map(|d| &d.message).collect::<Vec<_>>()
                ));
            }
        }
        if problem.is_none()
            && let Some(want) = &case.as_string
        {
            printed += 1;
            let got = canonical(&expr);
            if !accepted {
                problem = Some(format!(
                    "falco accepts and prints {want:?}; lanner rejects: {:?}",
                    diags.iter().map(|d| &d.message).collect::<Vec<_>>()
                ));
            } else if &got != want {
                problem = Some(format!("printed {got:?}, falco prints {want:?}"));
            }
        }
        match (problem, exceptions.contains_key(&case.expr)) {
            (Some(p), false) => failures.push(format!("{:?}: {p}", case.expr)),
            (None, true) => unexpected_passes.push(case.expr.clone()),
            _ => {}
        }
    }
    eprintln!(
        "parser conformance: {} cases, {verdicts} verdicts and {printed} printed forms checked, {} listed exceptions, {} failures",
        cases.len(),
        exceptions.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} cases disagree with Falco:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        unexpected_passes.is_empty(),
        "these listed exceptions now pass; remove them from the list:\n{}",
        unexpected_passes.join("\n")
    );
}
