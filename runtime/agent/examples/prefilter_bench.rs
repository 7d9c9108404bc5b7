//! The rule prefilter's figures (issue 11), as root, all in one run so the ratios compare:
//! `cargo run --release -p lanner --example prefilter_bench`.
//!
//! 1. Per-syscall cost: getppid, a 1-byte read and an `openat` of a missing file (no upstream
//!    rule matches it), bare; with the `sys_exit` program attached and nothing wanted (the
//!    "empty attached program"); with the agent and the upstream rules under `--prefilter
//!    syscalls` and `--prefilter rules`.
//! 2. The benign workload (`deploy/workload/benign.sh`) under each `--prefilter` mode with the
//!    upstream rules: events the kernel saw, passed and dropped, events evaluated, the alerts
//!    (by rule) and the consumer's CPU time (the agent thread's).
//!
//! The benchmark thread is pinned to CPU 0 and the agent to CPU 1.

// A benchmark, not an input path: a failure here should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

use common::pin;
use lanner::live::PrefilterMode;
use lanner_ebpf::filter::KernelFilter;
use lanner_engine::ruleset::{Alert, RuleMatching, RuleSet};

const CALLS: u32 = 200_000;
const MISSING: &std::ffi::CStr = c"/tmp/lanner-prefilter-missing/file";

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

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

fn upstream() -> (RuleSet, KernelFilter) {
    let program =
        common::program(&common::UPSTREAM).expect("the upstream rules compile (../shared)");
    let kernel = KernelFilter::from_lowered(&lanner_prefilter::lower(&program));
    let mut ruleset =
        RuleSet::from_program(&program, lanner_engine::program::OutputOptions::default()).0;
    // The figures are for the engine `lanner run` uses.
    let _ = lanner_jit::Jit::install(&program, &mut ruleset);
    (ruleset, kernel)
}

/// Records the alerts by rule name.
struct Count<'a> {
    by_rule: BTreeMap<String, u64>,
    ruleset: &'a RuleSet,
}

impl lanner::emit::Emit for Count<'_> {
    fn alert(&mut self, a: &Alert, _: &RuleSet, _: Option<Duration>) -> std::io::Result<()> {
        if let Some(r) = self.ruleset.rules.get(a.rule) {
            *self.by_rule.entry(r.name.clone()).or_default() += 1;
        }
        Ok(())
    }
}

struct Run {
    summary: lanner::live::LiveSummary,
    alerts: BTreeMap<String, u64>,
    cpu: Duration,
}

/// Runs the agent on CPU 1 for `secs` in `mode` while `work` runs on this thread once it is
/// ready.
fn with_agent(
    ruleset: &RuleSet,
    kernel: &KernelFilter,
    mode: PrefilterMode,
    include_self: bool,
    secs: f64,
    work: impl FnOnce(),
) -> Run {
    let syscalls = match mode {
        PrefilterMode::Off => lanner::interest::syscalls(&Default::default(), true),
        _ => lanner::interest::for_ruleset(ruleset),
    };
    let kernel = if mode == PrefilterMode::Rules {
        kernel.clone()
    } else {
        KernelFilter::none()
    };
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        let agent = s.spawn(move || {
            pin(1);
            let options = lanner::live::LiveOptions {
                matching: RuleMatching::All,
                matcher: lanner_state::ContainerMatcher::default(),
                format: lanner::replay::Format::Json,
                duration: Some(Duration::from_secs_f64(secs)),
                include_self,
                drop_privileges: false,
                kernel,
            };
            let mut sink = Count {
                by_rule: BTreeMap::new(),
                ruleset,
            };
            let start = thread_cpu();
            let summary = lanner::live::run(
                ruleset,
                &syscalls,
                &options,
                &mut sink,
                &mut |_| {
                    let _ = tx.send(());
                },
                lanner::live::Extras::default(),
            )
            .expect("the agent runs");
            Run {
                summary,
                alerts: sink.by_rule,
                cpu: thread_cpu() - start,
            }
        });
        rx.recv().expect("agent ready");
        work();
        agent.join().expect("agent thread")
    })
}

fn totals(s: &lanner::live::LiveSummary) -> (u64, u64) {
    s.prefilter
        .values()
        .fold((0, 0), |(a, b), c| (a + c.seen, b + c.dropped))
}

fn main() {
    pin(0);
    let (ruleset, kernel) = upstream();
    let zero = std::fs::File::open("/dev/zero").expect("/dev/zero");
    let fd = std::os::fd::AsRawFd::as_raw_fd(&zero);
    let calls = [
        ("getppid", Call::Getppid),
        ("read(/dev/zero, 1)", Call::Read(fd)),
        ("openat(missing)", Call::OpenatMissing),
    ];
    let bare: Vec<f64> = calls.iter().map(|(_, c)| measure(*c)).collect();
    // The sys_exit program attached, nothing wanted.
    let empty: Vec<f64> = {
        let _probe =
            lanner_ebpf::probe::Probe::start(lanner_ebpf::programs::ObjectOptions::default(), &[])
                .expect("probe");
        calls.iter().map(|(_, c)| measure(*c)).collect()
    };
    let mut per_mode = Vec::new();
    for mode in [PrefilterMode::Syscalls, PrefilterMode::Rules] {
        let mut v = Vec::new();
        let run = with_agent(&ruleset, &kernel, mode, true, 8.0, || {
            for (_, c) in &calls {
                v.push(measure(*c));
            }
        });
        per_mode.push((mode, v, run));
    }
    println!("ns per syscall (median of 5 x {CALLS}), same run; added = minus bare:");
    println!(
        "{:<20} {:>7} {:>14} {:>18} {:>16}",
        "syscall", "bare", "empty program", "agent, syscalls", "agent, rules"
    );
    for (i, (name, _)) in calls.iter().enumerate() {
        println!(
            "{name:<20} {:>7.0} {:>+14.0} {:>+18.0} {:>+16.0}",
            bare[i],
            empty[i] - bare[i],
            per_mode[0].1[i] - bare[i],
            per_mode[1].1[i] - bare[i]
        );
    }
    let open = 2;
    let e = empty[open] - bare[open];
    let r = per_mode[1].1[open] - bare[open];
    println!(
        "openat(missing) added cost, prefilter rules / empty program: {:.2}x ({r:.0} / {e:.0} ns)",
        r / e
    );
    for (mode, _, run) in &per_mode {
        let (seen, dropped) = totals(&run.summary);
        println!(
            "  ({}: kernel saw {seen}, dropped {dropped}; agent evaluated {})",
            mode.as_str(),
            run.summary.alerts.events
        );
    }

    // The benign workload under each mode.
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/workload/benign.sh");
    println!("\nbenign workload ({}), upstream rules:", script.display());
    let mut runs = Vec::new();
    for mode in [
        PrefilterMode::Off,
        PrefilterMode::Syscalls,
        PrefilterMode::Rules,
    ] {
        let mut took = Duration::ZERO;
        let run = with_agent(&ruleset, &kernel, mode, false, 14.0, || {
            let t = Instant::now();
            let st = std::process::Command::new("bash")
                .arg(&script)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("benign.sh");
            assert!(st.success(), "benign.sh failed");
            took = t.elapsed();
        });
        let (seen, dropped) = totals(&run.summary);
        println!(
            "{:<9} workload {:>5.1} s; kernel saw {seen:>8}, passed {:>8}, dropped {dropped:>8} ({:>5.1}%); evaluated {:>8}; ring drops {}; consumer CPU {:>7.3} s; alerts {:?}",
            mode.as_str(),
            took.as_secs_f64(),
            seen - dropped,
            100.0 * dropped as f64 / seen.max(1) as f64,
            run.summary.alerts.events,
            run.summary.drops,
            run.cpu.as_secs_f64(),
            run.alerts
        );
        runs.push((mode, run));
    }
    let off = &runs[0].1;
    let rules = &runs[2].1;
    println!(
        "consumer CPU, prefilter rules / off: {:.3}x; / syscalls: {:.3}x",
        rules.cpu.as_secs_f64() / off.cpu.as_secs_f64(),
        rules.cpu.as_secs_f64() / runs[1].1.cpu.as_secs_f64()
    );
    let passed = |r: &Run| {
        let (seen, dropped) = totals(&r.summary);
        seen - dropped
    };
    println!(
        "events shipped to userspace, prefilter rules / off: {:.3}x ({} / {}): {:.1}% of the traced events stay in the kernel",
        passed(rules) as f64 / passed(off) as f64,
        passed(rules),
        passed(off),
        100.0 * (1.0 - passed(rules) as f64 / passed(off) as f64)
    );
    println!(
        "alerts equal with the prefilter rules and off: {}",
        rules.alerts == off.alerts
    );
}
