//! What every test suite needs to find its inputs, defined once.
//!
//! The reference data lives in `../shared` beside the repository. A test that reads it must
//! not pass because it is missing: under `CI=true` a missing input is a failure (a panic
//! naming the path); elsewhere [`shared_or_skip`] lets a developer without the folder skip,
//! and says so. Corpus tests list their inputs with [`files`], which fails on a missing or
//! empty folder, and then assert how many cases they ran.

// A test helper's failure is a test failure: panicking with the path is its purpose.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};

/// True when running in CI (`CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The reference folder `../shared` beside the repository. Panics if it is missing, so a
/// test reading it can never pass without it.
pub fn shared() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    if !p.is_dir() {
        panic!(
            "the reference folder {} is missing: the tests need ../shared beside the repository",
            p.display()
        );
    }
    p
}

/// The reference folder, or `None` outside CI when it is missing (the caller skips and says
/// so). Under `CI=true` a missing folder panics.
pub fn shared_or_skip() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    if p.is_dir() {
        return Some(p);
    }
    if in_ci() {
        panic!(
            "the reference folder {} is missing; under CI=true a missing input is a failure",
            p.display()
        );
    }
    eprintln!("skipping: {} not found", p.display());
    None
}

/// The files of `dir` whose name ends with `suffix`, sorted. Panics if the folder is missing
/// or holds none, so a corpus test cannot pass on an empty corpus.
pub fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    out.sort();
    if out.is_empty() {
        panic!("{} holds no `*{suffix}` file", dir.display());
    }
    out
}

/// The text of an input file. Panics with the path if it cannot be read: a missing oracle is
/// never an empty one.
pub fn read(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => panic!("{}: {e}", path.display()),
    }
}
