//! The checker: from parsed rules files to the typed program.
//!
//! - [`resolve`]: Falco's loader semantics across files — lists substituted into condition
//!   text, macros expanded, `append`/`override`, exceptions turned into conditions, `enabled`,
//!   required versions.
//! - [`typeck`]: fields, arguments, operators, values and transformers checked against the
//!   schema, producing typed expressions.
//! - [`evttypes`]: the event-type set of each rule, as Falco's index computes it.

pub mod driver;
pub mod evttypes;
pub mod fields;
pub mod lints;
pub mod paths;
pub mod program;
pub mod render;
pub mod resolve;
pub mod typeck;
