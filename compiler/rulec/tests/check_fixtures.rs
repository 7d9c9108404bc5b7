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
