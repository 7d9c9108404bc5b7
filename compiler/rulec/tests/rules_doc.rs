//! `docs/rules.md` is `rulec doc stdlib-rules/lanner_rules.yaml`: this test fails when the rules
//! changed and the reference was not regenerated (`UPDATE_DOCS=1` rewrites it).

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn docs_rules_md_is_fresh() {
    let rules = root().join("stdlib-rules/lanner_rules.yaml");
    let text = std::fs::read_to_string(&rules).expect("read the stdlib rules");
    let checked =
        rulec::check::check_sources(vec![("stdlib-rules/lanner_rules.yaml".to_string(), text)]);
    assert!(!checked.has_errors(), "the stdlib rules have errors");
    let generated = rulec::doc::markdown(&checked);
    // Every rule is documented, each with its ATT&CK ids.
    assert_eq!(
        generated.matches("\n### ").count(),
        checked.resolved.rules.len()
    );
    assert_eq!(
        generated.matches("- **ATT&CK**: ").count(),
        checked.resolved.rules.len()
    );
    let path = root().join("docs/rules.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/rules.md");
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "docs/rules.md is stale: run `UPDATE_DOCS=1 cargo test -p rulec --test rules_doc` \
         or `cargo run -p rulec -- doc stdlib-rules/lanner_rules.yaml > docs/rules.md`"
    );
}
