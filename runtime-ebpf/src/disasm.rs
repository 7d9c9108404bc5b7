//! A listing of generated code in the notation of the kernel's verifier log
//! (`kernel/bpf/disasm.c`), so a rejected program's log and Lanner's own
//! listing of it read alike.

use std::fmt::Write as _;

use crate::asm::BpfProgram;
use crate::insn::{Helper, Insn, op};

fn size_name(code: u8) -> &'static str {
    match code & 0x18 {
        0x00 => "u32",
        0x08 => "u16",
        0x10 => "u8",
        _ => "u64",
    }
}

fn alu_op(bits: u8) -> Option<&'static str> {
    Some(match bits {
        0x00 => "+=",
        0x10 => "-=",
        0x20 => "*=",
        0x30 => "/=",
        0x40 => "|=",
        0x50 => "&=",
        0x60 => "<<=",
        0x70 => ">>=",
        0x90 => "%=",
        0xa0 => "^=",
        0xb0 => "=",
        0xc0 => "s>>=",
        _ => return None,
    })
}

fn jmp_op(bits: u8) -> Option<&'static str> {
    Some(match bits {
        0x10 => "==",
        0x20 => ">",
        0x30 => ">=",
        0x40 => "&",
        0x50 => "!=",
        0x60 => "s>",
        0x70 => "s>=",
        0xa0 => "<",
        0xb0 => "<=",
        0xc0 => "s<",
        0xd0 => "s<=",
        _ => return None,
    })
}

fn helper_name(id: i32) -> String {
    match Helper::from_id(id) {
        Some(h) => format!("bpf_{}#{id}", snake(&format!("{h:?}"))),
        None => format!("helper#{id}"),
    }
}

/// `MapLookupElem` → `map_lookup_elem`.
fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn signed_off(off: i16) -> String {
    if off < 0 {
        format!("{off}")
    } else {
        format!("+{off}")
    }
}

/// One instruction (for `ld_imm64`, its first slot together with `next`).
fn line(insn: &Insn, next: Option<&Insn>, symbol: Option<&str>) -> String {
    let class = insn.code & 0x07;
    let bits = insn.code & 0xf0;
    let x = insn.code & op::SRC_X != 0;
    let (d, s) = (insn.dst, insn.src);
    match class {
        op::CLASS_ALU | op::CLASS_ALU64 => {
            let r = if class == op::CLASS_ALU64 { 'r' } else { 'w' };
            if bits == op::ALU_NEG {
                return format!("{r}{d} = -{r}{d}");
            }
            let Some(o) = alu_op(bits) else {
                return format!("invalid alu op {:#04x}", insn.code);
            };
            if x {
                format!("{r}{d} {o} {r}{s}")
            } else {
                format!("{r}{d} {o} {}", insn.imm)
            }
        }
        op::CLASS_LDX => format!(
            "r{d} = *({} *)(r{s} {})",
            size_name(insn.code),
            signed_off(insn.off)
        ),
        op::CLASS_ST => format!(
            "*({} *)(r{d} {}) = {}",
            size_name(insn.code),
            signed_off(insn.off),
            insn.imm
        ),
        op::CLASS_STX if insn.code & 0xe0 == op::MODE_ATOMIC => format!(
            "lock *({} *)(r{d} {}) += r{s}",
            size_name(insn.code),
            signed_off(insn.off)
        ),
        op::CLASS_STX => format!(
            "*({} *)(r{d} {}) = r{s}",
            size_name(insn.code),
            signed_off(insn.off)
        ),
        op::CLASS_LD if insn.is_ld_imm64() => match (s, symbol) {
            (op::PSEUDO_MAP_FD, Some(name)) => format!("r{d} = map[{name}]"),
            (op::PSEUDO_FUNC, Some(name)) => format!("r{d} = func[{name}]"),
            _ => {
                // The halves are raw bit patterns.
                let lo = u64::from(insn.imm as u32);
                let hi = u64::from(next.map_or(0, |n| n.imm) as u32);
                format!("r{d} = {:#x}", (hi << 32) | lo)
            }
        },
        op::CLASS_JMP | op::CLASS_JMP32 => {
            let r = if class == op::CLASS_JMP { 'r' } else { 'w' };
            match bits {
                op::JMP_JA => format!("goto pc{}", signed_off(insn.off)),
                op::JMP_CALL if s == op::PSEUDO_CALL => match symbol {
                    Some(name) => format!("call {name}"),
                    None => format!("call pc{}", signed_off(insn.imm as i16)),
                },
                op::JMP_CALL => format!("call {}", helper_name(insn.imm)),
                op::JMP_EXIT => "exit".to_owned(),
                _ => {
                    let Some(o) = jmp_op(bits) else {
                        return format!("invalid jump op {:#04x}", insn.code);
                    };
                    let rhs = if x {
                        format!("{r}{s}")
                    } else {
                        format!("{:#x}", insn.imm)
                    };
                    format!("if {r}{d} {o} {rhs} goto pc{}", signed_off(insn.off))
                }
            }
        }
        _ => format!("unknown opcode {:#04x}", insn.code),
    }
}

impl BpfProgram {
    /// A numbered listing, one instruction per line, with map and function
    /// references by name.
    pub fn disassemble(&self) -> String {
        let insns = self.insns();
        let mut out = String::new();
        let mut i = 0;
        while let Some(insn) = insns.get(i) {
            let symbol = self
                .map_refs()
                .iter()
                .find(|m| m.insn == i)
                .map(|m| m.map.as_str())
                .or_else(|| {
                    self.func_refs()
                        .iter()
                        .find(|f| f.insn == i)
                        .map(|f| f.func.as_str())
                });
            let text = line(insn, insns.get(i + 1), symbol);
            // Writing to a String cannot fail.
            let _ = writeln!(out, "{i}: ({:02x}) {text}", insn.code);
            i += if insn.is_ld_imm64() { 2 } else { 1 };
        }
        out
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
    use crate::asm::ProgramBuilder;
    use crate::insn::Reg::*;
    use crate::insn::{AluOp, Helper, JmpOp, Size};

    #[test]
    fn lists_like_the_verifier_log() {
        let mut b = ProgramBuilder::new();
        let out = b.new_label();
        b.mov64_reg(R6, R1)
            .ldx(Size::DW, R7, R6, 8)
            .stx(Size::W, R10, -4, R7)
            .stack_ptr(R2, -4)
            .ld_map(R1, "interest")
            .call(Helper::MapLookupElem)
            .jmp_imm(JmpOp::Eq, R0, 0, out)
            .alu32_imm(AluOp::And, R7, 255)
            .atomic_add(Size::DW, R0, 0, R7)
            .ld_imm64(R3, 0x1_0000_0002)
            .bind(out)
            .ret(0);
        let listing = b.finish().unwrap().disassemble();
        assert_eq!(
            listing,
            "0: (bf) r6 = r1\n\
             1: (79) r7 = *(u64 *)(r6 +8)\n\
             2: (63) *(u32 *)(r10 -4) = r7\n\
             3: (bf) r2 = r10\n\
             4: (07) r2 += -4\n\
             5: (18) r1 = map[interest]\n\
             7: (85) call bpf_map_lookup_elem#1\n\
             8: (15) if r0 == 0x0 goto pc+4\n\
             9: (54) w7 &= 255\n\
             10: (db) lock *(u64 *)(r0 +0) += r7\n\
             11: (18) r3 = 0x100000002\n\
             13: (b7) r0 = 0\n\
             14: (95) exit\n"
        );
    }
}
