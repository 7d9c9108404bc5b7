//! Where detection hands alerts over: one call per alert ([`Emit::alert`]) and one per batch of
//! events ([`Emit::tick`]). [`Lines`] writes them to one writer (tests, benchmarks); [`Emitter`]
//! formats each alert once as Falco does, applies noise control, counts it in the metrics and
//! offers it to every output sink.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use lanner_engine::ruleset::{Alert, RuleSet, time_of_day};

use crate::metrics::Registry;
use crate::noise::{Filter, Verdict, View};
use crate::outputs::{Outputs, Record};
use crate::replay::{Format, alert_json, alert_text, rfc3339};

/// The receiving end of detection.
pub trait Emit {
    /// One alert; `latency` is event→alert when the event is live.
    fn alert(
        &mut self,
        a: &Alert,
        ruleset: &RuleSet,
        latency: Option<Duration>,
    ) -> std::io::Result<()>;
    /// Progress: events seen so far, kernel drops so far (`None` when the source has no drop
    /// counter) and the current time in ns (event time in replay).
    fn tick(&mut self, _events: u64, _drops: Option<u64>, _now: u64) {}
    /// One event of type `code` went through the rules; `first_alert` is the rule index of the
    /// first alert it raised (for the per-rule evaluation counts).
    fn evaluated(&mut self, _code: u16, _first_alert: Option<usize>) {}
    /// A reload swapped `ruleset` in: the alerts and evaluations that follow index its rules.
    fn rules_changed(&mut self, _ruleset: &RuleSet) {}
    /// Whether detection should stop (the `exit` action of `syscall_event_drops`).
    fn should_stop(&self) -> bool {
        false
    }
    /// A rules reload was swapped in (`true`) or refused (`false`).
    fn reloaded(&mut self, _ok: bool) {}
    /// The in-kernel prefilter's counters now (cumulative), by syscall name.
    fn prefilter(
        &mut self,
        _by_type: &std::collections::BTreeMap<String, crate::live::PrefilterCount>,
    ) {
    }
}

/// Alerts as lines on one writer.
pub struct Lines<'w> {
    pub out: &'w mut dyn Write,
    pub format: Format,
    pub host: String,
    /// Flush after every alert (live).
    pub flush: bool,
}

impl Emit for Lines<'_> {
    fn alert(&mut self, a: &Alert, ruleset: &RuleSet, _: Option<Duration>) -> std::io::Result<()> {
        let line = match self.format {
            Format::Json => alert_json(a, ruleset, &self.host).to_string(),
            Format::Text => alert_text(a, ruleset),
        };
        writeln!(self.out, "{line}")?;
        if self.flush {
            self.out.flush()?;
        }
        Ok(())
    }
}

/// Falco's alert formatting switches.
#[derive(Clone, Debug)]
pub struct FormatOptions {
    pub json_output: bool,
    pub include_output: bool,
    pub include_tags: bool,
    pub include_message: bool,
    pub include_output_fields: bool,
    pub iso8601: bool,
}

impl FormatOptions {
    pub fn from_config(c: &crate::config::Config) -> FormatOptions {
        FormatOptions {
            json_output: c.json_output,
            include_output: c.json_include_output_property,
            include_tags: c.json_include_tags_property,
            include_message: c.json_include_message_property,
            include_output_fields: c.json_include_output_fields_property,
            iso8601: c.time_format_iso_8601,
        }
    }
}

/// The configured pipeline.
pub struct Emitter {
    pub outputs: Outputs,
    pub format: FormatOptions,
    pub host: String,
    pub registry: Arc<Registry>,
    pub noise: Filter,
    /// Event time of the last suppression summary.
    last_summary: u64,
    summary_interval: u64,
    summarized: u64,
    pub drops: crate::drops::DropMonitor,
    /// Changes from `watch_config_files`, applied between two alerts.
    pub reload: Option<Arc<crate::config_watch::Slot>>,
    /// The registry's per-rule counters for the running rule set (cached: no lock per event).
    table: Arc<crate::metrics::RuleTable>,
    /// Whether `rule_matching` is `first` (for the table a reload makes).
    first_match: bool,
}

impl Emitter {
    pub fn new(
        outputs: Outputs,
        format: FormatOptions,
        registry: Arc<Registry>,
        noise: crate::config::Noise,
        drops: crate::drops::DropMonitor,
    ) -> Emitter {
        let summary_interval = u64::try_from(noise.summary_interval.as_nanos()).unwrap_or(0);
        if let Ok(mut s) = registry.sinks.lock() {
            *s = outputs.stats();
        }
        let table = registry.rules();
        Emitter {
            outputs,
            format,
            host: crate::replay::hostname(),
            first_match: registry.first_match(),
            table,
            registry,
            noise: Filter::new(noise),
            last_summary: 0,
            summary_interval,
            summarized: 0,
            drops,
            reload: None,
        }
    }

    /// Applies what the config watcher handed over (one atomic load when nothing did).
    fn apply_reload(&mut self, ts: u64) {
        let Some(slot) = &self.reload else {
            return;
        };
        for change in slot.take() {
            match change {
                crate::config_watch::Change::Noise(n) => {
                    self.noise.reconfigure(n);
                    self.summary_interval =
                        u64::try_from(self.noise.summary_interval().as_nanos()).unwrap_or(0);
                }
                crate::config_watch::Change::Failed(why) => self.internal(
                    "Falco internal: hot restart failure",
                    lanner_engine::ruleset::Priority::Critical,
                    &format!("Falco internal: hot restart failure: {why}"),
                    serde_json::Map::new(),
                    ts,
                ),
            }
        }
    }

    fn text_time(&self, ts: u64) -> String {
        if self.format.iso8601 {
            rfc3339(ts)
        } else {
            time_of_day(ts)
        }
    }

    /// An internal alert (source `internal`, no tags), as Falco's `handle_msg`: it bypasses the
    /// priority threshold and noise control.
    pub fn internal(
        &mut self,
        rule: &str,
        priority: lanner_engine::ruleset::Priority,
        msg: &str,
        fields: serde_json::Map<String, serde_json::Value>,
        ts: u64,
    ) {
        let kv: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let text = format!(
            "{}: {} {msg} ({})",
            self.text_time(ts),
            priority.as_str(),
            kv.join(" ")
        );
        let json = serde_json::json!({
            "hostname": self.host,
            "output": text,
            "output_fields": fields,
            "priority": priority.as_str(),
            "rule": rule,
            "source": "internal",
            "time": rfc3339(ts),
        });
        self.outputs.offer(Record {
            rule: rule.to_string(),
            priority,
            text,
            json: json.to_string(),
            json_output: self.format.json_output,
            offered: std::time::Instant::now(),
        });
    }

    fn maybe_summary(&mut self, ts: u64) {
        if self.summary_interval == 0 {
            return;
        }
        if self.last_summary == 0 {
            self.last_summary = ts;
            return;
        }
        let total: u64 = self.noise.suppressed.values().sum();
        if ts.saturating_sub(self.last_summary) < self.summary_interval || total == self.summarized
        {
            return;
        }
        self.last_summary = ts;
        self.summarized = total;
        let mut fields = serde_json::Map::new();
        for ((rule, why), n) in &self.noise.suppressed {
            fields.insert(format!("{rule} ({})", why.as_str()), (*n).into());
        }
        self.internal(
            "Lanner internal: suppressed alerts",
            lanner_engine::ruleset::Priority::Informational,
            &format!("Lanner internal: {total} alert(s) suppressed so far."),
            fields,
            ts,
        );
    }

    /// Stops the sinks, giving them `timeout` to drain.
    pub fn finish(&mut self, timeout: Duration) {
        self.sync_suppressed();
        self.outputs.stop(timeout);
    }

    fn sync_suppressed(&self) {
        if let Ok(mut s) = self.registry.suppressed.lock() {
            s.clear();
            for ((r, why), n) in &self.noise.suppressed {
                s.insert((r.clone(), why.as_str()), *n);
            }
        }
    }
}

impl Emit for Emitter {
    fn alert(
        &mut self,
        a: &Alert,
        ruleset: &RuleSet,
        latency: Option<Duration>,
    ) -> std::io::Result<()> {
        self.apply_reload(a.ts);
        let Some(rule) = ruleset.rules.get(a.rule) else {
            return Ok(());
        };
        self.table.matched(a.rule);
        let mut folded = 0;
        if self.noise.is_active() {
            let rendered: Vec<(String, String)> = a
                .fields
                .iter()
                .map(|(k, v)| {
                    let s = match crate::replay::json_value(k, v, ruleset) {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k.clone(), s)
                })
                .collect();
            let verdict = self.noise.check(&View {
                rule: &rule.name,
                tags: &rule.tags,
                fields: &rendered,
                ts: a.ts,
            });
            self.sync_suppressed();
            match verdict {
                Verdict::Suppress(_) => {
                    self.maybe_summary(a.ts);
                    return Ok(());
                }
                Verdict::Pass { folded: n } => folded = n,
            }
        }
        let mut text = format!(
            "{}: {} {}",
            self.text_time(a.ts),
            rule.priority.as_str(),
            a.message
        );
        if folded > 0 {
            text.push_str(&format!(" (lanner: {folded} similar alert(s) folded)"));
        }
        let mut json = alert_json(a, ruleset, &self.host);
        if let Some(obj) = json.as_object_mut() {
            if self.format.include_output {
                obj.insert("output".into(), text.clone().into());
            } else {
                obj.remove("output");
            }
            if !self.format.include_tags {
                obj.remove("tags");
            }
            if !self.format.include_output_fields {
                obj.remove("output_fields");
            }
            if self.format.include_message {
                obj.insert("message".into(), a.message.clone().into());
            }
            if folded > 0 {
                obj.insert("lanner_folded".into(), folded.into());
            }
        }
        if let Some(l) = latency {
            self.registry.observe_latency(l);
        }
        self.outputs.offer(Record {
            rule: rule.name.clone(),
            priority: rule.priority,
            text,
            json: json.to_string(),
            json_output: self.format.json_output,
            offered: std::time::Instant::now(),
        });
        self.maybe_summary(a.ts);
        Ok(())
    }

    fn should_stop(&self) -> bool {
        self.drops.exit_requested
    }

    fn reloaded(&mut self, ok: bool) {
        self.registry
            .record_reload(crate::metrics::ReloadKind::Rules, ok);
    }

    fn evaluated(&mut self, code: u16, first_alert: Option<usize>) {
        self.table.evaluated(code, first_alert);
    }

    fn rules_changed(&mut self, ruleset: &RuleSet) {
        self.table = self.registry.swap_rules(ruleset, self.first_match);
    }

    fn prefilter(
        &mut self,
        by_type: &std::collections::BTreeMap<String, crate::live::PrefilterCount>,
    ) {
        self.registry.set_prefilter(by_type.iter().map(|(name, c)| {
            (
                name.clone(),
                crate::metrics::PrefilterCounts {
                    seen: c.seen,
                    passed: c.passed(),
                    dropped: c.dropped,
                },
            )
        }));
    }

    fn tick(&mut self, events: u64, drops: Option<u64>, now: u64) {
        self.apply_reload(now);
        self.registry.n_evts.store(events, Ordering::Relaxed);
        if let Some(d) = drops {
            self.registry.n_drops.store(d, Ordering::Relaxed);
            if let Some(alert) = self.drops.check(now, events, d) {
                if alert.sent {
                    self.registry.drop_alerts.fetch_add(1, Ordering::Relaxed);
                    if let Some((msg, fields)) = alert.alert {
                        self.internal(
                            "Falco internal: syscall event drop",
                            lanner_engine::ruleset::Priority::Debug,
                            &msg,
                            fields,
                            now,
                        );
                    }
                    if alert.log {
                        eprintln!("lanner: {}", alert.log_line);
                    }
                } else {
                    self.registry
                        .drop_alerts_skipped
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}
