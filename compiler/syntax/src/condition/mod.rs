//! Conditions: lexing, parsing and printing of Falco's filter expressions.
//!
//! ```text
//! text ──lexer (modal, logos)──▶ tokens ──grammar (lalrpop)──▶ Expr + diagnostics
//! ```
//!
//! Offsets inside the condition text are turned into file spans through a [`SpanMap`], so a
//! condition taken from a folded YAML block scalar still reports the exact character in the
//! file.

pub mod ast;
pub mod lexer;
pub mod print;

use lalrpop_util::{ErrorRecovery, ParseError, lalrpop_mod};

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::scalar::Scalar;
use crate::span::{FileId, FileSpan, Span};
use ast::{
    Expr, FieldArg, FieldRef, Modifier, Op, Operand, Operator, Rhs, TrArg, Transformer,
    TransformerKind,
};
use lexer::{ArgTok, FieldTok, Lexer, Tok};

lalrpop_mod!(
    #[allow(
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        unused
    )]
    grammar,
    "/condition/grammar.rs"
);

/// The nesting limit Falco applies to rule conditions.
pub const RULE_MAX_DEPTH: usize = 1000;

/// Maps a byte range of the text being parsed to a range in a file.
pub trait SpanMap {
    fn map(&self, start: usize, end: usize) -> FileSpan;
}

/// The text is a verbatim slice of a file starting at `base`.
pub struct OffsetMap {
    pub file: FileId,
    pub base: usize,
}

impl SpanMap for OffsetMap {
    fn map(&self, start: usize, end: usize) -> FileSpan {
        FileSpan::new(self.file, Span::new(self.base + start, self.base + end))
    }
}

/// The text is the value of a YAML scalar.
pub struct ScalarSpanMap<'a> {
    pub file: FileId,
    pub scalar: &'a Scalar,
}

impl SpanMap for ScalarSpanMap<'_> {
    fn map(&self, start: usize, end: usize) -> FileSpan {
        FileSpan::new(self.file, self.scalar.span_of(start, end))
    }
}

/// The macro name standing for the existing condition when an appended fragment is parsed.
pub const APPEND_BASE: &str = "<appended-to>";

/// Offsets shifted back by `prefix` before going through `inner` (clamped at 0).
struct Unprefixed<'a> {
    inner: &'a dyn SpanMap,
    prefix: usize,
}

impl SpanMap for Unprefixed<'_> {
    fn map(&self, start: usize, end: usize) -> FileSpan {
        self.inner.map(
            start.saturating_sub(self.prefix),
            end.saturating_sub(self.prefix),
        )
    }
}

/// Parses a condition fragment that an `append` adds to an existing condition (`and x`,
/// `or y`). Falco joins the texts with a blank and parses the whole; here the fragment is
/// checked on its own by joining it to a placeholder macro, [`APPEND_BASE`].
pub fn parse_appended(text: &str, map: &dyn SpanMap, max_depth: usize) -> (Expr, Vec<Diagnostic>) {
    // The placeholder is an identifier Falco's lexer cannot produce, so it never clashes.
    let prefix = "appended_base ";
    let joined = format!("{prefix}{text}");
    let shifted = Unprefixed {
        inner: map,
        prefix: prefix.len(),
    };
    let (mut expr, diags) = parse(&joined, &shifted, max_depth);
    rename_base(&mut expr);
    (expr, diags)
}

fn rename_base(e: &mut Expr) {
    match e {
        Expr::And(c, _) | Expr::Or(c, _) => {
            if let Some(first) = c.first_mut() {
                rename_base(first);
            }
        }
        Expr::Macro(id) if id.name == "appended_base" => id.name = APPEND_BASE.to_string(),
        _ => {}
    }
}

/// Parses a condition. Never fails: broken parts become [`Expr::Error`] holes, and every
/// problem is a diagnostic.
pub fn parse(text: &str, map: &dyn SpanMap, max_depth: usize) -> (Expr, Vec<Diagnostic>) {
    let mut lexer = Lexer::new(text, map, max_depth);
    let mut recovered: Vec<ErrorRecovery<usize, Tok, std::convert::Infallible>> = Vec::new();
    let result = grammar::ConditionParser::new().parse(map, &mut recovered, lexer.by_ref());
    // Drain what the parser did not pull, so that every lexical problem is reported.
    for _ in lexer.by_ref() {}
    let mut diags = std::mem::take(&mut lexer.diags);
    let lexer_reported = !diags.is_empty();
    let mut parser_errors: Vec<ParseError<usize, Tok, std::convert::Infallible>> =
        recovered.into_iter().map(|r| r.error).collect();
    let expr = match result {
        Ok(e) => e,
        Err(e) => {
            parser_errors.push(e);
            Expr::Error(map.map(0, text.len()))
        }
    };
    for e in parser_errors {
        // The lexer reported every Error token it produced; the parser stumbling on one is not a
        // second problem. Any other parser error is a structural one the lexer let through.
        let (at, end, found) = match e {
            ParseError::UnrecognizedToken {
                token: (_, Tok::Error, _),
                ..
            } => continue,
            ParseError::UnrecognizedToken {
                token: (l, tok, r), ..
            } => (l, r, describe(&tok)),
            ParseError::ExtraToken { token: (l, tok, r) } => (l, r, describe(&tok)),
            ParseError::UnrecognizedEof { location, .. } => {
                if lexer_reported {
                    continue;
                }
                (location, location, "the end of the condition".to_string())
            }
            ParseError::InvalidToken { location } => (location, location, "text".to_string()),
            ParseError::User { error } => match error {},
        };
        diags.push(
            Diagnostic::new(
                codes::UNEXPECTED_TOKEN,
                map.map(at, end),
                format!("unexpected {found}"),
            )
            .with_label("not expected here"),
        );
    }
    diags.sort_by_key(|d| (d.primary.span.start, d.primary.span.end));
    diags.dedup_by(|a, b| a.primary == b.primary && a.message == b.message);
    (expr, diags)
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::LParen | Tok::ListOpen | Tok::TrListOpen => "`(`".into(),
        Tok::RParen | Tok::ListClose | Tok::TrListClose | Tok::ValClose(_) | Tok::TrClose(_) => {
            "`)`".into()
        }
        Tok::And => "`and`".into(),
        Tok::Or => "`or`".into(),
        Tok::Not => "`not`".into(),
        Tok::Ident(s) | Tok::Num(s) => format!("`{s}`"),
        Tok::Field(f) => format!("`{}`", f.name),
        Tok::TrOpen(k) => format!("`{}(`", k.as_str()),
        Tok::Comma => "`,`".into(),
        Tok::ValOpen => "`val(`".into(),
        Tok::Op(k) => format!("`{}`", k.as_str()),
        Tok::Modifier(m) => format!("`{}`", m.as_str()),
        Tok::Str(l) => format!("`{}`", l.text),
        Tok::Error => "text".into(),
    }
}

/// Helpers the grammar's actions call; kept here so the grammar stays declarative.
pub(crate) mod build {
    use super::*;

    pub struct OpTok {
        pub kind: Operator,
        pub start: usize,
        pub end: usize,
        pub modifier: Option<(Modifier, usize, usize)>,
    }

    fn flatten(first: Expr, rest: Vec<Expr>, is_and: bool) -> Vec<Expr> {
        // `and` and `or` are n-ary; a parenthesised group of the same operator stays a group
        // (the printer shows it as written), so nothing is flattened across parentheses.
        let _ = is_and;
        let mut v = Vec::with_capacity(rest.len() + 1);
        v.push(first);
        v.extend(rest);
        v
    }

    pub fn or(map: &dyn SpanMap, l: usize, r: usize, first: Expr, rest: Vec<Expr>) -> Expr {
        Expr::Or(flatten(first, rest, false), map.map(l, r))
    }

    pub fn and(map: &dyn SpanMap, l: usize, r: usize, first: Expr, rest: Vec<Expr>) -> Expr {
        Expr::And(flatten(first, rest, true), map.map(l, r))
    }

    /// `not not x` is `x`: Falco toggles a flag per `not` and builds no double negation.
    pub fn not(map: &dyn SpanMap, l: usize, r: usize, count: usize, inner: Expr) -> Expr {
        if count % 2 == 1 {
            Expr::Not(Box::new(inner), map.map(l, r))
        } else {
            inner
        }
    }

    pub fn check(
        map: &dyn SpanMap,
        l: usize,
        r: usize,
        lhs: Operand,
        op: OpTok,
        rhs: Option<Rhs>,
    ) -> Expr {
        let modifier_span = op.modifier.map(|(_, s, e)| map.map(s, e));
        Expr::Check(Box::new(ast::Check {
            lhs,
            op: Op {
                kind: op.kind,
                modifier: op.modifier.map(|(m, _, _)| m),
                span: map.map(op.start, op.end),
                modifier_span,
            },
            rhs,
            span: map.map(l, r),
        }))
    }

    pub fn val(map: &dyn SpanMap, l: usize, r: usize, field: FieldRef, arg: Option<ArgTok>) -> Rhs {
        Rhs::Val {
            field,
            arg: arg.map(|a| self::arg(map, a)),
            span: map.map(l, r),
        }
    }

    fn arg(map: &dyn SpanMap, a: ArgTok) -> FieldArg {
        FieldArg {
            value: a.value,
            span: map.map(a.start, a.end),
        }
    }

    pub fn field(map: &dyn SpanMap, l: usize, r: usize, f: FieldTok) -> FieldRef {
        let name_end = l + f.name.len();
        FieldRef {
            name_span: map.map(l, name_end),
            arg: f.arg.map(|a| arg(map, a)),
            name: f.name,
            span: map.map(l, r),
        }
    }

    pub fn transformer(
        map: &dyn SpanMap,
        l: usize,
        r: usize,
        kind: TransformerKind,
        args: Vec<TrArg>,
        close: Option<ArgTok>,
    ) -> Transformer {
        Transformer {
            kind,
            name_span: map.map(l, l + kind.as_str().len()),
            args,
            arg: close.map(|a| arg(map, a)),
            span: map.map(l, r),
        }
    }
}
