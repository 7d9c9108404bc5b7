//! Whole rules files: YAML loading, every condition and output parsed, and the invariants
//! later stages rely on (spans inside the file, on char boundaries).
#![no_main]

use lanner_syntax::front::parse_file;
use lanner_syntax::span::FileId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (_parsed, diags) = parse_file(FileId(0), text);
    for d in &diags {
        let r = d.primary.span.range();
        assert!(r.start <= r.end && r.end <= text.len(), "span out of the file");
    }
});
