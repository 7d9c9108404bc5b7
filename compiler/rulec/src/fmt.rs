//! `rulec fmt`: formats rules files in place, or (`--check`) reports the files that are not
//! formatted with a unified diff. The formatter itself is `lanner_syntax::format`.

use std::path::{Path, PathBuf};

use lanner_syntax::Diagnostic;
use lanner_syntax::format::{FormatError, format};
use lanner_syntax::source::SourceDb;

use crate::render;

/// What happened to one file.
#[derive(Debug)]
pub enum Outcome {
    /// Already formatted.
    Unchanged,
    /// Not formatted: rewritten (or, with `--check`, left alone); the diff from the file to
    /// its formatted text.
    Reformatted { diff: String },
    /// Not formatted because the file is broken; nothing was written.
    Refused { diagnostics: Vec<Diagnostic> },
    /// The file could not be read or written.
    Failed { message: String },
}

#[derive(Debug)]
pub struct FileReport {
    pub path: PathBuf,
    pub outcome: Outcome,
}

/// The result of one `rulec fmt` run. The source database holds the refused files, so that
/// their diagnostics render with their text.
pub struct Report {
    pub db: SourceDb,
    pub files: Vec<FileReport>,
    pub check: bool,
}

impl Report {
    /// 0 when everything is formatted (or was formatted now), 1 when `--check` found a file to
    /// format or a file was refused, 2 when a file could not be read or written.
    pub fn exit_code(&self) -> u8 {
        let failed = self
            .files
            .iter()
            .any(|f| matches!(f.outcome, Outcome::Failed { .. }));
        let bad = self.files.iter().any(|f| match f.outcome {
            Outcome::Refused { .. } => true,
            Outcome::Reformatted { .. } => self.check,
            _ => false,
        });
        if failed { 2 } else { u8::from(bad) }
    }
}

/// Formats `paths` (in place unless `check`).
pub fn run(paths: &[PathBuf], check: bool) -> Report {
    let mut db = SourceDb::new();
    let files = paths
        .iter()
        .map(|p| FileReport {
            path: p.clone(),
            outcome: one(&mut db, p, check),
        })
        .collect();
    Report { db, files, check }
}

fn one(db: &mut SourceDb, path: &Path, check: bool) -> Outcome {
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                return Outcome::Failed {
                    message: format!(
                        "`{}` is not UTF-8 text (invalid byte at offset {})",
                        path.display(),
                        e.utf8_error().valid_up_to()
                    ),
                };
            }
        },
        Err(e) => {
            return Outcome::Failed {
                message: format!("cannot read `{}`: {e}", path.display()),
            };
        }
    };
    let name = path.display().to_string();
    let (outcome, out) = text_outcome(db, &name, text);
    if let (Outcome::Reformatted { .. }, Some(out), false) = (&outcome, out, check)
        && let Err(e) = std::fs::write(path, out)
    {
        return Outcome::Failed {
            message: format!("cannot write `{}`: {e}", path.display()),
        };
    }
    outcome
}

/// Formats one text named `name`; the outcome, and the formatted text unless refused.
fn text_outcome(db: &mut SourceDb, name: &str, text: String) -> (Outcome, Option<String>) {
    match format(&text) {
        Ok(out) if out == text => (Outcome::Unchanged, Some(out)),
        Ok(out) => {
            let diff = similar::TextDiff::from_lines(&text, &out)
                .unified_diff()
                .context_radius(3)
                .header(name, name)
                .to_string();
            (Outcome::Reformatted { diff }, Some(out))
        }
        Err(e @ (FormatError::Syntax(_) | FormatError::Unstable(_))) => {
            let id = db.add(name, text);
            let diagnostics = e.diagnostics_in(id);
            (Outcome::Refused { diagnostics }, None)
        }
    }
}

/// Formats standard input (`rulec fmt -`): the report, and the formatted text to print (none
/// with `--check`, or when the input was refused).
pub fn run_stdin(text: String, check: bool) -> (Report, Option<String>) {
    let mut db = SourceDb::new();
    let (outcome, out) = text_outcome(&mut db, "<stdin>", text);
    let report = Report {
        db,
        files: vec![FileReport {
            path: PathBuf::from("<stdin>"),
            outcome,
        }],
        check,
    };
    (report, if check { None } else { out })
}

/// The human rendering: diffs (with `--check`) on stdout, diagnostics and a summary line for
/// stderr.
pub fn human(report: &Report) -> (String, String) {
    let mut out = String::new();
    let mut err = String::new();
    let (mut changed, mut unchanged, mut refused) = (0, 0, 0);
    for f in &report.files {
        match &f.outcome {
            Outcome::Unchanged => unchanged += 1,
            Outcome::Reformatted { diff } => {
                changed += 1;
                if report.check {
                    out.push_str(diff);
                }
            }
            Outcome::Refused { diagnostics } => {
                refused += 1;
                err.push_str(&render::human_plain(&report.db, diagnostics));
                err.push_str(&format!(
                    "error: `{}` was not formatted\n",
                    f.path.display()
                ));
            }
            Outcome::Failed { message } => {
                refused += 1;
                err.push_str(&format!("error: {message}\n"));
            }
        }
    }
    let verb = if report.check {
        "would reformat"
    } else {
        "reformatted"
    };
    err.push_str(&format!(
        "{verb} {changed} file(s), {unchanged} already formatted, {refused} not formatted\n"
    ));
    (out, err)
}

/// The JSON rendering: one entry per file with its status, diff and diagnostics.
pub fn json(report: &Report) -> serde_json::Value {
    let files: Vec<_> = report
        .files
        .iter()
        .map(|f| {
            let path = f.path.display().to_string();
            match &f.outcome {
                Outcome::Unchanged => serde_json::json!({"path": path, "status": "formatted"}),
                Outcome::Reformatted { diff } => serde_json::json!({
                    "path": path,
                    "status": if report.check { "unformatted" } else { "reformatted" },
                    "diff": diff,
                }),
                Outcome::Refused { diagnostics } => serde_json::json!({
                    "path": path,
                    "status": "refused",
                    "diagnostics": diagnostics
                        .iter()
                        .map(|d| render::json_value(&report.db, d))
                        .collect::<Vec<_>>(),
                }),
                Outcome::Failed { message } => serde_json::json!({
                    "path": path, "status": "failed", "message": message,
                }),
            }
        })
        .collect();
    serde_json::json!({ "files": files })
}
