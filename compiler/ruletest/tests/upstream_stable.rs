//! Every rule of Falco's stable rules file has a case in
//! `stdlib-rules/upstream/falco_rules.test.yaml` that fires it and a near miss that names it
//! quiet (issue 9 point 7), and the suite keeps its branch coverage. The rules that cannot
//! fire in Lanner are named with the finding that explains it; the test fails once one does
//! fire, so that its case gets written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use lanner_ruletest::runner::{Status, run_file};
use lanner_ruletest::{format, report};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Rules whose firing case is kept out of the test file, each with its FINDINGS.md entry.
const CANNOT_FIRE: [(&str, &str); 1] = [(
    "Contact K8S API Server From Container",
    "5: fd.sip.name is never resolved",
)];

#[test]
fn every_stable_rule_fires_and_has_a_near_miss() {
    let upstream = root().join("../shared/upstream-rules/falco_rules.yaml");
    let text = std::fs::read_to_string(&upstream)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", upstream.display()));
    let rules: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("- rule: "))
        .map(str::trim)
        .collect();
    assert_eq!(rules.len(), 25, "{rules:?}");

    let path = root().join("stdlib-rules/upstream/falco_rules.test.yaml");
    let r = run_file(&path);
    assert!(r.diagnostics.is_empty(), "{:#?}", r.diagnostics);
    let failed: Vec<_> = r
        .cases
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| format!("{}: {:?}", c.name, c.problems))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let (tests, diags) = format::load(
        lanner_syntax::FileId(0),
        &std::fs::read_to_string(&path).unwrap(),
    );
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(r.cases.len(), tests.cases.len());
    assert_eq!(r.cases.len(), 178);

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
        match (fired, CANNOT_FIRE.iter().find(|(r, _)| r == rule)) {
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
    // Every operand not reached is listed in FINDINGS.md; the figure only moves up.
    let coverage = report::overall_coverage(std::slice::from_ref(&r));
    assert!(coverage >= 93.0, "{coverage:.1}%");
}
