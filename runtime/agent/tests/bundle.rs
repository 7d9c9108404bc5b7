//! Bundles through the binaries: `rulec build` → `lanner replay --bundle`, each refusal with a
//! message on stderr, nothing on stdout and exit code 1; the built-in rules without `--rules`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rulec(dir: &Path, args: &[&str]) -> Output {
    // rulec is built by the workspace test run; its path sits beside this binary.
    let exe = Path::new(env!("CARGO_BIN_EXE_lanner")).with_file_name("rulec");
    Command::new(exe)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn lanner(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lanner"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn refused(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains(needle), "`{needle}` not in: {err}");
}

#[test]
fn bundles_load_only_when_signed_by_a_trusted_key() {
    let exe = Path::new(env!("CARGO_BIN_EXE_lanner")).with_file_name("rulec");
    if !exe.exists() {
        // `cargo test -p lanner` alone does not build rulec.
        assert!(
            std::env::var("CI").is_err(),
            "rulec is not built at {}",
            exe.display()
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("lanner-bundle-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rules = root().join("stdlib-rules/lanner_rules.yaml");
    let capture = root().join("examples/demo.scap.gz");
    let rules = rules.to_str().unwrap();
    let capture = capture.to_str().unwrap();
    assert!(rulec(&dir, &["keygen", "-o", "k"]).status.success());
    assert!(rulec(&dir, &["keygen", "-o", "other"]).status.success());
    assert!(
        rulec(&dir, &["build", rules, "-o", "s.lnb", "--sign", "k"])
            .status
            .success()
    );
    assert!(
        rulec(&dir, &["build", rules, "-o", "u.lnb"])
            .status
            .success()
    );
    let yaml = lanner(&dir, &["replay", "--rules", rules, capture]);
    let bundle = lanner(
        &dir,
        &["replay", "--bundle", "s.lnb", "--trust", "k.pub", capture],
    );
    let builtin = lanner(&dir, &["replay", capture]);
    assert!(
        bundle.status.success(),
        "{}",
        String::from_utf8_lossy(&bundle.stderr)
    );
    assert!(!yaml.stdout.is_empty());
    // The same alerts from YAML, the bundle and the built-in rules (only `hostname`/time are
    // the same in each since the capture is the same).
    assert_eq!(yaml.stdout, bundle.stdout);
    assert_eq!(yaml.stdout, builtin.stdout);

    refused(
        &lanner(&dir, &["replay", "--bundle", "u.lnb", capture]),
        "unsigned",
    );
    refused(
        &lanner(
            &dir,
            &[
                "replay",
                "--bundle",
                "s.lnb",
                "--trust",
                "other.pub",
                capture,
            ],
        ),
        "untrusted signer",
    );
    let bytes = std::fs::read(dir.join("s.lnb")).unwrap();
    std::fs::write(dir.join("t.lnb"), &bytes[..bytes.len() / 2]).unwrap();
    refused(
        &lanner(
            &dir,
            &["replay", "--bundle", "t.lnb", "--trust", "k.pub", capture],
        ),
        "truncated",
    );
    let mut bad = bytes.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    std::fs::write(dir.join("b.lnb"), &bad).unwrap();
    refused(
        &lanner(
            &dir,
            &["replay", "--bundle", "b.lnb", "--trust", "k.pub", capture],
        ),
        "bad signature",
    );
    let mut newer = bytes.clone();
    newer[4] = 9;
    std::fs::write(dir.join("n.lnb"), &newer).unwrap();
    refused(
        &lanner(
            &dir,
            &["replay", "--bundle", "n.lnb", "--trust", "k.pub", capture],
        ),
        "format version 9 is not supported: this lanner reads format version 1",
    );
    let dev = lanner(
        &dir,
        &["replay", "--bundle", "u.lnb", "--allow-unsigned", capture],
    );
    assert!(dev.status.success());
    assert!(String::from_utf8_lossy(&dev.stderr).contains("WARNING"));
    assert_eq!(dev.stdout, yaml.stdout);
    // rulec inspect verifies: a trusted signer passes, another key fails.
    assert!(
        rulec(&dir, &["inspect", "s.lnb", "--trust", "k.pub"])
            .status
            .success()
    );
    assert_eq!(
        rulec(&dir, &["inspect", "s.lnb", "--trust", "other.pub"])
            .status
            .code(),
        Some(1)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
