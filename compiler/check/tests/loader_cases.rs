//! Falco's rule-loading situations (`../shared/reference/loader_cases.md`), one rules file per
//! case under `tests/fixtures/loader/`, each with a header stating Falco's outcome; and the 60
//! broken files of `../shared/scap/oracle-falco/validate/` against Falco 0.44.1's verdicts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use lanner_check::driver::{Checked, check_sources};
use lanner_syntax::Severity;
use lanner_syntax::condition::print::canonical;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Default, Debug)]
struct Expect {
    ok: Option<bool>,
    errors: Vec<String>,
    warnings: Vec<String>,
    no_warnings: Vec<String>,
    conditions: Vec<(String, String)>,
    outputs: Vec<(String, String)>,
    priorities: Vec<(String, String)>,
    enabled: Option<usize>,
}

fn header(text: &str) -> Expect {
    let mut e = Expect::default();
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        let Some((key, value)) = line.trim_start_matches('#').trim().split_once(':') else {
            continue;
        };
        let value = value.trim();
        let words = || {
            value
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let pair = || {
            let (rule, v) = value.split_once("=>").expect("`rule => value`");
            (rule.trim().to_string(), v.trim().to_string())
        };
        match key.trim() {
            "expect" => e.ok = Some(value == "ok"),
            "errors" => e.errors = words(),
            "warnings" => e.warnings = words(),
            "no-warnings" => e.no_warnings = words(),
            "condition" => e.conditions.push(pair()),
            "output" => e.outputs.push(pair()),
            "priority" => e.priorities.push(pair()),
            "enabled" => {
                e.enabled = Some(
                    value
                        .parse()
                        .unwrap_or_else(|_| panic!("`enabled: {value}`")),
                )
            }
            // Prose for the reader: which reference case, what it shows.
            "case" | "what" => {}
            other => panic!("unknown header key `{other}` (a typo would silently drop a check)"),
        }
    }
    e
}

fn falco_codes(c: &Checked, sev: Severity) -> BTreeSet<String> {
    c.diagnostics
        .iter()
        .filter(|d| d.severity == sev)
        .filter_map(|d| d.code.falco.map(String::from))
        .collect()
}

/// Checks one fixture against its header; returns the problems found.
/// A fixture is a rules file, or a folder of rules files loaded together in sorted order (as
/// `--rules DIR` loads them) whose first file holds the header.
fn check(path: &Path) -> Vec<String> {
    let mut files = vec![path.to_path_buf()];
    if path.is_dir() {
        files = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        assert!(
            files.len() > 1,
            "{}: a folder fixture needs 2+ files",
            path.display()
        );
    }
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(p).unwrap())
        })
        .collect();
    let want = header(&sources.first().unwrap().1);
    let got = check_sources(sources);
    let mut problems = Vec::new();
    let errors = falco_codes(&got, Severity::Error);
    let warnings = falco_codes(&got, Severity::Warning);
    let ok = !got.has_errors();
    let listing = || {
        got.diagnostics
            .iter()
            .map(|d| {
                format!(
                    "{} {}: {}",
                    d.code.id,
                    d.code.falco.unwrap_or("-"),
                    d.message
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    if let Some(w) = want.ok
        && w != ok
    {
        problems.push(format!(
            "expected {}, got {} [{}]",
            if w { "ok" } else { "fail" },
            if ok { "ok" } else { "fail" },
            listing()
        ));
    }
    for e in &want.errors {
        if !errors.contains(e) {
            problems.push(format!("missing error {e} [{}]", listing()));
        }
    }
    for w in &want.warnings {
        if !warnings.contains(w) {
            problems.push(format!("missing warning {w} [{}]", listing()));
        }
    }
    for w in &want.no_warnings {
        if warnings.contains(w) {
            problems.push(format!("unexpected warning {w} [{}]", listing()));
        }
    }
    let rule = |n: &str| got.resolved.rules.iter().find(|r| r.name == n);
    for (n, cond) in &want.conditions {
        match rule(n).and_then(|r| r.condition.as_ref()) {
            Some(e) if canonical(e) == *cond => {}
            Some(e) => problems.push(format!(
                "rule `{n}`: condition {:?}, want {cond:?}",
                canonical(e)
            )),
            None => problems.push(format!("rule `{n}`: no compiled condition [{}]", listing())),
        }
    }
    for (n, out) in &want.outputs {
        match rule(n) {
            Some(r) if r.output == *out => {}
            Some(r) => problems.push(format!("rule `{n}`: output {:?}, want {out:?}", r.output)),
            None => problems.push(format!("rule `{n}` missing")),
        }
    }
    for (n, p) in &want.priorities {
        match rule(n) {
            Some(r) if r.priority.as_str() == p => {}
            Some(r) => problems.push(format!(
                "rule `{n}`: priority {}, want {p}",
                r.priority.as_str()
            )),
            None => problems.push(format!("rule `{n}` missing")),
        }
    }
    if let Some(n) = want.enabled {
        let got_n = got.resolved.rules.iter().filter(|r| r.enabled).count();
        if got_n != n {
            problems.push(format!("{got_n} enabled rules, want {n}"));
        }
    }
    problems
}

#[test]
fn loader_fixtures() {
    let dir = manifest().join("tests/fixtures/loader");
    // Fails on a missing folder; the count below fails on an empty one.
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.retain(|p| p.is_dir() || p.extension().is_some_and(|e| e == "yaml"));
    paths.sort();
    let mut failures = Vec::new();
    for p in &paths {
        for problem in check(p) {
            failures.push(format!(
                "{}: {problem}",
                p.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    eprintln!(
        "loader cases: {} fixtures, {} problems",
        paths.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        paths.len(),
        123,
        "one fixture per situation of loader_cases.md (122), and \
         evttype_warning_for_contradiction_disabled_by_warn_evttypes"
    );
}

#[test]
fn falco_validate_oracle() {
    let tsv = manifest().join("tests/fixtures/validate_expected.tsv");
    let Ok(text) = std::fs::read_to_string(&tsv) else {
        panic!("{} is missing", tsv.display());
    };
    let dir = manifest().join("../../../shared/scap/oracle-falco/validate");
    let mut failures = Vec::new();
    let mut n = 0;
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (case, expect) = (cols[0], cols[1]);
        let errors: Vec<&str> = cols
            .get(2)
            .map(|c| c.split_whitespace().collect())
            .unwrap_or_default();
        let path = dir.join(format!("{case}.yaml"));
        let text = lanner_testkit::read(&path);
        let got = check_sources(vec![(format!("{case}.yaml"), text)]);
        n += 1;
        let ok = !got.has_errors();
        let got_errors = falco_codes(&got, Severity::Error);
        if ok != (expect == "ok") {
            failures.push(format!(
                "{case}: falco {expect}, lanner {} ({:?})",
                if ok { "ok" } else { "fail" },
                got.diagnostics
                    .iter()
                    .map(|d| format!("{} {}", d.code.id, d.message))
                    .collect::<Vec<_>>()
            ));
            continue;
        }
        for e in errors {
            if !got_errors.contains(e) {
                failures.push(format!("{case}: falco reports {e}, lanner {got_errors:?}"));
            }
        }
        // Falco stops at a file's first error, so it may report fewer warnings than Lanner,
        // which reports every problem; each warning Falco reports must be among Lanner's.
        let got_warnings = falco_codes(&got, Severity::Warning);
        for w in cols
            .get(3)
            .map(|c| c.split_whitespace())
            .into_iter()
            .flatten()
        {
            if !got_warnings.contains(w) {
                failures.push(format!("{case}: falco warns {w}, lanner {got_warnings:?}"));
            }
        }
    }
    eprintln!("validate oracle: {n} cases, {} problems", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
