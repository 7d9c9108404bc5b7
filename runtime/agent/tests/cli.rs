//! The `lanner` binary's contract: alerts on stdout, summary on stderr, exit codes, and clear
//! errors for bad rules and bad captures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

fn shared() -> PathBuf {
    lanner_testkit::shared()
}

fn lanner() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lanner"))
}

#[test]
fn replay_prints_falco_json_alerts_and_a_summary() {
    let out = lanner()
        .args(["replay", "--rule-matching", "all", "--rules"])
        .arg(shared().join("upstream-rules/falco_rules.yaml"))
        .arg(shared().join("upstream-rules/falco-incubating_rules.yaml"))
        .arg(shared().join("upstream-rules/falco-sandbox_rules.yaml"))
        .arg(shared().join("scap/oracle-falco/probe_rules.yaml"))
        .arg(shared().join("scap/captures/cat_write.scap"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let alerts: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!alerts.is_empty());
    for a in &alerts {
        for key in [
            "hostname",
            "output",
            "output_fields",
            "priority",
            "rule",
            "source",
            "tags",
            "time",
        ] {
            assert!(a.get(key).is_some(), "missing {key} in {a}");
        }
        assert!(a["output_fields"]["evt.time"].is_u64());
        assert!(a["time"].as_str().unwrap().ends_with('Z'));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("replayed 303 event(s)"), "{stderr}");
}

#[test]
fn rules_with_errors_are_reported_and_nothing_is_replayed() {
    let dir = std::env::temp_dir().join(format!("lanner-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("broken.yaml");
    std::fs::write(
        &rules,
        "- rule: r\n  desc: d\n  condition: proc.nme = bash\n  output: x\n  priority: INFO\n",
    )
    .unwrap();
    let out = lanner()
        .args(["replay", "--format", "text", "--rules"])
        .arg(&rules)
        .arg(shared().join("scap/captures/cat_write.scap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown field `proc.nme`"), "{stderr}");
    assert!(stderr.contains("did you mean `proc.name`?"), "{stderr}");
}

#[test]
fn a_broken_capture_is_an_error_naming_the_block_and_offset() {
    let dir = std::env::temp_dir().join(format!("lanner-cli2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(shared().join("scap/captures/cat_write.scap")).unwrap();
    let cut = dir.join("cut.scap");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = lanner()
        .args(["replay", "--format", "text", "--rules"])
        .arg(shared().join("upstream-rules/falco_rules.yaml"))
        .arg(&cut)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cut.scap"), "{stderr}");
    assert!(stderr.contains("offset"), "{stderr}");
    let out = lanner()
        .args(["replay", "--rules"])
        .arg(shared().join("upstream-rules/falco_rules.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a capture is required");
}

/// `%container.info` renders as the empty string, the suggested container fields are still
/// appended, and `--rules` takes a folder (its `*.yaml` files) as Falco does.
#[test]
fn legacy_container_info_prints_nothing_from_a_rules_folder() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/container_info");
    let out = lanner()
        .args(["replay", "--format", "text", "--rules"])
        .arg(&dir)
        .arg(shared().join("scap/captures/run_as_user_0_container.scap"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.ends_with(
            "Notice opened () file=/etc/ld.so.cache | container_id=697956520d89 \
             container_name=hopeful_taussig container_image_repository=nginx \
             container_image_tag=latest k8s_pod_name=<NA> k8s_ns_name=<NA>"
        ),
        "{first}"
    );
    assert!(!stdout.contains("container.info"), "{stdout}");
}

/// The README's first command: Lanner's own rules over the capture the repository carries
/// (recorded live with `lanner capture` while a shell read /etc/shadow, wrote below /usr/bin and
/// set a setuid bit), with nothing outside the repository.
#[test]
fn readme_first_command_replays_the_repository_capture() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = lanner()
        .args(["replay", "--rules"])
        .arg(root.join("stdlib-rules/lanner_rules.yaml"))
        .arg(root.join("examples/demo.scap.gz"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut rules: Vec<&str> = alerts.iter().map(|a| a["rule"].as_str().unwrap()).collect();
    rules.sort_unstable();
    assert_eq!(
        rules,
        [
            "Sensitive file read by untrusted program",
            "Setuid or setgid bit set",
            "Shell with CAP_SYS_ADMIN in a container",
            "Write below binary directory",
        ]
    );
}
