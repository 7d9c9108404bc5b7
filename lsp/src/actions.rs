//! Code actions: the did-you-mean and machine-applicable fixes of diagnostics as quick fixes,
//! and the conversion of a condition's layout (plain or quoted to a folded block, `>` and `|`
//! into each other).

use std::collections::HashMap;

use lanner_syntax::Diagnostic;
use lanner_syntax::rules::ItemKind;
use lanner_syntax::scalar::{Scalar, ScalarStyle};
use lanner_syntax::span::{FileId, Span};
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, TextEdit, Uri, WorkspaceEdit,
};

use crate::ctx::Ctx;
use crate::diag;

fn overlaps(a: Span, start: usize, end: usize) -> bool {
    (a.start as usize) <= end && start <= a.end as usize
}

/// The replacement a diagnostic proposes: its fix, or the single name of a "did you mean"
/// help when the primary span is exactly the misspelt word.
fn replacement(text: &str, d: &Diagnostic) -> Option<(Span, String)> {
    if let Some(f) = &d.fix {
        return Some((f.span.span, f.replacement.clone()));
    }
    let help = d.help.as_deref()?;
    let rest = help
        .strip_prefix("did you mean the list `")
        .or_else(|| help.strip_prefix("did you mean `"))?;
    let (name, tail) = rest.split_once('`')?;
    if tail != "?" || name.contains(char::is_whitespace) {
        return None;
    }
    let written = text.get(d.primary.span.range())?;
    if written.is_empty() || written.contains(char::is_whitespace) {
        return None;
    }
    Some((d.primary.span, name.to_owned()))
}

fn edit(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..WorkspaceEdit::default()
    }
}

pub fn actions(cx: &Ctx<'_>, file: FileId, start: usize, end: usize) -> Vec<CodeActionOrCommand> {
    let Some(uri) = cx.a.uri(file).cloned() else {
        return Vec::new();
    };
    let text = cx.a.text(file);
    let mut out = Vec::new();
    for d in &cx.a.checked.diagnostics {
        if d.primary.file != file || !overlaps(d.primary.span, start, end) {
            continue;
        }
        let Some((span, new)) = replacement(text, d) else {
            continue;
        };
        let old = text.get(span.range()).unwrap_or("");
        let title = if new.is_empty() {
            format!("remove `{old}`")
        } else if old.is_empty() {
            format!("insert `{new}`")
        } else {
            format!("replace `{old}` with `{new}`")
        };
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title,
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![diag::convert(cx, d)]),
            edit: Some(edit(&uri, vec![TextEdit::new(cx.range(file, span), new)])),
            is_preferred: Some(true),
            ..CodeAction::default()
        }));
    }
    out.extend(layout(cx, file, start, &uri));
    out
}

fn condition_at<'a>(cx: &Ctx<'a>, file: FileId, offset: usize) -> Option<&'a Scalar> {
    cx.a.items(file).iter().find_map(|it| {
        let c = match &it.kind {
            ItemKind::Macro(m) => m.condition.as_ref(),
            ItemKind::Rule(r) => r.condition.as_ref(),
            _ => None,
        }?;
        ((c.span.start as usize) <= offset && offset <= c.span.end as usize).then_some(c)
    })
}

fn layout(cx: &Ctx<'_>, file: FileId, offset: usize, uri: &Uri) -> Option<CodeActionOrCommand> {
    let c = condition_at(cx, file, offset)?;
    let text = cx.a.text(file);
    let start = c.span.start as usize;
    let (title, span, new) = match c.style {
        ScalarStyle::Folded | ScalarStyle::Literal => {
            let (title, ind) = if c.style == ScalarStyle::Folded {
                ("use a literal block (`|`) for this condition", "|")
            } else {
                ("use a folded block (`>`) for this condition", ">")
            };
            (title, Span::new(start, start + 1), ind.to_owned())
        }
        ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
            if c.value.contains('\n') {
                return None;
            }
            let lines = cx.lines(file)?;
            let line_start = lines.line_start(lines.line_of(start));
            let line = text.get(line_start..start).unwrap_or("");
            let indent = line.len() - line.trim_start_matches([' ', '-']).len();
            let body = " ".repeat(indent + 2);
            (
                "use a folded block (`>`) for this condition",
                c.span,
                format!(">\n{body}{}", c.value),
            )
        }
    };
    Some(CodeActionOrCommand::CodeAction(CodeAction {
        title: title.to_owned(),
        kind: Some(CodeActionKind::REFACTOR_REWRITE),
        edit: Some(edit(uri, vec![TextEdit::new(cx.range(file, span), new)])),
        ..CodeAction::default()
    }))
}

/// The command that adds an exception built from a Falco alert (JSON, as Falco prints it
/// with `json_output`) to the alert's rule; it returns the edit for the client to apply.
pub const ADD_EXCEPTION: &str = "lanner.addException";

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("the alert is not JSON: {0}")]
    Json(String),
    #[error("the alert has no `rule`")]
    NoRule,
    #[error("no rule named `{0}` in the workspace")]
    UnknownRule(String),
    #[error("the alert has no `output_fields` usable in an exception")]
    NoFields,
}

/// Event fields (`evt.time`, `evt.num`, ...) are specific to one event, never to an allowed
/// behaviour, so an exception built from an alert leaves them out.
fn exception_worthy(field: &str) -> bool {
    lanner_schema::resolve_text(field).is_ok_and(|f| {
        f.field.usable_in_filter() && f.field.class.as_str() != "evt" && !field.starts_with("evt.")
    })
}

fn yaml_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

pub fn exception_from_alert(
    cx: &Ctx<'_>,
    file: FileId,
    alert: &serde_json::Value,
) -> Result<WorkspaceEdit, AlertError> {
    let alert = match alert {
        serde_json::Value::String(s) => {
            serde_json::from_str(s).map_err(|e| AlertError::Json(e.to_string()))?
        }
        v => v.clone(),
    };
    let rule = alert
        .get("rule")
        .and_then(|r| r.as_str())
        .ok_or(AlertError::NoRule)?;
    if !cx.a.checked.resolved.rules.iter().any(|r| r.name == rule) {
        return Err(AlertError::UnknownRule(rule.to_owned()));
    }
    let mut fields = Vec::new();
    let mut values = Vec::new();
    for (k, v) in alert
        .get("output_fields")
        .and_then(|f| f.as_object())
        .into_iter()
        .flatten()
    {
        let value = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        // Exception values are pasted into the condition text, where a quote inside a
        // value cannot be written in a way Falco reads back; such fields are left out.
        if exception_worthy(k) && !value.contains(['"', '\'']) {
            fields.push(k.clone());
            values.push(yaml_quote(&value));
        }
    }
    if fields.is_empty() {
        return Err(AlertError::NoFields);
    }
    let text = cx.a.text(file);
    let n = text.matches("name: from_alert_").count() + 1;
    let comps = vec!["="; fields.len()].join(", ");
    let sep = if text.ends_with('\n') || text.is_empty() {
        ""
    } else {
        "\n"
    };
    let insert = format!(
        "{sep}\n- rule: {rule}\n  exceptions:\n    - name: from_alert_{n}\n      fields: [{}]\n      comps: [{comps}]\n      values:\n        - [{}]\n  override:\n    exceptions: append\n",
        fields.join(", "),
        values.join(", ")
    );
    let end = cx.range(file, Span::at(text.len()));
    let uri = cx.a.uri(file).cloned().ok_or(AlertError::NoRule)?;
    Ok(edit(&uri, vec![TextEdit::new(end, insert)]))
}
