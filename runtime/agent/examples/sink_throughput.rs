//! Alerts per second through each sink kind (issue 15's benchmark), and the memory bound of
//! the queues under a dead sink.
//!
//! The alerts are real: the shared captures replayed against Falco's rules plus the oracle's
//! probe rules, collected once, then offered to a pipeline with one sink enabled:
//! - burst: 1000 alerts paced at 1 k alerts/s (one second), then the sink drains; alerts/s is
//!   delivered / (last delivery − first offer), and the mean offer→written time;
//! - flood: 10 000 alerts offered at once: the drain rate is the sink's capacity.
//!
//! Receivers are local and real: stdout to this process's stdout (run with `>/dev/null`), a
//! file in a temporary folder, `cat >/dev/null` as the program, an HTTP/1.1 receiver on
//! 127.0.0.1 answering 200, and a datagram socket at `/dev/log` when no syslog daemon has one.
//!
//! Dead sink: an HTTP receiver that accepts and never answers; 200 000 alerts are offered as
//! fast as detection makes them. The offer time per alert shows detection is not held up, the
//! queue stays at its capacity, the excess is counted as dropped, and the resident memory grows
//! by at most the queue's worth of alerts.
//!
//! `cargo run --release -p lanner --example sink_throughput >/dev/null`

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use lanner::emit::Emit;
use lanner::outputs::SinkStats;
use lanner_engine::ruleset::{Alert, RuleMatching, RuleSet};
use lanner_event::ScapSliceReader;
use lanner_state::{ContainerMatcher, Replay};

/// Up to `n` real alerts (the captures looped, a fresh state per pass).
fn alerts(ruleset: &RuleSet, n: usize) -> Result<Vec<Alert>> {
    let captures = common::captures()?;
    let mut out = Vec::new();
    while out.len() < n {
        for bytes in &captures {
            let mut reader = ScapSliceReader::new(bytes);
            let mut replay = Replay::new(ContainerMatcher::falco());
            while let Some(rec) = reader.next_record().context("reading a capture")? {
                if let Some(d) = replay.record(&rec)
                    && d.delivered
                    && let Some(ev) = replay.event()
                {
                    ruleset.evaluate(&ev, &replay.state, d.num, RuleMatching::First, &mut out);
                }
            }
        }
        ensure!(!out.is_empty(), "the captures raise no alert");
    }
    out.truncate(n);
    Ok(out)
}

/// A minimal HTTP/1.1 receiver: reads each request (headers, then Content-Length bytes) and
/// answers 200, keeping the connection; `stall` accepts and never answers.
fn receiver(stall: bool) -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding the HTTP receiver")?;
    let port = l.local_addr()?.port();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            std::thread::spawn(move || {
                if stall {
                    std::thread::sleep(Duration::from_secs(3600));
                    drop(conn);
                    return;
                }
                let Ok(mut w) = conn.try_clone() else {
                    return;
                };
                let mut r = BufReader::new(conn);
                loop {
                    let mut len = 0usize;
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.to_ascii_lowercase();
                        if let Some(v) = l.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    if w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok(port)
}

fn base() -> lanner::config::Config {
    lanner::config::Config {
        json_output: true,
        stdout_output: false,
        ..Default::default()
    }
}

fn only(kind: &str, dir: &std::path::Path) -> Result<lanner::config::Config> {
    let mut c = base();
    match kind {
        "stdout" => c.stdout_output = true,
        "file" => {
            c.file_output = lanner::config::FileOutput {
                enabled: true,
                keep_alive: true,
                filename: dir.join("alerts.json"),
            }
        }
        "program" => {
            c.program_output = lanner::config::ProgramOutput {
                enabled: true,
                keep_alive: true,
                program: "cat >/dev/null".into(),
            }
        }
        "http" => {
            c.http_output.enabled = true;
            c.http_output.keep_alive = true;
            c.http_output.url = format!("http://127.0.0.1:{}/", receiver(false)?);
        }
        "syslog" => c.syslog_output = true,
        _ => bail!("no sink kind `{kind}`"),
    }
    Ok(c)
}

fn stats(p: &lanner::pipeline::Pipeline) -> Result<Arc<SinkStats>> {
    let (_, st) =
        (p.emitter.outputs.stats().into_iter().next()).ok_or_else(|| anyhow!("no sink"))?;
    Ok(st)
}

/// Waits until the sink delivered or dropped everything offered; the time of the last change.
fn drain(st: &SinkStats, offered: u64) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = (0, Instant::now());
    while Instant::now() < deadline {
        let done = st.delivered.load(Ordering::Relaxed) + st.dropped();
        if done != last.0 {
            last = (done, Instant::now());
        }
        if done >= offered {
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    last.1
}

fn rss_kib() -> Result<u64> {
    Ok(std::fs::read_to_string("/proc/self/status")
        .context("reading /proc/self/status")?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0))
}

/// Starts the agent's pipeline on `c`.
fn start_pipeline(
    c: &lanner::config::Config,
    ruleset: &RuleSet,
) -> Result<lanner::pipeline::Pipeline> {
    lanner::pipeline::start(c, ruleset, &[], None, lanner::pipeline::Mode::Live)
        .context("starting the pipeline")
}

fn main() -> Result<()> {
    let ruleset = common::ruleset(&common::RULES_WITH_PROBES)?;
    let all = alerts(&ruleset, 10_000)?;
    eprintln!(
        "{} rules, {} real alerts collected",
        ruleset.rules.len(),
        all.len()
    );
    let dir = std::env::temp_dir().join(format!("lanner-sinks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating `{}`", dir.display()))?;
    // A datagram socket at /dev/log when no syslog daemon made one (removed at the end).
    let dev_log = std::path::Path::new("/dev/log");
    let mut own_log = None;
    if !dev_log.exists()
        && let Ok(s) = std::os::unix::net::UnixDatagram::bind(dev_log)
    {
        std::thread::spawn(move || {
            let mut b = vec![0u8; 65536];
            while s.recv(&mut b).is_ok() {}
        });
        own_log = Some(());
    }
    for kind in ["stdout", "file", "program", "http", "syslog"] {
        if kind == "syslog" && !dev_log.exists() {
            eprintln!("  syslog: no /dev/log, skipped");
            continue;
        }
        // Burst: 1 k alerts/s for one second.
        let mut p = start_pipeline(&only(kind, &dir)?, &ruleset)?;
        let st = stats(&p)?;
        let start = Instant::now();
        for (i, a) in all.iter().take(1000).enumerate() {
            let due = start + Duration::from_millis(i as u64);
            while Instant::now() < due {
                std::thread::sleep(Duration::from_micros(100));
            }
            p.emitter.alert(a, &ruleset, None)?;
        }
        let end = drain(&st, 1000);
        let delivered = st.delivered.load(Ordering::Relaxed);
        let burst_rate = delivered as f64 / (end - start).as_secs_f64();
        let mean_us = st.delivery_micros.load(Ordering::Relaxed) as f64 / delivered.max(1) as f64;
        let burst_dropped = st.dropped();
        lanner::pipeline::finish(&mut p.emitter, Duration::from_secs(5));

        // Flood: 10 k at once, the drain rate.
        let mut p = start_pipeline(&only(kind, &dir)?, &ruleset)?;
        let st = stats(&p)?;
        let start = Instant::now();
        for a in &all {
            p.emitter.alert(a, &ruleset, None)?;
        }
        let offer = start.elapsed();
        let end = drain(&st, all.len() as u64);
        let flood_delivered = st.delivered.load(Ordering::Relaxed);
        eprintln!(
            "  {kind}: burst 1 k/s: {delivered}/1000 delivered, {burst_dropped} dropped, {burst_rate:.0} alerts/s, mean offer→written {mean_us:.0} µs; \
             flood {}: {flood_delivered} delivered, {} dropped, drained at {:.0} alerts/s (offer {:.2} µs/alert)",
            all.len(),
            st.dropped(),
            flood_delivered as f64 / (end - start).as_secs_f64(),
            offer.as_secs_f64() * 1e6 / all.len() as f64
        );
        lanner::pipeline::finish(&mut p.emitter, Duration::from_secs(5));
    }

    // Dead sink: an HTTP receiver that never answers.
    let mut c = base();
    c.http_output.enabled = true;
    c.http_output.url = format!("http://127.0.0.1:{}/", receiver(true)?);
    let capacity = c.sinks.queue_capacity;
    let mut p = start_pipeline(&c, &ruleset)?;
    let st = stats(&p)?;
    let before = rss_kib()?;
    let n = 200_000usize;
    let start = Instant::now();
    let mut peak_queued = 0;
    for (i, a) in all.iter().cycle().take(n).enumerate() {
        p.emitter.alert(a, &ruleset, None)?;
        if i % 1000 == 0 {
            peak_queued = peak_queued.max(st.queued.load(Ordering::Relaxed));
        }
    }
    let offer = start.elapsed();
    let after = rss_kib()?;
    eprintln!(
        "  dead http sink: {n} offered in {:.2} s ({:.2} µs/alert), queue capacity {capacity}, peak queued {peak_queued}, \
         {} dropped (queue full), {} delivered; RSS {before} KiB → {after} KiB (+{} KiB, {:.0} B per queued alert)",
        offer.as_secs_f64(),
        offer.as_secs_f64() * 1e6 / n as f64,
        st.dropped_queue_full.load(Ordering::Relaxed),
        st.delivered.load(Ordering::Relaxed),
        after.saturating_sub(before),
        after.saturating_sub(before) as f64 * 1024.0 / capacity as f64
    );
    lanner::pipeline::finish(&mut p.emitter, Duration::from_millis(500));
    if own_log.is_some() {
        let _ = std::fs::remove_file(dev_log);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
