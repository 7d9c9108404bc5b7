//! The bridge from the checker's typed expression ([`lanner_check::typeck::TExpr`]) to the
//! engine's own tree ([`lanner_engine::ir`]).
//!
//! It lives on the compiler's side so that the runtime needs no front end: the engine knows
//! only its own tree and the field schema. The bundle that `rulec build` will write carries
//! what this crate produces.

use lanner_check::typeck::{Const, Lit as TLit, TCheck, TExpr, TField, TOperand, TRhs, TTrArg};
use lanner_schema::Operator;

use lanner_engine::ir::{Arg, Check, Expr, FieldRef, Lit, Matching, Operand, Rhs, Transform};
use lanner_engine::ruleset::{Part, Priority, Rule};
use lanner_syntax::condition::ast::Operand as SynOperand;
use lanner_syntax::output::OutputToken;

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

    /// A field read by an output, joining the shared table.
    pub fn output_field(&mut self, field: lanner_schema::ResolvedField) -> FieldRef {
        let ty = field.value_type();
        self.field(&TField {
            field,
            ty,
            span: lanner_syntax::FileSpan::new(lanner_syntax::FileId(0), Default::default()),
        })
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

/// How alerts' outputs are built.
#[derive(Clone, Copy, Debug)]
pub struct OutputOptions {
    /// Append the container plugin's suggested fields to every output, as Falco's default
    /// `suggested_output: true` does.
    pub suggested_output: bool,
}

impl Default for OutputOptions {
    fn default() -> Self {
        OutputOptions {
            suggested_output: true,
        }
    }
}

/// The fields Falco's container plugin flags FORMAT_SUGGESTED, appended as
/// ` name_with_underscores=%field` when `suggested_output` is on.
pub const SUGGESTED_FIELDS: &[&str] = &[
    "container.id",
    "container.name",
    "container.image.repository",
    "container.image.tag",
    "k8s.pod.name",
    "k8s.ns.name",
];

fn priority(p: lanner_syntax::rules::Priority) -> Priority {
    use lanner_syntax::rules::Priority as P;
    match p {
        P::Emergency => Priority::Emergency,
        P::Alert => Priority::Alert,
        P::Critical => Priority::Critical,
        P::Error => Priority::Error,
        P::Warning => Priority::Warning,
        P::Notice => Priority::Notice,
        P::Informational => Priority::Informational,
        P::Debug => Priority::Debug,
    }
}

/// The enabled syscall rules of a checked rule set, lowered for the engine: conditions,
/// event codes and outputs, with one shared field table. Rules whose condition did not check
/// are left out (their errors are among the checker's diagnostics).
pub fn compile_rules(
    checked: &lanner_check::driver::Checked,
    options: OutputOptions,
) -> (Vec<Rule>, Vec<FieldRef>) {
    let mut lowering = Lowering::default();
    let mut rules = Vec::new();
    for (rule, typed) in checked.resolved.rules.iter().zip(&checked.typed) {
        if !rule.enabled || rule.source != "syscall" {
            continue;
        }
        let Some(condition) = &typed.condition else {
            continue;
        };
        let condition = lowering.expr(condition);
        let mut output = Vec::new();
        if let Some(format) = &rule.output_format {
            // Falco prints a removed legacy field (`%container.info`) as nothing.
            for tok in format.tokens.iter().filter(|t| !t.is_removed_field()) {
                output.push(match tok {
                    OutputToken::Text(t) => Part::Text(t.clone()),
                    OutputToken::Field {
                        width,
                        text,
                        operand: SynOperand::Field(f),
                        ..
                    } => match lanner_schema::resolve(
                        &f.name,
                        f.arg.as_ref().map(|a| a.value.as_str()),
                    ) {
                        Ok(rf) => Part::Field {
                            field: lowering.output_field(rf),
                            text: text.clone(),
                            width: *width,
                        },
                        Err(_) => Part::Unsupported { text: text.clone() },
                    },
                    OutputToken::Field { text, .. } => Part::Unsupported { text: text.clone() },
                });
            }
        }
        if options.suggested_output {
            for name in SUGGESTED_FIELDS {
                if let Ok(rf) = lanner_schema::resolve(name, None) {
                    output.push(Part::Text(format!(" {}=", name.replace('.', "_"))));
                    output.push(Part::Field {
                        field: lowering.output_field(rf),
                        text: (*name).to_string(),
                        width: None,
                    });
                }
            }
        }
        rules.push(Rule {
            name: rule.name.clone(),
            priority: priority(rule.priority),
            source: rule.source.clone(),
            tags: rule.tags.clone(),
            condition,
            output,
            event_codes: typed.event_types.iter().collect(),
            any_event: typed.event_types.len() == lanner_check::evttypes::EventSet::all().len(),
        });
    }
    (rules, lowering.into_fields())
}
