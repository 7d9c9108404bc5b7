//! Falco's syscall drop alert (`syscall_event_drops`): every second or more, the drop ratio of
//! the last interval is compared with the threshold, and the actions run only when a token can
//! be claimed from a bucket of `rate` tokens per second and `max_burst` capacity — so a host
//! dropping continuously gets one alert per ~30 s by default, never a storm. Skipped actions are
//! counted (`lanner_syscall_drop_alerts_total{outcome="rate_limited"}`).

use crate::config::{DropAction, SyscallEventDrops};

/// What one check decided.
#[derive(Debug, Default)]
pub struct DropOutcome {
    /// A token was claimed and the actions ran.
    pub sent: bool,
    pub alert: Option<(String, serde_json::Map<String, serde_json::Value>)>,
    pub log: bool,
    pub log_line: String,
    pub exit: bool,
}

pub struct DropMonitor {
    config: SyscallEventDrops,
    last_check: Option<u64>,
    last_evts: u64,
    last_drops: u64,
    tokens: f64,
    last_refill: u64,
    /// Set by the `exit` action.
    pub exit_requested: bool,
}

impl DropMonitor {
    pub fn new(config: SyscallEventDrops) -> DropMonitor {
        let tokens = config.max_burst;
        DropMonitor {
            config,
            last_check: None,
            last_evts: 0,
            last_drops: 0,
            tokens,
            last_refill: 0,
            exit_requested: false,
        }
    }

    /// Called with totals; `now` in ns. Returns `Some` when the interval had drops over the
    /// threshold.
    pub fn check(&mut self, now: u64, evts: u64, drops: u64) -> Option<DropOutcome> {
        let Some(last) = self.last_check else {
            self.last_check = Some(now);
            self.last_refill = now;
            self.last_evts = evts;
            self.last_drops = drops;
            return None;
        };
        if now.saturating_sub(last) < 1_000_000_000 {
            return None;
        }
        let simulate = self.config.simulate_drops;
        let d_evts = evts.saturating_sub(self.last_evts);
        let d_drops = drops.saturating_sub(self.last_drops) + u64::from(simulate);
        self.last_check = Some(now);
        self.last_evts = evts;
        self.last_drops = drops;
        let threshold = if simulate { 0.0 } else { self.config.threshold };
        let actions = &self.config.actions;
        if d_drops == 0
            || actions.is_empty()
            || actions.contains(&DropAction::Ignore)
            || (d_drops as f64 / d_evts.max(1) as f64) <= threshold
        {
            return None;
        }
        let elapsed = now.saturating_sub(self.last_refill) as f64 / 1e9;
        self.last_refill = now;
        self.tokens = (self.tokens + elapsed * self.config.rate).min(self.config.max_burst);
        let mut out = DropOutcome::default();
        if self.tokens < 1.0 {
            return Some(out);
        }
        self.tokens -= 1.0;
        out.sent = true;
        let msg = format!(
            "Falco internal: syscall event drop. {d_drops} system calls dropped in last second."
        );
        for a in actions {
            match a {
                DropAction::Log => {
                    out.log = true;
                    out.log_line = msg.clone();
                }
                DropAction::Alert => {
                    let mut f = serde_json::Map::new();
                    // Falco's keys, sorted, values as strings; the per-kind counters the
                    // kernel probe does not split are 0.
                    f.insert("ebpf_enabled".into(), "1".into());
                    f.insert("n_drops".into(), d_drops.to_string().into());
                    f.insert("n_drops_buffer_clone_fork_exit".into(), "0".into());
                    f.insert("n_drops_buffer_close_exit".into(), "0".into());
                    f.insert("n_drops_buffer_connect_exit".into(), "0".into());
                    f.insert("n_drops_buffer_dir_file_exit".into(), "0".into());
                    f.insert("n_drops_buffer_execve_exit".into(), "0".into());
                    f.insert("n_drops_buffer_open_exit".into(), "0".into());
                    f.insert("n_drops_buffer_other_interest_exit".into(), "0".into());
                    f.insert("n_drops_buffer_proc_exit".into(), "0".into());
                    f.insert("n_drops_buffer_total".into(), d_drops.to_string().into());
                    f.insert("n_drops_bug".into(), "0".into());
                    f.insert("n_drops_page_faults".into(), "0".into());
                    f.insert("n_drops_scratch_map".into(), "0".into());
                    f.insert("n_evts".into(), d_evts.to_string().into());
                    out.alert = Some((msg.clone(), f));
                }
                DropAction::Exit => {
                    out.exit = true;
                    self.exit_requested = true;
                }
                DropAction::Ignore => {}
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuous_drops_alert_once_per_token() {
        let mut m = DropMonitor::new(SyscallEventDrops {
            threshold: 0.1,
            actions: vec![DropAction::Alert],
            rate: 0.03333,
            max_burst: 1.0,
            simulate_drops: false,
        });
        let s = 1_000_000_000u64;
        assert!(m.check(0, 0, 0).is_none());
        let mut sent = 0;
        let mut skipped = 0;
        // 120 s of 50 % drops.
        for i in 1..=120u64 {
            if let Some(o) = m.check(i * s, i * 100, i * 100) {
                if o.sent {
                    sent += 1;
                } else {
                    skipped += 1;
                }
            }
        }
        // One at once, then one per ~30 s: 4 or 5 alerts in 2 minutes, the rest counted.
        assert!((4..=5).contains(&sent), "{sent}");
        assert_eq!(sent + skipped, 120);
    }

    #[test]
    fn below_threshold_is_quiet() {
        let mut m = DropMonitor::new(SyscallEventDrops {
            threshold: 0.5,
            actions: vec![DropAction::Alert],
            rate: 1.0,
            max_burst: 1.0,
            simulate_drops: false,
        });
        assert!(m.check(0, 0, 0).is_none());
        assert!(m.check(2_000_000_000, 100, 10).is_none());
    }
}
