//! Navigation over the occurrence index: definition, references, rename, document highlight,
//! document and workspace symbols, folding ranges.

use std::collections::HashMap;

use lanner_syntax::rules::ItemKind;
use lanner_syntax::span::{FileId, FileSpan};
use tower_lsp_server::ls_types::{
    DocumentHighlight, DocumentHighlightKind, DocumentSymbol, FoldingRange, FoldingRangeKind,
    Location, OneOf, Range, SymbolKind, TextEdit, Uri, WorkspaceEdit, WorkspaceSymbol,
};

use crate::analysis::{Occurrence, Role, SymKind, item_name};
use crate::ctx::Ctx;

fn related<'a>(cx: &'a Ctx<'_>, o: &'a Occurrence) -> impl Iterator<Item = &'a Occurrence> + 'a {
    cx.a.occurrences_of(o.kind, &o.name)
}

fn loc(cx: &Ctx<'_>, o: &Occurrence) -> Option<Location> {
    cx.location(FileSpan::new(o.file, o.span))
}

/// The definitions of the name under the cursor: the first item of that name in load order
/// and any later redefinition that replaces it.
pub fn definition(cx: &Ctx<'_>, file: FileId, offset: usize) -> Vec<Location> {
    let Some(o) = cx.a.occurrence_at(file, offset) else {
        return Vec::new();
    };
    related(cx, o)
        .filter(|x| x.role == Role::Definition)
        .filter_map(|x| loc(cx, x))
        .collect()
}

/// Every occurrence: definitions, appends and overrides, uses in conditions and in lists.
pub fn references(cx: &Ctx<'_>, file: FileId, offset: usize, include_decl: bool) -> Vec<Location> {
    let Some(o) = cx.a.occurrence_at(file, offset) else {
        return Vec::new();
    };
    related(cx, o)
        .filter(|x| include_decl || x.role == Role::Use)
        .filter_map(|x| loc(cx, x))
        .collect()
}

pub fn prepare_rename(cx: &Ctx<'_>, file: FileId, offset: usize) -> Option<Range> {
    let o = cx.a.occurrence_at(file, offset)?;
    Some(cx.range(file, o.span))
}

#[derive(Debug, thiserror::Error)]
pub enum RenameError {
    #[error("nothing to rename here")]
    NoSymbol,
    #[error("`{0}` is not a valid {1} name")]
    InvalidName(String, &'static str),
}

/// Renames a list, macro or rule everywhere it occurs, across files.
pub fn rename(
    cx: &Ctx<'_>,
    file: FileId,
    offset: usize,
    new_name: &str,
) -> Result<WorkspaceEdit, RenameError> {
    let o =
        cx.a.occurrence_at(file, offset)
            .ok_or(RenameError::NoSymbol)?;
    // Lists and macros are substituted as words into condition text, so their names must be
    // words; a rule name is free text but a line break would change the YAML.
    let valid = match o.kind {
        SymKind::List | SymKind::Macro => {
            !new_name.is_empty()
                && new_name
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        }
        SymKind::Rule => !new_name.trim().is_empty() && !new_name.contains('\n'),
    };
    if !valid {
        return Err(RenameError::InvalidName(
            new_name.to_owned(),
            o.kind.as_str(),
        ));
    }
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for x in related(cx, o) {
        if let Some(l) = loc(cx, x) {
            changes
                .entry(l.uri)
                .or_default()
                .push(TextEdit::new(l.range, new_name.to_owned()));
        }
    }
    Ok(WorkspaceEdit {
        changes: Some(changes),
        ..WorkspaceEdit::default()
    })
}

pub fn highlight(cx: &Ctx<'_>, file: FileId, offset: usize) -> Vec<DocumentHighlight> {
    let Some(o) = cx.a.occurrence_at(file, offset) else {
        return Vec::new();
    };
    related(cx, o)
        .filter(|x| x.file == file)
        .map(|x| DocumentHighlight {
            range: cx.range(file, x.span),
            kind: Some(if x.role == Role::Use {
                DocumentHighlightKind::READ
            } else {
                DocumentHighlightKind::WRITE
            }),
        })
        .collect()
}

fn symbol_kind(k: SymKind) -> SymbolKind {
    match k {
        SymKind::List => SymbolKind::ARRAY,
        SymKind::Macro => SymbolKind::FUNCTION,
        SymKind::Rule => SymbolKind::EVENT,
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be named to build the struct.
pub fn document_symbols(cx: &Ctx<'_>, file: FileId) -> Vec<DocumentSymbol> {
    cx.a.items(file)
        .iter()
        .filter_map(|item| {
            let (kind, name, extends) = item_name(item)?;
            let detail = match &item.kind {
                ItemKind::Rule(r) => r.priority.as_ref().map(|p| p.node.as_str().to_owned()),
                _ => None,
            };
            let detail = if extends {
                Some(
                    format!("{} (extends)", detail.unwrap_or_default())
                        .trim()
                        .to_owned(),
                )
            } else {
                detail
            };
            Some(DocumentSymbol {
                name: if name.value.is_empty() {
                    format!("({} without a name)", kind.as_str())
                } else {
                    name.value.clone()
                },
                detail,
                kind: symbol_kind(kind),
                tags: None,
                deprecated: None,
                range: cx.range(file, item.span),
                selection_range: cx.range(file, name.span_of(0, name.value.len())),
                children: None,
            })
        })
        .collect()
}

/// Definitions whose name contains the query (case-insensitive), across the workspace.
pub fn workspace_symbols(cx: &Ctx<'_>, query: &str) -> Vec<WorkspaceSymbol> {
    let q = query.to_lowercase();
    cx.a.occurrences
        .iter()
        .filter(|o| o.role == Role::Definition && o.name.to_lowercase().contains(&q))
        .filter_map(|o| {
            Some(WorkspaceSymbol {
                name: o.name.clone(),
                kind: symbol_kind(o.kind),
                tags: None,
                container_name: cx.a.sources.get(o.file.0 as usize).map(|s| s.name.clone()),
                location: OneOf::Left(loc(cx, o)?),
                data: None,
            })
        })
        .collect()
}

/// One fold per multi-line item, and one per multi-line condition or output inside it.
pub fn folding(cx: &Ctx<'_>, file: FileId) -> Vec<FoldingRange> {
    let Some(lines) = cx.lines(file) else {
        return Vec::new();
    };
    let text = cx.a.text(file);
    let mut out = Vec::new();
    let mut fold = |start: usize, end: usize, kind: Option<FoldingRangeKind>| {
        // The span of a block ends after its last line break; fold to the line before.
        let end = text.get(..end).map_or(end, |t| t.trim_end().len());
        let (s, e) = (lines.line_of(start), lines.line_of(end));
        if e > s {
            out.push(FoldingRange {
                start_line: u32::try_from(s).unwrap_or(u32::MAX),
                start_character: None,
                end_line: u32::try_from(e).unwrap_or(u32::MAX),
                end_character: None,
                kind,
                collapsed_text: None,
            });
        }
    };
    for item in cx.a.items(file) {
        fold(
            item.span.start as usize,
            item.span.end as usize,
            Some(FoldingRangeKind::Region),
        );
        let scalars: Vec<_> = match &item.kind {
            ItemKind::Macro(m) => m.condition.iter().collect(),
            ItemKind::Rule(r) => r.condition.iter().chain(r.output.iter()).collect(),
            _ => Vec::new(),
        };
        for s in scalars {
            fold(s.span.start as usize, s.span.end as usize, None);
        }
    }
    out
}
