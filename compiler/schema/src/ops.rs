//! Comparison operators and which field types accept them (language.md §3.1).

use std::fmt;
use std::str::FromStr;

use crate::types::{FieldType, TypeCategory, UnknownName};

/// A comparison operator of the condition language.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Operator {
    /// `=`
    Eq,
    /// `==`, kept apart from `=` because the AST keeps the spelling; both compile alike.
    EqEq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `contains`
    Contains,
    /// `icontains`
    IContains,
    /// `bcontains`
    BContains,
    /// `startswith`
    StartsWith,
    /// `bstartswith`
    BStartsWith,
    /// `endswith`
    EndsWith,
    /// `glob`
    Glob,
    /// `iglob`
    IGlob,
    /// `pmatch`
    PMatch,
    /// `in`
    In,
    /// `intersects`
    Intersects,
    /// `regex`
    Regex,
    /// `exists` (unary)
    Exists,
}

impl Operator {
    /// Every operator, in the order language.md lists them.
    pub const ALL: &'static [Operator] = &[
        Operator::Eq,
        Operator::EqEq,
        Operator::Ne,
        Operator::Lt,
        Operator::Le,
        Operator::Gt,
        Operator::Ge,
        Operator::Contains,
        Operator::IContains,
        Operator::BContains,
        Operator::StartsWith,
        Operator::BStartsWith,
        Operator::EndsWith,
        Operator::Glob,
        Operator::IGlob,
        Operator::PMatch,
        Operator::In,
        Operator::Intersects,
        Operator::Regex,
        Operator::Exists,
    ];

    /// The operator as written in conditions.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::EqEq => "==",
            Operator::Ne => "!=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::Contains => "contains",
            Operator::IContains => "icontains",
            Operator::BContains => "bcontains",
            Operator::StartsWith => "startswith",
            Operator::BStartsWith => "bstartswith",
            Operator::EndsWith => "endswith",
            Operator::Glob => "glob",
            Operator::IGlob => "iglob",
            Operator::PMatch => "pmatch",
            Operator::In => "in",
            Operator::Intersects => "intersects",
            Operator::Regex => "regex",
            Operator::Exists => "exists",
        }
    }

    /// The operator spelled `text`, exactly.
    pub fn parse(text: &str) -> Option<Operator> {
        Operator::ALL.iter().copied().find(|op| op.as_str() == text)
    }

    /// True for `exists`, the only operator without a right-hand side.
    pub const fn is_unary(self) -> bool {
        matches!(self, Operator::Exists)
    }

    /// True for the relational operators, which the grammar only lets take numbers.
    pub const fn is_relational(self) -> bool {
        matches!(
            self,
            Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge
        )
    }

    /// True for operators whose right-hand side is a list (`in`, `intersects`, `pmatch`).
    pub const fn takes_list(self) -> bool {
        matches!(self, Operator::In | Operator::Intersects | Operator::PMatch)
    }

    /// True for the string operators that may carry a `oneof`/`anyof`/`allof` modifier.
    pub const fn accepts_modifier(self) -> bool {
        matches!(
            self,
            Operator::Eq
                | Operator::EqEq
                | Operator::Ne
                | Operator::Contains
                | Operator::IContains
                | Operator::BContains
                | Operator::StartsWith
                | Operator::BStartsWith
                | Operator::EndsWith
                | Operator::Glob
                | Operator::IGlob
                | Operator::Regex
        )
    }

    /// True if the right-hand side may be another field (`val(x)` or a transformer);
    /// `pmatch` and `regex` only take constants (language.md §5).
    pub const fn accepts_field_rhs(self) -> bool {
        !matches!(self, Operator::PMatch | Operator::Regex | Operator::Exists)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Operator {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Operator::ALL
            .iter()
            .copied()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "Operator",
                name: s.to_owned(),
            })
    }
}

/// A list modifier after a string operator (`proc.name startswith anyof (a, b)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Modifier {
    /// Exactly one list element satisfies the operator.
    OneOf,
    /// At least one element does.
    AnyOf,
    /// Every element does.
    AllOf,
}

impl Modifier {
    /// Every modifier.
    pub const ALL: &'static [Modifier] = &[Modifier::OneOf, Modifier::AnyOf, Modifier::AllOf];

    /// The modifier spelled `text`, exactly.
    pub fn parse(text: &str) -> Option<Modifier> {
        Modifier::ALL.iter().copied().find(|m| m.as_str() == text)
    }

    /// The modifier as written.
    pub const fn as_str(self) -> &'static str {
        match self {
            Modifier::OneOf => "oneof",
            Modifier::AnyOf => "anyof",
            Modifier::AllOf => "allof",
        }
    }
}

impl fmt::Display for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Modifier {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Modifier::ALL
            .iter()
            .copied()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "Modifier",
                name: s.to_owned(),
            })
    }
}

/// Whether a field (or transformed value) of type `ty` accepts `op` (language.md §3.1).
///
/// The caller passes the type after transformers, e.g. `UINT64` for `len(fd.name)`.
pub fn operator_allowed(ty: FieldType, is_list: bool, op: Operator) -> bool {
    use Operator::*;
    if op == Exists {
        return true;
    }
    if is_list {
        return matches!(op, In | Intersects);
    }
    match ty.category() {
        TypeCategory::Numeric => matches!(op, Eq | EqEq | Ne | Lt | Le | Gt | Ge | In | Intersects),
        TypeCategory::Bool | TypeCategory::Ip => matches!(op, Eq | EqEq | Ne | In | Intersects),
        TypeCategory::String => !matches!(op, BContains | BStartsWith),
        TypeCategory::Buffer => matches!(
            op,
            Eq | EqEq
                | Ne
                | Contains
                | StartsWith
                | EndsWith
                | BContains
                | BStartsWith
                | In
                | Intersects
        ),
        TypeCategory::Other => false,
    }
}

/// Like [`operator_allowed`], with an optional `oneof`/`anyof`/`allof` modifier.
///
/// A modifier needs a string operator (never `in`, `intersects`, `pmatch`, `exists` or a
/// relational one), the operator must suit the type on its own, and IP types only take `==`
/// and `!=` (with `=` being the same operator) under a modifier.
pub fn operator_allowed_with(
    ty: FieldType,
    is_list: bool,
    op: Operator,
    modifier: Option<Modifier>,
) -> bool {
    if modifier.is_none() {
        return operator_allowed(ty, is_list, op);
    }
    if !op.accepts_modifier() || !operator_allowed(ty, is_list, op) {
        return false;
    }
    match ty.category() {
        TypeCategory::Ip => matches!(op, Operator::Eq | Operator::EqEq | Operator::Ne),
        _ => true,
    }
}
