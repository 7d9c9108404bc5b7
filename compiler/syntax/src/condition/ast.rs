//! The syntax tree of a condition.
//!
//! The tree mirrors what the source says, not what it means: `=` and `==` stay distinct, a
//! value stays a string until the checker types it, a list name on the right of `in` stays an
//! identifier. Every node carries the [`FileSpan`] of the text it came from, already mapped
//! through the YAML scalar (and, later, list substitution), so that diagnostics of any later
//! stage point into the file.
//!
//! INVARIANT: parsing never fails; where the input is broken the tree holds an
//! [`Expr::Error`] hole and a diagnostic was reported.

use crate::span::FileSpan;

/// The operators, modifiers and transformers are the schema's: one definition for the parser,
/// the checker, the program and the runtime. `TransformerKind` names the enum here because the
/// syntax tree's call node is `Transformer`.
pub use lanner_schema::{Modifier, Operator, Transformer as TransformerKind};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// `a and b and c`: flattened, at least two children.
    And(Vec<Expr>, FileSpan),
    /// `a or b or c`: flattened, at least two children.
    Or(Vec<Expr>, FileSpan),
    Not(Box<Expr>, FileSpan),
    /// A bare identifier: a macro reference.
    Macro(Ident),
    Check(Box<Check>),
    /// A hole where the text could not be parsed.
    Error(FileSpan),
}

impl Expr {
    pub fn span(&self) -> FileSpan {
        match self {
            Expr::And(_, s) | Expr::Or(_, s) | Expr::Not(_, s) | Expr::Error(s) => *s,
            Expr::Macro(id) => id.span,
            Expr::Check(c) => c.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: String,
    pub span: FileSpan,
}

/// `lhs op rhs` or `lhs exists`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Check {
    pub lhs: Operand,
    pub op: Op,
    /// `None` exactly for `exists`.
    pub rhs: Option<Rhs>,
    pub span: FileSpan,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Op {
    pub kind: Operator,
    pub modifier: Option<Modifier>,
    pub span: FileSpan,
    /// The modifier word's span, when there is one.
    pub modifier_span: Option<FileSpan>,
}

/// The left-hand side of a check, or an argument of a transformer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    Field(FieldRef),
    Transformer(Transformer),
}

impl Operand {
    pub fn span(&self) -> FileSpan {
        match self {
            Operand::Field(f) => f.span,
            Operand::Transformer(t) => t.span,
        }
    }
}

/// `proc.name`, `proc.aname[2]`, `evt.arg["key with space"]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldRef {
    pub name: String,
    pub name_span: FileSpan,
    pub arg: Option<FieldArg>,
    /// Name and argument together.
    pub span: FileSpan,
}

/// The text between `[` and `]`, unescaped. An empty argument (`[""]`) differs from none.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldArg {
    pub value: String,
    pub span: FileSpan,
}

/// `tolower(proc.name)`, `join(",", (a.b, c.d))`, `getopt(proc.args, "t:")[t]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transformer {
    /// Never `val`, which the grammar reads as a right-hand-side field.
    pub kind: TransformerKind,
    pub name_span: FileSpan,
    pub args: Vec<TrArg>,
    /// A trailing `[arg]` (only `getopt` accepts one; the checker says so).
    pub arg: Option<FieldArg>,
    pub span: FileSpan,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TrArg {
    Field(FieldRef),
    Transformer(Transformer),
    /// A quoted string.
    Str(Value),
    /// A number as written.
    Number(Value),
    /// `(a, b, ...)`: a transformer list (for `join`, `getopt`).
    List(Vec<TrArg>, FileSpan),
}

/// A string or number as written in the condition, unescaped.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Value {
    /// The value as text (with U+FFFD for bytes that are not UTF-8).
    pub text: String,
    pub span: FileSpan,
    pub quoted: bool,
    /// The exact bytes, only when an `\xHH` escape made them something other than UTF-8.
    pub bytes: Option<Vec<u8>>,
}

impl Value {
    /// The exact bytes of the value.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.as_deref().unwrap_or(self.text.as_bytes())
    }
}

/// The right-hand side of a binary check.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Rhs {
    /// A single quoted or bare value, or a number.
    Value(Value),
    /// `in my_list` / `== anyof my_list`: an identifier standing for one value (after list
    /// substitution it is the list's single item or the literal word).
    Ident(Ident),
    /// `(a, "b c", d)`.
    List(Vec<Value>, FileSpan),
    /// `val(proc.pname)`, with a trailing `[arg]` that Falco's grammar allows on any
    /// transformer (the checker rejects it).
    Val {
        field: FieldRef,
        arg: Option<FieldArg>,
        span: FileSpan,
    },
    Transformer(Transformer),
}

impl Rhs {
    pub fn span(&self) -> FileSpan {
        match self {
            Rhs::Value(v) => v.span,
            Rhs::Ident(i) => i.span,
            Rhs::List(_, s) | Rhs::Val { span: s, .. } => *s,
            Rhs::Transformer(t) => t.span,
        }
    }
}
