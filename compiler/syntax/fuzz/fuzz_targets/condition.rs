//! Condition text alone: parsing never panics, every span stays inside the text, and the
//! printer copes with every tree, holes included.
#![no_main]

use lanner_syntax::condition::{OffsetMap, parse, print::canonical};
use lanner_syntax::span::FileId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let map = OffsetMap { file: FileId(0), base: 0 };
    let (expr, diags) = parse(text, &map, 100);
    for d in &diags {
        let r = d.primary.span.range();
        assert!(r.start <= r.end && r.end <= text.len(), "span out of the text");
    }
    let _ = canonical(&expr);
});
