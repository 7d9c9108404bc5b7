//! `lanner run`: the live agent. Generates the eBPF object for the running kernel, loads and
//! attaches it with the prefilter set from the rules, takes the existing processes and fds from
//! /proc, and evaluates the rules on every event the kernel ships, printing alerts as `lanner
//! replay` does. SIGINT and SIGTERM detach everything and end the run cleanly.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lanner_ebpf::convert::Converter;
use lanner_ebpf::probe::{Probe, ProbeError};
use lanner_ebpf::programs::ObjectOptions;
use lanner_engine::ruleset::{RuleMatching, RuleSet};
use lanner_state::{ContainerMatcher, State};

use crate::replay::{Format, Summary};

/// Why the agent could not run.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("`lanner run` must run as root: it loads eBPF programs into the kernel (try `sudo`)")]
    NotRoot,
    #[error(
        "the kernel has no BTF at `{path}`: Lanner reads struct offsets from it to build its \
         programs (a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed)"
    )]
    NoBtf { path: String },
    #[error("starting the kernel probe failed: {source}")]
    Probe {
        #[from]
        source: ProbeError,
    },
    #[error("reading the system state from /proc failed: {source}")]
    Procfs {
        #[from]
        source: lanner_state::procfs::ProcfsError,
    },
    #[error(transparent)]
    Interfaces(#[from] crate::interfaces::InterfacesError),
    #[error("cannot write alerts: {source}")]
    Write { source: std::io::Error },
    #[error("{0}")]
    Privilege(#[from] crate::privilege::PrivilegeError),
    #[error("cannot install the signal handlers: {source}")]
    Signals { source: std::io::Error },
}

/// How the agent runs.
pub struct LiveOptions {
    pub matching: RuleMatching,
    pub matcher: ContainerMatcher,
    pub format: Format,
    /// Stop after this long (tests, captures); `None` runs until a signal.
    pub duration: Option<Duration>,
    /// Evaluate the agent's own process's syscalls too (benchmarks that generate load from
    /// the same process); off for real runs, where they would only feed back.
    pub include_self: bool,
    /// Drop every capability but those the running probe needs once it is attached and /proc is
    /// read (see `privilege`).
    pub drop_privileges: bool,
}

/// What the run saw.
#[derive(Debug, Default)]
pub struct LiveSummary {
    /// `alerts.events` counts the events evaluated (by whichever program was running).
    pub alerts: Summary,
    pub drops: u64,
    pub malformed: u64,
    /// Events the agent took from the kernel for evaluation (its own syscalls excluded),
    /// counted before evaluation: equal to `alerts.events` when nothing was lost.
    pub events_in: u64,
    /// Events evaluated by each program in turn: the first is the one the run started with,
    /// then one per reload swapped in. Their sum is `alerts.events`.
    pub evaluated_by_program: Vec<u64>,
    /// Reloads that were swapped in, and reloads refused (verification, compilation, prefilter).
    pub reloads_ok: u64,
    pub reloads_failed: u64,
}

/// Where the live loop gets what runs beside the rules: reloads and a shadow candidate.
#[derive(Default)]
pub struct Extras<'a> {
    /// New rule sets, swapped in between two events.
    pub reloader: Option<&'a crate::reload::Reloader>,
    /// A candidate evaluated on the same events, its alerts kept away from `out`.
    pub shadow: Option<&'a mut crate::shadow::Shadow>,
}

/// Checks what the live agent needs before anything is loaded.
pub fn preflight() -> Result<(), LiveError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(LiveError::NotRoot);
    }
    let btf = "/sys/kernel/btf/vmlinux";
    if !Path::new(btf).exists() {
        return Err(LiveError::NoBtf { path: btf.into() });
    }
    Ok(())
}

/// Runs the agent until a signal (or `duration`), writing alerts to `out`. `ready` is called
/// once the programs are attached and the state is loaded. The prefilter is `syscalls` to
/// start with, then follows the reloaded rule sets.
pub fn run(
    initial: &RuleSet,
    syscalls: &[u32],
    options: &LiveOptions,
    out: &mut dyn crate::emit::Emit,
    ready: &mut dyn FnMut(&lanner_state::procfs::SnapshotStats),
    extras: Extras<'_>,
) -> Result<LiveSummary, LiveError> {
    let Extras {
        reloader,
        mut shadow,
    } = extras;
    // The last rule set a reload swapped in; `initial` until then.
    let mut reloaded: Option<RuleSet> = None;
    preflight()?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|source| LiveError::Signals { source })?;
    }
    // Attach first, then read /proc: a process that starts in between is seen by both, which
    // the state engine tolerates, rather than by neither.
    let mut probe = Probe::start(ObjectOptions::default(), syscalls)?;
    let mut state = State::with_matcher(options.matcher.clone());
    let stats = lanner_state::procfs::snapshot(&mut state, &Default::default())?;
    for i in crate::interfaces::read()? {
        state.add_interface(&i.as_record());
    }
    if options.drop_privileges {
        crate::privilege::restrict_thread(crate::privilege::KEPT_AFTER_ATTACH)?;
    }
    ready(&stats);

    let conv = Converter::new();
    let mut buf = Vec::with_capacity(64 << 10);
    let mut alerts = Vec::new();
    let mut summary = LiveSummary {
        evaluated_by_program: vec![0],
        ..LiveSummary::default()
    };
    let mut wanted: std::collections::BTreeSet<u32> = syscalls.iter().copied().collect();
    let mut shadow_error = None;
    let me = i64::from(std::process::id());
    let started = Instant::now();
    let mut num = 0u64;
    let mut write_error = None;
    let mut last_tick = Instant::now();
    while !stop.load(Ordering::Relaxed) && options.duration.is_none_or(|d| started.elapsed() < d) {
        let ruleset = reloaded.as_ref().unwrap_or(initial);
        let n = probe.drain_events(&conv, &mut buf, |ev| {
            // The agent's own syscalls would only feed back into it.
            if !options.include_self && state.thread(ev.tid()).is_some_and(|t| t.pid == me) {
                return;
            }
            num += 1;
            summary.events_in += 1;
            state.process(ev);
            state.current.num = num;
            let before = alerts.len();
            ruleset.evaluate(ev, &state, num, options.matching, &mut alerts);
            summary.alerts.events += 1;
            out.evaluated(ev.event_type(), alerts.get(before).map(|a| a.rule));
            if let Some(last) = summary.evaluated_by_program.last_mut() {
                *last += 1;
            }
            if let Some(s) = shadow.as_deref_mut()
                && let Err(e) = s.evaluate(
                    ev,
                    &state,
                    num,
                    options.matching,
                    alerts.get(before..).unwrap_or_default(),
                    ruleset,
                )
            {
                shadow_error = Some(e);
            }
        });
        for a in alerts.drain(..) {
            let Some(rule) = ruleset.rules.get(a.rule) else {
                continue;
            };
            summary.alerts.alerts += 1;
            *summary.alerts.by_rule.entry(rule.name.clone()).or_default() += 1;
            *summary
                .alerts
                .by_priority
                .entry(rule.priority.as_str())
                .or_default() += 1;
            // Event time is wall-clock time: the difference is the time to detect.
            let latency = crate::metrics::now_ns()
                .checked_sub(a.ts)
                .map(Duration::from_nanos);
            if let Err(e) = out.alert(&a, ruleset, latency) {
                write_error = Some(e);
            }
        }
        if last_tick.elapsed() >= Duration::from_millis(250) {
            last_tick = Instant::now();
            let drops = probe.drops().ok();
            out.tick(summary.alerts.events, drops, crate::metrics::now_ns());
            if out.should_stop() {
                break;
            }
        }
        if let Some(source) = write_error.take().or(shadow_error.take()) {
            return Err(LiveError::Write { source });
        }
        // Between two batches of events, so between two events: every alert of the batch was
        // emitted with the program that raised it.
        match reloader.and_then(crate::reload::Reloader::take) {
            Some(crate::reload::Outcome::Swap(swap)) => {
                match update_prefilter(&mut probe, &mut wanted, &swap.ruleset) {
                    Ok(()) => {
                        summary.reloads_ok += 1;
                        summary.evaluated_by_program.push(0);
                        out.rules_changed(&swap.ruleset);
                        out.reloaded(true);
                        eprintln!(
                            "lanner: rules reloaded after {}: program {} with {} rule(s) from event {}",
                            swap.why,
                            summary.evaluated_by_program.len() - 1,
                            swap.ruleset.rules.len(),
                            num + 1
                        );
                        reloaded = Some(swap.ruleset);
                    }
                    Err(e) => {
                        summary.reloads_failed += 1;
                        out.reloaded(false);
                        eprintln!(
                            "lanner: reload after {} failed, keeping the running rules: {e}",
                            swap.why
                        );
                    }
                }
            }
            Some(crate::reload::Outcome::Failed { why, error }) => {
                summary.reloads_failed += 1;
                out.reloaded(false);
                eprintln!("lanner: reload after {why} failed, keeping the running rules: {error}");
            }
            None => {}
        }
        if n == 0 {
            // The ring buffer wakes nobody (no wakeup per record): poll it.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    if let Some(s) = shadow {
        s.flush().map_err(|source| LiveError::Write { source })?;
    }
    summary.drops = probe.drops()?;
    summary.malformed = probe.malformed();
    // Dropping the probe detaches every program and frees the maps.
    drop(probe);
    Ok(summary)
}

/// Opens the prefilter to what `next` needs before the swap, and closes what only the old rules
/// needed: a syscall the new rules need is never missing once they run. If opening fails the
/// prefilter is put back and the swap refused.
fn update_prefilter(
    probe: &mut Probe,
    wanted: &mut std::collections::BTreeSet<u32>,
    next: &RuleSet,
) -> Result<(), ProbeError> {
    let need: std::collections::BTreeSet<u32> =
        crate::interest::for_ruleset(next).into_iter().collect();
    let added: Vec<u32> = need.difference(wanted).copied().collect();
    for (i, s) in added.iter().enumerate() {
        if let Err(e) = probe.want(*s, true) {
            for undo in added.iter().take(i) {
                let _ = probe.want(*undo, false);
            }
            return Err(e);
        }
    }
    for s in wanted.difference(&need) {
        // A syscall left open only costs a little: not worth failing a reload for.
        let _ = probe.want(*s, false);
    }
    *wanted = need;
    Ok(())
}
