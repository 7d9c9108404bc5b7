//! `rulec check FILE...`: every syntax problem of every file in one run.

use lanner_syntax::Diagnostic;
use lanner_syntax::front::{ParsedFile, check_unparenthesised_lists, parse_file};
use lanner_syntax::source::SourceDb;

/// The result of checking a set of files loaded together, in order.
pub struct CheckResult {
    pub db: SourceDb,
    pub files: Vec<ParsedFile>,
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckResult {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Checks files given as (name, text), in load order.
pub fn check_sources(sources: Vec<(String, String)>) -> CheckResult {
    let mut db = SourceDb::new();
    let ids: Vec<_> = sources
        .into_iter()
        .map(|(name, text)| db.add(name, text))
        .collect();
    let mut files = Vec::new();
    let mut diagnostics = Vec::new();
    for id in ids {
        let text = db.get(id).map(|f| f.text.as_str()).unwrap_or("");
        let (parsed, diags) = parse_file(id, text);
        files.push(parsed);
        diagnostics.extend(diags);
    }
    diagnostics.extend(check_unparenthesised_lists(&files));
    // Stable order: by file, then position, then code.
    diagnostics.sort_by(|a, b| {
        (a.primary.file, a.primary.span.start, a.code.id).cmp(&(
            b.primary.file,
            b.primary.span.start,
            b.code.id,
        ))
    });
    CheckResult {
        db,
        files,
        diagnostics,
    }
}
