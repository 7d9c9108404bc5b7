//! Every rule of Falco's incubating rules file has a case in
//! `stdlib-rules/upstream/falco-incubating_rules.test.yaml` that fires it and a near miss that
//! names it quiet (issue 9 point 7). A rule that cannot fire is named in `CANNOT_FIRE` with the
//! finding that explains it, and the test fails once it does fire, so that its case gets
//! written. None is left: BPF Program Not Profiled fires since I1 was fixed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use lanner_ruletest::format;
use lanner_ruletest::runner::{Status, run_file};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Rules whose firing case is kept out of the test file, each with its FINDINGS.md entry.
const CANNOT_FIRE: [(&str, &str); 0] = [];

#[test]
fn every_incubating_rule_fires_and_has_a_near_miss() {
    let upstream = root().join("../shared/upstream-rules/falco-incubating_rules.yaml");
    let text = std::fs::read_to_string(&upstream)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", upstream.display()));
    let rules: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("- rule: "))
        .map(str::trim)
        .collect();
    assert_eq!(rules.len(), 31, "{rules:?}");

    let path = root().join("stdlib-rules/upstream/falco-incubating_rules.test.yaml");
    let r = run_file(&path);
    assert!(
        r.diagnostics.iter().all(|d| !d.is_error()),
        "{:#?}",
        r.diagnostics
    );
    let failed: Vec<_> = r
        .cases
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| format!("{}: {:?}", c.name, c.problems))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(r.cases.len(), 195);

    let (tests, diags) = format::load(
        lanner_syntax::FileId(0),
        &std::fs::read_to_string(&path).unwrap(),
    );
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(tests.cases.len(), r.cases.len());

    let mut missing = Vec::new();
    for rule in &rules {
        let fired = r
            .cases
            .iter()
            .any(|c| c.alerts.iter().any(|a| a.rule == *rule));
        let near_miss = tests
            .cases
            .iter()
            .any(|c| c.quiet.iter().any(|q| q.node == *rule));
        let excused = CANNOT_FIRE.iter().find(|(r, _)| r == rule);
        match (fired, excused) {
            (true, Some((_, why))) => missing.push(format!(
                "{rule}: fires now ({why} is fixed), add its firing case"
            )),
            (false, None) => missing.push(format!("{rule}: no case fires it")),
            _ => {}
        }
        if !near_miss {
            missing.push(format!("{rule}: no near miss names it quiet"));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}
