//! Shadow mode through the binary: `lanner replay --rules ACTIVE --shadow CANDIDATE` leaves the
//! real output exactly as without the shadow, writes the candidate's alerts to their own file,
//! and prints the per-rule diff (only candidate / only active / both) that the two rule sets'
//! own replays predict.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn lanner(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Alerts per rule in JSON lines.
fn per_rule(lines: &str) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for l in lines.lines().filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        *m.entry(v["rule"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    m
}

#[test]
fn replay_shadow_diff_matches_the_two_replays() {
    let dir = std::env::temp_dir().join(format!("lanner-shadow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let active = root().join("stdlib-rules/lanner_rules.yaml");
    let capture = root().join("examples/demo.scap.gz");
    let (active_s, capture_s) = (active.to_str().unwrap(), capture.to_str().unwrap());
    let common = ["replay", "--format", "json", "--rule-matching", "all"];

    let alone = lanner(&[&common[..], &["--rules", active_s, capture_s]].concat());
    let active_alerts = per_rule(&String::from_utf8_lossy(&alone.stdout));
    let (disabled, disabled_n) = active_alerts
        .iter()
        .next()
        .map(|(r, n)| (r.clone(), *n))
        .expect("the demo capture raises alerts");

    // The candidate: the same rules, one disabled, one added.
    let candidate = dir.join("candidate.yaml");
    std::fs::write(
        &candidate,
        format!(
            "{}\n- rule: {disabled}\n  enabled: false\n\n\
             - rule: Shadow every exec\n  desc: the candidate's new rule\n  \
             condition: evt.type in (execve, execveat) and evt.dir = <\n  \
             output: \"exec (proc.name=%proc.name)\"\n  priority: INFO\n",
            std::fs::read_to_string(&active).unwrap()
        ),
    )
    .unwrap();
    let cand_out = dir.join("candidate.json");
    let cand_alone = lanner(
        &[
            &common[..],
            &["--rules", candidate.to_str().unwrap(), capture_s],
        ]
        .concat(),
    );
    let cand_alerts = per_rule(&String::from_utf8_lossy(&cand_alone.stdout));
    assert!(!cand_alerts.contains_key(&disabled));
    let extra = cand_alerts["Shadow every exec"];
    assert!(extra > 0, "the demo capture has execs");

    let shadowed = lanner(
        &[
            &common[..],
            &[
                "--rules",
                active_s,
                "--shadow",
                candidate.to_str().unwrap(),
                "--shadow-output",
                cand_out.to_str().unwrap(),
                capture_s,
            ],
        ]
        .concat(),
    );
    // The real output is untouched by the shadow.
    assert_eq!(shadowed.stdout, alone.stdout);
    // The candidate's own file holds what the candidate alone raises.
    let file = std::fs::read_to_string(&cand_out).unwrap();
    assert_eq!(per_rule(&file), cand_alerts);

    let stderr = String::from_utf8_lossy(&shadowed.stderr);
    let summary: serde_json::Value = stderr
        .lines()
        .find_map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v.get("shadow").cloned())
        })
        .unwrap_or_else(|| panic!("no shadow summary on stderr: {stderr}"));
    let rules: BTreeMap<String, (u64, u64, u64)> = summary["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_u64().unwrap();
            (
                r["rule"].as_str().unwrap().to_owned(),
                (n("only_candidate"), n("only_active"), n("both")),
            )
        })
        .collect();
    for (rule, n) in &active_alerts {
        let want = if *rule == disabled {
            (0, disabled_n, 0)
        } else {
            (0, 0, *n)
        };
        assert_eq!(rules[rule], want, "rule `{rule}`");
    }
    assert_eq!(rules["Shadow every exec"], (extra, 0, 0));
    assert_eq!(rules.len(), active_alerts.len() + 1);
    assert_eq!(
        summary["candidate_alerts"].as_u64(),
        Some(cand_alerts.values().sum())
    );
    let _ = std::fs::remove_dir_all(&dir);
}
