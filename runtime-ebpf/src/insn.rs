//! The eBPF instruction set as Rust types, and its exact 8-byte encoding.
//!
//! Every value here mirrors `include/uapi/linux/bpf.h` and
//! `Documentation/bpf/standardization/instruction-set.rst`. The encoding is
//! little-endian (the only byte order this project targets): byte 0 is the
//! opcode, byte 1 holds the destination register in its low nibble and the
//! source register in its high nibble, bytes 2..4 the signed 16-bit offset and
//! bytes 4..8 the signed 32-bit immediate.

use std::fmt;

/// One of the eleven eBPF registers.
///
/// R0 holds return values, R1–R5 are helper arguments (clobbered by every
/// call), R6–R9 survive calls, and R10 is the read-only frame pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Reg {
    R0 = 0,
    R1 = 1,
    R2 = 2,
    R3 = 3,
    R4 = 4,
    R5 = 5,
    R6 = 6,
    R7 = 7,
    R8 = 8,
    R9 = 9,
    R10 = 10,
}

impl Reg {
    /// The register's number as encoded in an instruction's register nibble.
    pub const fn number(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.number())
    }
}

/// Width of a memory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    /// One byte (`BPF_B`).
    B,
    /// Two bytes (`BPF_H`).
    H,
    /// Four bytes (`BPF_W`).
    W,
    /// Eight bytes (`BPF_DW`).
    DW,
}

impl Size {
    /// The size bits of a load or store opcode.
    pub const fn bits(self) -> u8 {
        match self {
            Size::W => 0x00,
            Size::H => 0x08,
            Size::B => 0x10,
            Size::DW => 0x18,
        }
    }

    /// The access width in bytes.
    pub const fn bytes(self) -> u32 {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }
}

/// Arithmetic and logic operations, shared by the 32-bit and 64-bit classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    Add,
    Sub,
    Mul,
    Div,
    Or,
    And,
    Lsh,
    Rsh,
    Mod,
    Xor,
    Mov,
    Arsh,
}

impl AluOp {
    /// The operation bits of an ALU opcode.
    pub const fn bits(self) -> u8 {
        match self {
            AluOp::Add => 0x00,
            AluOp::Sub => 0x10,
            AluOp::Mul => 0x20,
            AluOp::Div => 0x30,
            AluOp::Or => 0x40,
            AluOp::And => 0x50,
            AluOp::Lsh => 0x60,
            AluOp::Rsh => 0x70,
            AluOp::Mod => 0x90,
            AluOp::Xor => 0xa0,
            AluOp::Mov => 0xb0,
            AluOp::Arsh => 0xc0,
        }
    }
}

/// Conditional jump comparisons (`Gt`/`Ge`/`Lt`/`Le` are unsigned, the `S`
/// variants signed, `Set` tests `dst & src != 0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JmpOp {
    Eq,
    Gt,
    Ge,
    Set,
    Ne,
    Sgt,
    Sge,
    Lt,
    Le,
    Slt,
    Sle,
}

impl JmpOp {
    /// The operation bits of a conditional jump opcode.
    pub const fn bits(self) -> u8 {
        match self {
            JmpOp::Eq => 0x10,
            JmpOp::Gt => 0x20,
            JmpOp::Ge => 0x30,
            JmpOp::Set => 0x40,
            JmpOp::Ne => 0x50,
            JmpOp::Sgt => 0x60,
            JmpOp::Sge => 0x70,
            JmpOp::Lt => 0xa0,
            JmpOp::Le => 0xb0,
            JmpOp::Slt => 0xc0,
            JmpOp::Sle => 0xd0,
        }
    }
}

/// The kernel helpers Lanner's generated programs call, by their stable uapi
/// numbers (`enum bpf_func_id`). Keeping them in a closed enum means a typo in
/// a helper number cannot reach the verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Helper {
    MapLookupElem,
    KtimeGetNs,
    GetSmpProcessorId,
    GetCurrentPidTgid,
    GetCurrentUidGid,
    GetCurrentComm,
    GetCurrentTask,
    ProbeReadUser,
    ProbeReadKernel,
    ProbeReadUserStr,
    ProbeReadKernelStr,
    RingbufOutput,
    RingbufReserve,
    RingbufSubmit,
    RingbufDiscard,
    GetCurrentTaskBtf,
    Loop,
}

impl Helper {
    /// The helper's number in `enum bpf_func_id`.
    pub const fn id(self) -> i32 {
        match self {
            Helper::MapLookupElem => 1,
            Helper::KtimeGetNs => 5,
            Helper::GetSmpProcessorId => 8,
            Helper::GetCurrentPidTgid => 14,
            Helper::GetCurrentUidGid => 15,
            Helper::GetCurrentComm => 16,
            Helper::GetCurrentTask => 35,
            Helper::ProbeReadUser => 112,
            Helper::ProbeReadKernel => 113,
            Helper::ProbeReadUserStr => 114,
            Helper::ProbeReadKernelStr => 115,
            Helper::RingbufOutput => 130,
            Helper::RingbufReserve => 131,
            Helper::RingbufSubmit => 132,
            Helper::RingbufDiscard => 133,
            Helper::GetCurrentTaskBtf => 158,
            Helper::Loop => 181,
        }
    }

    /// Every helper, for reverse lookups.
    pub const ALL: [Helper; 17] = [
        Helper::MapLookupElem,
        Helper::KtimeGetNs,
        Helper::GetSmpProcessorId,
        Helper::GetCurrentPidTgid,
        Helper::GetCurrentUidGid,
        Helper::GetCurrentComm,
        Helper::GetCurrentTask,
        Helper::ProbeReadUser,
        Helper::ProbeReadKernel,
        Helper::ProbeReadUserStr,
        Helper::ProbeReadKernelStr,
        Helper::RingbufOutput,
        Helper::RingbufReserve,
        Helper::RingbufSubmit,
        Helper::RingbufDiscard,
        Helper::GetCurrentTaskBtf,
        Helper::Loop,
    ];

    /// The helper with number `id`, if it is one of ours.
    pub fn from_id(id: i32) -> Option<Helper> {
        Self::ALL.into_iter().find(|h| h.id() == id)
    }

    /// How many argument registers (R1 upwards) the helper reads.
    pub const fn arg_count(self) -> u8 {
        match self {
            Helper::KtimeGetNs
            | Helper::GetSmpProcessorId
            | Helper::GetCurrentPidTgid
            | Helper::GetCurrentUidGid
            | Helper::GetCurrentTask
            | Helper::GetCurrentTaskBtf => 0,
            Helper::MapLookupElem
            | Helper::GetCurrentComm
            | Helper::RingbufSubmit
            | Helper::RingbufDiscard => 2,
            Helper::ProbeReadUser
            | Helper::ProbeReadKernel
            | Helper::ProbeReadUserStr
            | Helper::ProbeReadKernelStr
            | Helper::RingbufReserve => 3,
            Helper::RingbufOutput | Helper::Loop => 4,
        }
    }
}

/// Flags accepted by `bpf_ringbuf_output` / `bpf_ringbuf_submit`.
pub mod ringbuf_flags {
    /// Do not wake the consumer: it polls on a timer instead. A wakeup per
    /// record costs several microseconds in a nested VM.
    pub const NO_WAKEUP: i32 = 1;
    /// Wake the consumer even if it would not normally be woken.
    pub const FORCE_WAKEUP: i32 = 2;
}

/// Opcode building blocks (`BPF_CLASS`, `BPF_MODE`, `BPF_SRC`).
pub mod op {
    pub const CLASS_LD: u8 = 0x00;
    pub const CLASS_LDX: u8 = 0x01;
    pub const CLASS_ST: u8 = 0x02;
    pub const CLASS_STX: u8 = 0x03;
    pub const CLASS_ALU: u8 = 0x04;
    pub const CLASS_JMP: u8 = 0x05;
    pub const CLASS_JMP32: u8 = 0x06;
    pub const CLASS_ALU64: u8 = 0x07;
    pub const MODE_IMM: u8 = 0x00;
    pub const MODE_MEM: u8 = 0x60;
    pub const MODE_ATOMIC: u8 = 0xc0;
    pub const SRC_K: u8 = 0x00;
    pub const SRC_X: u8 = 0x08;
    pub const ALU_NEG: u8 = 0x80;
    pub const JMP_JA: u8 = 0x00;
    pub const JMP_CALL: u8 = 0x80;
    pub const JMP_EXIT: u8 = 0x90;
    /// `ld_imm64` opcode: `BPF_LD | BPF_IMM | BPF_DW`.
    pub const LD_IMM64: u8 = CLASS_LD | MODE_IMM | 0x18;
    /// `src_reg` of an `ld_imm64` whose immediate is a map file descriptor.
    pub const PSEUDO_MAP_FD: u8 = 1;
    /// `src_reg` of a call to a bpf-to-bpf function.
    pub const PSEUDO_CALL: u8 = 1;
    /// `src_reg` of an `ld_imm64` whose immediate is a function address.
    pub const PSEUDO_FUNC: u8 = 4;
}

/// One 8-byte instruction slot. An `ld_imm64` occupies two slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// Builds a slot from typed registers.
    pub const fn new(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Self {
        Insn {
            code,
            dst: dst.number(),
            src: src.number(),
            off,
            imm,
        }
    }

    /// The exact little-endian encoding of this slot.
    pub fn encode(&self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.code,
            (self.src << 4) | (self.dst & 0x0f),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }

    /// Decodes one slot; the inverse of [`Insn::encode`].
    pub fn decode(bytes: [u8; 8]) -> Self {
        let [code, regs, o0, o1, i0, i1, i2, i3] = bytes;
        Insn {
            code,
            dst: regs & 0x0f,
            src: regs >> 4,
            off: i16::from_le_bytes([o0, o1]),
            imm: i32::from_le_bytes([i0, i1, i2, i3]),
        }
    }

    /// Whether this slot opens a two-slot `ld_imm64`.
    pub fn is_ld_imm64(&self) -> bool {
        self.code == op::LD_IMM64
    }
}

/// Encodes a whole instruction stream.
pub fn encode_all(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(Insn::encode).collect()
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

    #[test]
    fn register_nibbles_and_little_endian_fields() {
        let i = Insn::new(0x63, Reg::R10, Reg::R7, -4, 0);
        assert_eq!(i.encode(), [0x63, 0x7a, 0xfc, 0xff, 0, 0, 0, 0]);
        assert_eq!(Insn::decode(i.encode()), i);
        let j = Insn::new(0x07, Reg::R2, Reg::R0, 0, -4);
        assert_eq!(j.encode(), [0x07, 0x02, 0, 0, 0xfc, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn helper_ids_match_uapi() {
        // Spot checks against enum bpf_func_id in include/uapi/linux/bpf.h.
        assert_eq!(Helper::MapLookupElem.id(), 1);
        assert_eq!(Helper::GetCurrentComm.id(), 16);
        assert_eq!(Helper::RingbufReserve.id(), 131);
        assert_eq!(Helper::GetCurrentTaskBtf.id(), 158);
        assert_eq!(Helper::Loop.id(), 181);
        for h in Helper::ALL {
            assert_eq!(Helper::from_id(h.id()), Some(h));
        }
    }
}
