//! Rule tests, as `rulec test` runs them.
//!
//! A test file (`*.test.yaml`) lives beside the rules it tests and describes cases compactly:
//! a process (with defaults), its parent chain, its fds, and the syscalls it makes; and which
//! rules must fire on them (with the output text or a subset of the output fields) and which
//! must not. [`format`] reads such a file into located data; [`synth`] turns a case into a
//! real scap capture in memory — a process list, fd tables, users and the events, encoded as
//! the kernel driver encodes them — so that a case runs through exactly the state engine and
//! interpreter that replay and the live agent use. No kernel is needed.
//!
//! The format is documented in docs/rule-tests.md.

pub mod format;
pub mod report;
pub mod runner;
pub mod synth;
