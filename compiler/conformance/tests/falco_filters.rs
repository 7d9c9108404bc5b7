//! End to end against Falco 0.44.1: the filter expressions of `shared/scap/oracle-falco`,
//! evaluated by the interpreter over the state engine's replay of each capture, must match
//! the same events Falco matched (`filters.tsv`: capture, line, expression, count, matches).
//!
//! A disagreement can come from the interpreter, the checker or the state engine (a field
//! extracted differently, an event numbered differently). Known ones are listed in
//! `falco_filter_exceptions.txt` (capture, line, expression, reason). The test fails on an
//! unlisted disagreement and on a listed one that agrees, so the list stays honest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use lanner_engine::eval;
use lanner_engine::state::Accessors;
use lanner_state::{ContainerMatcher, Replay};
use lanner_syntax::FileId;
use lanner_syntax::condition::{self, OffsetMap, RULE_MAX_DEPTH};

fn shared() -> PathBuf {
    lanner_testkit::shared()
}

/// One row of a `filters.tsv`.
struct Row {
    line: u32,
    expr: String,
    /// The evt.num of every event Falco matched.
    matches: BTreeSet<u64>,
}

fn rows(path: &Path) -> BTreeMap<String, Vec<Row>> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for l in text.lines().skip(1) {
        let cols: Vec<&str> = l.split('\t').collect();
        let matches = cols
            .get(4)
            .map(|m| {
                m.split(';')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.rsplit(':').next().unwrap().parse::<u64>().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        out.entry(cols[0].to_owned()).or_default().push(Row {
            line: cols[1].parse().unwrap(),
            expr: cols[2].to_owned(),
            matches,
        });
    }
    out
}

/// `capture<TAB>line<TAB>expression<TAB>reason` lines; `#` starts a comment.
fn exceptions() -> BTreeMap<(String, u32), String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/falco_filter_exceptions.txt");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.splitn(4, '\t').collect();
            assert!(
                cols.len() == 4 && !cols[3].trim().is_empty(),
                "bad line {l:?}"
            );
            (
                (cols[0].to_owned(), cols[1].parse().unwrap()),
                cols[3].to_owned(),
            )
        })
        .collect()
}

/// The interpreter's matches for every row of one capture: `Err` for a row whose expression
/// did not check.
fn evaluate(scap: &Path, rows: &[Row]) -> Vec<Result<BTreeSet<u64>, String>> {
    let map = OffsetMap {
        file: FileId(0),
        base: 0,
    };
    let mut checked_rows = Vec::new();
    for row in rows {
        let (ast, parse_diags) = condition::parse(&row.expr, &map, RULE_MAX_DEPTH);
        let checked = lanner_check::typeck::check(&ast);
        let error = parse_diags
            .iter()
            .chain(checked.diagnostics.iter())
            .find(|d| d.is_error());
        checked_rows.push(match error {
            Some(d) => Err(format!("does not check: {}", d.message)),
            None => Ok(checked.expr),
        });
    }
    // Every checked condition in one program, unfolded against one field table.
    let (program, roots) = lanner_check::program::build_conditions(
        checked_rows.iter().filter_map(|r| r.as_ref().ok()),
    )
    .unwrap();
    let mut unfold = lanner_engine::program::Unfold::new(&program);
    let mut roots = roots.into_iter();
    let conditions: Vec<Result<_, String>> = checked_rows
        .into_iter()
        .map(|r| r.map(|_| unfold.expr(roots.next().unwrap())))
        .collect();
    let fields = unfold.into_fields();
    let (accessors, unsupported) = Accessors::compile(&fields);
    for (f, e) in &unsupported {
        eprintln!("note: {} is not extracted by the state engine: {e}", f.text);
    }
    let mut matched: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); rows.len()];
    Replay::run_file(scap, ContainerMatcher::falco(), |ev, st, num| {
        for (i, c) in conditions.iter().enumerate() {
            if let Ok(expr) = c
                && eval(expr, &mut accessors.on(ev, st))
            {
                matched[i].insert(num);
            }
        }
    })
    .unwrap();
    conditions
        .into_iter()
        .zip(matched)
        .map(|(c, m)| c.map(|_| m))
        .collect()
}

fn describe(ours: &BTreeSet<u64>, theirs: &BTreeSet<u64>) -> String {
    let only_ours: Vec<_> = ours.difference(theirs).take(5).collect();
    let only_falco: Vec<_> = theirs.difference(ours).take(5).collect();
    format!(
        "ours {} falco {}; only ours {:?}{}; only falco {:?}{}",
        ours.len(),
        theirs.len(),
        only_ours,
        if ours.difference(theirs).count() > 5 {
            "…"
        } else {
            ""
        },
        only_falco,
        if theirs.difference(ours).count() > 5 {
            "…"
        } else {
            ""
        },
    )
}

#[test]
fn filters_match_falco() {
    let scap = shared().join("scap");
    let mut captures = rows(&scap.join("oracle-falco/filters.tsv"));
    captures.extend(rows(&scap.join("modern/workload_live_6.18.filters.tsv")));
    let listed = exceptions();
    let (mut agree, mut total) = (0usize, 0usize);
    let mut problems = Vec::new();
    for (capture, rows) in &captures {
        let path = if capture.starts_with("workload_live") {
            scap.join("modern").join(capture)
        } else {
            scap.join("captures").join(capture)
        };
        let results = evaluate(&path, rows);
        for (row, result) in rows.iter().zip(results) {
            total += 1;
            let difference = match &result {
                Ok(ours) if *ours == row.matches => None,
                Ok(ours) => Some(describe(ours, &row.matches)),
                Err(e) => Some(e.clone()),
            };
            let key = (capture.clone(), row.line);
            match (difference, listed.contains_key(&key)) {
                (None, false) => agree += 1,
                (None, true) => {
                    agree += 1;
                    problems.push(format!(
                        "{capture}\t{}\t{}\tlisted but agrees now: remove it",
                        row.line, row.expr
                    ));
                }
                (Some(d), false) => {
                    problems.push(format!("{capture}\t{}\t{}\t{d}", row.line, row.expr))
                }
                (Some(_), true) => {}
            }
        }
    }
    eprintln!("filter rows: {agree}/{total} agree with Falco");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
