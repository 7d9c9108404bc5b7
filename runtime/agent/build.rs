//! Compiles Lanner's own rules (`stdlib-rules/lanner_rules.yaml`) into the bundle the binary
//! embeds (`source::BUILTIN`), so `lanner run` and `lanner replay CAPTURE` work without a rules
//! file. The compiler is a build-dependency: it runs here, at build time, and is not linked
//! into the binary for this (the dependency rule in `program/tests/dependencies.rs` is about
//! what a crate links, normal and dev dependencies).

use std::path::PathBuf;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: building the built-in rules bundle: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR unset")?;
    let out = std::env::var_os("OUT_DIR").ok_or("OUT_DIR unset")?;
    let rules = PathBuf::from(manifest).join("../../stdlib-rules/lanner_rules.yaml");
    println!("cargo:rerun-if-changed={}", rules.display());
    let text = std::fs::read_to_string(&rules)
        .map_err(|e| format!("cannot read `{}`: {e}", rules.display()))?;
    // The name as the repository spells it, not this machine's absolute path: the bundle's
    // bytes do not depend on where the clone is.
    let name = "stdlib-rules/lanner_rules.yaml".to_owned();
    let program =
        lanner_check::driver::compile(vec![(name.clone(), text.clone())]).map_err(|d| {
            let msgs: Vec<String> = d.errors().map(|e| e.message.clone()).collect();
            format!("the rules have errors: {}", msgs.join("; "))
        })?;
    let info = lanner_bundle::BuildInfo {
        sources: vec![(name, text.into_bytes())],
        created: None,
        name: Some("lanner-stdlib".to_owned()),
        revision: None,
    };
    let bytes = lanner_bundle::build(&program, &info, None).map_err(|e| e.to_string())?;
    let path = PathBuf::from(out).join("stdlib.lnb");
    std::fs::write(&path, bytes).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}
