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

use crate::asm::{AsmError, BpfProgram, ProgramBuilder};
use crate::btf::{Btf, BtfError, insn_offset};
use crate::elf::{AttachPoint, EmitError, EmittedObject, MapDef, ObjectBuilder};
use crate::filter::{KernelFilter, Phase};
use crate::insn::{AluOp, Helper, JmpOp, Reg, Size, ringbuf_flags};

/// Name of the ring buffer every program writes to.
pub const EVENTS_MAP: &str = "events";
/// Name of the `u8` array indexed by syscall id: non-zero means "wanted"
/// ([`interest::FILTERED`] or [`interest::UNFILTERED`]).
pub const INTEREST_MAP: &str = "interest";

/// Values of the interest array.
pub mod interest {
    /// Not wanted: the syscall never leaves the kernel.
    pub const NONE: u8 = 0;
    /// Wanted, and the rule prefilter compiled into the program decides.
    pub const FILTERED: u8 = 1;
    /// Wanted, and the rule prefilter is skipped: every event of the syscall
    /// passes (after a reload changed what the rules need of it, the compiled
    /// formula may be too narrow for the new rules).
    pub const UNFILTERED: u8 = 2;
}
/// Name of the one-entry per-CPU `u64` array counting failed reservations.
pub const DROPS_MAP: &str = "drops";
/// Name of the `u32` array indexed by syscall id holding each syscall's
/// capture plan (see [`plan`]): which user memory to copy at `sys_exit`.
pub const PLANS_MAP: &str = "plans";
/// Name of the one-entry per-CPU array in which the syscall program builds
/// its variable-length record before copying it into the ring buffer.
pub const SCRATCH_MAP: &str = "scratch";
/// Name of the per-CPU array indexed by syscall id counting, after the
/// interest array, what the rule prefilter saw and dropped: `[u64; 2]`
/// (seen, dropped) per id.
pub const PF_COUNTS_MAP: &str = "pf_counts";
/// Stack slot holding the syscall's `pf_counts` value pointer.
const COUNTS_SLOT: i16 = -88;
/// Stack slot holding the syscall's interest value (a `u64`).
const INTEREST_SLOT: i16 = -96;
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
///
/// A syscall record is variable-length: a fixed part of [`syscall_layout::SIZE`]
/// bytes, then up to [`syscall_layout::ITEMS`] items of user memory copied at
/// `sys_exit` (paths, argv, sockaddrs), packed one after the other with their
/// lengths in `ITEM_LENS`.
pub mod syscall_layout {
    /// `i64` syscall id (`orig_ax`).
    pub const ID: i16 = 32;
    /// `i64` return value.
    pub const RET: i16 = 40;
    /// `[u64; 6]` argument registers in calling-convention order.
    pub const ARGS: i16 = 48;
    /// `[u8; 16]` `comm` of the current task.
    pub const COMM: i16 = 96;
    /// `[u32; 4]` byte lengths of the items that follow the fixed part.
    pub const ITEM_LENS: i16 = 112;
    /// `u32` the capture plan the program followed (see [`super::plan`]).
    pub const PLAN: i16 = 128;
    /// `u32` zero.
    pub const PAD: i16 = 132;
    /// Size of the fixed part; the first item starts here.
    pub const SIZE: i32 = 136;
    /// Number of item slots.
    pub const ITEMS: usize = 4;
    /// Largest item: a path of `PATH_MAX` bytes, or 16 argv strings of 256.
    pub const MAX_ITEM: i32 = 4096;
    /// Largest copied sockaddr or struct (`sizeof(struct sockaddr_storage)`).
    pub const MAX_BYTES: i32 = 128;
    /// argv strings copied from registers, and the bytes kept of each.
    pub const ARGV_MAX_ARGS: i32 = 16;
    pub const ARGV_MAX_ARG: i32 = 256;
    /// Largest record.
    pub const MAX_SIZE: i32 = SIZE + MAX_ITEM * ITEMS as i32;
}

/// Capture plans: for each syscall, up to four items of user memory the
/// `sys_exit` program copies after the fixed part of the record. A plan is a
/// `u32` whose byte `k` describes item `k`: the high nibble is the kind, the
/// low nibble the argument register it starts from. Plans live in the
/// [`PLANS_MAP`] array so that one program serves every syscall and the
/// verifier walks the copy code once, not once per syscall.
pub mod plan {
    /// No item.
    pub const NONE: u8 = 0;
    /// A NUL-terminated user string at `args[a]`, at most 4096 bytes.
    pub const STR: u8 = 1;
    /// `args[a + 1]` bytes at `args[a]` (sockaddr and its length, or a
    /// struct and its size), at most 128.
    pub const BYTES: u8 = 2;
    /// Like `BYTES`, but `args[a + 1]` points at the `int` length (accept's
    /// `addrlen`); copied only when the syscall succeeded.
    pub const BYTES_LENPTR: u8 = 3;
    /// execve's filename: from `args[a]` when the exec failed; after a
    /// successful exec the old memory is gone and the registers are cleared,
    /// so it is read where the kernel put it on the new stack, right after
    /// the environment strings (`mm->env_end`).
    pub const EXEC_PATH: u8 = 4;
    /// execve's argv, as NUL-terminated strings back to back: from the
    /// pointer array at `args[a]` (16 × 256 bytes at most) when the exec
    /// failed, from `mm->arg_start..arg_end` (4096 bytes at most) after a
    /// successful exec.
    pub const EXEC_ARGV: u8 = 5;
    /// The ids of the current task that only the kernel knows, as eight
    /// `u32`s: the parent's thread id (`real_parent->pid`), the thread and
    /// process ids in the task's own pid namespace (`vtid`, `vpid`), the
    /// parent's process id, the audit login uid (`loginuid`, `u32::MAX` when
    /// the kernel has none), and the controlling terminal as
    /// `signal->tty->index`, `->driver->major`, `->driver->minor_start`
    /// (zeros without one). Then what Falco's modern probe reads at exec
    /// (see [`task_ids`] for the byte layout): the credentials' capability
    /// sets, the executable's inode (number, ctime, mtime, mode, owner,
    /// link count, the first bytes of its dentry name), the process group
    /// (global and namespaced ids) and the length of the argument strings
    /// (which the environment follows in memory). For clone and execve,
    /// whose events carry them. The argument register is unused.
    pub const TASK_IDS: u8 = 6;
    /// Size of a `TASK_IDS` item.
    pub const TASK_IDS_LEN: i32 = task_ids::SIZE;
    /// Both ends of the IPv4/IPv6 socket behind the file descriptor in
    /// `args[a]`, read from the kernel socket (`struct sock_common`): what
    /// only the kernel knows, such as the local port a connect chose. Read
    /// only when the syscall succeeded (or connect returned `EINPROGRESS`),
    /// so the descriptor is known to be a socket.
    pub const SOCK_TUPLE: u8 = 7;
    /// Like `SOCK_TUPLE` for the descriptor the syscall returned (accept).
    pub const SOCK_TUPLE_RET: u8 = 8;
    /// The current task's cgroup paths, one per cgroup subsystem in
    /// subsystem-id order (`css_set.subsys[i]->cgroup->kn`): each path's
    /// components from the leaf up (the root is not copied), every
    /// component NUL-terminated, and an empty string closing each
    /// subsystem. At most [`CGROUP_DEPTH`] components of 255 bytes per
    /// subsystem; the leaf, which names a container, always comes first.
    /// The argument register is unused.
    pub const CGROUPS: u8 = 9;
    /// The two `int`s at `args[a]` (the descriptors pipe, pipe2 and
    /// socketpair write), copied when the syscall returned 0.
    pub const INT_PAIR: u8 = 10;
    /// `f_mode`, device and inode number of the file the syscall returned
    /// (open and its kin), after success: `u32 f_mode, u32 s_dev (kernel
    /// encoding), u64 i_ino`.
    pub const FILE_INFO: u8 = 11;
    /// Size of a `FILE_INFO` item.
    pub const FILE_INFO_LEN: i32 = 16;
    /// The data a read-like syscall returned: the first `min(result,
    /// SNAPLEN)` bytes at `args[a]`, after success (Falco's default
    /// snapshot length).
    pub const BYTES_RET: u8 = 12;
    /// `OVERLAYFS_SUPER_MAGIC` (include/uapi/linux/magic.h), compared with
    /// the `TASK_IDS` item's `EXE_SB_MAGIC`.
    pub const OVERLAYFS_SUPER_MAGIC_U32: u32 = 0x794c_7630;
    /// Bytes of I/O data copied (`snaplen`, 80 in Falco by default).
    pub const SNAPLEN: i32 = 80;
    /// Path components copied per cgroup subsystem.
    pub const CGROUP_DEPTH: usize = 8;
    /// Size of a socket-tuple item: `u16 family, u16 local port (host
    /// order), u16 remote port (network order), u16 zero, u32 local IPv4,
    /// u32 remote IPv4, [u8; 16] local IPv6, [u8; 16] remote IPv6`.
    pub const SOCK_TUPLE_LEN: i32 = 48;

    /// Byte offsets in a `TASK_IDS` item (little-endian). The first eight
    /// are `u32`s, then `u64`s, then `u32`s again.
    pub mod task_ids {
        pub const PTID: i32 = 0;
        pub const VTID: i32 = 4;
        pub const VPID: i32 = 8;
        pub const PARENT_PID: i32 = 12;
        pub const LOGINUID: i32 = 16;
        pub const TTY_INDEX: i32 = 20;
        pub const TTY_MAJOR: i32 = 24;
        pub const TTY_MINOR_START: i32 = 28;
        /// `cred.cap_inheritable`, `.cap_permitted`, `.cap_effective`.
        pub const CAP_INHERITABLE: i32 = 32;
        pub const CAP_PERMITTED: i32 = 40;
        pub const CAP_EFFECTIVE: i32 = 48;
        /// `mm->exe_file->f_inode`: `i_ino`, `i_ctime_sec`, `i_mtime_sec`
        /// (`u64`), `i_ctime_nsec`, `i_mtime_nsec`, `i_mode` (its low 16
        /// bits), `i_uid`, `i_gid`, `__i_nlink` (`u32`).
        pub const EXE_INO: i32 = 56;
        pub const EXE_CTIME_SEC: i32 = 64;
        pub const EXE_MTIME_SEC: i32 = 72;
        pub const EXE_CTIME_NSEC: i32 = 80;
        pub const EXE_MTIME_NSEC: i32 = 84;
        pub const EXE_MODE: i32 = 88;
        pub const EXE_UID: i32 = 92;
        pub const EXE_GID: i32 = 96;
        pub const EXE_NLINK: i32 = 100;
        /// The process group: `signal->pids[PIDTYPE_PGID]`'s global id and
        /// its id at its own namespace level.
        pub const PGID: i32 = 104;
        pub const VPGID: i32 = 108;
        /// The first eight bytes of `exe_file->f_path.dentry->d_name.name`
        /// (a memfd's name starts with `memfd:`).
        pub const EXE_NAME: i32 = 112;
        /// Bytes of the argument strings (`mm->arg_end - mm->arg_start`),
        /// where the environment starts in the `EXEC_ARGV` item.
        pub const ARG_LEN: i32 = 120;
        /// The executable's upper-layer inode number when it lies on an
        /// overlay filesystem whose inode has an upper dentry (0 otherwise),
        /// and the low 32 bits of its superblock's `s_magic`.
        pub const EXE_UPPER_INO: i32 = 124;
        pub const EXE_SB_MAGIC: i32 = 132;
        /// 1 when the working directory's walk reached the root of the
        /// mount namespace (the components after [`SIZE`] are the whole
        /// path), 0 when it stopped early (too deep, a failed read).
        pub const CWD_DONE: i32 = 136;
        /// Fixed size; the working directory's components follow, leaf
        /// first, each NUL-terminated, at most [`super::CWD_DEPTH`] steps
        /// of [`super::CWD_NAME`] bytes within the item's 4096.
        pub const SIZE: i32 = 140;
    }

    /// Steps of the working directory's walk (path components and mount
    /// crossings together).
    pub const CWD_DEPTH: i32 = 24;
    /// Bytes copied of one path component (`NAME_MAX` and its NUL).
    pub const CWD_NAME: i32 = 256;

    /// Item byte of `kind` reading from argument register `arg`.
    pub const fn item(kind: u8, arg: u8) -> u32 {
        ((kind as u32) << 4) | (arg as u32 & 0x7)
    }

    /// A plan of up to four items.
    pub const fn of(items: [u32; 4]) -> u32 {
        let [a, b, c, d] = items;
        a | (b << 8) | (c << 16) | (d << 24)
    }

    /// The kind and argument register of item `k` of `plan`.
    pub fn decode(plan: u32, k: usize) -> (u8, u8) {
        // The shift selects one byte; truncation to it is the decoding.
        let byte = (plan >> (8 * (k as u32 % 4))) as u8;
        (byte >> 4, byte & 0x7)
    }
}

/// The capture plan of an x86-64 syscall id: which strings and buffers the
/// `sys_exit` program copies for it. Syscalls not listed carry only the
/// registers.
pub fn default_plan(syscall: i64) -> u32 {
    use plan::{
        BYTES, BYTES_LENPTR, BYTES_RET, CGROUPS, EXEC_ARGV, EXEC_PATH, FILE_INFO, INT_PAIR,
        SOCK_TUPLE, SOCK_TUPLE_RET, STR, TASK_IDS, item, of,
    };
    let file = item(FILE_INFO, 0);
    let cg = item(CGROUPS, 0);
    let s = |a| item(STR, a);
    let ids = item(TASK_IDS, 0);
    match syscall {
        // open, creat: the path and the opened file.
        2 | 85 => of([s(0), file, 0, 0]),
        // unlink, rmdir, chmod, mkdir, umount2, chdir: the path is args[0].
        87 | 84 | 90 | 83 | 166 | 80 => of([s(0), 0, 0, 0]),
        // openat: the path and the opened file.
        257 => of([s(1), file, 0, 0]),
        // pipe, pipe2: the two new descriptors; socketpair: the same at args[3].
        22 | 293 => of([item(INT_PAIR, 0), 0, 0, 0]),
        53 => of([item(INT_PAIR, 3), 0, 0, 0]),
        // openat, unlinkat, mkdirat, fchmodat(2): the path is args[1].
        263 | 258 | 268 | 452 => of([s(1), 0, 0, 0]),
        // openat2: the path and the `struct open_how` of `args[3]` bytes.
        437 => of([s(1), item(BYTES, 2), file, 0]),
        // rename, link, symlink: two paths.
        82 | 86 | 88 => of([s(0), s(1), 0, 0]),
        // renameat, renameat2, linkat: old path args[1], new path args[3].
        264 | 316 | 265 => of([s(1), s(3), 0, 0]),
        // symlinkat: target args[0], link path args[2].
        266 => of([s(0), s(2), 0, 0]),
        // mount: source, target, fstype.
        165 => of([s(0), s(1), s(2), 0]),
        // execve / execveat: filename, argv, task ids, cgroups.
        59 => of([item(EXEC_PATH, 0), item(EXEC_ARGV, 1), ids, cg]),
        322 => of([item(EXEC_PATH, 1), item(EXEC_ARGV, 2), ids, cg]),
        // clone, fork, vfork: the task ids and cgroups (in the child, its own).
        56..=58 => of([ids, cg, 0, 0]),
        // connect: the sockaddr and its length, and the connected socket.
        42 => of([item(BYTES, 1), item(SOCK_TUPLE, 0), 0, 0]),
        // bind: the sockaddr and its length.
        49 => of([item(BYTES, 1), 0, 0, 0]),
        // accept, accept4: the peer's sockaddr (its length behind a
        // pointer), and the new socket.
        43 | 288 => of([item(BYTES_LENPTR, 1), item(SOCK_TUPLE_RET, 0), 0, 0]),
        // init_module's and finit_module's parameter strings; memfd_create's name.
        175 => of([s(2), 0, 0, 0]),
        313 => of([s(1), 0, 0, 0]),
        319 => of([s(0), 0, 0, 0]),
        // clone3: the start of `struct clone_args` (its flags), the task ids,
        // the cgroups.
        435 => of([item(BYTES, 0), ids, cg, 0]),
        // sendto: the socket's ends and the destination sockaddr (for an
        // unconnected socket); recvfrom: the ends and the source sockaddr
        // (its length behind a pointer); sendmsg, recvmsg: the ends.
        44 => of([item(SOCK_TUPLE, 0), item(BYTES, 4), 0, 0]),
        // recvfrom also copies the data it received (`evt.buffer`).
        45 => of([
            item(SOCK_TUPLE, 0),
            item(BYTES_LENPTR, 4),
            item(BYTES_RET, 1),
            0,
        ]),
        46 | 47 => of([item(SOCK_TUPLE, 0), 0, 0, 0]),
        _ => 0,
    }
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
    emit_count_drop(b, out);
    b.bind(have).mov64_reg(Reg::R9, Reg::R0);
}

/// `drops[0] += 1`, then jumps to `out`. Clobbers R0–R5.
fn emit_count_drop(b: &mut ProgramBuilder, out: crate::asm::Label) {
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
}

/// Submits the record at R9 without waking the reader.
fn emit_submit(b: &mut ProgramBuilder) {
    b.mov64_reg(Reg::R1, Reg::R9)
        .mov64_imm(Reg::R2, ringbuf_flags::NO_WAKEUP)
        .call(Helper::RingbufSubmit);
}

/// The kernel structure offsets the `sys_exit` program reads beyond the
/// registers, all from BTF: where `mm` sits in `struct task_struct` and the
/// argument and environment bounds in `struct mm_struct` (after a successful
/// exec the new argv and the exec'd filename are read from there), the task
/// ids, the way from a descriptor to its socket, and the compat-syscall flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelLayout {
    pub task_mm: i16,
    pub arg_start: i16,
    pub arg_end: i16,
    pub env_end: i16,
    /// `task_struct.real_parent`, `.group_leader`, `.thread_pid`, `.pid`,
    /// `.tgid`: the parent and the namespaced ids.
    pub real_parent: i16,
    pub group_leader: i16,
    pub thread_pid: i16,
    pub task_pid: i16,
    pub task_tgid: i16,
    /// `struct pid.level` and `.numbers` (an array of 16-byte `struct upid`
    /// whose first member is `int nr`).
    pub pid_level: i16,
    pub pid_numbers: i16,
    /// The way from a file descriptor to its socket's addresses:
    /// `task_struct.files`, `files_struct.fdt`, `fdtable.max_fds` and `.fd`,
    /// `file.private_data`, `socket.sk`, and in `struct sock` (whose
    /// `__sk_common` is at `sk_common`) the `sock_common` fields.
    pub files: i16,
    pub fdt: i16,
    pub max_fds: i16,
    pub fd_array: i16,
    pub private_data: i16,
    pub socket_sk: i16,
    pub sk_common: i16,
    pub skc_family: i16,
    pub skc_num: i16,
    pub skc_dport: i16,
    pub skc_rcv_saddr: i16,
    pub skc_daddr: i16,
    pub skc_v6_rcv_saddr: i16,
    pub skc_v6_daddr: i16,
    /// `task_struct.thread_info.status`, whose `TS_COMPAT` bit marks a
    /// 32-bit (ia32) syscall.
    pub ti_status: i16,
    /// The way to cgroup paths: `task_struct.cgroups`, `css_set.subsys`
    /// (and its number of entries, `CGROUP_SUBSYS_COUNT`),
    /// `cgroup_subsys_state.cgroup`, `cgroup.kn`, `kernfs_node.name` and its
    /// parent (`__parent` since 6.15, `parent` before).
    pub task_cgroups: i16,
    pub css_subsys: i16,
    pub subsys_count: i32,
    pub css_cgroup: i16,
    pub cgroup_kn: i16,
    pub kn_name: i16,
    pub kn_parent: i16,
    /// `file.f_mode`, `file.f_inode`, `inode.i_ino`, `inode.i_sb`,
    /// `super_block.s_dev`.
    pub file_f_mode: i16,
    pub file_f_inode: i16,
    pub inode_i_ino: i16,
    pub inode_i_sb: i16,
    pub sb_s_dev: i16,
    /// `task_struct.loginuid` (absent without audit support),
    /// `task_struct.signal`, `signal_struct.tty`, `tty_struct.index` and
    /// `.driver`, `tty_driver.major` and `.minor_start`.
    pub loginuid: Option<i16>,
    pub task_signal: i16,
    pub signal_tty: i16,
    pub tty_index: i16,
    pub tty_driver: i16,
    pub driver_major: i16,
    pub driver_minor_start: i16,
    /// `mm_struct.env_end` bounds the environment, which follows the
    /// argument strings; `task_struct.cred` and the `cred` capability sets.
    pub task_cred: i16,
    pub cap_inheritable: i16,
    pub cap_permitted: i16,
    pub cap_effective: i16,
    /// The executable: `mm_struct.exe_file`, `file.f_path.dentry`,
    /// `dentry.d_name.name`, and the `inode` members read from it.
    pub mm_exe_file: i16,
    pub file_dentry: i16,
    pub dentry_name: i16,
    pub inode_ctime_sec: i16,
    pub inode_ctime_nsec: i16,
    pub inode_mtime_sec: i16,
    pub inode_mtime_nsec: i16,
    pub inode_mode: i16,
    pub inode_uid: i16,
    pub inode_gid: i16,
    pub inode_nlink: i16,
    /// `signal_struct.pids[PIDTYPE_PGID]`.
    pub signal_pgid: i16,
    /// The working directory's walk: `task_struct.fs`, `fs_struct.pwd`'s
    /// `mnt` and `dentry`, `dentry.d_parent`, `vfsmount.mnt_root`, and in
    /// `struct mount` the embedded `mnt`, `mnt_parent` and
    /// `mnt_mountpoint` (a mount's root is crossed to the dentry it is
    /// mounted on, as `d_path` does).
    pub task_fs: i16,
    pub fs_pwd_mnt: i16,
    pub fs_pwd_dentry: i16,
    pub dentry_parent: i16,
    pub vfsmount_root: i16,
    pub mount_mnt: i16,
    pub mount_parent: i16,
    pub mount_mountpoint: i16,
    /// The executable's overlay layer: `super_block.s_magic`,
    /// `dentry.d_inode`, and the offset from an overlay inode's VFS inode
    /// to its upper dentry (`ovl_inode.__upperdentry - .vfs_inode`),
    /// absent when the kernel has no overlayfs types.
    pub sb_magic: i16,
    pub dentry_inode: i16,
    pub ovl_upper: Option<i16>,
}

/// `enum pid_type`'s `PIDTYPE_PGID` (include/linux/pid_types.h).
const PIDTYPE_PGID: i16 = 2;

impl KernelLayout {
    pub fn from_btf(btf: &Btf) -> Result<Self, BtfError> {
        let get = |strukt: &str, member: &str| -> Result<i16, BtfError> {
            let (off, size) = insn_offset(btf, strukt, member)?;
            if size != 8 {
                return Err(BtfError::Malformed {
                    reason: format!("{strukt}.{member} is {size} bytes, expected 8"),
                });
            }
            Ok(off)
        };
        let off = |strukt: &str, member: &str| -> Result<i16, BtfError> {
            Ok(insn_offset(btf, strukt, member)?.0)
        };
        let sum = |a: i16, b: i16| -> Result<i16, BtfError> {
            a.checked_add(b).ok_or_else(|| BtfError::Malformed {
                reason: format!("member offset {a} + {b} is beyond an i16 offset"),
            })
        };
        // The namespaced id is read as numbers[level].nr: check the element
        // layout the program assumes.
        if off("upid", "nr")? != 0 || off("upid", "ns")? != 8 {
            return Err(BtfError::Malformed {
                reason: "struct upid is not { int nr; struct pid_namespace *ns; }".to_owned(),
            });
        }
        Ok(KernelLayout {
            task_mm: get("task_struct", "mm")?,
            arg_start: get("mm_struct", "arg_start")?,
            arg_end: get("mm_struct", "arg_end")?,
            env_end: get("mm_struct", "env_end")?,
            real_parent: get("task_struct", "real_parent")?,
            group_leader: get("task_struct", "group_leader")?,
            thread_pid: get("task_struct", "thread_pid")?,
            task_pid: off("task_struct", "pid")?,
            task_tgid: off("task_struct", "tgid")?,
            pid_level: off("pid", "level")?,
            pid_numbers: off("pid", "numbers")?,
            files: get("task_struct", "files")?,
            fdt: get("files_struct", "fdt")?,
            max_fds: off("fdtable", "max_fds")?,
            fd_array: get("fdtable", "fd")?,
            private_data: get("file", "private_data")?,
            socket_sk: get("socket", "sk")?,
            sk_common: off("sock", "__sk_common")?,
            skc_family: off("sock_common", "skc_family")?,
            skc_num: off("sock_common", "skc_num")?,
            skc_dport: off("sock_common", "skc_dport")?,
            skc_rcv_saddr: off("sock_common", "skc_rcv_saddr")?,
            skc_daddr: off("sock_common", "skc_daddr")?,
            skc_v6_rcv_saddr: off("sock_common", "skc_v6_rcv_saddr")?,
            skc_v6_daddr: off("sock_common", "skc_v6_daddr")?,
            ti_status: {
                let (ti, _) = insn_offset(btf, "task_struct", "thread_info")?;
                let (status, size) = insn_offset(btf, "thread_info", "status")?;
                if size != 4 {
                    return Err(BtfError::Malformed {
                        reason: format!("thread_info.status is {size} bytes, expected 4"),
                    });
                }
                ti.checked_add(status).ok_or_else(|| BtfError::Malformed {
                    reason: "task_struct.thread_info.status is beyond an i16 offset".to_owned(),
                })?
            },
            task_cgroups: get("task_struct", "cgroups")?,
            css_subsys: off("css_set", "subsys")?,
            subsys_count: {
                let (_, size) = insn_offset(btf, "css_set", "subsys")?;
                i32::try_from(size / 8).unwrap_or(0).min(32)
            },
            css_cgroup: get("cgroup_subsys_state", "cgroup")?,
            cgroup_kn: get("cgroup", "kn")?,
            kn_name: get("kernfs_node", "name")?,
            kn_parent: get("kernfs_node", "__parent").or_else(|_| get("kernfs_node", "parent"))?,
            file_f_mode: off("file", "f_mode")?,
            file_f_inode: get("file", "f_inode")?,
            inode_i_ino: get("inode", "i_ino")?,
            inode_i_sb: get("inode", "i_sb")?,
            sb_s_dev: off("super_block", "s_dev")?,
            loginuid: off("task_struct", "loginuid").ok(),
            task_signal: get("task_struct", "signal")?,
            signal_tty: get("signal_struct", "tty")?,
            tty_index: off("tty_struct", "index")?,
            tty_driver: get("tty_struct", "driver")?,
            driver_major: off("tty_driver", "major")?,
            driver_minor_start: off("tty_driver", "minor_start")?,
            task_cred: get("task_struct", "cred")?,
            cap_inheritable: get("cred", "cap_inheritable")?,
            cap_permitted: get("cred", "cap_permitted")?,
            cap_effective: get("cred", "cap_effective")?,
            mm_exe_file: get("mm_struct", "exe_file")?,
            file_dentry: sum(off("file", "f_path")?, get("path", "dentry")?)?,
            dentry_name: sum(off("dentry", "d_name")?, get("qstr", "name")?)?,
            inode_ctime_sec: get("inode", "i_ctime_sec")?,
            inode_ctime_nsec: off("inode", "i_ctime_nsec")?,
            inode_mtime_sec: get("inode", "i_mtime_sec")?,
            inode_mtime_nsec: off("inode", "i_mtime_nsec")?,
            inode_mode: off("inode", "i_mode")?,
            inode_uid: off("inode", "i_uid")?,
            inode_gid: off("inode", "i_gid")?,
            inode_nlink: off("inode", "__i_nlink")?,
            signal_pgid: sum(off("signal_struct", "pids")?, 8 * PIDTYPE_PGID)?,
            task_fs: get("task_struct", "fs")?,
            fs_pwd_mnt: sum(off("fs_struct", "pwd")?, get("path", "mnt")?)?,
            fs_pwd_dentry: sum(off("fs_struct", "pwd")?, get("path", "dentry")?)?,
            dentry_parent: get("dentry", "d_parent")?,
            vfsmount_root: get("vfsmount", "mnt_root")?,
            mount_mnt: off("mount", "mnt")?,
            mount_parent: get("mount", "mnt_parent")?,
            mount_mountpoint: get("mount", "mnt_mountpoint")?,
            sb_magic: get("super_block", "s_magic")?,
            dentry_inode: get("dentry", "d_inode")?,
            ovl_upper: match (
                insn_offset(btf, "ovl_inode", "__upperdentry"),
                insn_offset(btf, "ovl_inode", "vfs_inode"),
            ) {
                (Ok((upper, 8)), Ok((inode, _))) => upper.checked_sub(inode),
                _ => None,
            },
        })
    }
}

/// Stack slots of the syscall program (offsets from R10).
mod slot {
    /// `u32` map key.
    pub const KEY: i16 = -4;
    /// `u64` id read by the raw-tracepoint flavour.
    pub const ID: i16 = -16;
    /// `u64` the item's first argument (a user pointer).
    pub const ARG_A: i16 = -24;
    /// `u64` the item's second argument (a length, or a pointer to one).
    pub const ARG_B: i16 = -32;
    /// `u64` a length being copied.
    pub const LEN: i16 = -40;
    /// `u64` a value read through `bpf_probe_read_*`.
    pub const TMP: i16 = -48;
    /// `u64` a `struct pid *` or a task pointer kept across reads.
    pub const PTR: i16 = -56;
    /// `u64` the working directory walk's `struct mount *` (or the
    /// executable's inode while its layer is read).
    pub const MNT: i16 = -64;
    /// `u64` the walk's current mount root dentry.
    pub const ROOT: i16 = -72;
}

/// Reads the 8-byte kernel value at `*(u64 *)(R3 + off)` into the stack slot
/// `dst` with `bpf_probe_read_kernel` (zero on failure). Clobbers R0–R5.
fn emit_read_kernel(b: &mut ProgramBuilder, dst: i16, off: i16) {
    b.add64_imm(Reg::R3, i32::from(off))
        .stack_ptr(Reg::R1, dst)
        .mov64_imm(Reg::R2, 8)
        .call(Helper::ProbeReadKernel);
}

/// Reads `current->mm->{field}` into the stack slot `dst`. Both reads go
/// through `bpf_probe_read_kernel`, so a task without an mm (a kernel
/// thread) yields zero, which the following user read rejects. Clobbers
/// R0–R5.
fn emit_read_mm(b: &mut ProgramBuilder, layout: &KernelLayout, field: i16, dst: i16) {
    b.call(Helper::GetCurrentTask).mov64_reg(Reg::R3, Reg::R0);
    emit_read_kernel(b, slot::TMP, layout.task_mm);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::TMP);
    emit_read_kernel(b, dst, field);
}

/// Reads the `u32` at kernel address `R3 + off` into the record's current
/// item (R6 + R8) at byte `at` (zero on failure). Clobbers R0–R5.
fn emit_read_record_u32(b: &mut ProgramBuilder, off: i16, at: i32) {
    b.add64_imm(Reg::R3, i32::from(off))
        .mov64_reg(Reg::R1, Reg::R6)
        .add64_reg(Reg::R1, Reg::R8)
        .add64_imm(Reg::R1, at)
        .mov64_imm(Reg::R2, 4)
        .call(Helper::ProbeReadKernel);
}

/// Reads `size` bytes at kernel address `R3 + off` into the record's
/// current item (R6 + R8) at byte `at` (zeros on failure). Clobbers R0–R5.
fn emit_read_record(b: &mut ProgramBuilder, off: i16, at: i32, size: i32) {
    b.add64_imm(Reg::R3, i32::from(off))
        .mov64_reg(Reg::R1, Reg::R6)
        .add64_reg(Reg::R1, Reg::R8)
        .add64_imm(Reg::R1, at)
        .mov64_imm(Reg::R2, size)
        .call(Helper::ProbeReadKernel);
}

/// Writes the id of the task at R3 in its own pid namespace
/// (`task->thread_pid->numbers[level].nr`, what `task_pid_vnr` returns for
/// the task itself) to the current item at byte `at`. Clobbers R0–R5.
fn emit_read_vnr(b: &mut ProgramBuilder, layout: &KernelLayout, at: i32) {
    emit_read_kernel(b, slot::PTR, layout.thread_pid);
    emit_pid_vnr(b, layout, at);
}

/// Writes `pid->numbers[pid->level].nr` of the `struct pid *` in the PTR
/// slot to the current item at byte `at`. Clobbers R0–R5.
fn emit_pid_vnr(b: &mut ProgramBuilder, layout: &KernelLayout, at: i32) {
    b.st(Size::DW, Reg::R10, slot::TMP, 0)
        .ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    b.add64_imm(Reg::R3, i32::from(layout.pid_level))
        .stack_ptr(Reg::R1, slot::TMP)
        .mov64_imm(Reg::R2, 4)
        .call(Helper::ProbeReadKernel)
        .ldx(Size::DW, Reg::R1, Reg::R10, slot::TMP)
        // Pid namespaces nest at most 32 deep (MAX_PID_NS_LEVEL).
        .alu64_imm(AluOp::And, Reg::R1, 0x3f)
        .alu64_imm(AluOp::Lsh, Reg::R1, 4)
        .ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR)
        .add64_reg(Reg::R3, Reg::R1);
    emit_read_record_u32(b, layout.pid_numbers, at);
}

/// `TS_COMPAT` in `thread_info.status` (arch/x86/include/asm/thread_info.h):
/// the current syscall entered through the ia32 entry points.
const TS_COMPAT: i32 = 0x0002;

/// Bytes copied of one cgroup path component (`NAME_MAX` and its NUL).
const CGROUP_NAME: i32 = 256;

/// `EINPROGRESS`: a non-blocking connect that has started.
const EINPROGRESS: i32 = 115;

/// Leaves in the PTR slot the `struct file *` of the descriptor in the
/// ARG_A slot: the walk `current->files->fdt->fd[n]`, every step through
/// `bpf_probe_read_kernel`. Jumps to `skip` for a descriptor beyond the
/// table. Clobbers R0–R5.
fn emit_fd_file(b: &mut ProgramBuilder, layout: &KernelLayout, skip: crate::asm::Label) {
    b.call(Helper::GetCurrentTask).mov64_reg(Reg::R3, Reg::R0);
    emit_read_kernel(b, slot::PTR, layout.files);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_kernel(b, slot::PTR, layout.fdt);
    b.st(Size::DW, Reg::R10, slot::TMP, 0)
        .ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR)
        .add64_imm(Reg::R3, i32::from(layout.max_fds))
        .stack_ptr(Reg::R1, slot::TMP)
        .mov64_imm(Reg::R2, 4)
        .call(Helper::ProbeReadKernel)
        .ldx(Size::DW, Reg::R1, Reg::R10, slot::TMP)
        .ldx(Size::DW, Reg::R2, Reg::R10, slot::ARG_A)
        .jmp_reg(JmpOp::Ge, Reg::R2, Reg::R1, skip)
        .ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_kernel(b, slot::PTR, layout.fd_array);
    b.ldx(Size::DW, Reg::R2, Reg::R10, slot::ARG_A)
        .alu64_imm(AluOp::Lsh, Reg::R2, 3)
        .ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR)
        .add64_reg(Reg::R3, Reg::R2);
    emit_read_kernel(b, slot::PTR, 0);
}

/// Reads `f_mode`, the device and the inode number of the file behind the
/// descriptor in the ARG_A slot into item `k` (see
/// [`plan::FILE_INFO_LEN`]). Clobbers R0–R5.
fn emit_file_info(
    b: &mut ProgramBuilder,
    layout: &KernelLayout,
    k: usize,
    skip: crate::asm::Label,
) {
    emit_fd_file(b, layout, skip);
    emit_item_offset(b, k, skip);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_record_u32(b, layout.file_f_mode, 0);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_kernel(b, slot::PTR, layout.file_f_inode);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR)
        .add64_imm(Reg::R3, i32::from(layout.inode_i_ino))
        .mov64_reg(Reg::R1, Reg::R6)
        .add64_reg(Reg::R1, Reg::R8)
        .add64_imm(Reg::R1, 8)
        .mov64_imm(Reg::R2, 8)
        .call(Helper::ProbeReadKernel)
        .ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_kernel(b, slot::PTR, layout.inode_i_sb);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_record_u32(b, layout.sb_s_dev, 4);
}

/// Reads the addresses of the socket behind the descriptor in the ARG_A
/// slot into item `k` (see [`plan::SOCK_TUPLE_LEN`] for the layout):
/// `file->private_data->sk`, through `bpf_probe_read_kernel`. Jumps to
/// `skip` for a descriptor beyond the table. Clobbers R0–R5.
fn emit_sock_tuple(
    b: &mut ProgramBuilder,
    layout: &KernelLayout,
    k: usize,
    skip: crate::asm::Label,
) {
    emit_fd_file(b, layout, skip);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_kernel(b, slot::PTR, layout.private_data);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_kernel(b, slot::PTR, layout.socket_sk);
    emit_item_offset(b, k, skip);
    let common = |off: i16| layout.sk_common + off;
    let fields: [(i16, i32, i32); 7] = [
        (common(layout.skc_family), 0, 2),
        (common(layout.skc_num), 2, 2),
        (common(layout.skc_dport), 4, 2),
        (common(layout.skc_rcv_saddr), 8, 4),
        (common(layout.skc_daddr), 12, 4),
        (common(layout.skc_v6_rcv_saddr), 16, 16),
        (common(layout.skc_v6_daddr), 32, 16),
    ];
    for (off, at, size) in fields {
        b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR)
            .add64_imm(Reg::R3, i32::from(off))
            .mov64_reg(Reg::R1, Reg::R6)
            .add64_reg(Reg::R1, Reg::R8)
            .add64_imm(Reg::R1, at)
            .mov64_imm(Reg::R2, size)
            .call(Helper::ProbeReadKernel);
    }
    b.mov64_reg(Reg::R1, Reg::R6)
        .add64_reg(Reg::R1, Reg::R8)
        .st(Size::H, Reg::R1, 6, 0);
}

/// Loads `min(ITEM_LENS[0..k] summed, ...)` — the offset at which item `k`
/// starts — into R8, from the record in map memory.
///
/// Going through map memory is deliberate: a value loaded from a map is an
/// unknown scalar to the verifier, so after the clamp every path reaches the
/// item with the same register state and the verifier prunes them instead of
/// multiplying its work by the paths of every earlier item. Jumps to `skip`
/// if a stored length exceeds its bound (which the program never writes).
fn emit_item_offset(b: &mut ProgramBuilder, k: usize, skip: crate::asm::Label) {
    b.mov64_imm(Reg::R8, syscall_layout::SIZE);
    for j in 0..k {
        let off = syscall_layout::ITEM_LENS + 4 * j as i16;
        b.ldx(Size::W, Reg::R1, Reg::R6, off)
            .jmp_imm(JmpOp::Gt, Reg::R1, syscall_layout::MAX_ITEM, skip)
            .add64_reg(Reg::R8, Reg::R1);
    }
}

/// The rest of a `TASK_IDS` item (capabilities, the executable's inode,
/// the process group, the argument length), for the task in the ARG_A slot,
/// into the current item (R6 + R8). Every read goes through
/// `bpf_probe_read_kernel`, so a missing link (a kernel thread's mm, a
/// task without an executable) leaves zeros, which the converter reads as
/// absent. Clobbers R0–R5 and the PTR, LEN and TMP slots.
fn emit_task_exec_info(b: &mut ProgramBuilder, layout: &KernelLayout) {
    use plan::task_ids as at;
    // The capability sets of the task's (subjective) credentials.
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::ARG_A);
    emit_read_kernel(b, slot::PTR, layout.task_cred);
    for (off, to) in [
        (layout.cap_inheritable, at::CAP_INHERITABLE),
        (layout.cap_permitted, at::CAP_PERMITTED),
        (layout.cap_effective, at::CAP_EFFECTIVE),
    ] {
        b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
        emit_read_record(b, off, to, 8);
    }
    // The process group: the global id and the one at its own level.
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::ARG_A);
    emit_read_kernel(b, slot::PTR, layout.task_signal);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_kernel(b, slot::PTR, layout.signal_pgid);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_record_u32(b, layout.pid_numbers, at::PGID);
    emit_pid_vnr(b, layout, at::VPGID);
    // The argument strings' length (the environment follows them).
    emit_read_mm(b, layout, layout.arg_start, slot::LEN);
    emit_read_mm(b, layout, layout.arg_end, slot::PTR);
    b.ldx(Size::DW, Reg::R1, Reg::R10, slot::PTR)
        .ldx(Size::DW, Reg::R2, Reg::R10, slot::LEN)
        .alu64_reg(AluOp::Sub, Reg::R1, Reg::R2)
        .mov64_reg(Reg::R2, Reg::R6)
        .add64_reg(Reg::R2, Reg::R8)
        .stx(Size::W, Reg::R2, at::ARG_LEN as i16, Reg::R1);
    // The executable's inode and dentry name.
    emit_read_mm(b, layout, layout.mm_exe_file, slot::PTR);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_kernel(b, slot::LEN, layout.file_dentry);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_kernel(b, slot::PTR, layout.file_f_inode);
    // i_mode is 16 bits: the word is cleared so its high half stays zero.
    b.mov64_reg(Reg::R1, Reg::R6)
        .add64_reg(Reg::R1, Reg::R8)
        .st(Size::W, Reg::R1, at::EXE_MODE as i16, 0);
    for (off, to, size) in [
        (layout.inode_i_ino, at::EXE_INO, 8),
        (layout.inode_ctime_sec, at::EXE_CTIME_SEC, 8),
        (layout.inode_mtime_sec, at::EXE_MTIME_SEC, 8),
        (layout.inode_ctime_nsec, at::EXE_CTIME_NSEC, 4),
        (layout.inode_mtime_nsec, at::EXE_MTIME_NSEC, 4),
        (layout.inode_mode, at::EXE_MODE, 2),
        (layout.inode_uid, at::EXE_UID, 4),
        (layout.inode_gid, at::EXE_GID, 4),
        (layout.inode_nlink, at::EXE_NLINK, 4),
    ] {
        b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
        emit_read_record(b, off, to, size);
    }
    // The overlay layer; the fields are cleared first (the reads are
    // conditional).
    b.mov64_reg(Reg::R1, Reg::R6)
        .add64_reg(Reg::R1, Reg::R8)
        .st(Size::DW, Reg::R1, at::EXE_UPPER_INO as i16, 0)
        .st(Size::W, Reg::R1, at::EXE_SB_MAGIC as i16, 0)
        .st(Size::W, Reg::R1, at::CWD_DONE as i16, 0);
    emit_exe_layer(b, layout);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::LEN);
    emit_read_kernel(b, slot::PTR, layout.dentry_name);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_record(b, 0, at::EXE_NAME, 8);
}

/// The executable's overlay layer for the inode in the PTR slot: its
/// superblock's magic, and on an overlay filesystem the inode number of
/// the upper dentry's inode (`ovl_inode.__upperdentry->d_inode->i_ino`;
/// a file only in a lower layer has no upper dentry). Clobbers R0–R5 and
/// the PTR slot.
fn emit_exe_layer(b: &mut ProgramBuilder, layout: &KernelLayout) {
    use plan::task_ids as at;
    let end = b.new_label();
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR)
        .stx(Size::DW, Reg::R10, slot::MNT, Reg::R3);
    emit_read_kernel(b, slot::TMP, layout.inode_i_sb);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::TMP);
    emit_read_record_u32(b, layout.sb_magic, at::EXE_SB_MAGIC);
    let Some(upper) = layout.ovl_upper else {
        return;
    };
    b.mov64_reg(Reg::R1, Reg::R6)
        .add64_reg(Reg::R1, Reg::R8)
        .ldx(Size::W, Reg::R1, Reg::R1, at::EXE_SB_MAGIC as i16);
    // The magic is compared as a 32-bit value: an immediate is sign-extended
    // in a 64-bit comparison.
    b.alu32_imm(AluOp::Xor, Reg::R1, plan::OVERLAYFS_SUPER_MAGIC_U32 as i32)
        .jmp32_imm(JmpOp::Ne, Reg::R1, 0, end)
        .ldx(Size::DW, Reg::R3, Reg::R10, slot::MNT);
    emit_read_kernel(b, slot::TMP, upper);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::TMP)
        .jmp_imm(JmpOp::Eq, Reg::R3, 0, end);
    emit_read_kernel(b, slot::TMP, layout.dentry_inode);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::TMP)
        .jmp_imm(JmpOp::Eq, Reg::R3, 0, end);
    emit_read_record(b, layout.inode_i_ino, at::EXE_UPPER_INO, 8);
    b.bind(end);
}

/// The current task's working directory, appended to the `TASK_IDS` item
/// `k` after its fixed part: from `fs->pwd` up through `d_parent`, a
/// mount's root crossed to the dentry it is mounted on in its parent
/// mount, until the root of the mount namespace (a mount that is its own
/// parent) — the walk `d_path` makes, which a program cannot call here.
/// Components go leaf first, NUL-terminated; `CWD_DONE` says whether the
/// walk got to the root. The running length lives in `ITEM_LENS[k]` (map
/// memory), and the walk's pointers in stack slots, so every iteration
/// reaches the copy with the same register state. Clobbers R0–R5, R9 and
/// the PTR, MNT, ROOT, TMP and LEN slots.
fn emit_cwd_walk(b: &mut ProgramBuilder, layout: &KernelLayout, k: usize) {
    use plan::task_ids as at;
    let len_off = syscall_layout::ITEM_LENS + 4 * k as i16;
    let walked = b.new_label();
    b.st(Size::W, Reg::R6, len_off, plan::TASK_IDS_LEN);
    b.call(Helper::GetCurrentTask).mov64_reg(Reg::R3, Reg::R0);
    emit_read_kernel(b, slot::TMP, layout.task_fs);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::TMP);
    emit_read_kernel(b, slot::PTR, layout.fs_pwd_dentry);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::TMP);
    emit_read_kernel(b, slot::MNT, layout.fs_pwd_mnt);
    // ROOT = vfsmount->mnt_root; MNT becomes the `struct mount` around it.
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::MNT);
    emit_read_kernel(b, slot::ROOT, layout.vfsmount_root);
    b.ldx(Size::DW, Reg::R1, Reg::R10, slot::MNT)
        .jmp_imm(JmpOp::Eq, Reg::R1, 0, walked)
        .add64_imm(Reg::R1, -i32::from(layout.mount_mnt))
        .stx(Size::DW, Reg::R10, slot::MNT, Reg::R1);
    b.bounded_loop(Reg::R9, plan::CWD_DEPTH, |b, l| {
        let cross = b.new_label();
        b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR)
            .jmp_imm(JmpOp::Eq, Reg::R3, 0, l.exit)
            .ldx(Size::DW, Reg::R1, Reg::R10, slot::ROOT)
            .jmp_reg(JmpOp::Eq, Reg::R3, Reg::R1, cross);
        emit_read_kernel(b, slot::TMP, layout.dentry_parent);
        // A dentry that is its own parent is the root of its filesystem.
        b.ldx(Size::DW, Reg::R1, Reg::R10, slot::TMP)
            .ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR)
            .jmp_reg(JmpOp::Eq, Reg::R1, Reg::R3, cross)
            .jmp_imm(JmpOp::Eq, Reg::R1, 0, l.exit);
        emit_read_kernel(b, slot::LEN, layout.dentry_name);
        emit_item_offset(b, k, l.exit);
        b.ldx(Size::W, Reg::R4, Reg::R6, len_off)
            .jmp_imm(
                JmpOp::Gt,
                Reg::R4,
                syscall_layout::MAX_ITEM - plan::CWD_NAME - 1,
                l.exit,
            )
            .mov64_reg(Reg::R1, Reg::R6)
            .add64_reg(Reg::R1, Reg::R8)
            .add64_reg(Reg::R1, Reg::R4)
            .mov64_imm(Reg::R2, plan::CWD_NAME)
            .ldx(Size::DW, Reg::R3, Reg::R10, slot::LEN)
            .call(Helper::ProbeReadKernelStr)
            .jmp_imm(JmpOp::Sle, Reg::R0, 0, l.exit)
            .jmp_imm(JmpOp::Gt, Reg::R0, plan::CWD_NAME, l.exit)
            .ldx(Size::W, Reg::R4, Reg::R6, len_off)
            .add64_reg(Reg::R4, Reg::R0)
            .stx(Size::W, Reg::R6, len_off, Reg::R4)
            .ldx(Size::DW, Reg::R1, Reg::R10, slot::TMP)
            .stx(Size::DW, Reg::R10, slot::PTR, Reg::R1)
            .ja(l.next);
        // The root of a mount: continue from where it is mounted, unless
        // the mount is the namespace's root (its own parent).
        b.bind(cross).ldx(Size::DW, Reg::R3, Reg::R10, slot::MNT);
        emit_read_kernel(b, slot::TMP, layout.mount_parent);
        b.ldx(Size::DW, Reg::R1, Reg::R10, slot::TMP)
            .ldx(Size::DW, Reg::R3, Reg::R10, slot::MNT)
            .jmp_reg(JmpOp::Eq, Reg::R1, Reg::R3, walked)
            .jmp_imm(JmpOp::Eq, Reg::R1, 0, l.exit);
        emit_read_kernel(b, slot::PTR, layout.mount_mountpoint);
        b.ldx(Size::DW, Reg::R3, Reg::R10, slot::TMP)
            .stx(Size::DW, Reg::R10, slot::MNT, Reg::R3)
            .add64_imm(Reg::R3, i32::from(layout.mount_mnt));
        emit_read_kernel(b, slot::ROOT, layout.vfsmount_root);
    });
    // Out of steps or a failed read: CWD_DONE stays 0.
    let end = b.new_label();
    b.ja(end);
    b.bind(walked);
    emit_item_offset(b, k, end);
    b.mov64_reg(Reg::R1, Reg::R6)
        .add64_reg(Reg::R1, Reg::R8)
        .st(Size::W, Reg::R1, at::CWD_DONE as i16, 1);
    b.bind(end);
}

/// Emits item `k` of the plan in R7 for the record at R6: copies user memory
/// to the record at the item's offset and stores its length in
/// `ITEM_LENS[k]` (zero for no item or a failed copy).
fn emit_item(b: &mut ProgramBuilder, layout: &KernelLayout, k: usize) {
    let done = b.new_label();
    let set_len = b.new_label();
    let k_str = b.new_label();
    let k_bytes = b.new_label();
    let k_lenptr = b.new_label();
    let k_exec_path = b.new_label();
    let k_exec_argv = b.new_label();
    let argv_regs = b.new_label();
    let k_task_ids = b.new_label();
    let k_sock = b.new_label();
    let k_sock_ret = b.new_label();
    let k_sock_read = b.new_label();
    let k_cgroups = b.new_label();
    let k_pair = b.new_label();
    let k_file = b.new_label();
    let k_bytes_ret = b.new_label();
    let len_off = syscall_layout::ITEM_LENS + 4 * k as i16;
    let shift = 8 * k as i32;

    // R1 = item byte; R2 = &record.args[a]; the two argument values go to
    // the stack because helper calls clobber R1–R5.
    b.mov64_reg(Reg::R1, Reg::R7);
    if shift > 0 {
        b.alu64_imm(AluOp::Rsh, Reg::R1, shift);
    }
    b.alu64_imm(AluOp::And, Reg::R1, 0xff)
        .jmp_imm(JmpOp::Eq, Reg::R1, 0, done)
        .mov64_reg(Reg::R2, Reg::R1)
        .alu64_imm(AluOp::And, Reg::R2, 0x7)
        .alu64_imm(AluOp::Lsh, Reg::R2, 3)
        .add64_reg(Reg::R2, Reg::R6)
        // INVARIANT: a < 8, so args[a] and args[a + 1] lie within the fixed
        // part of the record (ARGS + 8 * 8 + 8 <= SIZE).
        .ldx(Size::DW, Reg::R3, Reg::R2, syscall_layout::ARGS)
        .stx(Size::DW, Reg::R10, slot::ARG_A, Reg::R3)
        .ldx(Size::DW, Reg::R3, Reg::R2, syscall_layout::ARGS + 8)
        .stx(Size::DW, Reg::R10, slot::ARG_B, Reg::R3)
        .alu64_imm(AluOp::Rsh, Reg::R1, 4)
        .jmp_imm(JmpOp::Eq, Reg::R1, i32::from(plan::STR), k_str)
        .jmp_imm(JmpOp::Eq, Reg::R1, i32::from(plan::BYTES), k_bytes)
        .jmp_imm(JmpOp::Eq, Reg::R1, i32::from(plan::BYTES_LENPTR), k_lenptr)
        .jmp_imm(JmpOp::Eq, Reg::R1, i32::from(plan::EXEC_PATH), k_exec_path)
        .jmp_imm(JmpOp::Eq, Reg::R1, i32::from(plan::EXEC_ARGV), k_exec_argv)
        .jmp_imm(JmpOp::Eq, Reg::R1, i32::from(plan::TASK_IDS), k_task_ids)
        .jmp_imm(JmpOp::Eq, Reg::R1, i32::from(plan::SOCK_TUPLE), k_sock)
        .jmp_imm(
            JmpOp::Eq,
            Reg::R1,
            i32::from(plan::SOCK_TUPLE_RET),
            k_sock_ret,
        )
        .jmp_imm(JmpOp::Eq, Reg::R1, i32::from(plan::CGROUPS), k_cgroups)
        .jmp_imm(JmpOp::Eq, Reg::R1, i32::from(plan::INT_PAIR), k_pair)
        .jmp_imm(JmpOp::Eq, Reg::R1, i32::from(plan::FILE_INFO), k_file)
        .jmp_imm(JmpOp::Eq, Reg::R1, i32::from(plan::BYTES_RET), k_bytes_ret)
        .ja(done);

    // BYTES_RET: as many bytes as the call returned, at most SNAPLEN,
    // copied as BYTES are.
    let ret_clamped = b.new_label();
    b.bind(k_bytes_ret)
        .ldx(Size::DW, Reg::R1, Reg::R6, syscall_layout::RET)
        .jmp_imm(JmpOp::Sle, Reg::R1, 0, done)
        .jmp_imm(JmpOp::Le, Reg::R1, plan::SNAPLEN, ret_clamped)
        .mov64_imm(Reg::R1, plan::SNAPLEN)
        .bind(ret_clamped)
        .stx(Size::DW, Reg::R10, slot::ARG_B, Reg::R1)
        .ja(k_bytes);

    // FILE_INFO: the file the syscall returned.
    b.bind(k_file)
        .ldx(Size::DW, Reg::R1, Reg::R6, syscall_layout::RET)
        .jmp_imm(JmpOp::Slt, Reg::R1, 0, done)
        .stx(Size::DW, Reg::R10, slot::ARG_A, Reg::R1);
    emit_file_info(b, layout, k, done);
    b.mov64_imm(Reg::R0, plan::FILE_INFO_LEN).ja(set_len);

    // INT_PAIR: eight bytes at ARG_A after a successful call, copied as
    // BYTES are.
    b.bind(k_pair)
        .ldx(Size::DW, Reg::R1, Reg::R6, syscall_layout::RET)
        .jmp_imm(JmpOp::Ne, Reg::R1, 0, done)
        .st(Size::DW, Reg::R10, slot::ARG_B, 8)
        .ja(k_bytes);

    // CGROUPS: one path per subsystem; the running length lives in
    // ITEM_LENS[k] like argv's.
    b.bind(k_cgroups).st(Size::W, Reg::R6, len_off, 0);
    b.call(Helper::GetCurrentTask).mov64_reg(Reg::R3, Reg::R0);
    emit_read_kernel(b, slot::ARG_A, layout.task_cgroups);
    b.bounded_loop(Reg::R9, layout.subsys_count, |b, l| {
        let subsys_end = b.new_label();
        // css = css_set->subsys[i]; kn = css->cgroup->kn.
        b.ldx(Size::DW, Reg::R3, Reg::R10, slot::ARG_A)
            .mov64_reg(Reg::R2, Reg::R9)
            .alu64_imm(AluOp::Lsh, Reg::R2, 3)
            .add64_reg(Reg::R3, Reg::R2);
        emit_read_kernel(b, slot::PTR, layout.css_subsys);
        b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR)
            .jmp_imm(JmpOp::Eq, Reg::R3, 0, subsys_end);
        emit_read_kernel(b, slot::PTR, layout.css_cgroup);
        b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
        emit_read_kernel(b, slot::PTR, layout.cgroup_kn);
        // The components, leaf first, unrolled: every register but the
        // loop counter is needed across the helper calls.
        for _ in 0..plan::CGROUP_DEPTH {
            b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR).jmp_imm(
                JmpOp::Eq,
                Reg::R3,
                0,
                subsys_end,
            );
            emit_read_kernel(b, slot::TMP, layout.kn_parent);
            // The root's name is not part of the path.
            b.ldx(Size::DW, Reg::R1, Reg::R10, slot::TMP)
                .jmp_imm(JmpOp::Eq, Reg::R1, 0, subsys_end)
                .ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
            emit_read_kernel(b, slot::LEN, layout.kn_name);
            emit_item_offset(b, k, l.exit);
            b.ldx(Size::W, Reg::R4, Reg::R6, len_off)
                .jmp_imm(
                    JmpOp::Gt,
                    Reg::R4,
                    syscall_layout::MAX_ITEM - CGROUP_NAME - 1,
                    l.exit,
                )
                .mov64_reg(Reg::R1, Reg::R6)
                .add64_reg(Reg::R1, Reg::R8)
                .add64_reg(Reg::R1, Reg::R4)
                .mov64_imm(Reg::R2, CGROUP_NAME)
                .ldx(Size::DW, Reg::R3, Reg::R10, slot::LEN)
                .call(Helper::ProbeReadKernelStr)
                .jmp_imm(JmpOp::Sle, Reg::R0, 0, subsys_end)
                .jmp_imm(JmpOp::Gt, Reg::R0, CGROUP_NAME, subsys_end)
                .ldx(Size::W, Reg::R4, Reg::R6, len_off)
                .add64_reg(Reg::R4, Reg::R0)
                .stx(Size::W, Reg::R6, len_off, Reg::R4)
                .ldx(Size::DW, Reg::R1, Reg::R10, slot::TMP)
                .stx(Size::DW, Reg::R10, slot::PTR, Reg::R1);
        }
        // The empty string that closes the subsystem.
        b.bind(subsys_end);
        emit_item_offset(b, k, l.exit);
        b.ldx(Size::W, Reg::R4, Reg::R6, len_off)
            .jmp_imm(JmpOp::Gt, Reg::R4, syscall_layout::MAX_ITEM - 1, l.exit)
            .mov64_reg(Reg::R1, Reg::R6)
            .add64_reg(Reg::R1, Reg::R8)
            .add64_reg(Reg::R1, Reg::R4)
            .st(Size::B, Reg::R1, 0, 0)
            .add64_imm(Reg::R4, 1)
            .stx(Size::W, Reg::R6, len_off, Reg::R4);
    });
    b.ja(done);

    // SOCK_TUPLE_RET: the descriptor is the result, when there is one.
    b.bind(k_sock_ret)
        .ldx(Size::DW, Reg::R1, Reg::R6, syscall_layout::RET)
        .jmp_imm(JmpOp::Slt, Reg::R1, 0, done)
        .stx(Size::DW, Reg::R10, slot::ARG_A, Reg::R1)
        .ja(k_sock_read);
    // SOCK_TUPLE: after a call that succeeded (a connect, or a send or
    // receive, which returns a count) or a connect in progress.
    b.bind(k_sock)
        .ldx(Size::DW, Reg::R1, Reg::R6, syscall_layout::RET)
        .jmp_imm(JmpOp::Sge, Reg::R1, 0, k_sock_read)
        .jmp_imm(JmpOp::Ne, Reg::R1, -EINPROGRESS, done);
    b.bind(k_sock_read);
    emit_sock_tuple(b, layout, k, done);
    b.mov64_imm(Reg::R0, plan::SOCK_TUPLE_LEN).ja(set_len);

    // TASK_IDS: the ids and the exec information of the current task.
    b.bind(k_task_ids);
    emit_item_offset(b, k, done);
    b.call(Helper::GetCurrentTask)
        .stx(Size::DW, Reg::R10, slot::ARG_A, Reg::R0)
        .mov64_reg(Reg::R3, Reg::R0);
    emit_read_kernel(b, slot::PTR, layout.real_parent);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_record_u32(b, layout.task_pid, 0);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_record_u32(b, layout.task_tgid, 12);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::ARG_A);
    emit_read_vnr(b, layout, 4);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::ARG_A);
    emit_read_kernel(b, slot::PTR, layout.group_leader);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_vnr(b, layout, 8);
    match layout.loginuid {
        Some(off) => {
            b.ldx(Size::DW, Reg::R3, Reg::R10, slot::ARG_A);
            emit_read_record_u32(b, off, 16);
        }
        None => {
            b.mov64_reg(Reg::R1, Reg::R6)
                .add64_reg(Reg::R1, Reg::R8)
                .st(Size::W, Reg::R1, 16, -1);
        }
    }
    // The terminal: a failed read (no tty) leaves zeros.
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::ARG_A);
    emit_read_kernel(b, slot::PTR, layout.task_signal);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_kernel(b, slot::PTR, layout.signal_tty);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_record_u32(b, layout.tty_index, 20);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_kernel(b, slot::PTR, layout.tty_driver);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_record_u32(b, layout.driver_major, 24);
    b.ldx(Size::DW, Reg::R3, Reg::R10, slot::PTR);
    emit_read_record_u32(b, layout.driver_minor_start, 28);
    emit_task_exec_info(b, layout);
    emit_cwd_walk(b, layout, k);
    b.ja(done);

    // EXEC_PATH: after a successful exec the filename sits at mm->env_end.
    b.bind(k_exec_path)
        .ldx(Size::DW, Reg::R1, Reg::R6, syscall_layout::RET)
        .jmp_imm(JmpOp::Ne, Reg::R1, 0, k_str);
    emit_read_mm(b, layout, layout.env_end, slot::ARG_A);
    b.ja(k_str);

    // STR: one user string of at most MAX_ITEM bytes.
    b.bind(k_str);
    emit_item_offset(b, k, done);
    b.mov64_reg(Reg::R1, Reg::R6)
        .add64_reg(Reg::R1, Reg::R8)
        .mov64_imm(Reg::R2, syscall_layout::MAX_ITEM)
        .ldx(Size::DW, Reg::R3, Reg::R10, slot::ARG_A)
        .call(Helper::ProbeReadUserStr)
        .ja(set_len);

    // BYTES_LENPTR: read the int length first, then copy like BYTES.
    b.bind(k_lenptr)
        .ldx(Size::DW, Reg::R1, Reg::R6, syscall_layout::RET)
        .jmp_imm(JmpOp::Slt, Reg::R1, 0, done)
        .st(Size::DW, Reg::R10, slot::TMP, 0)
        .stack_ptr(Reg::R1, slot::TMP)
        .mov64_imm(Reg::R2, 4)
        .ldx(Size::DW, Reg::R3, Reg::R10, slot::ARG_B)
        .call(Helper::ProbeReadUser)
        .ldx(Size::W, Reg::R1, Reg::R10, slot::TMP)
        .stx(Size::DW, Reg::R10, slot::ARG_B, Reg::R1);
    // Falls through to BYTES.

    // BYTES: ARG_B bytes (at most MAX_BYTES) at ARG_A.
    let clamped = b.new_label();
    b.bind(k_bytes)
        .ldx(Size::DW, Reg::R2, Reg::R10, slot::ARG_B)
        .jmp_imm(JmpOp::Le, Reg::R2, syscall_layout::MAX_BYTES, clamped)
        .mov64_imm(Reg::R2, syscall_layout::MAX_BYTES)
        .bind(clamped)
        .stx(Size::DW, Reg::R10, slot::LEN, Reg::R2);
    emit_item_offset(b, k, done);
    let copied = b.new_label();
    b.mov64_reg(Reg::R1, Reg::R6)
        .add64_reg(Reg::R1, Reg::R8)
        .ldx(Size::DW, Reg::R2, Reg::R10, slot::LEN)
        // Re-clamped after the reload: the verifier must see the bound at
        // the call.
        .jmp_imm(JmpOp::Gt, Reg::R2, syscall_layout::MAX_BYTES, done)
        .ldx(Size::DW, Reg::R3, Reg::R10, slot::ARG_A)
        .call(Helper::ProbeReadUser)
        .jmp_imm(JmpOp::Eq, Reg::R0, 0, copied)
        .mov64_imm(Reg::R0, 0)
        .ja(set_len)
        .bind(copied)
        .ldx(Size::DW, Reg::R0, Reg::R10, slot::LEN)
        .ja(set_len);

    // EXEC_ARGV after a successful exec: mm->arg_start..env_end, the
    // argument strings and the environment after them (TASK_IDS carries
    // where one ends).
    let mm_clamped = b.new_label();
    let mm_copied = b.new_label();
    b.bind(k_exec_argv)
        .ldx(Size::DW, Reg::R1, Reg::R6, syscall_layout::RET)
        .jmp_imm(JmpOp::Ne, Reg::R1, 0, argv_regs);
    emit_read_mm(b, layout, layout.arg_start, slot::ARG_A);
    emit_read_mm(b, layout, layout.env_end, slot::ARG_B);
    emit_item_offset(b, k, done);
    b.ldx(Size::DW, Reg::R2, Reg::R10, slot::ARG_B)
        .ldx(Size::DW, Reg::R3, Reg::R10, slot::ARG_A)
        .alu64_reg(AluOp::Sub, Reg::R2, Reg::R3)
        .jmp_imm(JmpOp::Le, Reg::R2, syscall_layout::MAX_ITEM, mm_clamped)
        .mov64_imm(Reg::R2, syscall_layout::MAX_ITEM)
        .bind(mm_clamped)
        .stx(Size::DW, Reg::R10, slot::LEN, Reg::R2)
        .mov64_reg(Reg::R1, Reg::R6)
        .add64_reg(Reg::R1, Reg::R8)
        .call(Helper::ProbeReadUser)
        .jmp_imm(JmpOp::Eq, Reg::R0, 0, mm_copied)
        .mov64_imm(Reg::R0, 0)
        .ja(set_len)
        .bind(mm_copied)
        .ldx(Size::DW, Reg::R0, Reg::R10, slot::LEN)
        .ja(set_len);

    // EXEC_ARGV after a failed exec: the pointer array in user memory, one
    // string per iteration. The running length lives in ITEM_LENS[k] (map
    // memory) for the same reason as the item offset: iterations then reach
    // the copy with identical register states.
    b.bind(argv_regs).st(Size::W, Reg::R6, len_off, 0);
    b.bounded_loop(Reg::R9, syscall_layout::ARGV_MAX_ARGS, |b, l| {
        b.ldx(Size::DW, Reg::R3, Reg::R10, slot::ARG_A)
            .mov64_reg(Reg::R2, Reg::R9)
            .alu64_imm(AluOp::Lsh, Reg::R2, 3)
            .add64_reg(Reg::R3, Reg::R2)
            .stack_ptr(Reg::R1, slot::TMP)
            .mov64_imm(Reg::R2, 8)
            .call(Helper::ProbeReadUser)
            .jmp_imm(JmpOp::Ne, Reg::R0, 0, l.exit)
            .ldx(Size::DW, Reg::R3, Reg::R10, slot::TMP)
            .jmp_imm(JmpOp::Eq, Reg::R3, 0, l.exit);
        emit_item_offset(b, k, l.exit);
        b.ldx(Size::W, Reg::R4, Reg::R6, len_off)
            .jmp_imm(
                JmpOp::Gt,
                Reg::R4,
                syscall_layout::MAX_ITEM - syscall_layout::ARGV_MAX_ARG,
                l.exit,
            )
            .mov64_reg(Reg::R1, Reg::R6)
            .add64_reg(Reg::R1, Reg::R8)
            .add64_reg(Reg::R1, Reg::R4)
            .mov64_imm(Reg::R2, syscall_layout::ARGV_MAX_ARG)
            .call(Helper::ProbeReadUserStr)
            .jmp_imm(JmpOp::Sle, Reg::R0, 0, l.exit)
            .jmp_imm(JmpOp::Gt, Reg::R0, syscall_layout::ARGV_MAX_ARG, l.exit)
            .ldx(Size::W, Reg::R4, Reg::R6, len_off)
            .add64_reg(Reg::R4, Reg::R0)
            .stx(Size::W, Reg::R6, len_off, Reg::R4);
    });
    b.ja(done);

    // A helper's result as the item's length: negative (an error) or out of
    // bounds means nothing was copied.
    let bad = b.new_label();
    b.bind(set_len)
        .jmp_imm(JmpOp::Slt, Reg::R0, 0, bad)
        .jmp_imm(JmpOp::Sgt, Reg::R0, syscall_layout::MAX_ITEM, bad)
        .stx(Size::W, Reg::R6, len_off, Reg::R0)
        .ja(done)
        .bind(bad)
        .st(Size::W, Reg::R6, len_off, 0);
    b.bind(done);
}

/// The `sys_exit` program. Its context is `u64 args[2]`: `struct pt_regs *`
/// and the syscall's return value.
///
/// The record is built in the per-CPU [`SCRATCH_MAP`] and copied into the
/// ring buffer with `bpf_ringbuf_output`, because its length is known only
/// after the strings are read and `bpf_ringbuf_reserve` needs a constant.
pub fn sys_exit_program(
    regs: &PtRegsLayout,
    layout: &KernelLayout,
    flavor: Flavor,
) -> Result<BpfProgram, AsmError> {
    sys_exit_program_with(regs, layout, flavor, &KernelFilter::none())
}

/// [`sys_exit_program`] with the rule prefilter `filter` (see [`crate::filter`]): run once
/// before the user memory is copied (string atoms undecided) and once after; what it drops
/// is counted in [`PF_COUNTS_MAP`] and never reaches the ring buffer.
pub fn sys_exit_program_with(
    regs: &PtRegsLayout,
    layout: &KernelLayout,
    flavor: Flavor,
    filter: &KernelFilter,
) -> Result<BpfProgram, AsmError> {
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
            b.st(Size::DW, Reg::R10, slot::ID, -1)
                .stack_ptr(Reg::R1, slot::ID)
                .mov64_imm(Reg::R2, 8)
                .mov64_reg(Reg::R3, Reg::R7)
                .add64_imm(Reg::R3, i32::from(regs.orig_ax))
                .call(Helper::ProbeReadKernel)
                .ldx(Size::DW, Reg::R8, Reg::R10, slot::ID);
        }
    }
    // The in-kernel prefilter: interest[id] must exist and be non-zero.
    b.stx(Size::W, Reg::R10, slot::KEY, Reg::R8)
        .stack_ptr(Reg::R2, slot::KEY)
        .ld_map(Reg::R1, INTEREST_MAP)
        .call(Helper::MapLookupElem)
        .jmp_imm(JmpOp::Eq, Reg::R0, 0, out)
        .ldx(Size::B, Reg::R1, Reg::R0, 0)
        .jmp_imm(JmpOp::Eq, Reg::R1, i32::from(interest::NONE), out)
        .stx(Size::DW, Reg::R10, INTEREST_SLOT, Reg::R1);

    // A 32-bit (ia32) syscall numbers its calls differently (5 is open
    // there, fstat here), so its id would name the wrong syscall: it is
    // dropped. The flag is checked after the prefilter, so only wanted ids
    // pay for it.
    match flavor {
        Flavor::TpBtf => {
            b.call(Helper::GetCurrentTaskBtf)
                .ldx(Size::W, Reg::R1, Reg::R0, layout.ti_status);
        }
        Flavor::RawTracepoint => {
            b.st(Size::DW, Reg::R10, slot::TMP, 0)
                .call(Helper::GetCurrentTask)
                .mov64_reg(Reg::R3, Reg::R0)
                .add64_imm(Reg::R3, i32::from(layout.ti_status))
                .stack_ptr(Reg::R1, slot::TMP)
                .mov64_imm(Reg::R2, 4)
                .call(Helper::ProbeReadKernel)
                .ldx(Size::DW, Reg::R1, Reg::R10, slot::TMP);
        }
    }
    b.jmp_imm(JmpOp::Set, Reg::R1, TS_COMPAT, out);

    // Seen by the rule prefilter. The id is below MAX_SYSCALLS (the interest
    // lookup succeeded), so this lookup cannot fail; the pointer is kept on
    // the stack for the drop count.
    let filtered = b.new_label();
    b.stx(Size::W, Reg::R10, slot::KEY, Reg::R8)
        .stack_ptr(Reg::R2, slot::KEY)
        .ld_map(Reg::R1, PF_COUNTS_MAP)
        .call(Helper::MapLookupElem)
        .jmp_imm(JmpOp::Eq, Reg::R0, 0, out)
        .stx(Size::DW, Reg::R10, COUNTS_SLOT, Reg::R0)
        .mov64_imm(Reg::R1, 1)
        .atomic_add(Size::DW, Reg::R0, 0, Reg::R1);

    // The record is built in this CPU's scratch value.
    // INVARIANT: a run of this program is never interleaved with another run
    // of it on the same CPU: the kernel skips a tracing program that is
    // already active on the CPU (counting a miss) and migration is disabled
    // while it runs, so the scratch value has one writer at a time.
    b.st(Size::W, Reg::R10, slot::KEY, 0)
        .stack_ptr(Reg::R2, slot::KEY)
        .ld_map(Reg::R1, SCRATCH_MAP)
        .call(Helper::MapLookupElem)
        .jmp_imm(JmpOp::Eq, Reg::R0, 0, out)
        .mov64_reg(Reg::R9, Reg::R0);
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
    if !filter.by_syscall.is_empty() {
        let early_pass = b.new_label();
        b.ldx(Size::DW, Reg::R1, Reg::R10, INTEREST_SLOT).jmp_imm(
            JmpOp::Eq,
            Reg::R1,
            i32::from(interest::UNFILTERED),
            early_pass,
        );
        crate::filter::emit(&mut b, filter, Reg::R9, Phase::Early, early_pass, filtered);
        b.bind(early_pass);
    }

    // The plan: plans[id], or none.
    let have_plan = b.new_label();
    b.stx(Size::W, Reg::R10, slot::KEY, Reg::R8)
        .stack_ptr(Reg::R2, slot::KEY)
        .ld_map(Reg::R1, PLANS_MAP)
        .call(Helper::MapLookupElem)
        .mov64_imm(Reg::R7, 0)
        .jmp_imm(JmpOp::Eq, Reg::R0, 0, have_plan)
        .ldx(Size::W, Reg::R7, Reg::R0, 0)
        .bind(have_plan)
        .stx(Size::W, Reg::R9, syscall_layout::PLAN, Reg::R7)
        .st(Size::W, Reg::R9, syscall_layout::PAD, 0);
    for k in 0..syscall_layout::ITEMS {
        b.st(
            Size::W,
            Reg::R9,
            syscall_layout::ITEM_LENS + 4 * k as i16,
            0,
        );
    }
    // From here: R6 = record, R7 = plan, R8 = item offset, R9 = loop counter.
    b.mov64_reg(Reg::R6, Reg::R9);
    let output = b.new_label();
    b.jmp_imm(JmpOp::Eq, Reg::R7, 0, output);
    for k in 0..syscall_layout::ITEMS {
        emit_item(&mut b, layout, k);
    }
    b.bind(output);
    if !filter.by_syscall.is_empty() {
        let full_pass = b.new_label();
        b.ldx(Size::DW, Reg::R1, Reg::R10, INTEREST_SLOT).jmp_imm(
            JmpOp::Eq,
            Reg::R1,
            i32::from(interest::UNFILTERED),
            full_pass,
        );
        crate::filter::emit(&mut b, filter, Reg::R6, Phase::Full, full_pass, filtered);
        b.bind(full_pass);
    }
    emit_item_offset(&mut b, syscall_layout::ITEMS, out);
    b.ld_map(Reg::R1, EVENTS_MAP)
        .mov64_reg(Reg::R2, Reg::R6)
        .mov64_reg(Reg::R3, Reg::R8)
        .mov64_imm(Reg::R4, ringbuf_flags::NO_WAKEUP)
        .call(Helper::RingbufOutput)
        .jmp_imm(JmpOp::Eq, Reg::R0, 0, out);
    // The ring buffer is full: count the loss so userspace can report it.
    emit_count_drop(&mut b, out);
    // Dropped by the rule prefilter (only code with a filter jumps here).
    if !filter.by_syscall.is_empty() {
        b.bind(filtered)
            .ldx(Size::DW, Reg::R1, Reg::R10, COUNTS_SLOT)
            .mov64_imm(Reg::R2, 1)
            .atomic_add(Size::DW, Reg::R1, 8, Reg::R2);
    }
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
pub fn proc_program(event: ProcEvent, task: &TaskLayout) -> Result<BpfProgram, AsmError> {
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
pub fn standard_maps(ring_bytes: u32) -> [MapDef; 6] {
    [
        MapDef::ring_buf(EVENTS_MAP, ring_bytes),
        MapDef::array(INTEREST_MAP, 1, MAX_SYSCALLS),
        MapDef::per_cpu_array(DROPS_MAP, 8, 1),
        MapDef::array(PLANS_MAP, 4, MAX_SYSCALLS),
        // The record's bytes, as `bpf_ringbuf_output` copies them.
        MapDef::per_cpu_array(SCRATCH_MAP, syscall_layout::MAX_SIZE as u32, 1),
        MapDef::per_cpu_array(PF_COUNTS_MAP, 16, MAX_SYSCALLS),
    ]
}

/// Generates Lanner's object against the given kernel BTF.
pub fn generate(btf: &Btf, opts: ObjectOptions) -> Result<EmittedObject, GenerateError> {
    generate_with(btf, opts, &KernelFilter::none())
}

/// [`generate`] with the rule prefilter `filter` in the `sys_exit` program.
pub fn generate_with(
    btf: &Btf,
    opts: ObjectOptions,
    filter: &KernelFilter,
) -> Result<EmittedObject, GenerateError> {
    let regs = PtRegsLayout::from_btf(btf)?;
    let layout = KernelLayout::from_btf(btf)?;
    let mut ob = ObjectBuilder::new();
    for map in standard_maps(opts.ring_bytes) {
        ob.map(map);
    }
    let sys_exit =
        sys_exit_program_with(&regs, &layout, opts.flavor, filter).map_err(|source| {
            GenerateError::Asm {
                program: SYS_EXIT_PROG,
                source,
            }
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
    /// Lengths of the items after the fixed part (see [`syscall_items`]).
    pub item_lens: [u32; syscall_layout::ITEMS],
    /// The capture plan the program followed.
    pub plan: u32,
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
        let mut item_lens = [0u32; syscall_layout::ITEMS];
        for (k, len) in (0i16..).zip(item_lens.iter_mut()) {
            *len = u32_at(b, syscall_layout::ITEM_LENS + 4 * k)?;
        }
        Some(SyscallRecord {
            header,
            id: u64_at(b, syscall_layout::ID)? as i64,
            ret: u64_at(b, syscall_layout::RET)? as i64,
            args,
            comm: comm_at(b, syscall_layout::COMM)?,
            item_lens,
            plan: u32_at(b, syscall_layout::PLAN)?,
        })
    }

    /// The record's bytes: the fixed part followed by `items`, their lengths
    /// in `item_lens` replaced by the items' lengths. The inverse of
    /// [`SyscallRecord::parse`] and [`syscall_items`], for building records
    /// by hand.
    /// Slots beyond `items` are empty.
    pub fn to_bytes(&self, items: &[&[u8]]) -> Vec<u8> {
        let mut b = Vec::with_capacity(syscall_layout::SIZE as usize);
        let h = &self.header;
        b.extend_from_slice(&(h.kind as u32).to_le_bytes());
        b.extend_from_slice(&h.cpu.to_le_bytes());
        b.extend_from_slice(&h.ktime_ns.to_le_bytes());
        b.extend_from_slice(&((u64::from(h.tgid) << 32) | u64::from(h.pid)).to_le_bytes());
        b.extend_from_slice(&((u64::from(h.gid) << 32) | u64::from(h.uid)).to_le_bytes());
        b.extend_from_slice(&self.id.to_le_bytes());
        b.extend_from_slice(&self.ret.to_le_bytes());
        for a in self.args {
            b.extend_from_slice(&a.to_le_bytes());
        }
        b.extend_from_slice(&self.comm);
        let items = items.get(..syscall_layout::ITEMS).unwrap_or(items);
        for k in 0..syscall_layout::ITEMS {
            let len = items.get(k).map_or(0, |i| i.len());
            b.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
        }
        b.extend_from_slice(&self.plan.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        for item in items {
            b.extend_from_slice(item);
        }
        b
    }

    /// `comm` up to its first NUL.
    pub fn comm_str(&self) -> String {
        cstr(&self.comm)
    }
}

/// The items of a syscall record: slices of `b` after the fixed part, in
/// slot order (empty for an unused slot). `None` if the lengths run past the
/// record.
pub fn syscall_items(b: &[u8]) -> Option<[&[u8]; syscall_layout::ITEMS]> {
    let mut items: [&[u8]; syscall_layout::ITEMS] = [&[]; syscall_layout::ITEMS];
    let mut pos = usize::try_from(syscall_layout::SIZE).ok()?;
    for (k, item) in (0i16..).zip(items.iter_mut()) {
        let len = usize::try_from(u32_at(b, syscall_layout::ITEM_LENS + 4 * k)?).ok()?;
        let end = pos.checked_add(len)?;
        *item = b.get(pos..end)?;
        pos = end;
    }
    Some(items)
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
    const MM: KernelLayout = KernelLayout {
        task_mm: 2400,
        arg_start: 300,
        arg_end: 308,
        env_end: 324,
        real_parent: 2600,
        group_leader: 2640,
        thread_pid: 2700,
        task_pid: 2000,
        task_tgid: 2004,
        pid_level: 4,
        pid_numbers: 96,
        files: 2800,
        fdt: 32,
        max_fds: 0,
        fd_array: 8,
        private_data: 200,
        socket_sk: 24,
        sk_common: 0,
        skc_family: 16,
        skc_num: 14,
        skc_dport: 12,
        skc_rcv_saddr: 4,
        skc_daddr: 0,
        skc_v6_rcv_saddr: 72,
        skc_v6_daddr: 56,
        ti_status: 12,
        task_cgroups: 3000,
        css_subsys: 0,
        subsys_count: 14,
        css_cgroup: 0,
        cgroup_kn: 256,
        kn_name: 8,
        kn_parent: 0,
        file_f_mode: 20,
        file_f_inode: 32,
        inode_i_ino: 64,
        inode_i_sb: 40,
        sb_s_dev: 16,
        loginuid: Some(3100),
        task_signal: 3200,
        signal_tty: 400,
        tty_index: 32,
        tty_driver: 24,
        driver_major: 12,
        driver_minor_start: 16,
        task_cred: 3300,
        cap_inheritable: 40,
        cap_permitted: 48,
        cap_effective: 56,
        mm_exe_file: 900,
        file_dentry: 24,
        dentry_name: 40,
        inode_ctime_sec: 96,
        inode_ctime_nsec: 104,
        inode_mtime_sec: 112,
        inode_mtime_nsec: 120,
        inode_mode: 0,
        inode_uid: 4,
        inode_gid: 8,
        inode_nlink: 72,
        signal_pgid: 376,
        task_fs: 1904,
        fs_pwd_mnt: 40,
        fs_pwd_dentry: 48,
        dentry_parent: 24,
        vfsmount_root: 0,
        mount_mnt: 32,
        mount_parent: 16,
        mount_mountpoint: 24,
        sb_magic: 96,
        dentry_inode: 48,
        ovl_upper: Some(632),
    };
    const TASK: TaskLayout = TaskLayout {
        pid: 2000,
        tgid: 2004,
        exit_code: 1500,
    };

    #[test]
    fn programs_assemble() {
        for flavor in [Flavor::TpBtf, Flavor::RawTracepoint] {
            let p = sys_exit_program(&REGS, &MM, flavor).unwrap();
            assert_eq!(p.map_refs().len(), 6);
            let listing = p.disassemble();
            assert!(listing.contains("r8 = *(u64 *)(r7 +120)") || flavor == Flavor::RawTracepoint);
            assert!(listing.contains("call bpf_ringbuf_output#130"));
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
        assert_eq!(syscall_layout::COMM + 16, syscall_layout::ITEM_LENS);
        assert_eq!(
            syscall_layout::ITEM_LENS + 4 * syscall_layout::ITEMS as i16,
            syscall_layout::PLAN
        );
        assert_eq!(syscall_layout::PLAN + 4, syscall_layout::PAD);
        assert_eq!(i32::from(syscall_layout::PAD) + 4, syscall_layout::SIZE);
        // INVARIANT behind `emit_item`: both argument registers an item
        // reads lie in the fixed part whatever its 3-bit register index.
        assert!(i32::from(syscall_layout::ARGS) + 8 * 8 + 8 <= syscall_layout::SIZE);
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
        assert_eq!(syscall_items(&b).unwrap(), [&[] as &[u8]; 4]);
    }

    #[test]
    fn items_round_trip() {
        let mut b = vec![0u8; syscall_layout::SIZE as usize];
        b[0..4].copy_from_slice(&1u32.to_le_bytes());
        let mut r = SyscallRecord::parse(&b).unwrap();
        r.plan = default_plan(82);
        let bytes = r.to_bytes(&[b"/a\0", b"/bc\0", b""]);
        let back = SyscallRecord::parse(&bytes).unwrap();
        assert_eq!(back.item_lens, [3, 4, 0, 0]);
        assert_eq!(back.plan, r.plan);
        assert_eq!(
            syscall_items(&bytes).unwrap(),
            [b"/a\0" as &[u8], b"/bc\0", b"", b""]
        );
        // A length past the end is refused, not sliced.
        assert!(syscall_items(&bytes[..bytes.len() - 1]).is_none());
        assert_eq!(plan::decode(r.plan, 0), (plan::STR, 0));
        assert_eq!(plan::decode(r.plan, 1), (plan::STR, 1));
        assert_eq!(plan::decode(default_plan(59), 1), (plan::EXEC_ARGV, 1));
    }
}
