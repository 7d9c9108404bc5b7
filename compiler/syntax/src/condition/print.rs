//! The canonical printer: one line, `and`/`or` fully parenthesised, values re-quoted only when
//! they need it. It prints exactly the form libsinsp's `as_string` gives, which Falco shows as a
//! rule's compiled condition, so the conformance corpus can compare texts.

use super::ast::{Expr, FieldRef, Rhs, TrArg, Transformer, Value};
use std::fmt::Write;

pub fn canonical(expr: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, expr);
    out
}

fn write_expr(out: &mut String, expr: &Expr) {
    match expr {
        Expr::And(children, _) | Expr::Or(children, _) => {
            let sep = if matches!(expr, Expr::And(..)) {
                " and "
            } else {
                " or "
            };
            out.push('(');
            for (i, c) in children.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                write_expr(out, c);
            }
            out.push(')');
        }
        Expr::Not(inner, _) => {
            out.push_str("not ");
            write_expr(out, inner);
        }
        Expr::Macro(id) => out.push_str(&id.name),
        Expr::Error(_) => out.push_str("<error>"),
        Expr::Check(check) => {
            match &check.lhs {
                super::ast::Operand::Field(f) => write_field(out, f),
                super::ast::Operand::Transformer(t) => write_transformer(out, t),
            }
            out.push(' ');
            out.push_str(check.op.kind.as_str());
            if let Some(m) = check.op.modifier {
                out.push(' ');
                out.push_str(m.as_str());
            }
            if let Some(rhs) = &check.rhs {
                out.push(' ');
                write_rhs(out, rhs);
            }
        }
    }
}

fn write_rhs(out: &mut String, rhs: &Rhs) {
    match rhs {
        Rhs::Value(v) => out.push_str(&quote(&v.text, false)),
        Rhs::Ident(id) => out.push_str(&id.name),
        Rhs::List(items, _) => {
            out.push('(');
            write_values(out, items, ", ");
            out.push(')');
        }
        Rhs::Val { field, arg, .. } => {
            out.push_str("val(");
            write_field(out, field);
            out.push(')');
            if let Some(arg) = arg {
                let _ = write!(out, "[{}]", quote(&arg.value, true));
            }
        }
        Rhs::Transformer(t) => write_transformer(out, t),
    }
}

fn write_values(out: &mut String, items: &[Value], sep: &str) {
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(&quote(&v.text, false));
    }
}

pub(crate) fn write_field(out: &mut String, f: &FieldRef) {
    out.push_str(&f.name);
    if let Some(arg) = &f.arg {
        let _ = write!(out, "[{}]", quote(&arg.value, true));
    }
}

fn write_transformer(out: &mut String, t: &Transformer) {
    out.push_str(t.kind.as_str());
    out.push('(');
    write_tr_args(out, &t.args);
    out.push(')');
    if let Some(arg) = &t.arg {
        let _ = write!(out, "[{}]", quote(&arg.value, true));
    }
}

fn write_tr_args(out: &mut String, args: &[TrArg]) {
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match a {
            TrArg::Field(f) => write_field(out, f),
            TrArg::Transformer(t) => write_transformer(out, t),
            TrArg::Str(v) => out.push_str(&quote(&v.text, false)),
            TrArg::Number(v) => out.push_str(&v.text),
            TrArg::List(items, _) => {
                out.push('(');
                write_tr_args(out, items);
                out.push(')');
            }
        }
    }
}

/// Quotes a value if it holds a blank, a quote, a backslash, `=` or a NUL byte; inside the
/// quotes only `\` and `"` are escaped. An empty value prints as nothing, an empty field
/// argument as `""` (libsinsp prints them so).
pub fn quote(text: &str, is_arg: bool) -> String {
    if text.is_empty() {
        return if is_arg { "\"\"".into() } else { String::new() };
    }
    let special = |c: char| {
        matches!(
            c,
            ' ' | '\t' | '\n' | '\r' | '\x08' | '\x0b' | '\x0c' | '"' | '\'' | '\\' | '=' | '\0'
        )
    };
    if !text.contains(special) {
        return text.to_string();
    }
    let mut s = String::with_capacity(text.len() + 2);
    s.push('"');
    for c in text.chars() {
        if c == '\\' || c == '"' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}
