//! Output formats: `"%evt.time %proc.name opened %fd.name"` split into text and field tokens.
//!
//! After `%` comes an optional decimal width and then a field (`proc.aname[2]`,
//! `evt.arg.flags`) or a transformer expression (`tolower(proc.name)`). Falco takes the longest
//! prefix that compiles; syntactically that is the longest prefix shaped like a field or a
//! balanced transformer call, which is what this module finds. Whether the field exists is the
//! checker's business.

use crate::codes;
use crate::condition::ast::Operand;
use crate::condition::{SpanMap, parse};
use crate::diagnostic::Diagnostic;
use crate::span::FileSpan;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputToken {
    Text(String),
    Field {
        width: Option<u32>,
        /// The field expression as written after `%` and the width, e.g. `proc.aname[2]`.
        text: String,
        operand: Operand,
        span: FileSpan,
    },
}

/// Output fields of Falco's older rule files that Falco 0.44 still accepts, warns about
/// (LOAD_DEPRECATED_ITEM) and prints as the empty string. `%container.info` was the shorthand
/// for the container's id and name; the container plugin's suggested fields replaced it.
pub const REMOVED_FIELDS: &[&str] = &["container.info"];

impl OutputToken {
    /// Whether this token is one of [`REMOVED_FIELDS`]. Falco removes the text `%container.info`
    /// before it parses the output, so with a width (`%20container.info`) the `%20` is left
    /// without a field, an error; such a token is not a removed field.
    pub fn is_removed_field(&self) -> bool {
        matches!(self, OutputToken::Field { operand: Operand::Field(f), width: None, .. }
            if f.arg.is_none() && REMOVED_FIELDS.contains(&f.name.as_str()))
    }
}

/// A located output format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFormat {
    pub tokens: Vec<OutputToken>,
}

/// Offsets shifted by `base` before going through `inner`.
struct Shifted<'a> {
    inner: &'a dyn SpanMap,
    base: usize,
}

impl SpanMap for Shifted<'_> {
    fn map(&self, start: usize, end: usize) -> FileSpan {
        self.inner.map(self.base + start, self.base + end)
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The length of a field name (`a.b.c`) at the start of `s`, if any.
fn field_name_len(s: &[u8]) -> usize {
    let mut i = 0;
    let mut parts = 0;
    loop {
        if !s.get(i).copied().is_some_and(is_ident_start) {
            break;
        }
        let start = i;
        while s.get(i).copied().is_some_and(is_ident) {
            i += 1;
        }
        parts += 1;
        if s.get(i) == Some(&b'.') && s.get(i + 1).copied().is_some_and(is_ident_start) {
            i += 1;
            continue;
        }
        if parts < 2 {
            return 0;
        }
        let _ = start;
        return i;
    }
    0
}

/// The length of a `[arg]` at the start of `s` (quotes respected), or 0.
fn bracket_len(s: &[u8]) -> usize {
    if s.first() != Some(&b'[') {
        return 0;
    }
    let mut i = 1;
    let mut quote: Option<u8> = None;
    while let Some(&b) = s.get(i) {
        match quote {
            Some(q) if b == q && s.get(i - 1) != Some(&b'\\') => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b']' => return i + 1,
            None if b.is_ascii_whitespace() || b == b'[' => return 0,
            None => {}
        }
        i += 1;
    }
    0
}

/// The length of a transformer call `name(...)` at the start of `s`, balanced, or 0.
fn call_len(s: &[u8]) -> usize {
    let mut i = 0;
    while s.get(i).copied().is_some_and(is_ident) {
        i += 1;
    }
    if i == 0 || s.get(i) != Some(&b'(') {
        return 0;
    }
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    while let Some(&b) = s.get(i) {
        match quote {
            Some(q) if b == q && s.get(i - 1) != Some(&b'\\') => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'(' => depth += 1,
            None if b == b')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1 + bracket_len(s.get(i + 1..).unwrap_or(&[]));
                }
            }
            None => {}
        }
        i += 1;
    }
    0
}

/// Splits an output format into tokens. Never fails; problems are diagnostics.
pub fn parse_output(text: &str, map: &dyn SpanMap) -> (OutputFormat, Vec<Diagnostic>) {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut diags = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    let mut lit_start = 0;
    while i < bytes.len() {
        let Some(pct) = text.get(i..).and_then(|r| r.find('%')).map(|p| p + i) else {
            break;
        };
        let mut j = pct + 1;
        while bytes.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        let width = text.get(pct + 1..j).and_then(|w| w.parse::<u32>().ok());
        let rest = bytes.get(j..).unwrap_or(&[]);
        let mut len = call_len(rest);
        if len == 0 {
            len = field_name_len(rest);
            if len > 0 {
                len += bracket_len(rest.get(len..).unwrap_or(&[]));
            }
        }
        let expr_text = text.get(j..j + len).unwrap_or("");
        let operand = if len > 0 {
            // Reuse the condition grammar for the field expression, so that outputs and
            // conditions agree on what a field or transformer is.
            let probe = format!("{expr_text} exists");
            let shifted = Shifted {
                inner: map,
                base: j,
            };
            match parse(&probe, &shifted, crate::condition::RULE_MAX_DEPTH) {
                (crate::condition::ast::Expr::Check(c), d) if d.is_empty() => Some(c.lhs),
                _ => None,
            }
        } else {
            None
        };
        match operand {
            Some(operand) => {
                lit.push_str(text.get(lit_start..pct).unwrap_or(""));
                if !lit.is_empty() {
                    tokens.push(OutputToken::Text(std::mem::take(&mut lit)));
                }
                tokens.push(OutputToken::Field {
                    width,
                    text: expr_text.to_string(),
                    operand,
                    span: map.map(pct, j + len),
                });
                i = j + len;
                lit_start = i;
            }
            None => {
                let end = (j + len.max(1)).min(text.len().max(pct + 1));
                let end = crate::span::floor_char_boundary(text, end).max(pct + 1);
                let shown: String = text.get(j..).unwrap_or("").chars().take(16).collect();
                let msg = if j >= text.len() {
                    "`%` at the end of the output is not followed by a field".to_string()
                } else {
                    format!("`%` is not followed by a field: `%{shown}`")
                };
                diags.push(
                    Diagnostic::new(codes::INVALID_OUTPUT, map.map(pct, end.min(text.len())), msg)
                        .with_label("expected a field name after `%`")
                        .with_help("write a field such as `%proc.name` or `%fd.name`; there is no `%%` escape, so a literal percent sign cannot be printed"),
                );
                i = j.max(pct + 1);
            }
        }
    }
    lit.push_str(text.get(lit_start..).unwrap_or(""));
    if !lit.is_empty() {
        tokens.push(OutputToken::Text(lit));
    }
    (OutputFormat { tokens }, diags)
}
