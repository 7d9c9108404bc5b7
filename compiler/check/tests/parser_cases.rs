//! The checker against Falco's verdicts: every `compile`-stage and `evttypes`-stage case of
//! `shared/reference/parser_cases.json`.
//!
//! A case passes when Lanner reaches the same verdict as Falco (an error-severity diagnostic
//! exactly when Falco rejects the condition) and, for accepted `evttypes` cases, computes the
//! expected event-type set. Cases that still differ are listed with a reason in
//! `parser_cases_exceptions.txt`; the test fails on an unlisted failure and on a listed case
//! that passes, so the list can only shrink.

// Helpers outside `#[test]` functions may unwrap too: a panic here is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use lanner_check::evttypes::{self, EventSet};
use lanner_check::typeck::{self, Options};
use lanner_schema::{
    ArgPresence, ArgSpec, Deprecation, FieldClass, FieldFlags, FieldInfo, FieldType, FilterCheck,
    PrintFormat, Provider,
};
use lanner_syntax::FileId;
use lanner_syntax::condition::{self, OffsetMap, RULE_MAX_DEPTH};
use serde_json::Value;

const fn mock(name: &'static str, ty: FieldType) -> FieldInfo {
    FieldInfo {
        id: None,
        name,
        ty,
        is_list: false,
        arg: ArgSpec {
            presence: ArgPresence::None,
            form: lanner_schema::ArgForm::None,
        },
        class: FieldClass::Util,
        check: FilterCheck::Util,
        provider: Provider::Libsinsp,
        source_agnostic: true,
        flags: FieldFlags::EMPTY,
        print_format: PrintFormat::Na,
        deprecation: Deprecation::No,
        any_ancestor: false,
        aliases: &[],
        description: "mock field of libsinsp's compiler tests",
        extracted: false,
    }
}

/// libsinsp's `supported_operators` compiler test registers mock fields: `c.true` behaves as a
/// string (it takes every string operator) and `c.buffer` as a byte buffer.
static MOCK_FIELDS: [FieldInfo; 2] = [
    mock("c.true", FieldType::Charbuf),
    mock("c.buffer", FieldType::Bytebuf),
];

fn shared() -> PathBuf {
    lanner_testkit::shared()
}

fn cases() -> Vec<Value> {
    let path = shared().join("reference/parser_cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

struct Outcome {
    /// True if any error-severity diagnostic was reported by the stages the case exercises.
    error: bool,
    set: EventSet,
    /// Falco's compiler warnings (LOAD_COMPILE_CONDITION).
    compile_warnings: usize,
    messages: Vec<String>,
}

fn run(expr: &str, stage: &str) -> Outcome {
    let map = OffsetMap {
        file: FileId(0),
        base: 0,
    };
    let (ast, parse_diags) = condition::parse(expr, &map, RULE_MAX_DEPTH);
    let checked = typeck::check_with(
        &ast,
        &Options {
            extra_fields: &MOCK_FIELDS,
        },
    );
    let (set, set_diags) = evttypes::compute(&checked.expr);
    // libsinsp's event-type tests run the index over the parsed tree without compiling it, so
    // only parse errors and the index's own errors decide their verdict; the compiler tests
    // compile without computing the index.
    let counted: Vec<_> = match stage {
        "evttypes" => parse_diags.iter().chain(set_diags.iter()).collect(),
        _ => parse_diags
            .iter()
            .chain(checked.diagnostics.iter())
            .collect(),
    };
    Outcome {
        error: counted.iter().any(|d| d.is_error()),
        set,
        compile_warnings: checked
            .diagnostics
            .iter()
            .filter(|d| d.code.falco == Some("LOAD_COMPILE_CONDITION"))
            .count(),
        messages: counted
            .iter()
            .map(|d| format!("{} {}", d.code.id, d.message))
            .collect(),
    }
}

/// The named sets of libsinsp's `filter_ppm_codes` tests.
fn named_set(name: &str) -> EventSet {
    let of = |n: &str| EventSet::of_name(n).unwrap();
    match name {
        "openat_only" => of("openat"),
        "not_openat" => of("openat").complement(),
        "openat_close_only" => of("openat").union(&of("close")),
        "not_openat_close" => of("openat").union(&of("close")).complement(),
        "all_events" => EventSet::all(),
        "no_events" => EventSet::new(),
        other => panic!("unknown named set {other}"),
    }
}

/// `stage<TAB>index<TAB>expr (escaped)<TAB>reason` lines; `#` starts a comment.
fn exceptions() -> BTreeMap<(String, usize), String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/parser_cases_exceptions.txt");
    let text = lanner_testkit::read(&path);
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(4, '\t');
        let stage = parts.next().unwrap().to_owned();
        let index: usize = parts.next().unwrap().parse().unwrap();
        let expr = parts.next().unwrap().to_owned();
        out.insert((stage, index), expr);
    }
    out
}

#[test]
fn compile_and_evttypes_cases_match_falco() {
    let cases = cases();
    let listed = exceptions();
    let mut failures: Vec<String> = Vec::new();
    let mut unexpected_passes: Vec<String> = Vec::new();
    let mut totals: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (index, case) in cases.iter().enumerate() {
        let stage = case["stage"].as_str().unwrap();
        if stage != "compile" && stage != "evttypes" {
            continue;
        }
        let expr = case["expr"].as_str().unwrap();
        let expect_error = case["expect"].as_str().unwrap() == "error";
        let outcome = run(expr, stage);
        if std::env::var_os("LANNER_CASES_VERBOSE").is_some() {
            eprintln!(
                "{stage} #{index} {expr:?} -> {} {:?}",
                outcome.set, outcome.messages
            );
        }
        let mut problem = None;
        if outcome.error != expect_error {
            problem = Some(format!(
                "expected {}, got {:?}",
                if expect_error { "error" } else { "ok" },
                outcome.messages
            ));
        } else if !expect_error {
            if let Some(name) = case.get("evttypes").and_then(Value::as_str) {
                let want = named_set(name);
                if outcome.set != want {
                    problem = Some(format!("set {} instead of {name} ({want})", outcome.set));
                }
            }
            if let Some(other) = case.get("evttypes_equal_to").and_then(Value::as_str) {
                let want = run(other, stage).set;
                if outcome.set != want {
                    problem = Some(format!(
                        "set {} instead of that of `{other}` ({want})",
                        outcome.set
                    ));
                }
            }
            if let Some(n) = case.get("warnings").and_then(Value::as_u64)
                && outcome.compile_warnings as u64 != n
            {
                problem = Some(format!(
                    "{} compiler warnings instead of {n}: {:?}",
                    outcome.compile_warnings, outcome.messages
                ));
            }
        }
        let total = totals.entry(stage.to_owned()).or_default();
        total.1 += 1;
        let key = (stage.to_owned(), index);
        match (problem, listed.contains_key(&key)) {
            (None, false) => total.0 += 1,
            (None, true) => unexpected_passes.push(format!("{stage} #{index} `{expr}` passes")),
            (Some(p), true) => {
                let _ = p;
            }
            (Some(p), false) => {
                failures.push(format!("{stage} #{index} `{}`: {p}", expr.escape_debug()))
            }
        }
    }
    for (stage, (passed, total)) in &totals {
        eprintln!(
            "{stage}: {passed}/{total} pass ({:.1}%), {} listed as exceptions",
            100.0 * *passed as f64 / *total as f64,
            listed.keys().filter(|(s, _)| s == stage).count()
        );
    }
    assert_eq!(totals.get("compile").map(|t| t.1), Some(390));
    assert_eq!(totals.get("evttypes").map(|t| t.1), Some(175));
    assert!(
        failures.is_empty() && unexpected_passes.is_empty(),
        "{} failures:\n{}\n{} listed cases now pass (remove them):\n{}",
        failures.len(),
        failures.join("\n"),
        unexpected_passes.len(),
        unexpected_passes.join("\n")
    );
}

#[test]
fn embedded_tables_equal_the_shared_ones() {
    for name in ["event_table.tsv", "ppm_sc.tsv"] {
        let shared = std::fs::read(shared().join("scap").join(name)).unwrap();
        let ours = std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("data")
                .join(name),
        )
        .unwrap();
        assert!(
            shared == ours,
            "data/{name} differs from shared/scap/{name}: copy it again"
        );
    }
}
