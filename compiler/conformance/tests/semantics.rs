//! The interpreter's semantics on conditions compiled by the checker: missing values,
//! short-circuiting, unknown parts, ancestor and endpoint matching.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::net::Ipv4Addr;

use lanner_syntax::FileId;
use lanner_syntax::condition::{self, OffsetMap};

use lanner_engine::ir::{Arg, Check, Lit, Matching, Operand, Rhs, Transform};
use lanner_engine::{Expr, FieldRef, Fields, eval};
use lanner_schema::{Operator, Transformer};
use lanner_state::value::Value;

/// A table of values that counts lookups, to observe short-circuiting.
#[derive(Default)]
struct Table {
    values: HashMap<&'static str, Value<'static>>,
    lookups: usize,
}

impl Fields for Table {
    fn get(&mut self, field: &FieldRef) -> Option<Value<'_>> {
        self.lookups += 1;
        self.values.get(field.text.as_str()).cloned()
    }
}

fn table(values: &[(&'static str, Value<'static>)]) -> Table {
    Table {
        values: values.iter().cloned().collect(),
        lookups: 0,
    }
}

fn s(text: &'static str) -> Value<'static> {
    Value::str(text)
}

fn ip(a: u8, b: u8, c: u8, d: u8) -> Value<'static> {
    Value::Ipv4(Ipv4Addr::new(a, b, c, d))
}

fn lower(text: &str) -> Expr {
    let map = OffsetMap {
        file: FileId(0),
        base: 0,
    };
    let (ast, diags) = condition::parse(text, &map, 100);
    assert!(!diags.iter().any(|d| d.is_error()), "{text}: {diags:?}");
    let checked = lanner_check::typeck::check(&ast);
    assert!(!checked.has_errors(), "{text}: {:?}", checked.diagnostics);
    let (program, root) = lanner_check::program::build_condition(&checked.expr).unwrap();
    lanner_engine::program::condition(&program, root).0
}

fn holds(text: &str, t: &mut Table) -> bool {
    eval(&lower(text), t)
}

#[test]
fn missing_values_make_every_check_false() {
    let mut t = table(&[]);
    for text in [
        "fd.name = /etc",
        "fd.name != /etc",
        "fd.name exists",
        "fd.name in (/etc)",
        "fd.name != anyof (/etc, /tmp)",
        "fd.num < 0",
        "fd.name = val(proc.name)",
    ] {
        assert!(!holds(text, &mut t), "{text}");
    }
    assert!(holds("not fd.name = /etc", &mut t));
    assert!(holds("not fd.name exists", &mut t));
    // The left side is missing although the right side is present, and the reverse.
    let mut t = table(&[("proc.name", s("bash"))]);
    assert!(!holds("proc.name = val(proc.pname)", &mut t));
    assert!(!holds("proc.pname = val(proc.name)", &mut t));
}

#[test]
fn and_or_short_circuit() {
    let mut t = table(&[("proc.name", s("bash"))]);
    assert!(holds("proc.name = bash or fd.name = x", &mut t));
    assert_eq!(t.lookups, 1);
    t.lookups = 0;
    assert!(!holds("proc.name = sh and fd.name = x", &mut t));
    assert_eq!(t.lookups, 1);
    t.lookups = 0;
    assert!(holds("proc.name = sh or proc.name = bash", &mut t));
    assert_eq!(t.lookups, 2);
}

#[test]
fn unknown_parts_are_false() {
    let map = OffsetMap {
        file: FileId(0),
        base: 0,
    };
    let (ast, _) = condition::parse("some_macro", &map, 100);
    let (program, root) =
        lanner_check::program::build_condition(&lanner_check::typeck::check(&ast).expr).unwrap();
    let expr = lanner_engine::program::condition(&program, root).0;
    assert!(!eval(&expr, &mut table(&[])));
    assert!(eval(&Expr::Not(Box::new(expr)), &mut table(&[])));
}

#[test]
fn ancestors_match_if_any_ancestor_does() {
    let mut t = table(&[
        (
            "proc.aname",
            Value::List(vec![s("bash"), s("sshd"), s("init")]),
        ),
        ("proc.aname[1]", s("bash")),
    ]);
    assert!(holds("proc.aname = sshd", &mut t));
    assert!(holds("proc.aname in (nginx, init)", &mut t));
    assert!(!holds("proc.aname = nginx", &mut t));
    // "Some ancestor is not named bash".
    assert!(holds("proc.aname != bash", &mut t));
    assert!(holds("proc.aname startswith ss", &mut t));
    assert!(holds("proc.aname exists", &mut t));
    // With a level, the field is one value.
    assert!(holds("proc.aname[1] = bash", &mut t));
    assert!(!holds("proc.aname[1] != bash", &mut t));
    // No ancestors at all: no value.
    let mut t = table(&[("proc.aname", Value::List(vec![]))]);
    assert!(!holds("proc.aname exists", &mut t));
    assert!(!holds("proc.aname != bash", &mut t));
    let mut t = table(&[("proc.aname", Value::List(vec![s("bash")]))]);
    assert!(!holds("proc.aname != bash", &mut t));
}

#[test]
fn endpoints_match_either_but_ne_needs_both() {
    let conn = Value::List(vec![ip(10, 0, 0, 1), ip(142, 251, 111, 147)]);
    let ports = Value::List(vec![Value::UInt(54321), Value::UInt(443)]);
    let mut t = table(&[
        ("fd.ip", conn.clone()),
        ("fd.net", conn),
        ("fd.port", ports),
    ]);
    assert!(holds("fd.ip = 10.0.0.1", &mut t));
    assert!(holds("fd.ip = 142.251.111.147", &mut t));
    assert!(!holds("fd.ip != 10.0.0.1", &mut t));
    assert!(holds("fd.ip != 10.0.0.2", &mut t));
    assert!(holds("fd.ip in (1.1.1.1, 142.251.111.147)", &mut t));
    assert!(holds("fd.net = 10.0.0.0/8", &mut t));
    assert!(!holds("fd.net != 10.0.0.0/8", &mut t));
    assert!(holds("fd.net != 192.168.0.0/16", &mut t));
    assert!(holds("fd.port = https", &mut t));
    assert!(holds("fd.port > 50000", &mut t));
    assert!(!holds("fd.port < 443", &mut t));
    assert!(!holds("fd.port != 443", &mut t));
    assert!(holds("fd.ip != allof (1.1.1.1, 2.2.2.2)", &mut t));
    assert!(!holds("fd.ip != allof (1.1.1.1, 10.0.0.1)", &mut t));
    // A server socket has one endpoint.
    let mut t = table(&[("fd.ip", Value::List(vec![ip(0, 0, 0, 0)]))]);
    assert!(holds("fd.ip != 10.0.0.1", &mut t));
    assert!(holds("fd.ip = 0.0.0.0", &mut t));
}

#[test]
fn list_fields_use_subset_and_overlap() {
    let mut t = table(&[("fd.types", Value::List(vec![s("ipv4"), s("file")]))]);
    assert!(holds("fd.types in (file, ipv4, unix)", &mut t));
    assert!(!holds("fd.types in (file, unix)", &mut t));
    assert!(holds("fd.types intersects (file, unix)", &mut t));
    assert!(!holds("fd.types intersects (pipe, unix)", &mut t));
    assert!(holds("fd.types exists", &mut t));
    assert!(holds("len(fd.types) = 2", &mut t));
    let mut t = table(&[("fd.types", Value::List(vec![]))]);
    assert!(!holds("fd.types in (file)", &mut t));
    assert!(!holds("fd.types intersects (file)", &mut t));
    assert!(!holds("fd.types exists", &mut t));
    assert!(holds("len(fd.types) = 0", &mut t));
}

#[test]
fn modifiers_count_the_list_as_written() {
    let mut t = table(&[("proc.name", s("myexe"))]);
    assert!(holds("proc.name == oneof (myexe, bash)", &mut t));
    assert!(!holds("proc.name == oneof (myexe, myexe)", &mut t));
    assert!(holds("proc.name == anyof (myexe, myexe)", &mut t));
    assert!(holds("proc.name == allof (myexe, myexe)", &mut t));
    assert!(holds("proc.name != allof (bash, sh)", &mut t));
    assert!(holds("proc.name glob anyof (x*, my*)", &mut t));
    assert!(holds("proc.name contains allof (my, exe)", &mut t));
    assert!(!holds("proc.name == anyof ()", &mut t));
    assert!(!holds("proc.name != allof ()", &mut t));
}

#[test]
fn sets_and_paths() {
    let mut t = table(&[
        ("proc.name", s("bash")),
        ("fd.name", s("/etc/ssh/sshd_config")),
        ("fd.num", Value::Int(3)),
    ]);
    assert!(holds("proc.name in (sh, bash)", &mut t));
    assert!(holds("proc.name intersects (sh, bash)", &mut t));
    assert!(!holds("proc.name in ()", &mut t));
    assert!(holds("fd.num in (1, 2, 3)", &mut t));
    assert!(holds("fd.name pmatch (/etc/ssh, /var)", &mut t));
    assert!(holds("fd.name pmatch (/etc/*/sshd_config)", &mut t));
    assert!(!holds("fd.name pmatch (/etc/ss)", &mut t));
}

#[test]
fn field_to_field() {
    let mut t = table(&[
        ("proc.name", s("bash")),
        ("proc.pname", s("bash")),
        ("proc.exe", s("/bin/BASH")),
    ]);
    assert!(holds("proc.name = val(proc.pname)", &mut t));
    assert!(!holds("proc.name != val(proc.pname)", &mut t));
    assert!(holds("proc.name = tolower(basename(proc.exe))", &mut t));
}

#[test]
fn transformers_without_a_value() {
    let mut t = table(&[("proc.name", s("!!"))]);
    assert!(!holds("b64(proc.name) exists", &mut t));
    assert!(!holds("b64(proc.name) != x", &mut t));
    assert!(holds("len(fd.name) = 0", &mut t));
    assert!(!holds("concat(proc.name, fd.name) exists", &mut t));
    let mut t = table(&[("proc.name", s("YmFzaA"))]);
    assert!(holds("b64(proc.name) = bash", &mut t));
}

#[test]
fn element_wise_transformers_keep_ancestor_matching() {
    // Built by hand: the checker rejects transformers on ancestor fields.
    let field = FieldRef {
        slot: 0,
        field: Some(lanner_schema::resolve("proc.aname", None).unwrap()),
        text: "proc.aname".to_owned(),
        ty: lanner_schema::ValueType::single(lanner_schema::FieldType::Charbuf),
        matching: Matching::AnyAncestor,
    };
    let wrap = |kind| {
        Operand::Transform(Box::new(Transform {
            kind,
            args: vec![Arg::Operand(Operand::Field(field.clone()))],
            option: None,
            ty: lanner_schema::ValueType::single(lanner_schema::FieldType::Charbuf),
        }))
    };
    let check = |lhs, lit| {
        Expr::Check(Box::new(Check {
            lhs,
            op: Operator::Eq,
            modifier: None,
            rhs: Rhs::Value(lit),
            set: None,
        }))
    };
    let mut t = table(&[("proc.aname", Value::List(vec![s("bash"), s("sshd")]))]);
    let upper = check(
        wrap(Transformer::ToUpper),
        Lit::Str(b"SSHD".as_slice().into()),
    );
    assert!(eval(&upper, &mut t));
    assert!(eval(&check(wrap(Transformer::Len), Lit::UInt(4)), &mut t));
    assert!(!eval(&check(wrap(Transformer::Len), Lit::UInt(2)), &mut t));
}
