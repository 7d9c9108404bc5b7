//! Shadow mode: a candidate rule set evaluated on the same events, with the same state, as the
//! active one. Its alerts never reach the real outputs: they go to their own file (if asked)
//! and into a per-rule diff against the active alerts of the same event: alerts only in the
//! candidate, only in the active rules, in both. It is the dry run before a rollout.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;

use lanner_engine::ruleset::{Alert, RuleMatching, RuleSet};
use lanner_event::Event;
use lanner_state::State;

use crate::replay::{Format, alert_json, alert_text};

/// One rule's line of the diff (rules are compared by name).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    pub only_candidate: u64,
    pub only_active: u64,
    pub both: u64,
}

/// The candidate and what it found.
pub struct Shadow {
    pub ruleset: RuleSet,
    /// The candidate's kernel part: the kernel passes what either program may need. None
    /// (everything passes) until the caller sets it.
    pub kernel: lanner_ebpf::filter::KernelFilter,
    out: Option<std::io::BufWriter<std::fs::File>>,
    format: Format,
    host: String,
    alerts: Vec<Alert>,
    pub diff: BTreeMap<String, Diff>,
    pub events: u64,
    pub candidate_alerts: u64,
}

impl Shadow {
    /// A shadow of `ruleset`, writing its alerts to `output` if given (created or truncated).
    pub fn new(ruleset: RuleSet, output: Option<&Path>, format: Format) -> std::io::Result<Shadow> {
        let out = output
            .map(|p| std::fs::File::create(p).map(std::io::BufWriter::new))
            .transpose()?;
        Ok(Shadow {
            ruleset,
            kernel: lanner_ebpf::filter::KernelFilter::none(),
            out,
            format,
            host: crate::replay::hostname(),
            alerts: Vec::new(),
            diff: BTreeMap::new(),
            events: 0,
            candidate_alerts: 0,
        })
    }

    /// Evaluates the candidate on the event the active rules produced `active` for, after the
    /// state processed it.
    pub fn evaluate(
        &mut self,
        ev: &Event<'_>,
        state: &State,
        num: u64,
        matching: RuleMatching,
        active: &[Alert],
        active_rules: &RuleSet,
    ) -> std::io::Result<()> {
        self.events += 1;
        self.alerts.clear();
        self.ruleset
            .evaluate(ev, state, num, matching, &mut self.alerts);
        if self.alerts.is_empty() && active.is_empty() {
            return Ok(());
        }
        let names = |alerts: &[Alert], rules: &RuleSet| -> BTreeSet<String> {
            alerts
                .iter()
                .filter_map(|a| rules.rules.get(a.rule).map(|r| r.name.clone()))
                .collect()
        };
        let cand = names(&self.alerts, &self.ruleset);
        let act = names(active, active_rules);
        for n in cand.union(&act) {
            let d = self.diff.entry(n.clone()).or_default();
            match (cand.contains(n), act.contains(n)) {
                (true, true) => d.both += 1,
                (true, false) => d.only_candidate += 1,
                _ => d.only_active += 1,
            }
        }
        self.candidate_alerts += self.alerts.len() as u64;
        if let Some(out) = &mut self.out {
            for a in &self.alerts {
                let line = match self.format {
                    Format::Json => alert_json(a, &self.ruleset, &self.host).to_string(),
                    Format::Text => alert_text(a, &self.ruleset),
                };
                writeln!(out, "{line}")?;
            }
        }
        Ok(())
    }

    /// Flushes the candidate's alert file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.as_mut().map_or(Ok(()), std::io::Write::flush)
    }

    /// Totals over every rule.
    pub fn totals(&self) -> Diff {
        self.diff.values().fold(Diff::default(), |t, d| Diff {
            only_candidate: t.only_candidate + d.only_candidate,
            only_active: t.only_active + d.only_active,
            both: t.both + d.both,
        })
    }

    /// The diff as text lines (stderr).
    pub fn summary_text(&self) -> Vec<String> {
        let t = self.totals();
        let mut lines = vec![format!(
            "shadow: {} event(s), candidate {} alert(s); {} only in the candidate, {} only in the active rules, {} in both",
            self.events, self.candidate_alerts, t.only_candidate, t.only_active, t.both
        )];
        for (rule, d) in &self.diff {
            lines.push(format!(
                "shadow:   {rule}: {} only candidate, {} only active, {} both",
                d.only_candidate, d.only_active, d.both
            ));
        }
        lines
    }

    /// The diff as JSON.
    pub fn summary_json(&self) -> serde_json::Value {
        let t = self.totals();
        serde_json::json!({
            "events": self.events,
            "candidate_alerts": self.candidate_alerts,
            "only_candidate": t.only_candidate,
            "only_active": t.only_active,
            "both": t.both,
            "rules": self.diff.iter().map(|(rule, d)| serde_json::json!({
                "rule": rule,
                "only_candidate": d.only_candidate,
                "only_active": d.only_active,
                "both": d.both,
            })).collect::<Vec<_>>(),
        })
    }
}
