//! End-to-end with a real client: Neovim (Debian's 0.7.2) headless drives `rulec lsp` over
//! stdio through its built-in client: open a file with errors, wait for diagnostics, hover,
//! go to definition, rename across files, edit until the diagnostics clear, format.
//! Under `CI=true` a missing `nvim` is a failure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::Command;

fn nvim_available() -> bool {
    Command::new("nvim")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn neovim_session() {
    if !nvim_available() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "nvim is required under CI=true (apt-get install neovim)"
        );
        eprintln!("skipping: nvim is not installed");
        return;
    }
    let ws: PathBuf = std::env::temp_dir().join(format!("lanner-nvim-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&ws);
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(
        ws.join("a_rules.yaml"),
        "- macro: spawned_process\n  condition: evt.type = execve\n",
    )
    .unwrap();
    std::fs::write(
        ws.join("b_rules.yaml"),
        "- rule: shell\n  desc: d\n  condition: spawned_process and proc.nmae = bash\n  output: o %proc.name\n  priority: INFO\n- rule: other\n  desc: d\n  condition: spawned_process and undefined_one\n  output: o\n  priority: INFO\n",
    )
    .unwrap();
    let out = ws.join("out.json");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/nvim/session.lua");
    let status = Command::new("timeout")
        .arg("120")
        .arg("nvim")
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c"])
        .arg(format!("luafile {}", script.display()))
        .env("RULEC", env!("CARGO_BIN_EXE_rulec"))
        .env("WS", &ws)
        .env("OUT", &out)
        .status()
        .unwrap();
    assert!(status.success(), "nvim exited with {status}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&ws);
    eprintln!("{}", serde_json::to_string_pretty(&v).unwrap());

    assert_eq!(v["got_diagnostics"], true, "no diagnostics arrived");
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(codes, ["L301", "L201"], "{v}");
    // The unknown field is reported at 0-based line 2, column 33.
    assert_eq!(v["diagnostics"][0]["lnum"], 2);
    assert_eq!(v["diagnostics"][0]["col"], 33);

    let field = v["hover_field"]["contents"]["value"].as_str().unwrap();
    assert!(field.contains("`proc.name`"), "{field}");
    let mac = v["hover_macro"]["contents"]["value"].as_str().unwrap();
    assert!(mac.contains("**macro** `spawned_process`"), "{mac}");
    assert!(mac.contains("evt.type = execve"), "{mac}");

    let def = &v["definition"];
    assert!(
        def["uri"].as_str().unwrap().ends_with("/a_rules.yaml"),
        "{def}"
    );
    assert_eq!(def["range"]["start"]["line"], 0);
    assert_eq!(def["range"]["start"]["character"], 9);

    assert_eq!(v["rename_files"], 2);
    assert!(
        v["a_after_rename"]
            .as_str()
            .unwrap()
            .starts_with("- macro: spawned\n")
    );
    let b = v["b_after_rename"].as_str().unwrap();
    assert_eq!(b.matches("spawned and").count(), 2, "{b}");
    assert_eq!(v["field_col_after_rename"], 25);
    assert_eq!(
        v["settled"], true,
        "after the rename the same two errors are left: {v}"
    );
    assert_eq!(
        v["cleared"], true,
        "fixing the field clears its diagnostic: {v}"
    );

    let before = v["before_format"].as_str().unwrap();
    let expected = lanner_syntax::format::format(before).unwrap();
    assert_ne!(before, expected, "the fixture is not formatted yet");
    assert_eq!(v["after_format"].as_str().unwrap(), expected);
}
