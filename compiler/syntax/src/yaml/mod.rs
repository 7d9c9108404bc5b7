//! The YAML loader: rules-file text in, [`crate::rules::RulesFile`] and diagnostics out.
//!
//! Loading happens in two steps. [`tree`] turns saphyr-parser's event stream into a node tree
//! located by byte spans (and [`scan`] maps every scalar's decoded value back to the file). The
//! item reader in this module then walks that tree the way Falco's rule loader walks yaml-cpp
//! nodes, with one difference: Falco stops at the first problem, Lanner reports it and keeps
//! going, so that one broken item never hides the others.
//!
//! Diagnostics: `L001` YAML syntax (items complete before the error are kept), `L002` document
//! not a sequence, `L003` item not a mapping, `L004` unknown item, `L005` unknown key, `L006`
//! wrong shape or type, `L007` missing key (at the item's kind key), `L008` empty or null
//! value, `L009` duplicate key (the first one is used, as yaml-cpp does), `L010` invalid
//! priority, `L011` malformed `override`, `L012` invalid version, `L013` `append: true`,
//! `L014` malformed exception, `L015` deprecated `enabled`-only rule item.

mod items;
mod scan;
mod suggest;
pub mod tree;

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::rules::{Item, RulesFile};
use crate::span::{FileId, FileSpan, Span};

use tree::Node;

/// Load one rules file. Never fails: problems become diagnostics, and every well-formed item is
/// kept even when others are broken.
///
/// Items whose name (`rule:`, `macro:`, `list:` value) is missing, null or not a string are kept
/// with an empty `name.value`; an error has been reported for them.
pub fn load(file: FileId, text: &str) -> (RulesFile, Vec<Diagnostic>) {
    let parsed = tree::parse(text);
    let mut reader = items::Reader::new(file);
    let mut items: Vec<Item> = Vec::new();
    for doc in &parsed.docs {
        document(&mut reader, doc, &mut items);
    }
    // A syntax error ends the stream; the items of the broken document that were complete
    // before it are still worth checking.
    if let Some((partial, _)) = &parsed.partial {
        for node in partial {
            reader.item(node, &mut items);
        }
    }
    let mut diags = reader.into_diagnostics();
    if let Some(err) = parsed.error {
        diags.push(syntax_error(file, text, &err));
    }
    (
        RulesFile {
            file: Some(file),
            items,
        },
        diags,
    )
}

/// One YAML document: null (empty) documents are skipped, others must be sequences of items.
fn document(reader: &mut items::Reader, doc: &Node, items: &mut Vec<Item>) {
    match doc {
        Node::Seq(children, _) => {
            for child in children {
                reader.item(child, items);
            }
        }
        node if node.is_null() => {}
        node => reader.not_a_sequence(node),
    }
}

/// Every scalar of `text` (keys and values, in file order), located and mapped as [`load`] does.
///
/// Scanning stops at the first YAML syntax error. Editor features (hover, semantic tokens) and
/// the source-map tests use this to see scalars that are not part of any item.
pub fn scalars(text: &str) -> Vec<crate::scalar::Scalar> {
    let parsed = tree::parse(text);
    let mut out = Vec::new();
    for doc in &parsed.docs {
        collect_scalars(doc, &mut out);
    }
    if let Some((partial, _)) = &parsed.partial {
        for node in partial {
            collect_scalars(node, &mut out);
        }
    }
    out.sort_by_key(|s| s.span.start);
    out
}

fn collect_scalars(node: &Node, out: &mut Vec<crate::scalar::Scalar>) {
    match node {
        Node::Scalar(s) => out.push(s.scalar.clone()),
        Node::Seq(children, _) => children.iter().for_each(|c| collect_scalars(c, out)),
        Node::Map(pairs, _) => {
            for (k, v) in pairs {
                collect_scalars(k, out);
                collect_scalars(v, out);
            }
        }
    }
}

fn syntax_error(file: FileId, text: &str, err: &tree::SyntaxError) -> Diagnostic {
    let mut offset = err.offset;
    // saphyr reports a tab at the start of the token it was scanning; point at the tab itself
    // when it is near.
    if err.message.contains("tab") {
        let line_start = text
            .get(..offset)
            .and_then(|b| b.rfind('\n'))
            .map_or(0, |i| i + 1);
        let window = text.get(line_start..).unwrap_or("");
        let window_end = window
            .match_indices('\n')
            .nth(2)
            .map_or(window.len(), |(i, _)| i);
        if let Some(tab) = window.get(..window_end).and_then(|w| w.find('\t')) {
            offset = line_start + tab;
        }
    }
    // Underline the character at the error, unless it is a line break or the end of the text,
    // where an empty span reads better.
    let width = text
        .get(offset..)
        .and_then(|rest| rest.chars().next())
        .filter(|c| *c != '\n' && *c != '\r')
        .map_or(0, char::len_utf8);
    let span = Span::new(offset, offset + width);
    let mut diag = Diagnostic::new(
        codes::YAML_SYNTAX,
        FileSpan::new(file, span),
        format!("invalid yaml: {}", err.message),
    )
    .with_label("the yaml parser stopped here")
    .with_note("items after this point were not loaded");
    if err.message.contains("tab") {
        diag = diag.with_help("yaml indentation must use spaces, not tabs");
    } else if err.message.contains("mapping values are not allowed") {
        diag = diag.with_help(
            "quote a value that contains `: `, and check that the keys of one item start in the same column",
        );
    } else if err.message.starts_with("unexpected character") {
        diag = diag.with_help(
            "a value that starts with `%`, `@` or a backtick must be quoted, e.g. `output: \"%proc.name opened %fd.name\"`",
        );
    } else if err.message.contains("trailing content after") {
        diag = diag.with_help(
            "a quoted string is followed by more text; quote the whole value, or use a block scalar (`>`)",
        );
    } else if err.message.contains("quoted scalar") {
        diag = diag.with_help(
            "check that this quoted string has its closing quote and that its continuation lines are indented",
        );
    } else if err.message.contains("indentation") {
        diag = diag.with_help("check the indentation of this line");
    }
    diag
}
