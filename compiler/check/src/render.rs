//! Rendering diagnostics at the edge: codespan-reporting for people, JSON and SARIF for tools.

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term;
use lanner_syntax::source::SourceDb;
use lanner_syntax::span::FileId;
use lanner_syntax::{Diagnostic, Severity};
use std::ops::Range;

/// Adapts [`SourceDb`] to codespan's `Files`.
pub struct DbFiles<'a>(pub &'a SourceDb);

impl<'a> Files<'a> for DbFiles<'a> {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.0
            .get(id)
            .map(|f| f.name.as_str())
            .ok_or(FilesError::FileMissing)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.0
            .get(id)
            .map(|f| f.text.as_str())
            .ok_or(FilesError::FileMissing)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        let f = self.0.get(id).ok_or(FilesError::FileMissing)?;
        Ok(f.lines.line_of(byte_index))
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, FilesError> {
        let f = self.0.get(id).ok_or(FilesError::FileMissing)?;
        let start = f.lines.line_start(line_index);
        let end = f.lines.line_start(line_index + 1);
        if start > f.text.len() {
            return Err(FilesError::LineTooLarge {
                given: line_index,
                max: f.lines.line_of(f.text.len()),
            });
        }
        Ok(start..end.max(start))
    }
}

fn clamp(db: &SourceDb, id: FileId, r: Range<usize>) -> Range<usize> {
    // Spans always come from the file's own text, but a renderer must not panic on a bad one.
    let Some(f) = db.get(id) else { return 0..0 };
    let s = lanner_syntax::span::floor_char_boundary(&f.text, r.start);
    let e = lanner_syntax::span::floor_char_boundary(&f.text, r.end).max(s);
    s..e
}

pub fn to_codespan(db: &SourceDb, d: &Diagnostic) -> cs::Diagnostic<FileId> {
    let severity = match d.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
        Severity::Note => cs::Severity::Note,
    };
    let mut labels = vec![
        cs::Label::primary(
            d.primary.file,
            clamp(db, d.primary.file, d.primary.span.range()),
        )
        .with_message(d.label.clone()),
    ];
    for l in &d.secondary {
        labels.push(
            cs::Label::secondary(l.span.file, clamp(db, l.span.file, l.span.span.range()))
                .with_message(l.message.clone()),
        );
    }
    let mut notes = Vec::new();
    if let Some(item) = &d.item {
        notes.push(format!("in `{item}`"));
    }
    if let Some(help) = &d.help {
        notes.push(format!("help: {help}"));
    }
    notes.extend(d.notes.iter().cloned());
    if let Some(falco) = d.code.falco {
        notes.push(format!("falco: {falco}"));
    }
    cs::Diagnostic::new(severity)
        .with_message(d.message.clone())
        .with_code(d.code.id)
        .with_labels(labels)
        .with_notes(notes)
}

/// Renders diagnostics as text without colour (for snapshots and pipes).
pub fn human_plain(db: &SourceDb, diags: &[Diagnostic]) -> String {
    let config = term::Config::default();
    let files = DbFiles(db);
    let mut out = String::new();
    for d in diags {
        match term::emit_into_string(&config, &files, &to_codespan(db, d)) {
            Ok(s) => out.push_str(&s),
            Err(e) => out.push_str(&format!("error: cannot render a diagnostic: {e}\n")),
        }
    }
    out
}

/// Renders diagnostics to stderr, in colour when it is a terminal.
pub fn human_stderr(db: &SourceDb, diags: &[Diagnostic], color: bool) {
    use term::termcolor::{ColorChoice, StandardStream};
    let choice = if color {
        ColorChoice::Auto
    } else {
        ColorChoice::Never
    };
    let mut stream = StandardStream::stderr(choice);
    let config = term::Config::default();
    let files = DbFiles(db);
    for d in diags {
        if let Err(e) = term::emit_to_write_style(&mut stream, &config, &files, &to_codespan(db, d))
        {
            eprintln!("error: cannot render a diagnostic: {e}");
        }
    }
}

fn position(db: &SourceDb, id: FileId, offset: usize) -> (String, usize, usize) {
    match db.get(id) {
        Some(f) => {
            let lc = f.lines.line_col(&f.text, offset);
            (f.name.clone(), lc.line, lc.column)
        }
        None => (String::new(), 0, 0),
    }
}

/// One diagnostic as the JSON contract of `rulec check --format json`.
pub fn json_value(db: &SourceDb, d: &Diagnostic) -> serde_json::Value {
    let (file, line, column) = position(db, d.primary.file, d.primary.span.start as usize);
    let (_, end_line, end_column) = position(db, d.primary.file, d.primary.span.end as usize);
    let mut v = serde_json::json!({
        "code": d.code.id,
        "name": d.code.name,
        "severity": d.severity.as_str(),
        "message": d.message,
        "file": file,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
    });
    if let Some(obj) = v.as_object_mut() {
        if !d.label.is_empty() {
            obj.insert("label".into(), d.label.clone().into());
        }
        if let Some(help) = &d.help {
            obj.insert("help".into(), help.clone().into());
        }
        if let Some(item) = &d.item {
            obj.insert("rule".into(), item.clone().into());
        }
        if let Some(falco) = d.code.falco {
            obj.insert("falco_code".into(), falco.into());
        }
        if let Some(fix) = &d.fix {
            let (_, l, c) = position(db, fix.span.file, fix.span.span.start as usize);
            let (_, el, ec) = position(db, fix.span.file, fix.span.span.end as usize);
            obj.insert(
                "fix".into(),
                serde_json::json!({
                    "replacement": fix.replacement,
                    "line": l, "column": c, "end_line": el, "end_column": ec,
                }),
            );
        }
    }
    v
}

pub fn json(db: &SourceDb, diags: &[Diagnostic]) -> String {
    let list: Vec<_> = diags.iter().map(|d| json_value(db, d)).collect();
    let v = serde_json::json!({ "diagnostics": list });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// SARIF 2.1.0, for code scanning in pull requests.
pub fn sarif(db: &SourceDb, diags: &[Diagnostic]) -> String {
    let mut rules: Vec<serde_json::Value> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for d in diags {
        if seen.insert(d.code.id) {
            rules.push(serde_json::json!({
                "id": d.code.id,
                "name": d.code.name,
                "shortDescription": { "text": d.code.summary },
            }));
        }
    }
    let results: Vec<_> = diags
        .iter()
        .map(|d| {
            let (file, line, column) = position(db, d.primary.file, d.primary.span.start as usize);
            let (_, end_line, end_column) =
                position(db, d.primary.file, d.primary.span.end as usize);
            let mut text = d.message.clone();
            if let Some(h) = &d.help {
                text.push_str(&format!("\nhelp: {h}"));
            }
            serde_json::json!({
                "ruleId": d.code.id,
                "level": match d.severity { Severity::Error => "error", Severity::Warning => "warning", Severity::Note => "note" },
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": file },
                        "region": {
                            "startLine": line, "startColumn": column,
                            "endLine": end_line, "endColumn": end_column,
                        }
                    }
                }],
            })
        })
        .collect();
    let v = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "rulec", "informationUri": "https://github.com/lanner", "rules": rules } },
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}
