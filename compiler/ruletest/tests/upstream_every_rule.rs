//! Every rule of Falco's three rules files has a case in its test file
//! (`stdlib-rules/upstream/falco{,-incubating,-sandbox}_rules.test.yaml`) that fires it and a
//! near miss that names it quiet (issue 9 point 7). A rule that cannot fire is named with the
//! finding that explains it, and the test fails once it does fire, so that its case gets written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use lanner_ruletest::runner::{Engine, Status, run_file};
use lanner_ruletest::{format, report};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One upstream file's suite: the rules file, its test file, how many rules and cases each
/// holds, and the rules whose firing case cannot be written, each with its FINDINGS.md entry.
struct Suite {
    rules: &'static str,
    tests: &'static str,
    rule_count: usize,
    case_count: usize,
    cannot_fire: &'static [(&'static str, &'static str)],
    /// The test file loads without any diagnostic, warnings included.
    clean: bool,
    /// The suite's own branch coverage floor (every operand not reached is listed in
    /// FINDINGS.md; the figure only moves up).
    min_coverage: Option<f64>,
}

const STABLE: Suite = Suite {
    rules: "falco_rules.yaml",
    tests: "falco_rules.test.yaml",
    rule_count: 25,
    case_count: 182,
    // Contact K8S API Server From Container fires since `hosts:` gives tests a DNS.
    cannot_fire: &[],
    clean: true,
    min_coverage: Some(93.0),
};

const INCUBATING: Suite = Suite {
    rules: "falco-incubating_rules.yaml",
    tests: "falco-incubating_rules.test.yaml",
    rule_count: 31,
    case_count: 195,
    // BPF Program Not Profiled fires since I1 (evt.arg gives the resolved value) was fixed.
    cannot_fire: &[],
    clean: false,
    min_coverage: None,
};

const SANDBOX: Suite = Suite {
    rules: "falco-sandbox_rules.yaml",
    tests: "falco-sandbox_rules.test.yaml",
    rule_count: 37,
    case_count: 231,
    cannot_fire: &[(
        "Launch Disallowed Container",
        "sandbox: `allowed_containers` is `container.id exists`, true on every container start",
    )],
    clean: false,
    min_coverage: None,
};

fn check(suite: &Suite) {
    let upstream = root().join("../shared/upstream-rules").join(suite.rules);
    let text = std::fs::read_to_string(&upstream)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", upstream.display()));
    let rules: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("- rule: "))
        .map(str::trim)
        .collect();
    assert_eq!(rules.len(), suite.rule_count, "{rules:?}");

    let path = root().join("stdlib-rules/upstream").join(suite.tests);
    // On the JIT: every case also holds it to the interpreter's traced evaluation.
    let r = run_file(&path, Engine::Jit);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    assert!(
        r.diagnostics.iter().all(|d| !d.is_error() && !suite.clean),
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
    assert_eq!(r.cases.len(), suite.case_count);

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
        let excused = suite.cannot_fire.iter().find(|(r, _)| r == rule);
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
    assert!(missing.is_empty(), "{}: {missing:#?}", suite.tests);
    if let Some(floor) = suite.min_coverage {
        let coverage = report::overall_coverage(std::slice::from_ref(&r)).unwrap();
        assert!(coverage >= floor, "{}: {coverage:.1}%", suite.tests);
    }
}

#[test]
fn every_stable_rule_fires_and_has_a_near_miss() {
    check(&STABLE);
}

#[test]
fn every_incubating_rule_fires_and_has_a_near_miss() {
    check(&INCUBATING);
}

#[test]
fn every_sandbox_rule_fires_and_has_a_near_miss() {
    check(&SANDBOX);
}
