//! The kernel's verdict, proven sound over real events: for every shared capture and every rule
//! file of `../shared` (the three upstream files loaded together, the standard rules), each
//! syscall exit event is rebuilt as the record the `sys_exit` program writes (id, result, the
//! thread's uid and `comm`, the first copied string) and the emitted prefilter code is
//! interpreted on it (`lanner_ebpf::interp`), with the interest array of the same rules. Then:
//!
//! - an event the kernel would drop raises no alert (replayed with every event);
//! - replaying only the events the kernel passes raises exactly the same alerts (same event
//!   time, same rule): nothing a dropped event would have changed in the state is observed by
//!   any rule later (issue 11, point 3).
//!
//! Enter events and the events of threads the capture's state does not know pass (the kernel
//! ships no enter events, and an unknown thread's uid and `comm` cannot be rebuilt). The number
//! of events decided is counted, and a run that decides none fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lanner_ebpf::filter::{KernelFilter, filter_program};
use lanner_ebpf::programs::{MAX_SYSCALLS, RecordHeader, RecordKind, SyscallRecord};
use lanner_engine::ruleset::{RuleMatching, RuleSet};
use lanner_event::param::ParamValue;
use lanner_event::{Direction, ScapReader};
use lanner_state::{ContainerMatcher, Replay};

mod support;
use support::shared;

/// The rule sets checked: a name and its files, loaded together.
fn rule_sets() -> Vec<(String, Vec<PathBuf>)> {
    let up = shared().join("upstream-rules");
    let mut sets = vec![
        (
            "upstream".to_owned(),
            [
                "falco_rules.yaml",
                "falco-incubating_rules.yaml",
                "falco-sandbox_rules.yaml",
            ]
            .iter()
            .map(|f| up.join(f))
            .collect(),
        ),
        (
            "stdlib".to_owned(),
            vec![
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../stdlib-rules/lanner_rules.yaml"),
            ],
        ),
    ];
    // Every other rule file of the reference data, on its own.
    let mut others = Vec::new();
    walk(&shared().join("scap"), &mut others);
    others.sort();
    for f in others {
        sets.push((f.display().to_string(), vec![f]));
    }
    sets
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

fn captures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(shared().join("scap/captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    // The repository's own live captures, if any.
    walk_scap(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        &mut out,
    );
    out.sort();
    out
}

fn walk_scap(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk_scap(&p, out);
        } else if p.extension().is_some_and(|x| x == "scap") {
            out.push(p);
        }
    }
}

fn compile(files: &[PathBuf]) -> Option<lanner_program::Program> {
    let sources = files
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap()))
        .collect();
    lanner_check::driver::compile(sources).ok()
}

fn int(v: ParamValue<'_>) -> Option<i64> {
    match v {
        ParamValue::Errno(x) | ParamValue::Fd(x) | ParamValue::Pid(x) | ParamValue::Int64(x) => {
            Some(x)
        }
        ParamValue::Int32(x) => Some(i64::from(x)),
        ParamValue::Uint64(x) => i64::try_from(x).ok(),
        ParamValue::Uint32(x) => Some(i64::from(x)),
        _ => None,
    }
}

/// What one rule set × capture run found.
#[derive(Default)]
struct Outcome {
    decided: u64,
    dropped: u64,
    violations: Vec<String>,
}

struct Kernel {
    filter: lanner_ebpf::asm::BpfProgram,
    interest: BTreeSet<u32>,
    by_name: BTreeMap<&'static str, u32>,
}

impl Kernel {
    /// The kernel's verdict on `ev` in `replay`'s state after it, or `None` when undecided.
    fn passes(&self, ev: &lanner_event::Event<'_>, replay: &Replay) -> Option<bool> {
        if ev.direction() != Direction::Exit {
            return None;
        }
        let name = ev.info()?.name;
        let &id = self.by_name.get(name)?;
        let t = replay.state.thread(ev.tid())?;
        if !self.interest.contains(&id) {
            return Some(false);
        }
        let ret = ev
            .param_by_name("res")
            .or_else(|| ev.param(0))
            .and_then(|p| p.decode().ok())
            .and_then(int)
            .unwrap_or(0);
        let mut comm = [0u8; 16];
        let n = t.comm.len().min(15);
        comm[..n].copy_from_slice(&t.comm[..n]);
        let mut item = Vec::new();
        if let Some((_, param)) = lanner_prefilter::copied_strings(name).first()
            && let Some(p) = ev.param_by_name(param)
        {
            let raw = p.raw.strip_suffix(&[0]).unwrap_or(p.raw);
            if !raw.is_empty() {
                item.extend_from_slice(raw);
                item.push(0);
            }
        }
        let rec = SyscallRecord {
            header: RecordHeader {
                kind: RecordKind::Syscall,
                cpu: 0,
                ktime_ns: 0,
                pid: 1,
                tgid: 1,
                uid: t.uid,
                gid: t.gid,
            },
            id: i64::from(id),
            ret,
            args: [0; 6],
            comm,
            item_lens: [0; 4],
            plan: 0,
        };
        let mut bytes = rec.to_bytes(&[&item]);
        bytes.resize(
            lanner_ebpf::programs::syscall_layout::MAX_SIZE as usize,
            0xaa,
        );
        let verdict = lanner_ebpf::interp::run(self.filter.insns(), &mut bytes).unwrap();
        Some(verdict == 1)
    }
}

/// Alerts as (event time, rule) of a replay of `path` without the records at `skip` (1-based).
fn replay_without(path: &Path, ruleset: &RuleSet, skip: &BTreeSet<u64>) -> Vec<(u64, usize)> {
    let mut reader = ScapReader::open(path).unwrap();
    let mut replay = Replay::new(ContainerMatcher::default());
    let mut alerts = Vec::new();
    let mut out = Vec::new();
    let mut index = 0u64;
    while let Some(rec) = reader.next_record().unwrap() {
        index += 1;
        if skip.contains(&index) {
            continue;
        }
        if let Some(d) = replay.record_borrowed(&rec)
            && d.delivered
            && let Some(ev) = replay.event_for(&rec)
        {
            ruleset.evaluate(&ev, &replay.state, d.num, RuleMatching::All, &mut alerts);
            out.extend(alerts.drain(..).map(|a| (ev.ts(), a.rule)));
        }
    }
    out
}

fn check(path: &Path, ruleset: &RuleSet, kernel: &Kernel) -> Outcome {
    let mut outcome = Outcome::default();
    // The full replay, deciding every exit event in the state after it.
    let mut reader = ScapReader::open(path).unwrap();
    let mut full = Replay::new(ContainerMatcher::default());
    let mut alerts = Vec::new();
    let mut dropped_at: BTreeSet<u64> = BTreeSet::new();
    let mut all = Vec::new();
    let mut index = 0u64;
    while let Some(rec) = reader.next_record().unwrap() {
        index += 1;
        if let Some(d) = full.record_borrowed(&rec)
            && d.delivered
            && let Some(ev) = full.event_for(&rec)
        {
            ruleset.evaluate(&ev, &full.state, d.num, RuleMatching::All, &mut alerts);
            let verdict = kernel.passes(&ev, &full);
            if verdict.is_some() {
                outcome.decided += 1;
            }
            if verdict == Some(false) {
                outcome.dropped += 1;
                dropped_at.insert(index);
                for a in &alerts {
                    outcome.violations.push(format!(
                        "{}: event {index} ({}) is dropped in the kernel but raises `{}`",
                        path.display(),
                        ev.info().map_or("?", |i| i.name),
                        ruleset.rules[a.rule].name
                    ));
                }
            }
            all.extend(alerts.drain(..).map(|a| (ev.ts(), a.rule)));
        }
    }
    // Only what the kernel passes.
    let passed = replay_without(path, ruleset, &dropped_at);
    if passed != all {
        let a: BTreeSet<_> = all.iter().collect();
        let b: BTreeSet<_> = passed.iter().collect();
        let names = |s: Vec<&&(u64, usize)>| -> Vec<String> {
            s.iter()
                .map(|(ts, r)| format!("{} at {ts}", ruleset.rules[*r].name))
                .collect()
        };
        outcome.violations.push(format!(
            "{}: the events the kernel passes raise other alerts: missing {:?}, extra {:?}",
            path.display(),
            names(a.difference(&b).collect()),
            names(b.difference(&a).collect())
        ));
    }
    outcome
}

#[test]
fn the_kernel_drops_nothing_a_rule_observes() {
    let mut by_name = BTreeMap::new();
    for id in 0..MAX_SYSCALLS {
        if let Some(n) = lanner_ebpf::convert::syscall_name(i64::from(id)) {
            by_name.entry(n).or_insert(id);
        }
    }
    let captures = captures();
    assert!(captures.len() >= 10, "captures: {captures:?}");
    let (mut decided, mut dropped, mut sets) = (0u64, 0u64, 0usize);
    let mut violations = Vec::new();
    for (name, files) in rule_sets() {
        // Reference rule files that do not compile (the validation cases of Falco's own
        // checker) have no kernel part to check.
        let Some(program) = compile(&files) else {
            continue;
        };
        sets += 1;
        let (ruleset, _) =
            RuleSet::from_program(&program, lanner_engine::program::OutputOptions::default());
        let filter = KernelFilter::from_lowered(&lanner_prefilter::lower(&program));
        let kernel = Kernel {
            filter: filter_program(&filter, false).unwrap(),
            interest: lanner::interest::for_ruleset(&ruleset)
                .into_iter()
                .collect(),
            by_name: by_name.clone(),
        };
        for c in &captures {
            let o = check(c, &ruleset, &kernel);
            decided += o.decided;
            dropped += o.dropped;
            violations.extend(o.violations.into_iter().map(|v| format!("[{name}] {v}")));
        }
    }
    eprintln!(
        "{sets} rule set(s) × {} capture(s): {decided} event(s) decided, {dropped} dropped, {} violation(s)",
        captures.len(),
        violations.len()
    );
    assert!(sets >= 3, "rule sets compiled: {sets}");
    // Not vacuous: events are decided and some are dropped.
    assert!(decided > 0, "no event decided");
    assert!(dropped > 0, "no event dropped");
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
