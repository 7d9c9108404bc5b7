//! Completion: item keys valid at the cursor, priorities, fields (for conditions, outputs and
//! `val()`) filtered to those the operator context allows, operators (and modifiers) valid for
//! the field's type, macros and lists visible at that point of the load order, `evt.type`
//! names and list names inside lists.
//!
//! Operator context: an operand followed by an operator (`| startswith /etc`) takes only the
//! fields whose type accepts that operator (and no macro, which is a whole condition); the
//! field inside `val(…)` must have the type of the field on the left, as the type checker
//! demands of a field-to-field comparison.

use lanner_schema::{
    FieldInfo, Modifier, Operator, ResolvedField, fields, operator_allowed, operator_allowed_with,
    resolve_text,
};
use lanner_syntax::rules::ItemKind;
use lanner_syntax::span::FileId;
use tower_lsp_server::ls_types::{CompletionItem, CompletionItemKind, Documentation};

use crate::analysis::{Role, ScalarRole, SymKind, value_offset};
use crate::ctx::Ctx;
use crate::scan::{self, Tok};

const ITEM_KEYS: &[&str] = &[
    "rule",
    "macro",
    "list",
    "required_engine_version",
    "required_plugin_versions",
];
const RULE_KEYS: &[&str] = &[
    "desc",
    "condition",
    "output",
    "priority",
    "source",
    "enabled",
    "tags",
    "exceptions",
    "override",
    "append",
    "warn_evttypes",
    "skip-if-unknown-filter",
    "capture",
    "capture_duration",
];
const MACRO_KEYS: &[&str] = &["condition", "override", "append"];
const LIST_KEYS: &[&str] = &["items", "override", "append"];
const PRIORITIES: &[&str] = &[
    "EMERGENCY",
    "ALERT",
    "CRITICAL",
    "ERROR",
    "WARNING",
    "NOTICE",
    "INFORMATIONAL",
    "DEBUG",
];
/// Operators that take a list on their right.
const LIST_OPS: &[&str] = &["in", "intersects", "pmatch"];

fn item(label: &str, kind: CompletionItemKind, detail: Option<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_owned(),
        kind: Some(kind),
        detail,
        ..CompletionItem::default()
    }
}

pub fn complete(cx: &Ctx<'_>, file: FileId, offset: usize) -> Vec<CompletionItem> {
    let text = cx.a.text(file);
    let line_start = cx
        .lines(file)
        .map_or(0, |l| l.line_start(l.line_of(offset)));
    let prefix = text.get(line_start..offset).unwrap_or("");
    // A plain scalar ends at its last non-blank character, so a cursor after a typed space
    // (`proc.pid |`) is past it: look the scalar up where the blank run starts and treat the
    // blanks as part of its value.
    let gap = prefix.len() - prefix.trim_end().len();
    if let Some((idx, role, s)) =
        cx.a.scalar_at(file, offset)
            .or_else(|| cx.a.scalar_at(file, offset - gap))
    {
        let inside = offset <= s.span.end as usize;
        let (value, v) = if inside {
            (s.value.clone(), value_offset(s, offset))
        } else {
            (format!("{} ", s.value), s.value.len() + 1)
        };
        match role {
            ScalarRole::Condition => return condition(cx, file, idx, &value, v),
            ScalarRole::Output => return output(&value, v),
            ScalarRole::ListItem => return lists(cx, file, Some(idx)),
            _ => {}
        }
    }
    let trimmed = prefix.trim_start();
    if let Some(rest) = trimmed.strip_prefix("priority:")
        && rest.trim().chars().all(char::is_alphabetic)
    {
        {
            return PRIORITIES
                .iter()
                .map(|p| item(p, CompletionItemKind::ENUM_MEMBER, None))
                .collect();
        }
    }
    if trimmed.starts_with("items:") {
        return lists(cx, file, cx.a.item_at(file, offset));
    }
    if trimmed.starts_with("condition:") {
        let idx = cx.a.item_at(file, offset).unwrap_or(0);
        return condition(cx, file, idx, "", 0);
    }
    let key_start = trimmed.strip_prefix("- ").unwrap_or(trimmed);
    if key_start
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        // `- ` at the left margin starts a new item; anything else continues the item above.
        if prefix.starts_with("- ") || prefix.trim().is_empty() && prefix.is_empty() {
            return ITEM_KEYS
                .iter()
                .map(|k| item(k, CompletionItemKind::KEYWORD, Some("item".to_owned())))
                .collect();
        }
        let Some(idx) = cx.a.item_at(file, offset) else {
            return Vec::new();
        };
        let Some(it) = cx.a.items(file).get(idx) else {
            return Vec::new();
        };
        let (keys, kind) = match &it.kind {
            ItemKind::Rule(_) => (RULE_KEYS, "rule"),
            ItemKind::Macro(_) => (MACRO_KEYS, "macro"),
            ItemKind::List(_) => (LIST_KEYS, "list"),
            _ => return Vec::new(),
        };
        return keys
            .iter()
            .filter(|k| !it.keys.iter().any(|p| p.node == **k))
            .map(|k| item(k, CompletionItemKind::PROPERTY, Some(format!("{kind} key"))))
            .collect();
    }
    Vec::new()
}

fn field_items(pred: impl Fn(&lanner_schema::FieldInfo) -> bool) -> Vec<CompletionItem> {
    fields()
        .iter()
        .filter(|f| pred(f) && !f.flags.names().any(|n| n == "EPF_TABLE_ONLY"))
        .map(|f| {
            let ty = if f.is_list {
                format!("LIST({})", f.ty)
            } else {
                f.ty.to_string()
            };
            CompletionItem {
                label: f.name.to_owned(),
                kind: Some(CompletionItemKind::FIELD),
                detail: Some(format!("{}{} : {ty}", f.name, f.arg.syntax())),
                documentation: Some(Documentation::String(f.description.to_owned())),
                deprecated: f.deprecation.is_deprecated().then_some(true),
                ..CompletionItem::default()
            }
        })
        .collect()
}

/// Macros a condition of item `idx` may use: inside a macro only earlier macros (Falco's
/// visibility rule), inside a rule every macro.
fn macros(cx: &Ctx<'_>, file: FileId, idx: usize) -> Vec<CompletionItem> {
    let in_macro = matches!(
        cx.a.items(file).get(idx).map(|i| &i.kind),
        Some(ItemKind::Macro(_))
    );
    let here = order(cx, file, idx);
    defs(
        cx,
        SymKind::Macro,
        in_macro.then_some(here),
        CompletionItemKind::FUNCTION,
    )
}

fn lists(cx: &Ctx<'_>, file: FileId, idx: Option<usize>) -> Vec<CompletionItem> {
    // A list's items see only earlier lists; a condition sees all of them.
    let in_list = idx.is_some_and(|i| {
        matches!(
            cx.a.items(file).get(i).map(|x| &x.kind),
            Some(ItemKind::List(_))
        )
    });
    let before = idx.filter(|_| in_list).map(|i| order(cx, file, i));
    defs(cx, SymKind::List, before, CompletionItemKind::VARIABLE)
}

fn order(cx: &Ctx<'_>, file: FileId, idx: usize) -> usize {
    cx.a.item_order
        .get(file.0 as usize)
        .and_then(|o| o.get(idx))
        .copied()
        .unwrap_or(usize::MAX)
}

fn defs(
    cx: &Ctx<'_>,
    kind: SymKind,
    before: Option<usize>,
    ck: CompletionItemKind,
) -> Vec<CompletionItem> {
    let mut seen = std::collections::BTreeSet::new();
    cx.a.occurrences
        .iter()
        .filter(|o| o.kind == kind && o.role == Role::Definition)
        .filter(|o| before.is_none_or(|b| order(cx, o.file, o.item) < b))
        .filter(|o| seen.insert(o.name.clone()))
        .map(|o| item(&o.name, ck, Some(kind.as_str().to_owned())))
        .collect()
}

fn is_operator_word(w: &str) -> bool {
    Operator::ALL.iter().any(|o| o.as_str() == w)
}

/// Whether a field of type `f` may stand on the right of `lhs op val(f)`: the type checker's
/// rule for field-to-field comparisons (same type, or both strings; list-ness equal).
fn rhs_compatible(lhs: &ResolvedField, op: Operator, f: &FieldInfo) -> bool {
    let (lt, rt) = (lhs.value_type(), f.value_type());
    f.usable_as_rhs()
        && op.accepts_field_rhs()
        && lt.is_list == rt.is_list
        && (lt.ty == rt.ty || (lt.ty.is_string() && rt.ty.is_string()))
}

/// The operator (and modifier) written right after the cursor's operand, if any.
fn operator_after(
    all: &[scan::Token],
    value: &str,
    v: usize,
) -> Option<(Operator, Option<Modifier>)> {
    let word = |t: &scan::Token| value.get(t.start..t.end).unwrap_or("");
    // Skip the word the cursor is in (`proc.na|me startswith …`).
    let mut rest = all
        .iter()
        .filter(|t| t.start >= v || t.end > v)
        .skip_while(|t| t.kind == Tok::Word && t.start <= v && Operator::parse(word(t)).is_none());
    let op = rest
        .next()
        .filter(|t| matches!(t.kind, Tok::Word | Tok::Symbol))?;
    let op = Operator::parse(word(op))?;
    let modifier = rest
        .next()
        .filter(|t| t.kind == Tok::Word)
        .and_then(|t| Modifier::parse(word(t)));
    Some((op, modifier))
}

fn condition(cx: &Ctx<'_>, file: FileId, idx: usize, value: &str, v: usize) -> Vec<CompletionItem> {
    let all = scan::condition(value);
    let toks: Vec<_> = all
        .iter()
        .copied()
        .filter(|t| t.end < v || (t.end == v && t.kind != Tok::Word))
        .collect();
    let word = |t: &scan::Token| value.get(t.start..t.end).unwrap_or("");
    let prev = toks.last();
    // After a field: the operators its type accepts.
    if let Some(p) = prev.filter(|p| p.kind == Tok::Word)
        && let Ok(f) = resolve_text(word(p))
    {
        {
            let vt = f.value_type();
            return Operator::ALL
                .iter()
                .filter(|op| operator_allowed(vt.ty, vt.is_list, **op))
                .map(|op| {
                    item(
                        op.as_str(),
                        CompletionItemKind::OPERATOR,
                        Some(format!("{vt}")),
                    )
                })
                .collect();
        }
    }
    let is_modifier = |t: &scan::Token| t.kind == Tok::Word && Modifier::parse(word(t)).is_some();
    // Right after an operator, or inside `op (…`: values for the field on the left.
    let is_op = |t: &scan::Token| {
        t.kind == Tok::Symbol || (t.kind == Tok::Word && is_operator_word(word(t)))
    };
    let mut op_idx = None;
    let mut in_parens = false;
    if prev.is_some_and(is_op) {
        op_idx = toks.len().checked_sub(1);
    } else {
        let mut i = toks.len();
        while i > 0 {
            i -= 1;
            let Some(t) = toks.get(i) else { break };
            let w = word(t);
            if t.kind == Tok::Punct && w == "(" {
                // `op (` or `op modifier (`.
                let before = i.checked_sub(1);
                let before = before
                    .filter(|j| toks.get(*j).is_some_and(is_modifier))
                    .and_then(|j| j.checked_sub(1))
                    .or(before);
                if let Some(op) = before.filter(|j| toks.get(*j).is_some_and(is_op)) {
                    op_idx = Some(op);
                    in_parens = true;
                }
                break;
            }
            if w == ")" || is_op(t) || matches!(w, "and" | "or" | "not") {
                break;
            }
        }
    }
    if let Some(oi) = op_idx {
        let op = toks.get(oi).map(word).unwrap_or("");
        let field = oi
            .checked_sub(1)
            .and_then(|j| toks.get(j))
            .map(word)
            .unwrap_or("");
        let mut out = Vec::new();
        // Right after a string operator: the modifiers the field's type takes with it.
        if !in_parens
            && oi + 1 == toks.len()
            && let (Some(o), Ok(f)) = (Operator::parse(op), resolve_text(field))
        {
            let vt = f.value_type();
            out.extend(
                Modifier::ALL
                    .iter()
                    .filter(|m| operator_allowed_with(vt.ty, vt.is_list, o, Some(**m)))
                    .map(|m| {
                        item(
                            m.as_str(),
                            CompletionItemKind::KEYWORD,
                            Some(format!("modifier: `{op} {m} (…)`")),
                        )
                    }),
            );
        }
        if LIST_OPS.contains(&op) || in_parens {
            out.extend(lists(cx, file, Some(idx)));
        }
        if field == "evt.type" {
            let mut names: Vec<_> = lanner_check::evttypes::event_names().collect();
            names.sort_unstable();
            out.extend(names.into_iter().map(|n| {
                item(
                    n,
                    CompletionItemKind::ENUM_MEMBER,
                    Some("event type".to_owned()),
                )
            }));
        }
        return out;
    }
    if prev.is_some_and(|p| word(p) == "val(" || word(p) == "(")
        && toks.len() >= 2
        && toks.get(toks.len() - 2).is_some_and(|t| word(t) == "val")
    {
        // `lhs op val(|`: fields of the left side's type, when the left side is a field.
        let n = toks.len();
        let op = n.checked_sub(3).and_then(|i| toks.get(i)).map(word);
        let lhs = n.checked_sub(4).and_then(|i| toks.get(i)).map(word);
        if let (Some(op), Some(Ok(lhs))) = (op.and_then(Operator::parse), lhs.map(resolve_text)) {
            return field_items(|f| rhs_compatible(&lhs, op, f));
        }
        return field_items(|f| f.usable_as_rhs());
    }
    // An operand followed by an operator: only fields whose type accepts it.
    if let Some((op, modifier)) = operator_after(&all, value, v) {
        return field_items(|f| {
            f.usable_in_filter() && operator_allowed_with(f.ty, f.is_list, op, modifier)
        });
    }
    // An operand: fields, visible macros, `not`.
    let mut out = field_items(|f| f.usable_in_filter());
    out.extend(macros(cx, file, idx));
    out.push(item("not", CompletionItemKind::KEYWORD, None));
    out
}

fn output(value: &str, v: usize) -> Vec<CompletionItem> {
    let before = value.get(..v).unwrap_or("");
    let word_start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
        .map_or(0, |i| i + 1);
    let start = before.get(..word_start).unwrap_or("");
    let start = start.trim_end_matches(|c: char| c.is_ascii_digit());
    if start.ends_with('%') {
        field_items(|f| f.usable_in_output())
    } else {
        Vec::new()
    }
}
