//! Lanner's standard rules check clean alone, and beside Falco's upstream files they change
//! nothing there (no new diagnostic on the upstream items).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use rulec::check;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: PathBuf) -> (String, String) {
    let text = std::fs::read_to_string(&path).unwrap();
    (
        path.file_name().unwrap().to_string_lossy().into_owned(),
        text,
    )
}

fn stdlib_files() -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(root().join("stdlib-rules"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && !p.to_string_lossy().ends_with(".test.yaml")
        })
        .collect();
    files.sort();
    files.into_iter().map(read).collect()
}

#[test]
fn stdlib_checks_clean() {
    let files = stdlib_files();
    assert!(!files.is_empty());
    let c = check::check_sources(files);
    let rules = c.resolved.rules.len();
    assert!(rules >= 12, "{rules} rules");
    assert!(
        c.diagnostics.is_empty(),
        "{}",
        rulec::render::human_plain(&c.db, &c.diagnostics)
    );
}

#[test]
fn stdlib_beside_upstream_adds_no_diagnostic() {
    let upstream: Vec<_> = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]
    .iter()
    .map(|n| read(root().join("../shared/upstream-rules").join(n)))
    .collect();
    let alone = check::check_sources(upstream.clone());
    let mut together = upstream;
    together.extend(stdlib_files());
    let both = check::check_sources(together);
    let codes = |c: &check::CheckResult| {
        let mut v: Vec<_> = c
            .diagnostics
            .iter()
            .map(|d| (d.code.id, d.message.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(codes(&alone), codes(&both));
}
