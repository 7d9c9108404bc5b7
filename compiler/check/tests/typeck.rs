//! The type checker on hand-written conditions: typed expressions and diagnostics as
//! snapshots, plus targeted assertions on values, codes and messages.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;

use lanner_check::evttypes::{self, EventSet};
use lanner_check::typeck::{self, Lit, TExpr, TRhs, TypedCondition, UnknownReason};
use lanner_syntax::FileId;
use lanner_syntax::condition::{self, OffsetMap, RULE_MAX_DEPTH};

fn check(text: &str) -> TypedCondition {
    let map = OffsetMap {
        file: FileId(0),
        base: 0,
    };
    let (ast, diags) = condition::parse(text, &map, RULE_MAX_DEPTH);
    assert!(
        diags.iter().all(|d| !d.is_error()),
        "parse error in {text}: {diags:?}"
    );
    typeck::check(&ast)
}

/// Everything a backend or a user would see, as text.
fn render(text: &str) -> String {
    let checked = check(text);
    let (set, set_diags) = evttypes::compute(&checked.expr);
    let mut out = String::new();
    writeln!(out, "condition: {text}").unwrap();
    writeln!(out, "typed:     {}", checked.expr).unwrap();
    writeln!(out, "evttypes:  {set} ({} codes)", set.len()).unwrap();
    for d in checked.diagnostics.iter().chain(set_diags.iter()) {
        let range = d.primary.span.range();
        let snippet = text.get(range.clone()).unwrap_or("");
        writeln!(
            out,
            "{}[{}]: {} ({}..{} `{}`)",
            d.severity.as_str(),
            d.code.id,
            d.message,
            range.start,
            range.end,
            snippet
        )
        .unwrap();
        if let Some(help) = &d.help {
            writeln!(out, "  help: {help}").unwrap();
        }
        for note in &d.notes {
            writeln!(out, "  note: {note}").unwrap();
        }
        if let Some(falco) = d.code.falco {
            writeln!(out, "  falco: {falco}").unwrap();
        }
    }
    out
}

const SNAPSHOTS: &[(&str, &str)] = &[
    (
        "typed_values",
        "evt.type in (open, openat, openat) and fd.num >= 0 and proc.pid != -1 \
         and fd.sport in (ssh, 8080) and fd.snet = 10.0.0.0/8 and fd.sip = ::1 \
         and evt.buffer bcontains CAFEbabe and proc.name regex 'ba(sh|zsh)' \
         and not proc.aname[2] startswith anyof (sh, bash) and evt.is_io = true",
    ),
    (
        "transformers_and_field_rhs",
        "tolower(proc.name) = val(proc.pname) and len(proc.args) > 3 \
         and join(\",\", (proc.name, \"x\")) = a and getopt((proc.name, \"-t\", \"x\"), \"t:\")[t] = b",
    ),
    (
        "unknown_field_and_operator",
        "proc.nme = bash and evt.cpu contains 1 and fd.num = abc",
    ),
    (
        "unknown_event_type",
        "evt.type in (opn, execve) and evt.type = close",
    ),
    (
        "warnings",
        "evt.source = proc.pname and evt.dir = < and evt.source regex '.*syscall' \
         and proc.name = 'toupper(proc.name)'",
    ),
    (
        "holes_and_macros",
        "spawned_process and evt.type = execve and not never_true",
    ),
    ("evt_num_invariant", "evt.type = openat and evt.num = 0"),
    (
        "operand_errors_reported_together",
        "toupper(fd.num) = val(proc.nmae) and thread.cpu = 1.5",
    ),
];

#[test]
fn snapshots() {
    insta::with_settings!({
        snapshot_path => "../../../tests/snapshots/typeck",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        for (name, text) in SNAPSHOTS {
            insta::assert_snapshot!(*name, render(text));
        }
    });
}

fn only_check(text: &str) -> typeck::TCheck {
    let checked = check(text);
    assert!(!checked.has_errors(), "{text}: {:?}", checked.diagnostics);
    match checked.expr {
        TExpr::Check(c) => *c,
        other => panic!("not a check: {other:?}"),
    }
}

fn codes(text: &str) -> Vec<&'static str> {
    check(text).diagnostics.iter().map(|d| d.code.id).collect()
}

#[test]
fn values_are_parsed_to_the_field_type() {
    // A negative literal wraps for unsigned fields, at the field's width.
    let c = only_check("evt.num = -1");
    assert!(matches!(c.rhs, TRhs::Value(ref v) if v.lit == Lit::UInt(u64::MAX)));
    let c = only_check("evt.count = -1");
    assert!(matches!(c.rhs, TRhs::Value(ref v) if v.lit == Lit::UInt(u64::from(u32::MAX))));
    let c = only_check("proc.pid = -1");
    assert!(matches!(c.rhs, TRhs::Value(ref v) if v.lit == Lit::Int(-1)));
    let c = only_check("fd.sport = https");
    assert!(matches!(c.rhs, TRhs::Value(ref v) if v.lit == Lit::UInt(443)));
    let c = only_check("proc.name in (b, a, b)");
    let TRhs::List(items, _) = &c.rhs else {
        panic!("no list")
    };
    let texts: Vec<&str> = items.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, vec!["a", "b"]);
    // `oneof` counts matches, so the list stays as written.
    let c = only_check("proc.name = oneof (b, a, b)");
    let TRhs::List(items, _) = &c.rhs else {
        panic!("no list")
    };
    assert_eq!(items.len(), 3);
    let c = only_check("evt.buffer = \"a\\x00b\"");
    assert!(matches!(c.rhs, TRhs::Value(ref v) if v.lit == Lit::Bytes(b"a\0b".to_vec())));
    let c = only_check("proc.name regex 'a.c'");
    let TRhs::Value(v) = &c.rhs else {
        panic!("no value")
    };
    let Lit::Regex(p) = &v.lit else {
        panic!("no regex")
    };
    assert!(p.regex().is_match("abc"));
    assert!(!p.regex().is_match("xabc"), "regex is a full match");
}

#[test]
fn value_errors_have_codes() {
    assert_eq!(codes("fd.num = 0x10"), vec!["L320"]);
    assert_eq!(codes("fd.num = 10ms"), vec!["L320"]);
    assert_eq!(codes("evt.is_io = TRUE"), vec!["L321"]);
    assert_eq!(codes("fd.sip = 10.0.0"), vec!["L322"]);
    assert_eq!(codes("fd.snet = 10.0.0.0"), vec!["L322"]);
    assert_eq!(codes("fd.sport = nosuchservice"), vec!["L323"]);
    assert_eq!(codes("evt.buffer bcontains abc"), vec!["L324"]);
    assert_eq!(codes("proc.name regex 'a('"), vec!["L325"]);
    assert_eq!(codes("proc.name = \"a\\x00\""), vec!["L326"]);
    assert_eq!(codes("evt.type = opn"), vec!["L327"]);
}

#[test]
fn field_errors_have_codes_and_hints() {
    let checked = check("proc.nme = bash");
    let d = &checked.diagnostics[0];
    assert_eq!(d.code.id, "L301");
    assert_eq!(d.message, "unknown field `proc.nme`");
    assert_eq!(d.help.as_deref(), Some("did you mean `proc.name`?"));
    assert_eq!(d.code.falco, Some("LOAD_ERR_COMPILE_CONDITION"));

    let checked = check("evt.cpu contains 1");
    let d = &checked.diagnostics[0];
    assert_eq!(
        d.message,
        "operator `contains` does not apply to `evt.cpu` (a number)"
    );
    assert!(d.help.as_deref().unwrap().contains("`<=`"));

    let checked = check("fd.num = abc");
    assert_eq!(
        checked.diagnostics[0].message,
        "`abc` is not a valid number for `fd.num`"
    );

    let checked = check("evt.type = opn");
    assert_eq!(checked.diagnostics[0].message, "unknown event type `opn`");
    assert!(
        checked.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("`open`")
    );

    assert_eq!(codes("proc.aname[x] = bash"), vec!["L302"]);
    assert_eq!(codes("proc.name[1] = bash"), vec!["L302"]);
    assert_eq!(codes("evt.arg.nosuchparam = 1"), vec!["L305"]);
    assert_eq!(codes("evt.rawarg.nosuchparam = 1"), vec!["L305"]);
    assert!(codes("evt.rawarg.res < 0").is_empty());
    assert!(codes("evt.arg.fd = 3").is_empty());
}

#[test]
fn container_and_k8s_fields_are_known() {
    assert!(codes("container.id != host and k8s.ns.name = default").is_empty());
    assert!(codes("container.image.repository in (docker.io/library/nginx)").is_empty());
}

#[test]
fn warnings_carry_falco_codes() {
    let checked = check("evt.dir = < and evt.latency > 10 and evt.wait_latency > 1");
    assert!(!checked.has_errors());
    let falco: Vec<_> = checked
        .diagnostics
        .iter()
        .map(|d| (d.code.id, d.code.falco))
        .collect();
    assert_eq!(
        falco,
        vec![("L304", Some("LOAD_DEPRECATED_ITEM")); 3],
        "{:?}",
        checked.diagnostics
    );
    let checked = check("proc.name = proc.pname");
    assert_eq!(
        checked.diagnostics[0].code.falco,
        Some("LOAD_COMPILE_CONDITION")
    );
}

#[test]
fn unknown_parts_do_not_cascade() {
    let checked = check("a_macro and proc.nme = x and evt.type = open");
    assert_eq!(
        codes("a_macro and proc.nme = x and evt.type = open"),
        vec!["L301"]
    );
    let TExpr::And(children, _) = &checked.expr else {
        panic!("not an and")
    };
    assert!(
        matches!(&children[0], TExpr::Unknown(u) if u.reason == UnknownReason::Macro("a_macro".into()))
    );
    assert!(matches!(&children[1], TExpr::Unknown(u) if u.reason == UnknownReason::Invalid));
    assert!(matches!(&children[2], TExpr::Check(_)));
    let (set, diags) = evttypes::compute(&checked.expr);
    assert!(diags.is_empty());
    assert_eq!(set, EventSet::of_name("open").unwrap());
}

#[test]
fn event_sets() {
    let set = |text: &str| evttypes::compute(&check(text).expr).0;
    let execve = EventSet::of_name("execve").unwrap();
    assert_eq!(execve.len(), 16);
    assert_eq!(set("evt.type = execve"), execve);
    assert_eq!(set("syscall.type = execve"), execve);
    assert_eq!(set("evt.type != execve"), execve.complement());
    assert_eq!(set("evt.type in ()"), EventSet::new());
    assert_eq!(set("not evt.type exists"), EventSet::new());
    assert_eq!(set("evt.type startswith exec"), EventSet::all());
    assert_eq!(set("evt.type = anyof (execve)"), EventSet::all());
    // Operators the index does not understand leave `evt.type` alone, transformed or not.
    let (all, diags) = evttypes::compute(&check("tolower(evt.type) contains exec").expr);
    assert_eq!((all, diags.len()), (EventSet::all(), 0));
    let (_, diags) = evttypes::compute(&check("tolower(evt.type) = execve").expr);
    assert_eq!(diags[0].code.id, "L335");
    assert_eq!(set("evt.num in (0) and proc.name = x"), EventSet::new());
    assert!(evttypes::matches_too_many(&set("proc.name = x")));
    assert!(!evttypes::matches_too_many(&set(
        "evt.type in (open, openat, openat2)"
    )));
    let names = set("evt.type in (openat, close)").names();
    assert_eq!(names, vec!["close", "openat"]);
}

/// A plugin field, as a loaded plugin would declare it.
static PLUGIN_FIELDS: [lanner_schema::FieldInfo; 1] = [lanner_schema::FieldInfo {
    id: None,
    name: "ka.user.name",
    ty: lanner_schema::FieldType::Charbuf,
    is_list: false,
    arg: lanner_schema::ArgSpec::NONE,
    class: lanner_schema::FieldClass::Util,
    check: lanner_schema::FilterCheck::Util,
    provider: lanner_schema::Provider::Libsinsp,
    source_agnostic: false,
    flags: lanner_schema::FieldFlags::EMPTY,
    print_format: lanner_schema::PrintFormat::Na,
    deprecation: lanner_schema::Deprecation::No,
    any_ancestor: false,
    aliases: &[],
    description: "k8saudit plugin field (test double)",
    extracted: false,
}];

#[test]
fn extra_fields_and_unsafe_na_checks() {
    let map = OffsetMap {
        file: FileId(0),
        base: 0,
    };
    let options = typeck::Options {
        extra_fields: &PLUGIN_FIELDS,
    };
    let (ast, _) = condition::parse(
        "ka.user.name = <NA> or ka.user.name in (a, <NA>)",
        &map,
        RULE_MAX_DEPTH,
    );
    let checked = typeck::check_with(&ast, &options);
    let got: Vec<_> = checked
        .diagnostics
        .iter()
        .map(|d| (d.code.id, d.code.falco))
        .collect();
    assert_eq!(got, vec![("L343", Some("LOAD_UNSAFE_NA_CHECK")); 2]);
    assert!(!checked.has_errors());
    // Without the plugin the field is unknown.
    assert_eq!(codes("ka.user.name = x"), vec!["L301"]);
}

#[test]
fn evt_around_only_takes_equality() {
    assert!(codes("evt.around[1404996934793590564] = 1000").is_empty());
    assert_eq!(
        codes("evt.around[1404996934793590564] != 1000"),
        vec!["L310"]
    );
}
