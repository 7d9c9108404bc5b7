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
    pub kind: OpKind,
    pub modifier: Option<Modifier>,
    pub span: FileSpan,
    /// The modifier word's span, when there is one.
    pub modifier_span: Option<FileSpan>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    Eq,
    EqEq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Glob,
    IGlob,
    Contains,
    IContains,
    BContains,
    StartsWith,
    BStartsWith,
    EndsWith,
    Regex,
    In,
    Intersects,
    PMatch,
    Exists,
}

impl OpKind {
    pub const ALL: [OpKind; 20] = [
        OpKind::Eq,
        OpKind::EqEq,
        OpKind::Ne,
        OpKind::Lt,
        OpKind::Le,
        OpKind::Gt,
        OpKind::Ge,
        OpKind::Glob,
        OpKind::IGlob,
        OpKind::Contains,
        OpKind::IContains,
        OpKind::BContains,
        OpKind::StartsWith,
        OpKind::BStartsWith,
        OpKind::EndsWith,
        OpKind::Regex,
        OpKind::In,
        OpKind::Intersects,
        OpKind::PMatch,
        OpKind::Exists,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Eq => "=",
            OpKind::EqEq => "==",
            OpKind::Ne => "!=",
            OpKind::Lt => "<",
            OpKind::Le => "<=",
            OpKind::Gt => ">",
            OpKind::Ge => ">=",
            OpKind::Glob => "glob",
            OpKind::IGlob => "iglob",
            OpKind::Contains => "contains",
            OpKind::IContains => "icontains",
            OpKind::BContains => "bcontains",
            OpKind::StartsWith => "startswith",
            OpKind::BStartsWith => "bstartswith",
            OpKind::EndsWith => "endswith",
            OpKind::Regex => "regex",
            OpKind::In => "in",
            OpKind::Intersects => "intersects",
            OpKind::PMatch => "pmatch",
            OpKind::Exists => "exists",
        }
    }

    pub fn parse(text: &str) -> Option<OpKind> {
        OpKind::ALL.into_iter().find(|op| op.as_str() == text)
    }

    /// The operators whose value is a number (or a transformer) in the grammar.
    pub fn is_numeric(self) -> bool {
        matches!(self, OpKind::Lt | OpKind::Le | OpKind::Gt | OpKind::Ge)
    }

    /// The operators whose value is a list, an identifier or a transformer.
    pub fn is_list(self) -> bool {
        matches!(self, OpKind::In | OpKind::Intersects | OpKind::PMatch)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Modifier {
    OneOf,
    AnyOf,
    AllOf,
}

impl Modifier {
    pub fn as_str(self) -> &'static str {
        match self {
            Modifier::OneOf => "oneof",
            Modifier::AnyOf => "anyof",
            Modifier::AllOf => "allof",
        }
    }

    pub fn parse(text: &str) -> Option<Modifier> {
        match text {
            "oneof" => Some(Modifier::OneOf),
            "anyof" => Some(Modifier::AnyOf),
            "allof" => Some(Modifier::AllOf),
            _ => None,
        }
    }
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransformerKind {
    ToLower,
    ToUpper,
    B64,
    Basename,
    Len,
    Join,
    Concat,
    Getopt,
}

impl TransformerKind {
    pub const ALL: [TransformerKind; 8] = [
        TransformerKind::ToLower,
        TransformerKind::ToUpper,
        TransformerKind::B64,
        TransformerKind::Basename,
        TransformerKind::Len,
        TransformerKind::Join,
        TransformerKind::Concat,
        TransformerKind::Getopt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransformerKind::ToLower => "tolower",
            TransformerKind::ToUpper => "toupper",
            TransformerKind::B64 => "b64",
            TransformerKind::Basename => "basename",
            TransformerKind::Len => "len",
            TransformerKind::Join => "join",
            TransformerKind::Concat => "concat",
            TransformerKind::Getopt => "getopt",
        }
    }

    pub fn parse(text: &str) -> Option<TransformerKind> {
        TransformerKind::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
    }
}

/// `tolower(proc.name)`, `join(",", (a.b, c.d))`, `getopt(proc.args, "t:")[t]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transformer {
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
