//! What the live agent costs per syscall, as root, all in one run so the figures compare:
//! `cargo run --release -p lanner --example live_overhead`.
//!
//! 1. Nothing attached.
//! 2. `lanner run` with the three upstream rule files: getppid and a 1-byte read are not in
//!    any rule's event types, so the in-kernel prefilter drops them; openat is shipped,
//!    converted, run through the state engine and the rules.
//! 3. The consumer's throughput: openat calls offered at rising paced rates (every one shipped
//!    and evaluated), each step with a fresh agent, up to the first step with a drop; then an
//!    unpaced flood, counting the events handled per second and the drops.
//!
//! The benchmark thread is pinned to CPU 0 and the agent to CPU 1, as in kernel.md.

// A benchmark, not an input path: a failure here should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::pin;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lanner_engine::ruleset::{RuleMatching, RuleSet};

const CALLS: u32 = 300_000;
const MISSING: &std::ffi::CStr = c"/tmp/lanner-overhead-missing/file";

#[derive(Clone, Copy)]
enum Call {
    Getppid,
    Read(i32),
    OpenatMissing,
}

fn once(call: Call) {
    let mut b = [0u8; 1];
    // SAFETY: plain syscalls with valid arguments.
    unsafe {
        match call {
            Call::Getppid => {
                libc::getppid();
            }
            Call::Read(fd) => {
                libc::read(fd, b.as_mut_ptr().cast(), 1);
            }
            Call::OpenatMissing => {
                libc::openat(libc::AT_FDCWD, MISSING.as_ptr(), libc::O_RDONLY);
            }
        }
    }
}

/// Median ns per call over 5 rounds.
fn measure(call: Call) -> f64 {
    let mut rounds: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..CALLS {
                once(call);
            }
            t.elapsed().as_nanos() as f64 / f64::from(CALLS)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[2]
}

fn upstream_rules() -> RuleSet {
    common::ruleset(&common::UPSTREAM).expect("the upstream rules compile (../shared)")
}

/// Runs the agent on CPU 1 for `secs` while `work` runs on this thread once it is ready.
fn with_agent(ruleset: &RuleSet, secs: f64, work: impl FnOnce()) -> lanner::live::LiveSummary {
    let codes: std::collections::BTreeSet<u16> = ruleset
        .rules
        .iter()
        .flat_map(|r| r.event_codes.iter().copied())
        .collect();
    let any = ruleset.rules.iter().any(|r| r.any_event);
    let syscalls = lanner::interest::syscalls(&codes, any);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        let agent = s.spawn(move || {
            pin(1);
            let options = lanner::live::LiveOptions {
                matching: RuleMatching::First,
                matcher: lanner_state::ContainerMatcher::disabled(),
                format: lanner::replay::Format::Json,
                duration: Some(Duration::from_secs_f64(secs)),
                include_self: true,
                drop_privileges: false,
                kernel: lanner_ebpf::filter::KernelFilter::none(),
            };
            let mut devnull = std::io::sink();
            let mut sink = lanner::emit::Lines {
                out: &mut devnull,
                format: lanner::replay::Format::Json,
                host: lanner::replay::hostname(),
                flush: true,
            };
            lanner::live::run(
                ruleset,
                &syscalls,
                &options,
                &mut sink,
                &mut |_| {
                    let _ = tx.send(());
                },
                lanner::live::Extras::default(),
            )
            .expect("the agent runs")
        });
        rx.recv().expect("agent ready");
        work();
        agent.join().expect("agent thread")
    })
}

fn main() {
    pin(0);
    let zero = std::fs::File::open("/dev/zero").expect("/dev/zero");
    let fd = std::os::fd::AsRawFd::as_raw_fd(&zero);
    let calls = [
        ("getppid", Call::Getppid),
        ("read(/dev/zero, 1)", Call::Read(fd)),
        ("openat(missing)", Call::OpenatMissing),
    ];
    let bare: Vec<f64> = calls.iter().map(|(_, c)| measure(*c)).collect();
    let ruleset = upstream_rules();
    let mut attached = Vec::new();
    let summary = with_agent(&ruleset, 12.0, || {
        for (_, c) in &calls {
            attached.push(measure(*c));
        }
    });
    println!("ns per syscall (median of 5 × {CALLS}), same run:");
    println!(
        "{:<22} {:>8} {:>26} {:>8}",
        "syscall", "bare", "lanner run, upstream rules", "added"
    );
    for (((name, _), b), a) in calls.iter().zip(&bare).zip(&attached) {
        println!("{name:<22} {b:>8.0} {a:>26.0} {:>+8.0}", a - b);
    }
    println!(
        "  (agent: {} events handled, {} dropped, {} malformed; getppid and read are dropped in the kernel, openat is shipped and evaluated)",
        summary.alerts.events, summary.drops, summary.malformed
    );

    // Throughput before the first drop: offer openat at a paced rate for 1 s per step, a fresh
    // agent per step, rising until a step sees a drop.
    let mut sustained = 0u64;
    for rate in (50_000u64..=600_000).step_by(25_000) {
        let summary = with_agent(&ruleset, 2.5, || paced(rate, Duration::from_secs(1)));
        println!(
            "paced {rate:>7}/s for 1 s: agent handled {} events, {} dropped",
            summary.alerts.events, summary.drops
        );
        if summary.drops > 0 {
            break;
        }
        sustained = rate;
    }
    println!("highest paced rate without a drop: {sustained} openat events/s");

    // Flood openat for 3 s while the agent runs.
    let flood = Duration::from_secs(3);
    let mut calls_made = 0u64;
    let summary = with_agent(&ruleset, 6.0, || {
        let t = Instant::now();
        while t.elapsed() < flood {
            for _ in 0..1000 {
                once(Call::OpenatMissing);
            }
            calls_made += 1000;
        }
    });
    let secs = flood.as_secs_f64();
    println!(
        "flood: {} openat calls in {secs:.0} s ({:.0}/s offered); agent handled {} events ({:.0}/s), {} dropped",
        calls_made,
        calls_made as f64 / secs,
        summary.alerts.events,
        summary.alerts.events as f64 / secs,
        summary.drops
    );
}

/// Calls openat at `rate` per second for `span`, in batches of 100 paced against the clock
/// (a busy wait between batches, so the pace holds at rates a sleep cannot resolve).
fn paced(rate: u64, span: Duration) {
    let start = Instant::now();
    let mut made = 0u64;
    while start.elapsed() < span {
        let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
        if made < due {
            for _ in 0..100 {
                once(Call::OpenatMissing);
            }
            made += 100;
        } else {
            std::hint::spin_loop();
        }
    }
}
