//! The bridge from the checker's typed expression ([`lanner_check::typeck::TExpr`]) to the
//! engine's own tree ([`crate::ir`]).
//!
//! This is the only module of the engine that depends on `lanner-check`. That dependency is
//! temporary: the typed program is meant to move to a crate shared by the compiler and the
//! runtime, and when it does, only this adapter changes (or disappears, if the shared crate
//! carries what `ir` holds). Everything else in the engine works on `ir` and on the schema.

use lanner_check::typeck::{Const, Lit as TLit, TCheck, TExpr, TField, TOperand, TRhs, TTrArg};
use lanner_schema::Operator;

use crate::ir::{Arg, Check, Expr, FieldRef, Lit, Matching, Operand, Rhs, Transform};

/// The fields whose comparison looks at both endpoints of a socket (Falco's `compare_ip`,
/// `compare_port` and `compare_net`).
const ENDPOINT_FIELDS: &[&str] = &["fd.ip", "fd.port", "fd.proto", "fd.net"];

/// Builds the engine's tree for a typed condition.
pub fn lower(expr: &TExpr) -> Expr {
    match expr {
        TExpr::And(children, _) => Expr::And(children.iter().map(lower).collect()),
        TExpr::Or(children, _) => Expr::Or(children.iter().map(lower).collect()),
        TExpr::Not(inner, _) => Expr::Not(Box::new(lower(inner))),
        TExpr::Check(check) => Expr::Check(Box::new(lower_check(check))),
        TExpr::Unknown(_) => Expr::Unknown,
    }
}

fn lower_check(check: &TCheck) -> Check {
    Check {
        lhs: lower_operand(&check.lhs),
        op: match check.op {
            Operator::EqEq => Operator::Eq,
            op => op,
        },
        modifier: check.modifier,
        rhs: match &check.rhs {
            TRhs::None => Rhs::None,
            TRhs::Value(c) => Rhs::Value(lower_const(c)),
            TRhs::List(items, _) => Rhs::List(items.iter().map(lower_const).collect()),
            TRhs::Operand(o) => Rhs::Operand(lower_operand(o)),
        },
    }
}

fn lower_field(f: &TField) -> FieldRef {
    let matching = if f.field.matches_any_ancestor() {
        Matching::AnyAncestor
    } else if ENDPOINT_FIELDS.contains(&f.name()) {
        Matching::Endpoints
    } else {
        Matching::Plain
    };
    FieldRef {
        field: f.field.clone(),
        ty: f.ty,
        matching,
    }
}

fn lower_operand(o: &TOperand) -> Operand {
    match o {
        TOperand::Field(f) => Operand::Field(lower_field(f)),
        TOperand::Transformer(t) => Operand::Transform(Box::new(Transform {
            kind: t.kind,
            args: t.args.iter().map(lower_arg).collect(),
            // The checker only accepts a single option character; a non-ASCII one cannot
            // match an argv byte, and NUL never occurs in one, so it stands for "none matches".
            option: t.option.map(|c| u8::try_from(u32::from(c)).unwrap_or(0)),
            ty: t.ty,
        })),
    }
}

fn lower_arg(a: &TTrArg) -> Arg {
    match a {
        TTrArg::Operand(o) => Arg::Operand(lower_operand(o)),
        TTrArg::Literal(text) => Arg::Literal(text.as_bytes().into()),
        TTrArg::List(items, _) => Arg::List(items.iter().map(lower_arg).collect()),
    }
}

fn lower_const(c: &Const) -> Lit {
    match &c.lit {
        TLit::Int(v) => Lit::Int(*v),
        TLit::UInt(v) => Lit::UInt(*v),
        TLit::Double(v) => Lit::Double(v.get()),
        TLit::Bool(v) => Lit::Bool(*v),
        TLit::Ip(ip) => Lit::Ip(*ip),
        TLit::Net(net) => Lit::Net(net.addr, net.prefix),
        TLit::Str(s) => Lit::Str(s.as_bytes().into()),
        TLit::Bytes(b) => Lit::Bytes(b.as_slice().into()),
        TLit::Regex(p) => Lit::Regex(p.regex().clone()),
    }
}
