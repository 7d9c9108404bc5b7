//! `--engine jit|interp` through the binary: the same alerts, byte for byte, from both engines
//! on every shared capture (the live one included), with the upstream and probe rules in both
//! matching modes; an unknown engine is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn shared() -> PathBuf {
    lanner_testkit::shared()
}

fn replay(engine: &str, matching: &str) -> Output {
    let up = shared().join("upstream-rules");
    let mut captures = lanner_testkit::files(&shared().join("scap/captures"), ".scap");
    captures.push(shared().join("scap/modern/workload_live_6.18.scap"));
    Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(["replay", "--engine", engine, "--rule-matching", matching])
        .arg("--rules")
        .arg(up.join("falco_rules.yaml"))
        .arg(up.join("falco-incubating_rules.yaml"))
        .arg(up.join("falco-sandbox_rules.yaml"))
        .arg(shared().join("scap/oracle-falco/probe_rules.yaml"))
        .args(&captures)
        .output()
        .unwrap()
}

#[test]
fn jit_and_interpreter_print_the_same_alerts() {
    for matching in ["all", "first"] {
        let jit = replay("jit", matching);
        let interp = replay("interp", matching);
        for (name, out) in [("jit", &jit), ("interp", &interp)] {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
            // The JIT compiled: no fallback to the interpreter was announced.
            assert!(!stderr.contains("on the interpreter"), "{name}: {stderr}");
        }
        let alerts = String::from_utf8(jit.stdout).unwrap();
        assert!(alerts.lines().count() > 100, "{matching}: {alerts}");
        assert!(
            alerts == String::from_utf8(interp.stdout).unwrap(),
            "{matching}: the engines' alerts differ"
        );
    }
}

#[test]
fn an_unknown_engine_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(["replay", "--engine", "llvm"])
        .arg(shared().join("scap/captures/cat_write.scap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("llvm") && stderr.contains("jit"),
        "{stderr}"
    );
}
