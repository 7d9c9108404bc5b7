//! A second differential check against Falco 0.44.1: the shared filter expressions
//! (`oracle-falco/filters.tsv`, `modern/workload_live_6.18.filters.tsv`) that are a single
//! comparison `FIELD OP VALUE` are evaluated here with a minimal comparison (enough to exercise
//! the field values, not the real operator semantics, which live elsewhere), and the matched
//! events must be exactly Falco's. This covers fields beyond the event dumps: `proc.apid[1]`,
//! `evt.arg.*`, `evt.rawarg.*`, `evt.category`, `evt.is_io`, `evt.buffer`, `fd.net`, ...
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use lanner_state::{Accessor, ContainerMatcher, Replay, Value};

fn shared() -> PathBuf {
    lanner_testkit::shared()
}

struct Cmp {
    acc: Accessor,
    op: String,
    values: Vec<String>,
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('"') && s.ends_with('"')) || (s.starts_with('\'') && s.ends_with('\'')))
    {
        s[1..s.len() - 1].to_owned()
    } else {
        s.to_owned()
    }
}

/// Parses `FIELD OP VALUE` (or `FIELD exists`); anything else is skipped.
fn parse(expr: &str) -> Option<Cmp> {
    let expr = expr.trim();
    let lower = format!(" {expr} ");
    if [" and ", " or ", " not ", "(", "val("].iter().any(|k| {
        lower
            .split_once(" in ")
            .map_or(lower.as_str(), |(a, _)| a)
            .contains(k)
    }) {
        return None;
    }
    let end = expr
        .find(|c: char| c.is_whitespace() || "=!<>".contains(c))
        .unwrap_or(expr.len());
    let (field, rest) = expr.split_at(end);
    let rest = rest.trim_start();
    let ops = [
        "==",
        "!=",
        "<=",
        ">=",
        "=",
        "<",
        ">",
        "contains",
        "icontains",
        "startswith",
        "endswith",
        "exists",
        "in",
        "glob",
    ];
    let op = ops.iter().find(|o| {
        rest.starts_with(**o)
            && (o.chars().all(|c| "=!<>".contains(c))
                || rest[o.len()..].starts_with(char::is_whitespace)
                || rest.len() == o.len())
    })?;
    let value = rest[op.len()..].trim();
    let values = if *op == "in" {
        let inner = value.strip_prefix('(')?.strip_suffix(')')?;
        inner
            .split(',')
            .map(unquote)
            .filter(|v| !v.is_empty())
            .collect()
    } else {
        vec![unquote(value)]
    };
    let r = lanner_schema::resolve_text(field).ok()?;
    let acc = Accessor::compile(&r).ok()?;
    Some(Cmp {
        acc,
        op: (*op).to_owned(),
        values,
    })
}

fn glob(pat: &[u8], s: &[u8]) -> bool {
    match (pat.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&pat[1..], s) || (!s.is_empty() && glob(pat, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&pat[1..], &s[1..]),
        (Some(p), Some(c)) if p == c => glob(&pat[1..], &s[1..]),
        _ => false,
    }
}

fn one(v: &Value<'_>, op: &str, rhs: &str) -> bool {
    let num = |n: i128| {
        let Ok(r) = rhs.parse::<i128>() else {
            return false;
        };
        match op {
            "=" | "==" | "in" => n == r,
            "!=" => n != r,
            "<" => n < r,
            "<=" => n <= r,
            ">" => n > r,
            ">=" => n >= r,
            _ => false,
        }
    };
    let ip = |a: IpAddr| {
        if let Some((net, len)) = rhs.split_once('/') {
            let (Ok(net), Ok(len)) = (net.parse::<IpAddr>(), len.parse::<u32>()) else {
                return false;
            };
            let inside = match (a, net) {
                (IpAddr::V4(a), IpAddr::V4(n)) => {
                    let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                    u32::from(a) & m == u32::from(n) & m
                }
                (IpAddr::V6(a), IpAddr::V6(n)) => {
                    let m = if len == 0 {
                        0
                    } else {
                        u128::MAX << (128 - len)
                    };
                    u128::from(a) & m == u128::from(n) & m
                }
                _ => false,
            };
            return if op == "!=" { !inside } else { inside };
        }
        let eq = rhs.parse::<IpAddr>().is_ok_and(|r| r == a);
        if op == "!=" { !eq } else { eq }
    };
    match v {
        Value::Int(n) => num(i128::from(*n)),
        Value::UInt(n) => num(i128::from(*n)),
        Value::Bool(b) => {
            let eq = rhs == b.to_string();
            if op == "!=" { !eq } else { eq }
        }
        Value::Ipv4(a) => ip(IpAddr::V4(*a)),
        Value::Ipv6(a) => ip(IpAddr::V6(*a)),
        Value::Str(s) | Value::Bytes(s) => {
            let r = rhs.as_bytes();
            let s: &[u8] = s;
            match op {
                "=" | "==" | "in" => s == r,
                "!=" => s != r,
                "contains" => s.windows(r.len().max(1)).any(|w| w == r),
                "icontains" => s
                    .to_ascii_lowercase()
                    .windows(r.len().max(1))
                    .any(|w| w == r.to_ascii_lowercase().as_slice()),
                "startswith" => s.starts_with(r),
                "endswith" => s.ends_with(r),
                "glob" => glob(r, s),
                "<" => s < r,
                ">" => s > r,
                _ => false,
            }
        }
        Value::List(items) => items.iter().any(|i| one(i, op, rhs)),
        _ => false,
    }
}

fn matches(c: &Cmp, v: Option<&Value<'_>>) -> bool {
    let Some(v) = v else {
        return false;
    };
    if c.op == "exists" {
        return true;
    }
    c.values.iter().any(|rhs| one(v, &c.op, rhs))
}

#[test]
fn single_comparisons_match_falco() {
    let root = shared().join("scap");
    let allowed_text = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/field_disagreements.txt"),
    )
    .unwrap();
    let allowed: HashMap<(String, String), usize> = allowed_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.splitn(4, '\t').collect();
            ((c[0].to_owned(), c[1].to_owned()), c[2].parse().unwrap())
        })
        .collect();
    let mut by_capture: HashMap<String, Vec<(String, String, BTreeSet<u64>)>> = HashMap::new();
    for file in [
        root.join("oracle-falco/filters.tsv"),
        root.join("modern/workload_live_6.18.filters.tsv"),
    ] {
        for line in fs::read_to_string(file).unwrap().lines().skip(1) {
            let c: Vec<&str> = line.split('\t').collect();
            let nums: BTreeSet<u64> = c
                .get(4)
                .unwrap_or(&"")
                .split(';')
                .filter(|m| !m.is_empty())
                .map(|m| m.rsplit(':').next().unwrap().parse().unwrap())
                .collect();
            by_capture.entry(c[0].to_owned()).or_default().push((
                c[1].to_owned(),
                c[2].to_owned(),
                nums,
            ));
        }
    }
    let mut checked = 0;
    let mut matched = 0;
    let mut fields = BTreeSet::new();
    let mut failures = Vec::new();
    let mut captures: Vec<_> = by_capture.keys().cloned().collect();
    captures.sort();
    for capture in captures {
        let scap = if capture.starts_with("workload_live") {
            root.join("modern").join(&capture)
        } else {
            root.join("captures").join(&capture)
        };
        if !scap.exists() {
            continue;
        }
        let cases: Vec<(String, Cmp, BTreeSet<u64>)> = by_capture[&capture]
            .iter()
            .filter_map(|(line, expr, nums)| Some((line.clone(), parse(expr)?, nums.clone())))
            .collect();
        let mut ours: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); cases.len()];
        Replay::run_file(&scap, ContainerMatcher::falco(), |ev, st, num| {
            for (i, (_, c, _)) in cases.iter().enumerate() {
                if matches(c, c.acc.extract(ev, st).as_ref()) {
                    ours[i].insert(num);
                }
            }
        })
        .unwrap();
        let stem = capture.trim_end_matches(".scap");
        for ((line, c, want), got) in cases.iter().zip(&ours) {
            checked += 1;
            matched += want.len();
            fields.insert(c.acc.field().name);
            let diff: Vec<u64> = want.symmetric_difference(got).copied().collect();
            if diff.is_empty() {
                continue;
            }
            let key = (stem.to_owned(), format!("filter:{line}"));
            let msg = format!(
                "{stem}\tfilter:{line}\t{}\t{} {} {:?}: falco {} ours {}, first differing evt.num {:?}",
                diff.len(),
                c.acc.field().name,
                c.op,
                c.values,
                want.len(),
                got.len(),
                &diff[..diff.len().min(5)]
            );
            println!("DIFF {msg}");
            if diff.len() > allowed.get(&key).copied().unwrap_or(0) {
                failures.push(msg);
            }
        }
    }
    println!("{checked} (capture, expression) pairs checked, {matched} Falco matches");
    println!("fields: {fields:?}");
    assert!(
        matched > 10_000,
        "too few matches ({matched}) for a meaningful check"
    );
    assert!(checked > 400, "only {checked} comparisons parsed");
    assert!(
        failures.is_empty(),
        "unlisted differences:\n{}",
        failures.join("\n")
    );
}
