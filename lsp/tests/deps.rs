//! The language server depends on the front end only: never on the runtime crates, the rule
//! test runner (which links the runtime), aya or Cranelift. Checked on the resolved graph of
//! `cargo metadata`, following normal and build dependencies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

/// Packages that must not be in lanner-lsp's dependency closure, and prefixes of such.
const FORBIDDEN: &[&str] = &[
    "lanner-event",
    "lanner-state",
    "lanner-engine",
    "lanner-ebpf",
    "lanner-ruletest",
    "lanner",
    "rulec",
];
const FORBIDDEN_PREFIXES: &[&str] = &["aya", "cranelift"];

#[test]
fn lsp_depends_on_the_front_end_only() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--manifest-path",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let root = names
        .iter()
        .find(|(_, n)| **n == "lanner-lsp")
        .map(|(id, _)| *id)
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for d in nodes[id]["deps"].as_array().unwrap() {
            let runtime_dep = d["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null() || k["kind"] == "build");
            if runtime_dep {
                stack.push(d["pkg"].as_str().unwrap());
            }
        }
    }
    let closure: BTreeSet<&str> = seen.iter().map(|id| names[id]).collect();
    for must in [
        "lanner-syntax",
        "lanner-schema",
        "lanner-check",
        "tower-lsp-server",
    ] {
        assert!(closure.contains(must), "{must} missing: the walk is broken");
    }
    let bad: Vec<&&str> = closure
        .iter()
        .filter(|n| FORBIDDEN.contains(n) || FORBIDDEN_PREFIXES.iter().any(|p| n.starts_with(p)))
        .collect();
    assert!(bad.is_empty(), "lanner-lsp depends on {bad:?}");
}
