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

/// Each problem of a diagnostic list, one line each: code, line:column, the text at fault,
/// the message, the label and the help.
fn located(text: &str, diags: &[lanner_syntax::diagnostic::Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let start = d.primary.span.start as usize;
        let end = d.primary.span.end as usize;
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let col = start - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        out.push_str(&format!(
            "{} {line}:{col} `{}`: {} [{}] help: {}\n",
            d.code.id,
            &text[start..end],
            d.message,
            d.label,
            d.help.as_deref().unwrap_or("")
        ));
    }
    out
}

/// The format's extensions (container metadata, capabilities, exe flags, unknown
/// threads, byte values): every bad value is a located diagnostic at the value, and the cases stay.
#[test]
fn extension_errors_are_located() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/extensions_errors.test.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let (t, diags) = format::load(FileId(0), &text);
    assert_eq!(t.cases.len(), 7);
    insta::with_settings!({
        snapshot_path => "../../../tests/snapshots/ruletest",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("extension_errors", located(&text, &diags));
    });
}
