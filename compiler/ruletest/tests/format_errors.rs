//! Broken test files give located diagnostics with the L5xx codes, and keep the good cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lanner_ruletest::{format, synth};
use lanner_syntax::span::FileId;

const BROKEN: &str = r#"
rules: [r.yaml]
proces: {name: bash}
cases:
  - name: fine
    events: [{syscall: openat, fd: {num: 3, file: /etc/passwd}}]
    expect: [Some rule]
  - name: no events
  - events: [{syscall: execve}]
  - name: bad values
    process: {pid: lots}
    events:
      - {syscall: openat, fd: {num: 3}}
      - {syscall: frobnicate}
      - {syscall: openat, params: {flagz: O_RDONLY, flags: O_NOPE}}
"#;

#[test]
fn every_problem_is_located_and_good_cases_are_kept() {
    let (t, diags) = format::load(FileId(0), BROKEN);
    let codes: Vec<_> = diags.iter().map(|d| d.code.id).collect();
    assert!(codes.contains(&"L502"), "{codes:?}"); // proces
    assert!(codes.contains(&"L501"), "{codes:?}"); // no events, no name, fd without kind
    assert!(codes.contains(&"L503"), "{codes:?}"); // pid: lots
    for d in &diags {
        assert!(d.primary.span.end as usize <= BROKEN.len());
        assert!(!d.message.is_empty());
    }
    let names: Vec<_> = t.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["fine", "bad values"]);
    let bad = &t.cases[1];
    let s = synth::synthesize(&t, bad).unwrap();
    let codes: Vec<_> = s.diagnostics.iter().map(|d| d.code.id).collect();
    assert!(codes.contains(&"L504"), "{codes:?}"); // frobnicate
    assert!(codes.contains(&"L505"), "{codes:?}"); // flagz
    assert!(codes.contains(&"L503"), "{codes:?}"); // O_NOPE
    // The events that could be written were written.
    assert_eq!(s.events, 2);
}
