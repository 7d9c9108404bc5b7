//! A typed builder for eBPF instruction streams.
//!
//! Jumps name their targets with [`Label`]s that may be bound before or after
//! the jump; [`ProgramBuilder::finish`] resolves them and reports undefined or
//! doubly bound labels and offsets that do not fit the 16-bit field. Map
//! references stay symbolic ([`MapRef`]) until the ELF emitter turns them into
//! `R_BPF_64_64` relocations, so a program never carries a file descriptor.

use thiserror::Error;

use crate::insn::{AluOp, Helper, Insn, JmpOp, Reg, Size, encode_all, op};
use crate::verify::{FUNCTION_ENTRY, PROGRAM_ENTRY, RegSet, check_flow};

/// The verifier's limit on instructions for a privileged program.
pub const MAX_INSNS: usize = 1_000_000;

/// A jump target inside one program, created by [`ProgramBuilder::new_label`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label(usize);

/// A symbolic reference from an `ld_imm64` to a map, by map name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapRef {
    /// Index of the first slot of the `ld_imm64` instruction.
    pub insn: usize,
    /// Name of the referenced map, as declared to the ELF emitter.
    pub map: String,
}

/// How an instruction refers to a function of the object's `.text` section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FuncRefKind {
    /// `ld_imm64` of the function's address (`BPF_PSEUDO_FUNC`), e.g. the
    /// callback argument of `bpf_loop`.
    Address,
    /// A bpf-to-bpf call (`BPF_PSEUDO_CALL`).
    Call,
}

/// A symbolic reference to a function, by name; the ELF emitter turns it into
/// a relocation against the function's symbol and aya links the function into
/// every program that references it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncRef {
    /// Index of the referring instruction (first slot for `ld_imm64`).
    pub insn: usize,
    pub func: String,
    pub kind: FuncRefKind,
}

/// Labels handed to the body of [`ProgramBuilder::bounded_loop`].
#[derive(Clone, Copy, Debug)]
pub struct LoopLabels {
    /// Jumping here leaves the loop.
    pub exit: Label,
    /// Jumping here starts the next iteration.
    pub next: Label,
}

/// Why an instruction stream could not be finished.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AsmError {
    #[error("label {label} is used by the jump at instruction {used_at} but never bound")]
    UndefinedLabel { label: usize, used_at: usize },
    #[error("label {label} is bound twice, at instructions {first} and {second}")]
    DuplicateLabel {
        label: usize,
        first: usize,
        second: usize,
    },
    #[error(
        "the jump at instruction {at} to instruction {target} spans {distance} slots, beyond the 16-bit offset field"
    )]
    JumpOutOfRange {
        at: usize,
        target: usize,
        distance: i64,
    },
    #[error("the jump at instruction {at} targets the second slot of an ld_imm64 at {target}")]
    JumpIntoLdImm64 { at: usize, target: usize },
    #[error("the jump at instruction {at} targets {target}, past the end of the program")]
    JumpPastEnd { at: usize, target: usize },
    #[error("instruction {at} is unreachable (the verifier rejects dead code)")]
    Unreachable { at: usize },
    #[error("instruction {at} reads r{reg}, which is not written on every path to it")]
    UndefinedRead { at: usize, reg: u8 },
    #[error("instruction {at} writes the read-only frame pointer r10")]
    FramePointerWrite { at: usize },
    #[error("the program is empty")]
    Empty,
    #[error("the program ends with instruction {last}, which is neither exit nor a jump")]
    FallsOffEnd { last: usize },
    #[error("the program has {count} instructions, more than the verifier's {max}")]
    TooLong { count: usize, max: usize },
}

/// A finished, label-free instruction stream with its map references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BpfProgram {
    insns: Vec<Insn>,
    map_refs: Vec<MapRef>,
    func_refs: Vec<FuncRef>,
}

impl BpfProgram {
    /// The instruction slots, `ld_imm64` counting as two.
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// The map references, in instruction order.
    pub fn map_refs(&self) -> &[MapRef] {
        &self.map_refs
    }

    /// The function references, in instruction order.
    pub fn func_refs(&self) -> &[FuncRef] {
        &self.func_refs
    }

    /// The encoded program text.
    pub fn bytes(&self) -> Vec<u8> {
        encode_all(&self.insns)
    }
}

/// Builds one program's instruction stream.
#[derive(Debug, Default)]
pub struct ProgramBuilder {
    insns: Vec<Insn>,
    /// For each label, where it is bound, if it is.
    labels: Vec<Option<usize>>,
    /// Jumps whose offset is filled in by `finish`: (instruction, target).
    fixups: Vec<(usize, Label)>,
    map_refs: Vec<MapRef>,
    func_refs: Vec<FuncRef>,
    /// The first misuse seen while building, reported by `finish` so that the
    /// builder's methods can chain without a `Result` on each call.
    error: Option<AsmError>,
}

impl ProgramBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The index the next instruction will have.
    pub fn here(&self) -> usize {
        self.insns.len()
    }

    fn record(&mut self, err: AsmError) {
        if self.error.is_none() {
            self.error = Some(err);
        }
    }

    fn push(&mut self, insn: Insn) -> &mut Self {
        self.insns.push(insn);
        self
    }

    fn push_writing(&mut self, dst: Reg, insn: Insn) -> &mut Self {
        if dst == Reg::R10 {
            let at = self.here();
            self.record(AsmError::FramePointerWrite { at });
        }
        self.push(insn)
    }

    // ---- labels ----

    /// A fresh, unbound label.
    pub fn new_label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Binds `label` to the next instruction.
    pub fn bind(&mut self, label: Label) -> &mut Self {
        let here = self.here();
        match self.labels.get_mut(label.0) {
            Some(slot @ None) => *slot = Some(here),
            Some(Some(first)) => {
                let first = *first;
                self.record(AsmError::DuplicateLabel {
                    label: label.0,
                    first,
                    second: here,
                });
            }
            // A label from another builder: it can never be bound here.
            None => self.record(AsmError::UndefinedLabel {
                label: label.0,
                used_at: here,
            }),
        }
        self
    }

    // ---- ALU ----

    /// `dst = dst <op> imm` on 64 bits (`imm` is sign-extended).
    pub fn alu64_imm(&mut self, op: AluOp, dst: Reg, imm: i32) -> &mut Self {
        let code = op::CLASS_ALU64 | op.bits() | op::SRC_K;
        self.push_writing(dst, Insn::new(code, dst, Reg::R0, 0, imm))
    }

    /// `dst = dst <op> src` on 64 bits.
    pub fn alu64_reg(&mut self, op: AluOp, dst: Reg, src: Reg) -> &mut Self {
        let code = op::CLASS_ALU64 | op.bits() | op::SRC_X;
        self.push_writing(dst, Insn::new(code, dst, src, 0, 0))
    }

    /// `dst = (u32)(dst <op> imm)`: 32-bit operation, upper half zeroed.
    pub fn alu32_imm(&mut self, op: AluOp, dst: Reg, imm: i32) -> &mut Self {
        let code = op::CLASS_ALU | op.bits() | op::SRC_K;
        self.push_writing(dst, Insn::new(code, dst, Reg::R0, 0, imm))
    }

    /// `dst = (u32)(dst <op> src)`: 32-bit operation, upper half zeroed.
    pub fn alu32_reg(&mut self, op: AluOp, dst: Reg, src: Reg) -> &mut Self {
        let code = op::CLASS_ALU | op.bits() | op::SRC_X;
        self.push_writing(dst, Insn::new(code, dst, src, 0, 0))
    }

    /// `dst = -dst` on 64 bits.
    pub fn neg64(&mut self, dst: Reg) -> &mut Self {
        let code = op::CLASS_ALU64 | op::ALU_NEG;
        self.push_writing(dst, Insn::new(code, dst, Reg::R0, 0, 0))
    }

    /// `dst = (u32)-dst`.
    pub fn neg32(&mut self, dst: Reg) -> &mut Self {
        let code = op::CLASS_ALU | op::ALU_NEG;
        self.push_writing(dst, Insn::new(code, dst, Reg::R0, 0, 0))
    }

    pub fn mov64_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.alu64_imm(AluOp::Mov, dst, imm)
    }

    pub fn mov64_reg(&mut self, dst: Reg, src: Reg) -> &mut Self {
        self.alu64_reg(AluOp::Mov, dst, src)
    }

    pub fn mov32_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.alu32_imm(AluOp::Mov, dst, imm)
    }

    pub fn mov32_reg(&mut self, dst: Reg, src: Reg) -> &mut Self {
        self.alu32_reg(AluOp::Mov, dst, src)
    }

    pub fn add64_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.alu64_imm(AluOp::Add, dst, imm)
    }

    pub fn add64_reg(&mut self, dst: Reg, src: Reg) -> &mut Self {
        self.alu64_reg(AluOp::Add, dst, src)
    }

    /// `dst = r10 + off`: a pointer to the stack slot at `off`.
    pub fn stack_ptr(&mut self, dst: Reg, off: i16) -> &mut Self {
        self.mov64_reg(dst, Reg::R10).add64_imm(dst, i32::from(off))
    }

    // ---- memory ----

    /// `dst = *(size *)(src + off)`, zero-extended.
    pub fn ldx(&mut self, size: Size, dst: Reg, src: Reg, off: i16) -> &mut Self {
        let code = op::CLASS_LDX | op::MODE_MEM | size.bits();
        self.push_writing(dst, Insn::new(code, dst, src, off, 0))
    }

    /// `*(size *)(dst + off) = src`.
    pub fn stx(&mut self, size: Size, dst: Reg, off: i16, src: Reg) -> &mut Self {
        let code = op::CLASS_STX | op::MODE_MEM | size.bits();
        self.push(Insn::new(code, dst, src, off, 0))
    }

    /// `*(size *)(dst + off) = imm`.
    pub fn st(&mut self, size: Size, dst: Reg, off: i16, imm: i32) -> &mut Self {
        let code = op::CLASS_ST | op::MODE_MEM | size.bits();
        self.push(Insn::new(code, dst, Reg::R0, off, imm))
    }

    /// `lock *(size *)(dst + off) += src`, for counters shared between CPUs.
    /// Only [`Size::W`] and [`Size::DW`] exist as atomic widths.
    pub fn atomic_add(&mut self, size: Size, dst: Reg, off: i16, src: Reg) -> &mut Self {
        let code = op::CLASS_STX | op::MODE_ATOMIC | size.bits();
        // imm = BPF_ADD selects the atomic operation.
        self.push(Insn::new(code, dst, src, off, 0))
    }

    /// `dst = imm` for a full 64-bit constant (two slots).
    pub fn ld_imm64(&mut self, dst: Reg, imm: u64) -> &mut Self {
        // The two halves are stored as raw bit patterns; truncation is the intent.
        let lo = imm as u32 as i32;
        let hi = (imm >> 32) as u32 as i32;
        self.push_writing(dst, Insn::new(op::LD_IMM64, dst, Reg::R0, 0, lo));
        self.push(Insn::new(0, Reg::R0, Reg::R0, 0, hi))
    }

    /// `dst = &map`: the loader patches in the map's file descriptor through
    /// the relocation the ELF emitter attaches to this instruction.
    pub fn ld_map(&mut self, dst: Reg, map: &str) -> &mut Self {
        let insn = self.here();
        self.map_refs.push(MapRef {
            insn,
            map: map.to_owned(),
        });
        let mut first = Insn::new(op::LD_IMM64, dst, Reg::R0, 0, 0);
        first.src = op::PSEUDO_MAP_FD;
        self.push_writing(dst, first);
        self.push(Insn::new(0, Reg::R0, Reg::R0, 0, 0))
    }

    /// `dst = &func` for a function of the object's `.text` section, such as
    /// a `bpf_loop` callback. Programs using this need BTF function info,
    /// which the ELF emitter writes whenever the object has functions.
    pub fn ld_func(&mut self, dst: Reg, func: &str) -> &mut Self {
        let insn = self.here();
        self.func_refs.push(FuncRef {
            insn,
            func: func.to_owned(),
            kind: FuncRefKind::Address,
        });
        let mut first = Insn::new(op::LD_IMM64, dst, Reg::R0, 0, 0);
        first.src = op::PSEUDO_FUNC;
        self.push_writing(dst, first);
        self.push(Insn::new(0, Reg::R0, Reg::R0, 0, 0))
    }

    /// Calls a function of the object's `.text` section (bpf-to-bpf call):
    /// arguments in R1–R5, result in R0, R1–R5 clobbered, R6–R9 preserved.
    pub fn call_func(&mut self, func: &str) -> &mut Self {
        let insn = self.here();
        self.func_refs.push(FuncRef {
            insn,
            func: func.to_owned(),
            kind: FuncRefKind::Call,
        });
        let mut call = Insn::new(op::CLASS_JMP | op::JMP_CALL, Reg::R0, Reg::R0, 0, -1);
        call.src = op::PSEUDO_CALL;
        // clang writes -1 into relocated calls; aya replaces it when linking.
        self.push(call)
    }

    // ---- control flow ----

    fn jump(&mut self, insn: Insn, target: Label) -> &mut Self {
        let at = self.here();
        self.fixups.push((at, target));
        self.push(insn)
    }

    /// `if dst <op> imm goto target` (64-bit comparison).
    pub fn jmp_imm(&mut self, op: JmpOp, dst: Reg, imm: i32, target: Label) -> &mut Self {
        let code = op::CLASS_JMP | op.bits() | op::SRC_K;
        self.jump(Insn::new(code, dst, Reg::R0, 0, imm), target)
    }

    /// `if dst <op> src goto target` (64-bit comparison).
    pub fn jmp_reg(&mut self, op: JmpOp, dst: Reg, src: Reg, target: Label) -> &mut Self {
        let code = op::CLASS_JMP | op.bits() | op::SRC_X;
        self.jump(Insn::new(code, dst, src, 0, 0), target)
    }

    /// `if (u32)dst <op> imm goto target` (32-bit comparison).
    pub fn jmp32_imm(&mut self, op: JmpOp, dst: Reg, imm: i32, target: Label) -> &mut Self {
        let code = op::CLASS_JMP32 | op.bits() | op::SRC_K;
        self.jump(Insn::new(code, dst, Reg::R0, 0, imm), target)
    }

    /// `if (u32)dst <op> (u32)src goto target` (32-bit comparison).
    pub fn jmp32_reg(&mut self, op: JmpOp, dst: Reg, src: Reg, target: Label) -> &mut Self {
        let code = op::CLASS_JMP32 | op.bits() | op::SRC_X;
        self.jump(Insn::new(code, dst, src, 0, 0), target)
    }

    /// `goto target`.
    pub fn ja(&mut self, target: Label) -> &mut Self {
        let code = op::CLASS_JMP | op::JMP_JA;
        self.jump(Insn::new(code, Reg::R0, Reg::R0, 0, 0), target)
    }

    /// Calls a kernel helper: arguments in R1–R5, result in R0, R1–R5 clobbered.
    pub fn call(&mut self, helper: Helper) -> &mut Self {
        let code = op::CLASS_JMP | op::JMP_CALL;
        self.push(Insn::new(code, Reg::R0, Reg::R0, 0, helper.id()))
    }

    /// Returns R0 to the kernel.
    pub fn exit(&mut self) -> &mut Self {
        let code = op::CLASS_JMP | op::JMP_EXIT;
        self.push(Insn::new(code, Reg::R0, Reg::R0, 0, 0))
    }

    /// `r0 = imm; exit`.
    pub fn ret(&mut self, imm: i32) -> &mut Self {
        self.mov64_imm(Reg::R0, imm).exit()
    }

    /// Emits a loop the verifier can prove bounded: `counter` runs from 0 to
    /// `iterations - 1` and the body is emitted once, between the bound check
    /// and the increment. The body must leave `counter` alone; it may jump to
    /// `labels.next` (continue) or `labels.exit` (break).
    ///
    /// The verifier walks every iteration, so `iterations` times the body's
    /// length must stay well below its one-million-instruction budget.
    pub fn bounded_loop(
        &mut self,
        counter: Reg,
        iterations: i32,
        body: impl FnOnce(&mut Self, LoopLabels),
    ) -> &mut Self {
        let head = self.new_label();
        let next = self.new_label();
        let exit = self.new_label();
        self.mov64_imm(counter, 0);
        self.bind(head);
        self.jmp_imm(JmpOp::Sge, counter, iterations, exit);
        body(self, LoopLabels { exit, next });
        self.bind(next);
        self.add64_imm(counter, 1);
        self.ja(head);
        self.bind(exit);
        self
    }

    /// Resolves labels and checks the stream as a program's main function:
    /// its shape, that every instruction is reachable, and that no register
    /// is read before it is written (only R1, the context, and R10 are
    /// defined on entry).
    pub fn finish(self) -> Result<BpfProgram, AsmError> {
        self.finish_checked(Some(PROGRAM_ENTRY))
    }

    /// Like [`ProgramBuilder::finish`] for a function called by others (a
    /// `bpf_loop` callback, a bpf-to-bpf callee): R1–R5 count as defined.
    pub fn finish_function(self) -> Result<BpfProgram, AsmError> {
        self.finish_checked(Some(FUNCTION_ENTRY))
    }

    /// Resolves labels and checks only the stream's shape, for code that is
    /// meant to reach the verifier as it is (such as tests of the verifier's
    /// own diagnostics) or that is not a program at all.
    pub fn finish_unchecked(self) -> Result<BpfProgram, AsmError> {
        self.finish_checked(None)
    }

    fn finish_checked(self, entry: Option<RegSet>) -> Result<BpfProgram, AsmError> {
        let ProgramBuilder {
            mut insns,
            labels,
            fixups,
            map_refs,
            func_refs,
            error,
        } = self;
        if let Some(err) = error {
            return Err(err);
        }
        if insns.len() > MAX_INSNS {
            return Err(AsmError::TooLong {
                count: insns.len(),
                max: MAX_INSNS,
            });
        }
        let Some(last) = insns.last() else {
            return Err(AsmError::Empty);
        };
        let jmp_class = last.code & 0x07 == op::CLASS_JMP;
        let ends_ok = jmp_class && (last.code & 0xf0 == op::JMP_EXIT || last.code & 0xf0 == 0);
        // A second ld_imm64 slot has code 0, which looks like `ja` of class LD;
        // checking the class first keeps that case an error.
        if !ends_ok {
            return Err(AsmError::FallsOffEnd {
                last: insns.len() - 1,
            });
        }
        // Second slots of ld_imm64 instructions are not valid jump targets.
        let mut second_slots = vec![false; insns.len()];
        let mut i = 0;
        while let Some(insn) = insns.get(i) {
            if insn.is_ld_imm64() {
                if let Some(s) = second_slots.get_mut(i + 1) {
                    *s = true;
                }
                i += 2;
            } else {
                i += 1;
            }
        }
        for (at, label) in fixups {
            let target =
                labels
                    .get(label.0)
                    .copied()
                    .flatten()
                    .ok_or(AsmError::UndefinedLabel {
                        label: label.0,
                        used_at: at,
                    })?;
            if target >= insns.len() {
                return Err(AsmError::JumpPastEnd { at, target });
            }
            if second_slots.get(target).copied().unwrap_or(false) {
                return Err(AsmError::JumpIntoLdImm64 { at, target });
            }
            // Offsets count from the instruction after the jump.
            let distance = target as i64 - at as i64 - 1;
            let off = i16::try_from(distance).map_err(|_| AsmError::JumpOutOfRange {
                at,
                target,
                distance,
            })?;
            // INVARIANT: every fixup index was the length of `insns` when the
            // jump was pushed, and instructions are never removed.
            if let Some(insn) = insns.get_mut(at) {
                insn.off = off;
            }
        }
        if let Some(entry) = entry {
            check_flow(&insns, entry)?;
        }
        Ok(BpfProgram {
            insns,
            map_refs,
            func_refs,
        })
    }
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
    use crate::insn::Reg::*;

    fn hex(p: &BpfProgram) -> Vec<String> {
        p.insns()
            .iter()
            .map(|i| {
                i.encode()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// Encodings as printed by `llvm-objdump -d` for the same instructions
    /// (and as listed in the kernel's instruction-set document).
    #[test]
    fn encodes_known_instructions() {
        let mut b = ProgramBuilder::new();
        b.mov64_reg(R6, R1) // bf 16: r6 = r1
            .ldx(Size::DW, R7, R6, 8) // 79 67: r7 = *(u64 *)(r6 + 8)
            .stx(Size::W, R10, -4, R7) // 63 7a: *(u32 *)(r10 - 4) = r7
            .st(Size::W, R10, -8, 0) // 62 0a: *(u32 *)(r10 - 8) = 0
            .add64_imm(R2, -4) // 07 02: r2 += -4
            .call(Helper::MapLookupElem) // 85: call 1
            .mov32_reg(R1, R2) // bc 21: w1 = w2
            .alu64_imm(AluOp::And, R1, 0xff) // 57 01: r1 &= 255
            .alu32_imm(AluOp::Rsh, R3, 3) // 74 03: w3 >>= 3
            .alu64_reg(AluOp::Xor, R4, R5) // af 54: r4 ^= r5
            .neg64(R1) // 87 01: r1 = -r1
            .ldx(Size::B, R1, R0, 0) // 71 01: r1 = *(u8 *)(r0 + 0)
            .ldx(Size::H, R1, R0, 2) // 69 01: r1 = *(u16 *)(r0 + 2)
            .stx(Size::DW, R0, 16, R1) // 7b 10: *(u64 *)(r0 + 16) = r1
            .st(Size::B, R0, 1, 7) // 72 00: *(u8 *)(r0 + 1) = 7
            .st(Size::H, R0, 2, 7) // 6a 00: *(u16 *)(r0 + 2) = 7
            .st(Size::DW, R0, 8, -1) // 7a 00: *(u64 *)(r0 + 8) = -1
            .atomic_add(Size::DW, R1, 0, R2) // db 21: lock *(u64 *)(r1 + 0) += r2
            .ld_imm64(R1, 0x1122_3344_5566_7788) // 18 01 ... 00 00 ...
            .ret(0); // b7 00, 95 00
        let p = b.finish_unchecked().unwrap();
        assert_eq!(
            hex(&p),
            [
                "bf 16 00 00 00 00 00 00",
                "79 67 08 00 00 00 00 00",
                "63 7a fc ff 00 00 00 00",
                "62 0a f8 ff 00 00 00 00",
                "07 02 00 00 fc ff ff ff",
                "85 00 00 00 01 00 00 00",
                "bc 21 00 00 00 00 00 00",
                "57 01 00 00 ff 00 00 00",
                "74 03 00 00 03 00 00 00",
                "af 54 00 00 00 00 00 00",
                "87 01 00 00 00 00 00 00",
                "71 01 00 00 00 00 00 00",
                "69 01 02 00 00 00 00 00",
                "7b 10 10 00 00 00 00 00",
                "72 00 01 00 07 00 00 00",
                "6a 00 02 00 07 00 00 00",
                "7a 00 08 00 ff ff ff ff",
                "db 21 00 00 00 00 00 00",
                "18 01 00 00 88 77 66 55",
                "00 00 00 00 44 33 22 11",
                "b7 00 00 00 00 00 00 00",
                "95 00 00 00 00 00 00 00",
            ]
        );
    }

    #[test]
    fn forward_and_backward_jumps_resolve() {
        let mut b = ProgramBuilder::new();
        let top = b.new_label();
        let out = b.new_label();
        b.bind(top) // 0
            .jmp_imm(JmpOp::Eq, R0, 0, out) // 0: +3 -> 4
            .jmp_reg(JmpOp::Gt, R1, R2, top) // 1: -2 -> 0
            .jmp32_imm(JmpOp::Ne, R3, 5, out) // 2: +1 -> 4
            .ja(top) // 3: -4 -> 0
            .bind(out)
            .ret(0); // 4, 5
        let p = b.finish_unchecked().unwrap();
        let h = hex(&p);
        assert_eq!(h[0], "15 00 03 00 00 00 00 00");
        assert_eq!(h[1], "2d 21 fe ff 00 00 00 00");
        assert_eq!(h[2], "56 03 01 00 05 00 00 00");
        assert_eq!(h[3], "05 00 fc ff 00 00 00 00");
    }

    #[test]
    fn undefined_label_is_an_error() {
        let mut b = ProgramBuilder::new();
        let nowhere = b.new_label();
        b.ja(nowhere).ret(0);
        assert_eq!(
            b.finish(),
            Err(AsmError::UndefinedLabel {
                label: 0,
                used_at: 0
            })
        );
    }

    #[test]
    fn duplicate_label_is_an_error() {
        let mut b = ProgramBuilder::new();
        let l = b.new_label();
        b.bind(l).mov64_imm(R0, 0).bind(l).exit();
        assert_eq!(
            b.finish(),
            Err(AsmError::DuplicateLabel {
                label: 0,
                first: 0,
                second: 1
            })
        );
    }

    #[test]
    fn jump_offset_overflow_is_an_error() {
        let mut b = ProgramBuilder::new();
        let far = b.new_label();
        b.jmp_imm(JmpOp::Eq, R1, 0, far);
        for _ in 0..40_000 {
            b.mov64_imm(R1, 1);
        }
        b.bind(far).ret(0);
        assert!(matches!(
            b.finish(),
            Err(AsmError::JumpOutOfRange {
                at: 0,
                target: 40_001,
                distance: 40_000
            })
        ));
        // The largest positive offset still fits.
        let mut b = ProgramBuilder::new();
        let far = b.new_label();
        b.jmp_imm(JmpOp::Eq, R1, 0, far);
        for _ in 0..i16::MAX {
            b.mov64_imm(R1, 1);
        }
        b.bind(far).ret(0);
        assert_eq!(b.finish().unwrap().insns()[0].off, i16::MAX);
    }

    #[test]
    fn jump_past_the_end_is_an_error() {
        let mut b = ProgramBuilder::new();
        let end = b.new_label();
        b.mov64_imm(R0, 0)
            .jmp_imm(JmpOp::Eq, R1, 0, end)
            .exit()
            .bind(end);
        assert_eq!(b.finish(), Err(AsmError::JumpPastEnd { at: 1, target: 3 }));
    }

    #[test]
    fn shape_errors() {
        assert_eq!(ProgramBuilder::new().finish(), Err(AsmError::Empty));
        let mut b = ProgramBuilder::new();
        b.mov64_imm(R0, 0);
        assert_eq!(b.finish(), Err(AsmError::FallsOffEnd { last: 0 }));
        let mut b = ProgramBuilder::new();
        b.ld_imm64(R0, 0);
        assert_eq!(b.finish(), Err(AsmError::FallsOffEnd { last: 1 }));
        let mut b = ProgramBuilder::new();
        b.mov64_imm(R0, 0).mov64_reg(R10, R1).exit();
        assert_eq!(b.finish(), Err(AsmError::FramePointerWrite { at: 1 }));
        let mut b = ProgramBuilder::new();
        let l = b.new_label();
        b.ja(l).mov64_imm(R0, 0);
        // Binding inside an ld_imm64 is impossible through the API except by
        // binding just before its second slot; emulate that by hand.
        b.ld_imm64(R1, 5);
        b.labels[l.0] = Some(3);
        b.exit();
        assert_eq!(
            b.finish(),
            Err(AsmError::JumpIntoLdImm64 { at: 0, target: 3 })
        );
    }

    #[test]
    fn map_references_are_recorded() {
        let mut b = ProgramBuilder::new();
        b.mov64_imm(R2, 0)
            .ld_map(R1, "events")
            .ld_map(R3, "drops")
            .ret(0);
        let p = b.finish().unwrap();
        assert_eq!(
            p.map_refs(),
            [
                MapRef {
                    insn: 1,
                    map: "events".into()
                },
                MapRef {
                    insn: 3,
                    map: "drops".into()
                }
            ]
        );
        assert_eq!(hex(&p)[1], "18 11 00 00 00 00 00 00");
        assert_eq!(hex(&p)[3], "18 13 00 00 00 00 00 00");
    }

    #[test]
    fn function_references_are_recorded() {
        let mut b = ProgramBuilder::new();
        b.ld_func(R2, "cb").call_func("helper").ret(0);
        let p = b.finish().unwrap();
        assert_eq!(hex(&p)[0], "18 42 00 00 00 00 00 00");
        assert_eq!(hex(&p)[2], "85 10 00 00 ff ff ff ff");
        assert_eq!(
            p.func_refs(),
            [
                FuncRef {
                    insn: 0,
                    func: "cb".into(),
                    kind: FuncRefKind::Address
                },
                FuncRef {
                    insn: 2,
                    func: "helper".into(),
                    kind: FuncRefKind::Call
                }
            ]
        );
    }

    #[test]
    fn bounded_loop_shape() {
        let mut b = ProgramBuilder::new();
        b.mov64_imm(R0, 0);
        b.bounded_loop(R6, 4, |b, l| {
            b.jmp_imm(JmpOp::Eq, R6, 2, l.next);
            b.add64_imm(R0, 1);
        });
        b.exit();
        let p = b.finish().unwrap();
        assert_eq!(
            hex(&p),
            [
                "b7 00 00 00 00 00 00 00", // r0 = 0
                "b7 06 00 00 00 00 00 00", // r6 = 0
                "75 06 04 00 04 00 00 00", // if r6 s>= 4 goto exit
                "15 06 01 00 02 00 00 00", // if r6 == 2 goto next
                "07 00 00 00 01 00 00 00", // r0 += 1
                "07 06 00 00 01 00 00 00", // next: r6 += 1
                "05 00 fb ff 00 00 00 00", // goto head
                "95 00 00 00 00 00 00 00", // exit
            ]
        );
    }
}
