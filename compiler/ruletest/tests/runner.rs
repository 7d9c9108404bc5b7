//! The runner end to end: the standard rules' tests all pass with full coverage, and the
//! report of failing cases says what went wrong.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use lanner_ruletest::runner::{Engine, FileReport, Status};
use lanner_ruletest::{report, runner};

/// Every test here runs on the JIT, which also holds it to the interpreter case by case.
fn run_file(path: &std::path::Path) -> FileReport {
    runner::run_file(path, Engine::Jit)
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn stdlib_rules_pass_with_full_coverage() {
    let path = manifest().join("../../stdlib-rules/lanner_rules.test.yaml");
    let r = run_file(&path);
    assert!(r.diagnostics.is_empty(), "{:#?}", r.diagnostics);
    let failed: Vec<_> = r
        .cases
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| format!("{}: {:?}", c.name, c.problems))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(r.coverage.len() >= 12);
    for (rule, cov) in &r.coverage {
        assert!(
            cov.percent() >= 90.0,
            "{rule}: {:.1}% {:?}",
            cov.percent(),
            cov.missing
        );
    }
    let reports = [r];
    assert!(report::overall_coverage(&reports).is_some_and(|c| c >= 90.0));
}

#[test]
fn failing_cases_are_reported() {
    let r = run_file(&manifest().join("tests/fixtures/failing.test.yaml"));
    let statuses: Vec<_> = r.cases.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        [
            Status::Fail,
            Status::Fail,
            Status::Fail,
            Status::Fail,
            Status::Pass
        ]
    );
    let reports = [r];
    // Paths differ between machines; the report names the file as given, so show it relative.
    let text = report::text(&reports).replace(&manifest().display().to_string(), "<ruletest>");
    insta::with_settings!({
        snapshot_path => "../../../tests/snapshots/ruletest",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("failing_text", text);
        let junit = report::junit(&reports).replace(&manifest().display().to_string(), "<ruletest>");
        insta::assert_snapshot!("failing_junit", junit);
    });
    let json = report::json(&reports);
    assert_eq!(json["cases"].as_array().unwrap().len(), 5);
    assert_eq!(json["cases"][0]["status"], "fail");
    assert!(json["coverage"]["overall"].as_f64().is_some());
    let _ = runner::Status::Pass;
}

#[test]
fn cases_taken_from_a_capture() {
    let r = run_file(&manifest().join("tests/fixtures/capture.test.yaml"));
    assert!(r.diagnostics.is_empty(), "{:#?}", r.diagnostics);
    for c in &r.cases {
        assert_eq!(c.status, Status::Pass, "{}: {:?}", c.name, c.problems);
    }
    // The alert carries the capture's own event number.
    assert_eq!(r.cases[0].alerts.len(), 1);
    assert_eq!(r.cases[0].alerts[0].event, 137);
}

#[test]
fn upstream_rule_suites_pass() {
    for name in [
        "falco_rules.test.yaml",
        "falco-incubating_rules.test.yaml",
        "falco-sandbox_rules.test.yaml",
    ] {
        let r = run_file(&manifest().join("../../stdlib-rules/upstream").join(name));
        assert!(
            r.diagnostics.iter().all(|d| !d.is_error()),
            "{name}: {:#?}",
            r.diagnostics
        );
        let failed: Vec<_> = r
            .cases
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| format!("{}: {:?}", c.name, c.problems))
            .collect();
        assert!(failed.is_empty(), "{name}: {failed:#?}");
        assert!(r.cases.len() >= 50, "{name}: {} cases", r.cases.len());
    }
}

/// Every process extension of the format (container metadata, capabilities, exe flags, tty,
/// loginuid, env, unknown threads) reaches the field it sets, through the real state engine.
#[test]
fn format_extensions_reach_their_fields() {
    let r = run_file(&manifest().join("tests/fixtures/extensions.test.yaml"));
    assert!(r.diagnostics.is_empty(), "{:#?}", r.diagnostics);
    assert_eq!(r.cases.len(), 29);
    for c in &r.cases {
        assert_eq!(c.status, Status::Pass, "{}: {:?}", c.name, c.problems);
    }
    assert_eq!(r.coverage.len(), 7);
    for (rule, cov) in &r.coverage {
        assert_eq!(cov.percent(), 100.0, "{rule}: {:?}", cov.missing);
    }
}

/// A rule that two test files load is one rule in the overall figure: its operands count as
/// seen when either file's cases saw them (each file alone covers 50% and 75%).
#[test]
fn a_rule_tested_by_two_files_counts_once() {
    let reports = [
        run_file(&manifest().join("tests/fixtures/merge_a.test.yaml")),
        run_file(&manifest().join("tests/fixtures/merge_b.test.yaml")),
    ];
    let alone: Vec<f64> = reports
        .iter()
        .map(|r| r.coverage.iter().map(|(_, c)| c.percent()).sum())
        .collect();
    assert_eq!(alone, [50.0, 75.0]);
    let merged = report::merged_coverage(&reports);
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].0, "Cat reads the secret");
    assert!(merged[0].1.missing.is_empty(), "{:?}", merged[0].1.missing);
    assert_eq!(report::overall_coverage(&reports), Some(100.0));
    let json = report::json(&reports);
    assert_eq!(json["coverage"]["rules"]["Cat reads the secret"], 100.0);
    assert_eq!(json["coverage"]["rules"].as_object().unwrap().len(), 1);
}

/// Runtime fields that libsinsp derives from the event and its state (FINDINGS.md I1, 4, 7):
/// `evt.arg` resolved, `fd.nameraw` as passed, container mounts, each with its near miss.
#[test]
fn runtime_fields_follow_libsinsp() {
    let r = run_file(&manifest().join("tests/fixtures/runtime_fields.test.yaml"));
    assert!(r.diagnostics.is_empty(), "{:#?}", r.diagnostics);
    assert_eq!(r.cases.len(), 22);
    for c in &r.cases {
        assert_eq!(c.status, Status::Pass, "{}: {:?}", c.name, c.problems);
    }
    assert_eq!(r.coverage.len(), 7);
    for (rule, cov) in &r.coverage {
        assert_eq!(cov.percent(), 100.0, "{rule}: {:?}", cov.missing);
    }
}
