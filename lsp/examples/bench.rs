//! Latency and memory of the server on the 5,000-line workspace (the three upstream files and
//! the stdlib), measured through the service: diagnostics after a one-character edit,
//! completion and hover, each as p50/p95 over many runs, with the bare `check_sources` of the
//! same files as the baseline of the same run. Run with
//! `cargo run --release -p lanner-lsp --example bench` (`../shared` must be present).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::Request;

// The allocator `rulec lsp` runs with (compiler/rulec/src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FILES: &[(&str, &str)] = &[
    (
        "falco_rules.yaml",
        "../shared/upstream-rules/falco_rules.yaml",
    ),
    (
        "falco-incubating_rules.yaml",
        "../shared/upstream-rules/falco-incubating_rules.yaml",
    ),
    (
        "falco-sandbox_rules.yaml",
        "../shared/upstream-rules/falco-sandbox_rules.yaml",
    ),
    ("lanner_rules.yaml", "stdlib-rules/lanner_rules.yaml"),
];
const RUNS: usize = 200;

fn rss_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn report(name: &str, v: &mut [Duration], base: Option<Duration>) {
    let (p50, p95) = (pct(v, 0.5), pct(v, 0.95));
    let ratio = base.map_or(String::new(), |b| {
        format!(
            "  ({:.2}× the bare check p50)",
            p95.as_secs_f64() / b.as_secs_f64()
        )
    });
    println!(
        "{name:<34} p50 {:>8.2} ms  p95 {:>8.2} ms{ratio}",
        p50.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3
    );
}

type Svc = tower_lsp_server::LspService<lanner_lsp::Backend>;

async fn call(svc: &mut Svc, id: Option<i64>, method: &'static str, params: Value) -> Value {
    let b = Request::build(method).params(params);
    let req = match id {
        Some(i) => b.id(i).finish(),
        None => b.finish(),
    };
    let resp = svc
        .ready()
        .await
        .expect("ready")
        .call(req)
        .await
        .expect("call");
    resp.map_or(Value::Null, |r| r.into_parts().1.unwrap_or(Value::Null))
}

fn position_of(text: &str, needle: &str, delta: usize) -> Value {
    let at = text.find(needle).expect("needle in falco_rules.yaml") + delta;
    let before = &text[..at];
    let line = before.matches('\n').count();
    let col = at - before.rfind('\n').map_or(0, |i| i + 1);
    json!({ "line": line, "character": col })
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let ws: PathBuf = std::env::temp_dir().join(format!("lanner-lsp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&ws).expect("temp dir");
    let mut sources = Vec::new();
    let mut falco_yaml = String::from("rules_files:\n");
    let mut lines = 0;
    for (name, rel) in FILES {
        let text = std::fs::read_to_string(repo.join(rel)).expect("workspace file (../shared)");
        lines += text.lines().count();
        std::fs::write(ws.join(name), &text).expect("write");
        falco_yaml.push_str(&format!("  - {name}\n"));
        sources.push((name.to_string(), text));
    }
    std::fs::write(ws.join("falco.yaml"), falco_yaml).expect("write");
    println!("workspace: {} files, {lines} lines", FILES.len());

    // Baseline of the same run: the checker alone on the same text.
    let mut base = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let c = lanner_check::driver::check_sources(sources.clone());
        base.push(t.elapsed());
        std::hint::black_box(c);
    }
    let base_p50 = pct(&mut base, 0.5);
    report("bare check_sources", &mut base, None);
    // The server's own analysis (check plus the name index), without the protocol.
    let ws_model = lanner_lsp::workspace::Workspace::new(Some(ws.clone()), None);
    let mut analysis = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let a = lanner_lsp::analysis::Analysis::new(ws_model.sources());
        std::hint::black_box(&a);
        // The server replaces (and so frees) the previous analysis on every edit.
        drop(a);
        analysis.push(t.elapsed());
    }
    report(
        "analysis (check + index + free)",
        &mut analysis,
        Some(base_p50),
    );

    let rss_before = rss_kib("VmRSS:");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (mut svc, socket) = lanner_lsp::service();
        let published = Arc::new(AtomicUsize::new(0));
        let p = published.clone();
        tokio::spawn(async move {
            let mut socket = socket;
            while let Some(m) = socket.next().await {
                if m.method() == "textDocument/publishDiagnostics" {
                    p.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        let root = format!("file://{}", ws.display());
        call(&mut svc, Some(1), "initialize", json!({ "rootUri": root, "capabilities": {} })).await;
        call(&mut svc, None, "initialized", json!({})).await;
        let uri = format!("{root}/falco_rules.yaml");
        let text = sources[0].1.clone();
        call(&mut svc, None, "textDocument/didOpen", json!({ "textDocument": { "uri": uri, "languageId": "yaml", "version": 1, "text": text } })).await;

        // One-character edits inside a condition, alternating insert and delete so the text
        // stays valid; each call returns once the analysis is rebuilt and published.
        let at = position_of(&text, "condition: (proc.name in (shell_binaries))", 12);
        let mut edits = Vec::new();
        for i in 0..RUNS {
            let change = if i % 2 == 0 {
                json!({ "range": { "start": at, "end": at }, "text": "x" })
            } else {
                let end = json!({ "line": at["line"], "character": at["character"].as_u64().unwrap_or(0) + 1 });
                json!({ "range": { "start": at, "end": end }, "text": "" })
            };
            let t = Instant::now();
            call(&mut svc, None, "textDocument/didChange", json!({ "textDocument": { "uri": uri, "version": i + 2 }, "contentChanges": [change] })).await;
            edits.push(t.elapsed());
        }
        report("diagnostics after a 1-char edit", &mut edits, Some(base_p50));

        let field_pos = position_of(&text, "proc.name in (shell_binaries)", 3);
        let cond_pos = position_of(&text, "condition: (proc.name in (shell_binaries))", 12);
        let mut hovers = Vec::new();
        let mut completions = Vec::new();
        let mut n_items = 0;
        for i in 0..RUNS {
            let t = Instant::now();
            let h = call(&mut svc, Some(10 + i as i64), "textDocument/hover", json!({ "textDocument": { "uri": uri }, "position": field_pos })).await;
            hovers.push(t.elapsed());
            assert!(h.get("contents").is_some(), "hover answered");
            let t = Instant::now();
            let c = call(&mut svc, Some(100_000 + i as i64), "textDocument/completion", json!({ "textDocument": { "uri": uri }, "position": cond_pos })).await;
            completions.push(t.elapsed());
            n_items = c.as_array().map_or(0, Vec::len);
        }
        report("hover (field)", &mut hovers, Some(base_p50));
        report(&format!("completion ({n_items} items)"), &mut completions, Some(base_p50));
        println!("publishDiagnostics sent: {}", published.load(Ordering::SeqCst));
    });
    let rss_after = rss_kib("VmRSS:");
    println!(
        "memory: RSS {} MiB with the workspace loaded (+{} MiB over the process before the server), peak {} MiB",
        rss_after / 1024,
        rss_after.saturating_sub(rss_before) / 1024,
        rss_kib("VmHWM:") / 1024
    );
    let _ = std::fs::remove_dir_all(&ws);
}
