//! `rulec fmt`: formatting keeps what every rules file compiles to, and the command's
//! contract (in place, `--check` with a diff, refusal of broken YAML).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use lanner_check::driver::{Checked, check_sources};
use lanner_syntax::condition::print::canonical;
use lanner_syntax::format::{FormatError, format};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn upstream(name: &str) -> PathBuf {
    root().join("../shared/upstream-rules").join(name)
}

const UPSTREAM: [&str; 3] = [
    "falco_rules.yaml",
    "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml",
];

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml")
            && !p.to_string_lossy().ends_with(".test.yaml")
        {
            out.push(p);
        }
    }
}

/// Everything the checker reports about a set of files, spans left out (formatting moves
/// text): per rule its name, expanded condition, event types, output, priority and the other
/// settings; the program's shape; and every diagnostic's code, severity, message and item.
fn meaning(checked: &Checked) -> Vec<String> {
    let mut out = Vec::new();
    for (r, t) in checked.resolved.rules.iter().zip(&checked.typed) {
        out.push(format!(
            "rule {:?}: {} | typed: {} | evttypes: {} | output: {:?} | priority: {:?} | \
             enabled: {} | source: {} | tags: {:?} | exceptions: {:?} | macros: {:?}",
            r.name,
            r.condition.as_ref().map_or("<none>".into(), canonical),
            t.condition.is_some(),
            t.event_types,
            r.output,
            r.priority,
            r.enabled,
            r.source,
            r.tags,
            r.exception_fields,
            r.macros_used,
        ));
    }
    for m in &checked.resolved.macros {
        out.push(format!(
            "macro {:?}: {}",
            m.name,
            m.condition.as_ref().map_or("<none>".into(), canonical)
        ));
    }
    let p = &checked.program;
    out.push(format!(
        "program: {} nodes, tree size {}, roots {:?}, uses {:?}",
        p.nodes.len(),
        p.tree_size(),
        p.rules
            .iter()
            .enumerate()
            .map(|(i, r)| (i, r.condition.map(|n| n.0)))
            .collect::<Vec<_>>(),
        p.rule_uses()
    ));
    // The compiled program carries no spans: formatting must leave its bytes alone.
    let bytes = lanner_program::encode(p).unwrap();
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    out.push(format!("program bytes: {} (fnv {hash:#x})", bytes.len()));
    let mut diags: Vec<String> = checked
        .diagnostics
        .iter()
        .map(|d| format!("{} {:?} {} {:?}", d.code.id, d.severity, d.message, d.item))
        .collect();
    diags.sort();
    out.extend(diags);
    out
}

/// Checks `paths` loaded together as written and formatted; returns how many were changed.
fn same_meaning(paths: &[PathBuf]) -> usize {
    let mut original = Vec::new();
    let mut formatted = Vec::new();
    let mut changed = 0;
    for p in paths {
        let text = std::fs::read_to_string(p)
            .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", p.display()));
        let name = p.display().to_string();
        let out = match format(&text) {
            Ok(out) => out,
            Err(FormatError::Syntax(_)) => text.clone(),
            Err(e) => panic!("`{name}`: {e}: {:#?}", e.diagnostics()),
        };
        changed += usize::from(out != text);
        original.push((name.clone(), text));
        formatted.push((name, out));
    }
    let a = meaning(&check_sources(original));
    let b = meaning(&check_sources(formatted));
    let names: Vec<_> = paths.iter().map(|p| p.display().to_string()).collect();
    similar_asserts(&a, &b, &names.join(" "));
    changed
}

fn similar_asserts(a: &[String], b: &[String], what: &str) {
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x, y, "{what}: formatting changed the checked result");
    }
    assert_eq!(
        a.len(),
        b.len(),
        "{what}: formatting changed the checked result"
    );
}

#[test]
fn formatting_keeps_the_program_of_every_corpus_file() {
    let root = root();
    let mut files: Vec<PathBuf> = UPSTREAM.iter().map(|f| upstream(f)).collect();
    for dir in [
        "stdlib-rules",
        "compiler/ruletest/tests/fixtures",
        "compiler/rulec/tests/fixtures",
        "compiler/check/tests/fixtures",
        "compiler/syntax/tests/fixtures",
    ] {
        yaml_files(&root.join(dir), &mut files);
    }
    let mut changed = 0;
    for f in &files {
        changed += same_meaning(std::slice::from_ref(f));
    }
    assert!(files.len() >= 200, "ran {} files", files.len());
    assert!(changed >= 60, "formatting changed only {changed} files");
}

#[test]
fn formatting_keeps_the_program_of_files_loaded_together() {
    // Appends and overrides across files see the formatted text of earlier files.
    let mut files: Vec<PathBuf> = UPSTREAM.iter().map(|f| upstream(f)).collect();
    assert_eq!(same_meaning(&files), 3);
    files.push(root().join("stdlib-rules/lanner_rules.yaml"));
    same_meaning(&files);
    // The local overrides of the incubating rules, after the files they extend.
    same_meaning(&[
        upstream("falco_rules.yaml"),
        upstream("falco-incubating_rules.yaml"),
        root().join("stdlib-rules/upstream/falco-incubating_rules.local.yaml"),
    ]);
}

// ---- the command ---------------------------------------------------------------------------

fn rulec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rulec"))
}

fn temp_copy(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rulec-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const UNFORMATTED: &str = "# a comment\n- macro: m\n  condition: evt.type=open and proc.name=cat  # why\n\n- list: l\n  items: [a,  b]\n";

#[test]
fn check_mode_reports_a_diff_and_changes_nothing() {
    let p = temp_copy("check_mode.yaml", UNFORMATTED);
    let out = rulec().args(["fmt", "--check"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(
        diff.contains("-  condition: evt.type=open and proc.name=cat  # why"),
        "{diff}"
    );
    assert!(diff.contains("+  condition: > # why"), "{diff}");
    assert!(diff.contains("+    and proc.name = cat"), "{diff}");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), UNFORMATTED);
}

#[test]
fn fmt_rewrites_in_place_then_check_passes() {
    let p = temp_copy("in_place.yaml", UNFORMATTED);
    let out = rulec().arg("fmt").arg(&p).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&p).unwrap();
    assert_eq!(
        text,
        "# a comment\n- macro: m\n  condition: > # why\n    evt.type = open\n    and proc.name = cat\n\n- list: l\n  items: [a, b]\n"
    );
    let out = rulec().args(["fmt", "--check"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn broken_yaml_is_refused_with_a_located_diagnostic() {
    let broken = "- macro: m\n  condition: [a and b\n- rule: r\n";
    let p = temp_copy("broken.yaml", broken);
    let out = rulec()
        .args(["fmt", "--format", "json"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["files"][0];
    assert_eq!(f["status"], "refused", "{v}");
    let d = &f["diagnostics"][0];
    assert_eq!(d["code"], "L001", "{v}");
    assert!(d["line"].as_u64().unwrap() >= 2, "{v}");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), broken);
}

#[test]
fn the_repository_rule_files_are_formatted() {
    let mut files = Vec::new();
    yaml_files(&root().join("stdlib-rules"), &mut files);
    assert!(files.len() >= 2, "found {files:?}");
    let out = rulec()
        .args(["fmt", "--check"])
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "run `rulec fmt` on the stdlib rule files:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn standard_input_is_formatted_to_standard_output() {
    use std::io::Write;
    let run = |args: &[&str]| {
        let mut child = rulec()
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(UNFORMATTED.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(&["fmt", "-"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "# a comment\n- macro: m\n  condition: > # why\n    evt.type = open\n    and proc.name = cat\n\n- list: l\n  items: [a, b]\n"
    );
    let out = run(&["fmt", "--check", "-"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("--- <stdin>\n+++ <stdin>\n")
    );
}

#[test]
fn a_folder_stands_for_its_rules_files_but_not_its_rule_tests() {
    let dir = std::env::temp_dir().join(format!("rulec-fmt-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a_rules.yaml"), UNFORMATTED).unwrap();
    std::fs::write(dir.join("b_rules.yml"), UNFORMATTED).unwrap();
    let test_file = "- rule: r\n  condition: a.b=1 and c.d=2\n";
    std::fs::write(dir.join("a_rules.test.yaml"), test_file).unwrap();
    let out = rulec()
        .args(["fmt", "--format", "json"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<_> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                f["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        files,
        vec![
            ("a_rules.yaml".to_string(), "reformatted".into()),
            ("b_rules.yml".to_string(), "reformatted".into())
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("a_rules.test.yaml")).unwrap(),
        test_file
    );
}
