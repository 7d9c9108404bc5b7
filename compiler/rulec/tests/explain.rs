//! `rulec explain` and `rulec fields`: what a rule compiles to, and the field listing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use rulec::{check, explain};

fn upstream() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream-rules");
    [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]
    .iter()
    .map(|n| (n.to_string(), std::fs::read_to_string(dir.join(n)).unwrap()))
    .collect()
}

#[test]
fn explain_upstream_rules() {
    let checked = check::check_sources(upstream());
    insta::with_settings!({
        snapshot_path => "../../../tests/snapshots/explain",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        for rule in [
            "Terminal shell in container",
            "Read sensitive file untrusted",
            "Drop and execute new binary in container",
        ] {
            let text = explain::text(&checked, rule).unwrap();
            let json = explain::json(&checked, rule).unwrap();
            insta::assert_snapshot!(
                format!("text_{}", rule.replace(' ', "_")),
                text
            );
            insta::assert_json_snapshot!(format!("json_{}", rule.replace(' ', "_")), json);
        }
    });
}

#[test]
fn explain_unknown_rule_exits_two_with_suggestions() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream-rules");
    let out = Command::new(env!("CARGO_BIN_EXE_rulec"))
        .args(["explain", "terminal shell"])
        .arg(dir.join("falco_rules.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Terminal shell in container"), "{err}");
}

#[test]
fn fields_listing_in_every_format() {
    for (format, check) in [
        ("json", "\"name\": \"proc.name\""),
        ("markdown", "| `proc.name`"),
        ("text", "proc.name"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_rulec"))
            .args(["fields", "--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(check),
            "{format}: {}",
            &text[..text.len().min(400)]
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_rulec"))
        .args(["fields", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.as_array().unwrap().len() >= 294);
}
