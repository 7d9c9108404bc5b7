//! The checker's output: the typed conditions, outputs and rule attributes of files loaded
//! together, as one [`lanner_program::Program`] (the DAG every backend consumes).
//!
//! This is the only producer of programs from rules; the builder verifies what it produces.

use lanner_program::{
    Arg, Builder, Check, Field, FieldKey, Node, NodeId, Operand, OutputPart, Program, Rhs, Rule,
    Source, Transform, VerifyError,
};
use lanner_schema::{FieldInfo, ResolvedField, ValueType};
use lanner_syntax::condition::ast::Operand as SynOperand;
use lanner_syntax::output::OutputToken;

use crate::driver::TypedRule;
use crate::evttypes::EventSet;
use crate::resolve::ResolvedRule;
use crate::typeck::{TCheck, TExpr, TField, TOperand, TRhs, TTrArg};

/// The number of event codes of the event table the checker computes sets over.
fn event_code_count() -> u16 {
    u16::try_from(EventSet::all().len()).unwrap_or(u16::MAX)
}

/// The program of checked rules: one [`Rule`] per resolved rule, in load order.
pub fn build(rules: &[ResolvedRule], typed: &[TypedRule]) -> Result<Program, VerifyError> {
    let mut b = Lowering {
        builder: Builder::new(event_code_count()),
    };
    let all = EventSet::all().len();
    for (rule, t) in rules.iter().zip(typed) {
        let condition = t.condition.as_ref().map(|c| b.expr(c));
        let output = rule
            .output_format
            .iter()
            .flat_map(|f| &f.tokens)
            // Falco prints a removed legacy field (`%container.info`) as nothing.
            .filter(|t| !t.is_removed_field())
            .map(|tok| b.output(tok))
            .collect();
        b.builder.rule(Rule {
            name: rule.name.clone(),
            source: Source::parse(&rule.source),
            enabled: rule.enabled,
            priority: rule.priority,
            tags: rule.tags.clone(),
            condition,
            output,
            event_codes: t.event_types.iter().collect(),
            any_event: t.event_types.len() == all,
        });
    }
    b.builder.finish()
}

/// The program of bare typed conditions (no rules) and their roots, in order: for tests and
/// tools that evaluate conditions outside rules.
pub fn build_conditions<'a>(
    exprs: impl IntoIterator<Item = &'a TExpr>,
) -> Result<(Program, Vec<NodeId>), VerifyError> {
    let mut b = Lowering {
        builder: Builder::new(event_code_count()),
    };
    let roots = exprs.into_iter().map(|e| b.expr(e)).collect();
    Ok((b.builder.finish()?, roots))
}

/// The program of one bare typed condition and its root.
pub fn build_condition(expr: &TExpr) -> Result<(Program, NodeId), VerifyError> {
    let (program, roots) = build_conditions([expr])?;
    let root = roots.first().copied().unwrap_or(NodeId(0));
    Ok((program, root))
}

struct Lowering {
    builder: Builder,
}

impl Lowering {
    fn expr(&mut self, e: &TExpr) -> NodeId {
        let node = match e {
            TExpr::And(c, _) => Node::And(c.iter().map(|c| self.expr(c)).collect()),
            TExpr::Or(c, _) => Node::Or(c.iter().map(|c| self.expr(c)).collect()),
            TExpr::Not(inner, _) => Node::Not(self.expr(inner)),
            TExpr::Check(c) => Node::Check(self.check(c)),
            TExpr::Unknown(_) => Node::Unknown,
        };
        self.builder.node(node)
    }

    fn check(&mut self, c: &TCheck) -> Check {
        Check {
            lhs: self.operand(&c.lhs),
            op: c.op,
            modifier: c.modifier,
            rhs: match &c.rhs {
                TRhs::None => Rhs::None,
                TRhs::Value(v) => Rhs::Value(v.lit.clone()),
                TRhs::List(items, _) => Rhs::List(items.iter().map(|v| v.lit.clone()).collect()),
                TRhs::Operand(o) => Rhs::Operand(self.operand(o)),
            },
        }
    }

    fn operand(&mut self, o: &TOperand) -> Operand {
        match o {
            TOperand::Field(f) => Operand::Field(self.field(f)),
            TOperand::Transformer(t) => Operand::Transform(Transform {
                kind: t.kind,
                args: t.args.iter().map(|a| self.arg(a)).collect(),
                option: t.option,
                ty: t.ty,
            }),
        }
    }

    fn arg(&mut self, a: &TTrArg) -> Arg {
        match a {
            TTrArg::Operand(o) => Arg::Operand(self.operand(o)),
            TTrArg::Literal(text) => Arg::Literal(text.clone()),
            TTrArg::List(items, _) => Arg::List(items.iter().map(|i| self.arg(i)).collect()),
        }
    }

    fn field(&mut self, f: &TField) -> Field {
        self.resolved(&f.field, f.ty)
    }

    fn resolved(&mut self, f: &ResolvedField, ty: ValueType) -> Field {
        Field {
            key: self.key(f.field, ty),
            arg: f.arg.clone(),
            ty,
        }
    }

    /// A schema field by id; a field the type checker was given besides the schema (a
    /// plugin's) is declared in the program.
    fn key(&mut self, info: &'static FieldInfo, ty: ValueType) -> FieldKey {
        match info.id {
            Some(id) => FieldKey::Schema(id),
            None => self.builder.extra_field(info.name, ty),
        }
    }

    fn output(&mut self, tok: &OutputToken) -> OutputPart {
        match tok {
            OutputToken::Text(t) => OutputPart::Text(t.clone()),
            OutputToken::Field {
                width,
                text,
                operand: SynOperand::Field(f),
                ..
            } => match lanner_schema::resolve(&f.name, f.arg.as_ref().map(|a| a.value.as_str())) {
                Ok(rf) => OutputPart::Field {
                    field: self.resolved(&rf, rf.value_type()),
                    text: text.clone(),
                    width: *width,
                },
                Err(_) => OutputPart::Unsupported { text: text.clone() },
            },
            OutputToken::Field { text, .. } => OutputPart::Unsupported { text: text.clone() },
        }
    }
}
