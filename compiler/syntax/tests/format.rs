//! The formatter: snapshots of formatted fixtures (`tests/fixtures/format/*.yaml`), and
//! idempotence and stability over every rules file of the repository and the upstream rules.
//! That formatting keeps the checked program is tested in `rulec` (`tests/fmt.rs`), which has
//! the checker.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fmt::Write;
use std::path::{Path, PathBuf};

use lanner_syntax::format::{FormatError, format, format_range};
use lanner_syntax::span::Span;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Formats one text and renders the result; asserts idempotence on the way.
fn check(text: &str) -> String {
    match format(text) {
        Ok(out) => {
            let again = format(&out).unwrap();
            assert_eq!(again, out, "formatting is not idempotent");
            out
        }
        Err(FormatError::Syntax(diags)) => {
            let mut s = String::from("refused: the file is not valid YAML\n");
            for d in diags {
                let _ = writeln!(
                    s,
                    "{} {:?} {}",
                    d.code.id,
                    d.primary.span.range(),
                    d.message
                );
            }
            s
        }
        Err(e @ FormatError::Unstable(_)) => panic!("{e}: {:#?}", e.diagnostics()),
    }
}

#[test]
fn snapshots() {
    let mut n = 0;
    insta::glob!("fixtures/format/*.yaml", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        insta::assert_snapshot!(check(&text));
        n += 1;
    });
    assert!(n >= 8, "ran {n} format fixtures");
}

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

/// Every rules file Lanner has: the upstream rules, the stdlib, every fixture of the compiler.
pub fn corpus() -> Vec<PathBuf> {
    let root = root();
    let mut files = Vec::new();
    for f in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ] {
        files.push(root.join("../shared/upstream-rules").join(f));
    }
    for dir in [
        "stdlib-rules",
        "compiler/ruletest/tests/fixtures",
        "compiler/rulec/tests/fixtures",
        "compiler/check/tests/fixtures",
        "compiler/syntax/tests/fixtures",
    ] {
        yaml_files(&root.join(dir), &mut files);
    }
    files
}

#[test]
fn corpus_is_idempotent_and_stable() {
    let (mut formatted, mut refused, mut changed) = (0, 0, 0);
    for path in corpus() {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
        match format(&text) {
            Ok(out) => {
                let again = format(&out)
                    .unwrap_or_else(|e| panic!("`{}`: second pass: {e}", path.display()));
                assert_eq!(again, out, "`{}`: not idempotent", path.display());
                formatted += 1;
                changed += usize::from(out != text);
            }
            Err(FormatError::Syntax(_)) => refused += 1,
            Err(e) => panic!("`{}`: {e}: {:#?}", path.display(), e.diagnostics()),
        }
    }
    // The corpus as it is today; a fixture added changes these counts on purpose.
    eprintln!("formatted {formatted}, changed {changed}, refused {refused}");
    assert!(formatted >= 150, "formatted {formatted} files");
    assert!(changed >= 3, "changed {changed} files");
}

#[test]
fn range_formatting_touches_only_the_items_in_the_range() {
    let text =
        "- macro: a\n  condition: x.y=1 and x.z=2\n\n- macro: b\n  condition: x.y=3 and x.z=4\n";
    let second = text.find("- macro: b").unwrap();
    let edits = format_range(text, Span::new(second, second + 12)).unwrap();
    assert_eq!(edits.len(), 1, "{edits:?}");
    assert_eq!(
        lanner_syntax::format::apply(text, &edits),
        "- macro: a\n  condition: x.y=1 and x.z=2\n\n- macro: b\n  condition: >\n    x.y = 3\n    and x.z = 4\n"
    );
    // A range covering both gives the whole file's edits; an empty range inside a condition
    // gives that condition's.
    assert_eq!(
        format_range(text, Span::new(0, text.len())).unwrap().len(),
        2
    );
    let inside = text.find("x.z=2").unwrap();
    assert_eq!(format_range(text, Span::at(inside)).unwrap().len(), 1);
}
