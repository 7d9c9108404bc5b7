//! Unit-level checks of the public API: field coverage, rendering, the container matcher and
//! the converter on hand-built events.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::borrow::Cow;
use std::net::Ipv4Addr;

use lanner_event::{Event, EventHeader};
use lanner_state::{Accessor, ContainerMatcher, Folder, State, Value, render};

/// Every field the upstream rules use (census.md §4 and §5) compiles to an accessor.
#[test]
fn census_fields_compile() {
    let census = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/census.md"),
    )
    .unwrap();
    let mut n = 0;
    for line in census.lines() {
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let Some((field, _)) = rest.split_once('`') else {
            continue;
        };
        if !field.contains('.') {
            continue;
        }
        let r = lanner_schema::resolve_text(field).unwrap_or_else(|e| panic!("{field}: {e}"));
        Accessor::compile(&r).unwrap_or_else(|e| panic!("{field}: {e}"));
        n += 1;
    }
    assert!(n > 100, "only {n} census fields found");
}

fn field(name: &str) -> &'static lanner_schema::FieldInfo {
    lanner_schema::resolve_text(name).unwrap().field
}

#[test]
fn rendering_follows_falco() {
    assert_eq!(render(field("proc.name"), None), "<NA>");
    assert_eq!(
        render(field("proc.name"), Some(&Value::str("bash"))),
        "bash"
    );
    assert_eq!(render(field("proc.pid"), Some(&Value::Int(-1))), "-1");
    assert_eq!(
        render(field("evt.is_open_read"), Some(&Value::Bool(true))),
        "true"
    );
    assert_eq!(
        render(
            field("fd.sip"),
            Some(&Value::Ipv4(Ipv4Addr::new(10, 0, 0, 1)))
        ),
        "10.0.0.1"
    );
    // Ancestor fields without an index print every ancestor separated by spaces.
    let chain = Value::List(vec![Value::str("bash"), Value::str("sshd")]);
    assert_eq!(render(field("proc.aname"), Some(&chain)), "bash sshd");
    // Other lists print as (a,b).
    let ips = Value::List(vec![Value::str("a"), Value::str("b")]);
    assert_eq!(render(field("fd.types"), Some(&ips)), "(a,b)");
    let buf = Value::Bytes(Cow::Borrowed(b"ab\x00c\n"));
    assert_eq!(render(field("evt.buffer"), Some(&buf)), "ab.c.");
}

#[test]
fn container_matcher_is_configurable() {
    let docker = b"/docker/697956520d891b5cb0e215093970c733549a3f745f52263c05b37f8a488994f3";
    let session = b"/process_api/6b3ac77f562b608e3a6a2db69a014634";
    let scope = b"/system.slice/docker-697956520d891b5cb0e215093970c733549a3f745f52263c05b37f8a488994f3.scope";
    let falco = ContainerMatcher::falco();
    assert_eq!(falco.match_path(docker).as_deref(), Some("697956520d89"));
    assert_eq!(falco.match_path(scope).as_deref(), Some("697956520d89"));
    assert_eq!(falco.match_path(session).as_deref(), Some("6b3ac77f562b"));
    assert_eq!(falco.match_path(b"/user.slice/user-1000.slice"), None);
    let strict = ContainerMatcher::runtimes_only();
    assert_eq!(strict.match_path(session), None);
    assert_eq!(strict.match_path(docker).as_deref(), Some("697956520d89"));
    assert_eq!(ContainerMatcher::disabled().match_path(docker), None);
}

fn event(ts: u64, tid: i64, ty: u16, params: &[&[u8]]) -> (Vec<u8>, Vec<u8>, EventHeader) {
    let mut lens = Vec::new();
    let mut values = Vec::new();
    for p in params {
        lens.extend_from_slice(&(p.len() as u16).to_le_bytes());
        values.extend_from_slice(p);
    }
    let header = EventHeader {
        ts,
        tid,
        cpu: 0,
        event_type: ty,
        dump_flags: 0,
    };
    (lens, values, header)
}

/// An old `open` enter/exit pair becomes one exit with the enter's flags, numbered after the
/// (hidden, numbered) enter; a `read` enter is dropped without a number.
#[test]
fn converter_folds_enter_into_exit() {
    let mut folder = Folder::new();
    let mut state = State::new();
    let name = b"/etc/passwd\0";
    let (l, v, h) = event(10, 7, 2, &[name, &1u32.to_le_bytes(), &0u32.to_le_bytes()]);
    let enter = Event::from_parts(h, false, &l, &v).unwrap();
    let d = folder.accept(&enter);
    assert!(d.parsed && !d.delivered);
    assert_eq!(d.num, 1);
    let (l, v, h) = event(20, 7, 3, &[&3i64.to_le_bytes(), name]);
    let exit = Event::from_parts(h, false, &l, &v).unwrap();
    let d = folder.accept(&exit);
    assert!(d.delivered);
    assert_eq!(d.num, 2);
    let ev = folder.current().unwrap();
    assert_eq!(ev.ts(), 20);
    assert_eq!(ev.nparams(), 6);
    state.process(&ev);
    state.current.num = d.num;
    let get = |f: &str| {
        let acc = Accessor::compile(&lanner_schema::resolve_text(f).unwrap()).unwrap();
        render(acc.field(), acc.extract(&ev, &state).as_ref())
    };
    assert_eq!(get("evt.num"), "2");
    assert_eq!(get("evt.type"), "open");
    assert_eq!(get("evt.is_open_read"), "true");
    assert_eq!(get("fd.name"), "/etc/passwd");
    assert_eq!(get("fd.directory"), "/etc");
    assert_eq!(get("fd.typechar"), "f");
    // A thread Falco never saw gets the placeholder values.
    assert_eq!(get("proc.name"), "<NA>");
    assert_eq!(get("proc.pid"), "-1");
    assert_eq!(
        get("evt.args"),
        "fd=3(<f>/etc/passwd) name=/etc/passwd flags=1(O_RDONLY) mode=0 dev=<NA> ino=<NA>"
    );
    assert_eq!(get("evt.type.is.open"), "1");
    assert_eq!(get("evt.type.is.close"), "0");
    assert_eq!(get("evt.rawtime.ns"), "000000020");
    assert_eq!(get("evt.datetime"), "1970-01-01 00:00:00.000000020");
    assert_eq!(get("evt.time"), "00:00:00.000000020");
    assert_eq!(get("syscall.type"), "open");
    assert_eq!(get("thread.ismain"), "false");
    // read enter (6): stored, no number.
    let (l, v, h) = event(30, 7, 6, &[&3i64.to_le_bytes(), &16u32.to_le_bytes()]);
    let d = folder.accept(&Event::from_parts(h, false, &l, &v).unwrap());
    assert!(!d.parsed && !d.delivered && d.num == 0);
    assert_eq!(folder.last_num(), 2);
}

/// `Folding` over a reader yields exactly the events Falco delivers, numbered as Falco does.
#[test]
fn folding_source_delivers_falco_events() {
    use lanner_event::{EventSource, ScapReader};
    use lanner_state::Folding;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/scap/captures/cat_write.scap");
    let mut src = Folding::new(ScapReader::open(&path).unwrap());
    let mut n = 0;
    let mut last = 0;
    while let Some(ev) = src.next_event().unwrap() {
        assert!(ev.ts() > 0);
        n += 1;
        last = src.evt_num();
    }
    // oracle-falco/events_totals.tsv: 303 delivered, largest evt.num 307.
    assert_eq!((n, last), (303, 307));
}

/// `proc.aname` without index lists every ancestor, parent first, consistent with the indexed
/// forms, and renders space-separated.
#[test]
fn ancestor_list_matches_indexed_fields() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/scap/captures/cat_write.scap");
    let compile = |f: &str| Accessor::compile(&lanner_schema::resolve_text(f).unwrap()).unwrap();
    let (list, a1, a2, apid1, ppid) = (
        compile("proc.aname"),
        compile("proc.aname[1]"),
        compile("proc.aname[2]"),
        compile("proc.apid[1]"),
        compile("proc.ppid"),
    );
    let mut checked = 0;
    lanner_state::Replay::run_file(&path, ContainerMatcher::falco(), |ev, st, num| {
        if num != 137 {
            return;
        }
        let Some(Value::List(items)) = list.extract(ev, st) else {
            panic!("no ancestors at evt.num 137");
        };
        assert_eq!(Some(&items[0]), a1.extract(ev, st).as_ref());
        assert_eq!(Some(&items[1]), a2.extract(ev, st).as_ref());
        assert_eq!(apid1.extract(ev, st), ppid.extract(ev, st));
        let text = render(list.field(), Some(&Value::List(items.clone())));
        assert!(text.starts_with("bash "), "{text}");
        checked += 1;
    })
    .unwrap();
    assert_eq!(checked, 1);
}

/// `container.start_ts` is the container plugin's: the start time of the thread's pid-namespace
/// init from the thread table (not the container engine's), no value when the table has none.
#[test]
fn container_start_ts_is_the_pidns_init_start() {
    let mut state = State::new();
    let cgroups =
        b"cpuset=/docker/3ad7b26ded6d8e1f2a9c4b5d6e7f80919293949596979899a0a1a2a3a4a5a6a7\0";
    state.add_thread_info(&lanner_event::records::ThreadInfo {
        tid: 10,
        pid: 10,
        comm: b"nginx",
        cgroups,
        pidns_init_start_ts: 1_700_000_000_000_000_000,
        ..Default::default()
    });
    state.add_thread_info(&lanner_event::records::ThreadInfo {
        tid: 11,
        pid: 11,
        comm: b"bash",
        ..Default::default()
    });
    let get = |tid: i64| {
        let (l, v, h) = event(5, tid, 6, &[&3i64.to_le_bytes(), &16u32.to_le_bytes()]);
        let ev = Event::from_parts(h, false, &l, &v).unwrap();
        let acc =
            Accessor::compile(&lanner_schema::resolve_text("container.start_ts").unwrap()).unwrap();
        acc.extract(&ev, &state)
            .map(|x| render(acc.field(), Some(&x)))
    };
    assert_eq!(get(10).as_deref(), Some("1700000000000000000"));
    assert_eq!(get(11), None);
}
