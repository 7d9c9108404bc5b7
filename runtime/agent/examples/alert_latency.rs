//! Event→alert latency at a paced 100 k events/s (issue 15's benchmark), on a paced replay:
//! every shared capture, looped with a fresh state per pass, is offered at a fixed rate, each
//! event with its arrival time on the schedule. The agent's path runs as in `lanner replay`
//! and `lanner run` (decode, state, the upstream rules, then the real pipeline: formatting,
//! noise control, metrics, a file sink's queue), and an alert's latency is the time from its
//! event's scheduled arrival to the alert being handed to the sinks, so a consumer that falls
//! behind pays for the queueing (no coordinated omission).
//!
//! The baseline in the same run is the unpaced replay of the same events: its events/s is the
//! capacity, and `offered / capacity` the load factor the latency was measured at.
//!
//! `cargo run --release -p lanner --example alert_latency [-- RATE SECONDS]`

mod common;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use lanner::emit::Emit;
use lanner_engine::ruleset::{RuleMatching, RuleSet};
use lanner_event::ScapSliceReader;
use lanner_state::{ContainerMatcher, Replay};

/// The pipeline the agent runs: JSON alerts to a file sink on /dev/null, metrics on.
fn pipeline(ruleset: &RuleSet) -> Result<lanner::pipeline::Pipeline> {
    let d = lanner::config::Config::default();
    let c = lanner::config::Config {
        json_output: true,
        stdout_output: false,
        file_output: lanner::config::FileOutput {
            enabled: true,
            keep_alive: true,
            filename: PathBuf::from("/dev/null"),
        },
        ..d
    };
    lanner::pipeline::start(&c, ruleset, &[], None, lanner::pipeline::Mode::Live)
        .context("starting the pipeline")
}

struct Run {
    events: u64,
    alerts: u64,
    elapsed: Duration,
    /// Per alert: scheduled arrival of its event → handed to the sinks, ns.
    alert_ns: Vec<u64>,
    /// Per event: scheduled arrival → verdict (alerts, if any, handed over), ns.
    event_ns: Vec<u64>,
}

/// Replays `captures` in a loop until `total` events, offering event `i` at `start + i/rate`
/// (`rate` 0: as fast as possible).
fn run(captures: &[Vec<u8>], ruleset: &RuleSet, total: u64, rate: f64) -> Result<Run> {
    let mut p = pipeline(ruleset)?;
    let out = &mut p.emitter;
    let mut alerts = Vec::new();
    let mut r = Run {
        events: 0,
        alerts: 0,
        elapsed: Duration::ZERO,
        alert_ns: Vec::new(),
        event_ns: Vec::with_capacity(total as usize),
    };
    let gap = if rate > 0.0 { 1e9 / rate } else { 0.0 };
    let start = Instant::now();
    'outer: loop {
        for bytes in captures {
            let mut reader = ScapSliceReader::new(bytes);
            let mut replay = Replay::new(ContainerMatcher::falco());
            while let Some(rec) = reader.next_record().context("reading a capture")? {
                let Some(d) = replay.record(&rec) else {
                    continue;
                };
                if !d.delivered {
                    continue;
                }
                let Some(ev) = replay.event() else {
                    continue;
                };
                let due = start + Duration::from_nanos((r.events as f64 * gap) as u64);
                if rate > 0.0 {
                    // Sleep while the next arrival is far, spin when it is close.
                    loop {
                        let now = Instant::now();
                        if now >= due {
                            break;
                        }
                        if due - now > Duration::from_micros(200) {
                            std::thread::sleep(due - now - Duration::from_micros(100));
                        } else {
                            std::hint::spin_loop();
                        }
                    }
                }
                r.events += 1;
                ruleset.evaluate(&ev, &replay.state, d.num, RuleMatching::First, &mut alerts);
                out.evaluated(ev.event_type(), alerts.first().map(|a| a.rule));
                for a in alerts.drain(..) {
                    out.alert(&a, ruleset, None).context("emitting an alert")?;
                    r.alerts += 1;
                    r.alert_ns.push(due.elapsed().as_nanos() as u64);
                }
                r.event_ns.push(due.elapsed().as_nanos() as u64);
                if r.events >= total {
                    break 'outer;
                }
            }
        }
    }
    r.elapsed = start.elapsed();
    let report = lanner::pipeline::finish(&mut p.emitter, Duration::from_secs(5));
    for (name, st) in p.emitter.outputs.stats() {
        let delivered = st.delivered.load(Ordering::Relaxed);
        eprintln!(
            "  sink {name}: {delivered} delivered, {} dropped, mean offer→written {:.1} µs",
            st.dropped(),
            st.delivery_micros.load(Ordering::Relaxed) as f64 / delivered.max(1) as f64
        );
    }
    drop(report);
    Ok(r)
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(f64::NAN, |v| *v as f64 / 1e3)
}

fn show(what: &str, v: &mut [u64]) {
    v.sort_unstable();
    eprintln!(
        "  {what}: n={} p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
        v.len(),
        pct(v, 0.5),
        pct(v, 0.99),
        pct(v, 0.999),
        v.last().map_or(f64::NAN, |m| *m as f64 / 1e3)
    );
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rate: f64 = match args.first() {
        Some(a) => a.parse().with_context(|| format!("RATE `{a}`"))?,
        None => 100_000.0,
    };
    let secs: f64 = match args.get(1) {
        Some(a) => a.parse().with_context(|| format!("SECONDS `{a}`"))?,
        None => 10.0,
    };
    let total = (rate * secs) as u64;
    let captures = common::captures()?;
    let ruleset = common::ruleset(&common::RULES_WITH_PROBES)?;
    eprintln!(
        "{} captures, {} rules; {total} events per run",
        captures.len(),
        ruleset.rules.len()
    );

    let base = run(&captures, &ruleset, total, 0.0)?;
    let capacity = base.events as f64 / base.elapsed.as_secs_f64();
    eprintln!(
        "baseline (unpaced): {} events, {} alerts in {:.2} s = {capacity:.0} events/s",
        base.events,
        base.alerts,
        base.elapsed.as_secs_f64()
    );

    let mut paced = run(&captures, &ruleset, total, rate)?;
    let achieved = paced.events as f64 / paced.elapsed.as_secs_f64();
    eprintln!(
        "paced at {rate:.0} events/s: {} events, {} alerts in {:.2} s = {achieved:.0} events/s achieved; load factor {:.2} of capacity",
        paced.events,
        paced.alerts,
        paced.elapsed.as_secs_f64(),
        rate / capacity
    );
    show("event→alert", &mut paced.alert_ns);
    show("event→verdict (every event)", &mut paced.event_ns);
    let p99_ms = pct(&paced.alert_ns, 0.99) / 1e3;
    eprintln!(
        "  goal p99 < 5 ms: {} ({p99_ms:.3} ms)",
        if p99_ms < 5.0 { "met" } else { "NOT met" }
    );
    Ok(())
}
