//! `lanner capture -w FILE.scap`: what the live agent sees, written as a scap capture that
//! sysdig 0.29, Falco and `lanner replay` read: the machine's interfaces as an interface-list
//! block, the /proc snapshot as process-list, fd-list and user-list blocks, then every event
//! the kernel ships.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lanner_ebpf::convert::Converter;
use lanner_ebpf::probe::Probe;
use lanner_ebpf::programs::ObjectOptions;
use lanner_event::{MachineInfo, ScapWriter, WriteError, WriterOptions};
use lanner_state::procfs::{Snapshot, SnapshotOptions, SnapshotStats};

use crate::live::{LiveError, preflight};

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    Live {
        #[from]
        source: LiveError,
    },
    #[error("cannot create `{path}`: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("writing `{path}` failed: {source}")]
    Write { path: String, source: WriteError },
}

/// What a capture holds.
#[derive(Debug, Default)]
pub struct CaptureSummary {
    pub events: u64,
    pub drops: u64,
}

/// Captures until a signal or `duration`. `ready` is called once the programs are attached
/// and the snapshot is written.
pub fn capture(
    path: &Path,
    syscalls: &[u32],
    duration: Option<Duration>,
    ready: &mut dyn FnMut(&SnapshotStats),
) -> Result<CaptureSummary, CaptureError> {
    preflight()?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|source| LiveError::Signals { source })?;
    }
    let shown = path.display().to_string();
    let file = std::fs::File::create(path).map_err(|source| CaptureError::Create {
        path: shown.clone(),
        source,
    })?;
    let werr = |source| CaptureError::Write {
        path: shown.clone(),
        source,
    };
    // sysdig 0.29 refuses fd types newer than its libs; they are written as "unsupported".
    let mut w = ScapWriter::with_options(
        BufWriter::new(file),
        WriterOptions {
            sysdig029_fd_types: true,
            ..WriterOptions::default()
        },
    )
    .map_err(werr)?;
    let mut probe = Probe::start(ObjectOptions::default(), syscalls).map_err(LiveError::from)?;
    let snap = Snapshot::take(&SnapshotOptions::default()).map_err(LiveError::from)?;
    w.write_section_header().map_err(werr)?;
    let hostname = crate::replay::hostname().into_bytes();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    w.write_machine_info(&MachineInfo {
        num_cpus: u32::try_from(cpus).unwrap_or(1),
        hostname,
        ..MachineInfo::default()
    })
    .map_err(werr)?;
    let interfaces = crate::interfaces::read().map_err(LiveError::from)?;
    w.write_interfaces(
        interfaces
            .iter()
            .map(crate::interfaces::OwnedInterface::as_record),
    )
    .map_err(werr)?;
    w.write_users(snap.user_records()).map_err(werr)?;
    w.write_threads(snap.thread_records()).map_err(werr)?;
    for p in &snap.fds {
        w.write_fd_table(p.pid, p.fds.iter().map(|f| f.as_record()))
            .map_err(werr)?;
    }
    ready(&snap.stats);

    let conv = Converter::new();
    let mut buf = Vec::with_capacity(64 << 10);
    let me = i64::from(std::process::id());
    let started = Instant::now();
    let mut summary = CaptureSummary::default();
    let mut failure = None;
    while !stop.load(Ordering::Relaxed) && duration.is_none_or(|d| started.elapsed() < d) {
        let n = probe.drain_events(&conv, &mut buf, |ev| {
            // The agent's own writes to the capture would only grow it.
            if ev.tid() == me || failure.is_some() {
                return;
            }
            match w.write_event(ev) {
                Ok(()) => summary.events += 1,
                Err(e) => failure = Some(e),
            }
        });
        if let Some(e) = failure.take() {
            return Err(werr(e));
        }
        if n == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    summary.drops = probe.drops().map_err(LiveError::from)?;
    drop(probe);
    let mut out = w.finish().map_err(werr)?;
    out.flush().map_err(|source| CaptureError::Create {
        path: shown.clone(),
        source,
    })?;
    Ok(summary)
}
