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
    fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
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
                    walk(&p, depth + 1, out);
                }
            } else if name.ends_with(".test.yaml") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, 0, &mut out);
    out
}

/// Runs `rulec test --format json` on `files` and reads the report.
pub async fn run(rulec: &Path, files: &[PathBuf]) -> Result<TestSummary, LensError> {
    let mut cmd = tokio::process::Command::new(rulec);
    cmd.arg("test").arg("--format").arg("json").args(files);
    cmd.kill_on_drop(true);
    let out = tokio::time::timeout(TIMEOUT, cmd.output())
        .await
        .map_err(|_| LensError::Timeout(TIMEOUT))?
        .map_err(|e| LensError::Spawn(rulec.display().to_string(), e))?;
    // Exit status 1 means a failing case or rule problems; the report is still printed.
    let report: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        LensError::Report(format!(
            "{e}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
        ))
    })?;
    Ok(summarize(files, &report))
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

pub fn lenses(cx: &Ctx<'_>, file: FileId, summary: &TestSummary) -> Vec<CodeLens> {
    let files: Vec<Value> = summary
        .files
        .iter()
        .map(|p| Value::String(p.display().to_string()))
        .collect();
    cx.a.items(file)
        .iter()
        .filter_map(|item| {
            let ItemKind::Rule(r) = &item.kind else {
                return None;
            };
            let t = summary.rules.get(&r.name.value)?;
            let mut args = vec![Value::String(r.name.value.clone())];
            args.extend(files.iter().cloned());
            Some(CodeLens {
                range: cx.range(file, r.name.span_of(0, r.name.value.len())),
                command: Some(Command {
                    title: title(t),
                    command: RUN_TESTS.to_owned(),
                    arguments: Some(args),
                }),
                data: None,
            })
        })
        .collect()
}
