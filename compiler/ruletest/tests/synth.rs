//! Test files load without problems, and every case becomes a capture that the scap reader
//! reads back with the process chain, the fds and the events as described.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use lanner_event::{ParamValue, Record, ScapSliceReader};
use lanner_ruletest::{format, synth};
use lanner_syntax::span::FileId;

fn stdlib_test() -> String {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../stdlib-rules/lanner_rules.test.yaml");
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn stdlib_test_file_loads_cleanly() {
    let (t, diags) = format::load(FileId(0), &stdlib_test());
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(t.rules.len(), 1);
    assert!(t.cases.len() >= 24, "{} cases", t.cases.len());
    // Every rule of the file is the subject of a positive and a negative case.
    let fired: std::collections::BTreeSet<_> = t
        .cases
        .iter()
        .flat_map(|c| c.expect.iter().map(|e| e.rule.node.clone()))
        .collect();
    let quiet: std::collections::BTreeSet<_> = t
        .cases
        .iter()
        .flat_map(|c| c.quiet.iter().map(|q| q.node.clone()))
        .collect();
    assert!(fired.len() >= 12, "{fired:?}");
    assert_eq!(
        fired, quiet,
        "every rule needs a positive and a negative case"
    );
}

#[test]
fn every_case_becomes_a_readable_capture() {
    let (t, _) = format::load(FileId(0), &stdlib_test());
    for case in &t.cases {
        let s = synth::synthesize(&t, case).unwrap();
        assert!(
            s.diagnostics.is_empty(),
            "{}: {:#?}",
            case.name,
            s.diagnostics
        );
        assert_eq!(s.events, case.events.len(), "{}", case.name);
        let mut threads = 0;
        let mut events = Vec::new();
        for rec in ScapSliceReader::new(&s.capture) {
            match rec.unwrap() {
                Record::ProcessList(pl) => threads += pl.threads().count(),
                // A case with container metadata starts with the container's JSON event.
                Record::Event(e)
                    if e.name_in(lanner_event::TableVersion::Current) == Some("container") => {}
                Record::Event(e) => events.push(e),
                _ => {}
            }
        }
        assert!(threads >= 2, "{}: process and parents", case.name);
        assert_eq!(events.len(), case.events.len(), "{}", case.name);
        for (ev, spec) in events.iter().zip(&case.events) {
            assert_eq!(
                ev.name_in(lanner_event::TableVersion::Current),
                Some(spec.syscall.node.as_str()),
                "{}",
                case.name
            );
            // Every parameter decodes by its declared type.
            for i in 0..ev.nparams() {
                ev.decode(i)
                    .unwrap_or_else(|e| panic!("{}: param {i}: {e}", case.name));
            }
        }
    }
}

#[test]
fn execve_carries_the_process() {
    let (t, _) = format::load(FileId(0), &stdlib_test());
    let case = t
        .cases
        .iter()
        .find(|c| c.name.starts_with("a shell started by nginx"))
        .unwrap();
    let s = synth::synthesize(&t, case).unwrap();
    let mut seen = false;
    for rec in ScapSliceReader::new(&s.capture) {
        if let Record::Event(e) = rec.unwrap() {
            let info = e.info().unwrap();
            let exe = info.param_index("exe").unwrap();
            assert_eq!(e.decode(exe).unwrap(), ParamValue::Str(b"/usr/bin/bash"));
            let comm = info.param_index("comm").unwrap();
            assert_eq!(e.decode(comm).unwrap(), ParamValue::Str(b"bash"));
            let ptid = info.param_index("ptid").unwrap();
            assert_eq!(e.decode(ptid).unwrap(), ParamValue::Pid(80));
            seen = true;
        }
    }
    assert!(seen);
}
