//! The bridge from the checker's typed expression ([`lanner_check::typeck::TExpr`]) to the
//! engine's own tree ([`lanner_engine::ir`]).
//!
//! It lives on the compiler's side so that the runtime needs no front end: the engine knows
//! only its own tree and the field schema. The bundle that `rulec build` will write carries
//! what this crate produces.

use lanner_check::typeck::{Const, Lit as TLit, TCheck, TExpr, TField, TOperand, TRhs, TTrArg};
use lanner_schema::Operator;

use lanner_engine::ir::{Arg, Check, Expr, FieldRef, Lit, Matching, Operand, Rhs, Transform};

/// The fields whose comparison looks at both endpoints of a socket (Falco's `compare_ip`,
/// `compare_port` and `compare_net`).
const ENDPOINT_FIELDS: &[&str] = &["fd.ip", "fd.port", "fd.proto", "fd.net"];

/// A condition ready to evaluate, with the table of the fields it reads.
#[derive(Clone, Debug)]
pub struct Condition {
    pub expr: Expr,
    /// Every distinct field reference, indexed by [`FieldRef::slot`].
    pub fields: Vec<FieldRef>,
}

/// Builds the engine's tree for one typed condition.
pub fn lower(expr: &TExpr) -> Condition {
    let mut lowering = Lowering::default();
    let expr = lowering.expr(expr);
    Condition {
        expr,
        fields: lowering.fields,
    }
}

/// Lowers several conditions against one field table, so that a rule set can compile one
/// accessor per distinct field for all its rules.
#[derive(Clone, Debug, Default)]
pub struct Lowering {
    fields: Vec<FieldRef>,
}

impl Lowering {
    /// The fields seen so far, indexed by slot.
    pub fn fields(&self) -> &[FieldRef] {
        &self.fields
    }

    /// Consumes the lowering, returning its field table.
    pub fn into_fields(self) -> Vec<FieldRef> {
        self.fields
    }

    /// Builds the engine's tree for a typed condition; its fields join the shared table.
    pub fn expr(&mut self, expr: &TExpr) -> Expr {
        match expr {
            TExpr::And(children, _) => Expr::And(children.iter().map(|c| self.expr(c)).collect()),
            TExpr::Or(children, _) => Expr::Or(children.iter().map(|c| self.expr(c)).collect()),
            TExpr::Not(inner, _) => Expr::Not(Box::new(self.expr(inner))),
            TExpr::Check(check) => Expr::Check(Box::new(self.check(check))),
            TExpr::Unknown(_) => Expr::Unknown,
        }
    }

    fn check(&mut self, check: &TCheck) -> Check {
        Check {
            lhs: self.operand(&check.lhs),
            op: match check.op {
                Operator::EqEq => Operator::Eq,
                op => op,
            },
            modifier: check.modifier,
            rhs: match &check.rhs {
                TRhs::None => Rhs::None,
                TRhs::Value(c) => Rhs::Value(lower_const(c)),
                TRhs::List(items, _) => Rhs::List(items.iter().map(lower_const).collect()),
                TRhs::Operand(o) => Rhs::Operand(self.operand(o)),
            },
        }
    }

    fn field(&mut self, f: &TField) -> FieldRef {
        // Conditions read a handful of fields, so a linear search is cheaper than hashing
        // (and `ResolvedField` is not `Hash`).
        if let Some(known) = self
            .fields
            .iter()
            .find(|k| k.field == f.field && k.ty == f.ty)
        {
            return known.clone();
        }
        let matching = if f.field.matches_any_ancestor() {
            Matching::AnyAncestor
        } else if ENDPOINT_FIELDS.contains(&f.name()) {
            Matching::Endpoints
        } else {
            Matching::Plain
        };
        let field = FieldRef {
            slot: self.fields.len(),
            field: f.field.clone(),
            ty: f.ty,
            matching,
        };
        self.fields.push(field.clone());
        field
    }

    fn operand(&mut self, o: &TOperand) -> Operand {
        match o {
            TOperand::Field(f) => Operand::Field(self.field(f)),
            TOperand::Transformer(t) => Operand::Transform(Box::new(Transform {
                kind: t.kind,
                args: t.args.iter().map(|a| self.arg(a)).collect(),
                // The checker only accepts a single option character; a non-ASCII one cannot
                // match an argv byte, and NUL never occurs in one, so it stands for "none
                // matches".
                option: t.option.map(|c| u8::try_from(u32::from(c)).unwrap_or(0)),
                ty: t.ty,
            })),
        }
    }

    fn arg(&mut self, a: &TTrArg) -> Arg {
        match a {
            TTrArg::Operand(o) => Arg::Operand(self.operand(o)),
            TTrArg::Literal(text) => Arg::Literal(text.as_bytes().into()),
            TTrArg::List(items, _) => Arg::List(items.iter().map(|i| self.arg(i)).collect()),
        }
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
        TLit::Str(s) => Lit::Str(s.as_slice().into()),
        TLit::Bytes(b) => Lit::Bytes(b.as_slice().into()),
        TLit::Regex(p) => Lit::Regex(p.regex().clone()),
    }
}
