//! Helpers shared by the two differential oracle tests (`oracle.rs` against Falco 0.44.1,
//! `sysdig_oracle.rs` against sysdig 0.29): how an oracle's JSON value reads as text, the
//! per-(capture, field) tally, and the file that lists the accepted disagreements.
#![allow(dead_code, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use serde_json::Value as Json;

/// The oracles' JSON output: strings as text, numbers and booleans as JSON scalars, `null` when
/// the field does not resolve.
pub fn oracle_text(v: &Json) -> Option<String> {
    match v {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// How many disagreeing examples to keep per pair: `LANNER_DIFF_EXAMPLES`, else `default`.
pub fn examples_wanted(default: usize) -> usize {
    std::env::var("LANNER_DIFF_EXAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Agreement of one (capture, field) pair, with the first few disagreements as examples.
#[derive(Default)]
pub struct Tally {
    pub agree: u64,
    pub total: u64,
    pub examples: Vec<String>,
}

impl Tally {
    /// Counts one comparison; `example` is rendered only when it is kept.
    pub fn record(&mut self, same: bool, keep: usize, example: impl FnOnce() -> String) {
        self.total += 1;
        if same {
            self.agree += 1;
        } else if self.examples.len() < keep {
            self.examples.push(example());
        }
    }
}

/// Reads a list of accepted disagreements, `tests/NAME`: lines of
/// `capture<TAB>field<TAB>count<TAB>reason`; `#` starts a comment line. Every line needs a
/// reason and a pair may be listed once.
pub fn listed_disagreements(name: &str) -> HashMap<(String, String), u64> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    let text = fs::read_to_string(&path).expect("list of accepted disagreements");
    let mut out = HashMap::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.splitn(4, '\t').collect();
        assert!(cols.len() == 4, "bad line in {name}: {line}");
        let count: u64 = cols[2].trim().parse().expect("count");
        assert!(
            !cols[3].trim().is_empty(),
            "every listed disagreement needs a reason: {line}"
        );
        let key = (cols[0].trim().to_owned(), cols[1].to_owned());
        assert!(
            out.insert(key, count).is_none(),
            "listed twice in {name}: {}\t{}",
            cols[0],
            cols[1]
        );
    }
    out
}
