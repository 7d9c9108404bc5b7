//! Falco's upstream rule files load unchanged: every condition and output parses with zero
//! errors, and the canonical form of every rule condition is snapshotted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lanner_syntax::condition::print::canonical;
use lanner_syntax::rules::ItemKind;
use rulec::check;

fn upstream(name: &str) -> (String, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/upstream-rules")
        .join(name);
    (
        name.to_string(),
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
}

const FILES: [&str; 3] = [
    "falco_rules.yaml",
    "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml",
];

#[test]
fn upstream_files_parse_without_errors() {
    let result = check::check_sources(FILES.iter().map(|f| upstream(f)).collect());
    let errors: Vec<_> = result.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(
        errors.is_empty(),
        "{}",
        rulec::render::human_plain(&result.db, &result.diagnostics)
    );
    // Every condition of every macro and rule was parsed.
    for f in &result.files {
        for (item, cond) in f.rules.items.iter().zip(&f.conditions) {
            let has_condition = match &item.kind {
                ItemKind::Macro(m) => m.condition.is_some(),
                ItemKind::Rule(r) => r.condition.is_some(),
                _ => false,
            };
            assert_eq!(has_condition, cond.is_some());
        }
    }
}

#[test]
fn upstream_canonical_conditions() {
    for name in FILES {
        let result = check::check_sources(vec![upstream(name)]);
        let mut out = String::new();
        for f in &result.files {
            for (item, cond) in f.rules.items.iter().zip(&f.conditions) {
                let (kind, item_name) = match &item.kind {
                    ItemKind::Macro(m) => ("macro", &m.name.value),
                    ItemKind::Rule(r) => ("rule", &r.name.value),
                    _ => continue,
                };
                if let Some(c) = cond {
                    out.push_str(&format!("{kind} {item_name}\n  {}\n", canonical(c)));
                }
            }
        }
        insta::with_settings!({
            snapshot_path => "../../../tests/snapshots/upstream",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, out);
        });
    }
}
