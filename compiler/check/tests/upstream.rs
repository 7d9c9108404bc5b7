//! Falco's upstream rule files through the whole checker: zero errors; warnings with a Falco
//! code match Falco's (none); Lanner's own lints on them are listed, with reasons, in
//! `upstream_lints.txt`; every rule's event types match Falco's `-L` inventory; and the shared
//! program really shares.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use lanner_check::driver::{Checked, check_sources};

fn shared() -> PathBuf {
    lanner_testkit::shared()
}

const FILES: [&str; 3] = [
    "falco_rules.yaml",
    "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml",
];

fn check_files(names: &[&str]) -> Checked {
    check_sources(
        names
            .iter()
            .map(|n| {
                let p = shared().join("upstream-rules").join(n);
                (n.to_string(), std::fs::read_to_string(&p).unwrap())
            })
            .collect(),
    )
}

#[test]
fn upstream_files_check_clean_alone_and_together() {
    let mut runs: Vec<Vec<&str>> = FILES.iter().map(|f| vec![*f]).collect();
    runs.push(FILES.to_vec());
    let expected_lints = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/upstream_lints.txt"),
    )
    .unwrap();
    let expected: BTreeSet<String> = expected_lints
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').take(3).collect::<Vec<_>>().join("\t"))
        .collect();
    for run in runs {
        let c = check_files(&run);
        let falco_coded: Vec<_> = c
            .diagnostics
            .iter()
            .filter(|d| d.is_error() || d.code.falco.is_some())
            .map(|d| format!("{} {:?} {}", d.code.id, d.item, d.message))
            .collect();
        assert!(falco_coded.is_empty(), "{run:?}: {falco_coded:#?}");
        for d in &c.diagnostics {
            let file =
                c.db.get(d.primary.file)
                    .map(|f| f.name.clone())
                    .unwrap_or_default();
            let key = format!(
                "{}\t{}\t{}",
                d.code.id,
                file,
                d.item.clone().unwrap_or_default()
            );
            assert!(
                expected.contains(&key),
                "unlisted lint on upstream rules: {key}\t{}",
                d.message
            );
        }
    }
}

/// Falco's `-L` inventory lists each rule's event types; every rule also receives the async
/// meta-event (`asyncevent`), which Lanner does not count as a rule event type.
#[test]
fn event_types_match_falco_inventory() {
    let c = check_files(&FILES);
    let tsv = std::fs::read_to_string(shared().join("scap/oracle-falco/rules_list.tsv")).unwrap();
    let mut falco: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let types = cols[6]
            .split(',')
            .filter(|t| !t.is_empty() && *t != "asyncevent")
            .map(String::from)
            .collect();
        falco.insert(cols[1].to_string(), types);
    }
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for (r, t) in c.resolved.rules.iter().zip(&c.typed) {
        let Some(want) = falco.get(&r.name) else {
            continue;
        };
        compared += 1;
        let got: BTreeSet<String> = t
            .event_types
            .names()
            .into_iter()
            .map(String::from)
            .collect();
        if &got != want {
            mismatches.push(format!("{}: lanner {got:?}, falco {want:?}", r.name));
        }
    }
    assert_eq!(
        compared,
        falco.len(),
        "every rule of the inventory is checked"
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn program_shares_subexpressions() {
    let c = check_files(&FILES);
    let p = &c.program;
    let rules = c.typed.iter().filter(|t| t.condition.is_some()).count();
    assert_eq!(p.rules.len(), c.resolved.rules.len());
    assert_eq!(
        p.rules.iter().filter(|r| r.condition.is_some()).count(),
        rules
    );
    let tree = p.tree_size();
    let most = p.shared().map(|(_, u)| u).max().unwrap_or(0);
    eprintln!(
        "program: {} rules, {} nodes shared DAG vs {tree} tree nodes, most-shared node used by {most} rules",
        p.rules.len(),
        p.nodes.len()
    );
    // Leaves with long value lists are mostly unique; the macros' structure is what is shared.
    assert!(
        p.nodes.len() * 4 < tree * 3,
        "sharing should save at least a quarter of the nodes"
    );
    // `spawned_process` (`evt.type in (execve, execveat)`) alone is used by dozens of rules.
    assert!(most >= 30, "most-shared node used by {most} rules");
}

/// The three files compile into one program through the one entry point; it passes
/// `verify()`, and its serialised form decodes to an equal program that encodes to the same
/// bytes.
#[test]
fn upstream_program_round_trips() {
    let sources = FILES
        .iter()
        .map(|n| {
            let p = shared().join("upstream-rules").join(n);
            (n.to_string(), std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    let program = match lanner_check::driver::compile(sources) {
        Ok(p) => p,
        Err(d) => panic!("{:?}", d.errors().map(|d| &d.message).collect::<Vec<_>>()),
    };
    program.verify().unwrap();
    let syscall = program
        .rules
        .iter()
        .filter(|r| r.runs_on_syscalls())
        .count();
    eprintln!(
        "program: {} rules ({syscall} syscall rules that run), {} nodes",
        program.rules.len(),
        program.nodes.len()
    );
    assert_eq!(
        (program.rules.len(), syscall),
        (93, 81),
        "rules, enabled syscall rules"
    );
    let bytes = lanner_program::encode(&program).unwrap();
    let decoded = lanner_program::decode(&bytes).unwrap();
    assert_eq!(decoded, program);
    assert_eq!(lanner_program::encode(&decoded).unwrap(), bytes);
    eprintln!("serialised: {} bytes", bytes.len());
}
