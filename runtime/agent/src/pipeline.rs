//! From a configuration to a running alert pipeline: sinks, metrics registry, the webserver and
//! SIGUSR1; and the report at exit (Falco's summary, per-sink delivery, suppressions).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use lanner_engine::ruleset::RuleSet;

use crate::config::Config;
use crate::emit::{Emitter, FormatOptions};
use crate::metrics::{Endpoint, Registry, RuleMeta};
use crate::outputs::sinks::{FileSink, Http, Program, Stdout, Syslog};
use crate::outputs::{Outputs, Sink, SinkHandle};

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("Failed to init output: {0}")]
    Http(#[from] crate::outputs::sinks::HttpSetupError),
    #[error("cannot start an output thread: {0}")]
    Thread(std::io::Error),
    #[error("{0}")]
    Serve(#[from] crate::metrics::ServeError),
    #[error("cannot install the SIGUSR1 handler: {0}")]
    Signal(std::io::Error),
}

/// How the agent is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Replay,
    Live,
}

/// The syslog socket; `LANNER_SYSLOG_SOCKET` points tests at their own daemon.
fn syslog_socket() -> PathBuf {
    std::env::var_os("LANNER_SYSLOG_SOCKET")
        .map_or_else(|| PathBuf::from("/dev/log"), PathBuf::from)
}

/// What was started.
pub struct Pipeline {
    pub emitter: Emitter,
    pub webserver: Option<SocketAddr>,
    /// Things worth a line on stderr (the address actually bound, a refused address).
    pub notes: Vec<String>,
}

pub fn start(
    config: &Config,
    ruleset: &RuleSet,
    rules_files: &[PathBuf],
    config_file: Option<&Path>,
    mode: Mode,
) -> Result<Pipeline, PipelineError> {
    let mut notes = Vec::new();
    let s = &config.sinks;
    let mut handles = Vec::new();
    let mut add = |sink: Box<dyn Sink>, lossless: bool| -> Result<(), PipelineError> {
        handles.push(
            SinkHandle::start(sink, s.queue_capacity, s.overflow, lossless)
                .map_err(PipelineError::Thread)?,
        );
        Ok(())
    };
    // INVARIANT: only replay's stdout waits for room (a capture has no deadline and its alerts
    // are the command's result); every other sink drops and counts.
    if config.stdout_output {
        add(Box::new(Stdout), mode == Mode::Replay)?;
    }
    if config.file_output.enabled {
        add(
            Box::new(FileSink::new(
                config.file_output.filename.clone(),
                config.file_output.keep_alive,
            )),
            false,
        )?;
    }
    if config.syslog_output {
        add(Box::new(Syslog::new(syslog_socket())), false)?;
    }
    if config.program_output.enabled {
        add(
            Box::new(Program::new(
                config.program_output.program.clone(),
                config.program_output.keep_alive,
            )),
            false,
        )?;
    }
    if config.http_output.enabled {
        add(
            Box::new(Http::new(&config.http_output, config.json_output, s)?),
            false,
        )?;
    }
    for h in &handles {
        signal_hook::flag::register(signal_hook::consts::SIGUSR1, h.reopen_flag())
            .map_err(PipelineError::Signal)?;
    }
    let outputs = Outputs { sinks: handles };
    let metas = ruleset
        .rules
        .iter()
        .map(|r| RuleMeta {
            name: r.name.clone(),
            priority: r.priority as u8,
            source: r.source.clone(),
            tags: r.tags.clone(),
        })
        .collect();
    let registry = Arc::new(
        Registry::new(
            metas,
            rules_files,
            config_file,
            match mode {
                Mode::Replay => "replay",
                Mode::Live => "modern_bpf",
            },
        )
        .with_dispatch(ruleset, !config.rule_matching_all),
    );
    let mut webserver = None;
    let w = &config.webserver;
    if w.enabled {
        let mut ip = w.listen_address;
        if !ip.is_loopback() && !config.allow_non_loopback {
            notes.push(format!(
                "warning: `webserver.listen_address` is `{ip}`: Lanner serves on loopback unless `lanner.webserver.allow_non_loopback: true` is set; listening on 127.0.0.1"
            ));
            ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        }
        let addr = crate::metrics::serve(
            SocketAddr::new(ip, w.listen_port),
            Endpoint {
                registry: Arc::clone(&registry),
                healthz: w.k8s_healthz_endpoint.clone(),
                prometheus: config.metrics.enabled && w.prometheus_metrics_enabled,
            },
        )?;
        notes.push(format!("lanner: webserver on http://{addr}"));
        webserver = Some(addr);
    }
    let emitter = Emitter::new(
        outputs,
        FormatOptions::from_config(config),
        registry,
        config.noise.clone(),
        crate::drops::DropMonitor::new(config.syscall_event_drops.clone()),
    );
    Ok(Pipeline {
        emitter,
        webserver,
        notes,
    })
}

/// `watch_config_files`: watches the config file and applies what can change in place (noise
/// control) without a restart. Returns the note for stderr.
pub fn watch_config(
    pipeline: &mut Pipeline,
    config: &Config,
    config_file: Option<&Path>,
    overrides: &[String],
) -> Result<Option<String>, PipelineError> {
    let Some(path) = config_file else {
        return Ok(None);
    };
    if !config.watch_config_files {
        return Ok(None);
    }
    let slot = crate::config_watch::spawn(
        path.to_path_buf(),
        overrides.to_vec(),
        config.clone(),
        Arc::clone(&pipeline.emitter.registry),
    )
    .map_err(PipelineError::Thread)?;
    pipeline.emitter.reload = Some(slot);
    Ok(Some(format!(
        "lanner: config {} is watched for changes (noise control applies without a restart)",
        path.display()
    )))
}

/// Falco's summary: `Events detected: N`, counts by severity and by rule (in definition order).
pub fn falco_summary(registry: &Registry) -> Vec<String> {
    let counts: Vec<u64> = registry
        .rule_matches
        .iter()
        .map(|n| n.load(Ordering::Relaxed))
        .collect();
    let mut lines = vec![format!("Events detected: {}", counts.iter().sum::<u64>())];
    lines.push("Rule counts by severity:".into());
    const SHORT: [&str; 8] = [
        "EMERGENCY",
        "ALERT",
        "CRITICAL",
        "ERROR",
        "WARNING",
        "NOTICE",
        "INFO",
        "DEBUG",
    ];
    let mut by_priority = [0u64; 8];
    for (meta, n) in registry.rules.iter().zip(&counts) {
        if let Some(p) = by_priority.get_mut(usize::from(meta.priority)) {
            *p += n;
        }
    }
    for (name, n) in SHORT.iter().zip(by_priority) {
        if n > 0 {
            lines.push(format!("   {name}: {n}"));
        }
    }
    lines.push("Triggered rules by rule name:".into());
    for (meta, n) in registry.rules.iter().zip(&counts) {
        if *n > 0 {
            lines.push(format!("   {}: {n}", meta.name));
        }
    }
    lines
}

/// Stops the sinks and returns the report lines for stderr.
pub fn finish(emitter: &mut Emitter, timeout: Duration) -> Vec<String> {
    emitter.finish(timeout);
    let mut lines = falco_summary(&emitter.registry);
    for (name, st) in emitter.outputs.stats() {
        let r = |v: &std::sync::atomic::AtomicU64| v.load(Ordering::Relaxed);
        lines.push(format!(
            "lanner: output {name}: {} delivered, {} dropped ({} queue full, {} failed, {} at shutdown)",
            r(&st.delivered),
            st.dropped(),
            r(&st.dropped_queue_full),
            r(&st.dropped_failed),
            r(&st.dropped_shutdown)
        ));
    }
    for l in emitter.noise.summary() {
        lines.push(format!("lanner: suppressed {l}"));
    }
    lines
}
