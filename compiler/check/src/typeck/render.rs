//! A compact s-expression rendering of typed conditions, for tests, snapshots and
//! `rulec` debugging output: `(and (= evt.type:CHARBUF "openat") (> fd.num:FD 0i))`.

use std::fmt;

use super::{Const, TCheck, TExpr, TField, TOperand, TRhs, TTrArg, TTransformer, UnknownReason};

impl fmt::Display for TExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TExpr::And(children, _) | TExpr::Or(children, _) => {
                let word = if matches!(self, TExpr::And(..)) {
                    "and"
                } else {
                    "or"
                };
                write!(f, "({word}")?;
                for child in children {
                    write!(f, " {child}")?;
                }
                f.write_str(")")
            }
            TExpr::Not(inner, _) => write!(f, "(not {inner})"),
            TExpr::Check(check) => write!(f, "{check}"),
            TExpr::Unknown(u) => match &u.reason {
                UnknownReason::Syntax => f.write_str("<unknown: syntax>"),
                UnknownReason::Macro(name) => write!(f, "<unknown: macro {name}>"),
                UnknownReason::Invalid => f.write_str("<unknown: invalid>"),
            },
        }
    }
}

impl fmt::Display for TCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}", self.op)?;
        if let Some(m) = self.modifier {
            write!(f, " {m}")?;
        }
        write!(f, " {}", self.lhs)?;
        match &self.rhs {
            TRhs::None => {}
            TRhs::Value(c) => write!(f, " {c}")?,
            TRhs::List(items, _) => {
                f.write_str(" [")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")?;
            }
            TRhs::Operand(o) => write!(f, " {o}")?,
        }
        f.write_str(")")
    }
}

impl fmt::Display for Const {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.lit)
    }
}

impl fmt::Display for TOperand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TOperand::Field(field) => write!(f, "{field}"),
            TOperand::Transformer(t) => write!(f, "{t}"),
        }
    }
}

impl fmt::Display for TField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.field, self.ty)
    }
}

impl fmt::Display for TTransformer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.kind)?;
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{arg}")?;
        }
        f.write_str(")")?;
        if let Some(c) = self.option {
            write!(f, "[{c}]")?;
        }
        write!(f, ":{}", self.ty)
    }
}

impl fmt::Display for TTrArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TTrArg::Operand(o) => write!(f, "{o}"),
            TTrArg::Literal(text) => write!(f, "{text:?}"),
            TTrArg::List(items, _) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
        }
    }
}
