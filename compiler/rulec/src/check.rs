//! `rulec check FILE...`: every problem of every file in one run.

pub use lanner_check::driver::{Checked as CheckResult, check_sources};
