//! `rulec`: the rule compiler's command-line edge. The commands live here as functions so that
//! tests drive them without spawning processes; `main.rs` only parses arguments.

pub mod bundle;
pub mod check;
pub mod doc;
pub mod explain;
pub mod fmt;
pub use lanner_check::paths;
pub use lanner_check::render;
