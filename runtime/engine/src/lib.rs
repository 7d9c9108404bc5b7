//! Lanner's reference interpreter: Falco 0.44.1's condition semantics, evaluated over field
//! values.
//!
//! This crate is the semantic reference the Cranelift JIT and the eBPF prefilter are
//! differential-tested against, so it favours being obviously right over being fast; it
//! still does not allocate per event except where a transformer builds a new value or a
//! field-to-field comparison copies its right side.
//!
//! - The engine's input is a [`lanner_program::Program`]; [`program`] unfolds its DAG into
//!   the engine's tree ([`ir`]), so the runtime needs no front end.
//! - [`eval::eval`] evaluates a tree against a [`Fields`] source: short-circuit `and`/`or`,
//!   `not`, a missing value makes a check false (even `!=`), ancestor fields match if any
//!   ancestor does, `fd.ip`/`fd.port`/`fd.proto`/`fd.net` if either endpoint does.
//! - [`state`] reads field values from the state engine, one compiled accessor per field.
//! - [`ops`], [`glob`] and [`transform`] hold the operator and transformer semantics as pure
//!   functions, each tested on its own.
//!
//! ```
//! use lanner_engine::{Fields, FieldRef, eval};
//! use lanner_program::{Builder, Check, Field, FieldId, Lit, Node, Operand, Operator, Rhs};
//! use lanner_state::value::Value;
//!
//! struct Event;
//! impl Fields for Event {
//!     fn get(&mut self, field: &FieldRef) -> Option<Value<'_>> {
//!         (field.text == "proc.name").then(|| Value::str("bash"))
//!     }
//! }
//!
//! // `proc.name = bash`, as the checker would compile it.
//! let mut b = Builder::new(1);
//! let name = Field::schema(FieldId::ProcName, None, FieldId::ProcName.info().value_type());
//! let root = b.node(Node::Check(Check {
//!     lhs: Operand::Field(name),
//!     op: Operator::Eq,
//!     modifier: None,
//!     rhs: Rhs::Value(Lit::Str(b"bash".to_vec())),
//! }));
//! let program = b.finish().unwrap();
//! let (expr, _fields) = lanner_engine::program::condition(&program, root);
//! assert!(eval(&expr, &mut Event));
//! ```

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

pub mod eval;
/// The matcher moved to the state crate, which also needs it (container mounts are chosen by a
/// glob on their source); the engine keeps its path.
pub use lanner_state::glob;
pub mod ir;
pub mod ops;
pub mod program;
pub mod ruleset;
pub mod sets;
pub mod state;
pub mod transform;

pub use eval::{Fields, eval, eval_traced, node_count};
pub use ir::{Expr, FieldRef, Matching};
