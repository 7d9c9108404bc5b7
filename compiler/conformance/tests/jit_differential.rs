//! The JIT against the interpreter: every rule file set below, on every shared capture and the
//! live one, in both `rule_matching` modes. Per event, the alerts (rule and event) must be the
//! same, and every node the JIT memoised must have the value the interpreter gives the same
//! node. Any difference is a bug in one of the two.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::PathBuf;

use lanner_engine::ruleset::{RuleMatching, RuleSet};
use lanner_jit::Jit;
use lanner_program::Program;
use lanner_state::{ContainerMatcher, Replay};

fn shared() -> PathBuf {
    lanner_testkit::shared()
}

fn program(files: &[PathBuf]) -> Program {
    let sources = files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(p).unwrap())
        })
        .collect();
    lanner_check::driver::compile(sources).unwrap_or_else(|_| panic!("{files:?} do not check"))
}

fn ruleset(p: &Program) -> RuleSet {
    RuleSet::from_program(
        p,
        lanner_engine::program::OutputOptions {
            suggested_output: false,
        },
    )
    .0
}

fn captures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(shared().join("scap/captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scap"))
        .collect();
    out.sort();
    out.push(shared().join("scap/modern/workload_live_6.18.scap"));
    out
}

/// Replays every capture through both engines; returns (events, alerts) compared.
fn check(files: &[PathBuf]) -> (u64, u64) {
    let p = program(files);
    let interp = ruleset(&p);
    let mut jit_rs = ruleset(&p);
    let jit = Jit::compile(&p, &jit_rs).unwrap();
    // A second compiled copy, kept outside the rule set, whose memo the test reads.
    let probe = Jit::compile(&p, &interp).unwrap();
    Jit::install(&p, &mut jit_rs).unwrap();
    drop(jit);
    assert_eq!(jit_rs.engine(), "jit");
    let (mut events, mut compared) = (0u64, 0u64);
    for capture in captures() {
        for matching in [RuleMatching::First, RuleMatching::All] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            Replay::run_file(&capture, ContainerMatcher::falco(), |ev, st, num| {
                events += 1;
                interp.evaluate(ev, st, num, matching, &mut a);
                jit_rs.evaluate(ev, st, num, matching, &mut b);
                let left: Vec<(usize, String)> = a.drain(..).map(|x| (x.rule, x.message)).collect();
                let right: Vec<(usize, String)> =
                    b.drain(..).map(|x| (x.rule, x.message)).collect();
                assert_eq!(
                    left,
                    right,
                    "{} event {num} ({matching:?}): interpreter vs JIT",
                    capture.display()
                );
                compared += left.len() as u64;
                // Per-node truth values: what the JIT memoised, against the interpreter.
                let mut hits = Vec::new();
                lanner_engine::ruleset::Matcher::matches(&probe, ev, st, matching, &mut hits);
                let mut fields = interp.accessors().on(ev, st);
                for (node, value) in probe.memo_values() {
                    let (expr, node_fields) = lanner_engine::program::condition(&p, node);
                    let (acc, _) = lanner_engine::state::Accessors::compile(&node_fields);
                    let mut f = acc.on(ev, st);
                    assert_eq!(
                        lanner_engine::eval(&expr, &mut f),
                        value,
                        "{} event {num}: node {} = {}",
                        capture.display(),
                        node.0,
                        p.print(node)
                    );
                }
                let _ = &mut fields;
            })
            .unwrap();
        }
    }
    (events, compared)
}

#[test]
fn upstream_stable_rules() {
    let up = shared().join("upstream-rules");
    let (events, alerts) = check(&[up.join("falco_rules.yaml")]);
    eprintln!("upstream stable: {events} events, {alerts} alerts equal");
    assert!(events > 0 && alerts > 0);
}

#[test]
fn upstream_all_and_probe_rules() {
    let up = shared().join("upstream-rules");
    let (events, alerts) = check(&[
        up.join("falco_rules.yaml"),
        up.join("falco-incubating_rules.yaml"),
        up.join("falco-sandbox_rules.yaml"),
        shared().join("scap/oracle-falco/probe_rules.yaml"),
    ]);
    eprintln!("upstream + probe: {events} events, {alerts} alerts equal");
    assert!(events > 0 && alerts > 0);
}

#[test]
fn filter_rules() {
    let (events, alerts) = check(&[shared().join("scap/oracle-falco/filter_rules.yaml")]);
    eprintln!("filter rules: {events} events, {alerts} alerts equal");
    assert!(events > 0 && alerts > 0);
}
