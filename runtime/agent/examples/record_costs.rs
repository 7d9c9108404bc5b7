//! What a traced exec, clone and open cost, as root, in one run so the figures compare:
//! `cargo run --release -p lanner --example record_costs`.
//!
//! For each call (fork + wait, fork + execve of `/bin/true` + wait, openat + close of an
//! existing file): ns per call with nothing attached, with the programs attached but no
//! syscall shipped, then with the capture programs attached for every syscall `lanner run`
//! ships for the three upstream rule files (a thread drains and converts the ring as the agent
//! does, without rules); and the bytes of each record the
//! kernel ships for it (the scap event Lanner builds: header, lengths and values), as mean and
//! max per event type. The calls run in a separate process pinned to CPU 0 (a fork copies the
//! page tables of its parent, which must not be the agent), the consumer on CPU 1.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use common::pin;
use lanner_ebpf::convert::Converter;
use lanner_ebpf::probe::Probe;
use lanner_ebpf::programs::ObjectOptions;

const FILE: &std::ffi::CStr = c"/etc/hostname";
const TRUE: &std::ffi::CStr = c"/bin/true";

#[derive(Clone, Copy, Debug)]
enum Call {
    /// fork, the child exits at once, the parent waits.
    Clone,
    /// fork, the child execs /bin/true, the parent waits.
    Exec,
    /// openat of an existing file, then close.
    Open,
}

impl Call {
    const ALL: [Call; 3] = [Call::Clone, Call::Exec, Call::Open];

    fn calls(self) -> u32 {
        match self {
            Call::Clone => 2_000,
            Call::Exec => 1_000,
            Call::Open => 200_000,
        }
    }

    /// The exit events whose records this call produces, by name.
    fn events(self) -> &'static [&'static str] {
        match self {
            Call::Clone => &["clone", "fork", "clone3", "vfork"],
            Call::Exec => &["execve"],
            Call::Open => &["openat"],
        }
    }

    fn once(self) {
        // SAFETY: plain syscalls with valid arguments; the forked child only calls
        // async-signal-safe functions (execve, _exit).
        unsafe {
            match self {
                Call::Clone => {
                    let pid = libc::fork();
                    if pid == 0 {
                        libc::_exit(0);
                    }
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
                Call::Exec => {
                    let pid = libc::fork();
                    if pid == 0 {
                        let argv = [TRUE.as_ptr(), std::ptr::null()];
                        let envp = [std::ptr::null()];
                        libc::execve(TRUE.as_ptr(), argv.as_ptr(), envp.as_ptr());
                        libc::_exit(127);
                    }
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
                Call::Open => {
                    let fd = libc::openat(libc::AT_FDCWD, FILE.as_ptr(), libc::O_RDONLY);
                    if fd >= 0 {
                        libc::close(fd);
                    }
                }
            }
        }
    }

    /// Median ns per call over 5 rounds.
    fn measure(self) -> f64 {
        let n = self.calls();
        let mut rounds: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..n {
                    self.once();
                }
                t.elapsed().as_nanos() as f64 / f64::from(n)
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        rounds.get(2).copied().unwrap_or(f64::NAN)
    }
}

/// Sizes of the records seen, by event name: (count, total bytes, max bytes).
type Sizes = BTreeMap<&'static str, (u64, u64, u64)>;

/// The calls measured in a fresh process: a fork copies its parent's page tables, and the
/// agent's ring buffer and rule tables would make every fork of the benchmark process
/// slower although no traced program's fork pays for them.
fn measure_apart() -> Result<Vec<f64>> {
    let out = std::process::Command::new(std::env::current_exe().context("own path")?)
        .arg("--work")
        .output()
        .context("running the workload process")?;
    ensure!(
        out.status.success(),
        "the workload process failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ns = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|n| n.parse().with_context(|| format!("ns per call `{n}`")))
        .collect::<Result<Vec<f64>>>()?;
    ensure!(
        ns.len() == Call::ALL.len(),
        "the workload process printed {ns:?}"
    );
    Ok(ns)
}

fn main() -> Result<()> {
    if std::env::args().nth(1).as_deref() == Some("--work") {
        pin(0);
        let ns: Vec<String> = Call::ALL
            .iter()
            .map(|c| format!("{:.0}", c.measure()))
            .collect();
        println!("{}", ns.join(" "));
        return Ok(());
    }
    // SAFETY: no arguments, no side effects.
    if unsafe { libc::geteuid() } != 0 {
        bail!("record_costs loads eBPF programs: run it as root");
    }
    pin(0);
    let ruleset = common::ruleset(&common::UPSTREAM)?;
    let syscalls = lanner::interest::for_ruleset(&ruleset);

    let bare = measure_apart()?;

    // The programs attached but no syscall shipped (the process-lifecycle programs and an
    // empty syscall array): what attaching alone costs.
    let (attached, _, _, _) = traced(&[])?;
    let (traced_ns, sizes, events, drops) = traced(&syscalls)?;
    println!(
        "capture programs attached for {} syscalls (upstream rules' interest set); {events} events drained, {drops} drops",
        syscalls.len()
    );
    println!(
        "{:<8} {:>12} {:>14} {:>12} {:>8} {:>10} {:>14} {:>10}",
        "call",
        "bare ns",
        "attached ns",
        "traced ns",
        "ratio",
        "added ns",
        "bytes/record",
        "max bytes"
    );
    for (((call, b), a), t) in Call::ALL.iter().zip(&bare).zip(&attached).zip(&traced_ns) {
        let (count, total, max) = call
            .events()
            .iter()
            .filter_map(|e| sizes.get(e))
            .fold((0, 0, 0), |a, s| (a.0 + s.0, a.1 + s.1, a.2.max(s.2)));
        let mean = if count == 0 {
            0.0
        } else {
            total as f64 / count as f64
        };
        println!(
            "{:<8} {:>12.0} {:>14.0} {:>12.0} {:>7.2}x {:>10.0} {:>14.0} {:>10}",
            format!("{call:?}").to_lowercase(),
            b,
            a,
            t,
            t / b,
            t - b,
            mean,
            max
        );
    }
    Ok(())
}

/// ns per call of every [`Call`] with the capture programs attached for `syscalls` and a
/// consumer draining and converting on CPU 1; the record sizes seen, events and drops.
fn traced(syscalls: &[u32]) -> Result<(Vec<f64>, Sizes, u64, u64)> {
    let probe = Probe::start(ObjectOptions::default(), syscalls).context("attaching the probe")?;
    let stop = Arc::new(AtomicBool::new(false));
    let consumer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            pin(1);
            let mut probe = probe;
            let conv = Converter::new();
            let mut buf = Vec::with_capacity(64 << 10);
            let mut sizes = Sizes::new();
            let mut events = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let n = probe.drain_events(&conv, &mut buf, |ev| {
                    events += 1;
                    let Some(info) = ev.info() else { return };
                    if info.direction != lanner_event::Direction::Exit {
                        return;
                    }
                    let bytes = (lanner_event::V2_HEADER_LEN
                        + ev.raw_lengths().len()
                        + ev.values_len()) as u64;
                    let e = sizes.entry(info.name).or_insert((0, 0, 0));
                    e.0 += 1;
                    e.1 += bytes;
                    e.2 = e.2.max(bytes);
                });
                if n == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            let drops = probe.drops().unwrap_or(0);
            (sizes, events, drops)
        })
    };
    // Let the consumer start draining.
    std::thread::sleep(Duration::from_millis(200));
    let ns = measure_apart();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let (sizes, events, drops) = consumer
        .join()
        .map_err(|_| anyhow!("the consumer thread panicked"))?;
    Ok((ns?, sizes, events, drops))
}
