//! On the real workspace (the three upstream files and the stdlib, loaded in the order a
//! falco.yaml gives), the diagnostics the server publishes are exactly those of the checker
//! that `rulec check` runs: same files, codes, messages and positions (UTF-16 columns).
//! Under `CI=true` a missing `../shared` is a failure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::Request;

const FILES: &[(&str, &str)] = &[
    (
        "falco_rules.yaml",
        "../../shared/upstream-rules/falco_rules.yaml",
    ),
    (
        "falco-incubating_rules.yaml",
        "../../shared/upstream-rules/falco-incubating_rules.yaml",
    ),
    (
        "falco-sandbox_rules.yaml",
        "../../shared/upstream-rules/falco-sandbox_rules.yaml",
    ),
    ("lanner_rules.yaml", "../stdlib-rules/lanner_rules.yaml"),
];

#[test]
fn upstream_workspace_diagnostics_match_the_checker() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !here.join(FILES[0].1).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "../shared is required under CI=true"
        );
        eprintln!("skipping: ../shared is missing");
        return;
    }
    let ws = std::env::temp_dir().join(format!("lanner-lsp-upstream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&ws);
    std::fs::create_dir_all(&ws).unwrap();
    let mut sources = Vec::new();
    let mut falco_yaml = String::from("rules_files:\n");
    for (name, rel) in FILES {
        let text = std::fs::read_to_string(here.join(rel)).unwrap();
        std::fs::write(ws.join(name), &text).unwrap();
        falco_yaml.push_str(&format!("  - {name}\n"));
        sources.push((name.to_string(), text));
    }
    // A decoy that sorted order would load first; falco.yaml leaves it out.
    std::fs::write(
        ws.join("000_rules.yaml"),
        "- rule: broken\n  condition: (\n",
    )
    .unwrap();
    std::fs::write(ws.join("falco.yaml"), falco_yaml).unwrap();

    let mut expected: Vec<Value> = Vec::new();
    let checked = lanner_check::driver::check_sources(sources);
    for d in &checked.diagnostics {
        let f = checked.db.get(d.primary.file).unwrap();
        let (l, c) = f.lines.line_utf16(&f.text, d.primary.span.start as usize);
        let (el, ec) = f.lines.line_utf16(&f.text, d.primary.span.end as usize);
        expected.push(json!([f.name, l, c, el, ec, d.code.id, d.message]));
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let got = rt.block_on(async {
        let (mut svc, socket) = lanner_lsp::service();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        tokio::spawn(async move {
            let mut socket = socket;
            while let Some(m) = socket.next().await {
                sink.lock().unwrap().push(serde_json::to_value(&m).unwrap());
            }
        });
        let root = format!("file://{}", ws.display());
        let init = Request::build("initialize")
            .params(json!({ "rootUri": root, "capabilities": {} }))
            .id(1)
            .finish();
        svc.ready().await.unwrap().call(init).await.unwrap();
        let done = Request::build("initialized").params(json!({})).finish();
        svc.ready().await.unwrap().call(done).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let msgs = received.lock().unwrap().clone();
        let mut got = Vec::new();
        for m in msgs
            .iter()
            .filter(|m| m["method"] == "textDocument/publishDiagnostics")
        {
            let uri = m["params"]["uri"].as_str().unwrap();
            let name = uri.rsplit('/').next().unwrap().to_owned();
            for d in m["params"]["diagnostics"].as_array().unwrap() {
                let r = &d["range"];
                let headline = d["message"]
                    .as_str()
                    .unwrap()
                    .lines()
                    .next()
                    .unwrap()
                    .to_owned();
                got.push(json!([
                    name,
                    r["start"]["line"],
                    r["start"]["character"],
                    r["end"]["line"],
                    r["end"]["character"],
                    d["code"],
                    headline
                ]));
            }
        }
        got
    });
    let _ = std::fs::remove_dir_all(&ws);
    assert!(
        !expected.is_empty(),
        "the upstream files have known warnings"
    );
    assert_eq!(
        got.len(),
        expected.len(),
        "published {} of {}",
        got.len(),
        expected.len()
    );
    assert_eq!(got, expected);
    eprintln!("{} diagnostics match", got.len());
}

/// The server's incremental analysis (parses of unchanged files reused across edits) equals a
/// full `check_sources` of the same texts after every edit of a series on the real workspace:
/// a one-character edit in a condition, a broken macro, a renamed list, an edit in another
/// file, and back to the original text.
#[test]
fn incremental_analysis_equals_a_full_check_over_edits() {
    use lanner_lsp::analysis::{Analysis, ParseCache};
    use lanner_lsp::workspace::Source;
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !here.join(FILES[0].1).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "../shared is required under CI=true"
        );
        eprintln!("skipping: ../shared is missing");
        return;
    }
    let original: Vec<(String, String)> = FILES
        .iter()
        .map(|(n, rel)| {
            (
                n.to_string(),
                std::fs::read_to_string(here.join(rel)).unwrap(),
            )
        })
        .collect();
    let edit = |file: usize, from: &str, to: &str| {
        let mut texts = original.clone();
        let t = &mut texts[file].1;
        assert!(t.contains(from), "`{from}` is in {}", texts[file].0);
        *t = t.replacen(from, to, 1);
        texts
    };
    let steps = vec![
        original.clone(),
        edit(
            0,
            "proc.name in (shell_binaries)",
            "proc.namex in (shell_binaries)",
        ),
        edit(0, "- macro: open_write", "- macro: open_writ"),
        edit(0, "- list: shell_binaries", "- list: shell_binarie"),
        edit(1, "priority: WARNING", "priority: WARNIN"),
        original.clone(),
    ];
    let mut cache = ParseCache::default();
    let mut codes = std::collections::BTreeSet::new();
    for (i, texts) in steps.into_iter().enumerate() {
        let sources: Vec<Source> = texts
            .iter()
            .map(|(n, t)| Source {
                uri: format!("file:///ws/{n}").parse().unwrap(),
                name: n.clone(),
                text: t.clone(),
                version: None,
            })
            .collect();
        let incremental = Analysis::with_cache(sources, &mut cache);
        let full = lanner_check::driver::check_sources(texts);
        assert_eq!(
            incremental.checked.diagnostics, full.diagnostics,
            "step {i}: the incremental diagnostics differ from a full check"
        );
        codes.extend(full.diagnostics.iter().map(|d| d.code.id));
    }
    // The edits do break things: the comparison is not between empty lists.
    assert!(
        codes
            .iter()
            .any(|c| c.starts_with("L2") || c.starts_with("L3"))
    );
}
