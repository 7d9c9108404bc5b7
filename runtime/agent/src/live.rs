//! `lanner run`: the live agent. Generates the eBPF object for the running kernel, loads and
//! attaches it with the prefilter set from the rules, takes the existing processes and fds from
//! /proc, and evaluates the rules on every event the kernel ships, printing alerts as `lanner
//! replay` does. SIGINT and SIGTERM detach everything and end the run cleanly.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use std::collections::{BTreeMap, BTreeSet};

use lanner_ebpf::convert::Converter;
use lanner_ebpf::filter::KernelFilter;
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
    /// The rule prefilter compiled into the `sys_exit` program ([`KernelFilter::none`] for
    /// `--prefilter syscalls` and `off`).
    pub kernel: KernelFilter,
}

/// `--prefilter`: what the kernel ships.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PrefilterMode {
    /// The syscalls the rules and the state need, and of those the events the rules' kernel
    /// part ([`lanner_prefilter`]) or the state may need.
    #[default]
    Rules,
    /// Every event of the syscalls the rules and the state need (the interest array alone).
    Syscalls,
    /// Every event the capture plans cover.
    Off,
}

impl PrefilterMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PrefilterMode::Rules => "rules",
            PrefilterMode::Syscalls => "syscalls",
            PrefilterMode::Off => "off",
        }
    }
}

/// What the in-kernel prefilter did with one syscall's events, summed over CPUs. "Seen" counts
/// the events of the syscalls the interest array wants (the others cost the kernel one array
/// lookup and are not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefilterCount {
    pub seen: u64,
    pub dropped: u64,
}

impl PrefilterCount {
    pub fn passed(&self) -> u64 {
        self.seen.saturating_sub(self.dropped)
    }
}

/// The prefilter's counters of every syscall the probe may have let through, by syscall name.
fn read_prefilter(probe: &Probe, ids: &BTreeSet<u32>) -> BTreeMap<String, PrefilterCount> {
    let mut out: BTreeMap<String, PrefilterCount> = BTreeMap::new();
    for &id in ids {
        let Ok((seen, dropped)) = probe.prefilter_counts(id) else {
            continue;
        };
        if seen == 0 {
            continue;
        }
        let name = lanner_ebpf::convert::syscall_name(i64::from(id))
            .map_or_else(|| format!("syscall_{id}"), str::to_owned);
        let c = out.entry(name).or_default();
        c.seen += seen;
        c.dropped += dropped;
    }
    out
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
    /// The in-kernel prefilter's counters at stop, by syscall name.
    pub prefilter: BTreeMap<String, PrefilterCount>,
}

impl LiveSummary {
    /// The `--stats-json` document: `{"prefilter":{"seen","passed","dropped","by_type":{..}},
    /// "events","alerts","drops"}` (a contract: these keys stay).
    pub fn stats_json(&self) -> serde_json::Value {
        let mut by_type = serde_json::Map::new();
        let (mut seen, mut dropped) = (0u64, 0u64);
        for (name, c) in &self.prefilter {
            seen += c.seen;
            dropped += c.dropped;
            by_type.insert(
                name.clone(),
                serde_json::json!({"seen": c.seen, "passed": c.passed(), "dropped": c.dropped}),
            );
        }
        serde_json::json!({
            "prefilter": {
                "seen": seen,
                "passed": seen.saturating_sub(dropped),
                "dropped": dropped,
                "by_type": by_type,
            },
            "events": self.alerts.events,
            "alerts": self.alerts.alerts,
            "drops": self.drops,
        })
    }
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
    let mut probe = Probe::start_with(ObjectOptions::default(), syscalls, &options.kernel)?;
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
    let mut wanted: BTreeSet<u32> = syscalls.iter().copied().collect();
    // Every syscall the interest array ever let through, for the counters.
    let mut counted: BTreeSet<u32> = wanted.clone();
    let mut shadow_error = None;
    let me = i64::from(std::process::id());
    let started = Instant::now();
    let mut num = 0u64;
    let mut write_error = None;
    let mut last_tick = Instant::now();
    let mut last_counts = Instant::now();
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
            // One map lookup per syscall, and each is a `bpf` syscall the state engine wants:
            // not at every tick.
            if last_counts.elapsed() >= Duration::from_secs(2) {
                last_counts = Instant::now();
                out.prefilter(&read_prefilter(&probe, &counted));
            }
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
                match update_prefilter(
                    &mut probe,
                    &mut wanted,
                    &swap.ruleset,
                    &options.kernel,
                    &swap.kernel,
                ) {
                    Ok(unfiltered) => {
                        counted.extend(wanted.iter().copied());
                        if unfiltered > 0 {
                            eprintln!(
                                "lanner: the reloaded rules need other events of {unfiltered} syscall(s) than the kernel's rule prefilter passes: those pass unfiltered until the agent restarts"
                            );
                        }
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
    summary.prefilter = read_prefilter(&probe, &counted);
    summary.malformed = probe.malformed();
    // Dropping the probe detaches every program and frees the maps.
    drop(probe);
    Ok(summary)
}

/// Opens the prefilter to what `next` needs before the swap, and closes what only the old rules
/// needed: a syscall the new rules need is never missing once they run. The rule prefilter is
/// compiled into the running program (`running`): a syscall whose formula for the new rules
/// (`next_kernel`) differs passes unfiltered, which is sound for any rules. If opening fails
/// the prefilter is put back and the swap refused. Returns how many syscalls pass unfiltered.
fn update_prefilter(
    probe: &mut Probe,
    wanted: &mut BTreeSet<u32>,
    next: &RuleSet,
    running: &KernelFilter,
    next_kernel: &KernelFilter,
) -> Result<usize, ProbeError> {
    use lanner_ebpf::programs::interest;
    let need: BTreeSet<u32> = crate::interest::for_ruleset(next).into_iter().collect();
    let value = |s: u32| {
        if running.formula(s) == next_kernel.formula(s) {
            interest::FILTERED
        } else {
            interest::UNFILTERED
        }
    };
    // INVARIANT: every syscall the new rules need is set (wanted, filtered only by a formula
    // equal to theirs) before they run.
    for (i, s) in need.iter().enumerate() {
        if let Err(e) = probe.set_interest(*s, value(*s)) {
            for undo in need.iter().take(i) {
                let back = if wanted.contains(undo) {
                    interest::FILTERED
                } else {
                    interest::NONE
                };
                let _ = probe.set_interest(*undo, back);
            }
            return Err(e);
        }
    }
    let unfiltered = need
        .iter()
        .filter(|s| running.by_syscall.contains_key(s) && value(**s) == interest::UNFILTERED)
        .count();
    for s in wanted.difference(&need) {
        // A syscall left open only costs a little: not worth failing a reload for.
        let _ = probe.want(*s, false);
    }
    *wanted = need;
    Ok(unfiltered)
}
