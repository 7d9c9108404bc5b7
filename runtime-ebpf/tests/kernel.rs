//! Tests against the running kernel: they load every generated program through
//! the real verifier, attach it, make syscalls and read the ring buffer.
//!
//! They need root. Outside CI a machine that cannot load eBPF skips them with
//! a message; with `CI=true` a load failure fails the test, so CI can never go
//! green without having run them.
//!
//! Several tests run at once in this process, each with its own object and
//! maps; records are matched by thread id so concurrent tests do not see each
//! other's syscalls as their own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::ffi::CString;
use std::time::{Duration, Instant};

use lanner_ebpf::btf::Btf;
use lanner_ebpf::loader::{Loaded, LoaderError};
use lanner_ebpf::programs::{
    self, DROPS_MAP, EVENTS_MAP, Flavor, INTEREST_MAP, ObjectOptions, ProcRecord, PtRegsLayout,
    RecordKind, SyscallRecord,
};
use lanner_ebpf::{
    AsmError, AttachPoint, EmittedObject, Helper, JmpOp, MapDef, ObjectBuilder, ProgramBuilder,
    Reg, Size,
};

mod common;
use common::kernel_ready;

const WAIT: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(1);

/// Opens an object and loads all its programs; `None` only when the machine
/// cannot load eBPF at all (see [`kernel_ready`]).
fn open_or_skip(object: &EmittedObject) -> Option<Loaded> {
    if !kernel_ready() {
        return None;
    }
    let mut loaded = Loaded::open(object).unwrap_or_else(|e| panic!("{e}"));
    loaded.load_all().unwrap_or_else(|e| panic!("{e}"));
    Some(loaded)
}

fn kernel_btf() -> Btf {
    Btf::from_sys_fs().expect("this machine publishes /sys/kernel/btf/vmlinux")
}

fn generate(flavor: Flavor, proc_events: bool, ring_bytes: u32) -> EmittedObject {
    programs::generate(
        &kernel_btf(),
        ObjectOptions {
            flavor,
            proc_events,
            ring_bytes,
        },
    )
    .unwrap()
}

fn gettid() -> u32 {
    // SAFETY: gettid has no preconditions.
    (unsafe { libc::gettid() }) as u32
}

#[test]
#[cfg(target_arch = "x86_64")]
fn pt_regs_layout_comes_from_kernel_btf() {
    let layout = PtRegsLayout::from_btf(&kernel_btf()).unwrap();
    // The x86-64 layout has been stable for years; this checks the reader
    // against it rather than the program against a hard-coded table.
    assert_eq!(
        layout,
        PtRegsLayout {
            orig_ax: 120,
            args: [112, 104, 96, 56, 72, 64],
        }
    );
}

#[test]
fn every_program_passes_the_verifier() {
    for flavor in [Flavor::TpBtf, Flavor::RawTracepoint] {
        let object = generate(flavor, true, 1 << 16);
        let Some(loaded) = open_or_skip(&object) else {
            return;
        };
        let names: Vec<_> = loaded.program_names().collect();
        assert_eq!(
            names,
            [
                programs::SYS_EXIT_PROG,
                programs::EXEC_PROG,
                programs::FORK_PROG,
                programs::EXIT_PROG
            ]
        );
    }
}

/// Attaches the syscall program with `wanted` syscalls marked in the
/// interest array.
fn attach_sys_exit(flavor: Flavor, wanted: &[i64], ring_bytes: u32) -> Option<Loaded> {
    let object = generate(flavor, false, ring_bytes);
    let mut loaded = open_or_skip(&object)?;
    lanner_ebpf::probe::install_default_plans(&mut loaded).unwrap();
    for &id in wanted {
        loaded
            .set_array(INTEREST_MAP, u32::try_from(id).unwrap(), 1u8)
            .unwrap();
    }
    loaded.attach(programs::SYS_EXIT_PROG).unwrap();
    Some(loaded)
}

fn records_syscalls(flavor: Flavor) {
    let Some(mut loaded) = attach_sys_exit(flavor, &[libc::SYS_getppid, libc::SYS_openat], 1 << 20)
    else {
        return;
    };
    let mut ring = loaded.take_ring(EVENTS_MAP).unwrap();
    let tid = gettid();
    // SAFETY: these calls have no preconditions.
    let (tgid, uid, gid) = unsafe { (libc::getpid() as u32, libc::getuid(), libc::getgid()) };

    // SAFETY: getppid has no preconditions.
    let ppid = unsafe { libc::getppid() };
    let missing = format!(
        "/tmp/lanner-ebpf-missing-{tgid}-{tid}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let path = CString::new(missing).unwrap();
    // SAFETY: path is a valid NUL-terminated string.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap();
    assert_eq!((fd, errno), (-1, libc::ENOENT));

    let mut got_getppid = None;
    let mut got_openat = None;
    let found = ring.poll_until(WAIT, POLL, |bytes| {
        let Some(r) = SyscallRecord::parse(bytes) else {
            panic!("unparseable record of {} bytes", bytes.len());
        };
        assert_eq!(r.header.kind, RecordKind::Syscall);
        assert!(
            r.id == libc::SYS_getppid || r.id == libc::SYS_openat,
            "prefilter let syscall {} through",
            r.id
        );
        if r.header.pid == tid {
            if r.id == libc::SYS_getppid && got_getppid.is_none() {
                got_getppid = Some(r);
            }
            if r.id == libc::SYS_openat && r.args[1] == path.as_ptr() as u64 {
                got_openat = Some(r);
            }
        }
        got_getppid.is_some() && got_openat.is_some()
    });
    assert!(
        found,
        "records missing: getppid {got_getppid:?}, openat {got_openat:?}"
    );

    let g = got_getppid.unwrap();
    assert_eq!(g.ret, i64::from(ppid));
    assert_eq!(
        (g.header.tgid, g.header.uid, g.header.gid),
        (tgid, uid, gid)
    );
    assert!(g.header.ktime_ns > 0);
    assert!(!g.comm_str().is_empty());

    let o = got_openat.unwrap();
    assert_eq!(o.ret, -i64::from(libc::ENOENT));
    // The dirfd is an int: the register holds it zero-extended.
    assert_eq!(o.args[0] as i32, libc::AT_FDCWD);
    assert_eq!(o.args[1], path.as_ptr() as u64);
    assert_eq!(
        o.args[2] as i32 & (libc::O_CLOEXEC | libc::O_ACCMODE),
        libc::O_RDONLY | libc::O_CLOEXEC
    );
    assert!(o.header.ktime_ns >= g.header.ktime_ns);
    assert_eq!(loaded.per_cpu_sum(DROPS_MAP, 0).unwrap(), 0);
}

#[test]
fn tp_btf_sys_exit_records_syscalls() {
    records_syscalls(Flavor::TpBtf);
}

#[test]
fn raw_tracepoint_sys_exit_records_syscalls() {
    records_syscalls(Flavor::RawTracepoint);
}

#[test]
fn prefilter_with_empty_interest_emits_nothing() {
    let Some(mut loaded) = attach_sys_exit(Flavor::TpBtf, &[], 1 << 16) else {
        return;
    };
    let mut ring = loaded.take_ring(EVENTS_MAP).unwrap();
    for _ in 0..200 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    let _ = std::fs::metadata("/tmp");
    std::thread::sleep(Duration::from_millis(100));
    // Nothing at all may arrive: the program sees every syscall of the
    // machine, and none is wanted.
    assert_eq!(ring.drain(|_| {}), 0);
    assert_eq!(loaded.per_cpu_sum(DROPS_MAP, 0).unwrap(), 0);
}

#[test]
fn prefilter_passes_only_wanted_syscalls() {
    let Some(mut loaded) = attach_sys_exit(Flavor::TpBtf, &[libc::SYS_getppid], 1 << 20) else {
        return;
    };
    let mut ring = loaded.take_ring(EVENTS_MAP).unwrap();
    let tid = gettid();
    for _ in 0..10 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
        let _ = std::fs::metadata("/tmp");
    }
    let mut mine = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(200) {
        ring.drain(|bytes| {
            let r = SyscallRecord::parse(bytes).unwrap();
            assert_eq!(r.id, libc::SYS_getppid, "unwanted syscall passed");
            if r.header.pid == tid {
                mine += 1;
            }
        });
        std::thread::sleep(POLL);
    }
    assert_eq!(mine, 10);
}

#[test]
fn full_ring_counts_drops() {
    // The smallest ring (one page) holds about 30 records of 128 bytes.
    let Some(mut loaded) = attach_sys_exit(Flavor::TpBtf, &[libc::SYS_getppid], 4096) else {
        return;
    };
    let mut ring = loaded.take_ring(EVENTS_MAP).unwrap();
    for _ in 0..1000 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    let drops = loaded.per_cpu_sum(DROPS_MAP, 0).unwrap();
    let kept = ring.drain(|_| {});
    assert!(kept > 0 && kept < 100, "kept {kept}");
    assert!(drops >= 1000 - kept as u64, "drops {drops}, kept {kept}");
}

#[test]
fn process_lifecycle_records() {
    let object = generate(Flavor::TpBtf, true, 1 << 20);
    let Some(mut loaded) = open_or_skip(&object) else {
        return;
    };
    for event in [
        programs::ProcEvent::Fork,
        programs::ProcEvent::Exec,
        programs::ProcEvent::Exit,
    ] {
        loaded.attach(event.program_name()).unwrap();
    }
    let mut ring = loaded.take_ring(EVENTS_MAP).unwrap();
    let tgid = std::process::id();
    let status = std::process::Command::new("/bin/false").status().unwrap();
    assert_eq!(status.code(), Some(1));
    // `status` reaped the child, so its id is known only through the records:
    // find the fork whose parent is this process, then its exec and exit.
    let (mut fork, mut exec, mut exit) =
        (None::<ProcRecord>, None::<ProcRecord>, None::<ProcRecord>);
    let found = ring.poll_until(WAIT, POLL, |bytes| {
        let r = ProcRecord::parse(bytes).unwrap();
        match r.header.kind {
            RecordKind::Fork if r.header.tgid == tgid && fork.is_none() => fork = Some(r),
            RecordKind::Exec if r.comm_str() == "false" && Some(r.tgid) == fork.map(|f| f.pid) => {
                exec = Some(r);
            }
            RecordKind::Exit if exec.is_some() && Some(r.pid) == fork.map(|f| f.pid) => {
                exit = Some(r);
            }
            _ => {}
        }
        exit.is_some()
    });
    assert!(found, "fork {fork:?} exec {exec:?} exit {exit:?}");
    let (fork, exec, exit) = (fork.unwrap(), exec.unwrap(), exit.unwrap());
    // The forking task is the current task of the fork record.
    assert_eq!(fork.extra as u32, fork.header.pid);
    assert_eq!(
        fork.pid, fork.tgid,
        "a new process's first thread leads its group"
    );
    assert_eq!(exec.pid, fork.pid);
    assert_eq!(exec.header.tgid, fork.pid);
    // exit_code holds the wait status: exit(1) is 1 << 8.
    assert_eq!(exit.extra, 1 << 8);
    assert_eq!(exit.comm_str(), "false");
}

#[test]
fn verifier_rejection_names_program_and_carries_log() {
    // Returns without setting R0: the verifier answers "R0 !read_ok".
    let mut b = ProgramBuilder::new();
    b.exit();
    // The builder's own check catches this; skip it so the verifier sees it.
    let mut checked = ProgramBuilder::new();
    checked.exit();
    assert_eq!(
        checked.finish(),
        Err(AsmError::UndefinedRead { at: 0, reg: 0 })
    );
    let bad = b.finish_unchecked().unwrap();
    let mut ob = ObjectBuilder::new();
    ob.program("lanner_bad", AttachPoint::raw_tracepoint("sys_exit"), bad);
    let object = ob.emit().unwrap();
    if !kernel_ready() {
        return;
    }
    let mut loaded = Loaded::open(&object).unwrap();
    let err = loaded.load_program("lanner_bad").unwrap_err();
    let LoaderError::Verifier {
        ref program,
        ref verifier_log,
        ..
    } = err
    else {
        panic!("expected a verifier error, got {err}");
    };
    assert_eq!(program, "lanner_bad");
    assert!(verifier_log.contains("R0 !read_ok"), "log: {verifier_log}");
    let shown = err.to_string();
    assert!(
        shown.contains("lanner_bad") && shown.contains("R0 !read_ok"),
        "{shown}"
    );

    // A map lookup used without a NULL check. (A hash map: since 6.13 the
    // verifier knows a constant in-range key into an array cannot miss.)
    let mut b = ProgramBuilder::new();
    b.st(Size::W, Reg::R10, -4, 0)
        .stack_ptr(Reg::R2, -4)
        .ld_map(Reg::R1, "counts")
        .call(Helper::MapLookupElem)
        .ldx(Size::DW, Reg::R1, Reg::R0, 0)
        .ret(0);
    let mut ob = ObjectBuilder::new();
    ob.map(MapDef::hash("counts", 4, 8, 1)).program(
        "lanner_nonull",
        AttachPoint::tp_btf("sys_exit"),
        b.finish().unwrap(),
    );
    let mut loaded = Loaded::open(&ob.emit().unwrap()).unwrap();
    match loaded.load_program("lanner_nonull") {
        Err(LoaderError::Verifier {
            program,
            verifier_log,
            ..
        }) => {
            assert_eq!(program, "lanner_nonull");
            assert!(
                verifier_log.contains("map_value_or_null"),
                "log: {verifier_log}"
            );
        }
        other => panic!("expected a verifier error, got {other:?}"),
    }
}

#[test]
fn bounded_loop_runs_in_the_kernel() {
    // Sums 0..10 with a backward jump and stores the result in out[0] on
    // every syscall exit.
    let mut b = ProgramBuilder::new();
    let done = b.new_label();
    b.mov64_imm(Reg::R6, 0);
    b.bounded_loop(Reg::R7, 10, |b, _| {
        b.add64_reg(Reg::R6, Reg::R7);
    });
    b.st(Size::W, Reg::R10, -4, 0)
        .stack_ptr(Reg::R2, -4)
        .ld_map(Reg::R1, "out")
        .call(Helper::MapLookupElem)
        .jmp_imm(JmpOp::Eq, Reg::R0, 0, done)
        .stx(Size::DW, Reg::R0, 0, Reg::R6)
        .bind(done)
        .ret(0);
    let mut ob = ObjectBuilder::new();
    ob.map(MapDef::array("out", 8, 1)).program(
        "lanner_loop",
        AttachPoint::raw_tracepoint("sys_exit"),
        b.finish().unwrap(),
    );
    let Some(mut loaded) = open_or_skip(&ob.emit().unwrap()) else {
        return;
    };
    loaded.attach("lanner_loop").unwrap();
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() };
    assert_eq!(loaded.get_array::<u64>("out", 0).unwrap(), 45);
}

#[test]
fn bpf_loop_callback_runs_in_the_kernel() {
    // main: acc = 0; n = bpf_loop(10, add_index, &acc, 0); out[0] = { acc, n }.
    let mut b = ProgramBuilder::new();
    let done = b.new_label();
    b.st(Size::DW, Reg::R10, -8, 0)
        .mov64_imm(Reg::R1, 10)
        .ld_func(Reg::R2, "add_index")
        .stack_ptr(Reg::R3, -8)
        .mov64_imm(Reg::R4, 0)
        .call(Helper::Loop)
        .mov64_reg(Reg::R6, Reg::R0)
        .st(Size::W, Reg::R10, -12, 0)
        .stack_ptr(Reg::R2, -12)
        .ld_map(Reg::R1, "out")
        .call(Helper::MapLookupElem)
        .jmp_imm(JmpOp::Eq, Reg::R0, 0, done)
        .ldx(Size::DW, Reg::R1, Reg::R10, -8)
        .stx(Size::DW, Reg::R0, 0, Reg::R1)
        .stx(Size::DW, Reg::R0, 8, Reg::R6)
        .bind(done)
        .ret(0);
    let main = b.finish().unwrap();
    // add_index(index, ctx): *(u64 *)ctx += index; return 0 (continue).
    let mut cb = ProgramBuilder::new();
    cb.ldx(Size::DW, Reg::R3, Reg::R2, 0)
        .add64_reg(Reg::R3, Reg::R1)
        .stx(Size::DW, Reg::R2, 0, Reg::R3)
        .ret(0);
    let mut ob = ObjectBuilder::new();
    ob.map(MapDef::array("out", 16, 1))
        .function("add_index", cb.finish_function().unwrap())
        .program(
            "lanner_bpfloop",
            AttachPoint::raw_tracepoint("sys_exit"),
            main,
        );
    let Some(mut loaded) = open_or_skip(&ob.emit().unwrap()) else {
        return;
    };
    loaded.attach("lanner_bpfloop").unwrap();
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() };
    assert_eq!(loaded.get_array::<[u64; 2]>("out", 0).unwrap(), [45, 10]);
}

#[test]
fn bpf_to_bpf_call_runs_in_the_kernel() {
    // main: out[0] = double(21), through a bpf-to-bpf call into `.text`.
    let mut b = ProgramBuilder::new();
    let done = b.new_label();
    b.mov64_imm(Reg::R1, 21)
        .call_func("double")
        .mov64_reg(Reg::R6, Reg::R0)
        .st(Size::W, Reg::R10, -4, 0)
        .stack_ptr(Reg::R2, -4)
        .ld_map(Reg::R1, "out")
        .call(Helper::MapLookupElem)
        .jmp_imm(JmpOp::Eq, Reg::R0, 0, done)
        .stx(Size::DW, Reg::R0, 0, Reg::R6)
        .bind(done)
        .ret(0);
    let mut double = ProgramBuilder::new();
    double
        .mov64_reg(Reg::R0, Reg::R1)
        .add64_reg(Reg::R0, Reg::R1)
        .exit();
    let mut ob = ObjectBuilder::new();
    ob.map(MapDef::array("out", 8, 1))
        .function("double", double.finish_function().unwrap())
        .program(
            "lanner_call",
            AttachPoint::tp_btf("sys_exit"),
            b.finish().unwrap(),
        );
    let Some(mut loaded) = open_or_skip(&ob.emit().unwrap()) else {
        return;
    };
    loaded.attach("lanner_call").unwrap();
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() };
    assert_eq!(loaded.get_array::<u64>("out", 0).unwrap(), 42);
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[test]
fn probe_prefilter_changes_at_run_time() {
    use lanner_ebpf::probe::Probe;
    use lanner_ebpf::programs::Record;

    let opts = ObjectOptions {
        flavor: Flavor::TpBtf,
        proc_events: false,
        ring_bytes: 1 << 20,
    };
    let getppid = libc::SYS_getppid as u32;
    if !kernel_ready() {
        return;
    }
    let mut probe = Probe::start(opts, &[getppid]).unwrap_or_else(|e| panic!("{e}"));
    let tid = gettid();
    let mine = |probe: &mut Probe, id: i64| {
        let mut n = 0;
        probe.drain(|r| {
            if let Record::Syscall(s) = r
                && s.header.pid == tid
                && s.id == id
            {
                n += 1;
            }
        });
        n
    };
    for _ in 0..5 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(mine(&mut probe, libc::SYS_getppid), 5);

    probe.want(getppid, false).unwrap();
    let t0 = monotonic_ns();
    for _ in 0..5 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    std::thread::sleep(Duration::from_millis(20));
    let mut late = 0;
    probe.drain(|r| {
        if let Record::Syscall(s) = r
            && s.header.pid == tid
            && s.header.ktime_ns > t0
        {
            late += 1;
        }
    });
    assert_eq!(late, 0, "getppid passed after being unwanted");
    assert!(matches!(
        probe.want(MAX, true),
        Err(lanner_ebpf::probe::ProbeError::SyscallOutOfRange { .. })
    ));
    assert_eq!(probe.malformed(), 0);
    assert_eq!(probe.drops().unwrap(), 0);
}

const MAX: u32 = programs::MAX_SYSCALLS;

#[test]
fn user_string_and_btf_task_reads_at_sys_exit() {
    // On this thread's openat: out[0] = { path read with probe_read_user_str
    // from the second argument register, its length, current->tgid read
    // through bpf_get_current_task_btf }.
    let btf = kernel_btf();
    let regs = PtRegsLayout::from_btf(&btf).unwrap();
    let task = programs::TaskLayout::from_btf(&btf).unwrap();
    let tid = gettid();
    let mut b = ProgramBuilder::new();
    let out = b.new_label();
    b.ldx(Size::DW, Reg::R7, Reg::R1, 0)
        .ldx(Size::DW, Reg::R1, Reg::R7, regs.orig_ax)
        .jmp_imm(JmpOp::Ne, Reg::R1, libc::SYS_openat as i32, out)
        .call(Helper::GetCurrentPidTgid)
        .jmp32_imm(JmpOp::Ne, Reg::R0, tid as i32, out)
        .st(Size::W, Reg::R10, -4, 0)
        .stack_ptr(Reg::R2, -4)
        .ld_map(Reg::R1, "out")
        .call(Helper::MapLookupElem)
        .jmp_imm(JmpOp::Eq, Reg::R0, 0, out)
        .mov64_reg(Reg::R9, Reg::R0)
        .mov64_reg(Reg::R1, Reg::R9)
        .mov64_imm(Reg::R2, 256)
        .ldx(Size::DW, Reg::R3, Reg::R7, regs.args[1])
        .call(Helper::ProbeReadUserStr)
        .stx(Size::DW, Reg::R9, 256, Reg::R0)
        .call(Helper::GetCurrentTaskBtf)
        .ldx(Size::W, Reg::R1, Reg::R0, task.tgid)
        .stx(Size::DW, Reg::R9, 264, Reg::R1)
        .bind(out)
        .ret(0);
    let mut ob = ObjectBuilder::new();
    ob.map(MapDef::array("out", 272, 1)).program(
        "lanner_strcap",
        AttachPoint::tp_btf("sys_exit"),
        b.finish().unwrap(),
    );
    let Some(mut loaded) = open_or_skip(&ob.emit().unwrap()) else {
        return;
    };
    loaded.attach("lanner_strcap").unwrap();
    let path = format!("/tmp/lanner-ebpf-strcap-{tid}");
    let _ = std::fs::File::open(&path);
    let value = loaded.get_array::<[u8; 272]>("out", 0).unwrap();
    let len = u64::from_le_bytes(value[256..264].try_into().unwrap());
    let tgid = u64::from_le_bytes(value[264..272].try_into().unwrap());
    // The length counts the terminating NUL.
    assert_eq!(len, path.len() as u64 + 1);
    assert_eq!(&value[..path.len()], path.as_bytes());
    assert_eq!(tgid, u64::from(std::process::id()));
}
