//! Operators over many constants as data structures: the literal list of an `in` or
//! `intersects` becomes one hash set, built once when the rules load, so a lookup costs one
//! hash instead of one comparison per literal.
//!
//! A set only stands in for the loop when it answers exactly as the loop of
//! [`crate::ops::compare`] would; every other list keeps the loop (see [`LitSet::build`]).

use std::collections::HashSet;
use std::hash::BuildHasherDefault;

use lanner_schema::Operator;
use rustc_hash::FxHasher;

use crate::ir::Lit;
use crate::ops::Scalar;

type Fx = BuildHasherDefault<FxHasher>;

/// Lists shorter than this are compared one literal at a time: a few slice comparisons beat
/// hashing the value.
pub const MIN_SET_LEN: usize = 4;

/// The constants of one `in`/`intersects` list, as a set.
#[derive(Debug)]
pub enum LitSet {
    /// Every literal is text or bytes: `=` on them is byte equality of the whole value (set
    /// operators do not cut at NUL), whatever the kind of the other side's bytes.
    Bytes(HashSet<Box<[u8]>, Fx>),
    /// Every literal is an integer: `=` is equality of mathematical value for integer values.
    Ints(HashSet<i128, Fx>),
}

/// What a set says about one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The value equals some literal.
    Hit,
    /// The value equals no literal.
    Miss,
    /// The set cannot answer for this kind of value (a double against integers): run the loop.
    Loop,
}

impl LitSet {
    /// The set for `op` over `lits`, or `None` when the loop must stay: another operator, a
    /// short list, or literals of mixed or other kinds (addresses and networks compare by
    /// containment, not equality of a key).
    pub fn build(op: Operator, lits: &[Lit]) -> Option<LitSet> {
        if !matches!(op, Operator::In | Operator::Intersects) || lits.len() < MIN_SET_LEN {
            return None;
        }
        if lits
            .iter()
            .all(|l| matches!(l, Lit::Str(_) | Lit::Bytes(_)))
        {
            let set = lits
                .iter()
                .filter_map(|l| match l {
                    Lit::Str(b) | Lit::Bytes(b) => Some(b.clone().into_boxed_slice()),
                    _ => None,
                })
                .collect();
            return Some(LitSet::Bytes(set));
        }
        if lits.iter().all(|l| matches!(l, Lit::Int(_) | Lit::UInt(_))) {
            let set = lits
                .iter()
                .filter_map(|l| match l {
                    Lit::Int(v) => Some(i128::from(*v)),
                    Lit::UInt(v) => Some(i128::from(*v)),
                    _ => None,
                })
                .collect();
            return Some(LitSet::Ints(set));
        }
        None
    }

    /// Whether `value` equals some literal of the set, as `compare(In, value, lit)` over the
    /// literals would say.
    pub fn lookup(&self, value: Scalar<'_>) -> Lookup {
        let hit = |b: bool| if b { Lookup::Hit } else { Lookup::Miss };
        match (self, value) {
            (LitSet::Bytes(set), Scalar::Text(b) | Scalar::Bytes(b)) => hit(set.contains(b)),
            // Numbers, booleans and addresses never equal a text literal.
            (LitSet::Bytes(_), _) => Lookup::Miss,
            (LitSet::Ints(set), Scalar::Int(v)) => hit(set.contains(&i128::from(v))),
            (LitSet::Ints(set), Scalar::UInt(v)) => hit(set.contains(&i128::from(v))),
            // A double equals an integer when their values do: the loop decides.
            (LitSet::Ints(_), Scalar::Double(_)) => Lookup::Loop,
            (LitSet::Ints(_), _) => Lookup::Miss,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::compare;

    fn by_loop(lits: &[Lit], v: Scalar<'_>) -> bool {
        lits.iter()
            .any(|l| compare(Operator::In, v, Scalar::of_lit(l)))
    }

    /// The set and the loop agree on every value kind, including NUL bytes, text against
    /// buffers, signedness and values no literal has.
    #[test]
    fn sets_answer_as_the_loop() {
        let texts: Vec<Lit> = ["bash", "sh", "a\0b", "", "zsh"]
            .iter()
            .map(|s| Lit::Str(s.as_bytes().to_vec()))
            .chain([Lit::Bytes(b"\x00\x01".to_vec())])
            .collect();
        let ints = vec![
            Lit::Int(-1),
            Lit::UInt(0),
            Lit::UInt(u64::MAX),
            Lit::Int(22),
        ];
        let values = [
            Scalar::Text(b"bash"),
            Scalar::Text(b"a\0b"),
            Scalar::Text(b"a"),
            Scalar::Text(b""),
            Scalar::Bytes(b"\x00\x01"),
            Scalar::Bytes(b"sh"),
            Scalar::Int(-1),
            Scalar::Int(22),
            Scalar::UInt(u64::MAX),
            Scalar::Int(5),
            Scalar::Bool(true),
            Scalar::Ip(std::net::IpAddr::from([127, 0, 0, 1])),
        ];
        for lits in [&texts, &ints] {
            let set = LitSet::build(Operator::In, lits).unwrap();
            for v in values {
                let want = by_loop(lits, v);
                match set.lookup(v) {
                    Lookup::Hit => assert!(want, "{v:?} in {lits:?}"),
                    Lookup::Miss => assert!(!want, "{v:?} not in {lits:?}"),
                    Lookup::Loop => panic!("{v:?} needs the loop"),
                }
            }
        }
        let set = LitSet::build(Operator::In, &ints).unwrap();
        assert_eq!(set.lookup(Scalar::Double(22.0)), Lookup::Loop);
    }

    #[test]
    fn short_mixed_and_other_lists_keep_the_loop() {
        let short = vec![Lit::Str(b"a".to_vec()); MIN_SET_LEN - 1];
        assert!(LitSet::build(Operator::In, &short).is_none());
        let mut mixed = vec![Lit::Str(b"a".to_vec()); MIN_SET_LEN];
        mixed.push(Lit::Int(1));
        assert!(LitSet::build(Operator::In, &mixed).is_none());
        let long = vec![Lit::Str(b"a".to_vec()); MIN_SET_LEN];
        assert!(LitSet::build(Operator::StartsWith, &long).is_none());
        assert!(LitSet::build(Operator::Intersects, &long).is_some());
    }
}
