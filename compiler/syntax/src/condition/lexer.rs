//! The condition lexer.
//!
//! Falco's condition language is lexically context-dependent: a bare value may contain `<`, `>`
//! and `!` (`runc:[0:PARENT]`, `!0.1`), a field is followed by an operator glued to it
//! (`fd.num>=0`), `and`/`or`/`not` are prefixes rather than reserved words (`notb` and `and_x`
//! are identifiers, `a orb` is an error), and `in` needs no blank after it while `contains` does.
//! So the lexer is modal: it tracks which kind of token the grammar allows next (an operand, an
//! operator, a value, a list element, ...) and lexes each mode with its own logos token set.
//! The lalrpop grammar then builds the tree from the token stream.
//!
//! Lexical errors are reported here, located, with a fix hint; the lexer then emits one
//! [`Tok::Error`] and resynchronises at the next top-level `and`/`or` or closing parenthesis,
//! so that the parser can leave a hole and keep going.

use logos::Logos;

use super::SpanMap;
use super::ast::{Modifier, Operator, TransformerKind};
use crate::codes;
use crate::diagnostic::Diagnostic;

/// A field argument as lexed: unescaped value and local byte range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgTok {
    pub value: String,
    pub start: usize,
    pub end: usize,
}

/// A string value as lexed: unescaped text, and whether it was quoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lit {
    pub text: String,
    pub quoted: bool,
    /// The exact bytes, when an `\xHH` escape made the value something other than UTF-8.
    pub bytes: Option<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldTok {
    pub name: String,
    pub arg: Option<ArgTok>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    /// A macro name in operand position, or a list name after `in` or a modifier.
    Ident(String),
    Field(FieldTok),
    /// `tolower(` and friends, the parenthesis included.
    TrOpen(TransformerKind),
    /// The `)` closing a transformer, with a glued `[arg]`.
    TrClose(Option<ArgTok>),
    Comma,
    /// `(` of a transformer list argument (`join(",", (a.b, c.d))`).
    TrListOpen,
    TrListClose,
    /// `val(`.
    ValOpen,
    /// The `)` closing `val(`, with a glued `[arg]`.
    ValClose(Option<ArgTok>),
    Op(Operator),
    Modifier(Modifier),
    Str(Lit),
    Num(String),
    /// `(` of a value list.
    ListOpen,
    ListClose,
    /// Stands for text the lexer could not make sense of; a diagnostic was reported.
    Error,
}

pub type Spanned = (usize, Tok, usize);

/// Blanks as Falco's parser skips them: space, tab, backspace, CR, LF (not form feed or
/// vertical tab, which merely end a bare string).
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 0x08 | b'\r' | b'\n')
}

/// Operand position: a field, a macro identifier, `not`, a transformer, `(`.
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
enum OperandLex {
    #[regex(r"[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)+")]
    Field,
    #[regex(r"[a-zA-Z][a-zA-Z0-9_]*")]
    Word,
    #[token("(")]
    LParen,
}

/// Operator position. Longest match, so `==` wins over `=` and `intersects` over `in`.
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
enum OpLex {
    #[token("==")]
    EqEq,
    #[token("=")]
    Eq,
    #[token("!=")]
    Ne,
    #[token("<=")]
    Le,
    #[token("<")]
    Lt,
    #[token(">=")]
    Ge,
    #[token(">")]
    Gt,
    #[regex("[a-z]+")]
    Word,
}

/// Value position: a bare string (anything but parentheses, quotes, whitespace, `=` and `,`).
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
enum ValueLex {
    #[regex(r#"[^()"'\t\n\x0b\x0c\r =,]+"#)]
    Bare,
}

/// Number position.
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
enum NumLex {
    #[regex(r"0[xX][0-9a-fA-F]+")]
    Hex,
    #[regex(r"[+\-]?[0-9]+\.?[0-9]*([eE][+\-][0-9]+)?")]
    Number,
    #[regex(r"[a-zA-Z][a-zA-Z0-9_]*")]
    Word,
}

/// A bare field argument: anything but brackets, quotes and whitespace.
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
enum ArgLex {
    #[regex(r#"[^\[\]"'\t\n\x0b\x0c\r ]+"#)]
    Bare,
}

/// What the grammar accepts next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Start of a check: field, transformer, macro, `not`, `(`.
    Operand,
    /// After a left-hand side: an operator.
    Operator,
    /// After `=`, `!=`, `contains`, ...: a string value, a modifier, `val(` or a transformer.
    StrValue {
        blank_before: bool,
    },
    /// After `<`, `<=`, `>`, `>=`.
    NumValue,
    /// After `in`, `intersects`, `pmatch`: a list, an identifier or a transformer.
    ListValue,
    /// After a modifier: a list or an identifier.
    ModifierList,
    ListElem {
        first: bool,
    },
    ListSep,
    /// After a complete check: `and`, `or`, `)` or the end.
    AfterOperand,
    TrArg,
    TrArgSep,
    TrListElem {
        first: bool,
    },
    TrListSep,
    ValField,
    ValClose,
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Lhs,
    Rhs,
    Arg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    Paren(usize),
    Transformer(usize, Role),
    TrList(usize),
    Val(usize),
    List(usize),
}

impl Frame {
    fn pos(self) -> usize {
        match self {
            Frame::Paren(p)
            | Frame::Transformer(p, _)
            | Frame::TrList(p)
            | Frame::Val(p)
            | Frame::List(p) => p,
        }
    }
}

pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    mode: Mode,
    stack: Vec<Frame>,
    max_depth: usize,
    map: &'a dyn SpanMap,
    pub diags: Vec<Diagnostic>,
    /// Whether any token was produced (to report an empty condition).
    any: bool,
}

const VALUE_HELP: &str = "a value is a bare word, a quoted string, `val(<field>)` or a transformer such as `tolower(<field>)`";

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str, map: &'a dyn SpanMap, max_depth: usize) -> Lexer<'a> {
        Lexer {
            src,
            pos: 0,
            mode: Mode::Operand,
            stack: Vec::new(),
            max_depth,
            map,
            diags: Vec::new(),
            any: false,
        }
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn byte_at(&self, at: usize) -> Option<u8> {
        self.src.as_bytes().get(at).copied()
    }

    /// Skips blanks; returns whether there were any.
    fn skip_blanks(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// The text of the next "thing" for messages: up to the next blank, at most 24 chars.
    fn describe_at(&self, at: usize) -> String {
        let rest = self.src.get(at..).unwrap_or("");
        if rest.trim().is_empty() {
            return "end of condition".to_string();
        }
        let word: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace())
            .take(24)
            .collect();
        if word.is_empty() {
            // Whitespace that is not a blank to Falco, e.g. a form feed.
            let c = rest.chars().next().unwrap_or(' ');
            return format!("`{}`", c.escape_default());
        }
        format!("`{word}`")
    }

    fn token_len_at(&self, at: usize) -> usize {
        let rest = self.src.get(at..).unwrap_or("");
        let n: usize = rest
            .char_indices()
            .take_while(|(_, c)| !c.is_whitespace() && *c != '(' && *c != ')')
            .map(|(_, c)| c.len_utf8())
            .sum();
        if n == 0 {
            rest.chars().next().map_or(0, char::len_utf8)
        } else {
            n
        }
    }

    fn diag(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Reports an error at `at..at+len` and switches to recovery. Returns the Error token.
    fn fail(&mut self, at: usize, len: usize, d: Diagnostic) -> Option<Spanned> {
        self.diag(d);
        let end = (at + len).min(self.src.len());
        // Resume scanning at the offending text itself, so that a `(` in it is balanced by its
        // `)`; a stray `)` is the offence and is stepped over.
        let from = if self.byte_at(at) == Some(b')') {
            at + 1
        } else {
            at
        };
        self.recover(from);
        Some((at, Tok::Error, end.max(at)))
    }

    fn error(
        &self,
        code: crate::Code,
        at: usize,
        len: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        let end = (at + len).min(self.src.len());
        Diagnostic::new(code, self.map.map(at, end), message)
    }

    /// Skips to a point where lexing can resume: the next `and`/`or` at this nesting level, a
    /// `)` closing an enclosing parenthesis, or the end.
    fn recover(&mut self, from: usize) {
        // Frames opened inside the broken check (transformers, lists, `val(`) are abandoned.
        // Their `(` lies before the error, so their `)` must be skipped too.
        let mut depth = 0usize;
        while matches!(self.stack.last(), Some(f) if !matches!(f, Frame::Paren(_))) {
            self.stack.pop();
            depth += 1;
        }
        let bytes = self.src.as_bytes();
        let mut i = from;
        let mut prev_blank = true;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'"' | b'\'' => {
                    // Skip a quoted string the way the lexer would have read it.
                    let mut j = i + 1;
                    while let Some(&c) = bytes.get(j) {
                        if c == b && bytes.get(j - 1) != Some(&b'\\') {
                            break;
                        }
                        j += 1;
                    }
                    i = j + 1;
                    prev_blank = false;
                    continue;
                }
                b'(' => depth += 1,
                b')' => {
                    if depth == 0 {
                        self.pos = i;
                        self.mode = Mode::AfterOperand;
                        return;
                    }
                    depth -= 1;
                }
                _ if depth == 0
                    && prev_blank
                    && (starts_kw(bytes, i, b"and") || starts_kw(bytes, i, b"or")) =>
                {
                    self.pos = i;
                    self.mode = Mode::AfterOperand;
                    return;
                }
                _ => {}
            }
            prev_blank = is_blank(b);
            i += 1;
        }
        self.pos = self.src.len();
        self.mode = Mode::AfterOperand;
    }

    fn push(&mut self, frame: Frame) -> Result<(), Box<Diagnostic>> {
        if self.stack.len() >= self.max_depth {
            let d = self
                .error(
                    codes::MAX_DEPTH,
                    frame.pos(),
                    1,
                    format!("condition nests deeper than {} levels", self.max_depth),
                )
                .with_label("this parenthesis is one level too deep")
                .with_help("split the condition into macros");
            return Err(Box::new(d));
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Reads a quoted string starting at the quote at `self.pos`. On success returns the
    /// unescaped text and advances past the closing quote.
    fn quoted(&mut self) -> Result<(String, Option<Vec<u8>>), Box<Diagnostic>> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let quote = bytes.get(start).copied().unwrap_or(b'"');
        // Falco closes a quoted string at the first delimiter not immediately preceded by a
        // backslash, without tracking escapes, so `"abc\\"` is not closed there.
        let mut j = start + 1;
        let close = loop {
            match bytes.get(j) {
                None => {
                    return Err(Box::new(self
                        .error(
                            codes::UNTERMINATED_STRING,
                            start,
                            1,
                            "quoted string is never closed",
                        )
                        .with_label("this quote has no closing partner")
                        .with_help(format!(
                            "add a closing `{}`; note that a quote preceded by a backslash does not close the string",
                            quote as char
                        ))));
                }
                Some(&c) if c == quote && bytes.get(j - 1) != Some(&b'\\') => break j,
                Some(_) => j += 1,
            }
        };
        let raw = self.src.get(start + 1..close).unwrap_or("");
        let value = unescape(raw, quote).map_err(|(off, len, msg, help)| {
            Box::new(
                self.error(codes::INVALID_ESCAPE, start + 1 + off, len, msg)
                    .with_label("unsupported escape")
                    .with_help(help),
            )
        })?;
        self.pos = close + 1;
        // Keep the exact bytes only when they are not text: `\xff` must match a 0xff byte.
        Ok(match String::from_utf8(value) {
            Ok(text) => (text, None),
            Err(e) => {
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                (text, Some(e.into_bytes()))
            }
        })
    }

    /// After a field name or a transformer's `)`: a glued `[arg]`.
    fn field_arg(&mut self) -> Result<Option<ArgTok>, Box<Diagnostic>> {
        if self.peek() != Some(b'[') {
            return Ok(None);
        }
        let open = self.pos;
        self.pos += 1;
        let (value, start) = match self.peek() {
            Some(b'"' | b'\'') => {
                let s = self.pos;
                (self.quoted()?.0, s)
            }
            _ => {
                let mut lex = ArgLex::lexer(self.rest());
                match lex.next() {
                    Some(Ok(ArgLex::Bare)) => {
                        let s = self.pos;
                        let text = lex.slice().to_string();
                        self.pos += text.len();
                        (text, s)
                    }
                    _ => {
                        return Err(Box::new(self
                            .error(
                                codes::INVALID_FIELD_ARG,
                                self.pos,
                                self.token_len_at(self.pos).max(1),
                                "expected a field argument after `[`",
                            )
                            .with_label("expected an argument here")
                            .with_help("write the argument right after `[`: a bare word without spaces or brackets, or a quoted string, e.g. `proc.aname[2]` or `evt.arg[\"name\"]`")));
                    }
                }
            }
        };
        if self.peek() != Some(b']') {
            return Err(Box::new(
                self.error(
                    codes::INVALID_FIELD_ARG,
                    self.pos,
                    self.token_len_at(self.pos).max(1),
                    "expected `]` to close the field argument",
                )
                .with_label("expected `]` here")
                .with_secondary(self.map.map(open, open + 1), "argument opened here")
                .with_help("quote an argument that contains spaces or brackets"),
            ));
        }
        self.pos += 1;
        Ok(Some(ArgTok {
            value,
            start,
            end: self.pos - 1,
        }))
    }

    /// A transformer name glued to `(` at the cursor (`len(`), not `val`.
    fn transformer_at(&self, word: &str, end: usize) -> Option<TransformerKind> {
        if self.byte_at(end) == Some(b'(') {
            TransformerKind::parse(word).filter(|t| *t != TransformerKind::Val)
        } else {
            None
        }
    }

    /// Opens a transformer whose name spans `start..name_end` (the `(` follows).
    fn open_transformer(
        &mut self,
        kind: TransformerKind,
        start: usize,
        name_end: usize,
        role: Role,
    ) -> Option<Spanned> {
        if let Err(d) = self.push(Frame::Transformer(name_end, role)) {
            return self.fail_hard(start, *d);
        }
        self.pos = name_end + 1;
        self.mode = Mode::TrArg;
        Some((start, Tok::TrOpen(kind), self.pos))
    }

    /// Stops lexing altogether (used when the nesting limit is exceeded: nothing sensible can
    /// follow, and walking further only risks deeper recursion).
    fn fail_hard(&mut self, at: usize, d: Diagnostic) -> Option<Spanned> {
        self.diag(d);
        self.stack.clear();
        self.pos = self.src.len();
        self.mode = Mode::Done;
        Some((at, Tok::Error, at))
    }

    /// Where to go after a complete right-hand side or transformer argument.
    fn after_value(&mut self) {
        self.mode = match self.stack.last() {
            Some(Frame::Transformer(..)) => Mode::TrArgSep,
            Some(Frame::TrList(_)) => Mode::TrListSep,
            _ => Mode::AfterOperand,
        };
    }

    /// `val(` or a transformer at the cursor in a right-hand-side position.
    fn rhs_call(&mut self, word: &str, start: usize) -> Option<Option<Spanned>> {
        let end = start + word.len();
        if word == "val" && self.byte_at(end) == Some(b'(') {
            if let Err(d) = self.push(Frame::Val(end)) {
                return Some(self.fail_hard(start, *d));
            }
            self.pos = end + 1;
            self.mode = Mode::ValField;
            return Some(Some((start, Tok::ValOpen, self.pos)));
        }
        let kind = self.transformer_at(word, end)?;
        Some(self.open_transformer(kind, start, end, Role::Rhs))
    }

    fn lex_field(&mut self, start: usize, len: usize) -> Result<Spanned, Box<Diagnostic>> {
        let name = self.src.get(start..start + len).unwrap_or("").to_string();
        self.pos = start + len;
        let arg = self.field_arg()?;
        Ok((start, Tok::Field(FieldTok { name, arg }), self.pos))
    }

    fn next_token(&mut self) -> Option<Spanned> {
        loop {
            match self.mode {
                Mode::Done => return None,
                Mode::Operand => return self.lex_operand(),
                Mode::Operator => return self.lex_operator(),
                Mode::StrValue { blank_before } => return self.lex_str_value(blank_before),
                Mode::NumValue => return self.lex_num_value(),
                Mode::ListValue | Mode::ModifierList => return self.lex_list_value(),
                Mode::ListElem { first } => return self.lex_list_elem(first),
                Mode::ListSep => return self.lex_list_sep(),
                Mode::AfterOperand => {
                    if let Some(t) = self.lex_after_operand() {
                        return Some(t);
                    }
                    if self.mode != Mode::Done {
                        continue;
                    }
                    return None;
                }
                Mode::TrArg => return self.lex_tr_arg(),
                Mode::TrArgSep => return self.lex_tr_arg_sep(),
                Mode::TrListElem { first } => return self.lex_tr_list_elem(first),
                Mode::TrListSep => return self.lex_tr_list_sep(),
                Mode::ValField => return self.lex_val_field(),
                Mode::ValClose => return self.lex_val_close(),
            }
        }
    }

    fn lex_operand(&mut self) -> Option<Spanned> {
        self.skip_blanks();
        let start = self.pos;
        if start >= self.src.len() {
            return self.end_of_input();
        }
        let mut lex = OperandLex::lexer(self.rest());
        let tok = lex.next();
        let len = lex.span().end;
        let word = lex.slice();
        match tok {
            Some(Ok(OperandLex::LParen)) => {
                if let Err(d) = self.push(Frame::Paren(start)) {
                    return self.fail_hard(start, *d);
                }
                self.pos = start + 1;
                Some((start, Tok::LParen, self.pos))
            }
            Some(Ok(OperandLex::Field)) => match self.lex_field(start, len) {
                Ok(t) => {
                    self.mode = Mode::Operator;
                    Some(t)
                }
                Err(d) => {
                    let at = self.pos;
                    self.fail(at, 0, *d)
                }
            },
            Some(Ok(OperandLex::Word)) => {
                let end = start + len;
                if word == "not" && matches!(self.byte_at(end), Some(b) if is_blank(b) || b == b'(')
                {
                    self.pos = end;
                    return Some((start, Tok::Not, end));
                }
                if let Some(kind) = self.transformer_at(word, end) {
                    return self.open_transformer(kind, start, end, Role::Lhs);
                }
                self.pos = end;
                self.mode = Mode::AfterOperand;
                Some((start, Tok::Ident(word.to_string()), end))
            }
            _ => {
                let len = self.token_len_at(start);
                let found = self.describe_at(start);
                let d = self
                    .error(
                        codes::UNEXPECTED_TOKEN,
                        start,
                        len,
                        format!("expected a field, a macro name, `not` or `(`, found {found}"),
                    )
                    .with_label("expected a check here")
                    .with_help(
                        "a condition is made of checks such as `proc.name = bash`, macro names, `not`, `and`, `or` and parentheses",
                    );
                self.fail(start, len, d)
            }
        }
    }

    /// Where "the end of the condition" is shown: after its last non-blank character, not
    /// after a trailing line break (which would point at the next line of the file).
    fn text_end(&self) -> usize {
        self.src.trim_end().len()
    }

    fn end_of_input(&mut self) -> Option<Spanned> {
        // Reached the end where an operand was expected.
        let at = self.text_end();
        if !self.any {
            let d = self
                .error(codes::EMPTY_CONDITION, 0, at, "condition is empty")
                .with_label("no condition here")
                .with_help("write a condition such as `evt.type = open`, or `always_true` if the rule must see every event");
            self.diag(d);
        } else {
            let d = self
                .error(
                    codes::UNEXPECTED_TOKEN,
                    at,
                    0,
                    "condition ends where a check is expected",
                )
                .with_label("expected a check after this")
                .with_help("remove the trailing `and`/`or`/`not`, or complete the condition");
            self.diag(d);
        }
        self.mode = Mode::Done;
        self.report_unclosed();
        Some((at, Tok::Error, at))
    }

    fn lex_operator(&mut self) -> Option<Spanned> {
        self.skip_blanks();
        let start = self.pos;
        let mut lex = OpLex::lexer(self.rest());
        let tok = lex.next();
        let len = lex.span().end;
        let word = lex.slice();
        let end = start + len;
        let op = match tok {
            Some(Ok(OpLex::EqEq)) => Some(Operator::EqEq),
            Some(Ok(OpLex::Eq)) => Some(Operator::Eq),
            Some(Ok(OpLex::Ne)) => Some(Operator::Ne),
            Some(Ok(OpLex::Le)) => Some(Operator::Le),
            Some(Ok(OpLex::Lt)) => Some(Operator::Lt),
            Some(Ok(OpLex::Ge)) => Some(Operator::Ge),
            Some(Ok(OpLex::Gt)) => Some(Operator::Gt),
            Some(Ok(OpLex::Word)) => self.word_operator(word, end),
            _ => None,
        };
        let Some(op) = op else {
            let found = self.describe_at(start);
            let blen = self.token_len_at(start);
            let mut d = self
                .error(
                    codes::EXPECTED_OPERATOR,
                    start,
                    blen,
                    format!("expected an operator, found {found}"),
                )
                .with_label("expected an operator here");
            // A word operator glued to its value (`containsvalue`) gets a precise hint.
            let glued = Operator::ALL.iter().copied().find(|k| {
                let s = k.as_str();
                s.len() > 2 && word.len() > s.len() && word.starts_with(s)
            });
            d = match glued {
                Some(k) => {
                    let s = k.as_str();
                    let fix_at = self.map.map(start + s.len(), start + s.len());
                    d.with_help(format!("put a blank between `{s}` and its value"))
                        .with_fix(fix_at, " ")
                }
                None => d.with_help("operators are `=`, `!=`, `<`, `<=`, `>`, `>=`, `contains`, `icontains`, `startswith`, `endswith`, `glob`, `iglob`, `regex`, `bcontains`, `bstartswith`, `in`, `intersects`, `pmatch` and `exists`"),
            };
            return self.fail(start, blen, d);
        };
        // A word operator may be a prefix of the lexed word (`existsand`, `inmy_list`).
        let end = match tok {
            Some(Ok(OpLex::Word)) => start + op.as_str().len(),
            _ => end,
        };
        self.pos = end;
        self.mode = match op {
            Operator::Exists => Mode::AfterOperand,
            k if k.is_relational() => Mode::NumValue,
            k if k.takes_list() => Mode::ListValue,
            _ => Mode::StrValue {
                blank_before: false,
            },
        };
        Some((start, Tok::Op(op), end))
    }

    /// A word operator. `exists`, `in`, `intersects` and `pmatch` need no blank after them;
    /// the others do (Falco matches them as `contains ` with the blank).
    fn word_operator(&self, word: &str, end: usize) -> Option<Operator> {
        // The word lexer is greedy (`existsand`), so find the longest operator that prefixes it.
        let candidates = [
            Operator::Exists,
            Operator::Intersects,
            Operator::In,
            Operator::PMatch,
        ];
        let followed_by_blank = |n: usize| self.byte_at(end - word.len() + n).is_some_and(is_blank);
        if let Some(op) = Operator::parse(word)
            && !op.is_relational()
            && !matches!(op, Operator::Eq | Operator::EqEq | Operator::Ne)
        {
            if candidates.contains(&op) || followed_by_blank(word.len()) {
                return Some(op);
            }
            return None;
        }
        candidates
            .into_iter()
            .find(|op| word.starts_with(op.as_str()))
            .filter(|op| {
                // `existsand` is `exists` + `and`; `inx` is `in` + identifier `x`.
                *op != Operator::Exists || word.len() > op.as_str().len()
            })
    }

    fn lex_str_value(&mut self, blank_before: bool) -> Option<Spanned> {
        let blank = self.skip_blanks() || blank_before;
        let start = self.pos;
        match self.peek() {
            Some(b'"' | b'\'') => {
                return match self.quoted() {
                    Ok((text, bytes)) => {
                        self.after_value();
                        Some((
                            start,
                            Tok::Str(Lit {
                                text,
                                quoted: true,
                                bytes,
                            }),
                            self.pos,
                        ))
                    }
                    Err(d) => self.fail(start, 1, *d),
                };
            }
            None => return self.missing_value(start, "a value"),
            _ => {}
        }
        let mut lex = ValueLex::lexer(self.rest());
        let Some(Ok(ValueLex::Bare)) = lex.next() else {
            return self.missing_value(start, "a value");
        };
        let word = lex.slice();
        let end = start + word.len();
        if let Some(t) = self.rhs_call(word, start) {
            return t;
        }
        if blank
            && let Some(m) = Modifier::parse(word)
            && self.modifier_follows(end)
        {
            self.pos = end;
            self.mode = Mode::ModifierList;
            return Some((start, Tok::Modifier(m), end));
        }
        self.pos = end;
        self.after_value();
        Some((
            start,
            Tok::Str(Lit {
                text: word.to_string(),
                quoted: false,
                bytes: None,
            }),
            end,
        ))
    }

    /// A modifier word is one only when blanks and then a list or a list name follow;
    /// `proc.name == anyof and ...` compares with the string `anyof`.
    fn modifier_follows(&self, end: usize) -> bool {
        let bytes = self.src.as_bytes();
        let mut i = end;
        while bytes.get(i).copied().is_some_and(is_blank) {
            i += 1;
        }
        if i == end {
            return false;
        }
        match bytes.get(i) {
            Some(b'(') => true,
            Some(b) if b.is_ascii_alphabetic() => {
                let mut j = i;
                while bytes
                    .get(j)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    j += 1;
                }
                let word = self.src.get(i..j).unwrap_or("");
                let keyword_follows = bytes.get(j).is_none()
                    || bytes
                        .get(j)
                        .copied()
                        .is_some_and(|c| is_blank(c) || c == b'(');
                !(matches!(word, "and" | "or" | "not") && keyword_follows)
            }
            _ => false,
        }
    }

    fn missing_value(&mut self, start: usize, what: &str) -> Option<Spanned> {
        let start = if start >= self.src.len() {
            self.text_end()
        } else {
            start
        };
        let found = self.describe_at(start);
        let len = self.token_len_at(start);
        let d = self
            .error(
                codes::EXPECTED_VALUE,
                start,
                len,
                format!("expected {what} after the operator, found {found}"),
            )
            .with_label(format!("expected {what} here"))
            .with_help(VALUE_HELP);
        self.fail(start, len, d)
    }

    fn lex_num_value(&mut self) -> Option<Spanned> {
        self.skip_blanks();
        let start = self.pos;
        let mut lex = NumLex::lexer(self.rest());
        let tok = lex.next();
        let word = lex.slice();
        match tok {
            Some(Ok(NumLex::Hex | NumLex::Number)) => {
                self.pos = start + word.len();
                self.after_value();
                Some((start, Tok::Num(word.to_string()), self.pos))
            }
            Some(Ok(NumLex::Word)) => match self.rhs_call(word, start) {
                Some(t) => t,
                None => self.missing_value(start, "a number"),
            },
            _ => self.missing_value(start, "a number"),
        }
    }

    fn lex_list_value(&mut self) -> Option<Spanned> {
        self.skip_blanks();
        let start = self.pos;
        let list_only = self.mode == Mode::ModifierList;
        if self.peek() == Some(b'(') {
            if let Err(d) = self.push(Frame::List(start)) {
                return self.fail_hard(start, *d);
            }
            self.pos = start + 1;
            self.mode = Mode::ListElem { first: true };
            return Some((start, Tok::ListOpen, self.pos));
        }
        let mut lex = OperandLex::lexer(self.rest());
        if let Some(Ok(OperandLex::Word)) = lex.next() {
            let word = lex.slice();
            if !list_only && let Some(t) = self.rhs_call(word, start) {
                return t;
            }
            self.pos = start + word.len();
            self.after_value();
            return Some((start, Tok::Ident(word.to_string()), self.pos));
        }
        let found = self.describe_at(start);
        let len = self.token_len_at(start);
        let d = self
            .error(
                codes::EXPECTED_VALUE,
                start,
                len,
                format!("expected a list after the operator, found {found}"),
            )
            .with_label("expected `(`, a list name or a transformer here")
            .with_help("write the values in parentheses, e.g. `proc.name in (bash, sh)`");
        self.fail(start, len, d)
    }

    fn lex_list_elem(&mut self, first: bool) -> Option<Spanned> {
        self.skip_blanks();
        let start = self.pos;
        if start >= self.src.len() {
            let at = self.text_end();
            let open = self.stack.last().map_or(at, |f| f.pos());
            let d = self
                .error(codes::INVALID_LIST, at, 0, "list is never closed")
                .with_label("expected a value or `)` here")
                .with_secondary(self.map.map(open, open + 1), "list opened here")
                .with_help("close the list with `)`");
            self.stack.pop();
            return self.fail(at, 0, d);
        }
        match self.peek() {
            Some(b')') if first => return self.close_list(start),
            Some(b'"' | b'\'') => {
                return match self.quoted() {
                    Ok((text, bytes)) => {
                        self.mode = Mode::ListSep;
                        Some((
                            start,
                            Tok::Str(Lit {
                                text,
                                quoted: true,
                                bytes,
                            }),
                            self.pos,
                        ))
                    }
                    Err(d) => self.fail(start, 1, *d),
                };
            }
            _ => {}
        }
        let mut lex = ValueLex::lexer(self.rest());
        if let Some(Ok(ValueLex::Bare)) = lex.next() {
            let text = lex.slice().to_string();
            self.pos = start + text.len();
            self.mode = Mode::ListSep;
            return Some((
                start,
                Tok::Str(Lit {
                    text,
                    quoted: false,
                    bytes: None,
                }),
                self.pos,
            ));
        }
        let found = self.describe_at(start);
        let len = self.token_len_at(start).max(1);
        let mut d = self
            .error(
                codes::INVALID_LIST,
                start,
                len,
                format!("expected a value in the list, found {found}"),
            )
            .with_label("expected a value here");
        d = if start >= self.src.len() {
            d.with_help("close the list with `)`")
        } else if first {
            d.with_help("a list is `()` or values separated by commas, e.g. `(bash, sh)`")
        } else {
            d.with_help("remove the extra comma")
        };
        self.fail(start, len, d)
    }

    fn close_list(&mut self, at: usize) -> Option<Spanned> {
        self.stack.pop();
        self.pos = at + 1;
        self.after_value();
        Some((at, Tok::ListClose, self.pos))
    }

    fn lex_list_sep(&mut self) -> Option<Spanned> {
        self.skip_blanks();
        let start = self.pos;
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.mode = Mode::ListElem { first: false };
                Some((start, Tok::Comma, self.pos))
            }
            Some(b')') => self.close_list(start),
            _ => {
                let found = self.describe_at(start);
                let len = self.token_len_at(start);
                let open = self.stack.last().map_or(start, |f| f.pos());
                let mut d = self
                    .error(
                        codes::INVALID_LIST,
                        start,
                        len,
                        format!("expected `,` or `)` in the list, found {found}"),
                    )
                    .with_label("expected `,` or `)` here")
                    .with_secondary(self.map.map(open, open + 1), "list opened here");
                d = if self.peek() == Some(b'(') {
                    d.with_help("a list holds plain values; transformers and fields are not allowed inside `(...)`")
                } else {
                    d.with_help("separate values with commas and quote values that contain blanks")
                };
                self.fail(start, len, d)
            }
        }
    }

    /// Returns `None` after switching to [`Mode::Done`] at the end of the input.
    fn lex_after_operand(&mut self) -> Option<Spanned> {
        self.skip_blanks();
        let start = self.pos;
        let bytes = self.src.as_bytes();
        match bytes.get(start) {
            None => {
                self.mode = Mode::Done;
                self.report_unclosed();
                None
            }
            Some(b')') => {
                match self.stack.last() {
                    Some(Frame::Paren(_)) => {
                        self.stack.pop();
                        self.pos = start + 1;
                        Some((start, Tok::RParen, self.pos))
                    }
                    _ => {
                        let d = self
                            .error(codes::UNMATCHED_PAREN, start, 1, "unmatched `)`")
                            .with_label("this parenthesis closes nothing")
                            .with_help("remove it, or add the matching `(`");
                        self.diag(d);
                        // Skip it and go on: what follows may still be a valid condition.
                        self.pos = start + 1;
                        Some((start, Tok::Error, self.pos))
                    }
                }
            }
            Some(_) => {
                for (kw, tok) in [("and", Tok::And), ("or", Tok::Or)] {
                    if self.rest().starts_with(kw) {
                        let end = start + kw.len();
                        match bytes.get(end) {
                            Some(&b) if is_blank(b) || b == b'(' => {
                                self.pos = end;
                                self.mode = Mode::Operand;
                                return Some((start, tok, end));
                            }
                            _ => {
                                let at = self.map.map(end, end);
                                let d = self
                                    .error(
                                        codes::MISSING_BLANK,
                                        start,
                                        kw.len(),
                                        format!("expected a blank or `(` after `{kw}`"),
                                    )
                                    .with_label(format!(
                                        "`{kw}` must be followed by a blank or `(`"
                                    ))
                                    .with_help(format!(
                                        "put a blank after `{kw}`, and a check after it"
                                    ))
                                    .with_fix(at, " ");
                                return self.fail(start, kw.len(), d);
                            }
                        }
                    }
                }
                let found = self.describe_at(start);
                let len = self.token_len_at(start);
                let mut d = self
                    .error(
                        codes::UNEXPECTED_TOKEN,
                        start,
                        len,
                        format!("expected `and`, `or` or the end of the condition, found {found}"),
                    )
                    .with_label("unexpected text");
                let before = self.src.get(..start).unwrap_or("");
                let glued_word = before
                    .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or("");
                d = match bytes.get(start) {
                    Some(b'(') if glued_word == "val" => d.with_help(
                        "`val()` is only allowed on the right-hand side of a check, e.g. `proc.name = val(proc.pname)`",
                    ),
                    Some(b'(') if Modifier::parse(glued_word).is_some() => {
                        let at = self.map.map(start, start);
                        d.with_help(format!("put a blank between `{glued_word}` and `(`"))
                            .with_fix(at, " ")
                    }
                    Some(b'(') => d.with_help("a transformer is written without a blank before `(` (e.g. `tolower(proc.name)`), and a list follows `in`, `intersects`, `pmatch` or a modifier such as `anyof`"),
                    Some(b'"' | b'\'') => d.with_help("a quote inside a bare value must be escaped inside a quoted string, and nothing may be glued to a closing quote"),
                    _ if self.src.get(start..).is_some_and(|r| r.starts_with("not")) => d.with_help("`not` goes before a check: write `and not ...` or `or not ...`"),
                    _ => d.with_help("quote values that contain blanks, e.g. `proc.cmdline = \"a b\"`, and join checks with `and` or `or`"),
                };
                self.fail(start, len, d)
            }
        }
    }

    fn report_unclosed(&mut self) {
        let frames = std::mem::take(&mut self.stack);
        for f in frames.into_iter().rev() {
            let at = f.pos();
            let end = self.text_end();
            let d = self
                .error(codes::UNCLOSED_PAREN, at, 1, "unclosed `(`")
                .with_label("this parenthesis is never closed")
                .with_secondary(self.map.map(end, end), "expected `)` before the end")
                .with_help("add the missing `)`");
            self.diag(d);
        }
    }

    fn lex_tr_arg(&mut self) -> Option<Spanned> {
        self.skip_blanks();
        let start = self.pos;
        match self.peek() {
            Some(b'"' | b'\'') => {
                return match self.quoted() {
                    Ok((text, bytes)) => {
                        self.mode = self.sep_mode();
                        Some((
                            start,
                            Tok::Str(Lit {
                                text,
                                quoted: true,
                                bytes,
                            }),
                            self.pos,
                        ))
                    }
                    Err(d) => self.fail(start, 1, *d),
                };
            }
            Some(b'(') if !self.in_tr_list() => {
                if let Err(d) = self.push(Frame::TrList(start)) {
                    return self.fail_hard(start, *d);
                }
                self.pos = start + 1;
                self.mode = Mode::TrListElem { first: true };
                return Some((start, Tok::TrListOpen, self.pos));
            }
            _ => {}
        }
        let mut lex = OperandLex::lexer(self.rest());
        let tok = lex.next();
        let len = lex.span().end;
        match tok {
            Some(Ok(OperandLex::Field)) => {
                return match self.lex_field(start, len) {
                    Ok(t) => {
                        self.mode = self.sep_mode();
                        Some(t)
                    }
                    Err(d) => {
                        let at = self.pos;
                        self.fail(at, 0, *d)
                    }
                };
            }
            Some(Ok(OperandLex::Word)) => {
                let word = lex.slice();
                if let Some(kind) = self.transformer_at(word, start + len) {
                    return self.open_transformer(kind, start, start + len, Role::Arg);
                }
            }
            _ => {}
        }
        let mut nlex = NumLex::lexer(self.rest());
        if let Some(Ok(NumLex::Hex | NumLex::Number)) = nlex.next() {
            let text = nlex.slice().to_string();
            self.pos = start + text.len();
            self.mode = self.sep_mode();
            return Some((start, Tok::Num(text), self.pos));
        }
        let found = self.describe_at(start);
        let len = self.token_len_at(start);
        let in_list = self.in_tr_list();
        let what = if in_list {
            "a field, a transformer, a quoted string or a number"
        } else {
            "a field, a transformer, a quoted string, a number or a list"
        };
        let mut d = self
            .error(
                codes::INVALID_TRANSFORMER,
                start,
                len,
                format!("expected a transformer argument, found {found}"),
            )
            .with_label(format!("expected {what}"));
        d = if self.rest().starts_with("val(") {
            d.with_help("`val()` is only allowed directly on the right-hand side of a check")
        } else {
            d.with_help(format!("a transformer argument is {what}"))
        };
        self.fail(start, len, d)
    }

    fn in_tr_list(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::TrList(_)))
    }

    fn sep_mode(&self) -> Mode {
        if self.in_tr_list() {
            Mode::TrListSep
        } else {
            Mode::TrArgSep
        }
    }

    fn lex_tr_arg_sep(&mut self) -> Option<Spanned> {
        self.skip_blanks();
        let start = self.pos;
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.mode = Mode::TrArg;
                Some((start, Tok::Comma, self.pos))
            }
            Some(b')') => {
                let role = match self.stack.pop() {
                    Some(Frame::Transformer(_, role)) => role,
                    _ => Role::Arg,
                };
                self.pos = start + 1;
                let arg = match self.field_arg() {
                    Ok(a) => a,
                    Err(d) => {
                        let at = self.pos;
                        return self.fail(at, 0, *d);
                    }
                };
                self.mode = match role {
                    Role::Lhs => Mode::Operator,
                    Role::Rhs => Mode::AfterOperand,
                    Role::Arg => self.sep_mode(),
                };
                if role == Role::Rhs {
                    self.after_value();
                }
                Some((start, Tok::TrClose(arg), self.pos))
            }
            _ => {
                let open = self.stack.last().map_or(start, |f| f.pos());
                let found = self.describe_at(start);
                let len = self.token_len_at(start).max(1);
                let d = self
                    .error(
                        codes::INVALID_TRANSFORMER,
                        start,
                        len,
                        format!("expected `,` or `)` in the transformer, found {found}"),
                    )
                    .with_label("expected `)` here")
                    .with_secondary(self.map.map(open, open + 1), "transformer opened here")
                    .with_help("close the transformer with `)`; a field argument must be glued to the field, e.g. `proc.aname[2]`");
                self.fail(start, len, d)
            }
        }
    }

    fn lex_tr_list_elem(&mut self, first: bool) -> Option<Spanned> {
        self.skip_blanks();
        if first && self.peek() == Some(b')') {
            let start = self.pos;
            self.stack.pop();
            self.pos = start + 1;
            self.mode = self.sep_mode();
            return Some((start, Tok::TrListClose, self.pos));
        }
        self.lex_tr_arg()
    }

    fn lex_tr_list_sep(&mut self) -> Option<Spanned> {
        self.skip_blanks();
        let start = self.pos;
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.mode = Mode::TrListElem { first: false };
                Some((start, Tok::Comma, self.pos))
            }
            Some(b')') => {
                self.stack.pop();
                self.pos = start + 1;
                self.mode = self.sep_mode();
                Some((start, Tok::TrListClose, self.pos))
            }
            _ => {
                let found = self.describe_at(start);
                let len = self.token_len_at(start).max(1);
                let d = self
                    .error(
                        codes::INVALID_TRANSFORMER,
                        start,
                        len,
                        format!("expected `,` or `)` in the transformer list, found {found}"),
                    )
                    .with_label("expected `,` or `)` here")
                    .with_help("separate the elements with commas");
                self.fail(start, len, d)
            }
        }
    }

    fn lex_val_field(&mut self) -> Option<Spanned> {
        self.skip_blanks();
        let start = self.pos;
        let mut lex = OperandLex::lexer(self.rest());
        if let Some(Ok(OperandLex::Field)) = lex.next() {
            let len = lex.span().end;
            return match self.lex_field(start, len) {
                Ok(t) => {
                    self.mode = Mode::ValClose;
                    Some(t)
                }
                Err(d) => {
                    let at = self.pos;
                    self.fail(at, 0, *d)
                }
            };
        }
        let found = self.describe_at(start);
        let len = self.token_len_at(start);
        let d = self
            .error(
                codes::INVALID_TRANSFORMER,
                start,
                len,
                format!("expected a field inside `val()`, found {found}"),
            )
            .with_label("expected a field here")
            .with_help("`val()` takes exactly one field, e.g. `val(proc.pname)`; transformers go outside: `tolower(proc.pname)`");
        self.fail(start, len, d)
    }

    fn lex_val_close(&mut self) -> Option<Spanned> {
        self.skip_blanks();
        let start = self.pos;
        if self.peek() == Some(b')') {
            self.stack.pop();
            self.pos = start + 1;
            let arg = match self.field_arg() {
                Ok(a) => a,
                Err(d) => {
                    let at = self.pos;
                    return self.fail(at, 0, *d);
                }
            };
            self.after_value();
            return Some((start, Tok::ValClose(arg), self.pos));
        }
        let found = self.describe_at(start);
        let len = self.token_len_at(start).max(1);
        let open = self.stack.last().map_or(start, |f| f.pos());
        let d = self
            .error(
                codes::INVALID_TRANSFORMER,
                start,
                len,
                format!("expected `)` to close `val(`, found {found}"),
            )
            .with_label("expected `)` here")
            .with_secondary(self.map.map(open, open + 1), "`val(` opened here")
            .with_help("`val()` takes exactly one field; a field argument must be glued to it, e.g. `val(proc.aname[2])`");
        self.fail(start, len, d)
    }
}

/// Whether `kw` starts at `i` followed by a blank or `(`.
fn starts_kw(bytes: &[u8], i: usize, kw: &[u8]) -> bool {
    bytes.get(i..i + kw.len()) == Some(kw)
        && bytes
            .get(i + kw.len())
            .is_some_and(|&b| is_blank(b) || b == b'(')
}

impl Iterator for Lexer<'_> {
    type Item = Result<Spanned, std::convert::Infallible>;

    fn next(&mut self) -> Option<Self::Item> {
        let t = self.next_token()?;
        self.any = true;
        Some(Ok(t))
    }
}

/// Decodes Falco's escapes in the raw text between the quotes. On failure returns the offset
/// and length of the bad escape in `raw`, a message and a help text.
#[allow(clippy::type_complexity)]
pub fn unescape(raw: &str, quote: u8) -> Result<Vec<u8>, (usize, usize, String, String)> {
    let bytes = raw.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let next = bytes.get(i + 1).copied();
        let simple = match next {
            Some(b'b') => Some(0x08),
            Some(b'f') => Some(0x0c),
            Some(b'n') => Some(b'\n'),
            Some(b'r') => Some(b'\r'),
            Some(b't') => Some(b'\t'),
            Some(b'\\') => Some(b'\\'),
            Some(b'/') => Some(b'/'),
            // Legacy tolerance: backslash-space yields a backslash and drops the space.
            Some(b' ') => Some(b'\\'),
            Some(b'"') if quote == b'"' => Some(b'"'),
            Some(b'\'') if quote == b'\'' => Some(b'\''),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        if next == Some(b'x') {
            let hex = bytes.get(i + 2..i + 4);
            if let Some(h) = hex
                && h.iter().all(u8::is_ascii_hexdigit)
                && let Ok(s) = std::str::from_utf8(h)
                && let Ok(v) = u8::from_str_radix(s, 16)
            {
                out.push(v);
                i += 4;
                continue;
            }
            return Err((
                i,
                2,
                "`\\x` must be followed by exactly two hex digits".to_string(),
                "write a byte as `\\xHH`, e.g. `\\x41`".to_string(),
            ));
        }
        let shown: String = raw.get(i..).unwrap_or("").chars().take(2).collect();
        let (msg, help) = match next {
            Some(b'"') => (
                "`\\\"` is not an escape inside a single-quoted string".to_string(),
                "write `\"` without a backslash inside single quotes".to_string(),
            ),
            Some(b'\'') => (
                "`\\'` is not an escape inside a double-quoted string".to_string(),
                "write `'` without a backslash inside double quotes".to_string(),
            ),
            _ => (
                format!("unsupported escape sequence `{shown}`"),
                "supported escapes are `\\\\`, `\\\"`, `\\'`, `\\/`, `\\b`, `\\f`, `\\n`, `\\r`, `\\t` and `\\xHH`; for a regex, write the value bare or double the backslash".to_string(),
            ),
        };
        return Err((i, shown.len().max(1), msg, help));
    }
    Ok(out)
}
