//! The interpreter against Falco's verdicts: every `eval`-stage case of
//! `shared/reference/parser_cases.json`.
//!
//! Each case comes from a libsinsp unit test that evaluates a condition against one test
//! event. The events' field values are restated here, per test (and per line where one test
//! uses several events), from the libsinsp test sources the cases cite; the mock fields of
//! libsinsp's compiler tests and the test plugin's fields are declared as extra fields. A case
//! is parsed, type-checked, lowered and evaluated, and passes when the verdict is Falco's.
//! Cases that still differ are listed with a reason in `eval_exceptions.txt`; the test fails on
//! an unlisted failure and on a listed case that passes, so the list can only shrink.

// Helpers outside `#[test]` functions may unwrap too: a panic here is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use lanner_check::typeck::{self, Options};
use lanner_engine::{FieldRef, Fields, eval};
use lanner_schema::{
    ArgForm, ArgPresence, ArgSpec, Deprecation, FieldClass, FieldFlags, FieldInfo, FieldType,
    FilterCheck, PrintFormat, Provider,
};
use lanner_state::value::Value;
use lanner_syntax::FileId;
use lanner_syntax::condition::{self, OffsetMap, RULE_MAX_DEPTH};

const fn mock(name: &'static str, ty: FieldType) -> FieldInfo {
    FieldInfo {
        id: None,
        name,
        ty,
        is_list: false,
        arg: ArgSpec {
            presence: ArgPresence::None,
            form: ArgForm::None,
        },
        class: FieldClass::Util,
        check: FilterCheck::Util,
        provider: Provider::Libsinsp,
        source_agnostic: true,
        flags: FieldFlags::EMPTY,
        print_format: PrintFormat::Na,
        deprecation: Deprecation::No,
        any_ancestor: false,
        aliases: &[],
        description: "mock field of libsinsp's filter tests",
        extracted: false,
    }
}

/// Fields the cases use that Falco's schema does not have.
///
/// - `c.*`: libsinsp's `mock_compiler_filter_check` (filter_compiler.ut.cpp) ignores the
///   operator: `c.true` always matches, `c.false` never, and `c.singlequote`/`c.doublequote`
///   match when the constant is `hello 'quoted'`/`hello "quoted"`. Every case compares them
///   with `=`, so string fields holding `1`, `0` and those two texts behave the same.
/// - `sample.*`: fields of the `sample_syscall_extract` test plugin: `sample.is_open` (1 for
///   open events), `sample.proc_name` (the thread's name) and `sample.tick`.
static EXTRA_FIELDS: [FieldInfo; 7] = [
    mock("c.true", FieldType::Charbuf),
    mock("c.false", FieldType::Charbuf),
    mock("c.singlequote", FieldType::Charbuf),
    mock("c.doublequote", FieldType::Charbuf),
    mock("sample.is_open", FieldType::Uint64),
    mock("sample.proc_name", FieldType::Charbuf),
    mock("sample.tick", FieldType::Bool),
];

fn s(text: &str) -> Value<'static> {
    Value::Str(Cow::Owned(text.as_bytes().to_vec()))
}

fn b(bytes: &[u8]) -> Value<'static> {
    Value::Str(Cow::Owned(bytes.to_vec()))
}

fn v4(text: &str) -> Value<'static> {
    Value::Ipv4(text.parse::<Ipv4Addr>().unwrap())
}

fn v6(text: &str) -> Value<'static> {
    Value::Ipv6(text.parse::<Ipv6Addr>().unwrap())
}

/// The values of one test event, by field as written (`evt.arg[1]`, `evt.rawarg.size`).
type Event = Vec<(&'static str, Value<'static>)>;

/// `generate_getcwd_failed_entry_event()`: a failed getcwd (res = -2, path = /test/dir), with
/// the sample plugin registered in the tests that use it. It has no fd, so the fd fields are
/// missing, and it is a syscall event, so `evt.plugininfo` is too.
fn getcwd_event() -> Event {
    vec![
        ("evt.type", s("getcwd")),
        ("syscall.type", s("getcwd")),
        ("evt.source", s("syscall")),
        ("evt.num", Value::UInt(1)),
        ("evt.arg.res", s("ENOENT")),
        ("evt.arg[0]", s("ENOENT")),
        ("evt.arg.path", s("/test/dir")),
        ("evt.arg[1]", s("/test/dir")),
        ("evt.args", s("res=-2(ENOENT) path=/test/dir")),
        ("sample.is_open", Value::UInt(0)),
        ("sample.proc_name", s("init")),
        ("sample.tick", Value::Bool(false)),
    ]
}

/// `PPME_SYSCALL_OPEN_X` on `/tmp/file_to_run` (filter_transformer.ut.cpp).
fn file_to_run_event() -> Event {
    vec![
        ("evt.type", s("open")),
        ("evt.num", Value::UInt(1)),
        ("fd.name", s("/tmp/file_to_run")),
        ("fd.directory", s("/tmp")),
        ("fd.filename", s("file_to_run")),
        ("fd.types", Value::List(vec![s("file")])),
    ]
}

/// A connected TCP socket, client 172.40.111.222:54321, server 142.251.111.147:443.
fn ipv4_socket_event() -> Event {
    let (client, server) = ("172.40.111.222", "142.251.111.147");
    vec![
        ("fd.ip", Value::List(vec![v4(client), v4(server)])),
        ("fd.net", Value::List(vec![v4(client), v4(server)])),
        ("fd.cip", v4(client)),
        ("fd.sip", v4(server)),
        ("fd.rip", v4(client)),
        ("fd.lip", v4(server)),
    ]
}

/// A connected UDP socket, client [::1]:54321, server [2001:4860:4860::8888]:443.
fn ipv6_socket_event() -> Event {
    let (client, server) = ("::1", "2001:4860:4860::8888");
    vec![
        ("fd.ip", Value::List(vec![v6(client), v6(server)])),
        ("fd.net", Value::List(vec![v6(client), v6(server)])),
        ("fd.cip", v6(client)),
        ("fd.sip", v6(server)),
        ("fd.rip", v6(client)),
        ("fd.lip", v6(server)),
    ]
}

/// The event a case was evaluated against, from its libsinsp test and source line.
fn event(test: &str, line: u32) -> Event {
    match test.trim_start_matches("sinsp_with_test_input.") {
        "sinsp_filter_compiler.boolean_evaluation" | "sinsp_filter_compiler.str_escape" => vec![
            ("c.true", s("1")),
            ("c.false", s("0")),
            ("c.singlequote", s("hello 'quoted'")),
            ("c.doublequote", s("hello \"quoted\"")),
        ],
        "filter_simple_evaluation"
        | "filter_val_transformer"
        | "filter_transformers_combination"
        | "filter_cache_disabled"
        | "filter_cache_corner_cases"
        | "filter_cache_unary_check_plugin_ptr_instability"
        | "filter_regex_operator_evaluation"
        | "filter_str_op_modifier_evaluation" => getcwd_event(),
        // `generate_proc_exit_event(2, INIT_TID)`: the exit status and the reaper differ.
        "filter_cache_pointer_instability" => {
            vec![("evt.arg.ret", s("0")), ("evt.arg.reaper_tid", s("1"))]
        }
        // A read of "hello".
        "bytebuf_bcontains_bstartswith" => {
            vec![("evt.buffer", Value::Bytes(Cow::Borrowed(b"hello")))]
        }
        // A read of "a\0b".
        "bytebuf_matches_nul" => vec![("evt.buffer", Value::Bytes(Cow::Borrowed(b"a\0b")))],
        // An open of /opt/dir/SUBDIR/file.txt with O_RDWR|O_CREAT.
        "contains_icontains" => vec![
            ("evt.arg.flags", s("O_RDWR|O_CREAT")),
            ("fd.name", s("/opt/dir/SUBDIR/file.txt")),
        ],
        "net_ipv4_compare" | "net_modifier_ip_compare" => ipv4_socket_event(),
        "net_ipv6_compare" => ipv6_socket_event(),
        // On CPU 1: epoll_create returning -22, then (from line 65) a failed open (fd -1).
        "signed_int_compare" if line < 60 => vec![
            ("evt.cpu", Value::Int(1)),
            ("evt.rawarg.res", Value::Int(-22)),
        ],
        "signed_int_compare" => vec![("evt.cpu", Value::Int(1)), ("fd.num", Value::Int(-1))],
        // An open of /opt/dir/subdir/file.txt.
        "pmatch" => vec![("fd.name", s("/opt/dir/subdir/file.txt"))],
        // Line 397 is a socket (fd.types = ipv4, file), line 409 a read of six bytes.
        "len_transformer" if line == 397 => {
            vec![("fd.types", Value::List(vec![s("ipv4"), s("file")]))]
        }
        "len_transformer" if line == 409 => vec![("evt.arg.data", s("......"))],
        "basename_transformer"
        | "len_transformer"
        | "multivalue_transformer_join"
        | "multivalue_transformer_concat"
        | "multivalue_transformer_with_outer_transformer"
        | "multivalue_transformer_getopt" => file_to_run_event(),
        // `generate_execve_enter_and_exit_event(..., "/myexe", "myexe")`.
        t if t.starts_with("FILTERCHECK_MOD_") => {
            vec![("proc.name", s("myexe")), ("proc.exe", s("/myexe"))]
        }
        // A read of "gigi".
        "EVT_FILTER_data_buffer_str" => vec![("evt.arg.data", s("gigi"))],
        // A different event per line: epoll_create(size = -22), signalfd4(flags = 512),
        // timerfd_create(flags = 255), splice(size = 512), then an execve by root.
        "EVT_FILTER_rawarg_madness" => match line {
            37 => vec![("evt.rawarg.size", Value::Int(-22))],
            51 => vec![("evt.rawarg.flags", Value::UInt(512))],
            66 => vec![("evt.rawarg.flags", Value::UInt(255))],
            90 => vec![("evt.rawarg.size", Value::UInt(512))],
            _ => vec![
                ("evt.rawarg.uid", Value::UInt(0)),
                ("evt.rawarg.pgid", Value::Int(0)),
                ("evt.rawarg.gid", Value::UInt(0)),
            ],
        },
        // An open of "/p\xff/q\xff".
        "fd_fields_invalid_utf8_match" => vec![
            ("fd.name", b(b"/p\xff/q\xff")),
            ("fd.directory", b(b"/p\xff")),
            ("fd.filename", b(b"q\xff")),
            ("fs.path.name", b(b"/p\xff/q\xff")),
            ("evt.arg.name", b(b"/p\xff/q\xff")),
        ],
        "proc_fields_invalid_utf8_match" => vec![
            ("proc.name", b(b"bad\xff")),
            ("proc.exe", b(b"/bin/bad\xff")),
        ],
        "fspath_fields_invalid_utf8_match" => vec![
            ("fs.path.source", b(b"/tmp/s\xff")),
            ("fs.path.target", b(b"/tmp/t\xff")),
        ],
        "evt_abspath_invalid_utf8_match" => vec![("evt.abspath", b(b"/tmp/a\xff"))],
        "proc_cwd_invalid_utf8_match" => vec![("proc.cwd", b(b"/tmp/c\xff/"))],
        // A process whose ancestors are bash and init.
        "PROC_FILTER_aname" => vec![
            ("proc.name", s("good-exe")),
            ("proc.aname", Value::List(vec![s("bash"), s("init")])),
        ],
        other => panic!("no test event for {other} (line {line})"),
    }
}

/// Fields a test event deliberately lacks: the getcwd event has no fd and no plugin info.
const ABSENT: &[&str] = &["fd.ip", "fd.net", "evt.plugininfo"];

/// A table of field values. It remembers fields it was asked for but does not hold, so that a
/// case cannot pass only because its event was restated incompletely here.
struct Table {
    values: HashMap<String, Value<'static>>,
    unknown: Vec<String>,
}

impl Fields for Table {
    fn get(&mut self, field: &FieldRef) -> Option<Value<'_>> {
        let key = field.text.clone();
        let value = self.values.get(&key).cloned();
        if value.is_none() && !ABSENT.contains(&key.as_str()) {
            self.unknown.push(key);
        }
        value
    }
}

fn shared() -> PathBuf {
    lanner_testkit::shared()
}

/// Runs one case: `Ok(verdict)` or `Err(why it could not be evaluated)`.
fn run(expr: &str, test: &str, line: u32) -> Result<bool, String> {
    let map = OffsetMap {
        file: FileId(0),
        base: 0,
    };
    let (ast, parse_diags) = condition::parse(expr, &map, RULE_MAX_DEPTH);
    if let Some(d) = parse_diags.iter().find(|d| d.is_error()) {
        return Err(format!("parse error: {}", d.message));
    }
    let checked = typeck::check_with(
        &ast,
        &Options {
            extra_fields: &EXTRA_FIELDS,
        },
    );
    if let Some(d) = checked.diagnostics.iter().find(|d| d.is_error()) {
        return Err(format!("check error: {}", d.message));
    }
    let (program, root) = lanner_check::program::build_condition(&checked.expr)
        .map_err(|e| format!("invalid program: {e}"))?;
    let (lowered, _) = lanner_engine::program::condition(&program, root);
    let mut table = Table {
        values: event(test, line)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        unknown: Vec::new(),
    };
    let verdict = eval(&lowered, &mut table);
    if !table.unknown.is_empty() {
        return Err(format!("no test value for {}", table.unknown.join(", ")));
    }
    Ok(verdict)
}

/// `index<TAB>expression<TAB>reason` lines; `#` starts a comment.
fn exceptions() -> BTreeMap<usize, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/eval_exceptions.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut parts = l.splitn(3, '\t');
            let index = parts.next().unwrap().parse().unwrap();
            let _expr = parts.next().unwrap();
            let reason = parts.next().unwrap_or_else(|| panic!("no reason in {l:?}"));
            (index, reason.to_owned())
        })
        .collect()
}

#[test]
fn eval_cases() {
    let path = shared().join("reference/parser_cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let listed = exceptions();
    let (mut total, mut passed) = (0usize, 0usize);
    let mut problems = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        if case["stage"] != "eval" {
            continue;
        }
        total += 1;
        let expr = case["expr"].as_str().unwrap();
        let test = case["test"].as_str().unwrap();
        let source = case["source"].as_str().unwrap();
        let line: u32 = source.rsplit(':').next().unwrap().parse().unwrap();
        let expected = case["eval_result"].as_bool().unwrap();
        let outcome = run(expr, test, line);
        let ok = outcome == Ok(expected);
        passed += usize::from(ok);
        match (ok, listed.contains_key(&index)) {
            (false, false) => problems.push(format!(
                "{index}\t{expr}\texpected {expected}, got {outcome:?} ({test}, {source})"
            )),
            (true, true) => problems.push(format!(
                "{index}\t{expr}\tlisted in eval_exceptions.txt but passes now: remove it"
            )),
            _ => {}
        }
    }
    eprintln!("eval cases: {passed}/{total} agree with Falco");
    assert_eq!(total, 457, "the reference should hold 457 eval cases");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
