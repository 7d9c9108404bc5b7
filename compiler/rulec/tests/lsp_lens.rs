//! `rulec lsp` over stdio with a minimal JSON-RPC client: the code lenses of the stdlib rules
//! come from running their `*.test.yaml` through `rulec test` as a subprocess (the server
//! must not link the runtime), and the lens command runs them; "evaluate on" lenses replay a
//! capture of the workspace through a rule.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next: i64,
}

impl Client {
    fn send(&mut self, v: &Value) {
        let body = v.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn read(&mut self) -> Value {
        let mut len = 0;
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "server closed stdout"
            );
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                len = n.parse().unwrap();
            }
        }
        let mut buf = vec![0; len];
        self.stdout.read_exact(&mut buf).unwrap();
        serde_json::from_slice(&buf).unwrap()
    }

    /// Sends a request and returns its result, skipping notifications (and answering none).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let m = self.read();
            if m["id"] == json!(id) && m.get("method").is_none() {
                assert!(m.get("error").is_none(), "{m}");
                return m["result"].clone();
            }
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }
}

#[test]
fn code_lenses_from_rule_tests() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let ws = std::env::temp_dir().join(format!("lanner-lens-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&ws);
    std::fs::create_dir_all(&ws).unwrap();
    for f in ["lanner_rules.yaml", "lanner_rules.test.yaml"] {
        std::fs::copy(repo.join("stdlib-rules").join(f), ws.join(f)).unwrap();
    }
    // A capture makes "evaluate on" lenses appear; two rules of known outcome on it.
    let capture = repo.join("../shared/scap/captures/cat_write.scap");
    if !capture.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "../shared is required under CI=true"
        );
        eprintln!("skipping: ../shared is missing");
        return;
    }
    std::fs::copy(&capture, ws.join("cat_write.scap")).unwrap();
    std::fs::write(
        ws.join("extra_rules.yaml"),
        "- rule: loader cache read\n  desc: d\n  condition: evt.type in (open, openat) and fd.name = /etc/ld.so.cache\n  output: o\n  priority: INFO\n- rule: never\n  desc: d\n  condition: evt.type = open and proc.name = no_such_process_name\n  output: o\n  priority: INFO\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rulec"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut c = Client {
        child,
        stdin,
        stdout,
        next: 0,
    };
    let root = format!("file://{}", ws.display());
    let init = c.request("initialize", json!({ "rootUri": root, "capabilities": {} }));
    assert_eq!(
        init["capabilities"]["executeCommandProvider"]["commands"][0],
        "lanner.runTests"
    );
    c.notify("initialized", json!({}));
    let uri = format!("{root}/lanner_rules.yaml");
    let text = std::fs::read_to_string(ws.join("lanner_rules.yaml")).unwrap();
    c.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "yaml", "version": 1, "text": text } }),
    );
    let lenses = c.request(
        "textDocument/codeLens",
        json!({ "textDocument": { "uri": uri } }),
    );
    let all = lenses.as_array().unwrap();
    let evaluate: Vec<&Value> = all
        .iter()
        .filter(|l| l["command"]["command"] == "lanner.evaluateCapture")
        .collect();
    assert!(!evaluate.is_empty());
    assert_eq!(
        evaluate[0]["command"]["title"],
        "evaluate on cat_write.scap"
    );
    let lenses: Vec<&Value> = all
        .iter()
        .filter(|l| l["command"]["command"] == "lanner.runTests")
        .collect();
    let rules = text.matches("\n- rule: ").count() + usize::from(text.starts_with("- rule: "));
    assert!(
        lenses.len() >= 10,
        "{} lenses for {rules} rules",
        lenses.len()
    );
    let first = &lenses[0];
    let title = first["command"]["title"].as_str().unwrap();
    assert!(
        title.contains(" test") && title.ends_with("% covered"),
        "{title}"
    );
    // The lens sits on the rule's name.
    let line = first["range"]["start"]["line"].as_u64().unwrap() as usize;
    assert!(
        text.lines().nth(line).unwrap().starts_with("- rule: "),
        "line {line}"
    );
    assert_eq!(first["command"]["command"], "lanner.runTests");
    eprintln!("{} lenses, first: {title}", lenses.len());

    let args = first["command"]["arguments"].clone();
    let ran = c.request(
        "workspace/executeCommand",
        json!({ "command": "lanner.runTests", "arguments": args }),
    );
    assert_eq!(ran["rule"], args[0]);
    assert!(ran["result"]["cases"].as_u64().unwrap() >= 1, "{ran}");
    assert_eq!(ran["result"]["failed"], 0, "{ran}");

    // Evaluate on the capture: the rule that matches cat reading the loader cache alerts (once,
    // as in the ruletest capture fixture), the other not.
    let extra = format!("{root}/extra_rules.yaml");
    let extra_text = std::fs::read_to_string(ws.join("extra_rules.yaml")).unwrap();
    c.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": extra, "languageId": "yaml", "version": 1, "text": extra_text } }),
    );
    let lenses = c.request(
        "textDocument/codeLens",
        json!({ "textDocument": { "uri": extra } }),
    );
    let mut counts = Vec::new();
    for l in lenses.as_array().unwrap() {
        if l["command"]["command"] != "lanner.evaluateCapture" {
            continue;
        }
        let r = c.request(
            "workspace/executeCommand",
            json!({ "command": "lanner.evaluateCapture", "arguments": l["command"]["arguments"] }),
        );
        counts.push((
            r["rule"].as_str().unwrap().to_owned(),
            r["alerts"].as_u64().unwrap(),
        ));
    }
    eprintln!("evaluate: {counts:?}");
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert_eq!(counts[0].0, "loader cache read");
    assert_eq!(counts[0].1, 1, "{counts:?}");
    assert_eq!(counts[1], ("never".to_owned(), 0));

    c.request("shutdown", Value::Null);
    c.notify("exit", Value::Null);
    let status = c.child.wait().unwrap();
    assert!(status.success(), "rulec lsp exited with {status}");
    let _ = std::fs::remove_dir_all(&ws);
}
