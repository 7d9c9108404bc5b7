//! Hover: a field's type, argument form, description and whether Lanner's runtime extracts
//! it; a macro's or list's definition and effective value after appends and overrides; a
//! rule's event types and expanded condition.

use lanner_schema::{FieldInfo, resolve_text};
use lanner_syntax::condition::print::canonical;
use lanner_syntax::span::FileId;
use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind};

use crate::analysis::{Role, ScalarRole, SymKind, value_offset};
use crate::ctx::Ctx;
use crate::scan;

/// How many list items and event types a hover shows before "and N more".
const SHOWN: usize = 25;

pub fn hover(cx: &Ctx<'_>, file: FileId, offset: usize) -> Option<Hover> {
    if let Some(o) = cx.a.occurrence_at(file, offset) {
        let md = symbol(cx, o.kind, &o.name)?;
        return Some(markdown(md, Some(cx.range(file, o.span))));
    }
    let (_, role, s) = cx.a.scalar_at(file, offset)?;
    let toks = match role {
        ScalarRole::Condition => scan::condition(&s.value),
        ScalarRole::Output => scan::output(&s.value),
        _ => return None,
    };
    let (_, tok) = scan::at(&toks, value_offset(s, offset))?;
    let word = s.value.get(tok.start..tok.end)?;
    let resolved = resolve_text(word).ok()?;
    let md = field(resolved.field, word);
    Some(markdown(
        md,
        Some(cx.range(file, s.span_of(tok.start, tok.end))),
    ))
}

fn markdown(value: String, range: Option<tower_lsp_server::ls_types::Range>) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range,
    }
}

pub fn field(info: &FieldInfo, written: &str) -> String {
    let ty = if info.is_list {
        format!("LIST({})", info.ty)
    } else {
        info.ty.to_string()
    };
    let mut md = format!(
        "**field** `{}{}` : `{ty}`\n\n{}\n",
        info.name,
        info.arg.syntax(),
        info.description
    );
    if written != info.name {
        md.push_str(&format!("\nwritten `{written}`\n"));
    }
    if info.arg.allowed() {
        md.push_str(&format!(
            "\n- argument: {} (`{}`)",
            info.arg.presence,
            info.arg.syntax()
        ));
    }
    md.push_str(&format!(
        "\n- class `{}`, served by {}",
        info.class, info.provider
    ));
    let mut usable = Vec::new();
    if info.usable_in_filter() {
        usable.push("conditions");
    }
    if info.usable_in_output() {
        usable.push("outputs");
    }
    md.push_str(&format!("\n- usable in {}", usable.join(" and ")));
    // What `rulec check` warns about (L344), said where the author looks at the field.
    if info.id.is_none() {
        md.push_str("\n- extracted by its plugin, not by Lanner's runtime");
    } else if info.extracted {
        md.push_str("\n- extracted by Lanner's runtime");
    } else {
        md.push_str(
            "\n- **not extracted by Lanner's runtime**: Falco fills it, but under Lanner it is always `<NA>` and no check on it holds",
        );
    }
    if info.deprecation.is_deprecated() {
        md.push_str("\n- **deprecated**");
    }
    md.push('\n');
    md
}

fn where_defined(cx: &Ctx<'_>, kind: SymKind, name: &str) -> String {
    let mut lines = Vec::new();
    for o in cx.a.occurrences_of(kind, name) {
        if o.role == Role::Use {
            continue;
        }
        let file =
            cx.a.sources
                .get(o.file.0 as usize)
                .map_or("?", |s| s.name.as_str());
        let line = cx
            .lines(o.file)
            .map_or(0, |l| l.line_of(o.span.start as usize))
            + 1;
        let how = if o.role == Role::Definition {
            "defined"
        } else {
            "extended"
        };
        lines.push(format!("{how} at `{file}:{line}`"));
    }
    lines.join(", ")
}

fn more(total: usize) -> String {
    if total > SHOWN {
        format!(" … and {} more", total - SHOWN)
    } else {
        String::new()
    }
}

pub fn symbol(cx: &Ctx<'_>, kind: SymKind, name: &str) -> Option<String> {
    let r = &cx.a.checked.resolved;
    let defs = where_defined(cx, kind, name);
    match kind {
        SymKind::List => {
            let Some(l) = r.lists.iter().find(|l| l.name == name) else {
                return Some(format!("**list** `{name}`\n\nnot defined"));
            };
            let shown: Vec<_> = l
                .items
                .iter()
                .take(SHOWN)
                .map(|i| format!("`{i}`"))
                .collect();
            Some(format!(
                "**list** `{name}` ({} items)\n\n{}{}\n\n{defs}",
                l.items.len(),
                shown.join(", "),
                more(l.items.len())
            ))
        }
        SymKind::Macro => {
            let Some(m) = r.macros.iter().find(|m| m.name == name) else {
                return Some(format!(
                    "**macro** `{name}`\n\nnot defined at this point of the load order"
                ));
            };
            let cond = m
                .condition
                .as_ref()
                .map_or_else(|| "(does not compile)".to_owned(), canonical);
            Some(format!("**macro** `{name}`\n\n```\n{cond}\n```\n\n{defs}"))
        }
        SymKind::Rule => {
            let idx = r.rules.iter().position(|x| x.name == name)?;
            let rule = r.rules.get(idx)?;
            let typed = cx.a.checked.typed.get(idx)?;
            let names = typed.event_types.names();
            let evts = if typed.event_types.len() >= lanner_check::evttypes::TOO_MANY {
                format!("{} event types (no restriction)", typed.event_types.len())
            } else {
                let shown: Vec<_> = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect();
                format!("{}{}", shown.join(", "), more(names.len()))
            };
            let cond = rule
                .condition
                .as_ref()
                .map_or_else(|| "(does not compile)".to_owned(), canonical);
            Some(format!(
                "**rule** `{name}` — {}, source `{}`{}\n\nevent types: {evts}\n\nexpanded condition:\n```\n{cond}\n```\n\n{defs}",
                rule.priority.as_str(),
                rule.source,
                if rule.enabled { "" } else { ", disabled" }
            ))
        }
    }
}
