//! The rules' kernel part ([`lanner_prefilter`]) as eBPF: per syscall id, the formula's code
//! over the syscall record as the `sys_exit` program builds it, jumping to "pass" or "drop".
//!
//! The code reads only the record (never the task or user memory): the result, the uid of the
//! header, `comm` and the first copied item, at the offsets of [`syscall_layout`]. So the
//! same bytes decide the kernel's verdict and the reference one ([`KernelFilter::eval`],
//! `Formula::eval` over [`record_input`]), and the emitted code is checked against the
//! reference in user space by [`crate::interp`] on [`filter_program`], which is the same
//! emitter wrapped as a program of its own.
//!
//! The `sys_exit` program runs the filter twice: early, before any user memory is copied, with
//! every string atom undecided (it drops what the result, uid and comm already rule out, so
//! those events pay no copy), and after the copy, exactly. Both are sound, the early one
//! because an undecided atom passes.
//!
//! Constants are inline: string atoms compare 8, 4, 2 and 1-byte chunks with immediates, and
//! the shape of a resolved path (absolute, no `//`, `/.`, trailing `/`) is checked once per
//! record by a bounded loop of at most [`MAX_SCAN`] steps whose verdict every atom reads.

use std::collections::BTreeMap;

use lanner_prefilter::{Atom, Cmp, Formula, Input, Lowered, MAX_SCAN, PathKind};

use crate::asm::{AsmError, BpfProgram, Label, ProgramBuilder};
use crate::convert::{exit_event, syscall_name};
use crate::insn::{JmpOp, Reg, Size};
use crate::programs::{MAX_SYSCALLS, header, syscall_layout};

/// Stack slot holding the first item's class (see [`Class`]) while a formula runs.
pub(crate) const CLASS_SLOT: i16 = -80;

/// What the first item's bytes are, as far as the string atoms care (ascending: each implies
/// the ones below).
#[derive(Clone, Copy)]
#[repr(i32)]
enum Class {
    /// No string: nothing copied, an empty string, or no NUL at the item's end.
    None = 0,
    /// A NUL-terminated non-empty string.
    Raw = 1,
    /// And it starts with `/`.
    Absolute = 2,
    /// And it is a resolved path (see [`lanner_prefilter::plain_path`]).
    Resolved = 3,
}

fn class_of(kind: PathKind) -> Class {
    match kind {
        PathKind::Raw => Class::Raw,
        PathKind::Absolute => Class::Absolute,
        PathKind::Resolved => Class::Resolved,
    }
}

/// The formulas the kernel evaluates, by x86-64 syscall id. A syscall without one passes
/// (the interest array alone decides it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelFilter {
    pub by_syscall: BTreeMap<u32, Formula>,
}

impl KernelFilter {
    /// No formula: every syscall the interest array wants passes (`--prefilter syscalls`).
    pub fn none() -> Self {
        Self::default()
    }

    /// The lowered program's formulas for every syscall the converter knows.
    pub fn from_lowered(lowered: &Lowered) -> Self {
        let mut by_syscall = BTreeMap::new();
        for id in 0..MAX_SYSCALLS {
            let Some(info) = syscall_name(i64::from(id)).and_then(exit_event) else {
                continue;
            };
            let f = lowered.formula(info.id);
            if f != Formula::True {
                by_syscall.insert(id, f);
            }
        }
        KernelFilter { by_syscall }
    }

    /// What passes for either filter: the disjunction per syscall (a syscall one of them does
    /// not filter is not filtered). For a shadow candidate evaluated beside the rules.
    pub fn union(&self, other: &KernelFilter) -> KernelFilter {
        let by_syscall = self
            .by_syscall
            .iter()
            .filter_map(|(id, f)| {
                let g = other.by_syscall.get(id)?;
                Some((*id, Formula::or(vec![f.clone(), g.clone()])))
            })
            .filter(|(_, f)| *f != Formula::True)
            .collect();
        KernelFilter { by_syscall }
    }

    /// What passes for syscall `id`.
    pub fn formula(&self, id: u32) -> Formula {
        self.by_syscall.get(&id).cloned().unwrap_or(Formula::True)
    }

    /// The reference verdict on a syscall record: true if it passes. A record too short to
    /// hold the fixed part passes; an id outside the interest array's range is dropped.
    pub fn eval(&self, record: &[u8]) -> bool {
        let Some((id, input)) = record_input(record) else {
            return true;
        };
        match u32::try_from(id) {
            Ok(id) if id < MAX_SYSCALLS => self.formula(id).eval(&input),
            _ => false,
        }
    }

    /// Literals over every formula (a size measure for reports).
    pub fn size(&self) -> usize {
        self.by_syscall.values().map(Formula::size).sum()
    }
}

/// The syscall id and the atoms' input of a syscall record.
pub fn record_input(record: &[u8]) -> Option<(i64, Input<'_>)> {
    let at = |off: i16, n: usize| -> Option<&[u8]> {
        let s = usize::try_from(off).ok()?;
        record.get(s..s + n)
    };
    let i64_at = |off| -> Option<i64> { Some(i64::from_le_bytes(at(off, 8)?.try_into().ok()?)) };
    let id = i64_at(syscall_layout::ID)?;
    let ret = i64_at(syscall_layout::RET)?;
    let uid = u32::from_le_bytes(at(header::UID_GID, 4)?.try_into().ok()?);
    let comm: [u8; 16] = at(syscall_layout::COMM, 16)?.try_into().ok()?;
    let items = crate::programs::syscall_items(record)?;
    Some((
        id,
        Input {
            ret,
            uid,
            comm,
            items,
        },
    ))
}

/// Whether the emitted code reads the copied items.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Before the copy: string atoms are undecided.
    Early,
    /// After the copy.
    Full,
}

/// Emits the filter over the record at `rec` (R6–R9): jumps to `pass` or `drop`. Clobbers
/// R1–R5 and [`CLASS_SLOT`].
pub(crate) fn emit(
    b: &mut ProgramBuilder,
    filter: &KernelFilter,
    rec: Reg,
    phase: Phase,
    pass: Label,
    drop: Label,
) {
    let mut bodies = Vec::new();
    // An id outside the interest array never gets here (its lookup fails); dropping it
    // keeps `drop` reachable whatever the formulas, as the verifier requires.
    b.ldx(Size::DW, Reg::R1, rec, syscall_layout::ID).jmp_imm(
        JmpOp::Ge,
        Reg::R1,
        MAX_SYSCALLS as i32,
        drop,
    );
    let views: Vec<(u32, Formula)> = filter
        .by_syscall
        .iter()
        .map(|(&id, f)| (id, view(f, phase)))
        .collect();
    for (id, f) in &views {
        // Syscall ids are below MAX_SYSCALLS, so they fit an immediate.
        let imm = i32::try_from(*id).unwrap_or(i32::MAX);
        match f {
            Formula::True => {}
            Formula::False => {
                b.jmp_imm(JmpOp::Eq, Reg::R1, imm, drop);
            }
            f => {
                let l = b.new_label();
                b.jmp_imm(JmpOp::Eq, Reg::R1, imm, l);
                bodies.push((l, f));
            }
        }
    }
    b.ja(pass);
    let cx = Cx { rec, phase };
    for (l, f) in bodies {
        b.bind(l);
        if phase == Phase::Full && reads_items(f) {
            cx.classify(b, f.uses_resolved());
        }
        cx.formula(b, f, pass, drop);
    }
}

/// `f` with the literals this phase cannot decide replaced by "may match" and simplified, so
/// no code is emitted that no path reaches.
fn view(f: &Formula, phase: Phase) -> Formula {
    match f {
        Formula::Lit(a, _) if !decidable(a, phase) => Formula::True,
        // Every comm starts with the empty prefix: a constant, which has no code.
        Formula::Lit(Atom::CommPrefix(v), negated) if v.is_empty() => {
            if *negated {
                Formula::False
            } else {
                Formula::True
            }
        }
        Formula::And(p) => Formula::and(p.iter().map(|x| view(x, phase)).collect()),
        Formula::Or(p) => Formula::or(p.iter().map(|x| view(x, phase)).collect()),
        f => f.clone(),
    }
}

fn decidable(a: &Atom, phase: Phase) -> bool {
    match a {
        Atom::Ret(..) | Atom::Uid(..) => true,
        Atom::CommEq(v) | Atom::CommPrefix(v) => v.len() <= 15,
        // Only the first item sits at a fixed offset.
        Atom::StrEq { item, value, .. } | Atom::StrPrefix { item, value, .. } => {
            phase == Phase::Full && *item == 0 && value.len() <= lanner_prefilter::MAX_LITERAL
        }
    }
}

fn reads_items(f: &Formula) -> bool {
    match f {
        Formula::Lit(Atom::StrEq { .. } | Atom::StrPrefix { .. }, _) => true,
        Formula::And(p) | Formula::Or(p) => p.iter().any(reads_items),
        _ => false,
    }
}

struct Cx {
    rec: Reg,
    phase: Phase,
}

impl Cx {
    /// Writes the first item's [`Class`] into [`CLASS_SLOT`].
    fn classify(&self, b: &mut ProgramBuilder, resolved: bool) {
        let rec = self.rec;
        let done = b.new_label();
        let plain = b.new_label();
        let set = |b: &mut ProgramBuilder, c: Class| {
            b.st(Size::DW, Reg::R10, CLASS_SLOT, c as i32);
        };
        set(b, Class::None);
        // R2 = the item's length with its NUL, in [2, MAX_ITEM].
        b.ldx(Size::W, Reg::R2, rec, syscall_layout::ITEM_LENS)
            .jmp_imm(JmpOp::Lt, Reg::R2, 2, done)
            .jmp_imm(JmpOp::Gt, Reg::R2, syscall_layout::MAX_ITEM, done)
            .mov64_reg(Reg::R3, rec)
            .add64_reg(Reg::R3, Reg::R2)
            .ldx(Size::B, Reg::R4, Reg::R3, (syscall_layout::SIZE - 1) as i16)
            .jmp_imm(JmpOp::Ne, Reg::R4, 0, done);
        set(b, Class::Raw);
        b.ldx(Size::B, Reg::R4, rec, syscall_layout::SIZE as i16)
            .jmp_imm(JmpOp::Ne, Reg::R4, i32::from(b'/'), done);
        set(b, Class::Absolute);
        if resolved {
            let scan = MAX_SCAN as i32;
            b.jmp_imm(JmpOp::Gt, Reg::R2, scan + 1, done);
            // For each position i before the NUL: a slash followed by a slash, a dot or the
            // NUL makes the path one that resolving changes.
            b.bounded_loop(Reg::R5, scan, |b, l| {
                b.mov64_reg(Reg::R1, Reg::R5)
                    .add64_imm(Reg::R1, 1)
                    .jmp_reg(JmpOp::Ge, Reg::R1, Reg::R2, plain)
                    .mov64_reg(Reg::R3, rec)
                    .add64_reg(Reg::R3, Reg::R5)
                    .ldx(Size::B, Reg::R4, Reg::R3, syscall_layout::SIZE as i16)
                    .jmp_imm(JmpOp::Ne, Reg::R4, i32::from(b'/'), l.next)
                    .ldx(Size::B, Reg::R4, Reg::R3, syscall_layout::SIZE as i16 + 1)
                    .jmp_imm(JmpOp::Eq, Reg::R4, i32::from(b'/'), done)
                    .jmp_imm(JmpOp::Eq, Reg::R4, i32::from(b'.'), done)
                    .jmp_imm(JmpOp::Eq, Reg::R4, 0, done);
            });
            b.ja(done).bind(plain);
            set(b, Class::Resolved);
        }
        b.bind(done);
    }

    fn formula(&self, b: &mut ProgramBuilder, f: &Formula, t: Label, fl: Label) {
        match f {
            Formula::True => {
                b.ja(t);
            }
            Formula::False => {
                b.ja(fl);
            }
            Formula::Lit(a, negated) => {
                let (yes, no) = if *negated { (fl, t) } else { (t, fl) };
                self.atom(b, a, yes, no, t);
            }
            Formula::And(parts) | Formula::Or(parts) => {
                let and = matches!(f, Formula::And(_));
                let n = parts.len();
                for (i, p) in parts.iter().enumerate() {
                    if i + 1 == n {
                        self.formula(b, p, t, fl);
                    } else {
                        let next = b.new_label();
                        if and {
                            self.formula(b, p, next, fl);
                        } else {
                            self.formula(b, p, t, next);
                        }
                        b.bind(next);
                    }
                }
                if n == 0 {
                    b.ja(if and { t } else { fl });
                }
            }
        }
    }

    /// Jumps to `yes` if the atom holds, `no` if not, `unknown` if it is undecided.
    fn atom(&self, b: &mut ProgramBuilder, a: &Atom, yes: Label, no: Label, unknown: Label) {
        let rec = self.rec;
        match a {
            Atom::Ret(cmp, v) => {
                b.ldx(Size::DW, Reg::R1, rec, syscall_layout::RET);
                let op = signed(*cmp);
                match i32::try_from(*v) {
                    Ok(imm) => b.jmp_imm(op, Reg::R1, imm, yes),
                    Err(_) => b
                        .ld_imm64(Reg::R2, *v as u64)
                        .jmp_reg(op, Reg::R1, Reg::R2, yes),
                };
                b.ja(no);
            }
            Atom::Uid(cmp, v) => {
                // The low half of `gid << 32 | uid`; compared as 32-bit unsigned.
                b.ldx(Size::W, Reg::R1, rec, header::UID_GID).jmp32_imm(
                    unsigned(*cmp),
                    Reg::R1,
                    *v as i32,
                    yes,
                );
                b.ja(no);
            }
            Atom::CommEq(v) | Atom::CommPrefix(v) => {
                if !decidable(a, self.phase) {
                    b.ja(unknown);
                    return;
                }
                bytes_eq(b, rec, syscall_layout::COMM, v, no);
                if matches!(a, Atom::CommEq(_)) {
                    b.ldx(Size::B, Reg::R1, rec, syscall_layout::COMM + v.len() as i16)
                        .jmp_imm(JmpOp::Ne, Reg::R1, 0, no);
                }
                b.ja(yes);
            }
            Atom::StrEq { kind, value, .. } | Atom::StrPrefix { kind, value, .. } => {
                if !decidable(a, self.phase) {
                    b.ja(unknown);
                    return;
                }
                b.ldx(Size::DW, Reg::R1, Reg::R10, CLASS_SLOT).jmp_imm(
                    JmpOp::Lt,
                    Reg::R1,
                    class_of(*kind) as i32,
                    unknown,
                );
                let n = value.len() as i32 + 1;
                b.ldx(Size::W, Reg::R1, rec, syscall_layout::ITEM_LENS);
                if matches!(a, Atom::StrEq { .. }) {
                    b.jmp_imm(JmpOp::Ne, Reg::R1, n, no);
                } else {
                    b.jmp_imm(JmpOp::Lt, Reg::R1, n, no);
                }
                bytes_eq(b, rec, syscall_layout::SIZE as i16, value, no);
                b.ja(yes);
            }
        }
    }
}

/// Falls through if the bytes at `rec + off` are `v`, else jumps to `no`. Chunks start at
/// multiples of 8 from `off` (8-aligned in the record), widest first.
fn bytes_eq(b: &mut ProgramBuilder, rec: Reg, off: i16, v: &[u8], no: Label) {
    let mut at = 0usize;
    while at < v.len() {
        let rest = v.len() - at;
        let width = match rest {
            8.. => 8,
            4..=7 => 4,
            2..=3 => 2,
            _ => 1,
        };
        let mut chunk = [0u8; 8];
        if let (Some(dst), Some(src)) = (chunk.get_mut(..width), v.get(at..at + width)) {
            dst.copy_from_slice(src);
        }
        let value = u64::from_le_bytes(chunk);
        let o = off + at as i16;
        match width {
            8 => {
                b.ldx(Size::DW, Reg::R1, rec, o)
                    .ld_imm64(Reg::R2, value)
                    .jmp_reg(JmpOp::Ne, Reg::R1, Reg::R2, no);
            }
            4 => {
                b.ldx(Size::W, Reg::R1, rec, o).jmp32_imm(
                    JmpOp::Ne,
                    Reg::R1,
                    value as u32 as i32,
                    no,
                );
            }
            2 => {
                b.ldx(Size::H, Reg::R1, rec, o)
                    .jmp_imm(JmpOp::Ne, Reg::R1, value as i32, no);
            }
            _ => {
                b.ldx(Size::B, Reg::R1, rec, o)
                    .jmp_imm(JmpOp::Ne, Reg::R1, value as i32, no);
            }
        }
        at += width;
    }
}

fn signed(c: Cmp) -> JmpOp {
    match c {
        Cmp::Eq => JmpOp::Eq,
        Cmp::Ne => JmpOp::Ne,
        Cmp::Lt => JmpOp::Slt,
        Cmp::Le => JmpOp::Sle,
        Cmp::Gt => JmpOp::Sgt,
        Cmp::Ge => JmpOp::Sge,
    }
}

fn unsigned(c: Cmp) -> JmpOp {
    match c {
        Cmp::Eq => JmpOp::Eq,
        Cmp::Ne => JmpOp::Ne,
        Cmp::Lt => JmpOp::Lt,
        Cmp::Le => JmpOp::Le,
        Cmp::Gt => JmpOp::Gt,
        Cmp::Ge => JmpOp::Ge,
    }
}

/// The filter as a program of its own: R1 points at a syscall record; returns 1 to pass, 0 to
/// drop. What [`crate::interp`] runs to check the emitted code against [`KernelFilter::eval`].
pub fn filter_program(filter: &KernelFilter, early: bool) -> Result<BpfProgram, AsmError> {
    let mut b = ProgramBuilder::new();
    let pass = b.new_label();
    let drop = b.new_label();
    b.mov64_reg(Reg::R6, Reg::R1);
    let phase = if early { Phase::Early } else { Phase::Full };
    emit(&mut b, filter, Reg::R6, phase, pass, drop);
    b.bind(pass).ret(1);
    b.bind(drop).ret(0);
    b.finish()
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::programs::SyscallRecord;

    const IDS: [u32; 3] = [257, 2, 59];
    const BYTES: &[u8] = b"/a.b";

    fn random_bytes(r: &mut fastrand::Rng, max: usize) -> Vec<u8> {
        (0..r.usize(0..=max))
            .map(|_| BYTES[r.usize(..BYTES.len())])
            .collect()
    }

    fn random_atom(r: &mut fastrand::Rng) -> Atom {
        let cmp = [Cmp::Eq, Cmp::Ne, Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge][r.usize(..6)];
        let kind = [PathKind::Raw, PathKind::Absolute, PathKind::Resolved][r.usize(..3)];
        match r.u8(..6) {
            0 => Atom::Ret(
                cmp,
                [0, -1, -2, 3, i64::MIN, i64::MAX, 1 << 40][r.usize(..7)],
            ),
            1 => Atom::Uid(cmp, [0, 1, 1000, u32::MAX][r.usize(..4)]),
            2 => Atom::CommEq(random_bytes(r, 15)),
            3 => Atom::CommPrefix(random_bytes(r, 15)),
            4 => Atom::StrEq {
                item: 0,
                kind,
                value: random_bytes(r, 12),
            },
            _ => Atom::StrPrefix {
                item: 0,
                kind,
                value: random_bytes(r, 12),
            },
        }
    }

    fn random_formula(r: &mut fastrand::Rng, depth: u32) -> Formula {
        match if depth == 0 { 0 } else { r.u8(..4) } {
            0 | 1 => Formula::Lit(random_atom(r), r.bool()),
            2 => Formula::and(
                (0..r.usize(2..4))
                    .map(|_| random_formula(r, depth - 1))
                    .collect(),
            ),
            _ => Formula::or(
                (0..r.usize(2..4))
                    .map(|_| random_formula(r, depth - 1))
                    .collect(),
            ),
        }
    }

    fn header_with_uid(uid: u32) -> crate::programs::RecordHeader {
        crate::programs::RecordHeader {
            kind: crate::programs::RecordKind::Syscall,
            cpu: 0,
            ktime_ns: 0,
            pid: 1,
            tgid: 1,
            uid,
            gid: 7,
        }
    }

    fn random_record(r: &mut fastrand::Rng, id: u32) -> Vec<u8> {
        let mut comm = [0u8; 16];
        let name = random_bytes(r, 15);
        comm[..name.len()].copy_from_slice(&name);
        if r.u8(..8) == 0 {
            // Bytes after the NUL are not part of the name.
            comm[15] = b'a';
        }
        let rec = SyscallRecord {
            header: header_with_uid([0, 1, 1000, 5, u32::MAX][r.usize(..5)]),
            id: i64::from(id),
            ret: [0, -1, -2, 3, 5, i64::MIN, i64::MAX, 1 << 40][r.usize(..8)],
            args: [0; 6],
            comm,
            item_lens: [0; 4],
            plan: 0,
        };
        let mut item = random_bytes(r, 14);
        match r.u8(..6) {
            0 => item.clear(),
            1 => {}
            _ => item.push(0),
        }
        let mut out = rec.to_bytes(&[&item]);
        out.resize(syscall_layout::MAX_SIZE as usize, 0xaa);
        out
    }

    /// The emitted code, interpreted, agrees with `Formula::eval` on every record, in both
    /// phases (the early one is allowed to pass more, never less, and must pass whenever the
    /// full one does).
    #[test]
    fn emitted_code_agrees_with_the_formulas() {
        let mut r = fastrand::Rng::with_seed(11);
        let mut cases = 0;
        for _ in 0..4000 {
            let mut filter = KernelFilter::none();
            for id in IDS {
                if r.bool() {
                    filter.by_syscall.insert(id, random_formula(&mut r, 3));
                }
            }
            let full = filter_program(&filter, false)
                .unwrap_or_else(|e| panic!("{e} for {:?}", filter.by_syscall));
            let early = filter_program(&filter, true)
                .unwrap_or_else(|e| panic!("{e} for {:?}", filter.by_syscall));
            for _ in 0..25 {
                let id = [257, 2, 59, 0, 5000][r.usize(..5)];
                let mut rec = random_record(&mut r, id);
                let want = filter.eval(&rec);
                let got = crate::interp::run(full.insns(), &mut rec.clone()).unwrap() == 1;
                assert_eq!(
                    got,
                    want,
                    "formula {} on {:?}",
                    filter.formula(id),
                    record_input(&rec)
                );
                let early_pass = crate::interp::run(early.insns(), &mut rec).unwrap() == 1;
                assert!(early_pass || !want, "early drop of a passing record");
                cases += 1;
            }
        }
        assert!(cases >= 100_000);
    }

    #[test]
    fn resolved_paths_are_classified_like_plain_path() {
        let mut filter = KernelFilter::none();
        filter.by_syscall.insert(
            257,
            Formula::Lit(
                Atom::StrPrefix {
                    item: 0,
                    kind: PathKind::Resolved,
                    value: b"/".to_vec(),
                },
                true,
            ),
        );
        let prog = filter_program(&filter, false).unwrap();
        for path in [
            &b"/etc/passwd"[..],
            b"/etc//passwd",
            b"/etc/./passwd",
            b"/etc/",
            b"/",
            b"etc/passwd",
            b"/a.b/.c",
            b"/etc/.hidden",
        ] {
            let mut item = path.to_vec();
            item.push(0);
            let rec = SyscallRecord {
                header: header_with_uid(0),
                id: 257,
                ret: 3,
                args: [0; 6],
                comm: [0; 16],
                item_lens: [0; 4],
                plan: 0,
            };
            let mut bytes = rec.to_bytes(&[&item]);
            bytes.resize(syscall_layout::MAX_SIZE as usize, 0);
            let passes = crate::interp::run(prog.insns(), &mut bytes).unwrap() == 1;
            // `not startswith "/"` drops exactly the decided (plain) paths.
            assert_eq!(passes, !lanner_prefilter::plain_path(path), "{path:?}");
        }
    }
}
