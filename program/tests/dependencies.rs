//! The dependency rule, enforced over `cargo metadata`: data flows one way.
//!
//! - A runtime crate (event, state, engine, ebpf, jit) never depends, normally or for dev, on the
//!   front end (syntax, check, rulec, lower): it runs programs, it does not compile rules.
//! - The program crate depends on neither side, nor does the bundle crate (the compiler writes
//!   bundles, the agent reads them; the agent's `build.rs` compiles the built-in rules through
//!   a build-dependency, which is not linked into the binary and not checked here).
//! - The language server (`lanner-lsp`, when it exists) never depends on the runtime, aya or
//!   Cranelift.
//!
//! The check follows paths through normal dependencies of the workspace's crates (so an
//! indirect edge counts) and the dev-dependencies of the checked crate itself.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const RUNTIME: &[&str] = &[
    "lanner-event",
    "lanner-state",
    "lanner-engine",
    "lanner-ebpf",
    "lanner-jit",
    "lanner-prefilter",
];
const FRONT_END: &[&str] = &["lanner-syntax", "lanner-check", "rulec", "lanner-lower"];
const LSP: &str = "lanner-lsp";

/// Each workspace package's dependencies by kind: (normal, dev) package names.
type Graph = BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>;

fn graph() -> Graph {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut g = Graph::new();
    for p in meta["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap().to_owned();
        let entry = g.entry(name).or_default();
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap().to_owned();
            match d["kind"].as_str() {
                None => {
                    entry.0.insert(dep);
                }
                Some("dev") => {
                    entry.1.insert(dep);
                }
                _ => {}
            }
        }
    }
    g
}

/// Every package reachable from `root`: its normal and dev dependencies, then normal
/// dependencies transitively. Each with the path that reaches it.
fn reachable(g: &Graph, root: &str) -> BTreeMap<String, Vec<String>> {
    let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut stack: Vec<(String, Vec<String>)> = Vec::new();
    if let Some((normal, dev)) = g.get(root) {
        for d in normal.iter().chain(dev) {
            stack.push((d.clone(), vec![root.to_owned(), d.clone()]));
        }
    }
    while let Some((pkg, path)) = stack.pop() {
        if paths.contains_key(&pkg) {
            continue;
        }
        if let Some((normal, _)) = g.get(&pkg) {
            for d in normal {
                let mut p = path.clone();
                p.push(d.clone());
                stack.push((d.clone(), p));
            }
        }
        paths.insert(pkg, path);
    }
    paths
}

fn violations(g: &Graph) -> Vec<String> {
    let mut out = Vec::new();
    let mut forbid = |from: &str, banned: &dyn Fn(&str) -> bool, why: &str| {
        for (pkg, path) in reachable(g, from) {
            if banned(&pkg) {
                out.push(format!("{}: {why}", path.join(" -> ")));
            }
        }
    };
    for crate_ in RUNTIME {
        forbid(
            crate_,
            &|p| FRONT_END.contains(&p),
            "a runtime crate depends on the front end",
        );
    }
    for crate_ in ["lanner-program", "lanner-bundle"] {
        forbid(
            crate_,
            &|p| FRONT_END.contains(&p) || RUNTIME.contains(&p),
            "the program or bundle crate depends on one side",
        );
    }
    if g.contains_key(LSP) {
        forbid(
            LSP,
            &|p| RUNTIME.contains(&p) || p == "aya" || p.starts_with("cranelift"),
            "the language server depends on the runtime, aya or Cranelift",
        );
    }
    out
}

#[test]
fn data_flows_one_way() {
    let g = graph();
    // The checked crates exist under these names: a rename must update the lists above.
    for name in RUNTIME
        .iter()
        .chain(["lanner-program", "lanner-bundle", "lanner-check"].iter())
    {
        assert!(g.contains_key(*name), "no workspace package `{name}`");
    }
    let v = violations(&g);
    assert!(
        v.is_empty(),
        "forbidden dependencies:\n  {}",
        v.join("\n  ")
    );
}

/// The check itself catches an edge: a graph with `lanner-engine (dev) -> lanner-check`.
#[test]
fn a_forbidden_edge_is_caught() {
    let mut g = graph();
    g.get_mut("lanner-engine")
        .unwrap()
        .1
        .insert("lanner-check".to_owned());
    let v = violations(&g);
    assert!(
        v.iter()
            .any(|l| l.starts_with("lanner-engine -> lanner-check:")),
        "{v:?}"
    );
}
