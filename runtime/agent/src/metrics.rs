//! Metrics: Falco's Prometheus series where the meaning is the same (so Falco dashboards keep
//! working), Lanner's own (`lanner_*`) for what Falco lacks, and the small HTTP endpoint serving
//! them with `/healthz` and `/versions`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::outputs::SinkStats;

/// Upper bounds (seconds) of the event→alert latency histogram.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1.0, 10.0,
];

/// A rule as the metrics name it.
#[derive(Clone, Debug)]
pub struct RuleMeta {
    pub name: String,
    /// Falco's number: 0 = Emergency … 7 = Debug.
    pub priority: u8,
    pub source: String,
    pub tags: Vec<String>,
}

/// Every counter the agent exports, shared between detection, the sinks and the endpoint.
pub struct Registry {
    pub rules: Vec<RuleMeta>,
    pub rule_matches: Vec<AtomicU64>,
    pub n_evts: AtomicU64,
    pub n_drops: AtomicU64,
    /// Records the kernel probe could not convert.
    pub n_malformed: AtomicU64,
    pub latency_buckets: Vec<AtomicU64>,
    pub latency_count: AtomicU64,
    pub latency_sum_micros: AtomicU64,
    pub sinks: Mutex<Vec<(&'static str, Arc<SinkStats>)>>,
    pub suppressed: Mutex<BTreeMap<(String, &'static str), u64>>,
    pub drop_alerts: AtomicU64,
    pub drop_alerts_skipped: AtomicU64,
    /// Rules files as `(basename, sha256)`; a rules reload replaces them.
    pub rules_files: Mutex<Vec<(String, String)>>,
    /// The config file as `(basename, sha256)`; a config reload replaces it.
    pub config_files: Mutex<Vec<(String, String)>>,
    pub start_ns: u64,
    pub engine: &'static str,
    pub ready: AtomicBool,
    /// Events evaluated per dispatch slot (an event code; the last slot stands for every code
    /// no typed rule names), for the per-rule evaluation counts.
    pub events_by_slot: Vec<AtomicU64>,
    /// The rules each slot dispatches to, in evaluation order.
    dispatch: Vec<Vec<u32>>,
    /// Per rule: evaluations not done because an earlier rule matched first (`rule_matching:
    /// first`).
    pub rule_skipped: Vec<AtomicU64>,
    /// Whether `rule_matching` is `first`.
    first_match: bool,
    /// The in-kernel prefilter's counters by event type (cumulative, as the kernel keeps them).
    pub prefilter: Mutex<BTreeMap<String, PrefilterCounts>>,
    /// Reloads by `(kind, outcome)`.
    pub reloads: Mutex<BTreeMap<(ReloadKind, bool), u64>>,
    /// Start, then the last successful reload (Falco's `reload_ts`).
    pub reload_ns: AtomicU64,
}

/// What the in-kernel prefilter did with the events of one type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefilterCounts {
    /// Events the kernel programs saw.
    pub seen: u64,
    /// Shipped to userspace.
    pub passed: u64,
    /// Dropped in the kernel.
    pub dropped: u64,
}

/// What a reload reloaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReloadKind {
    /// The configuration file (`watch_config_files`): noise control applied in place.
    Config,
    /// The rules (a bundle or rules files swapped in).
    Rules,
}

impl ReloadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadKind::Config => "config",
            ReloadKind::Rules => "rules",
        }
    }
}

/// sha256 of a file, hex; empty when unreadable.
pub fn sha256_file(path: &std::path::Path) -> String {
    std::fs::read(path).map_or_else(
        |_| String::new(),
        |b| {
            Sha256::digest(&b).iter().fold(String::new(), |mut s, x| {
                let _ = write!(s, "{x:02x}");
                s
            })
        },
    )
}

fn basename(p: &std::path::Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Registry {
    pub fn new(
        rules: Vec<RuleMeta>,
        rules_files: &[std::path::PathBuf],
        config_file: Option<&std::path::Path>,
        engine: &'static str,
    ) -> Registry {
        let start_ns = now_ns();
        Registry {
            rule_matches: rules.iter().map(|_| AtomicU64::new(0)).collect(),
            rule_skipped: rules.iter().map(|_| AtomicU64::new(0)).collect(),
            rules,
            n_evts: AtomicU64::new(0),
            n_drops: AtomicU64::new(0),
            n_malformed: AtomicU64::new(0),
            latency_buckets: LATENCY_BUCKETS.iter().map(|_| AtomicU64::new(0)).collect(),
            latency_count: AtomicU64::new(0),
            latency_sum_micros: AtomicU64::new(0),
            sinks: Mutex::new(Vec::new()),
            suppressed: Mutex::new(BTreeMap::new()),
            drop_alerts: AtomicU64::new(0),
            drop_alerts_skipped: AtomicU64::new(0),
            rules_files: Mutex::new(
                rules_files
                    .iter()
                    .map(|p| (basename(p), sha256_file(p)))
                    .collect(),
            ),
            config_files: Mutex::new(
                config_file
                    .map(|p| vec![(basename(p), sha256_file(p))])
                    .unwrap_or_default(),
            ),
            start_ns,
            engine,
            ready: AtomicBool::new(false),
            events_by_slot: Vec::new(),
            dispatch: Vec::new(),
            first_match: true,
            prefilter: Mutex::new(BTreeMap::new()),
            reloads: Mutex::new(BTreeMap::new()),
            reload_ns: AtomicU64::new(start_ns),
        }
    }

    /// Takes the rule dispatch of `ruleset` (which rules each event code is evaluated against)
    /// for the per-rule evaluation counts.
    pub fn with_dispatch(mut self, ruleset: &lanner_engine::ruleset::RuleSet, first: bool) -> Self {
        let max = ruleset
            .rules
            .iter()
            .flat_map(|r| r.event_codes.iter().copied())
            .max()
            .map_or(0, |m| usize::from(m) + 1);
        // Slot `max` is what every code past the typed ones dispatches to (the untyped rules).
        self.dispatch = (0..=max)
            .map(|c| {
                ruleset
                    .rules_for(u16::try_from(c).unwrap_or(u16::MAX))
                    .to_vec()
            })
            .collect();
        self.events_by_slot = self.dispatch.iter().map(|_| AtomicU64::new(0)).collect();
        self.first_match = first;
        self
    }

    /// One event of type `code` was evaluated; `first_alert` is the first rule that matched.
    /// Cheap on the event path: one relaxed add, more only when a rule matched.
    pub fn evaluated(&self, code: u16, first_alert: Option<usize>) {
        let Some(last) = self.events_by_slot.len().checked_sub(1) else {
            return;
        };
        let slot = usize::from(code).min(last);
        if let Some(n) = self.events_by_slot.get(slot) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        if self.first_match
            && let Some(r) = first_alert
            && let Some(list) = self.dispatch.get(slot)
            && let Some(pos) = list.iter().position(|i| *i as usize == r)
        {
            for later in list.iter().skip(pos + 1) {
                if let Some(n) = self.rule_skipped.get(*later as usize) {
                    n.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// How many times each rule's condition was evaluated, in rule order.
    pub fn rule_evaluations(&self) -> Vec<u64> {
        let mut evals = vec![0u64; self.rules.len()];
        for (list, n) in self.dispatch.iter().zip(&self.events_by_slot) {
            let n = n.load(Ordering::Relaxed);
            for i in list {
                if let Some(e) = evals.get_mut(*i as usize) {
                    *e += n;
                }
            }
        }
        for (e, s) in evals.iter_mut().zip(&self.rule_skipped) {
            *e = e.saturating_sub(s.load(Ordering::Relaxed));
        }
        evals
    }

    /// The prefilter's counters now (replaces the previous snapshot: the kernel's counters are
    /// cumulative). For `lanner run`'s prefilter to call as it reads its maps.
    pub fn set_prefilter(&self, by_type: impl IntoIterator<Item = (String, PrefilterCounts)>) {
        if let Ok(mut p) = self.prefilter.lock() {
            p.clear();
            p.extend(by_type);
        }
    }

    /// Counts a reload and its outcome; a successful one is Falco's `reload_ts`.
    pub fn record_reload(&self, kind: ReloadKind, ok: bool) {
        if let Ok(mut r) = self.reloads.lock() {
            *r.entry((kind, ok)).or_default() += 1;
        }
        if ok {
            self.reload_ns.store(now_ns(), Ordering::Relaxed);
        }
    }

    /// A reloaded config file: its hash in `falcosecurity_falco_sha256_config_files_info`.
    pub fn set_config_file(&self, path: &std::path::Path) {
        if let Ok(mut c) = self.config_files.lock() {
            *c = vec![(basename(path), sha256_file(path))];
        }
    }

    /// Reloaded rules files.
    pub fn set_rules_files(&self, files: &[std::path::PathBuf]) {
        if let Ok(mut r) = self.rules_files.lock() {
            *r = files
                .iter()
                .map(|p| (basename(p), sha256_file(p)))
                .collect();
        }
    }

    pub fn observe_latency(&self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| s <= *b)
            && let Some(b) = self.latency_buckets.get(i)
        {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let family = |out: &mut String, name: &str, kind: &str| {
            let _ = writeln!(out, "# HELP {name} https://falco.org/docs/metrics/");
            let _ = writeln!(out, "# TYPE {name} {kind}");
        };
        let r = |v: &AtomicU64| v.load(Ordering::Relaxed);
        family(&mut out, "falcosecurity_falco_version_info", "gauge");
        let _ = writeln!(
            out,
            "falcosecurity_falco_version_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        family(
            &mut out,
            "falcosecurity_falco_sha256_rules_files_info",
            "gauge",
        );
        let rules_files = self
            .rules_files
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default();
        for (f, h) in &rules_files {
            let _ = writeln!(
                out,
                "falcosecurity_falco_sha256_rules_files_info{{file_name=\"{}\",sha256=\"{h}\"}} 1",
                escape(f)
            );
        }
        let config_files = self
            .config_files
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        if !config_files.is_empty() {
            family(
                &mut out,
                "falcosecurity_falco_sha256_config_files_info",
                "gauge",
            );
            for (f, h) in &config_files {
                let _ = writeln!(
                    out,
                    "falcosecurity_falco_sha256_config_files_info{{file_name=\"{}\",sha256=\"{h}\"}} 1",
                    escape(f)
                );
            }
        }
        let host = crate::replay::hostname();
        family(&mut out, "falcosecurity_evt_hostname_info", "gauge");
        let _ = writeln!(
            out,
            "falcosecurity_evt_hostname_info{{hostname=\"{}\"}} 1",
            escape(&host)
        );
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        family(&mut out, "falcosecurity_falco_kernel_release_info", "gauge");
        let _ = writeln!(
            out,
            "falcosecurity_falco_kernel_release_info{{kernel_release=\"{}\"}} 1",
            escape(kernel.trim())
        );
        family(
            &mut out,
            "falcosecurity_falco_start_timestamp_nanoseconds",
            "gauge",
        );
        let _ = writeln!(
            out,
            "falcosecurity_falco_start_timestamp_nanoseconds {}",
            self.start_ns
        );
        family(
            &mut out,
            "falcosecurity_falco_reload_timestamp_nanoseconds",
            "gauge",
        );
        let _ = writeln!(
            out,
            "falcosecurity_falco_reload_timestamp_nanoseconds {}",
            r(&self.reload_ns)
        );
        family(
            &mut out,
            "falcosecurity_falco_duration_seconds_total",
            "counter",
        );
        let _ = writeln!(
            out,
            "falcosecurity_falco_duration_seconds_total {}",
            now_ns().saturating_sub(self.start_ns) / 1_000_000_000
        );
        family(&mut out, "falcosecurity_falco_host_num_cpus_total", "gauge");
        let _ = writeln!(
            out,
            "falcosecurity_falco_host_num_cpus_total {}",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        let (rss, vsz, cpu) = resources(self.start_ns);
        family(&mut out, "falcosecurity_falco_cpu_usage_ratio", "gauge");
        let _ = writeln!(out, "falcosecurity_falco_cpu_usage_ratio {cpu:.6}");
        family(&mut out, "falcosecurity_falco_memory_rss_bytes", "gauge");
        let _ = writeln!(out, "falcosecurity_falco_memory_rss_bytes {rss}");
        family(&mut out, "falcosecurity_falco_memory_vsz_bytes", "gauge");
        let _ = writeln!(out, "falcosecurity_falco_memory_vsz_bytes {vsz}");
        if self.engine != "replay" {
            family(&mut out, "falcosecurity_scap_engine_name_info", "gauge");
            let _ = writeln!(
                out,
                "falcosecurity_scap_engine_name_info{{engine_name=\"{}\",evt_source=\"syscall\"}} 1",
                self.engine
            );
        }
        family(&mut out, "falcosecurity_scap_n_evts_total", "counter");
        let _ = writeln!(out, "falcosecurity_scap_n_evts_total {}", r(&self.n_evts));
        family(&mut out, "falcosecurity_scap_n_drops_total", "counter");
        let _ = writeln!(out, "falcosecurity_scap_n_drops_total {}", r(&self.n_drops));
        let sinks = self.sinks.lock().map(|s| s.clone()).unwrap_or_default();
        let queue_drops: u64 = sinks
            .iter()
            .map(|(_, s)| s.dropped_queue_full.load(Ordering::Relaxed))
            .sum();
        family(
            &mut out,
            "falcosecurity_falco_outputs_queue_num_drops_total",
            "counter",
        );
        let _ = writeln!(
            out,
            "falcosecurity_falco_outputs_queue_num_drops_total {queue_drops}"
        );
        family(
            &mut out,
            "falcosecurity_falco_rules_matches_total",
            "counter",
        );
        for (meta, n) in self.rules.iter().zip(&self.rule_matches) {
            let n = r(n);
            // As Falco: only rules that matched appear.
            if n == 0 {
                continue;
            }
            let mut labels = format!(
                "rule_name=\"{}\",priority=\"{}\",source=\"{}\"",
                escape(&meta.name),
                meta.priority,
                escape(&meta.source)
            );
            for t in &meta.tags {
                let _ = write!(labels, ",tag_{}=\"true\"", label_name(t));
            }
            let _ = writeln!(
                out,
                "falcosecurity_falco_rules_matches_total{{{labels}}} {n}"
            );
        }
        // Lanner's own.
        family(&mut out, "lanner_alerts_total", "counter");
        let total: u64 = self.rule_matches.iter().map(r).sum();
        let _ = writeln!(out, "lanner_alerts_total {total}");
        family(&mut out, "lanner_event_alert_latency_seconds", "histogram");
        let mut cumulative = 0u64;
        for (b, n) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            cumulative += r(n);
            let _ = writeln!(
                out,
                "lanner_event_alert_latency_seconds_bucket{{le=\"{b}\"}} {cumulative}"
            );
        }
        let count = r(&self.latency_count);
        let _ = writeln!(
            out,
            "lanner_event_alert_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "lanner_event_alert_latency_seconds_sum {}",
            r(&self.latency_sum_micros) as f64 / 1e6
        );
        let _ = writeln!(out, "lanner_event_alert_latency_seconds_count {count}");
        family(&mut out, "lanner_drops_total", "counter");
        let _ = writeln!(
            out,
            "lanner_drops_total{{stage=\"kernel_ring\"}} {}",
            r(&self.n_drops)
        );
        let _ = writeln!(
            out,
            "lanner_drops_total{{stage=\"malformed\"}} {}",
            r(&self.n_malformed)
        );
        let _ = writeln!(
            out,
            "lanner_drops_total{{stage=\"output_queue\"}} {queue_drops}"
        );
        family(&mut out, "lanner_sink_alerts_total", "counter");
        for (name, s) in &sinks {
            for (outcome, v) in [
                ("delivered", r(&s.delivered)),
                ("dropped_queue_full", r(&s.dropped_queue_full)),
                ("dropped_failed", r(&s.dropped_failed)),
                ("dropped_shutdown", r(&s.dropped_shutdown)),
            ] {
                let _ = writeln!(
                    out,
                    "lanner_sink_alerts_total{{sink=\"{name}\",outcome=\"{outcome}\"}} {v}"
                );
            }
        }
        family(&mut out, "lanner_sink_errors_total", "counter");
        for (name, s) in &sinks {
            let _ = writeln!(
                out,
                "lanner_sink_errors_total{{sink=\"{name}\"}} {}",
                r(&s.errors)
            );
        }
        family(&mut out, "lanner_sink_queue_length", "gauge");
        for (name, s) in &sinks {
            let _ = writeln!(
                out,
                "lanner_sink_queue_length{{sink=\"{name}\"}} {}",
                r(&s.queued)
            );
        }
        family(&mut out, "lanner_sink_breaker_open", "gauge");
        for (name, s) in &sinks {
            let _ = writeln!(
                out,
                "lanner_sink_breaker_open{{sink=\"{name}\"}} {}",
                u8::from(s.breaker_open.load(Ordering::Relaxed))
            );
        }
        family(&mut out, "lanner_sink_breaker_opened_total", "counter");
        for (name, s) in &sinks {
            let _ = writeln!(
                out,
                "lanner_sink_breaker_opened_total{{sink=\"{name}\"}} {}",
                r(&s.breaker_opened)
            );
        }
        family(&mut out, "lanner_suppressed_alerts_total", "counter");
        if let Ok(sup) = self.suppressed.lock() {
            for ((rule, reason), n) in sup.iter() {
                let _ = writeln!(
                    out,
                    "lanner_suppressed_alerts_total{{rule_name=\"{}\",reason=\"{reason}\"}} {n}",
                    escape(rule)
                );
            }
        }
        family(&mut out, "lanner_rule_evaluations_total", "counter");
        for (meta, n) in self.rules.iter().zip(self.rule_evaluations()) {
            let _ = writeln!(
                out,
                "lanner_rule_evaluations_total{{rule_name=\"{}\"}} {n}",
                escape(&meta.name)
            );
        }
        let prefilter = self.prefilter.lock().map(|p| p.clone()).unwrap_or_default();
        family(&mut out, "lanner_prefilter_seen_total", "counter");
        for (t, c) in &prefilter {
            let _ = writeln!(
                out,
                "lanner_prefilter_seen_total{{evt_type=\"{}\"}} {}",
                escape(t),
                c.seen
            );
        }
        family(&mut out, "lanner_prefilter_drops_total", "counter");
        for (t, c) in &prefilter {
            let _ = writeln!(
                out,
                "lanner_prefilter_drops_total{{evt_type=\"{}\"}} {}",
                escape(t),
                c.dropped
            );
        }
        family(&mut out, "lanner_reloads_total", "counter");
        let reloads = self.reloads.lock().map(|r| r.clone()).unwrap_or_default();
        for kind in [ReloadKind::Config, ReloadKind::Rules] {
            for (ok, outcome) in [(true, "ok"), (false, "failed")] {
                let _ = writeln!(
                    out,
                    "lanner_reloads_total{{kind=\"{}\",outcome=\"{outcome}\"}} {}",
                    kind.as_str(),
                    reloads.get(&(kind, ok)).copied().unwrap_or(0)
                );
            }
        }
        family(&mut out, "lanner_syscall_drop_alerts_total", "counter");
        let _ = writeln!(
            out,
            "lanner_syscall_drop_alerts_total{{outcome=\"sent\"}} {}",
            r(&self.drop_alerts)
        );
        let _ = writeln!(
            out,
            "lanner_syscall_drop_alerts_total{{outcome=\"rate_limited\"}} {}",
            r(&self.drop_alerts_skipped)
        );
        out
    }

    /// Falco's `/versions` document.
    pub fn versions(&self) -> String {
        serde_json::json!({
            "falco_version": env!("CARGO_PKG_VERSION"),
            "lanner_version": env!("CARGO_PKG_VERSION"),
            "engine_version": "63",
            "engine_version_semver": "0.63.0",
            "libs_version": "",
            "plugin_api_version": "",
            "driver_api_version": "",
            "driver_schema_version": "",
            "default_driver_version": "",
            "plugin_versions": {},
        })
        .to_string()
    }
}

/// Label values escape `\`, `"` and newlines.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Characters outside `[a-zA-Z0-9_]` become `_`, as Falco names tag labels.
fn label_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// RSS and VSZ in bytes, and CPU time over wall time since `start_ns`.
fn resources(start_ns: u64) -> (u64, u64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)`, which may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    // SAFETY: as above.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100);
    // After `)`: state(0) ... utime(11) stime(12) ... vsize(20) rss(21).
    let cpu_s = (num(11) + num(12)) as f64 / hz.max(1) as f64;
    let wall = now_ns().saturating_sub(start_ns) as f64 / 1e9;
    (
        num(21) * page,
        num(20),
        if wall > 0.0 { cpu_s / wall } else { 0.0 },
    )
}

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// What the endpoint serves.
pub struct Endpoint {
    pub registry: Arc<Registry>,
    pub healthz: String,
    pub prometheus: bool,
}

/// Serves `/metrics`, the health endpoint and `/versions` on its own thread.
pub fn serve(addr: SocketAddr, endpoint: Endpoint) -> Result<SocketAddr, ServeError> {
    let listener = TcpListener::bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    let endpoint = Arc::new(endpoint);
    let spawned = std::thread::Builder::new()
        .name("lanner-webserver".into())
        .spawn(move || {
            // Serving needs no capability; connection threads inherit this thread's (none).
            crate::privilege::drop_all_in_this_thread();
            for conn in listener.incoming().flatten() {
                let e = Arc::clone(&endpoint);
                // One short-lived thread per scrape: a stuck client cannot block the next.
                let _ = std::thread::Builder::new()
                    .name("lanner-http".into())
                    .spawn(move || answer(conn, &e));
            }
        });
    if let Err(source) = spawned {
        return Err(ServeError::Bind { addr, source });
    }
    Ok(local)
}

fn answer(mut conn: TcpStream, e: &Endpoint) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 << 10 {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    let path = target.split('?').next().unwrap_or("");
    let (status, ctype, body) = if method != "GET" && method != "HEAD" {
        (
            "405 Method Not Allowed",
            "text/plain",
            String::from("method not allowed\n"),
        )
    } else if path == e.healthz {
        (
            "200 OK",
            "application/json",
            String::from("{\"status\": \"ok\"}"),
        )
    } else if path == "/versions" {
        ("200 OK", "application/json", e.registry.versions())
    } else if path == "/metrics" && e.prometheus {
        (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            e.registry.render(),
        )
    } else {
        ("404 Not Found", "text/plain", String::from("not found\n"))
    };
    let mut answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        answer.push_str(&body);
    }
    // One write: no small trailing segment for Nagle's algorithm to hold back.
    let _ = conn.write_all(answer.as_bytes());
}

/// Parses Prometheus text into `(series with labels, value)` pairs (for `lanner stats`).
pub fn parse_text(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse::<f64>().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_matched_rules_appear_with_tag_labels() {
        let reg = Registry::new(
            vec![
                RuleMeta {
                    name: "A \"q\"".into(),
                    priority: 4,
                    source: "syscall".into(),
                    tags: vec!["mitre_t1".into(), "k8s.io".into()],
                },
                RuleMeta {
                    name: "B".into(),
                    priority: 0,
                    source: "syscall".into(),
                    tags: vec![],
                },
            ],
            &[],
            None,
            "replay",
        );
        reg.rule_matches[0].fetch_add(3, Ordering::Relaxed);
        let text = reg.render();
        assert!(text.contains(
            "falcosecurity_falco_rules_matches_total{rule_name=\"A \\\"q\\\"\",priority=\"4\",source=\"syscall\",tag_mitre_t1=\"true\",tag_k8s_io=\"true\"} 3"
        ), "{text}");
        assert!(!text.contains("falcosecurity_falco_rules_matches_total{rule_name=\"B\""));
        // Evaluation counts name every rule, matched or not.
        assert!(text.contains("lanner_rule_evaluations_total{rule_name=\"B\"} 0"));
        assert!(!text.contains("falcosecurity_scap_engine_name_info"));
        let parsed = parse_text(&text);
        assert!(
            parsed
                .iter()
                .any(|(s, v)| s == "lanner_alerts_total" && *v == 3.0)
        );
    }
}
