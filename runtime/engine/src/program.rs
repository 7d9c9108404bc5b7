//! From a [`Program`] to the interpreter's tree: each rule's condition is the DAG unfolded
//! below its root (shared nodes expanded), with one field table for all rules so that a
//! source compiles one accessor per distinct field.
//!
//! This is the engine's only input: it reads nothing from the front end.

use lanner_program::{
    Arg as PArg, Check as PCheck, Field, FieldId, FieldKey, Node, NodeId, Operand as POperand,
    OutputPart, Program, Rhs as PRhs,
};
use lanner_schema::ResolvedField;

use crate::ir::{Arg, Check, Expr, FieldRef, Matching, Operand, Rhs, Transform};
use crate::ruleset::{Part, Rule};

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
pub const SUGGESTED_FIELDS: &[FieldId] = &[
    FieldId::ContainerId,
    FieldId::ContainerName,
    FieldId::ContainerImageRepository,
    FieldId::ContainerImageTag,
    FieldId::K8sPodName,
    FieldId::K8sNsName,
];

/// Builds trees against one field table.
#[derive(Debug)]
pub struct Unfold<'p> {
    program: &'p Program,
    fields: Vec<FieldRef>,
}

impl<'p> Unfold<'p> {
    pub fn new(program: &'p Program) -> Unfold<'p> {
        Unfold {
            program,
            fields: Vec::new(),
        }
    }

    /// The fields seen so far, indexed by slot.
    pub fn into_fields(self) -> Vec<FieldRef> {
        self.fields
    }

    /// The tree below `id`. A missing node (impossible in a verified program) is `Unknown`.
    pub fn expr(&mut self, id: NodeId) -> Expr {
        match self.program.node(id) {
            Some(Node::And(c)) => Expr::And(c.iter().map(|c| self.expr(*c)).collect()),
            Some(Node::Or(c)) => Expr::Or(c.iter().map(|c| self.expr(*c)).collect()),
            Some(Node::Not(c)) => Expr::Not(Box::new(self.expr(*c))),
            Some(Node::Check(c)) => Expr::Check(Box::new(self.check(c))),
            Some(Node::Unknown) | None => Expr::Unknown,
        }
    }

    fn check(&mut self, c: &PCheck) -> Check {
        let set = match &c.rhs {
            PRhs::List(items) => crate::sets::LitSet::build(c.op, items).map(std::sync::Arc::new),
            _ => None,
        };
        Check {
            set,
            lhs: self.operand(&c.lhs),
            op: c.op,
            modifier: c.modifier,
            rhs: match &c.rhs {
                PRhs::None => Rhs::None,
                PRhs::Value(v) => Rhs::Value(v.clone()),
                PRhs::List(items) => Rhs::List(items.clone()),
                PRhs::Operand(o) => Rhs::Operand(self.operand(o)),
            },
        }
    }

    fn operand(&mut self, o: &POperand) -> Operand {
        match o {
            POperand::Field(f) => Operand::Field(self.field(f)),
            POperand::Transform(t) => Operand::Transform(Box::new(Transform {
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

    fn arg(&mut self, a: &PArg) -> Arg {
        match a {
            PArg::Operand(o) => Arg::Operand(self.operand(o)),
            PArg::Literal(text) => Arg::Literal(text.as_bytes().into()),
            PArg::List(items) => Arg::List(items.iter().map(|i| self.arg(i)).collect()),
        }
    }

    /// The slot of a field reference, shared by equal references.
    pub fn field(&mut self, f: &Field) -> FieldRef {
        let resolved = match f.key {
            FieldKey::Schema(id) => Some(ResolvedField {
                field: id.info(),
                arg: f.arg.clone(),
            }),
            FieldKey::Extra(_) => None,
        };
        // Conditions read a handful of fields, so a linear search is cheaper than hashing.
        if let Some(known) = self.fields.iter().find(|k| {
            k.field == resolved
                && k.ty == f.ty
                && (resolved.is_some() || k.text == self.program.field_name(f.key))
        }) {
            return known.clone();
        }
        let matching = match &resolved {
            Some(r) if r.matches_any_ancestor() => Matching::AnyAncestor,
            Some(r) if r.field.compares_endpoints() => Matching::Endpoints,
            Some(r) if r.field.compares_host_names() => Matching::HostNames,
            _ => Matching::Plain,
        };
        let text = match &resolved {
            Some(r) => r.to_string(),
            None => self.program.field_name(f.key).to_owned(),
        };
        let field = FieldRef {
            slot: self.fields.len(),
            field: resolved,
            text,
            ty: f.ty,
            matching,
        };
        self.fields.push(field.clone());
        field
    }
}

/// The tree of one condition of `program` and its field table.
pub fn condition(program: &Program, root: NodeId) -> (Expr, Vec<FieldRef>) {
    let mut u = Unfold::new(program);
    let expr = u.expr(root);
    (expr, u.into_fields())
}

/// The rules of `program` the syscall runtime evaluates (enabled, source `syscall`, condition
/// checked), with one shared field table.
pub fn rules(program: &Program, options: OutputOptions) -> (Vec<Rule>, Vec<FieldRef>) {
    let mut u = Unfold::new(program);
    let mut rules = Vec::new();
    for rule in &program.rules {
        let Some(root) = rule.condition.filter(|_| rule.runs_on_syscalls()) else {
            continue;
        };
        let condition = u.expr(root);
        let mut output: Vec<Part> = rule
            .output
            .iter()
            .map(|p| match p {
                OutputPart::Text(t) => Part::Text(t.clone()),
                OutputPart::Field { field, text, width } => Part::Field {
                    field: u.field(field),
                    text: text.clone(),
                    width: *width,
                },
                OutputPart::Unsupported { text } => Part::Unsupported { text: text.clone() },
            })
            .collect();
        if options.suggested_output {
            for id in SUGGESTED_FIELDS {
                let info = id.info();
                output.push(Part::Text(format!(" {}=", info.name.replace('.', "_"))));
                output.push(Part::Field {
                    field: u.field(&Field::schema(*id, None, info.value_type())),
                    text: info.name.to_owned(),
                    width: None,
                });
            }
        }
        rules.push(Rule {
            name: rule.name.clone(),
            priority: rule.priority,
            source: rule.source.as_str().to_owned(),
            tags: rule.tags.clone(),
            condition,
            output,
            event_codes: rule.event_codes.clone(),
            any_event: rule.any_event,
        });
    }
    (rules, u.into_fields())
}
