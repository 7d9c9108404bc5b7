//! The agent's commands as functions, so tests drive them without spawning processes.

pub mod capture;
pub mod interest;
pub mod live;
pub mod replay;
