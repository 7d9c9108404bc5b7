//! The compiled rules: one verified, serialisable description that the checker produces and
//! every backend consumes (the reference interpreter today; the JIT, the kernel prefilter and
//! signed bundles read the same value).
//!
//! - [`Program`]: every rule's condition in one hash-consed DAG ([`Node`]), equal
//!   subexpressions one node, children before parents; rules with priority, tags, output,
//!   event-type set (exceptions are already folded into the conditions by the checker).
//! - Fields are named by [`FieldId`] (generated from the schema) plus a parsed argument, never
//!   by a string; the program records the schema's content hash ([`SCHEMA_HASH`]).
//! - [`Program::verify`] checks every structural invariant; [`Builder::finish`] runs it, so
//!   every producer's output is verified, and [`decode`] runs it on every loaded program.
//! - [`encode`]/[`decode`]: a versioned binary form (postcard); see ARCHITECTURE.md for why.
//!
//! This crate depends on the schema (the static field table, shared by both sides) and on no
//! front-end or runtime crate.

// Tests may unwrap, panic and index freely: a panic there is a test failure, which is the point.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod lit;
mod verify;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub use lanner_schema::{
    FieldArg, FieldId, FieldInfo, FieldType, Modifier, Operator, Priority, SCHEMA_HASH, Source,
    Transformer, ValueType,
};
pub use lit::{F64, IpNet, Lit, Pattern};
pub use verify::VerifyError;

/// The version of the serialised form; bumped on any change to the types below.
pub const FORMAT_VERSION: u16 = 1;

/// The first bytes of a serialised program.
pub const MAGIC: [u8; 4] = *b"LNRP";

/// Index of a node in [`Program::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The node's position in [`Program::nodes`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A node of the condition DAG.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Node {
    /// True if every child is (at least two children).
    And(Vec<NodeId>),
    /// True if some child is (at least two children).
    Or(Vec<NodeId>),
    Not(NodeId),
    Check(Check),
    /// A part that did not check (its error is among the checker's diagnostics): evaluates
    /// to false, and is never shared.
    Unknown,
}

/// `lhs op rhs`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Check {
    pub lhs: Operand,
    /// Never [`Operator::EqEq`]: the builder folds `==` into `=`, which compares alike.
    pub op: Operator,
    pub modifier: Option<Modifier>,
    pub rhs: Rhs,
}

/// Which field: one of the schema's, or one declared by the program (a plugin's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldKey {
    Schema(FieldId),
    /// An index into [`Program::extra_fields`].
    Extra(u32),
}

/// A field reference with its parsed argument and the type the checker assigned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Field {
    pub key: FieldKey,
    pub arg: Option<FieldArg>,
    /// For `evt.rawarg.NAME` the parameter's type; otherwise the schema's.
    pub ty: ValueType,
}

impl Field {
    /// A schema field.
    pub fn schema(id: FieldId, arg: Option<FieldArg>, ty: ValueType) -> Field {
        Field {
            key: FieldKey::Schema(id),
            arg,
            ty,
        }
    }
}

/// A field or a transformer call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operand {
    Field(Field),
    Transform(Transform),
}

impl Operand {
    /// The value type after transformers.
    pub fn value_type(&self) -> ValueType {
        match self {
            Operand::Field(f) => f.ty,
            Operand::Transform(t) => t.ty,
        }
    }
}

/// A transformer call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transform {
    pub kind: Transformer,
    pub args: Vec<Arg>,
    /// `getopt(...)[c]`: the option character.
    pub option: Option<char>,
    /// The result type.
    pub ty: ValueType,
}

/// A transformer argument.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Arg {
    Operand(Operand),
    /// A quoted string or a number, as text (transformers work on text).
    Literal(String),
    /// `(a, b, ...)`.
    List(Vec<Arg>),
}

/// The right-hand side of a check.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rhs {
    /// `exists`.
    None,
    Value(Lit),
    /// For `in`, `intersects` and `pmatch` a set (sorted, no duplicates); after a modifier
    /// the list as written (duplicates count for `oneof`).
    List(Vec<Lit>),
    /// A field-to-field comparison: `val(f)` or a transformer.
    Operand(Operand),
}

/// A field declared by the program rather than the schema (a loaded plugin's).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExtraField {
    pub name: String,
    pub ty: ValueType,
}

/// One piece of an output format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputPart {
    Text(String),
    /// `%field`, with the text after `%` as written (`proc.aname[2]`, the JSON key) and an
    /// optional width (`%20proc.name`: padded with blanks or cut to 20 characters).
    Field {
        field: Field,
        text: String,
        width: Option<u32>,
    },
    /// A `%` token no backend can render (a transformer in an output); prints `<NA>`.
    Unsupported {
        text: String,
    },
}

/// A rule as every backend sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    pub source: Source,
    pub enabled: bool,
    pub priority: Priority,
    pub tags: Vec<String>,
    /// The condition with the exceptions folded in; `None` when it did not check.
    pub condition: Option<NodeId>,
    pub output: Vec<OutputPart>,
    /// The event codes the rule can match, ascending; empty means none (it never runs).
    pub event_codes: Vec<u16>,
    /// The condition does not restrict the event type (`event_codes` holds every code).
    /// Falco keeps such rules apart and evaluates them only when no rule of the event's own
    /// type matched.
    pub any_event: bool,
}

impl Rule {
    /// True if the syscall runtime evaluates the rule.
    pub fn runs_on_syscalls(&self) -> bool {
        self.enabled && self.source == Source::Syscall && self.condition.is_some()
    }
}

/// The compiled rules of files loaded together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// [`SCHEMA_HASH`] of the schema the field ids refer to.
    pub schema_hash: u64,
    /// How many event codes the event table has: a rule whose set has that many codes
    /// matches any event.
    pub event_code_count: u16,
    pub extra_fields: Vec<ExtraField>,
    /// INVARIANT: children precede their parents (ids grow bottom-up), so a backend can
    /// evaluate or lower nodes in index order; no two nodes other than `Unknown` are equal.
    /// [`Program::verify`] checks both.
    pub nodes: Vec<Node>,
    /// In load order, one per rule of the checked files.
    pub rules: Vec<Rule>,
}

impl Program {
    /// A program without rules.
    pub fn empty(event_code_count: u16) -> Program {
        Program {
            schema_hash: SCHEMA_HASH,
            event_code_count,
            extra_fields: Vec::new(),
            nodes: Vec::new(),
            rules: Vec::new(),
        }
    }

    /// The node `id`, if it exists.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.index())
    }

    /// How many rules reach each node (a node shared by several rules counts once per rule).
    pub fn rule_uses(&self) -> Vec<u32> {
        let mut uses = vec![0u32; self.nodes.len()];
        let mut seen = vec![usize::MAX; self.nodes.len()];
        for (r, rule) in self.rules.iter().enumerate() {
            let Some(root) = rule.condition else { continue };
            let mut stack = vec![root];
            while let Some(id) = stack.pop() {
                match seen.get_mut(id.index()) {
                    Some(s) if *s != r => *s = r,
                    _ => continue,
                }
                if let Some(u) = uses.get_mut(id.index()) {
                    *u += 1;
                }
                match self.node(id) {
                    Some(Node::And(c) | Node::Or(c)) => stack.extend(c.iter().copied()),
                    Some(Node::Not(c)) => stack.push(*c),
                    _ => {}
                }
            }
        }
        uses
    }

    /// Nodes reached by more than one rule, with their use counts.
    pub fn shared(&self) -> impl Iterator<Item = (NodeId, u32)> {
        self.rule_uses()
            .into_iter()
            .enumerate()
            .filter(|(_, u)| *u > 1)
            .map(|(i, u)| (NodeId(u32::try_from(i).unwrap_or(u32::MAX)), u))
    }

    /// The number of nodes the rules' trees would have without sharing.
    pub fn tree_size(&self) -> usize {
        // Bottom-up: a node's tree size from its children's, each computed once.
        let mut size = vec![0usize; self.nodes.len()];
        for i in 0..self.nodes.len() {
            let s = match self.nodes.get(i) {
                Some(Node::And(c) | Node::Or(c)) => {
                    1 + c
                        .iter()
                        .map(|c| size.get(c.index()).copied().unwrap_or(1))
                        .sum::<usize>()
                }
                Some(Node::Not(c)) => 1 + size.get(c.index()).copied().unwrap_or(1),
                _ => 1,
            };
            if let Some(slot) = size.get_mut(i) {
                *slot = s;
            }
        }
        self.rules
            .iter()
            .filter_map(|r| r.condition)
            .map(|id| size.get(id.index()).copied().unwrap_or(0))
            .sum()
    }

    /// The name of a field as written without argument.
    pub fn field_name(&self, key: FieldKey) -> &str {
        match key {
            FieldKey::Schema(id) => id.name(),
            FieldKey::Extra(i) => self
                .extra_fields
                .get(i as usize)
                .map_or("<unknown>", |e| e.name.as_str()),
        }
    }

    /// Checks every invariant of the program; see [`VerifyError`] for the list.
    pub fn verify(&self) -> Result<(), VerifyError> {
        verify::verify(self)
    }
}

/// Why a serialised program cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a lanner program: the file does not start with `LNRP`")]
    Magic,
    #[error("program format version {found} is not supported (this build reads {FORMAT_VERSION})")]
    Version { found: u16 },
    #[error(
        "the program was compiled against another field schema (hash {found:#018x}, this build has {SCHEMA_HASH:#018x})"
    )]
    Schema { found: u64 },
    #[error("malformed program: {0}")]
    Body(#[from] postcard::Error),
    #[error("invalid program: {0}")]
    Invalid(#[from] VerifyError),
}

/// Why a program cannot be serialised.
#[derive(Debug, thiserror::Error)]
#[error("cannot serialise the program: {0}")]
pub struct EncodeError(#[from] postcard::Error);

/// The serialised form: `LNRP`, the format version (u16, little endian), then the program in
/// postcard. Equal programs encode to equal bytes.
pub fn encode(program: &Program) -> Result<Vec<u8>, EncodeError> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    Ok(postcard::to_extend(program, out)?)
}

/// Loads a serialised program and verifies it.
pub fn decode(bytes: &[u8]) -> Result<Program, DecodeError> {
    let rest = bytes.strip_prefix(&MAGIC).ok_or(DecodeError::Magic)?;
    let (version, body) = rest.split_at_checked(2).ok_or(DecodeError::Magic)?;
    let found = u16::from_le_bytes([
        version.first().copied().unwrap_or(0),
        version.get(1).copied().unwrap_or(0),
    ]);
    if found != FORMAT_VERSION {
        return Err(DecodeError::Version { found });
    }
    let program: Program = postcard::from_bytes(body)?;
    if program.schema_hash != SCHEMA_HASH {
        return Err(DecodeError::Schema {
            found: program.schema_hash,
        });
    }
    program.verify()?;
    Ok(program)
}

/// Builds a [`Program`] bottom-up, sharing equal nodes (hash-consing on the nodes' structure).
#[derive(Debug)]
pub struct Builder {
    program: Program,
    by_node: HashMap<Node, NodeId>,
}

impl Builder {
    /// A builder for a program over an event table with `event_code_count` codes.
    pub fn new(event_code_count: u16) -> Builder {
        Builder {
            program: Program {
                schema_hash: SCHEMA_HASH,
                event_code_count,
                extra_fields: Vec::new(),
                nodes: Vec::new(),
                rules: Vec::new(),
            },
            by_node: HashMap::new(),
        }
    }

    /// The key of a field declared by the program, declared once per name and type.
    pub fn extra_field(&mut self, name: &str, ty: ValueType) -> FieldKey {
        let fields = &mut self.program.extra_fields;
        let index = match fields.iter().position(|e| e.name == name && e.ty == ty) {
            Some(i) => i,
            None => {
                fields.push(ExtraField {
                    name: name.to_owned(),
                    ty,
                });
                fields.len() - 1
            }
        };
        FieldKey::Extra(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// The id of `node`: an existing equal node's, or a new one's. `==` is folded into `=`
    /// here, the one place that does it.
    pub fn node(&mut self, mut node: Node) -> NodeId {
        if let Node::Check(c) = &mut node
            && c.op == Operator::EqEq
        {
            c.op = Operator::Eq;
        }
        let shared = !matches!(node, Node::Unknown);
        if shared && let Some(&id) = self.by_node.get(&node) {
            return id;
        }
        let id = NodeId(u32::try_from(self.program.nodes.len()).unwrap_or(u32::MAX));
        if shared {
            self.by_node.insert(node.clone(), id);
        }
        self.program.nodes.push(node);
        id
    }

    /// Appends a rule (in load order).
    pub fn rule(&mut self, rule: Rule) {
        self.program.rules.push(rule);
    }

    /// The finished program, verified.
    pub fn finish(self) -> Result<Program, VerifyError> {
        self.program.verify()?;
        Ok(self.program)
    }
}

impl Program {
    /// The fields the tree below `root` reads (conditions and field-to-field right sides),
    /// each once, in first-use order.
    pub fn fields_used(&self, root: NodeId) -> Vec<&Field> {
        fn operand<'p>(p: &'p Program, o: &'p Operand, out: &mut Vec<&'p Field>) {
            match o {
                Operand::Field(f) => {
                    if !out.contains(&f) {
                        out.push(f);
                    }
                }
                Operand::Transform(t) => t.args.iter().for_each(|a| arg(p, a, out)),
            }
        }
        fn arg<'p>(p: &'p Program, a: &'p Arg, out: &mut Vec<&'p Field>) {
            match a {
                Arg::Operand(o) => operand(p, o, out),
                Arg::Literal(_) => {}
                Arg::List(items) => items.iter().for_each(|i| arg(p, i, out)),
            }
        }
        fn walk<'p>(p: &'p Program, id: NodeId, out: &mut Vec<&'p Field>) {
            match p.node(id) {
                Some(Node::And(c) | Node::Or(c)) => c.iter().for_each(|c| walk(p, *c, out)),
                Some(Node::Not(c)) => walk(p, *c, out),
                Some(Node::Check(c)) => {
                    operand(p, &c.lhs, out);
                    if let Rhs::Operand(o) = &c.rhs {
                        operand(p, o, out);
                    }
                }
                Some(Node::Unknown) | None => {}
            }
        }
        let mut out = Vec::new();
        walk(self, root, &mut out);
        out
    }

    /// A field as written: name and argument (`proc.aname[2]`, `evt.arg.fd`).
    pub fn field_text(&self, f: &Field) -> String {
        match (&f.arg, f.key) {
            (Some(a), _) => format!("{}{a}", self.field_name(f.key)),
            (None, key) => self.field_name(key).to_owned(),
        }
    }

    /// The tree below `root` in the condition language, with constants as the program holds
    /// them (typed: `3u`, `ip:10.0.0.1`, `re"..."`); a group shared with other rules is marked
    /// with its node id, `#12(...)`.
    pub fn print(&self, root: NodeId) -> String {
        let uses = self.rule_uses();
        let mut out = String::new();
        self.print_node(root, &uses, &mut out);
        out
    }

    fn print_node(&self, id: NodeId, uses: &[u32], out: &mut String) {
        use std::fmt::Write;
        let shared = uses.get(id.index()).is_some_and(|u| *u > 1)
            && !matches!(self.node(id), Some(Node::Check(_)));
        if shared {
            let _ = write!(out, "#{}", id.0);
        }
        match self.node(id) {
            Some(Node::And(c) | Node::Or(c)) => {
                let word = if matches!(self.node(id), Some(Node::And(_))) {
                    " and "
                } else {
                    " or "
                };
                out.push('(');
                for (i, c) in c.iter().enumerate() {
                    if i > 0 {
                        out.push_str(word);
                    }
                    self.print_node(*c, uses, out);
                }
                out.push(')');
            }
            Some(Node::Not(c)) => {
                out.push_str(if shared { "(not " } else { "not " });
                self.print_node(*c, uses, out);
                if shared {
                    out.push(')');
                }
            }
            Some(Node::Check(c)) => {
                self.print_operand(&c.lhs, out);
                let _ = write!(out, " {}", c.op);
                if let Some(m) = c.modifier {
                    let _ = write!(out, " {m}");
                }
                match &c.rhs {
                    Rhs::None => {}
                    Rhs::Value(v) => {
                        let _ = write!(out, " {v}");
                    }
                    Rhs::List(items) => {
                        let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                        let _ = write!(out, " ({})", items.join(", "));
                    }
                    Rhs::Operand(o) => {
                        out.push(' ');
                        self.print_operand(o, out);
                    }
                }
            }
            Some(Node::Unknown) | None => out.push_str("<unknown>"),
        }
    }

    fn print_operand(&self, o: &Operand, out: &mut String) {
        match o {
            Operand::Field(f) => out.push_str(&self.field_text(f)),
            Operand::Transform(t) => {
                out.push_str(t.kind.as_str());
                out.push('(');
                for (i, a) in t.args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.print_arg(a, out);
                }
                out.push(')');
                if let Some(c) = t.option {
                    out.push('[');
                    out.push(c);
                    out.push(']');
                }
            }
        }
    }

    fn print_arg(&self, a: &Arg, out: &mut String) {
        match a {
            Arg::Operand(o) => self.print_operand(o, out),
            Arg::Literal(text) => out.push_str(&format!("{text:?}")),
            Arg::List(items) => {
                out.push('(');
                for (i, a) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.print_arg(a, out);
                }
                out.push(')');
            }
        }
    }
}
