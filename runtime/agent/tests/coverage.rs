//! What the live path produces of what the upstream rules read.
//!
//! The event types, event parameters (`evt.arg.NAME`) and fields the three upstream rule files
//! use are computed here by the checker (event-type sets, typed conditions, output formats),
//! not copied from a list. Each one gets a status:
//!
//! * event types: `live` when the converter turns the syscall's record into its exit event,
//!   otherwise a row of `runtime-ebpf/coverage.tsv` must say why not;
//! * parameters: `live` when the converter fills the parameter from a record whose every
//!   capture item is present (the converter itself is the judge), otherwise a row must say why;
//! * fields: a row says how each one is produced. A `live` row names the `event:param`s it is
//!   read from, and each of those must be filled by the converter too.
//!
//! The test fails on anything used upstream without a row or an unknown status, on a `live`
//! claim the converter does not back, and on rows nothing uses any more. It writes the table to
//! `runtime-ebpf/COVERAGE.md` with `LANNER_REGENERATE=1` and otherwise fails when that file is
//! stale.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use lanner_check::typeck::{TExpr, TRhs};
use lanner_ebpf::convert::{Converter, exit_event, syscall_name};
use lanner_ebpf::programs::{
    MAX_SYSCALLS, RecordHeader, RecordKind, SyscallRecord, default_plan, plan,
};
use lanner_event::Event;
use lanner_syntax::output::OutputToken;

const FILES: [&str; 3] = [
    "falco_rules.yaml",
    "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml",
];

/// Statuses a row may have.
const STATUSES: [&str; 4] = ["live", "userspace", "impossible", "missing"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    root().join("../shared")
}

/// What the upstream rules use.
#[derive(Default)]
struct Used {
    /// Event type → the rules that can match it.
    events: BTreeMap<&'static str, BTreeSet<String>>,
    /// (event type, parameter) → the rules that read it.
    params: BTreeMap<(&'static str, String), BTreeSet<String>>,
    /// Field name (without argument) → the rules that read it.
    fields: BTreeMap<String, BTreeSet<String>>,
}

fn used() -> (Used, usize) {
    let sources: Vec<(String, String)> = FILES
        .iter()
        .map(|f| {
            let path = shared().join("upstream-rules").join(f);
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!("{}: {e} (the upstream rules are needed)", path.display())
            });
            (path.display().to_string(), text)
        })
        .collect();
    let checked = lanner_check::driver::check_sources(sources);
    let mut used = Used::default();
    let mut rules = 0;
    for (rule, typed) in checked.resolved.rules.iter().zip(&checked.typed) {
        rules += 1;
        let events = typed.event_types.names();
        for e in &events {
            used.events.entry(e).or_default().insert(rule.name.clone());
        }
        let mut fields: Vec<(String, Option<String>)> = Vec::new();
        if let Some(cond) = &typed.condition {
            condition_fields(cond, &mut fields);
        }
        if let Some(format) = &rule.output_format {
            for t in &format.tokens {
                if let OutputToken::Field { text, .. } = t {
                    let name = text.split('[').next().unwrap_or(text);
                    match name.strip_prefix("evt.arg.") {
                        Some(param) => fields.push(("evt.arg".into(), Some(param.to_owned()))),
                        None => fields.push((name.to_owned(), None)),
                    }
                }
            }
        }
        for (field, param) in fields {
            used.fields
                .entry(field.clone())
                .or_default()
                .insert(rule.name.clone());
            let Some(param) = param else { continue };
            // A parameter counts for every event type of the rule that has it.
            for e in &events {
                if exit_event(e).is_some_and(|i| i.params.iter().any(|p| p.name == param)) {
                    used.params
                        .entry((e, param.clone()))
                        .or_default()
                        .insert(rule.name.clone());
                }
            }
        }
    }
    (used, rules)
}

/// Fields of a typed condition, with the parameter name of `evt.arg.NAME`.
fn condition_fields(e: &TExpr, out: &mut Vec<(String, Option<String>)>) {
    match e {
        TExpr::And(c, _) | TExpr::Or(c, _) => c.iter().for_each(|c| condition_fields(c, out)),
        TExpr::Not(inner, _) => condition_fields(inner, out),
        TExpr::Check(c) => {
            let mut fields = c.lhs.fields();
            if let TRhs::Operand(o) = &c.rhs {
                fields.extend(o.fields());
            }
            for f in fields {
                let name = f.name();
                let param = if name == "evt.arg" || name == "evt.rawarg" {
                    let shown = f.field.to_string();
                    shown
                        .strip_prefix(&format!("{name}."))
                        .or_else(|| shown.strip_prefix(&format!("{name}[")))
                        .map(|p| p.trim_end_matches(']').to_owned())
                } else {
                    None
                };
                out.push((name.to_owned(), param));
            }
        }
        TExpr::Unknown(_) => {}
    }
}

/// The item a capture plan's kind copies, as the kernel program would fill it: every item
/// present, so that what stays empty is what the converter cannot produce.
fn full_item(kind: u8) -> Vec<u8> {
    let mut sockaddr = vec![0u8; 24];
    sockaddr[..2].copy_from_slice(&2u16.to_le_bytes());
    sockaddr[2..4].copy_from_slice(&80u16.to_be_bytes());
    sockaddr[4..8].copy_from_slice(&[127, 0, 0, 1]);
    match kind {
        plan::STR => b"/tmp/x\0".to_vec(),
        plan::BYTES | plan::BYTES_LENPTR => sockaddr,
        plan::EXEC_PATH => b"/bin/x\0".to_vec(),
        plan::EXEC_ARGV => b"x\0a\0E=1\0".to_vec(),
        plan::TASK_IDS => {
            let mut b = vec![1u8; plan::TASK_IDS_LEN as usize];
            let at = plan::task_ids::ARG_LEN as usize;
            b[at..at + 4].copy_from_slice(&4u32.to_le_bytes());
            let at = plan::task_ids::CWD_DONE as usize;
            b[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
            // The working directory's components, leaf first.
            b.extend_from_slice(b"d\0");
            b
        }
        plan::SOCK_TUPLE | plan::SOCK_TUPLE_RET => {
            let mut b = vec![0u8; plan::SOCK_TUPLE_LEN as usize];
            b[..2].copy_from_slice(&2u16.to_le_bytes());
            b[2..4].copy_from_slice(&4000u16.to_le_bytes());
            b[4..6].copy_from_slice(&80u16.to_be_bytes());
            b[8..12].copy_from_slice(&[127, 0, 0, 1]);
            b[12..16].copy_from_slice(&[127, 0, 0, 1]);
            b
        }
        plan::CGROUPS => b"leaf\0\0".to_vec(),
        plan::INT_PAIR => [3i32.to_le_bytes(), 4i32.to_le_bytes()].concat(),
        plan::FILE_INFO => vec![1u8; plan::FILE_INFO_LEN as usize],
        plan::BYTES_RET => b"\xca\xfe\xba\xbe".to_vec(),
        _ => Vec::new(),
    }
}

/// The parameters the converter fills, by event name, from full records of every converted
/// syscall.
fn converted_params() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let conv = Converter::with_epoch_offset(0).with_cgroup_subsystems(vec!["cpu".into()]);
    let mut out: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
    for id in 0..i64::from(MAX_SYSCALLS) {
        let Some(name) = syscall_name(id) else {
            continue;
        };
        let plan = default_plan(id);
        let items: Vec<Vec<u8>> = (0..4).map(|k| full_item(plan::decode(plan, k).0)).collect();
        let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
        let rec = SyscallRecord {
            header: RecordHeader {
                kind: RecordKind::Syscall,
                cpu: 0,
                ktime_ns: 1,
                pid: 10,
                tgid: 10,
                uid: 0,
                gid: 0,
            },
            id,
            ret: 0,
            args: [1; 6],
            comm: *b"x\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            item_lens: [0; 4],
            plan,
        }
        .to_bytes(&refs);
        let mut buf = Vec::new();
        let c = conv.to_event(&rec, &mut buf).expect("a converted syscall");
        let ev: Event<'_> = c.event(&buf).expect("a decodable event");
        let filled = out.entry(name).or_default();
        for p in ev.params() {
            if let Some(n) = p.name().filter(|_| !p.raw.is_empty()) {
                filled.insert(n);
            }
        }
    }
    out
}

struct Row {
    status: String,
    how: String,
}

/// `runtime-ebpf/coverage.tsv`: `kind<TAB>name<TAB>status<TAB>how`, `#` comments.
fn rows() -> BTreeMap<(String, String), Row> {
    let path = root().join("runtime-ebpf/coverage.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut rows = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "coverage.tsv:{}: four columns", n + 1);
        assert!(
            STATUSES.contains(&cols[2]),
            "coverage.tsv:{}: status `{}`",
            n + 1,
            cols[2]
        );
        let old = rows.insert(
            (cols[0].to_owned(), cols[1].to_owned()),
            Row {
                status: cols[2].to_owned(),
                how: cols[3].to_owned(),
            },
        );
        assert!(old.is_none(), "coverage.tsv:{}: duplicate row", n + 1);
    }
    rows
}

fn rules_cell(rules: &BTreeSet<String>) -> String {
    let n = rules.len();
    let first: Vec<&str> = rules.iter().take(2).map(String::as_str).collect();
    if n > 2 {
        format!("{n}: {}, …", first.join(", "))
    } else {
        format!("{n}: {}", first.join(", "))
    }
}

#[test]
fn coverage_table_is_complete_and_fresh() {
    let (used, rules) = used();
    assert_eq!(rules, 93, "the three upstream files hold 93 rules");
    let filled = converted_params();
    let rows = rows();
    let mut problems = Vec::new();
    let mut seen_rows = BTreeSet::new();
    let mut md = String::from(
        "# Coverage of the upstream rules by the live path\n\n\
         Generated by `runtime/agent/tests/coverage.rs` from the three upstream rule files (the \
         checker's event-type sets, typed conditions and output formats), the converter and \
         `coverage.tsv`; do not edit: run `LANNER_REGENERATE=1 cargo test -p lanner --test \
         coverage`.\n\n\
         Statuses: `live` the kernel programs capture it and the converter writes it (checked \
         here against the converter); `userspace` the state engine derives it as libsinsp does; \
         `impossible` this kernel or host cannot provide it (reason given); `missing` not done \
         yet.\n",
    );
    let mut counts: BTreeMap<(&str, String), usize> = BTreeMap::new();

    md.push_str("\n## Event types\n\n| event type | status | how | rules |\n|---|---|---|---|\n");
    for (e, by) in &used.events {
        let key = ("event".to_owned(), (*e).to_owned());
        let (status, how) = if filled.contains_key(e) {
            if rows.contains_key(&key) {
                problems.push(format!("event `{e}` is converted: drop its row"));
            }
            (
                "live".to_owned(),
                "converted from the `sys_exit` record".to_owned(),
            )
        } else if let Some(r) = rows.get(&key) {
            seen_rows.insert(key.clone());
            if r.status == "live" {
                problems.push(format!("event `{e}` is marked live but is not converted"));
            }
            (r.status.clone(), r.how.clone())
        } else {
            problems.push(format!("event `{e}` is neither converted nor listed"));
            ("missing".to_owned(), String::new())
        };
        *counts.entry(("event", status.clone())).or_default() += 1;
        md.push_str(&format!(
            "| `{e}` | {status} | {how} | {} |\n",
            rules_cell(by)
        ));
    }

    md.push_str(
        "\n## Event parameters (`evt.arg.NAME`)\n\n| event | parameter | status | how | rules \
         |\n|---|---|---|---|---|\n",
    );
    for ((e, p), by) in &used.params {
        let key = ("param".to_owned(), format!("{e}:{p}"));
        let live = filled.get(e).is_some_and(|f| f.contains(p.as_str()));
        let (status, how) = if live {
            if rows.contains_key(&key) {
                problems.push(format!("parameter `{e}:{p}` is converted: drop its row"));
            }
            ("live".to_owned(), "written by the converter".to_owned())
        } else if let Some(r) = rows.get(&key) {
            seen_rows.insert(key.clone());
            if r.status == "live" {
                problems.push(format!(
                    "parameter `{e}:{p}` is marked live but stays empty"
                ));
            }
            (r.status.clone(), r.how.clone())
        } else {
            problems.push(format!(
                "parameter `{e}:{p}` is neither converted nor listed"
            ));
            ("missing".to_owned(), String::new())
        };
        *counts.entry(("param", status.clone())).or_default() += 1;
        md.push_str(&format!(
            "| `{e}` | `{p}` | {status} | {how} | {} |\n",
            rules_cell(by)
        ));
    }

    md.push_str("\n## Fields\n\n| field | status | how | rules |\n|---|---|---|---|\n");
    for (f, by) in &used.fields {
        let key = ("field".to_owned(), f.clone());
        let Some(r) = rows.get(&key) else {
            problems.push(format!("field `{f}` has no row"));
            continue;
        };
        seen_rows.insert(key.clone());
        if r.status == "live" {
            // `event:param` sources in backquotes, each one the converter fills.
            let sources: Vec<&str> = r
                .how
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|s| s.contains(':') && !s.contains(' '))
                .collect();
            if sources.is_empty() {
                problems.push(format!("live field `{f}` names no `event:param` source"));
            }
            for s in sources {
                let (e, p) = s.split_once(':').unwrap();
                if !filled.get(e).is_some_and(|ps| ps.contains(p)) {
                    problems.push(format!(
                        "live field `{f}`: the converter leaves `{s}` empty"
                    ));
                }
            }
        }
        *counts.entry(("field", r.status.clone())).or_default() += 1;
        md.push_str(&format!(
            "| `{f}` | {} | {} | {} |\n",
            r.status,
            r.how,
            rules_cell(by)
        ));
    }
    for key in rows.keys() {
        if !seen_rows.contains(key) {
            problems.push(format!(
                "row `{}\t{}` is used by no upstream rule",
                key.0, key.1
            ));
        }
    }

    md.push_str("\n## Totals\n\n| kind | status | count |\n|---|---|---|\n");
    for ((kind, status), n) in &counts {
        md.push_str(&format!("| {kind} | {status} | {n} |\n"));
    }
    assert!(
        problems.is_empty(),
        "coverage problems:\n{}",
        problems.join("\n")
    );

    let path = root().join("runtime-ebpf/COVERAGE.md");
    if std::env::var("LANNER_REGENERATE").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &md).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == md,
        "runtime-ebpf/COVERAGE.md is stale: run `LANNER_REGENERATE=1 cargo test -p lanner --test coverage`"
    );
    // INVARIANT: event types and parameters are never `missing`; fields listed as missing are
    // the known gaps, and this count only goes down.
    let missing = |kind: &str| {
        counts
            .get(&(kind, "missing".to_owned()))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(missing("event") + missing("param"), 0);
    assert!(
        missing("field") <= 2,
        "a new gap: {} fields missing",
        missing("field")
    );
    // The census's counts of distinct items, as a guard that the walk saw everything.
    assert_eq!(used.events.len(), 41, "event types used upstream");
}
