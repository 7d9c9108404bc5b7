//! The agent's commands as functions, so tests drive them without spawning processes.

pub mod capture;
pub mod config;
pub mod config_watch;
pub mod drops;
pub mod emit;
pub mod interest;
pub mod interfaces;
pub mod live;
pub mod metrics;
pub mod noise;
pub mod outputs;
pub mod pipeline;
pub mod privilege;
pub mod reload;
pub mod replay;
pub mod select;
pub mod shadow;
pub mod source;
