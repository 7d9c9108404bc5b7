//! The `rulec` binary's contract: exit codes and the JSON shape.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

fn rulec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rulec"))
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/check")
        .join(name)
}

fn upstream(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/upstream-rules")
        .join(name)
}

#[test]
fn exit_code_zero_without_errors() {
    let out = rulec()
        .arg("check")
        .arg(upstream("falco_rules.yaml"))
        .arg(upstream("falco-incubating_rules.yaml"))
        .arg(upstream("falco-sandbox_rules.yaml"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn exit_code_one_with_errors_and_all_files_reported() {
    let out = rulec()
        .args(["check", "--format", "json"])
        .arg(fixture("cond_stray_operator.yaml"))
        .arg(fixture("cond_glued_operator.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diags = v["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 2, "{v}");
    for d in diags {
        for key in [
            "code",
            "severity",
            "message",
            "file",
            "line",
            "column",
            "end_line",
            "end_column",
        ] {
            assert!(d.get(key).is_some(), "missing `{key}` in {d}");
        }
    }
    assert_eq!(diags[0]["code"], "L101");
    assert_eq!(diags[0]["line"], 4);
    assert_eq!(diags[0]["column"], 34);
    assert_eq!(diags[0]["falco_code"], "LOAD_ERR_COMPILE_CONDITION");
    assert!(
        diags[1]["file"]
            .as_str()
            .unwrap()
            .ends_with("cond_glued_operator.yaml")
    );
}

#[test]
fn exit_code_two_for_io_and_usage_problems() {
    let out = rulec()
        .args(["check", "/nonexistent/rules.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    let out = rulec()
        .args(["check", "--format", "yaml", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = rulec().arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A folder argument loads the folder's `*.yaml`/`*.yml` files in sorted order, without its
/// sub-folders (see `fixtures/rules_dir/README.md`), for `check` and `explain` alike.
#[test]
fn a_rules_folder_loads_its_yaml_files_in_sorted_order() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules_dir");
    let out = rulec().arg("check").arg(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("checked 2 file(s), 2 item(s)"), "{stderr}");
    let out = rulec()
        .args(["explain", "read below etc"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = rulec()
        .arg("check")
        .arg(dir.join("nested"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the nested folder's own file is broken"
    );
}

/// `rulec check --format json` reports per rule its kernel part: per event what the in-kernel
/// prefilter decides and each check it cannot, with the reason.
#[test]
fn check_json_reports_each_rules_kernel_part() {
    let out = rulec()
        .args(["check", "--format", "json"])
        .arg(upstream("falco_rules.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kernel = v["kernel"].as_array().unwrap();
    assert!(kernel.len() >= 20, "{}", kernel.len());
    let events: Vec<&serde_json::Value> = kernel
        .iter()
        .flat_map(|r| r["events"].as_array().unwrap())
        .collect();
    for e in &events {
        for key in [
            "event",
            "rule_part",
            "state_part",
            "passes",
            "lowered",
            "not_lowered",
        ] {
            assert!(e.get(key).is_some(), "missing `{key}` in {e}");
        }
    }
    assert!(
        events.iter().any(|e| e["lowered"] == true),
        "nothing lowered"
    );
    assert!(
        events
            .iter()
            .any(|e| e["not_lowered"].as_array().is_some_and(|a| !a.is_empty())),
        "no check reported as not lowered"
    );
}
