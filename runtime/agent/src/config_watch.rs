//! `watch_config_files`: the configuration file is watched while the agent runs, and what can
//! change in place does, without a restart: noise control (silence windows, rate limits, dedupe,
//! the summary interval). Falco restarts the whole application on a change and loses the events
//! of the gap; here detection never stops: a watcher thread re-reads and validates the file off
//! the event path and hands the new settings over, and the emitter swaps them in between two
//! alerts. An invalid file is refused, counted, reported as Falco's `hot restart failure`
//! (Critical, internal), and the running configuration stays.
//!
//! The watcher compares the file's content (not its mtime and not inotify events): Kubernetes
//! ConfigMaps change by swapping a symlink, editors by rename-and-write, and overlayfs drops
//! `IN_CLOSE_WRITE` (falco-operator #71); a content hash sees all of them. A change is applied
//! once the content stayed the same for one more poll (the debounce of a half-written file).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{Config, Noise};
use crate::metrics::{Registry, ReloadKind};

/// What the watcher hands to the emitter.
#[derive(Debug)]
pub enum Change {
    /// New noise-control settings, valid.
    Noise(Noise),
    /// The new file was refused: why (Falco's `hot restart failure`).
    Failed(String),
}

/// The hand-over between the watcher thread and the emitter.
#[derive(Default)]
pub struct Slot {
    /// Set when `pending` holds something; the event path only reads this flag.
    ready: AtomicBool,
    pending: Mutex<Vec<Change>>,
}

impl Slot {
    fn push(&self, c: Change) {
        if let Ok(mut p) = self.pending.lock() {
            p.push(c);
            self.ready.store(true, Ordering::Release);
        }
    }

    /// The changes since the last call; cheap (one atomic load) when there are none.
    pub fn take(&self) -> Vec<Change> {
        if !self.ready.load(Ordering::Acquire) {
            return Vec::new();
        }
        self.ready.store(false, Ordering::Relaxed);
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }
}

/// How often the file is read.
pub const POLL: Duration = Duration::from_millis(250);

/// Why the config file did not reload.
fn failure(path: &Path, overrides: &[String]) -> Result<Config, String> {
    let loaded = crate::config::load(Some(path), overrides).map_err(|e| e.to_string())?;
    if loaded.has_errors() {
        let lines: Vec<String> = loaded
            .render()
            .into_iter()
            .filter(|l| l.contains(": error: "))
            .collect();
        return Err(format!(
            "Error reading config file ({}): {}",
            path.display(),
            lines.join("; ")
        ));
    }
    Ok(loaded.config)
}

/// The keys whose change needs a restart (named in the reload line).
fn restart_keys(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    let mut check = |changed: bool, key: &'static str| {
        if changed {
            keys.push(key);
        }
    };
    check(old.rules_files != new.rules_files, "rules_files");
    check(old.rules != new.rules, "rules");
    check(old.priority != new.priority, "priority");
    check(
        old.rule_matching_all != new.rule_matching_all,
        "rule_matching",
    );
    check(
        old.json_output != new.json_output
            || old.json_include_output_property != new.json_include_output_property
            || old.json_include_tags_property != new.json_include_tags_property
            || old.json_include_message_property != new.json_include_message_property
            || old.json_include_output_fields_property != new.json_include_output_fields_property
            || old.time_format_iso_8601 != new.time_format_iso_8601
            || old.append_output != new.append_output,
        "output format",
    );
    check(
        old.stdout_output != new.stdout_output
            || old.syslog_output != new.syslog_output
            || old.file_output != new.file_output
            || old.program_output != new.program_output
            || old.http_output != new.http_output
            || old.sinks != new.sinks
            || old.outputs_queue_capacity != new.outputs_queue_capacity,
        "outputs",
    );
    check(
        old.metrics != new.metrics || old.webserver != new.webserver,
        "metrics/webserver",
    );
    check(
        old.syscall_event_drops != new.syscall_event_drops,
        "syscall_event_drops",
    );
    keys
}

/// Starts watching `path` (read with `overrides` applied, as at start). `running` is the
/// configuration the agent started with.
pub fn spawn(
    path: PathBuf,
    overrides: Vec<String>,
    running: Config,
    registry: Arc<Registry>,
) -> std::io::Result<Arc<Slot>> {
    let slot = Arc::new(Slot::default());
    let s = Arc::clone(&slot);
    std::thread::Builder::new()
        .name("lanner-config-watch".into())
        .spawn(move || watch(&path, &overrides, running, &registry, &s))?;
    Ok(slot)
}

fn watch(path: &Path, overrides: &[String], mut running: Config, registry: &Registry, slot: &Slot) {
    // Reading a file needs no capability.
    crate::privilege::drop_all_in_this_thread();
    let read = || std::fs::read(path).ok();
    let mut applied = read();
    let mut candidate: Option<Option<Vec<u8>>> = None;
    loop {
        std::thread::sleep(POLL);
        let now = read();
        if now == applied {
            candidate = None;
            continue;
        }
        // Debounce: act once the new content survived one more poll.
        if candidate.as_ref() != Some(&now) {
            candidate = Some(now);
            continue;
        }
        candidate = None;
        applied = now;
        if applied.is_none() {
            // Deleted (or mid-swap): keep running; a new file shows up as a change.
            continue;
        }
        match failure(path, overrides) {
            Err(why) => {
                registry.record_reload(ReloadKind::Config, false);
                eprintln!("lanner: config reload failed, the running configuration stays: {why}");
                slot.push(Change::Failed(why));
            }
            Ok(new) => {
                registry.record_reload(ReloadKind::Config, true);
                registry.set_config_file(path);
                let later = restart_keys(&running, &new);
                let noise = new.noise != running.noise;
                eprintln!(
                    "lanner: config {} reloaded: {}{}",
                    path.display(),
                    if noise {
                        "noise control applied"
                    } else {
                        "noise control unchanged"
                    },
                    if later.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; changes to {} apply at the next start",
                            later
                                .iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                );
                if noise {
                    slot.push(Change::Noise(new.noise.clone()));
                }
                running = new;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_slot_hands_over_in_order_and_only_once() {
        let s = Slot::default();
        assert!(s.take().is_empty());
        s.push(Change::Failed("a".into()));
        s.push(Change::Failed("b".into()));
        let got: Vec<String> = s
            .take()
            .into_iter()
            .map(|c| match c {
                Change::Failed(w) => w,
                Change::Noise(_) => String::new(),
            })
            .collect();
        assert_eq!(got, ["a", "b"]);
        assert!(s.take().is_empty());
    }

    #[test]
    fn restart_keys_name_what_a_reload_does_not_apply() {
        let old = Config::default();
        let mut new = old.clone();
        new.noise.summary_interval = Duration::from_secs(1);
        assert!(restart_keys(&old, &new).is_empty());
        new.priority = lanner_engine::ruleset::Priority::Error;
        new.http_output.url = "http://127.0.0.1:1/".into();
        assert_eq!(restart_keys(&old, &new), ["priority", "outputs"]);
    }
}
