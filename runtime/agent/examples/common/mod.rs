//! What the agent's benchmark examples share: the reference data's location, the upstream rules
//! (plus the oracle's probe rules) compiled to a rule set, and the shared captures.
//!
//! Included with `mod common;`; each example uses a part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use lanner_engine::ruleset::RuleSet;

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

/// The rule set of `names` (paths below `shared()`), compiled by the front end.
pub fn ruleset(names: &[&str]) -> Result<RuleSet> {
    let dir = shared();
    let sources = names
        .iter()
        .map(|n| {
            let text = std::fs::read_to_string(dir.join(n))
                .with_context(|| format!("reading the rules `{n}` (../shared)"))?;
            Ok((n.to_string(), text))
        })
        .collect::<Result<Vec<_>>>()?;
    let program = lanner_check::driver::compile(sources).map_err(|d| {
        let errors: Vec<_> = d.errors().map(|e| e.message.clone()).collect();
        anyhow!("the rules do not compile: {errors:?}")
    })?;
    Ok(RuleSet::from_program(&program, lanner_engine::program::OutputOptions::default()).0)
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
