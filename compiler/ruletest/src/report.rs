//! Test reports for people (text), scripts (JSON) and CI systems (JUnit XML).

use std::fmt::Write;

use crate::runner::{FileReport, RuleCoverage, Status};

/// The coverage of every rule over all files. A rule that several test files load (a test
/// file loads the rule files its rules build on) is one rule: an operand counts as seen true
/// (false) when some file's cases made it so. Rules are the same when their names and their
/// operands are; a rule of the same name with another condition (an override) stays apart.
pub fn merged_coverage(files: &[FileReport]) -> Vec<(String, RuleCoverage)> {
    let mut out: Vec<(String, RuleCoverage)> = Vec::new();
    for f in files {
        for (rule, cov) in &f.coverage {
            let same = |c: &RuleCoverage| {
                c.outcomes.len() == cov.outcomes.len()
                    && c.outcomes
                        .iter()
                        .zip(&cov.outcomes)
                        .all(|(a, b)| a.0 == b.0)
            };
            match out.iter_mut().find(|(r, c)| r == rule && same(c)) {
                Some((_, c)) => {
                    for (a, b) in c.outcomes.iter_mut().zip(&cov.outcomes) {
                        a.1 |= b.1;
                        a.2 |= b.2;
                    }
                }
                None => out.push((rule.clone(), cov.clone())),
            }
        }
    }
    for (_, c) in &mut out {
        c.seen_true = c.outcomes.iter().filter(|o| o.1).count();
        c.seen_false = c.outcomes.iter().filter(|o| o.2).count();
        c.missing = c
            .outcomes
            .iter()
            .filter(|o| !(o.1 && o.2))
            .cloned()
            .collect();
    }
    out
}

/// Overall branch coverage over every rule of every file, in percent, each rule counted once
/// ([`merged_coverage`]); `None` when the rules have no `and`/`or` operand at all (nothing
/// was measured, which is not 100%).
pub fn overall_coverage(files: &[FileReport]) -> Option<f64> {
    let (mut seen, mut total) = (0usize, 0usize);
    for (_, c) in merged_coverage(files) {
        seen += c.seen_true + c.seen_false;
        total += 2 * c.operands;
    }
    (total > 0).then(|| 100.0 * seen as f64 / total as f64)
}

pub fn text(files: &[FileReport]) -> String {
    let mut out = String::new();
    let (mut pass, mut fail) = (0, 0);
    for f in files {
        let _ = writeln!(out, "{}", f.path.display());
        for c in &f.cases {
            match c.status {
                Status::Pass => {
                    pass += 1;
                    let _ = writeln!(out, "  ok    {}", c.name);
                }
                Status::Fail => {
                    fail += 1;
                    let _ = writeln!(out, "  FAIL  {}", c.name);
                    for p in &c.problems {
                        for line in p.lines() {
                            let _ = writeln!(out, "        {line}");
                        }
                    }
                }
            }
        }
        for (rule, cov) in &f.coverage {
            let _ = writeln!(out, "  coverage {:5.1}%  {rule}", cov.percent());
            for (what, t, f) in &cov.missing {
                let never = match (t, f) {
                    (false, false) => "never evaluated",
                    (true, false) => "never false",
                    _ => "never true",
                };
                let _ = writeln!(out, "      {never}: {what}");
            }
        }
    }
    let coverage = match overall_coverage(files) {
        Some(c) => format!("{c:.1}%"),
        None => "n/a (no `and`/`or` operands)".to_owned(),
    };
    let _ = writeln!(out, "{pass} passed, {fail} failed; coverage {coverage}");
    out
}

pub fn json(files: &[FileReport]) -> serde_json::Value {
    let mut cases = Vec::new();
    let mut rules = serde_json::Map::new();
    for f in files {
        for c in &f.cases {
            cases.push(serde_json::json!({
                "name": c.name,
                "file": f.path.display().to_string(),
                "status": match c.status { Status::Pass => "pass", Status::Fail => "fail" },
                "problems": c.problems,
                "alerts": c.alerts.iter().map(|a| serde_json::json!({
                    "rule": a.rule, "event": a.event, "output": a.output,
                })).collect::<Vec<_>>(),
            }));
        }
    }
    for (rule, cov) in merged_coverage(files) {
        // Two different rules of one name (an override in one file): both are shown.
        let mut key = rule.clone();
        let mut n = 1;
        while rules.contains_key(&key) {
            n += 1;
            key = format!("{rule} #{n}");
        }
        rules.insert(key, serde_json::json!(cov.percent()));
    }
    serde_json::json!({
        "cases": cases,
        "coverage": { "overall": overall_coverage(files), "rules": rules },
    })
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn junit(files: &[FileReport]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for f in files {
        let failures = f.cases.iter().filter(|c| c.status == Status::Fail).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">",
            xml_escape(&f.path.display().to_string()),
            f.cases.len()
        );
        for c in &f.cases {
            let _ = write!(out, "    <testcase name=\"{}\"", xml_escape(&c.name));
            if c.status == Status::Pass {
                out.push_str("/>\n");
            } else {
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    xml_escape(c.problems.first().map_or("", String::as_str)),
                    xml_escape(&c.problems.join("\n"))
                );
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
