//! Lanner's kernel programs and the layouts of the records they write.
//!
//! The syscall program hooks `sys_exit`, where a syscall's arguments (still
//! in the saved registers) and its result are known together, as in Falco's
//! modern probe. It drops in the kernel every syscall whose slot in the
//! `interest` array is zero — syscalls no rule needs never leave the kernel —
//! and writes one fixed-layout [`SyscallRecord`] per remaining syscall into
//! the `events` ring buffer without waking the reader (the reader polls on a
//! timer; a wakeup per record costs microseconds in a nested VM). When the
//! ring buffer is full the per-CPU `drops` counter is incremented instead.
//!
//! Offsets into `struct pt_regs` and `struct task_struct` come from the
//! running kernel's BTF at generation time ([`PtRegsLayout::from_btf`],
//! [`TaskLayout::from_btf`]); none is hard-coded.

use crate::asm::{AsmError, Program, ProgramBuilder};
use crate::btf::{Btf, BtfError, insn_offset};
use crate::elf::{AttachPoint, EmitError, EmittedObject, MapDef, ObjectBuilder};
use crate::insn::{Helper, JmpOp, Reg, Size, ringbuf_flags};

/// Name of the ring buffer every program writes to.
pub const EVENTS_MAP: &str = "events";
/// Name of the `u8` array indexed by syscall id: non-zero means "wanted".
pub const INTEREST_MAP: &str = "interest";
/// Name of the one-entry per-CPU `u64` array counting failed reservations.
pub const DROPS_MAP: &str = "drops";
/// Entries of the interest array. Syscall ids at or above it (including the
/// x32 ids with bit 30 set and the `-1` of a syscall that was not one) fall
/// outside the array, so the lookup fails and they are dropped.
pub const MAX_SYSCALLS: u32 = 1024;
/// Default size of the events ring buffer.
pub const DEFAULT_RING_BYTES: u32 = 1 << 22;

/// Program names, as aya and `bpftool prog show` report them.
pub const SYS_EXIT_PROG: &str = "lanner_sys_exit";
pub const EXEC_PROG: &str = "lanner_exec";
pub const FORK_PROG: &str = "lanner_fork";
pub const EXIT_PROG: &str = "lanner_exit";

/// First field of every record: what kind of record follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum RecordKind {
    Syscall = 1,
    Exec = 2,
    Fork = 3,
    Exit = 4,
}

impl RecordKind {
    pub fn from_u32(v: u32) -> Option<Self> {
        match v {
            1 => Some(RecordKind::Syscall),
            2 => Some(RecordKind::Exec),
            3 => Some(RecordKind::Fork),
            4 => Some(RecordKind::Exit),
            _ => None,
        }
    }
}

/// Byte offsets of the header shared by every record.
pub mod header {
    /// `u32` [`super::RecordKind`].
    pub const KIND: i16 = 0;
    /// `u32` CPU the record was written on.
    pub const CPU: i16 = 4;
    /// `u64` `bpf_ktime_get_ns()`.
    pub const KTIME: i16 = 8;
    /// `u64` `tgid << 32 | pid` of the current task.
    pub const PID_TGID: i16 = 16;
    /// `u64` `gid << 32 | uid` of the current task.
    pub const UID_GID: i16 = 24;
    /// Size of the header.
    pub const SIZE: i16 = 32;
}

/// Byte offsets of a syscall record after the header.
pub mod syscall_layout {
    /// `i64` syscall id (`orig_ax`).
    pub const ID: i16 = 32;
    /// `i64` return value.
    pub const RET: i16 = 40;
    /// `[u64; 6]` argument registers in calling-convention order.
    pub const ARGS: i16 = 48;
    /// `[u8; 16]` `comm` of the current task.
    pub const COMM: i16 = 96;
    /// Record size.
    pub const SIZE: i32 = 112;
}

/// Byte offsets of an exec, fork or exit record after the header.
pub mod proc_layout {
    /// `u32` pid (thread id) of the subject task: the exec'ing task, the
    /// child of a fork, the exiting task.
    pub const PID: i16 = 32;
    /// `u32` tgid of the subject task.
    pub const TGID: i16 = 36;
    /// `i32` exec: the pid before exec; fork: the parent's pid; exit: the
    /// task's exit code.
    pub const EXTRA: i16 = 40;
    /// `u32` reserved, zero.
    pub const PAD: i16 = 44;
    /// `[u8; 16]` `comm` of the current task.
    pub const COMM: i16 = 48;
    /// Record size.
    pub const SIZE: i32 = 64;
}

/// Where the syscall id and argument registers sit in `struct pt_regs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PtRegsLayout {
    pub orig_ax: i16,
    /// di, si, dx, r10, r8, r9: the x86-64 syscall argument registers.
    pub args: [i16; 6],
}

impl PtRegsLayout {
    /// The x86-64 members holding the syscall id and arguments 0–5.
    pub const MEMBERS: [&'static str; 7] = ["orig_ax", "di", "si", "dx", "r10", "r8", "r9"];

    /// Resolves the layout from BTF, checking each member is eight bytes.
    pub fn from_btf(btf: &Btf) -> Result<Self, BtfError> {
        let get = |member: &str| -> Result<i16, BtfError> {
            let (off, size) = insn_offset(btf, "pt_regs", member)?;
            if size != 8 {
                return Err(BtfError::Malformed {
                    reason: format!("pt_regs.{member} is {size} bytes, expected 8"),
                });
            }
            Ok(off)
        };
        Ok(PtRegsLayout {
            orig_ax: get("orig_ax")?,
            args: [
                get("di")?,
                get("si")?,
                get("dx")?,
                get("r10")?,
                get("r8")?,
                get("r9")?,
            ],
        })
    }
}

/// Where `pid`, `tgid` and `exit_code` sit in `struct task_struct`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskLayout {
    pub pid: i16,
    pub tgid: i16,
    pub exit_code: i16,
}

impl TaskLayout {
    pub fn from_btf(btf: &Btf) -> Result<Self, BtfError> {
        let get = |member: &str| -> Result<i16, BtfError> {
            let (off, size) = insn_offset(btf, "task_struct", member)?;
            if size != 4 {
                return Err(BtfError::Malformed {
                    reason: format!("task_struct.{member} is {size} bytes, expected 4"),
                });
            }
            Ok(off)
        };
        Ok(TaskLayout {
            pid: get("pid")?,
            tgid: get("tgid")?,
            exit_code: get("exit_code")?,
        })
    }
}

/// How the program reaches `struct pt_regs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `tp_btf`: the pointer is BTF-typed and fields load directly.
    TpBtf,
    /// `raw_tracepoint`: the pointer is a plain number and fields are read
    /// with `bpf_probe_read_kernel` (for kernels that refuse `tp_btf`).
    RawTracepoint,
}

/// Calls `helper` and stores its 64-bit result at `r9 + off`.
fn store_helper(b: &mut ProgramBuilder, helper: Helper, size: Size, off: i16) {
    b.call(helper).stx(size, Reg::R9, off, Reg::R0);
}

/// Fills the shared header of the record at `r9`. Clobbers R0–R5.
fn emit_header(b: &mut ProgramBuilder, kind: RecordKind) {
    b.st(Size::W, Reg::R9, header::KIND, kind as i32);
    store_helper(b, Helper::GetSmpProcessorId, Size::W, header::CPU);
    store_helper(b, Helper::KtimeGetNs, Size::DW, header::KTIME);
    store_helper(b, Helper::GetCurrentPidTgid, Size::DW, header::PID_TGID);
    store_helper(b, Helper::GetCurrentUidGid, Size::DW, header::UID_GID);
}

/// Writes `comm` into the record at `r9 + off`. Clobbers R0–R5.
fn emit_comm(b: &mut ProgramBuilder, off: i16) {
    b.mov64_reg(Reg::R1, Reg::R9)
        .add64_imm(Reg::R1, i32::from(off))
        .mov64_imm(Reg::R2, 16)
        .call(Helper::GetCurrentComm);
}

/// Reserves `size` bytes in the ring buffer into R9, or counts a drop and
/// jumps to `out`. Clobbers R0–R5.
fn emit_reserve(b: &mut ProgramBuilder, size: i32, out: crate::asm::Label) {
    let have = b.new_label();
    b.ld_map(Reg::R1, EVENTS_MAP)
        .mov64_imm(Reg::R2, size)
        .mov64_imm(Reg::R3, 0)
        .call(Helper::RingbufReserve)
        .jmp_imm(JmpOp::Ne, Reg::R0, 0, have);
    // The ring buffer is full: count the loss so userspace can report it.
    b.st(Size::W, Reg::R10, -4, 0)
        .stack_ptr(Reg::R2, -4)
        .ld_map(Reg::R1, DROPS_MAP)
        .call(Helper::MapLookupElem)
        .jmp_imm(JmpOp::Eq, Reg::R0, 0, out)
        .mov64_imm(Reg::R1, 1)
        // Atomic, because a program can be preempted on its CPU by another
        // run of itself (tracing programs run with migration, not
        // preemption, disabled).
        .atomic_add(Size::DW, Reg::R0, 0, Reg::R1)
        .ja(out);
    b.bind(have).mov64_reg(Reg::R9, Reg::R0);
}

/// Submits the record at R9 without waking the reader.
fn emit_submit(b: &mut ProgramBuilder) {
    b.mov64_reg(Reg::R1, Reg::R9)
        .mov64_imm(Reg::R2, ringbuf_flags::NO_WAKEUP)
        .call(Helper::RingbufSubmit);
}

/// The `sys_exit` program. Its context is `u64 args[2]`: `struct pt_regs *`
/// and the syscall's return value.
pub fn sys_exit_program(regs: &PtRegsLayout, flavor: Flavor) -> Result<Program, AsmError> {
    let mut b = ProgramBuilder::new();
    let out = b.new_label();
    // R6 = ctx, R7 = regs, R8 = syscall id, R9 = record; all survive calls.
    b.mov64_reg(Reg::R6, Reg::R1)
        .ldx(Size::DW, Reg::R7, Reg::R6, 0);
    match flavor {
        Flavor::TpBtf => {
            b.ldx(Size::DW, Reg::R8, Reg::R7, regs.orig_ax);
        }
        Flavor::RawTracepoint => {
            // Pre-set the slot so a failed read yields id -1, which the
            // interest array does not contain.
            b.st(Size::DW, Reg::R10, -16, -1)
                .stack_ptr(Reg::R1, -16)
                .mov64_imm(Reg::R2, 8)
                .mov64_reg(Reg::R3, Reg::R7)
                .add64_imm(Reg::R3, i32::from(regs.orig_ax))
                .call(Helper::ProbeReadKernel)
                .ldx(Size::DW, Reg::R8, Reg::R10, -16);
        }
    }
    // The in-kernel prefilter: interest[id] must exist and be non-zero.
    b.stx(Size::W, Reg::R10, -4, Reg::R8)
        .stack_ptr(Reg::R2, -4)
        .ld_map(Reg::R1, INTEREST_MAP)
        .call(Helper::MapLookupElem)
        .jmp_imm(JmpOp::Eq, Reg::R0, 0, out)
        .ldx(Size::B, Reg::R1, Reg::R0, 0)
        .jmp_imm(JmpOp::Eq, Reg::R1, 0, out);

    emit_reserve(&mut b, syscall_layout::SIZE, out);
    emit_header(&mut b, RecordKind::Syscall);
    b.stx(Size::DW, Reg::R9, syscall_layout::ID, Reg::R8)
        .ldx(Size::DW, Reg::R1, Reg::R6, 8)
        .stx(Size::DW, Reg::R9, syscall_layout::RET, Reg::R1);
    for (i, reg_off) in (0i16..).zip(regs.args) {
        let dst = syscall_layout::ARGS + 8 * i;
        match flavor {
            Flavor::TpBtf => {
                b.ldx(Size::DW, Reg::R1, Reg::R7, reg_off)
                    .stx(Size::DW, Reg::R9, dst, Reg::R1);
            }
            Flavor::RawTracepoint => {
                // A failed read zero-fills the destination, so the record
                // is fully initialised either way.
                b.mov64_reg(Reg::R1, Reg::R9)
                    .add64_imm(Reg::R1, i32::from(dst))
                    .mov64_imm(Reg::R2, 8)
                    .mov64_reg(Reg::R3, Reg::R7)
                    .add64_imm(Reg::R3, i32::from(reg_off))
                    .call(Helper::ProbeReadKernel);
            }
        }
    }
    emit_comm(&mut b, syscall_layout::COMM);
    emit_submit(&mut b);
    b.bind(out).ret(0);
    b.finish()
}

/// Which scheduler tracepoint a process-lifecycle program hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcEvent {
    /// `sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)`
    Exec,
    /// `sched_process_fork(struct task_struct *parent, struct task_struct *child)`
    Fork,
    /// `sched_process_exit(struct task_struct *p, ...)`
    Exit,
}

impl ProcEvent {
    pub fn tracepoint(self) -> &'static str {
        match self {
            ProcEvent::Exec => "sched_process_exec",
            ProcEvent::Fork => "sched_process_fork",
            ProcEvent::Exit => "sched_process_exit",
        }
    }

    pub fn program_name(self) -> &'static str {
        match self {
            ProcEvent::Exec => EXEC_PROG,
            ProcEvent::Fork => FORK_PROG,
            ProcEvent::Exit => EXIT_PROG,
        }
    }

    fn kind(self) -> RecordKind {
        match self {
            ProcEvent::Exec => RecordKind::Exec,
            ProcEvent::Fork => RecordKind::Fork,
            ProcEvent::Exit => RecordKind::Exit,
        }
    }
}

/// A `tp_btf` program for a process-lifecycle tracepoint. These events are
/// rare and every rule engine needs them for its process table, so they are
/// not prefiltered.
pub fn proc_program(event: ProcEvent, task: &TaskLayout) -> Result<Program, AsmError> {
    let mut b = ProgramBuilder::new();
    let out = b.new_label();
    // R6 = ctx, R7 = subject task, R8 = extra value.
    b.mov64_reg(Reg::R6, Reg::R1);
    match event {
        ProcEvent::Exec => {
            b.ldx(Size::DW, Reg::R7, Reg::R6, 0)
                .ldx(Size::DW, Reg::R8, Reg::R6, 8);
        }
        ProcEvent::Fork => {
            b.ldx(Size::DW, Reg::R7, Reg::R6, 8)
                .ldx(Size::DW, Reg::R1, Reg::R6, 0)
                .ldx(Size::W, Reg::R8, Reg::R1, task.pid);
        }
        ProcEvent::Exit => {
            b.ldx(Size::DW, Reg::R7, Reg::R6, 0)
                .ldx(Size::W, Reg::R8, Reg::R7, task.exit_code);
        }
    }
    emit_reserve(&mut b, proc_layout::SIZE, out);
    emit_header(&mut b, event.kind());
    b.ldx(Size::W, Reg::R1, Reg::R7, task.pid)
        .stx(Size::W, Reg::R9, proc_layout::PID, Reg::R1)
        .ldx(Size::W, Reg::R1, Reg::R7, task.tgid)
        .stx(Size::W, Reg::R9, proc_layout::TGID, Reg::R1)
        .stx(Size::W, Reg::R9, proc_layout::EXTRA, Reg::R8)
        .st(Size::W, Reg::R9, proc_layout::PAD, 0);
    emit_comm(&mut b, proc_layout::COMM);
    emit_submit(&mut b);
    b.bind(out).ret(0);
    b.finish()
}

/// Why the standard object could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("reading kernel BTF failed: {source}")]
    Btf {
        #[from]
        source: BtfError,
    },
    #[error("assembling program `{program}` failed: {source}")]
    Asm {
        program: &'static str,
        #[source]
        source: AsmError,
    },
    #[error(transparent)]
    Emit {
        #[from]
        source: EmitError,
    },
}

/// What to put in the generated object.
#[derive(Clone, Copy, Debug)]
pub struct ObjectOptions {
    pub flavor: Flavor,
    /// Include the exec/fork/exit programs (always `tp_btf`).
    pub proc_events: bool,
    pub ring_bytes: u32,
}

impl Default for ObjectOptions {
    fn default() -> Self {
        ObjectOptions {
            flavor: Flavor::TpBtf,
            proc_events: true,
            ring_bytes: DEFAULT_RING_BYTES,
        }
    }
}

/// The maps every Lanner object declares.
pub fn standard_maps(ring_bytes: u32) -> [MapDef; 3] {
    [
        MapDef::ring_buf(EVENTS_MAP, ring_bytes),
        MapDef::array(INTEREST_MAP, 1, MAX_SYSCALLS),
        MapDef::per_cpu_array(DROPS_MAP, 8, 1),
    ]
}

/// Generates Lanner's object against the given kernel BTF.
pub fn generate(btf: &Btf, opts: ObjectOptions) -> Result<EmittedObject, GenerateError> {
    let regs = PtRegsLayout::from_btf(btf)?;
    let mut ob = ObjectBuilder::new();
    for map in standard_maps(opts.ring_bytes) {
        ob.map(map);
    }
    let sys_exit = sys_exit_program(&regs, opts.flavor).map_err(|source| GenerateError::Asm {
        program: SYS_EXIT_PROG,
        source,
    })?;
    let attach = match opts.flavor {
        Flavor::TpBtf => AttachPoint::tp_btf("sys_exit"),
        Flavor::RawTracepoint => AttachPoint::raw_tracepoint("sys_exit"),
    };
    ob.program(SYS_EXIT_PROG, attach, sys_exit);
    if opts.proc_events {
        let task = TaskLayout::from_btf(btf)?;
        for event in [ProcEvent::Exec, ProcEvent::Fork, ProcEvent::Exit] {
            let program = proc_program(event, &task).map_err(|source| GenerateError::Asm {
                program: event.program_name(),
                source,
            })?;
            ob.program(
                event.program_name(),
                AttachPoint::tp_btf(event.tracepoint()),
                program,
            );
        }
    }
    Ok(ob.emit()?)
}

fn u32_at(b: &[u8], off: i16) -> Option<u32> {
    let start = usize::try_from(off).ok()?;
    let bytes = b.get(start..start + 4)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

fn u64_at(b: &[u8], off: i16) -> Option<u64> {
    let start = usize::try_from(off).ok()?;
    let bytes = b.get(start..start + 8)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

fn comm_at(b: &[u8], off: i16) -> Option<[u8; 16]> {
    let start = usize::try_from(off).ok()?;
    b.get(start..start + 16)?.try_into().ok()
}

/// The header fields shared by all records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub kind: RecordKind,
    pub cpu: u32,
    pub ktime_ns: u64,
    /// Thread id of the current task.
    pub pid: u32,
    /// Process id of the current task.
    pub tgid: u32,
    pub uid: u32,
    pub gid: u32,
}

impl RecordHeader {
    pub fn parse(b: &[u8]) -> Option<Self> {
        let pid_tgid = u64_at(b, header::PID_TGID)?;
        let uid_gid = u64_at(b, header::UID_GID)?;
        // The halves are packed u32s; truncation is the decoding.
        Some(RecordHeader {
            kind: RecordKind::from_u32(u32_at(b, header::KIND)?)?,
            cpu: u32_at(b, header::CPU)?,
            ktime_ns: u64_at(b, header::KTIME)?,
            pid: pid_tgid as u32,
            tgid: (pid_tgid >> 32) as u32,
            uid: uid_gid as u32,
            gid: (uid_gid >> 32) as u32,
        })
    }
}

/// A decoded syscall record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallRecord {
    pub header: RecordHeader,
    pub id: i64,
    pub ret: i64,
    pub args: [u64; 6],
    pub comm: [u8; 16],
}

impl SyscallRecord {
    pub fn parse(b: &[u8]) -> Option<Self> {
        let header = RecordHeader::parse(b)?;
        if header.kind != RecordKind::Syscall || b.len() < syscall_layout::SIZE as usize {
            return None;
        }
        let mut args = [0u64; 6];
        for (i, arg) in (0i16..).zip(args.iter_mut()) {
            *arg = u64_at(b, syscall_layout::ARGS + 8 * i)?;
        }
        Some(SyscallRecord {
            header,
            id: u64_at(b, syscall_layout::ID)? as i64,
            ret: u64_at(b, syscall_layout::RET)? as i64,
            args,
            comm: comm_at(b, syscall_layout::COMM)?,
        })
    }

    /// `comm` up to its first NUL.
    pub fn comm_str(&self) -> String {
        cstr(&self.comm)
    }
}

/// A decoded exec, fork or exit record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcRecord {
    pub header: RecordHeader,
    pub pid: u32,
    pub tgid: u32,
    pub extra: i32,
    pub comm: [u8; 16],
}

impl ProcRecord {
    pub fn parse(b: &[u8]) -> Option<Self> {
        let header = RecordHeader::parse(b)?;
        if header.kind == RecordKind::Syscall || b.len() < proc_layout::SIZE as usize {
            return None;
        }
        Some(ProcRecord {
            header,
            pid: u32_at(b, proc_layout::PID)?,
            tgid: u32_at(b, proc_layout::TGID)?,
            extra: u32_at(b, proc_layout::EXTRA)? as i32,
            comm: comm_at(b, proc_layout::COMM)?,
        })
    }

    pub fn comm_str(&self) -> String {
        cstr(&self.comm)
    }
}

/// Any record the programs write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    Syscall(SyscallRecord),
    Proc(ProcRecord),
}

impl Record {
    /// Decodes a ring-buffer record by its kind; `None` for a record that is
    /// too short or of an unknown kind.
    pub fn parse(b: &[u8]) -> Option<Self> {
        match RecordKind::from_u32(u32_at(b, header::KIND)?)? {
            RecordKind::Syscall => SyscallRecord::parse(b).map(Record::Syscall),
            RecordKind::Exec | RecordKind::Fork | RecordKind::Exit => {
                ProcRecord::parse(b).map(Record::Proc)
            }
        }
    }

    pub fn header(&self) -> &RecordHeader {
        match self {
            Record::Syscall(r) => &r.header,
            Record::Proc(r) => &r.header,
        }
    }
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
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

    const REGS: PtRegsLayout = PtRegsLayout {
        orig_ax: 120,
        args: [112, 104, 96, 56, 72, 64],
    };
    const TASK: TaskLayout = TaskLayout {
        pid: 2000,
        tgid: 2004,
        exit_code: 1500,
    };

    #[test]
    fn programs_assemble() {
        for flavor in [Flavor::TpBtf, Flavor::RawTracepoint] {
            let p = sys_exit_program(&REGS, flavor).unwrap();
            assert_eq!(p.map_refs().len(), 3);
            let listing = p.disassemble();
            assert!(listing.contains("r8 = *(u64 *)(r7 +120)") || flavor == Flavor::RawTracepoint);
            assert!(listing.contains("call bpf_ringbuf_submit#132"));
            assert!(!listing.contains("invalid") && !listing.contains("unknown"));
        }
        for ev in [ProcEvent::Exec, ProcEvent::Fork, ProcEvent::Exit] {
            proc_program(ev, &TASK).unwrap();
        }
    }

    #[test]
    fn record_layouts_are_dense() {
        // Every byte of a record is written by the program, so the fields
        // must tile it exactly.
        assert_eq!(syscall_layout::ID, header::SIZE);
        assert_eq!(syscall_layout::ARGS + 6 * 8, syscall_layout::COMM);
        assert_eq!(i32::from(syscall_layout::COMM) + 16, syscall_layout::SIZE);
        assert_eq!(proc_layout::PID, header::SIZE);
        assert_eq!(i32::from(proc_layout::COMM) + 16, proc_layout::SIZE);
    }

    #[test]
    fn parses_a_syscall_record() {
        let mut b = vec![0u8; syscall_layout::SIZE as usize];
        b[0..4].copy_from_slice(&1u32.to_le_bytes());
        b[4..8].copy_from_slice(&1u32.to_le_bytes());
        b[16..24].copy_from_slice(&((7u64 << 32) | 8).to_le_bytes());
        b[32..40].copy_from_slice(&110u64.to_le_bytes());
        b[40..48].copy_from_slice(&(-2i64).to_le_bytes());
        b[96..99].copy_from_slice(b"cat");
        let r = SyscallRecord::parse(&b).unwrap();
        assert_eq!((r.header.tgid, r.header.pid), (7, 8));
        assert_eq!((r.id, r.ret), (110, -2));
        assert_eq!(r.comm_str(), "cat");
        assert!(SyscallRecord::parse(&b[..100]).is_none());
        assert!(ProcRecord::parse(&b).is_none());
    }
}
