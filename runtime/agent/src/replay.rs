//! `lanner replay`: Falco rules over scap captures.

use std::collections::BTreeMap;
use std::path::Path;

use lanner_engine::ruleset::{Alert, RuleMatching, RuleSet, time_of_day};
use lanner_event::ScapReader;
use lanner_state::value::Value;
use lanner_state::{ContainerMatcher, Replay};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Text,
}

/// What a replay saw.
#[derive(Debug, Default)]
pub struct Summary {
    pub events: u64,
    pub alerts: u64,
    pub by_rule: BTreeMap<String, u64>,
    pub by_priority: BTreeMap<&'static str, u64>,
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayFailure {
    #[error("cannot read capture `{path}`: {source}")]
    Read {
        path: String,
        source: lanner_event::ScapError,
    },
    #[error("cannot write alerts: {source}")]
    Write { source: std::io::Error },
}

/// The host name alerts carry, as Falco reports its own host's.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// An RFC 3339 UTC timestamp with nanoseconds, as Falco's JSON `time`.
pub fn rfc3339(ts: u64) -> String {
    let secs = ts / 1_000_000_000;
    let ns = ts % 1_000_000_000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ns:09}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

pub fn json_value(field: &str, v: &Option<Value<'static>>, ruleset: &RuleSet) -> serde_json::Value {
    match v {
        None => serde_json::Value::Null,
        Some(Value::Int(i)) => (*i).into(),
        Some(Value::UInt(u)) => (*u).into(),
        Some(Value::Bool(b)) => (*b).into(),
        Some(Value::Double(d)) => {
            serde_json::Number::from_f64(*d).map_or(serde_json::Value::Null, Into::into)
        }
        Some(other) => {
            // Everything else is shown as its text.
            let info = ruleset
                .fields
                .iter()
                .find(|f| f.text == field || f.name() == field)
                .and_then(|f| f.field.as_ref())
                .map(|f| f.field);
            match info {
                Some(info) => lanner_state::render(info, Some(other)).into(),
                None => format!("{other:?}").into(),
            }
        }
    }
}

/// One alert as Falco's JSON.
pub fn alert_json(a: &Alert, ruleset: &RuleSet, host: &str) -> serde_json::Value {
    let Some(rule) = ruleset.rules.get(a.rule) else {
        return serde_json::Value::Null;
    };
    let mut fields = serde_json::Map::new();
    fields.insert("evt.time".into(), a.ts.into());
    for (text, v) in &a.fields {
        fields.insert(text.clone(), json_value(text, v, ruleset));
    }
    serde_json::json!({
        "hostname": host,
        "output": alert_text(a, ruleset),
        "output_fields": fields,
        "priority": rule.priority.as_str(),
        "rule": rule.name,
        "source": rule.source,
        "tags": rule.tags,
        "time": rfc3339(a.ts),
    })
}

/// One alert as Falco's text line (without the trailing newline).
pub fn alert_text(a: &Alert, ruleset: &RuleSet) -> String {
    let priority = ruleset
        .rules
        .get(a.rule)
        .map_or("", |r| r.priority.as_str());
    format!("{}: {priority} {}", time_of_day(a.ts), a.message)
}

/// How a replay runs and prints.
#[derive(Clone, Debug)]
pub struct Options {
    pub matching: RuleMatching,
    pub matcher: ContainerMatcher,
    pub format: Format,
}

/// Replays one capture, writing alerts to `out` as they come. `progress` is told the bytes
/// read so far.
pub fn replay_capture(
    path: &Path,
    ruleset: &RuleSet,
    options: &Options,
    out: &mut dyn crate::emit::Emit,
    summary: &mut Summary,
    progress: &mut dyn FnMut(u64),
    mut shadow: Option<&mut crate::shadow::Shadow>,
) -> Result<(), ReplayFailure> {
    let matching = options.matching;
    let matcher = options.matcher.clone();
    let err = |source| ReplayFailure::Read {
        path: path.display().to_string(),
        source,
    };
    let mut reader = ScapReader::open(path).map_err(err)?;
    let mut replay = Replay::new(matcher);
    let mut alerts = Vec::new();
    let mut n = 0u64;
    while let Some(rec) = reader.next_record().map_err(err)? {
        if let Some(d) = replay.record_borrowed(&rec)
            && d.delivered
            && let Some(ev) = replay.event_for(&rec)
        {
            summary.events += 1;
            ruleset.evaluate(&ev, &replay.state, d.num, matching, &mut alerts);
            out.evaluated(ev.event_type(), alerts.first().map(|a| a.rule));
            if let Some(s) = shadow.as_deref_mut() {
                s.evaluate(&ev, &replay.state, d.num, matching, &alerts, ruleset)
                    .map_err(|source| ReplayFailure::Write { source })?;
            }
            // A capture has no drop counter: 0, so `simulate_drops` works in replay as in Falco.
            out.tick(summary.events, Some(0), ev.ts());
        }
        for a in alerts.drain(..) {
            let Some(rule) = ruleset.rules.get(a.rule) else {
                continue;
            };
            summary.alerts += 1;
            *summary.by_rule.entry(rule.name.clone()).or_default() += 1;
            *summary
                .by_priority
                .entry(rule.priority.as_str())
                .or_default() += 1;
            out.alert(&a, ruleset, None)
                .map_err(|source| ReplayFailure::Write { source })?;
        }
        n += 1;
        if n.is_multiple_of(65_536) {
            progress(reader.offset());
        }
    }
    progress(reader.offset());
    Ok(())
}
