//! The event-type set of a condition, as Falco's index computes it (language.md §6).
//!
//! The set tells the engine (and the eBPF prefilter) which event codes can possibly satisfy a
//! rule. It is computed over the typed condition:
//!
//! - `evt.type`/`syscall.type` compared with `=`, `==` or `in` select the codes of the named
//!   events (every code of a name: enter and exit, and versioned variants); `!=` selects the
//!   complement; `exists` selects everything;
//! - `evt.num` checks that no event can satisfy (`= 0`, `< 1`, `<= 0`, `in (0)`, `in ()`)
//!   select nothing;
//! - every other leaf is neutral: all events, under `not` as well;
//! - `and` intersects, `or` unites, and `not` is pushed to the leaves by De Morgan's laws.
//!
//! `evt.type` under a transformer or compared with a field makes the set uncomputable, which
//! Falco rejects for syscall rules; [`compute`] reports it.

pub(crate) mod table;

use std::fmt;

use lanner_schema::Operator;
use lanner_syntax::{Diagnostic, codes};

use crate::typeck::{Lit, TCheck, TExpr, TOperand, TRhs};
pub use table::{codes_of, event_names, name_of, param_type_of};

/// The number of codes a set can hold.
///
/// INVARIANT: larger than every code in the event table (a test checks it); codes at or past
/// it are ignored by [`EventSet::insert`] rather than wrapped.
pub const CAPACITY: usize = 512;
const WORDS: usize = CAPACITY / 64;

/// The threshold above which Falco warns that a rule matches too many event types.
pub const TOO_MANY: usize = 100;

/// A set of event codes, as a fixed bitset.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct EventSet {
    words: [u64; WORDS],
}

impl EventSet {
    /// The empty set.
    pub const fn new() -> EventSet {
        EventSet { words: [0; WORDS] }
    }

    /// Every code libscap emits (the unused placeholder codes excluded).
    pub fn all() -> EventSet {
        table::table().all
    }

    /// The codes `evt.type = name` selects, if the name is known.
    pub fn of_name(name: &str) -> Option<EventSet> {
        table::codes_of(name)
    }

    pub fn insert(&mut self, code: u16) {
        let code = usize::from(code);
        if let Some(word) = self.words.get_mut(code / 64) {
            *word |= 1 << (code % 64);
        }
    }

    pub fn contains(&self, code: u16) -> bool {
        let code = usize::from(code);
        self.words
            .get(code / 64)
            .is_some_and(|w| w & (1 << (code % 64)) != 0)
    }

    /// The number of codes in the set.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    pub fn union(&self, other: &EventSet) -> EventSet {
        let mut out = *self;
        for (a, b) in out.words.iter_mut().zip(other.words.iter()) {
            *a |= *b;
        }
        out
    }

    pub fn intersection(&self, other: &EventSet) -> EventSet {
        let mut out = *self;
        for (a, b) in out.words.iter_mut().zip(other.words.iter()) {
            *a &= *b;
        }
        out
    }

    /// The codes of `self` not in `other`.
    pub fn difference(&self, other: &EventSet) -> EventSet {
        let mut out = *self;
        for (a, b) in out.words.iter_mut().zip(other.words.iter()) {
            *a &= !*b;
        }
        out
    }

    /// Every emitted code not in the set.
    pub fn complement(&self) -> EventSet {
        EventSet::all().difference(self)
    }

    /// The codes, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.words.iter().enumerate().flat_map(|(i, word)| {
            (0..64u16).filter_map(move |bit| {
                let code = u16::try_from(i).ok()? * 64 + bit;
                (word & (1 << bit) != 0).then_some(code)
            })
        })
    }

    /// The distinct event names of the codes, in code order.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for code in self.iter() {
            if let Some(name) = table::name_of(code)
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
        names
    }
}

impl fmt::Debug for EventSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for EventSet {
    /// `{}` for the empty set, `all` for every code, otherwise the names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == EventSet::all() {
            return f.write_str("all");
        }
        write!(f, "{{{}}}", self.names().join(", "))
    }
}

/// True if the set has more than [`TOO_MANY`] codes: Falco's LOAD_NO_EVTTYPE warning.
pub fn matches_too_many(set: &EventSet) -> bool {
    set.len() > TOO_MANY
}

/// The event-type set of a typed condition, with errors where `evt.type` is used in a way the
/// index cannot follow.
pub fn compute(expr: &TExpr) -> (EventSet, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let set = walk(expr, false, &mut diagnostics);
    (set, diagnostics)
}

fn walk(expr: &TExpr, negated: bool, diagnostics: &mut Vec<Diagnostic>) -> EventSet {
    match expr {
        // De Morgan: under `not`, `and` unites and `or` intersects.
        TExpr::And(children, _) | TExpr::Or(children, _) => {
            let unite = matches!(expr, TExpr::Or(..)) != negated;
            let mut sets = children.iter().map(|c| walk(c, negated, diagnostics));
            let first = sets.next().unwrap_or_else(EventSet::all);
            sets.fold(first, |acc, s| {
                if unite {
                    acc.union(&s)
                } else {
                    acc.intersection(&s)
                }
            })
        }
        TExpr::Not(inner, _) => walk(inner, !negated, diagnostics),
        TExpr::Unknown(_) => EventSet::all(),
        TExpr::Check(check) => leaf(check, negated, diagnostics),
    }
}

/// The name of the `evt.type`/`syscall.type` field an operand reads, if it reads one.
fn evttype_inside(operand: &TOperand) -> Option<&'static str> {
    operand
        .fields()
        .iter()
        .find(|f| matches!(f.name(), "evt.type" | "syscall.type") && f.field.arg.is_none())
        .map(|f| f.name())
}

fn leaf(check: &TCheck, negated: bool, diagnostics: &mut Vec<Diagnostic>) -> EventSet {
    // Like Falco's index, only the operators it understands look at `evt.type` at all; any
    // other check is neutral even when it involves `evt.type`.
    let indexed = check.modifier.is_none()
        && matches!(
            check.op,
            Operator::Eq | Operator::EqEq | Operator::Ne | Operator::In | Operator::Exists
        );
    match check.lhs.as_field() {
        Some(field) if field.field.arg.is_none() && field.name() == "evt.num" => {
            evtnum_leaf(check, negated)
        }
        Some(field)
            if indexed
                && field.field.arg.is_none()
                && matches!(field.name(), "evt.type" | "syscall.type") =>
        {
            evttype_leaf(check, field.name(), negated, diagnostics)
        }
        Some(_) => EventSet::all(),
        None => {
            if indexed && let Some(name) = evttype_inside(&check.lhs) {
                diagnostics.push(
                    Diagnostic::new(
                        codes::EVTTYPE_NOT_CONSTANT,
                        check.lhs.span(),
                        format!(
                            "`{name}` cannot be transformed where the event-type set is computed"
                        ),
                    )
                    .with_help("compare `evt.type` itself with event names"),
                );
            }
            EventSet::all()
        }
    }
}

fn evttype_leaf(
    check: &TCheck,
    name: &str,
    negated: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> EventSet {
    let values: Vec<&str> = match &check.rhs {
        TRhs::None => {
            // `exists`: every event has a type, so nothing under `not`.
            return if negated {
                EventSet::new()
            } else {
                EventSet::all()
            };
        }
        TRhs::Operand(rhs) => {
            diagnostics.push(
                Diagnostic::new(
                    codes::EVTTYPE_NOT_CONSTANT,
                    rhs.span(),
                    format!("`{name}` cannot be compared with a field where the event-type set is computed"),
                )
                .with_help("compare it with event names, e.g. `evt.type in (open, openat)`"),
            );
            return EventSet::all();
        }
        TRhs::Value(c) => vec![c.text.as_str()],
        TRhs::List(items, _) => items.iter().map(|c| c.text.as_str()).collect(),
    };
    let mut named = EventSet::new();
    for value in values {
        if let Some(codes) = table::codes_of(value) {
            named = named.union(&codes);
        }
    }
    // INVARIANT: `leaf` only passes the indexed operators; `exists` has no value and was
    // handled above, so only `!=` selects the complement.
    let positive = check.op != Operator::Ne;
    if positive != negated {
        named
    } else {
        named.complement()
    }
}

/// `evt.num` counts from 1, so some comparisons can never hold.
fn evtnum_leaf(check: &TCheck, negated: bool) -> EventSet {
    let op = if negated {
        match check.op {
            Operator::Eq | Operator::EqEq => Operator::Ne,
            Operator::Ne => Operator::Eq,
            Operator::Lt => Operator::Ge,
            Operator::Le => Operator::Gt,
            Operator::Gt => Operator::Le,
            Operator::Ge => Operator::Lt,
            // `not evt.num in (...)` and the rest can hold.
            _ => return EventSet::all(),
        }
    } else {
        check.op
    };
    let value = |lit: &Lit| match lit {
        Lit::UInt(v) => Some(*v),
        _ => None,
    };
    let impossible = match (&check.rhs, op) {
        (TRhs::Value(c), Operator::Eq | Operator::EqEq | Operator::Le) => value(&c.lit) == Some(0),
        (TRhs::Value(c), Operator::Lt) => value(&c.lit).is_some_and(|v| v <= 1),
        (TRhs::List(items, _), Operator::In) => {
            check.modifier.is_none() && items.iter().all(|c| value(&c.lit) == Some(0))
        }
        _ => false,
    };
    if impossible {
        EventSet::new()
    } else {
        EventSet::all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_fits_the_bitset() {
        let t = table::table();
        assert!(t.events.len() <= CAPACITY);
        assert!(t.events.len() > 400);
    }

    #[test]
    fn names_and_codes() {
        let openat = EventSet::of_name("openat").unwrap();
        assert!(openat.len() >= 2);
        assert!(openat.names() == vec!["openat"]);
        let generic = EventSet::of_name("rt_sigaction").unwrap();
        assert_eq!(generic.iter().collect::<Vec<_>>(), vec![0, 1]);
        assert!(EventSet::of_name("opn").is_none());
        assert!(!EventSet::all().contains(17));
        assert!(matches_too_many(&EventSet::all()));
        assert!(!matches_too_many(&openat));
        let both = openat.union(&EventSet::of_name("close").unwrap());
        assert_eq!(both.intersection(&openat), openat);
        assert_eq!(both.complement().intersection(&openat), EventSet::new());
        assert_eq!(
            table::param_type_of("res"),
            Some(lanner_schema::FieldType::Errno)
        );
    }

    #[test]
    fn rows_are_dense() {
        let t = table::table();
        for (i, line) in include_str!("../../data/event_table.tsv")
            .lines()
            .skip(1)
            .enumerate()
        {
            let id: usize = line.split('\t').next().unwrap().parse().unwrap();
            assert_eq!(id, i);
        }
        assert_eq!(t.events.len(), 454);
    }
}
