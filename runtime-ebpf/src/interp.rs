//! An interpreter of the instructions Lanner's generators emit without helper calls (ALU,
//! loads and stores, jumps, `ld_imm64`), over one context buffer and a 512-byte stack.
//!
//! It exists so generated code can be tested in user space against its reference semantics
//! (the rule prefilter, [`crate::filter`], against `Formula::eval`), as Cranelift keeps an
//! interpreter beside its backends: the code the kernel runs is the code interpreted here.
//! Anything outside that subset (calls, atomics, map loads) is an error, not a guess.

use crate::insn::{Insn, op};

/// Where the context buffer and the stack appear in the interpreter's address space.
const CTX_BASE: u64 = 0x1000_0000;
const STACK_BASE: u64 = 0x2000_0000;
/// Stack bytes below R10, as the kernel gives a program.
pub const STACK_SIZE: usize = 512;
/// The longest run before the interpreter gives up (the verifier's budget).
pub const MAX_STEPS: usize = 1_000_000;

/// Why a run stopped without `exit`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InterpError {
    #[error("instruction {at}: opcode {code:#04x} is not interpreted")]
    Unsupported { at: usize, code: u8 },
    #[error("instruction {at}: {size}-byte access at {addr:#x} outside the context and the stack")]
    OutOfBounds { at: usize, addr: u64, size: u32 },
    #[error("instruction {at}: jump outside the program")]
    BadJump { at: usize },
    #[error("the program ran {MAX_STEPS} instructions without exiting")]
    TooLong,
}

/// Runs `insns` with R1 pointing at `ctx` (which it may read and write); returns R0 at `exit`.
pub fn run(insns: &[Insn], ctx: &mut [u8]) -> Result<u64, InterpError> {
    let mut stack = [0u8; STACK_SIZE];
    let mut r = [0u64; 11];
    r[1] = CTX_BASE;
    r[10] = STACK_BASE + STACK_SIZE as u64;
    let mut pc = 0usize;
    for _ in 0..MAX_STEPS {
        let at = pc;
        let Some(i) = insns.get(pc).copied() else {
            return Err(InterpError::BadJump { at });
        };
        pc += 1;
        let class = i.code & 0x07;
        let dst = usize::from(i.dst & 0x0f).min(10);
        let src = usize::from(i.src & 0x0f).min(10);
        let rd = r.get(dst).copied().unwrap_or(0);
        let rs = r.get(src).copied().unwrap_or(0);
        match class {
            op::CLASS_ALU64 | op::CLASS_ALU => {
                let wide = class == op::CLASS_ALU64;
                let operand = if i.code & op::SRC_X != 0 {
                    rs
                } else if wide {
                    i.imm as i64 as u64
                } else {
                    u64::from(i.imm as u32)
                };
                let v = alu(i.code & 0xf0, rd, operand, wide)
                    .ok_or(InterpError::Unsupported { at, code: i.code })?;
                set(&mut r, dst, if wide { v } else { v & 0xffff_ffff });
            }
            op::CLASS_LD if i.code == op::LD_IMM64 && i.src == 0 => {
                let hi = insns.get(pc).ok_or(InterpError::BadJump { at })?;
                pc += 1;
                set(
                    &mut r,
                    dst,
                    u64::from(i.imm as u32) | (u64::from(hi.imm as u32) << 32),
                );
            }
            op::CLASS_LDX if i.code & 0xe0 == op::MODE_MEM => {
                let size = size_of(i.code);
                let addr = rs.wrapping_add(i.off as i64 as u64);
                let v = load(ctx, &stack, addr, size).ok_or(InterpError::OutOfBounds {
                    at,
                    addr,
                    size,
                })?;
                set(&mut r, dst, v);
            }
            op::CLASS_ST | op::CLASS_STX if i.code & 0xe0 == op::MODE_MEM => {
                let size = size_of(i.code);
                let addr = rd.wrapping_add(i.off as i64 as u64);
                let v = if class == op::CLASS_STX {
                    rs
                } else {
                    i.imm as i64 as u64
                };
                store(ctx, &mut stack, addr, size, v).ok_or(InterpError::OutOfBounds {
                    at,
                    addr,
                    size,
                })?;
            }
            op::CLASS_JMP | op::CLASS_JMP32 => {
                let bits = i.code & 0xf0;
                if class == op::CLASS_JMP && bits == op::JMP_EXIT {
                    return Ok(r[0]);
                }
                if class == op::CLASS_JMP && bits == op::JMP_JA {
                    pc = jump(pc, i.off, at)?;
                    continue;
                }
                let operand = if i.code & op::SRC_X != 0 {
                    rs
                } else {
                    i.imm as i64 as u64
                };
                let taken = if class == op::CLASS_JMP32 {
                    cond(bits, u64::from(rd as u32), u64::from(operand as u32), true)
                } else {
                    cond(bits, rd, operand, false)
                }
                .ok_or(InterpError::Unsupported { at, code: i.code })?;
                if taken {
                    pc = jump(pc, i.off, at)?;
                }
            }
            _ => return Err(InterpError::Unsupported { at, code: i.code }),
        }
    }
    Err(InterpError::TooLong)
}

fn set(r: &mut [u64; 11], dst: usize, v: u64) {
    if let Some(slot) = r.get_mut(dst) {
        *slot = v;
    }
}

fn jump(pc: usize, off: i16, at: usize) -> Result<usize, InterpError> {
    pc.checked_add_signed(isize::from(off))
        .ok_or(InterpError::BadJump { at })
}

fn size_of(code: u8) -> u32 {
    match code & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

fn alu(bits: u8, a: u64, b: u64, wide: bool) -> Option<u64> {
    let (a32, b32) = (a as u32, b as u32);
    Some(match (bits, wide) {
        (0x00, _) => a.wrapping_add(b),
        (0x10, _) => a.wrapping_sub(b),
        (0x20, _) => a.wrapping_mul(b),
        (0x30, true) => a.checked_div(b).unwrap_or(0),
        (0x30, false) => u64::from(a32.checked_div(b32).unwrap_or(0)),
        (0x40, _) => a | b,
        (0x50, _) => a & b,
        (0x60, true) => a.wrapping_shl(b as u32 & 63),
        (0x60, false) => u64::from(a32.wrapping_shl(b32 & 31)),
        (0x70, true) => a.wrapping_shr(b as u32 & 63),
        (0x70, false) => u64::from(a32.wrapping_shr(b32 & 31)),
        (0x80, true) => (a as i64).wrapping_neg() as u64,
        (0x80, false) => u64::from((a32 as i32).wrapping_neg() as u32),
        (0x90, true) => a.checked_rem(b).unwrap_or(a),
        (0x90, false) => u64::from(a32.checked_rem(b32).unwrap_or(a32)),
        (0xa0, _) => a ^ b,
        (0xb0, _) => b,
        (0xc0, true) => (a as i64).wrapping_shr(b as u32 & 63) as u64,
        (0xc0, false) => u64::from((a32 as i32).wrapping_shr(b32 & 31) as u32),
        _ => return None,
    })
}

fn cond(bits: u8, a: u64, b: u64, narrow: bool) -> Option<bool> {
    let (sa, sb) = if narrow {
        (i64::from(a as u32 as i32), i64::from(b as u32 as i32))
    } else {
        (a as i64, b as i64)
    };
    Some(match bits {
        0x10 => a == b,
        0x20 => a > b,
        0x30 => a >= b,
        0x40 => a & b != 0,
        0x50 => a != b,
        0x60 => sa > sb,
        0x70 => sa >= sb,
        0xa0 => a < b,
        0xb0 => a <= b,
        0xc0 => sa < sb,
        0xd0 => sa <= sb,
        _ => return None,
    })
}

/// The bytes `[addr, addr + size)` of the context or the stack.
fn region<'m>(ctx: &'m [u8], stack: &'m [u8], addr: u64, size: u32) -> Option<&'m [u8]> {
    let (mem, base) = if addr >= STACK_BASE {
        (stack, STACK_BASE)
    } else {
        (ctx, CTX_BASE)
    };
    let start = usize::try_from(addr.checked_sub(base)?).ok()?;
    mem.get(start..start.checked_add(size as usize)?)
}

fn load(ctx: &[u8], stack: &[u8], addr: u64, size: u32) -> Option<u64> {
    let bytes = region(ctx, stack, addr, size)?;
    let mut v = [0u8; 8];
    v.get_mut(..bytes.len())?.copy_from_slice(bytes);
    Some(u64::from_le_bytes(v))
}

fn store(ctx: &mut [u8], stack: &mut [u8], addr: u64, size: u32, v: u64) -> Option<()> {
    let (mem, base) = if addr >= STACK_BASE {
        (stack, STACK_BASE)
    } else {
        (ctx, CTX_BASE)
    };
    let start = usize::try_from(addr.checked_sub(base)?).ok()?;
    let dst = mem.get_mut(start..start.checked_add(size as usize)?)?;
    let bytes = v.to_le_bytes();
    dst.copy_from_slice(bytes.get(..size as usize)?);
    Some(())
}
