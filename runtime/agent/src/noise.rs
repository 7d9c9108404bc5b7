//! Noise control, applied to alerts before they reach the outputs: silence windows, per-rule
//! token buckets and dedupe by fingerprint. Falco removed its rate limiter because it dropped
//! alerts silently; here nothing is suppressed without a counter per rule and reason, and the
//! alert after a folded run carries how many were folded into it.
//!
//! Time is event time (`evt.time`), so a replay suppresses exactly what the live run would.

use std::collections::{BTreeMap, HashMap};

use crate::config::Noise;
use crate::select::matches_wildcard;

/// Why an alert was suppressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    Silence,
    RateLimit,
    Dedupe,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Silence => "silence",
            Reason::RateLimit => "rate_limit",
            Reason::Dedupe => "dedupe",
        }
    }
}

/// The verdict on one alert.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it; `folded` alerts of the same fingerprint were suppressed before it.
    Pass {
        folded: u64,
    },
    Suppress(Reason),
}

struct Bucket {
    tokens: f64,
    last: u64,
}

/// The state of noise control.
pub struct Filter {
    config: Noise,
    buckets: HashMap<(usize, String), Bucket>,
    /// Fingerprint → (window start, alerts folded since).
    seen: HashMap<(String, Vec<String>), (u64, u64)>,
    pub suppressed: BTreeMap<(String, Reason), u64>,
}

/// An alert as noise control sees it.
pub struct View<'a> {
    pub rule: &'a str,
    pub tags: &'a [String],
    /// Output fields by their text (`proc.name`) and rendered value.
    pub fields: &'a [(String, String)],
    /// Event time, ns.
    pub ts: u64,
}

impl Filter {
    pub fn new(config: Noise) -> Filter {
        Filter {
            config,
            buckets: HashMap::new(),
            seen: HashMap::new(),
            suppressed: BTreeMap::new(),
        }
    }

    /// New settings from a config reload. The suppression counters carry over; a bucket or a
    /// dedupe window whose settings changed starts afresh.
    pub fn reconfigure(&mut self, config: Noise) {
        if config.rate_limits != self.config.rate_limits {
            self.buckets.clear();
        }
        if config.dedupe != self.config.dedupe {
            self.seen.clear();
        }
        self.config = config;
    }

    pub fn summary_interval(&self) -> std::time::Duration {
        self.config.summary_interval
    }

    pub fn is_active(&self) -> bool {
        !self.config.rate_limits.is_empty()
            || self.config.dedupe.is_some()
            || !self.config.silences.is_empty()
    }

    fn count(&mut self, rule: &str, reason: Reason) -> Verdict {
        *self
            .suppressed
            .entry((rule.to_string(), reason))
            .or_default() += 1;
        Verdict::Suppress(reason)
    }

    pub fn check(&mut self, a: &View<'_>) -> Verdict {
        let secs = a.ts / 1_000_000_000;
        let silenced = self.config.silences.iter().any(|s| {
            s.start.is_none_or(|t| secs >= t)
                && s.end.is_none_or(|t| secs < t)
                && s.rule.as_ref().is_none_or(|p| matches_wildcard(p, a.rule))
                && s.tag.as_ref().is_none_or(|t| a.tags.contains(t))
                && s.fields
                    .iter()
                    .all(|(k, v)| a.fields.iter().any(|(fk, fv)| fk == k && fv == v))
        });
        if silenced {
            return self.count(a.rule, Reason::Silence);
        }
        // The first limit whose pattern matches the rule applies.
        if let Some((i, limit)) = self
            .config
            .rate_limits
            .iter()
            .enumerate()
            .find(|(_, l)| matches_wildcard(&l.rule, a.rule))
        {
            let (rate, burst) = (limit.rate, limit.burst);
            let b = self
                .buckets
                .entry((i, a.rule.to_string()))
                .or_insert(Bucket {
                    tokens: burst,
                    last: a.ts,
                });
            let dt = a.ts.saturating_sub(b.last) as f64 / 1e9;
            b.tokens = (b.tokens + dt * rate).min(burst);
            b.last = b.last.max(a.ts);
            if b.tokens < 1.0 {
                return self.count(a.rule, Reason::RateLimit);
            }
            b.tokens -= 1.0;
        }
        if let Some(d) = &self.config.dedupe {
            let window = u64::try_from(d.window.as_nanos()).unwrap_or(u64::MAX);
            let key_values = d
                .fields
                .iter()
                .map(|f| {
                    a.fields
                        .iter()
                        .find(|(k, _)| k == f)
                        .map_or_else(|| "<NA>".to_string(), |(_, v)| v.clone())
                })
                .collect();
            let key = (a.rule.to_string(), key_values);
            match self.seen.get_mut(&key) {
                Some((start, folded)) if a.ts.saturating_sub(*start) < window => {
                    *folded += 1;
                    return self.count(a.rule, Reason::Dedupe);
                }
                Some((start, folded)) => {
                    let n = *folded;
                    *start = a.ts;
                    *folded = 0;
                    return Verdict::Pass { folded: n };
                }
                None => {
                    self.seen.insert(key, (a.ts, 0));
                }
            }
        }
        Verdict::Pass { folded: 0 }
    }

    /// Suppressed counts as `rule (reason): n` lines.
    pub fn summary(&self) -> Vec<String> {
        self.suppressed
            .iter()
            .map(|((r, why), n)| format!("{r} ({}): {n}", why.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Dedupe, RateLimit, Silence};
    use std::time::Duration;

    fn noise() -> Noise {
        Noise {
            rate_limits: Vec::new(),
            dedupe: None,
            silences: Vec::new(),
            summary_interval: Duration::ZERO,
        }
    }

    fn view(ts_s: u64, fields: &[(String, String)]) -> View<'_> {
        View {
            rule: "r",
            tags: &[],
            fields,
            ts: ts_s * 1_000_000_000,
        }
    }

    #[test]
    fn token_bucket_refills_with_event_time() {
        let mut n = noise();
        n.rate_limits.push(RateLimit {
            rule: "*".into(),
            rate: 1.0,
            burst: 2.0,
        });
        let mut f = Filter::new(n);
        let verdicts: Vec<_> = [0, 0, 0, 1, 1]
            .iter()
            .map(|t| f.check(&view(*t, &[])))
            .collect();
        assert_eq!(verdicts[2], Verdict::Suppress(Reason::RateLimit));
        assert_eq!(verdicts[3], Verdict::Pass { folded: 0 });
        assert_eq!(verdicts[4], Verdict::Suppress(Reason::RateLimit));
        assert_eq!(f.suppressed.values().sum::<u64>(), 2);
    }

    #[test]
    fn dedupe_folds_and_reports_the_count() {
        let mut n = noise();
        n.dedupe = Some(Dedupe {
            window: Duration::from_secs(10),
            fields: vec!["proc.name".into()],
        });
        let mut f = Filter::new(n);
        let a = vec![("proc.name".to_string(), "cat".to_string())];
        let b = vec![("proc.name".to_string(), "dog".to_string())];
        assert_eq!(f.check(&view(0, &a)), Verdict::Pass { folded: 0 });
        assert_eq!(f.check(&view(1, &a)), Verdict::Suppress(Reason::Dedupe));
        assert_eq!(f.check(&view(2, &b)), Verdict::Pass { folded: 0 });
        assert_eq!(f.check(&view(3, &a)), Verdict::Suppress(Reason::Dedupe));
        assert_eq!(f.check(&view(11, &a)), Verdict::Pass { folded: 2 });
    }

    #[test]
    fn silences_match_rule_field_and_window() {
        let mut n = noise();
        n.silences.push(Silence {
            rule: Some("r".into()),
            tag: None,
            fields: vec![("proc.name".into(), "cat".into())],
            start: Some(5),
            end: Some(10),
            reason: "maintenance".into(),
        });
        let mut f = Filter::new(n);
        let a = vec![("proc.name".to_string(), "cat".to_string())];
        assert_eq!(f.check(&view(4, &a)), Verdict::Pass { folded: 0 });
        assert_eq!(f.check(&view(5, &a)), Verdict::Suppress(Reason::Silence));
        assert_eq!(f.check(&view(10, &a)), Verdict::Pass { folded: 0 });
    }
}
