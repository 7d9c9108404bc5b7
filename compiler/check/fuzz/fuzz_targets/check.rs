//! The whole checker on arbitrary rules files: loading, list substitution, macro expansion,
//! exceptions, type checking, event types, the shared program and the lints never panic, and
//! every diagnostic points inside a loaded file.
#![no_main]

use lanner_check::driver::check_sources;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Two files, so that cross-file appends and overrides are exercised too.
    let (a, b) = match text.split_at_checked(text.len() / 2) {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (text.to_string(), String::new()),
    };
    let checked = check_sources(vec![("a.yaml".into(), a), ("b.yaml".into(), b)]);
    for d in &checked.diagnostics {
        let file = checked.db.get(d.primary.file).expect("diagnostic in a loaded file");
        assert!(d.primary.span.range().end <= file.text.len(), "span outside the file");
    }
});
