//! Code lenses from the rule tests: "N tests, M% covered" on every rule that `*.test.yaml`
//! cases of the workspace exercise, with a command that runs them.
//!
//! The test runner links the runtime (state engine, interpreter), which the language server
//! must not, so the server runs the `rulec` binary (`rulec test --format json`) as a
//! subprocess and reads its JSON report. Tests run on the files on disk, so the report is
//! cached until a file is saved or changes on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lanner_syntax::rules::ItemKind;
use lanner_syntax::span::FileId;
use serde_json::Value;
use tower_lsp_server::ls_types::{CodeLens, Command};

use crate::ctx::Ctx;

/// The command a lens runs; also advertised in `executeCommandProvider`.
pub const RUN_TESTS: &str = "lanner.runTests";
/// Replays a capture through the workspace's rules (rule test runner, no kernel) and counts
/// one rule's alerts.
pub const EVALUATE: &str = "lanner.evaluateCapture";
/// Longer than any test file of the repository takes, short enough not to hang an editor.
const TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum LensError {
    #[error("cannot run `{0}`: {1}")]
    Spawn(String, std::io::Error),
    #[error("`rulec test` took longer than {0:?}")]
    Timeout(Duration),
    #[error("`rulec test` printed no JSON report: {0}")]
    Report(String),
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RuleTests {
    pub cases: usize,
    pub failed: usize,
    pub coverage: Option<f64>,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct TestSummary {
    pub files: Vec<PathBuf>,
    pub rules: BTreeMap<String, RuleTests>,
}

/// The `*.test.yaml` files under `root`, sorted.
pub fn test_files(root: &Path) -> Vec<PathBuf> {
    files_ending(root, ".test.yaml")
}

/// The scap captures under `root`, sorted: the captures "evaluate" lenses offer.
pub fn captures(root: &Path) -> Vec<PathBuf> {
    files_ending(root, ".scap")
}

fn files_ending(root: &Path, suffix: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: usize, suffix: &str, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if p.is_dir() {
                if depth < 8 && !name.starts_with('.') && name != "target" && name != "node_modules"
                {
                    walk(&p, depth + 1, suffix, out);
                }
            } else if name.ends_with(suffix) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, 0, suffix, &mut out);
    out
}

async fn run_json(rulec: &Path, files: &[PathBuf]) -> Result<Value, LensError> {
    let mut cmd = tokio::process::Command::new(rulec);
    cmd.arg("test").arg("--format").arg("json").args(files);
    cmd.kill_on_drop(true);
    let out = tokio::time::timeout(TIMEOUT, cmd.output())
        .await
        .map_err(|_| LensError::Timeout(TIMEOUT))?
        .map_err(|e| LensError::Spawn(rulec.display().to_string(), e))?;
    // Exit status 1 means a failing case or rule problems; the report is still printed.
    serde_json::from_slice(&out.stdout).map_err(|e| {
        LensError::Report(format!(
            "{e}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
        ))
    })
}

fn yaml_str(p: &Path) -> String {
    format!(
        "\"{}\"",
        p.display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
    )
}

/// Replays `capture` through `rules` (in load order) with a one-case test file that accepts
/// any alert, and counts the alerts of `rule`.
pub async fn evaluate(
    rulec: &Path,
    rules: &[PathBuf],
    capture: &Path,
    rule: &str,
) -> Result<usize, LensError> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let file = std::env::temp_dir().join(format!(
        "lanner-evaluate-{}-{n}.test.yaml",
        std::process::id()
    ));
    let rules: Vec<String> = rules.iter().map(|p| yaml_str(p)).collect();
    let text = format!(
        "rules: [{}]\ncases:\n  - name: evaluate\n    capture: {}\n    other_rules: true\n",
        rules.join(", "),
        yaml_str(capture)
    );
    std::fs::write(&file, text).map_err(|e| LensError::Spawn(file.display().to_string(), e))?;
    let report = run_json(rulec, std::slice::from_ref(&file)).await;
    let _ = std::fs::remove_file(&file);
    let report = report?;
    Ok(report
        .get("cases")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
        .flat_map(|c| {
            c.get("alerts")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
        })
        .filter(|a| a.get("rule").and_then(|r| r.as_str()) == Some(rule))
        .count())
}

/// Runs `rulec test --format json` on `files` and reads the report.
pub async fn run(rulec: &Path, files: &[PathBuf]) -> Result<TestSummary, LensError> {
    Ok(summarize(files, &run_json(rulec, files).await?))
}

pub fn summarize(files: &[PathBuf], report: &Value) -> TestSummary {
    let mut rules: BTreeMap<String, RuleTests> = BTreeMap::new();
    let cases = report.get("cases").and_then(|c| c.as_array());
    for case in cases.into_iter().flatten() {
        let failed = case.get("status").and_then(|s| s.as_str()) != Some("pass");
        let mut fired: Vec<&str> = case
            .get("alerts")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("rule").and_then(|r| r.as_str()))
            .collect();
        fired.sort_unstable();
        fired.dedup();
        for r in fired {
            let e = rules.entry(r.to_owned()).or_default();
            e.cases += 1;
            e.failed += usize::from(failed);
        }
    }
    let coverage = report
        .get("coverage")
        .and_then(|c| c.get("rules"))
        .and_then(|r| r.as_object());
    for (rule, pct) in coverage.into_iter().flatten() {
        if let Some(p) = pct.as_f64()
            && (p > 0.0 || rules.contains_key(rule))
        {
            rules.entry(rule.clone()).or_default().coverage = Some(p);
        }
    }
    TestSummary {
        files: files.to_vec(),
        rules,
    }
}

pub fn title(t: &RuleTests) -> String {
    let tests = if t.cases == 1 { "1 test" } else { "" }.to_owned();
    let tests = if tests.is_empty() {
        format!("{} tests", t.cases)
    } else {
        tests
    };
    let failed = if t.failed > 0 {
        format!(" ({} failing)", t.failed)
    } else {
        String::new()
    };
    match t.coverage {
        Some(c) => format!("{tests}{failed}, {c:.0}% covered"),
        None => format!("{tests}{failed}"),
    }
}

pub fn lenses(
    cx: &Ctx<'_>,
    file: FileId,
    summary: &TestSummary,
    capture: Option<&Path>,
) -> Vec<CodeLens> {
    let files: Vec<Value> = summary
        .files
        .iter()
        .map(|p| Value::String(p.display().to_string()))
        .collect();
    let mut out = Vec::new();
    for item in cx.a.items(file) {
        let ItemKind::Rule(r) = &item.kind else {
            continue;
        };
        let range = cx.range(file, r.name.span_of(0, r.name.value.len()));
        if let Some(t) = summary.rules.get(&r.name.value) {
            let mut args = vec![Value::String(r.name.value.clone())];
            args.extend(files.iter().cloned());
            out.push(CodeLens {
                range,
                command: Some(Command {
                    title: title(t),
                    command: RUN_TESTS.to_owned(),
                    arguments: Some(args),
                }),
                data: None,
            });
        }
        // Rules that only change an earlier one (override, enabled) evaluate as that one.
        if let Some(c) = capture.filter(|_| r.condition.is_some()) {
            let name = c
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            out.push(CodeLens {
                range,
                command: Some(Command {
                    title: format!("evaluate on {name}"),
                    command: EVALUATE.to_owned(),
                    arguments: Some(vec![
                        Value::String(r.name.value.clone()),
                        Value::String(c.display().to_string()),
                    ]),
                }),
                data: None,
            });
        }
    }
    out
}
