//! Checks that catch, before the kernel sees a program, two mistakes a code
//! generator makes and the verifier reports tersely: instructions no path
//! reaches (`unreachable insn N`) and registers read before every path to the
//! read has written them (`R2 !read_ok`), including the argument registers a
//! helper call leaves undefined behind it.
//!
//! The analysis is a forward data-flow over the control-flow graph: the set of
//! registers that are written on *every* path to an instruction, intersected
//! where paths merge, iterated to a fixed point (loops converge because sets
//! only shrink).

use crate::asm::AsmError;
use crate::insn::{Helper, Insn, Reg, op};

/// A set of registers as a bitmask over register numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegSet(u16);

impl RegSet {
    pub const EMPTY: RegSet = RegSet(0);

    pub const fn of(mut regs: &[Reg]) -> RegSet {
        let mut bits = 0u16;
        while let [first, rest @ ..] = regs {
            bits |= 1 << (*first as u8);
            regs = rest;
        }
        RegSet(bits)
    }

    /// Registers `from..=to`, by number.
    const fn range(from: u8, to: u8) -> RegSet {
        let mut bits = 0u16;
        let mut r = from;
        while r <= to {
            bits |= 1 << r;
            r += 1;
        }
        RegSet(bits)
    }

    fn with(self, reg: u8) -> RegSet {
        RegSet(self.0 | (1u16 << (reg & 0x0f)))
    }

    fn without(self, other: RegSet) -> RegSet {
        RegSet(self.0 & !other.0)
    }

    fn meet(self, other: RegSet) -> RegSet {
        RegSet(self.0 & other.0)
    }

    fn contains(self, reg: u8) -> bool {
        self.0 & (1u16 << (reg & 0x0f)) != 0
    }
}

/// Registers defined when a program starts: the context pointer and the
/// frame pointer.
pub const PROGRAM_ENTRY: RegSet = RegSet::of(&[Reg::R1, Reg::R10]);
/// Registers assumed defined when a function starts: all five argument
/// registers (the callers decide how many they pass) and the frame pointer.
pub const FUNCTION_ENTRY: RegSet =
    RegSet::of(&[Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5, Reg::R10]);

/// R1–R5, undefined after any call.
const CALLER_SAVED: RegSet = RegSet::range(1, 5);

/// What one instruction reads, writes and where control goes next.
struct Effect {
    reads: Vec<u8>,
    writes: Option<u8>,
    clobbers: RegSet,
    next: Vec<usize>,
}

fn effect(insns: &[Insn], i: usize) -> Option<Effect> {
    let insn = insns.get(i)?;
    let class = insn.code & 0x07;
    let opbits = insn.code & 0xf0;
    let uses_src = insn.code & op::SRC_X != 0;
    let (dst, src) = (insn.dst, insn.src);
    let mut e = Effect {
        reads: Vec::new(),
        writes: None,
        clobbers: RegSet::EMPTY,
        next: vec![i + 1],
    };
    match class {
        op::CLASS_ALU | op::CLASS_ALU64 => {
            // mov reads only its source; every other operation also reads
            // the destination (neg and byte swaps have no source).
            if opbits != 0xb0 {
                e.reads.push(dst);
            }
            if uses_src && opbits != op::ALU_NEG && opbits != 0xd0 {
                e.reads.push(src);
            }
            e.writes = Some(dst);
        }
        op::CLASS_LDX => {
            e.reads.push(src);
            e.writes = Some(dst);
        }
        op::CLASS_ST => e.reads.push(dst),
        op::CLASS_STX => {
            e.reads.extend([dst, src]);
            // Atomic operations with BPF_FETCH return the old value in src.
            if insn.code & 0xe0 == op::MODE_ATOMIC && insn.imm & 0x01 != 0 {
                e.writes = Some(src);
            }
        }
        op::CLASS_LD if insn.is_ld_imm64() => {
            e.writes = Some(dst);
            e.next = vec![i + 2];
        }
        op::CLASS_JMP | op::CLASS_JMP32 => {
            let target = usize::try_from(i as i64 + 1 + i64::from(insn.off)).ok();
            match opbits {
                op::JMP_JA if class == op::CLASS_JMP => e.next = target.into_iter().collect(),
                op::JMP_CALL => {
                    if src == 0 {
                        let args = Helper::from_id(insn.imm).map_or(0, Helper::arg_count);
                        e.reads.extend(1..=args);
                    }
                    e.writes = Some(0);
                    e.clobbers = CALLER_SAVED;
                }
                op::JMP_EXIT => {
                    e.reads.push(0);
                    e.next = Vec::new();
                }
                _ => {
                    e.reads.push(dst);
                    if uses_src {
                        e.reads.push(src);
                    }
                    e.next.extend(target);
                }
            }
        }
        _ => {}
    }
    Some(e)
}

fn apply(state: RegSet, e: &Effect) -> RegSet {
    let state = state.without(e.clobbers);
    match e.writes {
        Some(r) => state.with(r),
        None => state,
    }
}

/// Runs the reachability and definedness checks over a label-resolved
/// instruction stream.
pub fn check_flow(insns: &[Insn], entry: RegSet) -> Result<(), AsmError> {
    let mut state: Vec<Option<RegSet>> = vec![None; insns.len()];
    let mut second_slot = vec![false; insns.len()];
    if let Some(s) = state.first_mut() {
        *s = Some(entry);
    }
    let mut work = vec![0usize];
    while let Some(i) = work.pop() {
        let (Some(Some(in_state)), Some(e)) = (state.get(i).copied(), effect(insns, i)) else {
            continue;
        };
        if insns.get(i).is_some_and(Insn::is_ld_imm64)
            && let Some(s) = second_slot.get_mut(i + 1)
        {
            *s = true;
        }
        let out = apply(in_state, &e);
        for n in e.next {
            // Targets past the end were rejected when labels were resolved.
            let Some(slot) = state.get_mut(n) else {
                continue;
            };
            let merged = slot.map_or(out, |old| old.meet(out));
            if *slot != Some(merged) {
                *slot = Some(merged);
                work.push(n);
            }
        }
    }
    for (i, s) in state.iter().enumerate() {
        let Some(in_state) = s else {
            if second_slot.get(i).copied().unwrap_or(false) {
                continue;
            }
            return Err(AsmError::Unreachable { at: i });
        };
        if let Some(e) = effect(insns, i)
            && let Some(&reg) = e.reads.iter().find(|&&r| !in_state.contains(r))
        {
            return Err(AsmError::UndefinedRead { at: i, reg });
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use crate::asm::{AsmError, ProgramBuilder};
    use crate::insn::Reg::*;
    use crate::insn::{Helper, JmpOp};

    #[test]
    fn exit_without_r0_is_caught() {
        let mut b = ProgramBuilder::new();
        b.exit();
        assert_eq!(b.finish(), Err(AsmError::UndefinedRead { at: 0, reg: 0 }));
    }

    #[test]
    fn helper_arguments_must_be_set_and_die_after_calls() {
        let mut b = ProgramBuilder::new();
        b.mov64_reg(R2, R10).call(Helper::MapLookupElem).ret(0);
        // map_lookup_elem reads R1 (the context: defined) and R2.
        assert!(b.finish().is_ok());

        let mut b = ProgramBuilder::new();
        b.call(Helper::RingbufReserve).ret(0);
        assert_eq!(b.finish(), Err(AsmError::UndefinedRead { at: 0, reg: 2 }));

        let mut b = ProgramBuilder::new();
        b.call(Helper::KtimeGetNs).mov64_reg(R6, R1).ret(0);
        assert_eq!(b.finish(), Err(AsmError::UndefinedRead { at: 1, reg: 1 }));
    }

    #[test]
    fn definedness_is_the_meet_over_paths() {
        let mut b = ProgramBuilder::new();
        let skip = b.new_label();
        b.jmp_imm(JmpOp::Eq, R1, 0, skip)
            .mov64_imm(R6, 1)
            .bind(skip)
            .mov64_reg(R0, R6)
            .exit();
        assert_eq!(b.finish(), Err(AsmError::UndefinedRead { at: 2, reg: 6 }));
    }

    #[test]
    fn unreachable_code_is_caught() {
        let mut b = ProgramBuilder::new();
        b.ret(0).ret(1);
        assert_eq!(b.finish(), Err(AsmError::Unreachable { at: 2 }));
    }

    #[test]
    fn loops_converge() {
        let mut b = ProgramBuilder::new();
        b.mov64_imm(R0, 0);
        b.bounded_loop(R6, 8, |b, _| {
            b.add64_reg(R0, R6);
        });
        b.exit();
        assert!(b.finish().is_ok());
    }

    #[test]
    fn functions_may_read_argument_registers() {
        let mut b = ProgramBuilder::new();
        b.mov64_reg(R0, R3).exit();
        assert!(b.finish_function().is_ok());
    }
}
