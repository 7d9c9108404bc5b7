//! Arbitrary rule files through the front end and the JIT, run on a shared capture: the
//! checker must answer every input with diagnostics (never a panic), and for every input that
//! checks, the JIT must compile it and raise exactly the interpreter's alerts on every event.
//!
//! `cargo +nightly fuzz run rules_jit fuzz/corpus/rules_jit -- -runs=N` (from the repository
//! root; the corpus is seeded with small rule files, see fuzz/README.md).

#![no_main]

use std::sync::OnceLock;

use lanner_engine::ruleset::{RuleMatching, RuleSet};
use lanner_event::ScapSliceReader;
use lanner_state::{ContainerMatcher, Replay};
use libfuzzer_sys::fuzz_target;

fn capture() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/scap/captures/open-multiple-files.scap"
        );
        std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let Ok(program) = lanner_check::driver::compile(vec![("fuzz.yaml".into(), text)]) else {
        return;
    };
    let opts = lanner_engine::program::OutputOptions {
        suggested_output: false,
    };
    let interp = RuleSet::from_program(&program, opts).0;
    let mut jit = RuleSet::from_program(&program, opts).0;
    if let Err(e) = lanner_jit::Jit::install(&program, &mut jit) {
        panic!("a program that checks does not compile: {e}");
    }
    let mut replay = Replay::new(ContainerMatcher::falco());
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for rec in ScapSliceReader::new(capture()) {
        let Ok(rec) = rec else { return };
        if let Some(d) = replay.record(&rec)
            && d.delivered
            && let Some(ev) = replay.event()
        {
            for m in [RuleMatching::First, RuleMatching::All] {
                interp.evaluate(&ev, &replay.state, d.num, m, &mut a);
                jit.evaluate(&ev, &replay.state, d.num, m, &mut b);
                let left: Vec<(usize, &str)> = a.iter().map(|x| (x.rule, x.message.as_str())).collect();
                let right: Vec<(usize, &str)> = b.iter().map(|x| (x.rule, x.message.as_str())).collect();
                assert_eq!(left, right, "event {}: interpreter and JIT disagree", d.num);
                a.clear();
                b.clear();
            }
        }
    }
});
