//! The whole check of a set of rules files loaded together: front end, resolution, types.
//! `rulec check`, `rulec explain`, the tests and (later) the language server call this.

use lanner_syntax::Diagnostic;
use lanner_syntax::front::{ParsedFile, check_unparenthesised_lists, parse_file};
use lanner_syntax::source::SourceDb;
use lanner_syntax::span::FileId;

use crate::evttypes::{self, EventSet};
use crate::resolve::{Resolved, resolve};
use crate::typeck::{self, TExpr};
use lanner_program::Program;

/// A rule's typed condition and event types, parallel to `Resolved::rules`.
#[derive(Clone, Debug)]
pub struct TypedRule {
    /// `None` when the condition did not parse or did not type-check.
    pub condition: Option<TExpr>,
    /// The event types the rule can match (all events when unknown).
    pub event_types: EventSet,
}

/// The diagnostics of rules that did not compile, with the sources they point into.
pub struct Diagnostics {
    pub db: SourceDb,
    /// Errors first is not implied: every diagnostic, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Diagnostics {
    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}

/// The one entry point from rules text to the program every backend runs: files given as
/// (name, text), in load order. Fails with every diagnostic when any is an error.
pub fn compile(sources: Vec<(String, String)>) -> Result<Program, Diagnostics> {
    let checked = check_sources(sources);
    if checked.has_errors() {
        return Err(Diagnostics {
            db: checked.db,
            diagnostics: checked.diagnostics,
        });
    }
    Ok(checked.program)
}

pub struct Checked {
    pub db: SourceDb,
    pub files: Vec<ParsedFile>,
    pub resolved: Resolved,
    pub typed: Vec<TypedRule>,
    /// The compiled rules: every rule's typed condition in one DAG with shared
    /// subexpressions, one program rule per resolved rule.
    pub program: Program,
    /// Every diagnostic, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Checks files given as (name, text), in load order.
pub fn check_sources(sources: Vec<(String, String)>) -> Checked {
    check_sources_with(sources, &mut parse_file)
}

/// The front end of one file: what [`parse_file`] returns for a file id and its text.
pub type FrontEnd<'a> = dyn FnMut(FileId, &str) -> (ParsedFile, Vec<Diagnostic>) + 'a;

/// Like [`check_sources`], with each file's front end supplied by `front_end`, which must
/// answer what [`parse_file`] would: the language server reuses the parse of files that did
/// not change since the previous edit.
pub fn check_sources_with(sources: Vec<(String, String)>, front_end: &mut FrontEnd<'_>) -> Checked {
    let mut db = SourceDb::new();
    let ids: Vec<_> = sources
        .into_iter()
        .map(|(name, text)| db.add(name, text))
        .collect();
    let mut files = Vec::new();
    let mut front = Vec::new();
    for id in ids {
        let text = db.get(id).map(|f| f.text.as_str()).unwrap_or("");
        let (parsed, diags) = front_end(id, text);
        files.push(parsed);
        front.extend(diags);
    }
    let list_diags = check_unparenthesised_lists(&files);
    let rules_files: Vec<_> = files.iter().map(|f| &f.rules).collect();
    let (mut resolved, mut resolve_diags) = resolve(&rules_files);
    resolve_diags.extend(unused_before_later_files(
        &rules_files,
        &resolved,
        &resolve_diags,
        true,
    ));
    crate::fields::check_exception_fields(&rules_files, &mut resolve_diags);
    crate::fields::check_plugin_requirements(&rules_files, &mut resolve_diags);
    let mut typed = Vec::with_capacity(resolved.rules.len());
    let mut skipped = std::collections::HashSet::new();
    for rule in &mut resolved.rules {
        let mut output_diags = Vec::new();
        crate::fields::check_output(rule, &mut output_diags);
        let mut condition_diags = Vec::new();
        let mut t = type_rule(rule, &mut condition_diags);
        if rule.skip_if_unknown_filter
            && let Some(why) = unknown_filter(rule, &front, &output_diags, &condition_diags)
        {
            // Falco skips the rule at its first such error, so none of its errors stand.
            resolve_diags.push(why);
            output_diags.retain(|d| !d.is_error());
            condition_diags.retain(|d| !d.is_error());
            t.condition = None;
            rule.enabled = false;
            skipped.insert(rule.name.clone());
        }
        resolve_diags.extend(output_diags);
        resolve_diags.extend(condition_diags);
        if let Some(condition) = &t.condition {
            crate::fields::check_extracted(rule, condition, &mut resolve_diags);
        }
        typed.push(t);
    }
    let front: Vec<Diagnostic> = front
        .into_iter()
        .filter(|d| {
            !(d.code == lanner_syntax::codes::INVALID_OUTPUT
                && d.item.as_ref().is_some_and(|i| skipped.contains(i)))
        })
        .collect();
    let program = match crate::program::build(&resolved.rules, &typed) {
        Ok(p) => p,
        Err(e) => {
            let at = resolved
                .rules
                .first()
                .map(|r| r.name_span)
                .unwrap_or_else(|| {
                    lanner_syntax::FileSpan::new(lanner_syntax::FileId(0), Default::default())
                });
            resolve_diags.push(
                Diagnostic::new(
                    lanner_syntax::codes::INTERNAL_ERROR,
                    at,
                    format!("internal error: the compiled program is invalid: {e}"),
                )
                .with_label("while compiling these rules")
                .with_help("this is a bug in Lanner; please report it with the rules files"),
            );
            Program::empty(u16::try_from(EventSet::all().len()).unwrap_or(u16::MAX))
        }
    };
    crate::lints::run(&files, &resolved, &typed, &program, &mut resolve_diags);
    // Conditions are parsed again after list substitution, which is what Falco parses; the
    // front end's syntax errors of those conditions would be duplicates (or wrong, where only
    // substitution makes the text valid). Items the resolver did not compile keep them.
    let compiled: std::collections::HashSet<&str> = resolved
        .macros
        .iter()
        .map(|m| m.name.as_str())
        .chain(resolved.rules.iter().map(|r| r.name.as_str()))
        .collect();
    let mut diagnostics: Vec<Diagnostic> = front
        .into_iter()
        .filter(|d| {
            let condition_syntax =
                d.code.id.starts_with("L1") && d.code != lanner_syntax::codes::INVALID_OUTPUT;
            !(condition_syntax && d.item.as_deref().is_some_and(|i| compiled.contains(i)))
        })
        .collect();
    // A list used without parentheses also breaks the substituted text; the precise
    // diagnostic already says so, so the resulting parse errors of that item are dropped.
    let noisy: Vec<Option<String>> = list_diags.iter().map(|d| d.item.clone()).collect();
    diagnostics.extend(list_diags);
    diagnostics.extend(
        resolve_diags
            .into_iter()
            .filter(|d| !(d.code.id.starts_with("L1") && noisy.contains(&d.item))),
    );
    diagnostics.sort_by(|a, b| {
        (a.primary.file, a.primary.span.start, a.code.id).cmp(&(
            b.primary.file,
            b.primary.span.start,
            b.code.id,
        ))
    });
    // A problem inside a macro shows up once per rule that uses it; report it once.
    let mut seen = std::collections::HashSet::new();
    diagnostics.retain(|d| seen.insert((d.code.id, d.primary, d.message.clone())));
    // An exception field that is not a field is a resolution error (Falco: LOAD_ERR_VALIDATE);
    // the condition built from it then fails the type check at the same place. Keep the first.
    let resolution_errors: std::collections::HashSet<_> = diagnostics
        .iter()
        .filter(|d| d.is_error() && d.code.id.starts_with("L2"))
        .map(|d| d.primary)
        .collect();
    diagnostics
        .retain(|d| !(d.code.id.starts_with("L3") && resolution_errors.contains(&d.primary)));
    Checked {
        db,
        files,
        resolved,
        typed,
        program,
        diagnostics,
    }
}

/// Falco compiles after each file it loads, and reports each compile's unused macros and lists
/// with that file. A macro that a later file appends to and breaks (or whose later append fails
/// to resolve) is thus reported unused by the earlier file's compile, though the final load has
/// only the error. Lanner reports it too: for each proper prefix of the files that resolves
/// without errors, its unused macros and lists that are still unused at the end and not already
/// reported. (Items a later file uses are not reported, unlike Falco: that warning is noise.)
fn unused_before_later_files(
    files: &[&lanner_syntax::rules::RulesFile],
    resolved: &Resolved,
    diags: &[Diagnostic],
    prune: bool,
) -> Vec<Diagnostic> {
    use lanner_syntax::codes::{UNUSED_LIST, UNUSED_MACRO};
    let still_unused = |d: &Diagnostic| {
        let name = d.item.as_deref().unwrap_or_default();
        if d.code == UNUSED_MACRO {
            resolved.macros.iter().any(|m| m.name == name && !m.used)
        } else {
            resolved.lists.iter().any(|l| l.name == name && !l.used)
        }
    };
    let mut reported: std::collections::HashSet<_> = diags
        .iter()
        .filter(|d| d.code == UNUSED_MACRO || d.code == UNUSED_LIST)
        .map(|d| (d.code.id, d.primary))
        .collect();
    // A prefix reports an item at its first definition, which is where the whole load reports
    // it too; so only an item still unused at the end but not reported there (a macro that a
    // later append breaks) can come out of the prefixes. Without one, the prefix resolves are
    // skipped: they cost a quarter of a check.
    // INVARIANT: the skip changes no diagnostic (`tests::pruned_prefixes_report_the_same`).
    let candidate = resolved
        .macros
        .iter()
        .filter(|m| !m.used)
        .any(|m| !reported.contains(&(UNUSED_MACRO.id, m.name_span)))
        || resolved
            .lists
            .iter()
            .filter(|l| !l.used)
            .any(|l| !reported.contains(&(UNUSED_LIST.id, l.name_span)));
    let mut out = Vec::new();
    if prune && !candidate {
        return out;
    }
    for end in 1..files.len() {
        let (_, prefix_diags) = resolve(files.get(..end).unwrap_or_default());
        if prefix_diags.iter().any(Diagnostic::is_error) {
            continue;
        }
        for d in prefix_diags {
            if (d.code == UNUSED_MACRO || d.code == UNUSED_LIST)
                && still_unused(&d)
                && reported.insert((d.code.id, d.primary))
            {
                out.push(d);
            }
        }
    }
    out
}

/// Whether a rule with `skip-if-unknown-filter: true` is skipped, and the warning saying so.
/// Falco skips such a rule when compiling it fails because of an unknown field or event type
/// or an output token that is not a field, and rejects it for any other error. It checks the
/// output before the condition, and a condition's fields in reading order; the first error
/// decides. Fields that come from macros count, as Falco compiles a rule with its macros
/// expanded. (The key is not allowed on lists and macros: there it is an unknown key.)
fn unknown_filter(
    rule: &crate::resolve::ResolvedRule,
    front: &[Diagnostic],
    output: &[Diagnostic],
    condition: &[Diagnostic],
) -> Option<Diagnostic> {
    use lanner_syntax::codes;
    let first = |ds: &mut dyn Iterator<Item = &Diagnostic>| {
        ds.filter(|d| d.is_error())
            .min_by_key(|d| (d.primary.file, d.primary.span.start))
            .cloned()
    };
    let output_error = first(
        &mut front
            .iter()
            .filter(|d| {
                d.code == codes::INVALID_OUTPUT && d.item.as_deref() == Some(rule.name.as_str())
            })
            .chain(output),
    );
    let decisive = match output_error {
        Some(d) => d,
        None => first(&mut condition.iter())?,
    };
    let unknown = [
        codes::INVALID_OUTPUT,
        codes::UNKNOWN_OUTPUT_FIELD,
        codes::UNKNOWN_FIELD,
        codes::UNKNOWN_EVENT_TYPE,
    ];
    if !unknown.contains(&decisive.code) {
        return None;
    }
    Some(
        Diagnostic::new(
            codes::UNKNOWN_FILTER_SKIPPED,
            decisive.primary,
            format!("rule `{}` is skipped: {}", rule.name, decisive.message),
        )
        .with_label(if decisive.label.is_empty() {
            "unknown".to_string()
        } else {
            decisive.label.clone()
        })
        .with_note("the rule has `skip-if-unknown-filter: true`, so this is not an error")
        .with_item(rule.name.clone()),
    )
}

fn has_holes(e: &TExpr) -> bool {
    match e {
        TExpr::And(c, _) | TExpr::Or(c, _) => c.iter().any(has_holes),
        TExpr::Not(inner, _) => has_holes(inner),
        TExpr::Check(_) => false,
        TExpr::Unknown(_) => true,
    }
}

fn type_rule(rule: &crate::resolve::ResolvedRule, diags: &mut Vec<Diagnostic>) -> TypedRule {
    let Some(cond) = &rule.condition else {
        return TypedRule {
            condition: None,
            event_types: EventSet::all(),
        };
    };
    let checked = typeck::check(cond);
    let failed = checked.has_errors();
    let tag = |mut d: Diagnostic| {
        if d.item.is_none() {
            d.item = Some(rule.name.clone());
        }
        d
    };
    diags.extend(checked.diagnostics.into_iter().map(tag));
    let (event_types, ev_diags) = evttypes::compute(&checked.expr);
    let index_failed = ev_diags.iter().any(Diagnostic::is_error);
    diags.extend(ev_diags.into_iter().map(tag));
    // A rule with a hole (an undefined macro, a broken part) has its error already; its event
    // types are unknown, not "too many".
    if !failed
        && !index_failed
        && !has_holes(&checked.expr)
        && rule.source == "syscall"
        && rule.warn_evttypes
        && evttypes::matches_too_many(&event_types)
    {
        diags.push(
            Diagnostic::new(
                lanner_syntax::codes::NO_EVTTYPE,
                rule.name_span,
                format!(
                    "rule `{}` matches {} event types, so it runs on almost every event",
                    rule.name,
                    event_types.len()
                ),
            )
            .with_label("this rule has no event-type restriction")
            .with_help("add a check such as `evt.type in (open, openat)`, or set `warn_evttypes: false` if the rule must see every event")
            .with_item(rule.name.clone()),
        );
    }
    TypedRule {
        condition: (!failed).then_some(checked.expr),
        event_types,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// Every folder fixture of the loader cases, and the upstream files with the stdlib.
    fn workspaces() -> Vec<Vec<(String, String)>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |p: &std::path::Path| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(p).unwrap())
        };
        let mut out = Vec::new();
        for e in std::fs::read_dir(root.join("tests/fixtures/loader")).unwrap() {
            let dir = e.unwrap().path();
            if !dir.is_dir() {
                continue;
            }
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|f| f.unwrap().path())
                .collect();
            files.sort();
            out.push(files.iter().map(|p| read(p)).collect());
        }
        let upstream = lanner_testkit::shared().join("upstream-rules");
        let mut ws: Vec<_> = [
            "falco_rules.yaml",
            "falco-incubating_rules.yaml",
            "falco-sandbox_rules.yaml",
        ]
        .iter()
        .map(|n| read(&upstream.join(n)))
        .collect();
        ws.push(read(&root.join("../../stdlib-rules/lanner_rules.yaml")));
        out.push(ws);
        out
    }

    #[test]
    fn pruned_prefixes_report_the_same() {
        let cases = workspaces();
        assert!(cases.len() > 3, "the fixtures are found");
        let mut reported = 0;
        for sources in cases {
            let checked = check_sources(sources);
            let files: Vec<_> = checked.files.iter().map(|f| &f.rules).collect();
            let (resolved, diags) = resolve(&files);
            let pruned = unused_before_later_files(&files, &resolved, &diags, true);
            let full = unused_before_later_files(&files, &resolved, &diags, false);
            assert_eq!(pruned, full);
            reported += full.len();
        }
        // The broken-by-a-later-append fixture makes the comparison meaningful.
        assert!(
            reported > 0,
            "some case reports an unused item from a prefix"
        );
    }
}
