//! Kernel side of Lanner.
//!
//! Lanner writes its eBPF programs in Rust, one instruction at a time, rather
//! than compiling C or Rust for the BPF target (neither toolchain is available
//! on the machines it is built on). The layers are:
//!
//! - [`insn`]: registers, opcodes and helpers as types, and the exact 8-byte
//!   encoding of an instruction;
//! - [`asm`]: a builder with symbolic labels and map references;
//! - [`verify`]: reachability and register-definedness checks run by the
//!   builder, so generator bugs surface with a clear message before the
//!   verifier sees the program;
//! - [`disasm`]: listings in the verifier log's notation;
//! - [`elf`]: an emitter that writes maps and programs into an ELF object aya
//!   0.14 loads;
//! - [`btf`]: a reader for the running kernel's BTF, so field offsets are
//!   resolved at load time instead of being hard-coded;
//! - [`programs`]: the programs themselves and the layouts of their records;
//! - [`filter`]: the rules' kernel part (`lanner-prefilter` formulas) as eBPF,
//!   and [`interp`], the interpreter that checks the emitted code in user space;
//! - [`loader`]: a thin wrapper over aya that loads, attaches and reads;
//! - [`probe`]: the standard object running, with its prefilter and typed
//!   records;
//! - [`convert`]: records turned into driver events (`lanner_event::Event`)
//!   for the state engine.

pub mod asm;
pub mod btf;
pub mod convert;
pub mod disasm;
pub mod elf;
pub mod filter;
pub mod insn;
pub mod interp;
pub mod loader;
pub mod probe;
pub mod programs;
pub mod verify;

pub use asm::{
    AsmError, BpfProgram, FuncRef, FuncRefKind, Label, LoopLabels, MapRef, ProgramBuilder,
};
pub use elf::{AttachPoint, EmitError, EmittedObject, MapDef, MapKind, ObjectBuilder};
pub use insn::{AluOp, Helper, Insn, JmpOp, Reg, Size};
