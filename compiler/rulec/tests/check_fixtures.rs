//! `rulec check` fixtures: one rules file per case under `tests/fixtures/check/`, one snapshot
//! per file under the workspace's `tests/snapshots/check/`. Add a case by adding a file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rulec::{check, render};

/// Checks one fixture and renders what a user sees, plus the exit code.
fn check(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let name = format!(
        "fixtures/check/{}",
        path.file_name().unwrap().to_string_lossy()
    );
    let result = check::check_sources(vec![(name, text)]);
    let exit = if result.has_errors() { 1 } else { 0 };
    format!(
        "exit code: {exit}\n\n{}",
        render::human_plain(&result.db, &result.diagnostics)
    )
}

#[test]
fn fixtures() {
    insta::with_settings!({
        snapshot_path => "../../../tests/snapshots/check",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::glob!("fixtures/check/*.yaml", |path| {
            let out = check(path);
            // Every fixture is a broken input: it must produce at least one diagnostic.
            assert!(out.contains("─"), "fixture {} produced no diagnostic", path.display());
            insta::assert_snapshot!(out);
        });
    });
}

/// Codes no rules file can produce, with the reason. Every other code must appear in at least
/// one fixture's diagnostics. Keep this list short: a code leaves it as soon as a file can
/// trigger it (the test fails if a fixture produces a listed code).
const NOT_PRODUCIBLE: &[(&str, &str)] = &[
    (
        "L099",
        "internal-error is reported only when the checker builds a program that fails `verify()`, \
         a bug that no rules file can trigger on purpose",
    ),
    (
        "L311",
        "modifier-not-allowed is unreachable: the parser takes a modifier only after an operator that \
         accepts one, and every such operator that suits the left type also takes the modifier \
         (IP types allow only `=`, `==`, `!=`); other cases are reported as L310 or L101",
    ),
    (
        "L501",
        "rule test file codes (L5xx) come from `*.test.yaml` files, not rules files; \
         lanner-ruletest's tests produce them",
    ),
    ("L502", "a rule test file code (see L501)"),
    ("L503", "a rule test file code (see L501)"),
    ("L504", "a rule test file code (see L501)"),
    ("L505", "a rule test file code (see L501)"),
    (
        "L601",
        "format-unstable comes from `rulec fmt` when its own output check fails, never from \
         `rulec check`",
    ),
    (
        "L343",
        "unsafe-na-check needs a `ka.`/`jevt.` field, and `rulec check` knows none (no k8s_audit or \
         json plugin fields are loaded)",
    ),
];

/// Every registered code is shown by at least one fixture, so its rendering is under review.
#[test]
fn every_code_has_a_fixture() {
    use std::collections::{BTreeMap, BTreeSet};

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures under {}", dir.display());

    // Code id -> the fixtures that produce it.
    let mut seen: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let result = check::check_sources(vec![(name.clone(), text)]);
        for d in &result.diagnostics {
            seen.entry(d.code.id).or_default().insert(name.clone());
        }
    }

    let all: BTreeSet<&str> = lanner_syntax::codes::ALL.iter().map(|c| c.id).collect();
    let mut problems = Vec::new();
    for (id, _) in NOT_PRODUCIBLE {
        if !all.contains(id) {
            problems.push(format!(
                "{id} is listed in NOT_PRODUCIBLE but is not a registered code"
            ));
        }
        if let Some(files) = seen.get(id) {
            problems.push(format!(
                "{id} is listed in NOT_PRODUCIBLE but these fixtures produce it: {}; remove it from the list",
                files.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for code in lanner_syntax::codes::ALL {
        let exempt = NOT_PRODUCIBLE.iter().any(|(id, _)| *id == code.id);
        if !exempt && !seen.contains_key(code.id) {
            problems.push(format!(
                "{} ({}) has no fixture: add one under tests/fixtures/check/ that produces it",
                code.id, code.name
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "diagnostic code coverage:\n  {}",
        problems.join("\n  ")
    );
}

/// The machine-readable renderers, on one fixture with several diagnostics.
#[test]
fn json_and_sarif() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let path = dir.join("cond_many_errors.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let result = check::check_sources(vec![("cond_many_errors.yaml".into(), text)]);
    insta::with_settings!({
        snapshot_path => "../../../tests/snapshots/render",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("json", render::json(&result.db, &result.diagnostics));
        insta::assert_snapshot!("sarif", render::sarif(&result.db, &result.diagnostics));
    });
}
