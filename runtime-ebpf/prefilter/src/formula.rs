//! What the kernel evaluates: monotone formulas over literals of kernel-decidable atoms, and
//! their meaning on a record (the reference every backend of them is tested against).

use std::fmt;

/// A comparison of a number with a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    /// `a OP b`.
    pub fn holds<T: Ord>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// How a copied string relates to the field a rule reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathKind {
    /// The field is the string as copied (`evt.arg.type` of mount, memfd's name).
    Raw,
    /// The field is the string when it is absolute, else a path resolved against the cwd or a
    /// directory fd (`evt.arg.name` of unlinkat): decidable only for absolute strings.
    Absolute,
    /// The field is the absolute, normalised path (`fd.name` of an open: `.`, `..` and
    /// repeated or final slashes removed): decidable only for absolute strings in which no
    /// slash is followed by a slash, a dot or the end (checked over [`MAX_SCAN`] bytes).
    Resolved,
}

/// The longest string (without its NUL) whose shape the kernel checks for [`PathKind::Resolved`].
pub const MAX_SCAN: usize = 256;
/// The longest constant a string test compares inline.
pub const MAX_LITERAL: usize = 256;
/// Bytes of `comm` the kernel keeps (`TASK_COMM_LEN` without the NUL).
pub const COMM_LEN: usize = 15;

/// A test the kernel can make on a record. Every atom is exact where it is decidable; where
/// it is not (see [`Atom::eval`]) the kernel assumes either outcome is possible.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom {
    /// The syscall's return value (`evt.rawres`), signed.
    Ret(Cmp, i64),
    /// The task's user id (`user.uid`).
    Uid(Cmp, u32),
    /// `comm` (`proc.name`) equals the bytes (at most [`COMM_LEN`], no NUL).
    CommEq(Vec<u8>),
    /// `comm` starts with the bytes (at most [`COMM_LEN`], no NUL).
    CommPrefix(Vec<u8>),
    /// The string copied as item `item` equals the bytes.
    StrEq {
        item: u8,
        kind: PathKind,
        value: Vec<u8>,
    },
    /// The string copied as item `item` starts with the bytes.
    StrPrefix {
        item: u8,
        kind: PathKind,
        value: Vec<u8>,
    },
}

/// The parts of a syscall record the atoms read (the kernel program reads the same bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input<'a> {
    pub ret: i64,
    pub uid: u32,
    /// As `bpf_get_current_comm` writes it: NUL-terminated within 16 bytes.
    pub comm: [u8; 16],
    /// The copied items as the record holds them: a string with its NUL, its length being
    /// the item's length (0 for none or a failed copy).
    pub items: [&'a [u8]; 4],
}

/// True if `s` (the string, `next` the byte after each position, NUL at the end) has no slash
/// followed by a slash, a dot or the end: resolving it changes nothing.
pub fn plain_path(s: &[u8]) -> bool {
    s.first() == Some(&b'/')
        && s.len() <= MAX_SCAN
        && !s.iter().enumerate().any(|(i, &c)| {
            c == b'/' && matches!(s.get(i + 1).copied().unwrap_or(0), b'/' | b'.' | 0)
        })
}

impl Atom {
    /// The atom's value on the record, or `None` where the kernel cannot decide it.
    pub fn eval(&self, input: &Input<'_>) -> Option<bool> {
        match self {
            Atom::Ret(c, v) => Some(c.holds(input.ret, *v)),
            Atom::Uid(c, v) => Some(c.holds(input.uid, *v)),
            Atom::CommEq(v) => Some(comm_str(&input.comm) == v.as_slice()),
            Atom::CommPrefix(v) => Some(comm_str(&input.comm).starts_with(v)),
            Atom::StrEq { item, kind, value } => {
                let s = decidable_str(input, *item, *kind)?;
                Some(s == value.as_slice())
            }
            Atom::StrPrefix { item, kind, value } => {
                let s = decidable_str(input, *item, *kind)?;
                Some(s.starts_with(value))
            }
        }
    }
}

fn comm_str(comm: &[u8; 16]) -> &[u8] {
    let end = comm.iter().position(|&c| c == 0).unwrap_or(comm.len());
    comm.get(..end).unwrap_or(&[])
}

/// The string of item `item` when the field it stands for equals it.
fn decidable_str<'a>(input: &Input<'a>, item: u8, kind: PathKind) -> Option<&'a [u8]> {
    let raw = *input.items.get(usize::from(item))?;
    // At least one byte and the NUL; a failed copy has length 0.
    let (&last, s) = raw.split_last()?;
    if last != 0 || s.is_empty() {
        return None;
    }
    match kind {
        PathKind::Raw => Some(s),
        PathKind::Absolute => (s.first() == Some(&b'/')).then_some(s),
        PathKind::Resolved => plain_path(s).then_some(s),
    }
}

/// A monotone formula over literals: what may match. `Lit(a, false)` holds unless `a` is
/// decided false, `Lit(a, true)` unless `a` is decided true.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Formula {
    True,
    False,
    Lit(Atom, bool),
    And(Vec<Formula>),
    Or(Vec<Formula>),
}

impl Formula {
    /// The positive literal of `atom`.
    pub fn atom(atom: Atom) -> Formula {
        Formula::Lit(atom, false)
    }

    /// Conjunction, simplified (constants absorbed, nesting flattened, duplicates removed).
    pub fn and(parts: Vec<Formula>) -> Formula {
        Formula::junction(parts, true)
    }

    /// Disjunction, simplified.
    pub fn or(parts: Vec<Formula>) -> Formula {
        Formula::junction(parts, false)
    }

    /// `and` (`conj`) or `or` of `parts`: the identity element is dropped, the absorbing one
    /// wins, nested junctions of the same kind are flattened and duplicates removed.
    fn junction(parts: Vec<Formula>, conj: bool) -> Formula {
        let (identity, absorbing) = if conj {
            (Formula::True, Formula::False)
        } else {
            (Formula::False, Formula::True)
        };
        let mut out: Vec<Formula> = Vec::new();
        let push = |out: &mut Vec<Formula>, p: Formula| {
            if !out.contains(&p) {
                out.push(p);
            }
        };
        for p in parts {
            if p == identity {
                continue;
            }
            if p == absorbing {
                return absorbing;
            }
            match p {
                Formula::And(inner) if conj => inner.into_iter().for_each(|i| push(&mut out, i)),
                Formula::Or(inner) if !conj => inner.into_iter().for_each(|i| push(&mut out, i)),
                p => push(&mut out, p),
            }
        }
        match out.len() {
            0 => identity,
            1 => out.pop().unwrap_or(identity),
            _ if conj => Formula::And(out),
            _ => Formula::Or(out),
        }
    }

    /// What may make the negation true: literals flipped, `and` and `or` exchanged. Sound
    /// because each literal already allows both outcomes where its atom is undecided.
    pub fn negate(&self) -> Formula {
        match self {
            Formula::True => Formula::False,
            Formula::False => Formula::True,
            Formula::Lit(a, n) => Formula::Lit(a.clone(), !n),
            Formula::And(p) => Formula::or(p.iter().map(Formula::negate).collect()),
            Formula::Or(p) => Formula::and(p.iter().map(Formula::negate).collect()),
        }
    }

    /// True if the kernel passes the record.
    pub fn eval(&self, input: &Input<'_>) -> bool {
        match self {
            Formula::True => true,
            Formula::False => false,
            Formula::Lit(a, negated) => a.eval(input).is_none_or(|v| v != *negated),
            Formula::And(p) => p.iter().all(|f| f.eval(input)),
            Formula::Or(p) => p.iter().any(|f| f.eval(input)),
        }
    }

    /// Number of literals.
    pub fn size(&self) -> usize {
        match self {
            Formula::True | Formula::False => 0,
            Formula::Lit(..) => 1,
            Formula::And(p) | Formula::Or(p) => p.iter().map(Formula::size).sum(),
        }
    }

    /// Whether some literal needs the shape check of a resolved path.
    pub fn uses_resolved(&self) -> bool {
        match self {
            Formula::Lit(Atom::StrEq { kind, .. } | Atom::StrPrefix { kind, .. }, _) => {
                *kind == PathKind::Resolved
            }
            Formula::And(p) | Formula::Or(p) => p.iter().any(Formula::uses_resolved),
            _ => false,
        }
    }
}

fn bytes(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
    write!(f, "{:?}", String::from_utf8_lossy(b))
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::Ret(c, v) => write!(f, "ret {} {v}", c.symbol()),
            Atom::Uid(c, v) => write!(f, "uid {} {v}", c.symbol()),
            Atom::CommEq(v) => {
                f.write_str("comm = ")?;
                bytes(f, v)
            }
            Atom::CommPrefix(v) => {
                f.write_str("comm startswith ")?;
                bytes(f, v)
            }
            Atom::StrEq { item, kind, value } => {
                write!(f, "item{item}{} = ", kind_suffix(*kind))?;
                bytes(f, value)
            }
            Atom::StrPrefix { item, kind, value } => {
                write!(f, "item{item}{} startswith ", kind_suffix(*kind))?;
                bytes(f, value)
            }
        }
    }
}

fn kind_suffix(k: PathKind) -> &'static str {
    match k {
        PathKind::Raw => "",
        PathKind::Absolute => ".abs",
        PathKind::Resolved => ".path",
    }
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Formula::True => f.write_str("pass"),
            Formula::False => f.write_str("drop"),
            Formula::Lit(a, false) => write!(f, "{a}"),
            Formula::Lit(a, true) => write!(f, "not {a}"),
            Formula::And(p) | Formula::Or(p) => {
                let word = if matches!(self, Formula::And(_)) {
                    " and "
                } else {
                    " or "
                };
                f.write_str("(")?;
                for (i, x) in p.iter().enumerate() {
                    if i > 0 {
                        f.write_str(word)?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str(")")
            }
        }
    }
}
