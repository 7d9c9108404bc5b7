//! The session suite: each `sessions/*.case` file is a workspace (files after `=== NAME`
//! lines, a cursor `$0` and optionally a range end `$1`) and one request; the case runs a real
//! JSON-RPC session through the service (initialize, initialized, didOpen, the request) and
//! the response plus the published diagnostics are an insta snapshot.
//!
//! Header lines of a case (before the first `===`):
//! - `request: METHOD` — `hover`, `completion`, `definition`, `references`, `rename`,
//!   `prepare-rename`, `highlight`, `symbols`, `workspace-symbols`, `folding`,
//!   `semantic-tokens`, `code-action`, `formatting`, `range-formatting`, `diagnostics` (push),
//!   `pull-diagnostics`, `workspace-diagnostics`, `edits`, `add-exception` (with
//!   `alert: JSON`), `configuration` (the diagnostics after each configuration step),
//!   `code-lens` (with the server's log messages);
//! - `encoding: utf-8|utf-32` — offered in `general.positionEncodings` (default: none, UTF-16);
//! - `new-name: NAME` for rename, `query: TEXT` for workspace symbols;
//! - `edit: TEXT` (repeatable) for `edits`: each inserted at the cursor as its own didChange;
//! - `open: NAME` — the file to open (default: the one holding the cursor, else the first);
//! - `setting: A, B` — the `rulesFiles` initialization option;
//! - `client-configuration: JSON` — the client declares `workspace.configuration` and answers
//!   `workspace/configuration` from this settings object (section `lanner` is its `lanner` key);
//! - `change-configuration: JSON` (repeatable, in order with `change-configuration-pull`): the
//!   client's settings become JSON and it pushes them in `workspace/didChangeConfiguration`;
//!   `change-configuration-pull: JSON`: the settings become JSON and the notification carries
//!   `null` (the pull model: the server must ask);
//! - `dynamic-registration: yes` — the client declares `didChangeConfiguration`'s dynamic
//!   registration (as VS Code does) and answers `client/registerCapability`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::{Request, Response};

struct Case {
    headers: Vec<(String, String)>,
    files: Vec<(String, String)>,
    /// File index and byte offsets of `$0` and `$1`.
    cursor: Option<(usize, usize)>,
    range_end: Option<usize>,
}

impl Case {
    fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn parse(text: &str) -> Case {
        let mut headers = Vec::new();
        let mut files: Vec<(String, String)> = Vec::new();
        for line in text.split_inclusive('\n') {
            if let Some(name) = line.strip_prefix("=== ") {
                files.push((name.trim().to_owned(), String::new()));
            } else if let Some((_, body)) = files.last_mut() {
                body.push_str(line);
            } else if let Some((k, v)) = line.split_once(':')
                && !line.starts_with('#')
            {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let mut cursor = None;
        let mut range_end = None;
        for (i, (_, body)) in files.iter_mut().enumerate() {
            if let Some(at) = body.find("$0") {
                body.replace_range(at..at + 2, "");
                cursor = Some((i, at));
                if let Some(end) = body.find("$1") {
                    body.replace_range(end..end + 2, "");
                    range_end = Some(end);
                }
            }
        }
        Case {
            headers,
            files,
            cursor,
            range_end,
        }
    }
}

/// Line and UTF-16 column of a byte offset (the protocol's default).
fn position(text: &str, offset: usize, enc: &str) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let col: usize = match enc {
        "utf-8" => offset - start,
        "utf-32" => before[start..].chars().count(),
        _ => before[start..].chars().map(char::len_utf16).sum(),
    };
    json!({ "line": line, "character": col })
}

struct Session {
    service: tower_lsp_server::LspService<lanner_lsp::Backend>,
    received: Arc<Mutex<Vec<Value>>>,
    next_id: i64,
}

impl Session {
    async fn settle() {
        // The drain task runs on this (current-thread) runtime: sleeping lets it take every
        // message the handler has already sent.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    async fn request(&mut self, method: &'static str, params: Value) -> Value {
        self.next_id += 1;
        let req = Request::build(method)
            .params(params)
            .id(self.next_id)
            .finish();
        let resp = self
            .service
            .ready()
            .await
            .expect("service ready")
            .call(req)
            .await
            .expect("service call");
        Self::settle().await;
        let (_, body) = resp.expect("a response").into_parts();
        match body {
            Ok(v) => v,
            Err(e) => json!({ "error": e.message }),
        }
    }

    async fn notify(&mut self, method: &'static str, params: Value) {
        let req = Request::build(method).params(params).finish();
        let resp = self
            .service
            .ready()
            .await
            .expect("service ready")
            .call(req)
            .await
            .expect("service call");
        assert!(resp.is_none(), "a notification got a response");
        Self::settle().await;
    }

    fn take_diagnostics(&self) -> Vec<Value> {
        let mut r = self.received.lock().expect("lock");
        let out = r
            .iter()
            .filter(|m| m["method"] == "textDocument/publishDiagnostics")
            .map(|m| m["params"].clone())
            .collect();
        r.clear();
        out
    }
}

fn uri(root: &Path, name: &str) -> String {
    format!("file://{}/{name}", root.display())
}

async fn run(case: &Case, root: &Path) -> Value {
    for (name, body) in &case.files {
        let p = root.join(name);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        std::fs::write(p, body).expect("write fixture file");
    }
    let (service, socket) = lanner_lsp::service();
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    // The client's settings, which it answers `workspace/configuration` from.
    let client_settings = Arc::new(Mutex::new(
        case.header("client-configuration")
            .map_or(Value::Null, |c| {
                serde_json::from_str(c).expect("client-configuration json")
            }),
    ));
    let settings = client_settings.clone();
    // The items of every `workspace/configuration` request, in order.
    let asked = Arc::new(Mutex::new(Vec::new()));
    let asked_sink = asked.clone();
    // The params of every `client/registerCapability` request.
    let registered = Arc::new(Mutex::new(Vec::new()));
    let registered_sink = registered.clone();
    tokio::spawn(async move {
        let (mut requests, mut responses) = socket.split();
        while let Some(msg) = requests.next().await {
            let v = serde_json::to_value(&msg).expect("message json");
            if msg.method() == "client/registerCapability"
                && let Some(id) = msg.id().cloned()
            {
                registered_sink
                    .lock()
                    .expect("lock")
                    .push(v["params"].clone());
                responses
                    .send(Response::from_ok(id, Value::Null))
                    .await
                    .expect("answer the server");
            }
            if msg.method() == "workspace/configuration"
                && let Some(id) = msg.id().cloned()
            {
                asked_sink
                    .lock()
                    .expect("lock")
                    .push(v["params"]["items"].clone());
                let current = settings.lock().expect("lock").clone();
                let answer: Vec<Value> = v["params"]["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|item| match item["section"].as_str() {
                        Some(section) => current.get(section).cloned().unwrap_or(Value::Null),
                        None => current.clone(),
                    })
                    .collect();
                responses
                    .send(Response::from_ok(id, json!(answer)))
                    .await
                    .expect("answer the server");
            }
            sink.lock().expect("lock").push(v);
        }
    });
    let mut s = Session {
        service,
        received,
        next_id: 0,
    };
    let enc = case.header("encoding").unwrap_or("utf-16").to_owned();
    let mut caps = json!({});
    if enc != "utf-16" {
        caps = json!({ "general": { "positionEncodings": [enc] } });
    }
    if case.header("client-configuration").is_some() {
        caps["workspace"] = json!({ "configuration": true });
    }
    if case.header("dynamic-registration").is_some() {
        caps["workspace"]["didChangeConfiguration"] = json!({ "dynamicRegistration": true });
    }
    let mut init = json!({
        "processId": null,
        "rootUri": format!("file://{}", root.display()),
        "capabilities": caps,
    });
    if let Some(setting) = case.header("setting") {
        let files: Vec<&str> = setting.split(',').map(str::trim).collect();
        init["initializationOptions"] = json!({ "rulesFiles": files });
    }
    let init_resp = s.request("initialize", init).await;
    let negotiated = init_resp["capabilities"]["positionEncoding"].clone();
    s.notify("initialized", json!({})).await;
    let at_start = s.take_diagnostics();

    let open_idx = case
        .header("open")
        .and_then(|n| case.files.iter().position(|(f, _)| f == n))
        .or(case.cursor.map(|(i, _)| i))
        .unwrap_or(0);
    let (open_name, open_text) = &case.files[open_idx];
    let doc = uri(root, open_name);
    s.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": doc, "languageId": "yaml", "version": 1, "text": open_text } }),
    )
    .await;
    // What the client shows after the open: the latest diagnostics of every file, whether
    // published at `initialized` (files on disk) or after the open.
    let mut opened: Vec<Value> = Vec::new();
    for d in at_start.into_iter().chain(s.take_diagnostics()) {
        opened.retain(|o| o["uri"] != d["uri"]);
        opened.push(d);
    }
    opened.sort_by(|a, b| a["uri"].as_str().cmp(&b["uri"].as_str()));

    let (cur_file, cur_off) = case.cursor.unwrap_or((open_idx, 0));
    let cur_text = &case.files[cur_file].1;
    let cur_uri = uri(root, &case.files[cur_file].0);
    let pos = position(cur_text, cur_off, &enc);
    let tdp = json!({ "textDocument": { "uri": cur_uri }, "position": pos });
    let method = case.header("request").expect("a `request:` header");
    let mut out = json!({ "request": method, "positionEncoding": negotiated });
    let response = match method {
        "diagnostics" => json!(opened),
        "configuration" => {
            let mut steps = vec![json!({ "step": "open", "diagnostics": codes_by_file(&opened) })];
            let mut latest = opened.clone();
            for (k, v) in &case.headers {
                let pull = match k.as_str() {
                    "change-configuration" => false,
                    "change-configuration-pull" => true,
                    _ => continue,
                };
                let value: Value = serde_json::from_str(v).expect("configuration json");
                *client_settings.lock().expect("lock") = value.clone();
                let sent = if pull { Value::Null } else { value };
                s.notify(
                    "workspace/didChangeConfiguration",
                    json!({ "settings": sent }),
                )
                .await;
                for d in s.take_diagnostics() {
                    latest.retain(|o| o["uri"] != d["uri"]);
                    latest.push(d);
                }
                latest.sort_by(|a, b| a["uri"].as_str().cmp(&b["uri"].as_str()));
                steps.push(
                    json!({ "step": format!("{k}: {v}"), "diagnostics": codes_by_file(&latest) }),
                );
            }
            let asked = asked.lock().expect("lock").clone();
            let registrations = registered.lock().expect("lock").clone();
            json!({
                "steps": steps,
                "configuration_requests": asked,
                "registrations": registrations,
            })
        }
        "workspace-diagnostics" => {
            // A first pull gets full reports with result ids; a second one that sends them
            // back gets "unchanged" for every file whose diagnostics did not change, and a
            // full report for the file an edit changed.
            let first = s
                .request("workspace/diagnostic", json!({ "previousResultIds": [] }))
                .await;
            let ids: Vec<Value> = first["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| json!({ "uri": r["uri"], "value": r["resultId"] }))
                .collect();
            let again = s
                .request("workspace/diagnostic", json!({ "previousResultIds": ids }))
                .await;
            let mut after_edit = Value::Null;
            if let Some(e) = case.header("edit") {
                s.notify(
                    "textDocument/didChange",
                    json!({
                        "textDocument": { "uri": doc, "version": 2 },
                        "contentChanges": [{ "range": { "start": pos, "end": pos }, "text": e }]
                    }),
                )
                .await;
                let r = s
                    .request("workspace/diagnostic", json!({ "previousResultIds": ids }))
                    .await;
                after_edit = kinds(&r);
            }
            json!({ "first": first, "again": kinds(&again), "after_edit": after_edit })
        }
        "code-lens" => {
            let lenses = s
                .request(
                    "textDocument/codeLens",
                    json!({ "textDocument": { "uri": doc } }),
                )
                .await;
            let logs: Vec<Value> = s
                .received
                .lock()
                .expect("lock")
                .iter()
                .filter(|m| m["method"] == "window/logMessage")
                .map(|m| m["params"]["message"].clone())
                .collect();
            json!({ "lenses": lenses, "log": logs })
        }
        "pull-diagnostics" => {
            s.request(
                "textDocument/diagnostic",
                json!({ "textDocument": { "uri": doc } }),
            )
            .await
        }
        "hover" => s.request("textDocument/hover", tdp).await,
        "completion" => summarize_completion(s.request("textDocument/completion", tdp).await),
        "definition" => s.request("textDocument/definition", tdp).await,
        "references" => {
            let mut p = tdp;
            p["context"] = json!({ "includeDeclaration": true });
            s.request("textDocument/references", p).await
        }
        "prepare-rename" => s.request("textDocument/prepareRename", tdp).await,
        "rename" => {
            let mut p = tdp;
            p["newName"] = json!(case.header("new-name").expect("new-name"));
            s.request("textDocument/rename", p).await
        }
        "highlight" => s.request("textDocument/documentHighlight", tdp).await,
        "symbols" => {
            s.request(
                "textDocument/documentSymbol",
                json!({ "textDocument": { "uri": doc } }),
            )
            .await
        }
        "workspace-symbols" => {
            s.request(
                "workspace/symbol",
                json!({ "query": case.header("query").unwrap_or("") }),
            )
            .await
        }
        "folding" => {
            s.request(
                "textDocument/foldingRange",
                json!({ "textDocument": { "uri": doc } }),
            )
            .await
        }
        "semantic-tokens" => {
            let legend =
                init_resp["capabilities"]["semanticTokensProvider"]["legend"]["tokenTypes"].clone();
            let r = s
                .request(
                    "textDocument/semanticTokens/full",
                    json!({ "textDocument": { "uri": doc } }),
                )
                .await;
            decode_tokens(open_text, &r["data"], &legend)
        }
        "formatting" => {
            let r = s
                .request(
                    "textDocument/formatting",
                    json!({ "textDocument": { "uri": doc }, "options": { "tabSize": 2, "insertSpaces": true } }),
                )
                .await;
            with_result(open_text, &r, &enc)
        }
        "range-formatting" => {
            let r = s
                .request(
                    "textDocument/rangeFormatting",
                    json!({ "textDocument": { "uri": doc }, "range": { "start": pos, "end": pos }, "options": { "tabSize": 2, "insertSpaces": true } }),
                )
                .await;
            with_result(open_text, &r, &enc)
        }
        "add-exception" => {
            // The command returns the edit; applying it and re-checking the text must leave
            // the rule valid with the new exception.
            let alert: Value =
                serde_json::from_str(case.header("alert").expect("alert")).expect("alert json");
            let r = s
                .request(
                    "workspace/executeCommand",
                    json!({ "command": "lanner.addException", "arguments": [doc, alert] }),
                )
                .await;
            let edits = r["changes"][doc.as_str()].clone();
            let applied = with_result(open_text, &edits, &enc);
            if let Some(new_text) = applied["result"].as_str() {
                s.notify(
                    "textDocument/didChange",
                    json!({ "textDocument": { "uri": doc, "version": 2 }, "contentChanges": [{ "text": new_text }] }),
                )
                .await;
            }
            let after: Vec<Value> = s
                .take_diagnostics()
                .into_iter()
                .filter(|d| d["uri"] == json!(doc))
                .map(|d| d["diagnostics"].clone())
                .collect();
            if r.get("error").is_some() {
                r
            } else {
                json!({ "applied": applied, "diagnostics_after": after })
            }
        }
        "code-action" => {
            let end = case
                .range_end
                .map_or(pos.clone(), |e| position(cur_text, e, &enc));
            s.request(
                "textDocument/codeAction",
                json!({ "textDocument": { "uri": cur_uri }, "range": { "start": pos, "end": end }, "context": { "diagnostics": [] } }),
            )
            .await
        }
        "edits" => {
            // Each edit is inserted where the previous one ended, as a separate notification
            // with the next version; the published diagnostics must follow the versions.
            let mut text = open_text.clone();
            let mut at = cur_off;
            let mut published = Vec::new();
            for (i, (_, e)) in case.headers.iter().filter(|(k, _)| k == "edit").enumerate() {
                let p = position(&text, at, &enc);
                s.notify(
                    "textDocument/didChange",
                    json!({
                        "textDocument": { "uri": doc, "version": i + 2 },
                        "contentChanges": [{ "range": { "start": p, "end": p }, "text": e }]
                    }),
                )
                .await;
                text.insert_str(at, e);
                at += e.len();
                for d in s.take_diagnostics() {
                    if d["uri"] == json!(doc) {
                        published.push(json!({
                            "version": d["version"],
                            "codes": d["diagnostics"].as_array().map(|a| a.iter().map(|x| x["code"].clone()).collect::<Vec<_>>()),
                        }));
                    }
                }
            }
            let hover_end = s
                .request(
                    "textDocument/documentSymbol",
                    json!({ "textDocument": { "uri": doc } }),
                )
                .await;
            json!({ "published": published, "final_text": text, "symbols_after": hover_end })
        }
        other => panic!("unknown request `{other}`"),
    };
    out["response"] = response;
    out
}

/// The edits and the text they produce (applied last to first, as the protocol's edits of one
/// request all refer to the original text).
fn with_result(text: &str, edits: &Value, enc: &str) -> Value {
    let Some(list) = edits.as_array() else {
        return json!({ "edits": edits });
    };
    let offset = |p: &Value| -> usize {
        let (line, ch) = (
            p["line"].as_u64().unwrap() as usize,
            p["character"].as_u64().unwrap() as usize,
        );
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let mut units = 0;
        for (i, c) in text[start..].char_indices() {
            if units >= ch || c == '\n' {
                return start + i;
            }
            units += match enc {
                "utf-8" => c.len_utf8(),
                "utf-32" => 1,
                _ => c.len_utf16(),
            };
        }
        text.len()
    };
    let mut spans: Vec<(usize, usize, String)> = list
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_owned();
    for (s, e, t) in spans {
        out.replace_range(s..e, &t);
    }
    json!({ "edits": list.len(), "result": out })
}

/// Per file, the codes of its diagnostics (configuration steps show what changed).
fn codes_by_file(published: &[Value]) -> Value {
    let mut out = serde_json::Map::new();
    for p in published {
        let codes: Vec<Value> = p["diagnostics"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| d["code"].clone())
            .collect();
        out.insert(p["uri"].as_str().unwrap_or("?").to_owned(), json!(codes));
    }
    Value::Object(out)
}

/// Per file of a workspace report, its kind and the number of diagnostics.
fn kinds(report: &Value) -> Value {
    json!(
        report["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| json!(format!(
                "{} {} ({} items)",
                r["uri"].as_str().unwrap_or("?"),
                r["kind"].as_str().unwrap_or("?"),
                r["items"].as_array().map_or(0, Vec::len)
            )))
            .collect::<Vec<_>>()
    )
}

fn summarize_completion(v: Value) -> Value {
    let items = v.as_array().cloned().unwrap_or_default();
    let fields = items.iter().filter(|i| i["kind"] == 5).count();
    let others: Vec<Value> = items
        .iter()
        .filter(|i| i["kind"] != 5)
        .map(|i| {
            json!(format!(
                "{} ({})",
                i["label"].as_str().unwrap_or(""),
                i["detail"].as_str().unwrap_or("")
            ))
        })
        .collect();
    let first_fields: Vec<Value> = items
        .iter()
        .filter(|i| i["kind"] == 5)
        .take(5)
        .map(|i| i["detail"].clone())
        .collect();
    let others_shown: Vec<Value> = others.iter().take(60).cloned().collect();
    // The types of the fields offered: what operator-aware filtering decides.
    let field_types: std::collections::BTreeSet<String> = items
        .iter()
        .filter(|i| i["kind"] == 5)
        .filter_map(|i| {
            i["detail"]
                .as_str()?
                .rsplit(" : ")
                .next()
                .map(str::to_owned)
        })
        .collect();
    json!({ "total": items.len(), "fields": fields, "field_types": field_types, "first_fields": first_fields, "others": others.len(), "others_shown": others_shown })
}

fn decode_tokens(text: &str, data: &Value, legend: &Value) -> Value {
    let nums: Vec<u64> = data
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let lines: Vec<&str> = text.split('\n').collect();
    let (mut line, mut col) = (0u64, 0u64);
    let mut out = Vec::new();
    for t in nums.chunks(5) {
        let [dl, ds, len, ty, m] = [t[0], t[1], t[2], t[3], t[4]];
        if dl > 0 {
            line += dl;
            col = ds;
        } else {
            col += ds;
        }
        let l = lines.get(line as usize).copied().unwrap_or("");
        // Columns are UTF-16 units; fixtures of this request are ASCII.
        let word = l.get(col as usize..(col + len) as usize).unwrap_or("?");
        out.push(json!(format!(
            "{}:{} {} `{}`{}",
            line + 1,
            col + 1,
            legend[ty as usize].as_str().unwrap_or("?"),
            word,
            if m != 0 { " deprecated" } else { "" }
        )));
    }
    json!(out)
}

fn check(path: &Path) -> Value {
    let case = Case::parse(&std::fs::read_to_string(path).expect("read case"));
    let name = path
        .file_stem()
        .expect("stem")
        .to_string_lossy()
        .into_owned();
    let root: PathBuf =
        std::env::temp_dir().join(format!("lanner-lsp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("temp dir");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let v = rt.block_on(run(&case, &root));
    let _ = std::fs::remove_dir_all(&root);
    let text = serde_json::to_string(&v)
        .expect("json")
        .replace(&format!("file://{}", root.display()), "file:///WS");
    serde_json::from_str(&text).expect("json")
}

#[test]
fn sessions() {
    let mut ran = 0;
    insta::glob!("sessions/*.case", |path| {
        ran += 1;
        insta::assert_json_snapshot!(check(path));
    });
    // INVARIANT: every capability has at least one case; the count moves with the corpus.
    assert_eq!(ran, CASES, "session cases run");
}

/// The number of `sessions/*.case` files.
const CASES: usize = 53;
