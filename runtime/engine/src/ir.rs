//! The condition as the interpreter sees it: a small tree of checks whose constants are already
//! parsed to the type they are compared with.
//!
//! This tree is the engine's own, derived from a [`lanner_program::Program`]'s DAG by
//! [`crate::program`] (shared nodes are expanded; the constants are the program's own).

use lanner_schema::{Modifier, Operator, ResolvedField, Transformer, ValueType};

pub use lanner_program::Lit;

/// A condition.
#[derive(Clone, Debug)]
pub enum Expr {
    /// True if every child is; evaluation stops at the first false child.
    And(Vec<Expr>),
    /// True if some child is; evaluation stops at the first true child.
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Check(Box<Check>),
    /// A part the checker could not type (a parse hole, an unexpanded macro, an invalid
    /// check). It evaluates to false, like an unsatisfiable check, so that `not` of it is true.
    Unknown,
}

/// `lhs op rhs`.
#[derive(Clone, Debug)]
pub struct Check {
    pub lhs: Operand,
    /// `==` is folded into `=` when the tree is built: they compare alike.
    pub op: Operator,
    pub modifier: Option<Modifier>,
    pub rhs: Rhs,
    /// The literals of an `in`/`intersects` list as one set, when that answers as the loop
    /// would ([`crate::sets::LitSet::build`]); shared by the interpreter and the JIT.
    pub set: Option<std::sync::Arc<crate::sets::LitSet>>,
}

/// How the values of a field take part in a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matching {
    /// The value is compared as it is; a list field's list is one value (`in` is a subset
    /// test, `intersects` an overlap test).
    Plain,
    /// An ancestor field without a level (`proc.aname`): the source returns the ancestors'
    /// values as a list, and the check holds if it holds for ANY ancestor.
    AnyAncestor,
    /// `fd.ip`, `fd.port`, `fd.proto`, `fd.net`: the source returns the endpoints' values as a
    /// list (one for a server socket, two for a connection). The check holds if it holds for
    /// either endpoint, except `!=`, which must hold for both (Falco's `compare_ip`,
    /// `compare_port` and `compare_net`).
    Endpoints,
    /// `fd.cip.name`, `fd.sip.name`, `fd.lip.name`, `fd.rip.name`: the source returns the
    /// list of the rule set's host names that resolved to the address (see
    /// `lanner_state::hostnames`). The check holds if it holds for one name, except `!=`,
    /// which must hold for every one, so an address no name resolved to is `!=` each name and
    /// `=` none (Falco's `compare_domain`); `exists` needs a name.
    HostNames,
}

/// A field reference, as handed to [`crate::Fields::get`].
#[derive(Clone, Debug)]
pub struct FieldRef {
    /// The field's index in its rule set's (or condition's) field table: equal references
    /// (same field, same argument) share one slot, so a source can compile an accessor per
    /// slot once and index it per event instead of looking fields up by name.
    pub slot: usize,
    /// The schema entry and the parsed argument (`evt.arg[1]`, `proc.aname[2]`, ...); `None`
    /// for a field the program declares besides the schema (a plugin's).
    pub field: Option<ResolvedField>,
    /// The field as written, with its argument: `proc.aname[2]`.
    pub text: String,
    /// The value type the checker assigned (for `evt.rawarg.NAME` the parameter's type).
    pub ty: ValueType,
    pub matching: Matching,
}

impl FieldRef {
    /// The field's name without argument.
    pub fn name(&self) -> &str {
        self.field
            .as_ref()
            .map_or(self.text.as_str(), |r| r.field.name)
    }
}

impl std::fmt::Display for FieldRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A field or a transformer call.
#[derive(Clone, Debug)]
pub enum Operand {
    Field(FieldRef),
    Transform(Box<Transform>),
}

impl Operand {
    /// How the operand's values take part in a comparison. Element-wise transformers
    /// (`tolower`, `toupper`, `b64`, `basename`, `len`) keep the matching of the field they
    /// wrap, because Falco applies them to each ancestor or endpoint value in turn; the
    /// multi-argument transformers build one new value.
    pub fn matching(&self) -> Matching {
        match self {
            Operand::Field(f) => f.matching,
            Operand::Transform(t) => match (t.kind, t.args.as_slice()) {
                (
                    Transformer::ToLower
                    | Transformer::ToUpper
                    | Transformer::B64
                    | Transformer::Basename
                    | Transformer::Len
                    | Transformer::Val,
                    [Arg::Operand(inner)],
                ) => inner.matching(),
                _ => Matching::Plain,
            },
        }
    }
}

/// A transformer call.
#[derive(Clone, Debug)]
pub struct Transform {
    pub kind: Transformer,
    pub args: Vec<Arg>,
    /// `getopt(...)[c]`: the option character selected.
    pub option: Option<u8>,
    /// The result type.
    pub ty: ValueType,
}

/// A transformer argument.
#[derive(Clone, Debug)]
pub enum Arg {
    Operand(Operand),
    /// A quoted string or a number, as bytes.
    Literal(Box<[u8]>),
    /// `(a, b, ...)`.
    List(Vec<Arg>),
}

/// The right-hand side of a check.
#[derive(Clone, Debug)]
pub enum Rhs {
    /// `exists`.
    None,
    Value(Lit),
    /// For `in`, `intersects` and `pmatch` a set; after a modifier the list as written
    /// (duplicates count for `oneof`).
    List(Vec<Lit>),
    /// A field-to-field comparison: `val(f)` or a transformer.
    Operand(Operand),
}
