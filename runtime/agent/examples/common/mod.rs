//! What the agent's benchmark examples share: the reference data's location, the upstream rules
//! (plus the oracle's probe rules) compiled to a program or a rule set, the shared captures, and
//! pinning a thread to a CPU.
//!
//! Included with `mod common;`; each example uses a part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use lanner_engine::ruleset::RuleSet;
use lanner_program::Program;

/// The reference data (`../shared` beside the checkout).
pub fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// Falco's rules, plus the oracle's probe rules (which fire on the shared captures: without
/// them there would be few alerts to time or deliver).
pub const RULES_WITH_PROBES: [&str; 4] = [
    "upstream-rules/falco_rules.yaml",
    "upstream-rules/falco-incubating_rules.yaml",
    "upstream-rules/falco-sandbox_rules.yaml",
    "scap/oracle-falco/probe_rules.yaml",
];

/// Falco's three rule files, loaded together as users load them.
pub const UPSTREAM: [&str; 3] = [
    "upstream-rules/falco_rules.yaml",
    "upstream-rules/falco-incubating_rules.yaml",
    "upstream-rules/falco-sandbox_rules.yaml",
];

/// The rule set of `names` (paths below `shared()`), compiled by the front end.
pub fn ruleset(names: &[&str]) -> Result<RuleSet> {
    let program = program(names)?;
    Ok(RuleSet::from_program(&program, lanner_engine::program::OutputOptions::default()).0)
}

/// The program of `names` (paths below `shared()`), compiled by the front end.
pub fn program(names: &[&str]) -> Result<Program> {
    let dir = shared();
    let sources = names
        .iter()
        .map(|n| {
            let text = std::fs::read_to_string(dir.join(n))
                .with_context(|| format!("reading the rules `{n}` (../shared)"))?;
            Ok((n.to_string(), text))
        })
        .collect::<Result<Vec<_>>>()?;
    lanner_check::driver::compile(sources).map_err(|d| {
        let errors: Vec<_> = d.errors().map(|e| e.message.clone()).collect();
        anyhow!("the rules do not compile: {errors:?}")
    })
}

/// Pins the calling thread to `cpu` (benchmark load on one CPU, the agent on the other).
pub fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t with one bit set; affects only the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The shared captures' bytes, in name order.
pub fn captures() -> Result<Vec<Vec<u8>>> {
    let dir = shared().join("scap/captures");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing the captures in `{}`", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "scap"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("reading `{}`", p.display())))
        .collect()
}
