//! Property test: random well-typed conditions over random events, the JIT against the
//! interpreter. Each case is a program of `RULES` random conditions (fields of every operator
//! family, literal lists long enough to become sets, nested `and`/`or`/`not`), evaluated by both
//! engines on every delivered event of a shared capture and on a mutated copy of each (one
//! parameter replaced by the same parameter of another event), in both `rule_matching` modes.
//! proptest shrinks a failing case to a small condition and names it.
//!
//! Cases: `LANNER_PROPTEST_CASES` (default 64); every case evaluates `RULES` conditions on
//! ~2 × the capture's events, so the default is well over 100,000 condition × event pairs
//! (the test asserts the count).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::OnceLock;

use lanner_engine::ruleset::{RuleMatching, RuleSet};
use lanner_event::table::TableVersion;
use lanner_event::{Event, OwnedEvent, Record, ScapSliceReader};
use lanner_jit::Jit;
use lanner_program::{Builder, Check, Field, Lit, Node, NodeId, Operand, Rhs, Rule};
use lanner_schema::{FieldId, FieldType, Operator, TypeCategory};
use lanner_state::value::Value;
use lanner_state::{Accessor, ContainerMatcher, Replay};
use proptest::prelude::*;

const RULES: usize = 8;
const CAPTURE: &str = "scap/captures/open-multiple-files.scap";

const FIELDS: &[FieldId] = &[
    FieldId::ProcName,
    FieldId::ProcCmdline,
    FieldId::ProcExepath,
    FieldId::ProcPname,
    FieldId::ProcAname,
    FieldId::FdName,
    FieldId::FdDirectory,
    FieldId::FdFilename,
    FieldId::EvtType,
    FieldId::UserName,
    FieldId::EvtRawres,
    FieldId::ProcPid,
    FieldId::UserUid,
    FieldId::FdNum,
    FieldId::FdSport,
    FieldId::EvtFailed,
];

/// What the cases draw from: the capture's bytes, the values each field takes on it (so that
/// conditions match sometimes), and per event type the raw parameters seen (for mutations).
struct Pool {
    bytes: Vec<u8>,
    strings: Vec<Vec<u8>>,
    numbers: Vec<i64>,
    params: std::collections::HashMap<(u16, usize), Vec<Vec<u8>>>,
}

fn signed(ty: FieldType) -> bool {
    use FieldType::*;
    matches!(ty, Int8 | Int16 | Int32 | Int64 | Errno | Fd | Pid)
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let bytes = std::fs::read(lanner_testkit::shared().join(CAPTURE)).unwrap();
        let accessors: Vec<Accessor> = FIELDS
            .iter()
            .map(|f| {
                Accessor::compile(&lanner_schema::resolve_text(f.info().name).unwrap()).unwrap()
            })
            .collect();
        let mut strings = std::collections::BTreeSet::new();
        let mut numbers = std::collections::BTreeSet::from([0, 1, -1, 2, -2, 1000]);
        let mut params: std::collections::HashMap<(u16, usize), Vec<Vec<u8>>> = Default::default();
        let mut replay = Replay::new(ContainerMatcher::falco());
        for rec in ScapSliceReader::new(&bytes) {
            let rec = rec.unwrap();
            if let Some(d) = replay.record(&rec)
                && d.delivered
                && let Some(ev) = replay.event()
            {
                for (i, raw) in ev.raw_params().enumerate() {
                    let seen = params.entry((ev.event_type(), i)).or_default();
                    if seen.len() < 16 && !seen.iter().any(|s| s == raw) {
                        seen.push(raw.to_vec());
                    }
                }
                for a in &accessors {
                    let mut note = |v: &Value<'_>| match v {
                        Value::Str(s) if s.len() < 64 => {
                            strings.insert(s.to_vec());
                            // Prefixes and suffixes, so startswith/endswith/contains hit.
                            if s.len() > 3 {
                                strings.insert(s[..s.len() / 2].to_vec());
                                strings.insert(s[s.len() / 2..].to_vec());
                            }
                        }
                        Value::Int(i) => {
                            numbers.insert(*i);
                        }
                        Value::UInt(u) => {
                            numbers.insert(i64::try_from(*u).unwrap_or(i64::MAX));
                        }
                        _ => {}
                    };
                    match a.extract(&ev, &replay.state) {
                        Some(Value::List(items)) => items.iter().for_each(&mut note),
                        Some(v) => note(&v),
                        None => {}
                    }
                }
            }
        }
        for extra in [&b""[..], b"/", b"/etc", b"/tmp/", b"bash", b"*", b"a"] {
            strings.insert(extra.to_vec());
        }
        Pool {
            bytes,
            strings: strings.into_iter().collect(),
            numbers: numbers.into_iter().collect(),
            params,
        }
    })
}

/// A condition as proptest draws and shrinks it: indices into the field list, the operator
/// list of the field's family and the literal pools.
#[derive(Clone, Debug)]
enum Cond {
    Check {
        field: usize,
        op: usize,
        lits: Vec<usize>,
        glob_at: usize,
    },
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

fn cond() -> impl Strategy<Value = Cond> {
    let leaf = (
        0..FIELDS.len(),
        0usize..16,
        prop::collection::vec(0usize..10_000, 1..10),
        0usize..8,
    )
        .prop_map(|(field, op, lits, glob_at)| Cond::Check {
            field,
            op,
            lits,
            glob_at,
        });
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Cond::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Cond::Or),
            inner.prop_map(|c| Cond::Not(Box::new(c))),
        ]
    })
}

const STRING_OPS: &[Operator] = &[
    Operator::Eq,
    Operator::Ne,
    Operator::Contains,
    Operator::IContains,
    Operator::StartsWith,
    Operator::EndsWith,
    Operator::Glob,
    Operator::In,
    Operator::PMatch,
    Operator::Exists,
    Operator::In,
];
const NUMBER_OPS: &[Operator] = &[
    Operator::Eq,
    Operator::Ne,
    Operator::Lt,
    Operator::Le,
    Operator::Gt,
    Operator::Ge,
    Operator::In,
    Operator::Exists,
];

fn build(b: &mut Builder, c: &Cond) -> NodeId {
    match c {
        Cond::And(kids) | Cond::Or(kids) => {
            let ids: Vec<NodeId> = kids.iter().map(|k| build(b, k)).collect();
            b.node(if matches!(c, Cond::And(_)) {
                Node::And(ids)
            } else {
                Node::Or(ids)
            })
        }
        Cond::Not(inner) => {
            let id = build(b, inner);
            b.node(Node::Not(id))
        }
        Cond::Check {
            field,
            op,
            lits,
            glob_at,
        } => b.node(Node::Check(check(FIELDS[*field], *op, lits, *glob_at))),
    }
}

fn check(id: FieldId, op: usize, lits: &[usize], glob_at: usize) -> Check {
    let p = pool();
    let ty = id.info().value_type();
    let lhs = Operand::Field(Field::schema(id, None, ty));
    let string = |i: usize| p.strings[i % p.strings.len()].clone();
    let number = |i: usize| {
        let n = p.numbers[i % p.numbers.len()];
        if signed(ty.ty) {
            Lit::Int(n)
        } else {
            Lit::UInt(n.max(0).unsigned_abs())
        }
    };
    let (op, rhs) = match ty.ty.category() {
        TypeCategory::String => {
            let op = STRING_OPS[op % STRING_OPS.len()];
            let rhs = match op {
                Operator::Exists => Rhs::None,
                Operator::In | Operator::PMatch => {
                    Rhs::List(lits.iter().map(|&i| Lit::Str(string(i))).collect())
                }
                Operator::Glob => {
                    let mut s = string(lits[0]);
                    if !s.is_empty() {
                        let at = glob_at % s.len();
                        s[at] = if glob_at.is_multiple_of(2) {
                            b'*'
                        } else {
                            b'?'
                        };
                    }
                    Rhs::Value(Lit::Str(s))
                }
                _ => Rhs::Value(Lit::Str(string(lits[0]))),
            };
            (op, rhs)
        }
        TypeCategory::Bool => (
            if op.is_multiple_of(2) {
                Operator::Eq
            } else {
                Operator::Ne
            },
            Rhs::Value(Lit::Bool(lits[0].is_multiple_of(2))),
        ),
        _ => {
            let op = NUMBER_OPS[op % NUMBER_OPS.len()];
            let rhs = match op {
                Operator::Exists => Rhs::None,
                Operator::In => Rhs::List(lits.iter().map(|&i| number(i)).collect()),
                _ => Rhs::Value(number(lits[0])),
            };
            (op, rhs)
        }
    };
    Check {
        lhs,
        op,
        modifier: None,
        rhs,
    }
}

fn program(conds: &[Cond]) -> lanner_program::Program {
    let codes = TableVersion::Current.events().len() as u16;
    let mut b = Builder::new(codes);
    for (i, c) in conds.iter().enumerate() {
        let root = build(&mut b, c);
        b.rule(Rule {
            name: format!("r{i}"),
            source: lanner_program::Source::Syscall,
            enabled: true,
            priority: lanner_program::Priority::Warning,
            tags: Vec::new(),
            condition: Some(root),
            output: Vec::new(),
            event_codes: (0..codes).collect(),
            any_event: true,
        });
    }
    b.finish().unwrap()
}

/// `ev` with parameter `which` (mod its count) replaced by the same parameter of another
/// event of its type.
fn mutate(ev: &Event<'_>, which: usize, pick: usize) -> Option<OwnedEvent> {
    let n = ev.nparams();
    if n == 0 {
        return None;
    }
    let i = which % n;
    let seen = pool().params.get(&(ev.event_type(), i))?;
    let new = &seen[pick % seen.len()];
    let mut lens = Vec::new();
    let mut values = Vec::new();
    for (j, raw) in ev.raw_params().enumerate() {
        let raw = if j == i { new.as_slice() } else { raw };
        if ev.wide_lengths() {
            lens.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        } else {
            lens.extend_from_slice(&(raw.len() as u16).to_le_bytes());
        }
        values.extend_from_slice(raw);
    }
    Some(
        Event::from_parts(ev.header(), ev.wide_lengths(), &lens, &values)
            .ok()?
            .to_owned_event(),
    )
}

fn alerts(rs: &RuleSet, ev: &Event<'_>, st: &lanner_state::State, m: RuleMatching) -> Vec<usize> {
    let mut out = Vec::new();
    rs.evaluate(ev, st, 1, m, &mut out);
    out.into_iter().map(|a| a.rule).collect()
}

/// Runs one case; returns the condition × event pairs compared and how many of them matched.
fn run(conds: &[Cond], mutation: usize) -> Result<(u64, u64), TestCaseError> {
    let p = program(conds);
    let opts = lanner_engine::program::OutputOptions {
        suggested_output: false,
    };
    let interp = RuleSet::from_program(&p, opts).0;
    let mut jit = RuleSet::from_program(&p, opts).0;
    Jit::install(&p, &mut jit).map_err(|e| TestCaseError::fail(format!("jit: {e}")))?;
    let mut replay = Replay::new(ContainerMatcher::falco());
    let (mut pairs, mut hits) = (0u64, 0u64);
    for (k, rec) in ScapSliceReader::new(&pool().bytes).enumerate() {
        let rec: Record<'_> = rec.unwrap();
        let Some(d) = replay.record(&rec) else {
            continue;
        };
        if !d.delivered {
            continue;
        }
        let Some(ev) = replay.event() else { continue };
        let mutated = mutate(&ev, mutation.wrapping_add(k), k.wrapping_mul(mutation | 1));
        let events: Vec<Event<'_>> = std::iter::once(ev)
            .chain(mutated.as_ref().map(OwnedEvent::as_event))
            .collect();
        for e in &events {
            for m in [RuleMatching::All, RuleMatching::First] {
                let (a, b) = (
                    alerts(&interp, e, &replay.state, m),
                    alerts(&jit, e, &replay.state, m),
                );
                prop_assert_eq!(
                    &a,
                    &b,
                    "{:?} on event {} (type {}): interpreter {:?}, jit {:?}",
                    m,
                    k,
                    e.event_type(),
                    a,
                    b
                );
                if m == RuleMatching::All {
                    hits += a.len() as u64;
                }
            }
            pairs += conds.len() as u64;
        }
    }
    Ok((pairs, hits))
}

#[test]
fn jit_equals_interpreter_on_random_conditions() {
    let cases = std::env::var("LANNER_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let pairs = std::sync::atomic::AtomicU64::new(0);
    let hits = std::sync::atomic::AtomicU64::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (prop::collection::vec(cond(), RULES), any::<usize>());
    let result = runner.run(&strategy, |(conds, mutation)| {
        let (n, h) = run(&conds, mutation)?;
        pairs.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        hits.fetch_add(h, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (pairs, hits) = (pairs.into_inner(), hits.into_inner());
    eprintln!("{cases} cases, {pairs} condition × event pairs ({hits} matched), 0 divergences");
    assert!(pairs >= 100_000 || cases < 64, "only {pairs} pairs");
    // Not vacuous: a fair share of the pairs match, and most do not.
    assert!(
        hits * 50 > pairs && hits * 2 < pairs,
        "{hits} of {pairs} pairs matched"
    );
}
