//! `falco.yaml`, read unchanged: the keys that apply to Lanner are read with Falco's defaults and
//! Falco's wording for invalid values; Lanner's own keys live under `lanner:`. Unknown keys are
//! located warnings; keys Falco knows that Lanner does not apply (plugins, driver settings...)
//! are accepted silently so an unchanged `falco.yaml` loads without noise.

pub mod tree;

use std::path::{Path, PathBuf};
use std::time::Duration;

use lanner_engine::ruleset::Priority;
use lanner_syntax::span::LineIndex;

use crate::select::{Selection, SelectionOp};
use tree::{At, Kind, Node};

/// Falco's top-level keys that Lanner reads.
const APPLIED: &[&str] = &[
    "rules_files",
    "rules_file",
    "rules",
    "priority",
    "rule_matching",
    "json_output",
    "json_include_output_property",
    "json_include_tags_property",
    "json_include_message_property",
    "json_include_output_fields_property",
    "time_format_iso_8601",
    "append_output",
    "stdout_output",
    "syslog_output",
    "file_output",
    "program_output",
    "http_output",
    "outputs_queue",
    "metrics",
    "webserver",
    "syscall_event_drops",
    "watch_config_files",
    "lanner",
];

/// Falco's top-level keys (0.37–0.44) that Lanner accepts and does not apply.
const FALCO_IGNORED: &[&str] = &[
    "config_files",
    "engine",
    "capture",
    "load_plugins",
    "plugins",
    "plugins_hostinfo",
    "buffer_format_base64",
    "buffered_outputs",
    "outputs",
    "grpc_output",
    "grpc",
    "log_stderr",
    "log_syslog",
    "log_level",
    "libs_logger",
    "output_timeout",
    "syscall_event_timeouts",
    "syscall_buf_size_preset",
    "modern_bpf",
    "base_syscalls",
    "falco_libs",
    "container_engines",
    "metadata_download",
    "watch_config_files_interval",
    "snaplen",
    "container",
];

/// What a full output queue gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    DropOldest,
    DropNewest,
}

impl Overflow {
    pub fn as_str(self) -> &'static str {
        match self {
            Overflow::DropOldest => "drop_oldest",
            Overflow::DropNewest => "drop_newest",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct AppendOutput {
    pub rule: Option<String>,
    pub source: Option<String>,
    pub tags: Vec<String>,
    pub extra_output: String,
    pub extra_fields: Vec<String>,
    pub suggested_output: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FileOutput {
    pub enabled: bool,
    pub keep_alive: bool,
    pub filename: PathBuf,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProgramOutput {
    pub enabled: bool,
    pub keep_alive: bool,
    pub program: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HttpOutput {
    pub enabled: bool,
    pub url: String,
    pub user_agent: String,
    pub insecure: bool,
    pub ca_cert: String,
    pub ca_bundle: String,
    pub ca_path: String,
    pub mtls: bool,
    pub client_cert: String,
    pub client_key: String,
    pub echo: bool,
    pub keep_alive: bool,
    pub max_consecutive_timeouts: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    pub enabled: bool,
    pub interval: Duration,
    pub output_rule: bool,
    pub output_file: String,
    pub rules_counters_enabled: bool,
    pub resource_utilization_enabled: bool,
    pub kernel_event_counters_enabled: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Webserver {
    pub enabled: bool,
    pub listen_port: u16,
    pub listen_address: std::net::IpAddr,
    pub k8s_healthz_endpoint: String,
    pub prometheus_metrics_enabled: bool,
    pub ssl_enabled: bool,
}

/// `syscall_event_drops` actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropAction {
    Ignore,
    Log,
    Alert,
    Exit,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SyscallEventDrops {
    pub threshold: f64,
    pub actions: Vec<DropAction>,
    pub rate: f64,
    pub max_burst: f64,
    pub simulate_drops: bool,
}

/// Per-sink delivery settings (`lanner.outputs`).
#[derive(Clone, Debug, PartialEq)]
pub struct SinkSettings {
    /// Alerts each sink's own queue holds before it drops.
    pub queue_capacity: usize,
    pub overflow: Overflow,
    /// HTTP: one request's timeout.
    pub http_timeout: Duration,
    /// HTTP: tries per alert (the first one included).
    pub http_max_attempts: u32,
    pub http_backoff_initial: Duration,
    pub http_backoff_max: Duration,
    /// Consecutive failed alerts that open a sink's circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker waits before one trial delivery.
    pub breaker_cooldown: Duration,
}

/// A per-rule token bucket (`lanner.rate_limits`).
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimit {
    pub rule: String,
    pub rate: f64,
    pub burst: f64,
}

/// Alerts with the same rule and the same values of `fields` within `window` are folded.
#[derive(Clone, Debug, PartialEq)]
pub struct Dedupe {
    pub window: Duration,
    pub fields: Vec<String>,
}

/// A silence window (`lanner.silences`).
#[derive(Clone, Debug, PartialEq)]
pub struct Silence {
    pub rule: Option<String>,
    pub tag: Option<String>,
    pub fields: Vec<(String, String)>,
    /// Unix seconds; `None` = open-ended.
    pub start: Option<u64>,
    pub end: Option<u64>,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Noise {
    pub rate_limits: Vec<RateLimit>,
    pub dedupe: Option<Dedupe>,
    pub silences: Vec<Silence>,
    /// How often the suppression summary goes to the outputs; zero = only at exit.
    pub summary_interval: Duration,
}

/// The whole configuration, with Falco's defaults where a key is absent.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub rules_files: Vec<PathBuf>,
    pub rules: Vec<Selection>,
    pub priority: Priority,
    pub rule_matching_all: bool,
    pub json_output: bool,
    pub json_include_output_property: bool,
    pub json_include_tags_property: bool,
    pub json_include_message_property: bool,
    pub json_include_output_fields_property: bool,
    pub time_format_iso_8601: bool,
    pub append_output: Vec<AppendOutput>,
    pub stdout_output: bool,
    pub syslog_output: bool,
    pub file_output: FileOutput,
    pub program_output: ProgramOutput,
    pub http_output: HttpOutput,
    /// `outputs_queue.capacity`; 0 (Falco: unbounded) means Lanner's per-sink default.
    pub outputs_queue_capacity: usize,
    pub metrics: Metrics,
    pub webserver: Webserver,
    pub syscall_event_drops: SyscallEventDrops,
    pub watch_config_files: bool,
    pub sinks: SinkSettings,
    pub noise: Noise,
    /// `lanner.webserver.allow_non_loopback`.
    pub allow_non_loopback: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            rules_files: Vec::new(),
            rules: Vec::new(),
            priority: Priority::Debug,
            rule_matching_all: false,
            json_output: false,
            json_include_output_property: true,
            json_include_tags_property: true,
            json_include_message_property: false,
            json_include_output_fields_property: true,
            time_format_iso_8601: false,
            append_output: Vec::new(),
            stdout_output: true,
            syslog_output: false,
            file_output: FileOutput {
                enabled: false,
                keep_alive: false,
                filename: PathBuf::from("./events.txt"),
            },
            program_output: ProgramOutput {
                enabled: false,
                keep_alive: false,
                program: String::new(),
            },
            http_output: HttpOutput {
                enabled: false,
                url: String::new(),
                user_agent: "falcosecurity/falco".into(),
                insecure: false,
                ca_cert: String::new(),
                ca_bundle: String::new(),
                ca_path: "/etc/ssl/certs".into(),
                mtls: false,
                client_cert: "/etc/ssl/certs/client.crt".into(),
                client_key: "/etc/ssl/certs/client.key".into(),
                echo: false,
                keep_alive: false,
                max_consecutive_timeouts: 5,
            },
            outputs_queue_capacity: 0,
            metrics: Metrics {
                enabled: false,
                interval: Duration::from_secs(3600),
                output_rule: false,
                output_file: String::new(),
                rules_counters_enabled: true,
                resource_utilization_enabled: true,
                kernel_event_counters_enabled: true,
            },
            webserver: Webserver {
                enabled: false,
                listen_port: 8765,
                listen_address: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                k8s_healthz_endpoint: "/healthz".into(),
                prometheus_metrics_enabled: false,
                ssl_enabled: false,
            },
            syscall_event_drops: SyscallEventDrops {
                threshold: 0.1,
                actions: vec![DropAction::Log, DropAction::Alert],
                rate: 0.03333,
                max_burst: 1.0,
                simulate_drops: false,
            },
            watch_config_files: true,
            sinks: SinkSettings {
                queue_capacity: DEFAULT_QUEUE_CAPACITY,
                overflow: Overflow::DropOldest,
                http_timeout: Duration::from_secs(5),
                http_max_attempts: 4,
                http_backoff_initial: Duration::from_millis(100),
                http_backoff_max: Duration::from_secs(5),
                breaker_failures: 5,
                breaker_cooldown: Duration::from_secs(10),
            },
            noise: Noise {
                rate_limits: Vec::new(),
                dedupe: None,
                silences: Vec::new(),
                summary_interval: Duration::from_secs(60),
            },
            allow_non_loopback: false,
        }
    }
}

/// Each sink's queue holds this many alerts unless configured: bounded, unlike Falco's default.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Error,
}

/// One located finding about the configuration.
#[derive(Clone, Debug)]
pub struct Finding {
    pub severity: Severity,
    pub at: At,
    pub message: String,
}

/// A configuration that was read, with what was found along the way.
pub struct Loaded {
    pub config: Config,
    pub findings: Vec<Finding>,
    /// The file's name as given and its text (for rendering locations).
    pub file: String,
    pub text: String,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// `file:line:col: warning: message`, one line per finding.
    pub fn render(&self) -> Vec<String> {
        let index = LineIndex::new(&self.text);
        self.findings
            .iter()
            .map(|f| {
                let place = tree::describe(&f.at, &self.file, &self.text, &index);
                let sev = match f.severity {
                    Severity::Warning => "warning",
                    Severity::Error => "error",
                };
                format!("{place}: {sev}: {}", f.message)
            })
            .collect()
    }
}

/// Why the configuration file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Override(#[from] tree::OverrideError),
}

/// Reads a configuration file (or none: Falco's defaults) and applies the `-o` overrides in
/// order. YAML syntax errors and invalid values are findings, not failures.
pub fn load(path: Option<&Path>, overrides: &[String]) -> Result<Loaded, ConfigError> {
    let (file, text) = match path {
        Some(p) => (
            p.display().to_string(),
            std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.display().to_string(),
                source,
            })?,
        ),
        None => ("<defaults>".to_string(), String::new()),
    };
    let mut findings = Vec::new();
    let mut root = match tree::parse(&text) {
        Ok(r) => r,
        Err(e) => {
            findings.push(Finding {
                severity: Severity::Error,
                at: At::File(e.offset),
                message: format!("invalid YAML: {}", e.message),
            });
            Node {
                kind: Kind::Map(Vec::new()),
                at: At::File(0),
            }
        }
    };
    for o in overrides {
        tree::apply_override(&mut root, o)?;
    }
    let mut r = Reader {
        findings: &mut findings,
    };
    let config = r.config(&root);
    // File order first, then overrides in the order given (a stable sort keeps that order).
    findings.sort_by_key(|f| match &f.at {
        At::File(o) => (0, *o),
        At::Override(_) => (1, 0),
        At::Default => (2, 0),
    });
    Ok(Loaded {
        config,
        findings,
        file,
        text,
    })
}

struct Reader<'a> {
    findings: &'a mut Vec<Finding>,
}

fn falco_bool(s: &str) -> Option<bool> {
    // yaml-cpp's boolean spellings.
    match s {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            Some(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => {
            Some(false)
        }
        _ => None,
    }
}

/// Prometheus durations (`ms s m h d w y`, combinable: `1h30m`).
pub fn prometheus_duration(s: &str) -> Option<Duration> {
    if s.is_empty() {
        return None;
    }
    let mut total_ms: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest.get(..digits)?.parse().ok()?;
        rest = rest.get(digits..)?;
        let (unit_ms, len) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            let unit = match rest.chars().next()? {
                's' => 1_000,
                'm' => 60_000,
                'h' => 3_600_000,
                'd' => 86_400_000,
                'w' => 604_800_000,
                'y' => 31_536_000_000,
                _ => return None,
            };
            (unit, 1)
        };
        rest = rest.get(len..)?;
        total_ms = total_ms.checked_add(n.checked_mul(unit_ms)?)?;
    }
    Some(Duration::from_millis(total_ms))
}

impl Reader<'_> {
    fn warn(&mut self, at: &At, message: String) {
        self.findings.push(Finding {
            severity: Severity::Warning,
            at: at.clone(),
            message,
        });
    }

    fn error(&mut self, at: &At, message: String) {
        self.findings.push(Finding {
            severity: Severity::Error,
            at: at.clone(),
            message,
        });
    }

    /// The entries of a mapping section, warning about keys not in `known`.
    fn section<'n>(
        &mut self,
        node: &'n Node,
        name: &str,
        known: &[&str],
    ) -> Option<&'n [(tree::Key, Node)]> {
        match &node.kind {
            Kind::Map(entries) => {
                for (k, _) in entries {
                    if !known.contains(&k.name.as_str()) {
                        self.warn(&k.at, format!("unknown key `{}` in `{name}`", k.name));
                    }
                }
                Some(entries)
            }
            Kind::Null => None,
            _ => {
                self.error(
                    &node.at,
                    format!("`{name}` must be a mapping, not {}", node.shape()),
                );
                None
            }
        }
    }

    fn scalar<'n>(&mut self, node: &'n Node, name: &str) -> Option<&'n str> {
        match &node.kind {
            Kind::Scalar(s) => Some(s),
            Kind::Null => None,
            _ => {
                self.error(
                    &node.at,
                    format!("`{name}` must be a scalar, not {}", node.shape()),
                );
                None
            }
        }
    }

    fn bool(&mut self, node: Option<&Node>, name: &str, default: bool) -> bool {
        let Some(node) = node else { return default };
        let Some(s) = self.scalar(node, name) else {
            return default;
        };
        match falco_bool(s) {
            Some(b) => b,
            None => {
                self.error(
                    &node.at,
                    format!("`{name}` must be a boolean (`true` or `false`), not `{s}`"),
                );
                default
            }
        }
    }

    fn string(&mut self, node: Option<&Node>, name: &str, default: &str) -> String {
        node.and_then(|n| self.scalar(n, name))
            .unwrap_or(default)
            .to_string()
    }

    fn number<T: std::str::FromStr>(&mut self, node: Option<&Node>, name: &str, default: T) -> T {
        let Some(node) = node else { return default };
        let Some(s) = self.scalar(node, name) else {
            return default;
        };
        match s.trim().parse::<T>() {
            Ok(v) => v,
            Err(_) => {
                self.error(&node.at, format!("`{name}` must be a number, not `{s}`"));
                default
            }
        }
    }

    fn duration(&mut self, node: Option<&Node>, name: &str, default: Duration) -> Duration {
        let Some(node) = node else { return default };
        let Some(s) = self.scalar(node, name) else {
            return default;
        };
        match prometheus_duration(s) {
            Some(d) => d,
            None => {
                self.error(
                    &node.at,
                    format!(
                        "`{name}` must be a Prometheus duration such as `500ms`, `10s` or `1h`, not `{s}`"
                    ),
                );
                default
            }
        }
    }

    fn strings(&mut self, node: Option<&Node>, name: &str) -> Vec<String> {
        let Some(node) = node else {
            return Vec::new();
        };
        match &node.kind {
            Kind::Scalar(s) => vec![s.clone()],
            Kind::Null => Vec::new(),
            Kind::Seq(items) => items
                .iter()
                .filter_map(|i| self.scalar(i, name).map(str::to_string))
                .collect(),
            Kind::Map(_) => {
                self.error(&node.at, format!("`{name}` must be a list, not a mapping"));
                Vec::new()
            }
        }
    }

    fn config(&mut self, root: &Node) -> Config {
        let mut c = Config::default();
        let entries = match &root.kind {
            Kind::Map(e) => e.as_slice(),
            Kind::Null => &[],
            _ => {
                self.error(
                    &root.at,
                    format!(
                        "the configuration must be a mapping of keys, not {}",
                        root.shape()
                    ),
                );
                &[]
            }
        };
        for (k, _) in entries {
            let n = k.name.as_str();
            if !APPLIED.contains(&n) && !FALCO_IGNORED.contains(&n) {
                self.warn(&k.at, format!("unknown key `{n}`"));
            }
        }
        let get = |k: &str| root.get(k);
        c.rules_files = self
            .strings(get("rules_files").or(get("rules_file")), "rules_files")
            .into_iter()
            .map(PathBuf::from)
            .collect();
        if let Some(n) = get("rules") {
            c.rules = self.selections(n);
        }
        if let Some(n) = get("priority")
            && let Some(s) = self.scalar(n, "priority")
        {
            match crate::select::parse_priority(s) {
                Some(p) => c.priority = p,
                None => self.error(
                    &n.at,
                    format!(
                        "Unknown priority \"{s}\"--must be one of emergency, alert, critical, error, warning, notice, informational, debug"
                    ),
                ),
            }
        }
        if let Some(n) = get("rule_matching")
            && let Some(s) = self.scalar(n, "rule_matching")
        {
            match s {
                "first" => c.rule_matching_all = false,
                "all" => c.rule_matching_all = true,
                _ => self.error(
                    &n.at,
                    format!("Unknown rule matching strategy \"{s}\"--must be one of first, all"),
                ),
            }
        }
        c.json_output = self.bool(get("json_output"), "json_output", c.json_output);
        c.json_include_output_property = self.bool(
            get("json_include_output_property"),
            "json_include_output_property",
            true,
        );
        c.json_include_tags_property = self.bool(
            get("json_include_tags_property"),
            "json_include_tags_property",
            true,
        );
        c.json_include_message_property = self.bool(
            get("json_include_message_property"),
            "json_include_message_property",
            false,
        );
        c.json_include_output_fields_property = self.bool(
            get("json_include_output_fields_property"),
            "json_include_output_fields_property",
            true,
        );
        c.time_format_iso_8601 =
            self.bool(get("time_format_iso_8601"), "time_format_iso_8601", false);
        c.watch_config_files = self.bool(get("watch_config_files"), "watch_config_files", true);
        if let Some(n) = get("append_output") {
            c.append_output = self.append_output(n);
        }
        if let Some(n) = get("stdout_output")
            && let Some(e) = self.section(n, "stdout_output", &["enabled"])
        {
            c.stdout_output = self.bool(find(e, "enabled"), "stdout_output.enabled", true);
        }
        if let Some(n) = get("syslog_output")
            && let Some(e) = self.section(n, "syslog_output", &["enabled"])
        {
            c.syslog_output = self.bool(find(e, "enabled"), "syslog_output.enabled", false);
        }
        if let Some(n) = get("file_output")
            && let Some(e) = self.section(n, "file_output", &["enabled", "keep_alive", "filename"])
        {
            c.file_output = FileOutput {
                enabled: self.bool(find(e, "enabled"), "file_output.enabled", false),
                keep_alive: self.bool(find(e, "keep_alive"), "file_output.keep_alive", false),
                filename: PathBuf::from(self.string(
                    find(e, "filename"),
                    "file_output.filename",
                    "./events.txt",
                )),
            };
        }
        if let Some(n) = get("program_output")
            && let Some(e) =
                self.section(n, "program_output", &["enabled", "keep_alive", "program"])
        {
            c.program_output = ProgramOutput {
                enabled: self.bool(find(e, "enabled"), "program_output.enabled", false),
                keep_alive: self.bool(find(e, "keep_alive"), "program_output.keep_alive", false),
                program: self.string(find(e, "program"), "program_output.program", ""),
            };
        }
        if let Some(n) = get("http_output") {
            self.http(n, &mut c.http_output);
        }
        if let Some(n) = get("outputs_queue")
            && let Some(e) = self.section(n, "outputs_queue", &["capacity", "recovery"])
        {
            c.outputs_queue_capacity =
                self.number(find(e, "capacity"), "outputs_queue.capacity", 0usize);
        }
        if let Some(n) = get("metrics") {
            self.metrics(n, &mut c.metrics);
        }
        if let Some(n) = get("webserver") {
            self.webserver(n, &mut c.webserver);
        }
        if let Some(n) = get("syscall_event_drops") {
            self.drops(n, &mut c.syscall_event_drops);
        }
        if let Some(n) = get("lanner") {
            self.lanner(n, &mut c);
        }
        if c.outputs_queue_capacity > 0 {
            c.sinks.queue_capacity = c.outputs_queue_capacity;
        }
        if c.metrics.enabled
            && !c.metrics.output_rule
            && c.metrics.output_file.is_empty()
            && !(c.webserver.enabled && c.webserver.prometheus_metrics_enabled)
        {
            let at = get("metrics").map_or(At::Default, |n| n.at.clone());
            self.error(
                &at,
                "Metrics are enabled with no output configured. Please enable at least one output channel ('metrics.output_rule', 'metrics.output_file' or 'webserver.prometheus_metrics_enabled')".into(),
            );
        }
        c
    }

    fn selections(&mut self, node: &Node) -> Vec<Selection> {
        let mut out = Vec::new();
        let items = match &node.kind {
            Kind::Seq(items) => items,
            Kind::Null => return out,
            _ => {
                self.error(
                    &node.at,
                    format!(
                        "`rules` must be a list of `enable:` or `disable:` entries, not {}",
                        node.shape()
                    ),
                );
                return out;
            }
        };
        for item in items {
            let Some(entries) = self.section(item, "rules[]", &["enable", "disable"]) else {
                continue;
            };
            for (k, v) in entries {
                let op = match k.name.as_str() {
                    "enable" => SelectionOp::Enable,
                    "disable" => SelectionOp::Disable,
                    _ => continue,
                };
                let Some(e) = self.section(v, &format!("rules[].{}", k.name), &["rule", "tag"])
                else {
                    continue;
                };
                // INVARIANT: `rule` and `tag` in one entry are two operations, rule first
                // (Falco applies them as a union, in this order).
                if let Some(r) = find(e, "rule").and_then(|n| self.scalar(n, "rule")) {
                    out.push(Selection::Rule(op, r.to_string()));
                }
                if let Some(t) = find(e, "tag").and_then(|n| self.scalar(n, "tag")) {
                    out.push(Selection::Tag(op, t.to_string()));
                }
            }
        }
        out
    }

    fn append_output(&mut self, node: &Node) -> Vec<AppendOutput> {
        let mut out = Vec::new();
        let Kind::Seq(items) = &node.kind else {
            if !matches!(node.kind, Kind::Null) {
                self.error(&node.at, "`append_output` must be a list".into());
            }
            return out;
        };
        for item in items {
            let Some(e) = self.section(
                item,
                "append_output[]",
                &["match", "extra_output", "extra_fields", "suggested_output"],
            ) else {
                continue;
            };
            let mut a = AppendOutput {
                rule: None,
                source: None,
                tags: Vec::new(),
                extra_output: self.string(find(e, "extra_output"), "extra_output", ""),
                extra_fields: Vec::new(),
                suggested_output: self.bool(find(e, "suggested_output"), "suggested_output", false),
            };
            if let Some(f) = find(e, "extra_fields") {
                match &f.kind {
                    Kind::Seq(items) => {
                        for i in items {
                            match &i.kind {
                                Kind::Scalar(s) => a.extra_fields.push(s.clone()),
                                // `- name: value` entries name a field by its value.
                                Kind::Map(kv) => {
                                    for (_, v) in kv {
                                        if let Kind::Scalar(s) = &v.kind {
                                            a.extra_fields.push(s.clone());
                                        }
                                    }
                                }
                                _ => self.error(
                                    &i.at,
                                    "`extra_fields` entries must be field names".into(),
                                ),
                            }
                        }
                    }
                    Kind::Null => {}
                    _ => self.error(&f.at, "`extra_fields` must be a list".into()),
                }
            }
            if !a.extra_output.is_empty() || !a.extra_fields.is_empty() {
                self.warn(
                    &item.at,
                    "`extra_output` and `extra_fields` of `append_output` are not applied by Lanner yet".into(),
                );
            }
            if let Some(m) = find(e, "match")
                && let Some(me) =
                    self.section(m, "append_output[].match", &["rule", "source", "tags"])
            {
                a.rule = find(me, "rule")
                    .and_then(|n| self.scalar(n, "rule"))
                    .map(str::to_string);
                a.source = find(me, "source")
                    .and_then(|n| self.scalar(n, "source"))
                    .map(str::to_string);
                a.tags = self.strings(find(me, "tags"), "tags");
            }
            out.push(a);
        }
        out
    }

    fn http(&mut self, node: &Node, h: &mut HttpOutput) {
        let known = [
            "enabled",
            "url",
            "user_agent",
            "insecure",
            "ca_cert",
            "ca_bundle",
            "ca_path",
            "mtls",
            "client_cert",
            "client_key",
            "echo",
            "compress_uploads",
            "keep_alive",
            "max_consecutive_timeouts",
        ];
        let Some(e) = self.section(node, "http_output", &known) else {
            return;
        };
        h.enabled = self.bool(find(e, "enabled"), "http_output.enabled", false);
        h.url = self.string(find(e, "url"), "http_output.url", "");
        h.user_agent = self.string(
            find(e, "user_agent"),
            "http_output.user_agent",
            &h.user_agent,
        );
        h.insecure = self.bool(find(e, "insecure"), "http_output.insecure", false);
        h.ca_cert = self.string(find(e, "ca_cert"), "http_output.ca_cert", "");
        h.ca_bundle = self.string(find(e, "ca_bundle"), "http_output.ca_bundle", "");
        h.ca_path = self.string(find(e, "ca_path"), "http_output.ca_path", &h.ca_path);
        h.mtls = self.bool(find(e, "mtls"), "http_output.mtls", false);
        h.client_cert = self.string(
            find(e, "client_cert"),
            "http_output.client_cert",
            &h.client_cert,
        );
        h.client_key = self.string(
            find(e, "client_key"),
            "http_output.client_key",
            &h.client_key,
        );
        h.echo = self.bool(find(e, "echo"), "http_output.echo", false);
        h.keep_alive = self.bool(find(e, "keep_alive"), "http_output.keep_alive", false);
        h.max_consecutive_timeouts = self.number(
            find(e, "max_consecutive_timeouts"),
            "http_output.max_consecutive_timeouts",
            5u32,
        );
        if h.enabled && h.url.is_empty() {
            let at = find(e, "enabled").map_or(node.at.clone(), |n| n.at.clone());
            self.error(&at, "`http_output` is enabled but `url` is empty".into());
        }
        if h.enabled
            && !(h.url.starts_with("http://") || h.url.starts_with("https://"))
            && !h.url.is_empty()
        {
            let at = find(e, "url").map_or(node.at.clone(), |n| n.at.clone());
            self.error(
                &at,
                format!(
                    "`http_output.url` must start with `http://` or `https://`, not `{}`",
                    h.url
                ),
            );
        }
    }

    fn metrics(&mut self, node: &Node, m: &mut Metrics) {
        let known = [
            "enabled",
            "interval",
            "output_rule",
            "output_file",
            "rules_counters_enabled",
            "resource_utilization_enabled",
            "state_counters_enabled",
            "kernel_event_counters_enabled",
            "kernel_event_counters_per_cpu_enabled",
            "kernel_iter_event_counters_enabled",
            "libbpf_stats_enabled",
            "plugins_metrics_enabled",
            "jemalloc_stats_enabled",
            "convert_memory_to_mb",
            "include_empty_values",
        ];
        let Some(e) = self.section(node, "metrics", &known) else {
            return;
        };
        m.enabled = self.bool(find(e, "enabled"), "metrics.enabled", false);
        if let Some(n) = find(e, "interval")
            && let Some(s) = self.scalar(n, "metrics.interval")
        {
            if s.bytes().all(|b| b.is_ascii_digit()) {
                self.error(&n.at, "Metrics interval was passed as numeric value without Prometheus time unit. Please specify a time unit".into());
            } else {
                match prometheus_duration(s) {
                    Some(d) if d >= Duration::from_millis(100) => m.interval = d,
                    _ => self.error(&n.at, format!("Metrics interval must have a minimum value of 100ms and reflect a Prometheus compliant time duration format: {s}")),
                }
            }
        }
        m.output_rule = self.bool(find(e, "output_rule"), "metrics.output_rule", false);
        m.output_file = self.string(find(e, "output_file"), "metrics.output_file", "");
        if m.enabled && (m.output_rule || !m.output_file.is_empty()) {
            let at = find(e, "output_rule").map_or(node.at.clone(), |n| n.at.clone());
            self.warn(
                &at,
                "Lanner does not send metrics snapshots (`metrics.output_rule`, `metrics.output_file`) yet; scrape `/metrics` instead".into(),
            );
        }
        m.rules_counters_enabled = self.bool(
            find(e, "rules_counters_enabled"),
            "metrics.rules_counters_enabled",
            true,
        );
        m.resource_utilization_enabled = self.bool(
            find(e, "resource_utilization_enabled"),
            "metrics.resource_utilization_enabled",
            true,
        );
        m.kernel_event_counters_enabled = self.bool(
            find(e, "kernel_event_counters_enabled"),
            "metrics.kernel_event_counters_enabled",
            true,
        );
    }

    fn webserver(&mut self, node: &Node, w: &mut Webserver) {
        let known = [
            "enabled",
            "threadiness",
            "listen_port",
            "listen_address",
            "k8s_healthz_endpoint",
            "prometheus_metrics_enabled",
            "ssl_enabled",
            "ssl_certificate",
        ];
        let Some(e) = self.section(node, "webserver", &known) else {
            return;
        };
        w.enabled = self.bool(find(e, "enabled"), "webserver.enabled", false);
        w.listen_port = self.number(find(e, "listen_port"), "webserver.listen_port", 8765u16);
        if let Some(n) = find(e, "listen_address")
            && let Some(s) = self.scalar(n, "webserver.listen_address")
        {
            match s.parse::<std::net::IpAddr>() {
                Ok(ip) => w.listen_address = ip,
                Err(_) => self.error(
                    &n.at,
                    format!("`webserver.listen_address` must be an IP address, not `{s}`"),
                ),
            }
        }
        w.k8s_healthz_endpoint = self.string(
            find(e, "k8s_healthz_endpoint"),
            "webserver.k8s_healthz_endpoint",
            "/healthz",
        );
        w.prometheus_metrics_enabled = self.bool(
            find(e, "prometheus_metrics_enabled"),
            "webserver.prometheus_metrics_enabled",
            false,
        );
        w.ssl_enabled = self.bool(find(e, "ssl_enabled"), "webserver.ssl_enabled", false);
        if w.enabled && w.ssl_enabled {
            let at = find(e, "ssl_enabled").map_or(node.at.clone(), |n| n.at.clone());
            self.error(
                &at,
                "`webserver.ssl_enabled` is not supported by Lanner yet; terminate TLS in front of the loopback endpoint".into(),
            );
        }
    }

    fn drops(&mut self, node: &Node, d: &mut SyscallEventDrops) {
        let known = [
            "threshold",
            "actions",
            "rate",
            "max_burst",
            "simulate_drops",
        ];
        let Some(e) = self.section(node, "syscall_event_drops", &known) else {
            return;
        };
        if let Some(n) = find(e, "threshold") {
            let t = self.number(Some(n), "syscall_event_drops.threshold", d.threshold);
            if !(0.0..=1.0).contains(&t) {
                self.error(
                    &n.at,
                    "syscall event drops threshold must be a double in the range [0, 1]".into(),
                );
            } else {
                d.threshold = t;
            }
        }
        if let Some(n) = find(e, "actions") {
            let mut actions = Vec::new();
            let items: Vec<&Node> = match &n.kind {
                Kind::Seq(items) => items.iter().collect(),
                _ => vec![n],
            };
            for item in items {
                let Some(a) = self.scalar(item, "syscall_event_drops.actions") else {
                    continue;
                };
                let n = item;
                let action = match a {
                    "ignore" => DropAction::Ignore,
                    "log" => DropAction::Log,
                    "alert" => DropAction::Alert,
                    "exit" => DropAction::Exit,
                    _ => {
                        self.error(&n.at, "available actions for syscall event drops are \"ignore\", \"log\", \"alert\", and \"exit\"".into());
                        continue;
                    }
                };
                if actions.contains(&DropAction::Ignore) && action != DropAction::Ignore {
                    self.error(
                        &n.at,
                        format!("syscall event drop action \"{a}\" does not make sense with the \"ignore\" action"),
                    );
                }
                actions.push(action);
            }
            d.actions = actions;
        }
        d.rate = self.number(find(e, "rate"), "syscall_event_drops.rate", d.rate);
        d.max_burst = self.number(
            find(e, "max_burst"),
            "syscall_event_drops.max_burst",
            d.max_burst,
        );
        d.simulate_drops = self.bool(
            find(e, "simulate_drops"),
            "syscall_event_drops.simulate_drops",
            false,
        );
    }

    fn lanner(&mut self, node: &Node, c: &mut Config) {
        let Some(e) = self.section(
            node,
            "lanner",
            &[
                "outputs",
                "http",
                "webserver",
                "rate_limits",
                "dedupe",
                "silences",
                "suppression_summary_interval",
            ],
        ) else {
            return;
        };
        if let Some(n) = find(e, "outputs")
            && let Some(o) = self.section(n, "lanner.outputs", &["queue_capacity", "overflow"])
        {
            c.sinks.queue_capacity = self.number(
                find(o, "queue_capacity"),
                "lanner.outputs.queue_capacity",
                c.sinks.queue_capacity,
            );
            if c.sinks.queue_capacity == 0 {
                let at = find(o, "queue_capacity").map_or(n.at.clone(), |x| x.at.clone());
                self.error(
                    &at,
                    "`lanner.outputs.queue_capacity` must be at least 1: queues are bounded".into(),
                );
                c.sinks.queue_capacity = DEFAULT_QUEUE_CAPACITY;
            }
            if let Some(v) = find(o, "overflow")
                && let Some(s) = self.scalar(v, "lanner.outputs.overflow")
            {
                match s {
                    "drop_oldest" => c.sinks.overflow = Overflow::DropOldest,
                    "drop_newest" => c.sinks.overflow = Overflow::DropNewest,
                    _ => self.error(
                        &v.at,
                        format!("`lanner.outputs.overflow` must be `drop_oldest` or `drop_newest`, not `{s}`"),
                    ),
                }
            }
        }
        if let Some(n) = find(e, "http")
            && let Some(h) = self.section(
                n,
                "lanner.http",
                &[
                    "timeout",
                    "max_attempts",
                    "backoff_initial",
                    "backoff_max",
                    "breaker_failures",
                    "breaker_cooldown",
                ],
            )
        {
            let s = &mut c.sinks;
            s.http_timeout =
                self.duration(find(h, "timeout"), "lanner.http.timeout", s.http_timeout);
            s.http_max_attempts = self
                .number(
                    find(h, "max_attempts"),
                    "lanner.http.max_attempts",
                    s.http_max_attempts,
                )
                .max(1);
            s.http_backoff_initial = self.duration(
                find(h, "backoff_initial"),
                "lanner.http.backoff_initial",
                s.http_backoff_initial,
            );
            s.http_backoff_max = self.duration(
                find(h, "backoff_max"),
                "lanner.http.backoff_max",
                s.http_backoff_max,
            );
            s.breaker_failures = self
                .number(
                    find(h, "breaker_failures"),
                    "lanner.http.breaker_failures",
                    s.breaker_failures,
                )
                .max(1);
            s.breaker_cooldown = self.duration(
                find(h, "breaker_cooldown"),
                "lanner.http.breaker_cooldown",
                s.breaker_cooldown,
            );
        }
        if let Some(n) = find(e, "webserver")
            && let Some(w) = self.section(n, "lanner.webserver", &["allow_non_loopback"])
        {
            c.allow_non_loopback = self.bool(
                find(w, "allow_non_loopback"),
                "lanner.webserver.allow_non_loopback",
                false,
            );
        }
        c.noise.summary_interval = self.duration(
            find(e, "suppression_summary_interval"),
            "lanner.suppression_summary_interval",
            c.noise.summary_interval,
        );
        if let Some(n) = find(e, "rate_limits")
            && let Kind::Seq(items) = &n.kind
        {
            for i in items {
                let Some(r) = self.section(i, "lanner.rate_limits[]", &["rule", "rate", "burst"])
                else {
                    continue;
                };
                let rule = self.string(find(r, "rule"), "rule", "*");
                let rate = self.number(find(r, "rate"), "rate", 1.0f64);
                let burst = self.number(find(r, "burst"), "burst", 1.0f64);
                if rate <= 0.0 || burst < 1.0 {
                    self.error(
                        &i.at,
                        "a rate limit needs `rate` > 0 and `burst` >= 1".into(),
                    );
                    continue;
                }
                c.noise.rate_limits.push(RateLimit { rule, rate, burst });
            }
        }
        if let Some(n) = find(e, "dedupe")
            && let Some(d) = self.section(n, "lanner.dedupe", &["window", "fields"])
        {
            c.noise.dedupe = Some(Dedupe {
                window: self.duration(
                    find(d, "window"),
                    "lanner.dedupe.window",
                    Duration::from_secs(60),
                ),
                fields: self.strings(find(d, "fields"), "lanner.dedupe.fields"),
            });
        }
        if let Some(n) = find(e, "silences")
            && let Kind::Seq(items) = &n.kind
        {
            for i in items {
                let Some(s) = self.section(
                    i,
                    "lanner.silences[]",
                    &["rule", "tag", "fields", "start", "end", "reason"],
                ) else {
                    continue;
                };
                let mut fields = Vec::new();
                if let Some(f) = find(s, "fields")
                    && let Some(fe) = self.section(f, "fields", &[])
                {
                    // Every key is a field name: unknown-key warnings do not apply here.
                    self.findings
                        .retain(|x| !fe.iter().any(|(k, _)| x.at == k.at));
                    for (k, v) in fe {
                        if let Some(val) = self.scalar(v, &k.name) {
                            fields.push((k.name.clone(), val.to_string()));
                        }
                    }
                }
                let time = |r: &mut Self, key: &str| -> Option<u64> {
                    let n = find(s, key)?;
                    let v = r.scalar(n, key)?;
                    match parse_time(v) {
                        Some(t) => Some(t),
                        None => {
                            r.error(&n.at, format!("`{key}` must be an RFC 3339 UTC time (`2026-01-31T08:00:00Z`) or Unix seconds, not `{v}`"));
                            None
                        }
                    }
                };
                let start = time(self, "start");
                let end = time(self, "end");
                let reason = self.string(find(s, "reason"), "reason", "");
                if reason.is_empty() {
                    self.error(&i.at, "a silence needs a `reason`".into());
                }
                c.noise.silences.push(Silence {
                    rule: find(s, "rule")
                        .and_then(|n| self.scalar(n, "rule"))
                        .map(str::to_string),
                    tag: find(s, "tag")
                        .and_then(|n| self.scalar(n, "tag"))
                        .map(str::to_string),
                    fields,
                    start,
                    end,
                    reason,
                });
            }
        }
    }
}

fn find<'n>(entries: &'n [(tree::Key, Node)], key: &str) -> Option<&'n Node> {
    entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
}

/// `2026-01-31T08:00:00Z` or Unix seconds.
pub fn parse_time(s: &str) -> Option<u64> {
    if let Ok(n) = s.parse::<u64>() {
        return Some(n);
    }
    let b = s.as_bytes();
    if b.len() != 20 || b.get(10) != Some(&b'T') || b.get(19) != Some(&b'Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(prometheus_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(prometheus_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(
            prometheus_duration("250ms"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(prometheus_duration("5"), None);
        assert_eq!(prometheus_duration("5x"), None);
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2026-01-31T08:00:00Z"), Some(1_769_846_400));
        assert_eq!(parse_time("yesterday"), None);
    }
}
