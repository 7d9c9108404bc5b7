//! The source-map property of YAML scalars: every character of a decoded value maps back to
//! the text that produced it.
//!
//! For each character of a value: a verbatim character maps to the same character in the file;
//! a space or newline produced by folding a line break maps to that line break; a character
//! produced by an escape maps to the escape's backslash (or, for `''`, to a quote).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use lanner_syntax::scalar::{Scalar, ScalarStyle};
use lanner_syntax::yaml;

/// Check the property for one scalar; returns a description of the first violation.
fn violation(text: &str, s: &Scalar) -> Option<String> {
    for (off, ch) in s.value.char_indices() {
        let f = s.map.to_file(off);
        let at = text.get(f..).unwrap_or("");
        let ok = at.starts_with(ch)
            || ((ch == ' ' || ch == '\n') && (at.starts_with('\n') || at.starts_with('\r')))
            || at.starts_with('\\');
        if !ok {
            return Some(format!(
                "value {:?} ({:?}): char {:?} at value offset {off} maps to file offset {f} where the text is {:?}",
                s.value,
                s.style,
                ch,
                at.chars().take(10).collect::<String>()
            ));
        }
    }
    // The end of the value maps somewhere inside the file.
    if s.map.to_file(s.value.len()) > text.len() {
        return Some(format!("value {:?}: end maps past the file", s.value));
    }
    // The span covers every mapped character.
    for (off, _) in s.value.char_indices() {
        let f = s.map.to_file(off);
        if f < s.span.start as usize || f >= (s.span.end as usize).max(s.span.start as usize + 1) {
            return Some(format!(
                "value {:?}: offset {off} maps to {f}, outside the span {:?}",
                s.value, s.span
            ));
        }
    }
    None
}

fn assert_all(text: &str) -> Vec<Scalar> {
    let scalars = yaml::scalars(text);
    for s in &scalars {
        if let Some(v) = violation(text, s) {
            panic!("{v}\nin:\n{text}");
        }
    }
    scalars
}

/// The scalar with the given decoded value.
fn find<'a>(scalars: &'a [Scalar], value: &str) -> &'a Scalar {
    scalars
        .iter()
        .find(|s| s.value == value)
        .unwrap_or_else(|| {
            panic!(
                "no scalar {value:?} in {:?}",
                scalars.iter().map(|s| &s.value).collect::<Vec<_>>()
            )
        })
}

#[test]
fn plain_multi_line() {
    let text = "- rule: a\n  condition: evt.type = open\n    and proc.name   \n\n    in (cat)  # c\n  x: y\n";
    let scalars = assert_all(text);
    let s = find(&scalars, "evt.type = open and proc.name\nin (cat)");
    assert_eq!(s.style, ScalarStyle::Plain);
    // The folded space maps to the line break after `open`.
    let sp = s.value.find(" and").unwrap();
    assert_eq!(&text[s.map.to_file(sp)..s.map.to_file(sp) + 1], "\n");
    let and = text.find("and proc").unwrap();
    assert_eq!(s.map.to_file(sp + 1), and);
    assert_eq!(
        &text[s.span.range()],
        "evt.type = open\n    and proc.name   \n\n    in (cat)"
    );
    assert_eq!(
        s.span_of(sp + 1, sp + 4),
        lanner_syntax::Span::new(and, and + 3)
    );
}

#[test]
fn single_quoted() {
    let text = "- a: 'it''s   \n    folded\n\n     twice '\n";
    let scalars = assert_all(text);
    let s = find(&scalars, "it's folded\ntwice ");
    assert_eq!(s.style, ScalarStyle::SingleQuoted);
    // The decoded quote maps to the first quote of `''`.
    assert_eq!(s.map.to_file(2), text.find("''").unwrap());
    assert_eq!(s.map.to_file(3), text.find("s   ").unwrap());
    assert_eq!(
        &text[s.span.range()],
        "'it''s   \n    folded\n\n     twice '"
    );
}

#[test]
fn double_quoted_escapes() {
    let text = "- a: \"t\\tb\\\\ q\\\" x\\x41 u\\u00e9 U\\U0001F600 sp\\  \\/ nl\\n\"\n";
    let scalars = assert_all(text);
    let s = find(&scalars, "t\tb\\ q\" xA u\u{e9} U\u{1F600} sp  / nl\n");
    assert_eq!(s.style, ScalarStyle::DoubleQuoted);
    for (needle, value_char) in [
        ("\\t", '\t'),
        ("\\x41", 'A'),
        ("\\u00e9", 'é'),
        ("\\U0001F600", '😀'),
        ("\\n", '\n'),
    ] {
        let off = s.value.find(value_char).unwrap();
        assert_eq!(s.map.to_file(off), text.find(needle).unwrap(), "{needle}");
    }
    // Verbatim text after an escape maps back exactly.
    let q = s.value.find(" q").unwrap();
    assert_eq!(s.map.to_file(q + 1), text.find("q\\\"").unwrap());
}

#[test]
fn double_quoted_line_breaks() {
    let text = "- a: \"one \\\n     two  \n   three\n\n   four\\\n\n   five\"\n";
    let scalars = assert_all(text);
    let s = find(&scalars, "one two three\nfour\nfive");
    let two = s.value.find("two").unwrap();
    assert_eq!(s.map.to_file(two), text.find("two").unwrap());
    // The space between `two` and `three` comes from folding the line break after `two  `.
    let sp = s.value.find(" three").unwrap();
    assert_eq!(s.map.to_file(sp), text.find("two  \n").unwrap() + 5);
}

#[test]
fn literal_block_with_chomping() {
    let text = "- a: |\n    line one\n      indented\n\n    last\n\n  b: |-\n    strip\n\n  c: |+\n    keep\n\n\n  d: x\n";
    let scalars = assert_all(text);
    let a = find(&scalars, "line one\n  indented\n\nlast\n");
    assert_eq!(a.style, ScalarStyle::Literal);
    assert_eq!(
        &text[a.span.range()],
        "|\n    line one\n      indented\n\n    last\n"
    );
    assert_eq!(
        a.map.to_file(a.value.find("indented").unwrap()),
        text.find("indented").unwrap()
    );
    find(&scalars, "strip");
    let c = find(&scalars, "keep\n\n\n");
    assert_eq!(&text[c.map.to_file(c.value.len() - 1)..][..1], "\n");
}

#[test]
fn folded_block_with_indentation_indicator() {
    let text = "- a: >\n    folded\n    text\n\n    para\n      more\n    end\n  b: >2-  # comment with > and |\n     lead\n    x\n  c: x\n";
    let scalars = assert_all(text);
    let a = find(&scalars, "folded text\npara\n  more\nend\n");
    assert_eq!(a.style, ScalarStyle::Folded);
    let sp = a.value.find(" text").unwrap();
    assert_eq!(a.map.to_file(sp), text.find("folded\n").unwrap() + 6);
    let b = find(&scalars, " lead\nx");
    assert_eq!(b.map.to_file(0), text.find(" lead").unwrap());
    assert!(text[b.span.range()].starts_with(">2-"));
}

#[test]
fn flow_sequences() {
    let text = "- list: l\n  items: [a, \"b c\" , 'd''e', f g,\n    \"h\\ti\"]\n";
    let scalars = assert_all(text);
    for v in ["a", "b c", "d'e", "f g", "h\ti"] {
        find(&scalars, v);
    }
    let bc = find(&scalars, "b c");
    assert_eq!(&text[bc.span.range()], "\"b c\"");
    assert_eq!(bc.map.to_file(0), text.find("b c").unwrap());
}

#[test]
fn anchors_tags_crlf_and_unicode() {
    let text =
        "- a: &x  !!str été\r\n  b: \"x\r\n    y\"\r\n  c: >\r\n    p\r\n    q\r\n  d: *x\r\n";
    let scalars = assert_all(text);
    let s = find(&scalars, "été");
    assert_eq!(s.map.to_file(0), text.find("été").unwrap());
    find(&scalars, "x y");
    find(&scalars, "p q\n");
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let text = "\u{feff}- rule: r\n  desc: d\n";
    let scalars = assert_all(text);
    assert_eq!(find(&scalars, "rule").span.start, 5);
}

fn upstream_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream-rules")
}

const UPSTREAM: &[&str] = &[
    "falco_rules.yaml",
    "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml",
];

#[test]
fn every_upstream_scalar_maps_back() {
    for name in UPSTREAM {
        let text = std::fs::read_to_string(upstream_dir().join(name)).unwrap();
        let scalars = assert_all(&text);
        assert!(
            scalars.len() > 1000,
            "{name}: only {} scalars",
            scalars.len()
        );
        // Multi-line and quoted styles are all present upstream, so all were exercised.
        for style in [
            ScalarStyle::Plain,
            ScalarStyle::Folded,
            ScalarStyle::DoubleQuoted,
            ScalarStyle::SingleQuoted,
        ] {
            assert!(
                scalars.iter().any(|s| s.style == style),
                "{name}: no {style:?} scalar"
            );
        }
    }
}

/// The oracle's broken files and the check fixtures exercise odd corners; every scalar in them
/// must map back too.
#[test]
fn every_fixture_scalar_maps_back() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dirs = [
        root.join("../../../shared/scap/oracle-falco/validate"),
        root.join("../rulec/tests/fixtures/check"),
    ];
    let mut seen = 0;
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert_all(&text);
                seen += 1;
            }
        }
    }
    assert!(seen >= 75, "{seen}");
}
