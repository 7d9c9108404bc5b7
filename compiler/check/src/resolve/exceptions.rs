//! Rule exceptions turned into condition text, as Falco does it: each exception with values
//! adds `and not (...)` to the rule's condition, and the result is parsed as a whole (so list
//! names work as exception values, and values are pasted as text).

use std::sync::Arc;

use super::text::ComposedText;
use lanner_syntax::codes;
use lanner_syntax::diagnostic::Diagnostic;
use lanner_syntax::rules::{Exception, ExceptionValue, ScalarOrSeq};
use lanner_syntax::scalar::Scalar;
use lanner_syntax::span::{FileId, FileSpan};

/// An exception as collected: possibly appended to over several items.
#[derive(Clone, Debug)]
pub struct ExceptionInfo {
    pub name: String,
    pub file: FileId,
    pub span: FileSpan,
    pub fields: Option<ScalarOrSeq>,
    pub comps: Option<ScalarOrSeq>,
    pub values: Vec<ExceptionValue>,
    /// The file of each value (values may be appended from other files).
    pub value_files: Vec<FileId>,
}

impl ExceptionInfo {
    pub fn from_item(file: FileId, e: &Exception) -> Option<ExceptionInfo> {
        let name = e.name.as_ref()?.value.clone();
        let values = e
            .values
            .as_ref()
            .map(|v| v.node.clone())
            .unwrap_or_default();
        Some(ExceptionInfo {
            name,
            file,
            span: FileSpan::new(file, e.span),
            fields: e.fields.clone(),
            comps: e.comps.clone(),
            value_files: vec![file; values.len()],
            values,
        })
    }
}

/// The comparison operators an exception may use: any libsinsp operator, or a string operator
/// with a modifier.
fn valid_comp(comp: &str) -> bool {
    const PLAIN: [&str; 19] = [
        "=",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "contains",
        "icontains",
        "bcontains",
        "startswith",
        "bstartswith",
        "endswith",
        "glob",
        "iglob",
        "regex",
        "in",
        "intersects",
        "pmatch",
    ];
    const STRING_OPS: [&str; 12] = [
        "=",
        "==",
        "!=",
        "contains",
        "icontains",
        "bcontains",
        "startswith",
        "bstartswith",
        "endswith",
        "glob",
        "iglob",
        "regex",
    ];
    if PLAIN.contains(&comp) || comp == "exists" {
        return true;
    }
    let mut words = comp.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(op), Some(m), None) => {
            STRING_OPS.contains(&op) && matches!(m, "oneof" | "anyof" | "allof")
        }
        _ => false,
    }
}

/// Whether a comp takes a list on its right (so a scalar value is parenthesised).
fn list_comp(comp: &str) -> bool {
    matches!(comp, "in" | "intersects" | "pmatch") || comp.contains(' ')
}

fn scalars(v: &ScalarOrSeq) -> Vec<&Scalar> {
    match v {
        ScalarOrSeq::Scalar(s) => vec![s],
        ScalarOrSeq::Seq(seq) => seq.node.iter().collect(),
    }
}

fn push_scalar(out: &mut ComposedText, file: FileId, s: &Scalar) {
    let arc = Arc::new(s.clone());
    out.push_scalar(file, &arc, 0, s.value.len());
}

/// Whether a value is double-quoted when pasted into the condition text: Falco quotes a value
/// that holds a space unless it already starts with a quote (so `'"cat /dev/null"'` is read as
/// the string `cat /dev/null`). Quotes inside are not escaped, as in Falco.
fn needs_quotes(value: &str) -> bool {
    value.contains(' ') && !value.starts_with(['"', '\''])
}

/// Pastes a scalar value, double-quoted when [`needs_quotes`] says so.
fn push_quoted(out: &mut ComposedText, file: FileId, s: &Scalar) {
    if needs_quotes(&s.value) {
        let at = FileSpan::new(file, s.span);
        out.push_synthetic("\"", at);
        push_scalar(out, file, s);
        out.push_synthetic("\"", at);
    } else {
        push_scalar(out, file, s);
    }
}

/// A value pasted into the condition: a nested sequence becomes `(a, b)`, a scalar for a list
/// comp is parenthesised unless it already starts with `(` (and never quoted), other scalars
/// are quoted as [`needs_quotes`] says.
fn push_value(out: &mut ComposedText, file: FileId, v: &ExceptionValue, comp: &str) {
    match v {
        ExceptionValue::Tuple(items) => {
            let at = FileSpan::new(file, items.span);
            out.push_synthetic("(", at);
            for (i, item) in items.node.iter().enumerate() {
                if i > 0 {
                    out.push_synthetic(", ", at);
                }
                push_value(out, file, item, "");
            }
            out.push_synthetic(")", at);
        }
        ExceptionValue::Scalar(s) => {
            let at = FileSpan::new(file, s.span);
            if list_comp(comp) {
                // Falco only parenthesises a list comp's value, never quotes it.
                if s.value.starts_with('(') {
                    push_scalar(out, file, s);
                } else {
                    out.push_synthetic("(", at);
                    push_scalar(out, file, s);
                    out.push_synthetic(")", at);
                }
            } else {
                push_quoted(out, file, s);
            }
        }
    }
}

/// Builds `(condition) and not EX1 and not EX2 ...`. Exceptions without values add nothing.
/// Malformed exceptions are reported and skipped.
pub fn apply(
    condition: &ComposedText,
    exceptions: &[ExceptionInfo],
    rule: &str,
    diags: &mut Vec<Diagnostic>,
) -> ComposedText {
    let mut parts: Vec<ComposedText> = Vec::new();
    for ex in exceptions {
        if let Some(Some(t)) = exception_text(ex, rule, diags) {
            parts.push(t);
        }
    }
    if parts.is_empty() {
        return condition.clone();
    }
    let at = condition.anchor().unwrap_or(
        exceptions
            .first()
            .map_or(FileSpan::new(FileId(0), Default::default()), |e| e.span),
    );
    let mut out = ComposedText::new();
    out.push_synthetic("(", at);
    out.push_text(condition);
    out.push_synthetic(")", at);
    for p in parts {
        out.push_synthetic(" and not ", at);
        out.push_text(&p);
    }
    out
}

fn invalid(ex: &ExceptionInfo, rule: &str, at: FileSpan, msg: String, help: &str) -> Diagnostic {
    Diagnostic::new(codes::INVALID_EXCEPTION_DEF, at, msg)
        .with_label(format!("in exception `{}`", ex.name))
        .with_help(help.to_string())
        .with_item(rule.to_string())
}

/// `None`: malformed (reported). `Some(None)`: nothing to add. `Some(Some(text))`: the text.
fn exception_text(
    ex: &ExceptionInfo,
    rule: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Option<ComposedText>> {
    // A missing `fields` was reported by the loader (L014).
    let Some(fields) = &ex.fields else {
        return None;
    };
    let field_list = scalars(fields);
    let comp_list: Vec<(String, FileSpan)> = match (&ex.comps, fields) {
        (Some(c), _) => scalars(c)
            .into_iter()
            .map(|s| (s.value.trim().to_string(), FileSpan::new(ex.file, s.span)))
            .collect(),
        (None, ScalarOrSeq::Seq(_)) => field_list
            .iter()
            .map(|s| ("=".to_string(), FileSpan::new(ex.file, s.span)))
            .collect(),
        (None, ScalarOrSeq::Scalar(s)) => vec![("in".to_string(), FileSpan::new(ex.file, s.span))],
    };
    let mut ok = true;
    if comp_list.len() != field_list.len()
        || matches!(
            (&ex.comps, fields),
            (Some(ScalarOrSeq::Seq(_)), ScalarOrSeq::Scalar(_))
                | (Some(ScalarOrSeq::Scalar(_)), ScalarOrSeq::Seq(_))
        )
    {
        diags.push(invalid(
            ex,
            rule,
            ex.span,
            format!(
                "exception `{}` has {} field(s) but {} comparison(s)",
                ex.name,
                field_list.len(),
                comp_list.len()
            ),
            "give `comps` one operator per field, or leave it out to compare every field with `=`",
        ));
        return None;
    }
    for (comp, at) in &comp_list {
        if !valid_comp(comp) {
            diags.push(invalid(
                ex,
                rule,
                *at,
                format!("`{comp}` is not a supported comparison operator"),
                "use an operator such as `=`, `startswith`, `in`, `pmatch`, or a string operator with `oneof`/`anyof`/`allof`",
            ));
            ok = false;
        }
    }
    if let ScalarOrSeq::Scalar(_) = fields
        && let Some((comp, at)) = comp_list.first()
        && !list_comp(comp)
        && valid_comp(comp)
    {
        diags.push(invalid(
            ex,
            rule,
            *at,
            format!("with a single field, `comps` must be a list operator, not `{comp}`"),
            "when `fields` is a single value, `comps` must be one of `in`, `pmatch`, `intersects` or a string operator with a modifier",
        ));
        ok = false;
    }
    if !ok {
        return None;
    }
    if ex.values.is_empty() {
        return Some(None);
    }
    let at = ex.span;
    let mut out = ComposedText::new();
    match fields {
        ScalarOrSeq::Scalar(f) => {
            // Scalar form: `(f c (v1, v2))`.
            let comp = comp_list.first().map_or("in", |c| c.0.as_str());
            out.push_synthetic("(", at);
            push_scalar(&mut out, ex.file, f);
            out.push_synthetic(&format!(" {comp} ("), at);
            for (i, (v, file)) in ex.values.iter().zip(&ex.value_files).enumerate() {
                if i > 0 {
                    out.push_synthetic(", ", at);
                }
                match v {
                    ExceptionValue::Scalar(s) => push_quoted(&mut out, *file, s),
                    ExceptionValue::Tuple(t) => {
                        diags.push(invalid(
                            ex,
                            rule,
                            FileSpan::new(*file, t.span),
                            "with a single field, each value must be a single value".to_string(),
                            "write `values: [a, b]`",
                        ));
                        return None;
                    }
                }
            }
            out.push_synthetic("))", at);
        }
        ScalarOrSeq::Seq(_) => {
            // Tuple form: `(( f1 c1 a1 and f2 c2 a2) or ( ... ))`.
            out.push_synthetic("(", at);
            for (i, (v, file)) in ex.values.iter().zip(&ex.value_files).enumerate() {
                let ExceptionValue::Tuple(tuple) = v else {
                    let span = match v {
                        ExceptionValue::Scalar(s) => s.span,
                        ExceptionValue::Tuple(t) => t.span,
                    };
                    diags.push(invalid(
                        ex,
                        rule,
                        FileSpan::new(*file, span),
                        "each value of a multi-field exception must be a list, one item per field"
                            .to_string(),
                        "write `values: [[a1, a2], [b1, b2]]`",
                    ));
                    return None;
                };
                if tuple.node.len() != field_list.len() {
                    diags.push(invalid(
                        ex,
                        rule,
                        FileSpan::new(*file, tuple.span),
                        format!(
                            "this value has {} item(s) but the exception has {} field(s)",
                            tuple.node.len(),
                            field_list.len()
                        ),
                        "give one item per field",
                    ));
                    return None;
                }
                if i > 0 {
                    out.push_synthetic(" or ", at);
                }
                out.push_synthetic("(", at);
                for (j, ((f, (comp, _)), val)) in field_list
                    .iter()
                    .zip(&comp_list)
                    .zip(&tuple.node)
                    .enumerate()
                {
                    if j > 0 {
                        out.push_synthetic(" and ", at);
                    }
                    out.push_synthetic(" ", at);
                    push_scalar(&mut out, ex.file, f);
                    out.push_synthetic(&format!(" {comp} "), at);
                    push_value(&mut out, *file, val, comp);
                }
                out.push_synthetic(")", at);
            }
            out.push_synthetic(")", at);
        }
    }
    Some(Some(out))
}
