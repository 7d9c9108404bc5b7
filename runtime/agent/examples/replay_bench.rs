//! Where a replay's time goes, all in one run so the figures compare:
//! `cargo run --release -p lanner --example replay_bench [-- CAPTURE [ROUNDS]]`.
//!
//! The capture defaults to `$LANNER_BIG_SCAP` or `/work/data/big.scap` (built with
//! `../shared/scap/tools/make_big.py` as `../shared/scap/oracle-falco/perf/` describes). Each
//! configuration replays the whole capture in this process, best of ROUNDS (default 5):
//!
//! 1. reading only (blocks decoded, nothing else), then reading + converter + state (no rules);
//! 2. the never-matching rule of the Falco baseline, then the 81 upstream rules, with the
//!    interpreter and the JIT: rule cost per event = (81 rules − never) / delivered events;
//! 3. scaling: 25 (falco_rules.yaml), 81 (the three files), 810 (ten copies of the three files
//!    with every rule, macro and list renamed), per engine;
//! 4. `rulec check` time of the upstream files (the front end) beside the JIT compile time.
//!
//! Peak RSS needs one process per configuration: measure `lanner replay` with
//! `/usr/bin/time -f %M` instead.

// A benchmark, not an input path: a failure here should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use lanner_engine::ruleset::{RuleMatching, RuleSet};
use lanner_event::ScapReader;
use lanner_program::Program;
use lanner_state::{ContainerMatcher, Replay};

const UPSTREAM: [&str; 3] = [
    "falco_rules.yaml",
    "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml",
];

fn upstream_dir() -> PathBuf {
    lanner_testkit::shared().join("upstream-rules")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(upstream_dir().join(name)).unwrap()
}

/// Names declared by `- rule:`, `- macro:` and `- list:` lines.
fn declared(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            ["- macro:", "- list:"]
                .iter()
                .find_map(|k| l.strip_prefix(k))
                .map(|n| n.trim().to_owned())
        })
        .collect()
}

/// One renamed copy: every macro and list name (as a whole word) and every rule name gets
/// the suffix `_cN`, so that nothing is shared by name with the other copies.
fn renamed(text: &str, names: &BTreeSet<String>, n: usize) -> String {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("- rule:") {
            out.push_str(&format!("- rule: {} c{n}\n", name.trim()));
            continue;
        }
        let mut rest = line;
        while !rest.is_empty() {
            let start = rest.find(word).unwrap_or(rest.len());
            out.push_str(&rest[..start]);
            rest = &rest[start..];
            let end = rest.find(|c: char| !word(c)).unwrap_or(rest.len());
            let w = &rest[..end];
            out.push_str(w);
            // `container.id` is a field, not the macro `container`.
            let field = rest[end..].starts_with('.') || out[..out.len() - w.len()].ends_with('.');
            if names.contains(w) && !field {
                out.push_str(&format!("_c{n}"));
            }
            rest = &rest[end..];
        }
        out.push('\n');
    }
    out
}

fn compile(sources: Vec<(String, String)>) -> (Program, f64) {
    let t = Instant::now();
    let p = lanner_check::driver::compile(sources)
        .unwrap_or_else(|d| panic!("{:?}", d.errors().map(|e| &e.message).collect::<Vec<_>>()));
    (p, t.elapsed().as_secs_f64())
}

fn upstream_sources(files: &[&str]) -> Vec<(String, String)> {
    files.iter().map(|f| (f.to_string(), read(f))).collect()
}

fn copies(n: usize) -> Vec<(String, String)> {
    let texts: Vec<(String, String)> = upstream_sources(&UPSTREAM);
    let mut names = BTreeSet::new();
    for (_, t) in &texts {
        names.extend(declared(t));
    }
    // Macros named after an event type (`rename`, `mkdir`, ...) keep their name: their own
    // conditions compare `evt.type` with the same word. Every copy redefines them alike.
    for info in lanner_event::table::TableVersion::Current.events() {
        names.remove(info.name);
    }
    (0..n)
        .flat_map(|k| {
            texts
                .iter()
                .map(|(f, t)| (format!("c{k}/{f}"), renamed(t, &names, k)))
                .collect::<Vec<_>>()
        })
        .collect()
}

struct Engines {
    rules: usize,
    interp: RuleSet,
    jit: RuleSet,
    jit_ms: f64,
}

fn engines(p: &Program) -> Engines {
    let opts = lanner_engine::program::OutputOptions {
        suggested_output: false,
    };
    let interp = RuleSet::from_program(p, opts).0;
    let mut jit = RuleSet::from_program(p, opts).0;
    let t = Instant::now();
    lanner_jit::Jit::install(p, &mut jit).unwrap();
    let jit_ms = t.elapsed().as_secs_f64() * 1e3;
    let rules = interp.rules.len();
    Engines {
        rules,
        interp,
        jit,
        jit_ms,
    }
}

/// What to run per delivered event.
#[derive(Clone, Copy)]
enum Stage<'r> {
    Read,
    State,
    Rules(&'r RuleSet),
}

/// One replay of the capture; returns (seconds, delivered events, alerts).
fn replay(path: &Path, stage: Stage<'_>) -> (f64, u64, u64) {
    let t = Instant::now();
    let mut reader = ScapReader::open(path).unwrap();
    let (mut delivered, mut alerts) = (0u64, 0u64);
    let mut out = Vec::new();
    let mut replay = Replay::new(ContainerMatcher::falco());
    while let Some(rec) = reader.next_record().unwrap() {
        match stage {
            Stage::Read => {
                if matches!(rec, lanner_event::Record::Event(_)) {
                    delivered += 1;
                }
            }
            Stage::State | Stage::Rules(_) => {
                if let Some(d) = replay.record_borrowed(&rec)
                    && d.delivered
                    && let Some(ev) = replay.event_for(&rec)
                {
                    delivered += 1;
                    if let Stage::Rules(rs) = stage {
                        rs.evaluate(&ev, &replay.state, d.num, RuleMatching::First, &mut out);
                        alerts += out.len() as u64;
                        out.clear();
                    }
                }
            }
        }
    }
    (t.elapsed().as_secs_f64(), delivered, alerts)
}

fn best(path: &Path, stage: Stage<'_>, rounds: usize) -> (f64, u64, u64) {
    (0..rounds)
        .map(|_| replay(path, stage))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path: PathBuf = args
        .next()
        .or_else(|| std::env::var("LANNER_BIG_SCAP").ok())
        .unwrap_or_else(|| "/work/data/big.scap".to_owned())
        .into();
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    assert!(path.is_file(), "no capture at {}", path.display());

    let (p25, check25) = compile(upstream_sources(&UPSTREAM[..1]));
    let (p81, check81) = compile(upstream_sources(&UPSTREAM));
    let (p810, check810) = compile(copies(10));
    let never_text = std::fs::read_to_string(
        lanner_testkit::shared().join("scap/oracle-falco/perf/never_rule.yaml"),
    )
    .unwrap();
    let (pnever, _) = compile(vec![("never_rule.yaml".into(), never_text)]);
    let (e25, e81, e810, enever) = (
        engines(&p25),
        engines(&p81),
        engines(&p810),
        engines(&pnever),
    );
    println!("capture {} (best of {rounds})", path.display());
    println!(
        "front end (`rulec check`): 25 rules {:.1} ms, 81 rules {:.1} ms, 810 rules {:.1} ms",
        check25 * 1e3,
        check81 * 1e3,
        check810 * 1e3
    );
    println!(
        "JIT compile: 25 rules {:.1} ms, {} rules {:.1} ms, {} rules {:.1} ms",
        e25.jit_ms, e81.rules, e81.jit_ms, e810.rules, e810.jit_ms
    );

    let (read_s, blocks, _) = best(&path, Stage::Read, rounds);
    let (state_s, events, _) = best(&path, Stage::State, rounds);
    println!(
        "reading: {:.3} s ({:.0} ns/event block, {blocks} event blocks)",
        read_s,
        read_s * 1e9 / blocks as f64
    );
    println!(
        "reading + converter + state: {:.3} s ({:.0} ns/delivered event, {events} delivered)",
        state_s,
        state_s * 1e9 / events as f64
    );
    let per = |s: f64| s * 1e9 / events as f64;
    let mut table = Vec::new();
    for (label, e) in [
        ("never", &enever),
        ("25", &e25),
        ("81", &e81),
        ("810", &e810),
    ] {
        let (i, _, ia) = best(&path, Stage::Rules(&e.interp), rounds);
        let (j, _, ja) = best(&path, Stage::Rules(&e.jit), rounds);
        assert_eq!(ia, ja, "{label}: alerts differ between engines");
        println!(
            "{label:>5} rules: interpreter {i:.3} s, JIT {j:.3} s ({:.2}×), alerts {ia}",
            i / j
        );
        table.push((label, i, j));
    }
    let (_, ni, nj) = table[0];
    println!("rule cost per delivered event (rules − never rule):");
    for (label, i, j) in &table[1..] {
        println!(
            "{label:>5} rules: interpreter {:.1} ns, JIT {:.1} ns",
            per(i - ni),
            per(j - nj)
        );
    }
    let (_, _, j81) = table[2];
    let (_, _, j810) = table[3];
    println!(
        "JIT per-event cost 81 → 810 rules: {:.2}× (whole replay), {:.2}× (rule share)",
        j810 / j81,
        (j810 - nj) / (j81 - nj)
    );
    println!(
        "shares of the 81-rule JIT replay: reading {:.0}%, converter + state {:.0}%, rules {:.0}%",
        100.0 * read_s / j81,
        100.0 * (state_s - read_s) / j81,
        100.0 * (j81 - state_s) / j81
    );
}
