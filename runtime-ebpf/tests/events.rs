//! Live events: real syscalls made by this test, recorded by the kernel
//! programs, converted into driver events and decoded with the event model the
//! state engine uses.
//!
//! They need root. Outside CI a machine that cannot load eBPF skips them with
//! a message; with `CI=true` that is a failure, so CI can never go green
//! without having run them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::ffi::CString;
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use lanner_ebpf::btf::Btf;
use lanner_ebpf::convert::Converter;
use lanner_ebpf::loader::Loaded;
use lanner_ebpf::probe::Probe;
use lanner_ebpf::programs::{self, Flavor, ObjectOptions};
use lanner_event::table::TableVersion;
use lanner_event::{Event, OwnedEvent, ParamValue, SockAddr, SockTuple};

mod common;
use common::kernel_ready;

fn gettid() -> i64 {
    // SAFETY: gettid has no preconditions.
    i64::from(unsafe { libc::gettid() })
}

fn val<'a>(ev: &Event<'a>, name: &str) -> ParamValue<'a> {
    ev.param_by_name(name)
        .unwrap_or_else(|| panic!("no parameter {name}"))
        .decode()
        .unwrap()
}

fn flag_names(ev: &Event<'_>, name: &str) -> Vec<&'static str> {
    let (bits, table) = match val(ev, name) {
        ParamValue::Flags {
            bits,
            table: Some(t),
        } => (bits, t),
        ParamValue::Mode(bits) => (bits, "chmod_mode"),
        other => panic!("{name} is not flags: {other:?}"),
    };
    TableVersion::Current
        .flag_table(table)
        .unwrap()
        .decompose(bits)
        .collect()
}

fn name_of(ev: &Event<'_>) -> &'static str {
    ev.name_in(TableVersion::Current).unwrap_or("?")
}

fn path_of<'a>(ev: &Event<'a>, name: &str) -> Option<&'a [u8]> {
    match val(ev, name) {
        ParamValue::Path(p) | ParamValue::Str(p) | ParamValue::RelPath { path: p, .. } => Some(p),
        _ => None,
    }
}

#[test]
fn live_syscalls_become_events() {
    if !kernel_ready() {
        return;
    }
    let wanted = [
        libc::SYS_openat,
        libc::SYS_unlink,
        libc::SYS_chmod,
        libc::SYS_connect,
        libc::SYS_dup2,
        libc::SYS_execve,
        libc::SYS_clone,
        libc::SYS_clone3,
        libc::SYS_vfork,
        libc::SYS_pipe2,
        libc::SYS_chdir,
        libc::SYS_fcntl,
    ];
    let opts = ObjectOptions {
        flavor: Flavor::TpBtf,
        proc_events: true,
        ring_bytes: 1 << 22,
    };
    let ids: Vec<u32> = wanted.iter().map(|&s| u32::try_from(s).unwrap()).collect();
    let mut probe = Probe::start(opts, &ids).unwrap_or_else(|e| panic!("{e}"));
    let conv = Converter::new();
    let tid = gettid();
    let unique = format!(
        "{}-{tid}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );

    // openat(O_WRONLY|O_CREAT), chmod 04755, unlink.
    let path = format!("/tmp/lanner-ebpf-ev-{unique}");
    let cpath = CString::new(path.clone()).unwrap();
    // SAFETY: cpath is a valid NUL-terminated string.
    let fd = unsafe {
        libc::openat(
            libc::AT_FDCWD,
            cpath.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
            0o600,
        )
    };
    assert!(fd >= 0, "{}", std::io::Error::last_os_error());
    let (file_ino, file_dev) = {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(&path).unwrap();
        (m.ino(), m.dev())
    };
    // SAFETY: fd was just opened by this test.
    unsafe { libc::close(fd) };
    // SAFETY: cpath is a valid NUL-terminated string.
    assert_eq!(unsafe { libc::chmod(cpath.as_ptr(), 0o4755) }, 0);
    // SAFETY: cpath is a valid NUL-terminated string.
    assert_eq!(unsafe { libc::unlink(cpath.as_ptr()) }, 0);

    // connect to a loopback listener, then dup2 the socket.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    let sock = stream.as_raw_fd();
    let high = 700 + (std::process::id() % 200) as i32;
    // SAFETY: sock is an open fd; `high` is closed again below.
    let dup = unsafe { libc::dup2(sock, high) };
    assert_eq!(dup, high);
    // SAFETY: `high` was created by the dup2 above.
    unsafe { libc::close(high) };

    // pipe2, a chdir to where the process already is (other tests run in
    // this process), fcntl(F_DUPFD_CLOEXEC).
    let mut pipe = [0i32; 2];
    // SAFETY: `pipe` has room for the two descriptors.
    assert_eq!(
        unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) },
        0
    );
    let cwd = std::env::current_dir().unwrap();
    let ccwd = CString::new(cwd.to_str().unwrap()).unwrap();
    // SAFETY: ccwd is a valid NUL-terminated string.
    assert_eq!(unsafe { libc::chdir(ccwd.as_ptr()) }, 0);
    // SAFETY: pipe[0] is open; the duplicate is closed below.
    let dupfd = unsafe { libc::fcntl(pipe[0], libc::F_DUPFD_CLOEXEC, 500) };
    assert!(dupfd >= 500);
    // SAFETY: the three descriptors were opened above.
    unsafe {
        libc::close(dupfd);
        libc::close(pipe[0]);
        libc::close(pipe[1]);
    }

    // A successful exec (argv read from the new mm) and a failed one (argv
    // read from the caller's pointer array).
    let arg = format!("lanner-arg-{unique}");
    let status = std::process::Command::new("/bin/true")
        .arg(&arg)
        .arg("second")
        .status()
        .unwrap();
    assert!(status.success());
    let missing = format!("/nonexistent/lanner-{unique}");
    assert!(
        std::process::Command::new(&missing)
            .arg("a1")
            .spawn()
            .is_err()
    );

    let mut buf = Vec::new();
    let (mut open, mut chmod, mut unlink, mut connect, mut dup2) = (None, None, None, None, None);
    let (mut exec_ok, mut exec_fail, mut exit) = (None, None, None::<OwnedEvent>);
    let (mut pipe2, mut chdir, mut fcntl) = (None, None, None);
    let mut clone_tids = Vec::new();
    let mut child_clones = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        probe.drain_events(&conv, &mut buf, |ev| {
            let mine = ev.tid() == tid;
            match name_of(ev) {
                "openat" if mine && path_of(ev, "name") == Some(path.as_bytes()) => {
                    open = Some(ev.to_owned_event());
                }
                "chmod" if mine && path_of(ev, "filename") == Some(path.as_bytes()) => {
                    chmod = Some(ev.to_owned_event());
                }
                "unlink" if mine && path_of(ev, "path") == Some(path.as_bytes()) => {
                    unlink = Some(ev.to_owned_event());
                }
                "connect" if mine && val(ev, "fd") == ParamValue::Fd(i64::from(sock)) => {
                    connect = Some(ev.to_owned_event());
                }
                "pipe2" if mine && val(ev, "fd1") == ParamValue::Fd(i64::from(pipe[0])) => {
                    pipe2 = Some(ev.to_owned_event());
                }
                "chdir" if mine && path_of(ev, "path") == Some(ccwd.as_bytes()) => {
                    chdir = Some(ev.to_owned_event());
                }
                "fcntl" if mine && val(ev, "res") == ParamValue::Fd(i64::from(dupfd)) => {
                    fcntl = Some(ev.to_owned_event());
                }
                "dup2" if mine && val(ev, "newfd") == ParamValue::Fd(i64::from(high)) => {
                    dup2 = Some(ev.to_owned_event());
                }
                "execve" => match val(ev, "args") {
                    ParamValue::Bytes(a) if a.starts_with(arg.as_bytes()) => {
                        exec_ok = Some(ev.to_owned_event());
                    }
                    _ if path_of(ev, "filename") == Some(missing.as_bytes()) => {
                        exec_fail = Some(ev.to_owned_event());
                    }
                    _ => {}
                },
                "clone" | "clone3" | "vfork" if mine => {
                    if let ParamValue::Pid(child) = val(ev, "res") {
                        clone_tids.push(child);
                    }
                }
                "clone" | "clone3" | "vfork" if val(ev, "ptid") == ParamValue::Pid(tid) => {
                    child_clones.push(ev.to_owned_event());
                }
                "procexit" => {
                    let child = exec_ok.as_ref().map(|s| s.as_event().tid());
                    if Some(ev.tid()) == child {
                        exit = Some(ev.to_owned_event());
                    }
                }
                _ => {}
            }
        });
        let done = [
            &open, &chmod, &unlink, &connect, &dup2, &exec_ok, &exec_fail,
        ]
        .iter()
        .all(|s| s.is_some())
            && exit.is_some();
        if done || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(probe.malformed(), 0);
    assert_eq!(probe.drops().unwrap(), 0);

    let seen = open.expect("openat event");
    let ev = seen.as_event();
    assert_eq!(ev.event_type(), 307);
    assert_eq!(val(&ev, "fd"), ParamValue::Fd(i64::from(fd)));
    assert_eq!(val(&ev, "dirfd"), ParamValue::Fd(-100));
    // The kernel's file says the open created it.
    assert_eq!(
        flag_names(&ev, "flags"),
        ["O_CREAT", "O_WRONLY", "O_CLOEXEC", "O_F_CREATED"]
    );
    assert_eq!(val(&ev, "mode"), ParamValue::Uint32(0o600));
    // Device and inode as stat(2) reports them.
    assert_eq!(val(&ev, "ino"), ParamValue::Uint64(file_ino));
    assert_eq!(val(&ev, "dev"), ParamValue::Uint32(file_dev as u32));
    // Event time is wall-clock time.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(
        ev.ts() < now && now - ev.ts() < 60_000_000_000,
        "ts {}",
        ev.ts()
    );

    let seen = chmod.expect("chmod event");
    let ev = seen.as_event();
    assert_eq!(val(&ev, "res"), ParamValue::Errno(0));
    assert_eq!(val(&ev, "mode"), ParamValue::Mode(0o4755));
    assert_eq!(
        flag_names(&ev, "mode"),
        [
            "S_IXOTH", "S_IROTH", "S_IXGRP", "S_IRGRP", "S_IXUSR", "S_IWUSR", "S_IRUSR", "S_ISUID"
        ]
    );

    let seen = unlink.expect("unlink event");
    assert_eq!(val(&seen.as_event(), "res"), ParamValue::Errno(0));

    let seen = connect.expect("connect event");
    let ev = seen.as_event();
    assert_eq!(val(&ev, "res"), ParamValue::Errno(0));
    assert_eq!(
        val(&ev, "addr"),
        ParamValue::SockAddr(SockAddr::Inet(Ipv4Addr::LOCALHOST, port))
    );
    // Both ends, the local one read from the kernel socket.
    let local_port = stream.local_addr().unwrap().port();
    assert_eq!(
        val(&ev, "tuple"),
        ParamValue::SockTuple(SockTuple::Inet {
            sip: Ipv4Addr::LOCALHOST,
            sport: local_port,
            dip: Ipv4Addr::LOCALHOST,
            dport: port
        })
    );

    let seen = pipe2.expect("pipe2 event");
    let ev = seen.as_event();
    assert_eq!(val(&ev, "fd2"), ParamValue::Fd(i64::from(pipe[1])));
    assert_eq!(flag_names(&ev, "flags"), ["O_CLOEXEC"]);
    let seen = chdir.expect("chdir event");
    assert_eq!(val(&seen.as_event(), "res"), ParamValue::Errno(0));
    let seen = fcntl.expect("fcntl event");
    let ev = seen.as_event();
    assert_eq!(val(&ev, "fd"), ParamValue::Fd(i64::from(pipe[0])));
    assert!(
        matches!(val(&ev, "cmd"), ParamValue::Enum { value, table: Some(t) }
        if TableVersion::Current.flag_table(t).unwrap().enum_name(value) == Some("F_DUPFD_CLOEXEC"))
    );
    assert_eq!(val(&ev, "arg"), ParamValue::Uint64(500));

    let seen = dup2.expect("dup2 event");
    let ev = seen.as_event();
    assert_eq!(val(&ev, "res"), ParamValue::Fd(i64::from(high)));
    assert_eq!(val(&ev, "oldfd"), ParamValue::Fd(i64::from(sock)));

    let seen = exec_ok.expect("execve event of /bin/true");
    let ev = seen.as_event();
    assert_eq!(ev.event_type(), 293);
    assert_eq!(val(&ev, "res"), ParamValue::Errno(0));
    assert_eq!(val(&ev, "filename"), ParamValue::Path(b"/bin/true"));
    assert_eq!(val(&ev, "exe"), ParamValue::Str(b"/bin/true"));
    let mut args = arg.as_bytes().to_vec();
    args.extend_from_slice(b"\0second\0");
    assert_eq!(val(&ev, "args"), ParamValue::Bytes(&args));
    assert_eq!(val(&ev, "comm"), ParamValue::Str(b"true"));
    assert_eq!(val(&ev, "pid"), ParamValue::Pid(ev.tid()));
    // The exec'ing child's parent is this process's thread that spawned it.
    assert_eq!(val(&ev, "ptid"), ParamValue::Pid(tid));
    // Its terminal and login uid, as /proc reports them for this process
    // (the child inherits both).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let tty_nr: u32 = after_comm.split(' ').nth(4).unwrap().parse().unwrap();
    assert_eq!(val(&ev, "tty"), ParamValue::Uint32(tty_nr));
    let loginuid: u32 = std::fs::read_to_string("/proc/self/loginuid")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(val(&ev, "loginuid"), ParamValue::Uid(loginuid));
    // Its cgroups, as the kernel walked them, match what /proc says of this
    // process (the child has not moved).
    let ParamValue::Bytes(cgroups) = val(&ev, "cgroups") else {
        panic!("no cgroups");
    };
    let cgroups = String::from_utf8_lossy(cgroups).into_owned();
    let entries: Vec<&str> = cgroups.split('\0').filter(|e| !e.is_empty()).collect();
    let known = std::fs::read_to_string("/proc/cgroups").unwrap();
    let known = lanner_ebpf::convert::cgroup_subsystems(&known);
    assert_eq!(entries.len(), known.len(), "{entries:?}");
    let mine = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mut checked = 0;
    for line in mine.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, names, path) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        for name in names.split(',').filter(|n| known.iter().any(|k| k == n)) {
            let want = format!("{name}={path}");
            assert!(
                entries.contains(&want.as_str()),
                "{want} not in {entries:?}"
            );
            checked += 1;
        }
    }
    eprintln!("cgroups checked against /proc/self/cgroup: {checked} ({cgroups:?})");
    assert!(
        clone_tids.contains(&ev.tid()),
        "the exec'ing child {} is one this thread cloned ({clone_tids:?})",
        ev.tid()
    );

    // The child's own clone exit: result 0, its ids, its parent.
    let child = child_clones
        .iter()
        .map(OwnedEvent::as_event)
        .find(|c| c.tid() == ev.tid())
        .expect("the child's clone exit event");
    assert_eq!(val(&child, "res"), ParamValue::Pid(0));
    assert_eq!(val(&child, "pid"), ParamValue::Pid(child.tid()));
    // This machine's test processes run in the initial pid namespace only
    // if vtid equals tid; either way vtid is a positive id.
    assert!(matches!(val(&child, "vtid"), ParamValue::Pid(v) if v > 0));
    assert!(flag_names(&child, "flags").contains(&"CLONE_VM"));

    let seen = exec_fail.expect("failed execve event");
    let ev = seen.as_event();
    assert_eq!(val(&ev, "res"), ParamValue::Errno(-i64::from(libc::ENOENT)));
    assert_eq!(val(&ev, "exe"), ParamValue::Str(missing.as_bytes()));
    assert_eq!(val(&ev, "args"), ParamValue::Bytes(b"a1\0"));

    let seen = exit.expect("procexit of the exec'd child");
    let ev = seen.as_event();
    assert_eq!(val(&ev, "status"), ParamValue::Errno(0));
    assert_eq!(val(&ev, "ret"), ParamValue::Errno(0));

    drop(stream);
    let mut s = listener.accept().unwrap().0;
    let _ = s.read(&mut [0u8; 1]);
}

#[test]
fn accept_and_bind_sockaddrs() {
    if !kernel_ready() {
        return;
    }
    let opts = ObjectOptions {
        flavor: Flavor::RawTracepoint,
        proc_events: false,
        ring_bytes: 1 << 20,
    };
    let ids = [libc::SYS_bind, libc::SYS_accept4, libc::SYS_accept].map(|s| s as u32);
    let mut probe = Probe::start(opts, &ids).unwrap_or_else(|e| panic!("{e}"));
    let conv = Converter::new();
    let tid = gettid();
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    let client_port = client.local_addr().unwrap().port();
    let (server, _) = listener.accept().unwrap();
    let mut buf = Vec::new();
    let (mut bind, mut accept) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(3);
    while (bind.is_none() || accept.is_none()) && Instant::now() < deadline {
        probe.drain_events(&conv, &mut buf, |ev| {
            if ev.tid() != tid {
                return;
            }
            match name_of(ev) {
                "bind" => bind = Some(ev.to_owned_event()),
                "accept" | "accept4" => accept = Some(ev.to_owned_event()),
                _ => {}
            }
        });
        std::thread::sleep(Duration::from_millis(2));
    }
    let seen = bind.expect("bind event");
    let ev = seen.as_event();
    assert_eq!(
        val(&ev, "addr"),
        ParamValue::SockAddr(SockAddr::Inet(Ipv4Addr::LOCALHOST, 0))
    );
    let seen = accept.expect("accept event");
    let ev = seen.as_event();
    assert_eq!(
        val(&ev, "fd"),
        ParamValue::Fd(i64::from(server.as_raw_fd()))
    );
    assert_eq!(
        val(&ev, "tuple"),
        ParamValue::SockTuple(SockTuple::Inet {
            sip: Ipv4Addr::LOCALHOST,
            sport: client_port,
            dip: Ipv4Addr::LOCALHOST,
            dport: port
        })
    );
}

/// Prints the verifier's instruction counts for the generated programs and
/// checks they stay far from the one-million limit.
#[test]
fn verifier_instruction_counts() {
    if !kernel_ready() {
        return;
    }
    let btf = Btf::from_sys_fs().unwrap();
    for flavor in [Flavor::TpBtf, Flavor::RawTracepoint] {
        let object = programs::generate(
            &btf,
            ObjectOptions {
                flavor,
                proc_events: true,
                ring_bytes: 1 << 16,
            },
        )
        .unwrap();
        let mut loaded = Loaded::open(&object).unwrap();
        loaded.load_all().unwrap_or_else(|e| panic!("{e}"));
        for name in loaded
            .program_names()
            .map(str::to_owned)
            .collect::<Vec<_>>()
        {
            let n = loaded.verified_instructions(&name).unwrap();
            eprintln!("{flavor:?} {name}: {n:?} instructions verified");
            if let Some(n) = n {
                assert!(n < 200_000, "{name}: {n}");
            }
        }
    }
}

/// A 32-bit syscall (here `int 0x80` from this 64-bit process) numbers its
/// calls differently: ia32 20 is getpid, x86-64 20 is writev. The program
/// drops it rather than report a writev that never happened.
#[test]
#[cfg(target_arch = "x86_64")]
fn ia32_syscalls_are_not_misread() {
    if !kernel_ready() {
        return;
    }
    for flavor in [Flavor::TpBtf, Flavor::RawTracepoint] {
        let opts = ObjectOptions {
            flavor,
            proc_events: false,
            ring_bytes: 1 << 20,
        };
        let mut probe =
            Probe::start(opts, &[libc::SYS_writev as u32]).unwrap_or_else(|e| panic!("{e}"));
        let tid = gettid();
        let ia32_pid: i32;
        // SAFETY: `int 0x80` with eax = 20 is the ia32 getpid, which reads
        // no memory; the entry zeroes r8–r11, declared clobbered.
        unsafe {
            std::arch::asm!(
                "int 0x80",
                inlateout("eax") 20 => ia32_pid,
                out("r8") _, out("r9") _, out("r10") _, out("r11") _,
                options(nostack),
            );
        }
        assert_eq!(ia32_pid as u32, std::process::id(), "ia32 getpid ran");
        // A real writev (of nothing) must still be seen.
        // SAFETY: a zero-length iovec array is valid for writev.
        let n = unsafe { libc::writev(1, std::ptr::null(), 0) };
        assert_eq!(n, 0);
        std::thread::sleep(Duration::from_millis(50));
        let mut mine = Vec::new();
        probe.drain(|r| {
            if let lanner_ebpf::programs::Record::Syscall(s) = r
                && i64::from(s.header.pid) == tid
            {
                mine.push((s.id, s.ret));
            }
        });
        assert_eq!(mine, [(libc::SYS_writev, 0)], "{flavor:?}");
    }
}

/// A process with a controlling terminal (a new session on a pseudo
/// terminal) execs: its execve event carries the terminal, encoded as
/// /proc's `tty_nr`.
#[test]
fn execve_reports_the_controlling_terminal() {
    use std::os::unix::process::CommandExt;

    if !kernel_ready() {
        return;
    }
    let opts = ObjectOptions {
        flavor: Flavor::TpBtf,
        proc_events: false,
        ring_bytes: 1 << 20,
    };
    let mut probe =
        Probe::start(opts, &[libc::SYS_execve as u32]).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: plain libc calls on a descriptor this test owns.
    let (master, pts) = unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(master >= 0);
        assert_eq!(libc::grantpt(master), 0);
        assert_eq!(libc::unlockpt(master), 0);
        let mut index: libc::c_uint = 0;
        assert_eq!(libc::ioctl(master, libc::TIOCGPTN, &mut index), 0);
        (master, index)
    };
    let slave = CString::new(format!("/dev/pts/{pts}")).unwrap();
    let arg = format!("lanner-tty-{}-{}", std::process::id(), gettid());
    let mut cmd = std::process::Command::new("/bin/true");
    cmd.arg(&arg);
    // SAFETY: setsid and open are async-signal-safe; opening the terminal
    // as a session leader makes it the controlling terminal.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::open(slave.as_ptr(), libc::O_RDWR) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    assert!(cmd.status().unwrap().success());
    let conv = Converter::new();
    let mut buf = Vec::new();
    let mut tty = None;
    let deadline = Instant::now() + Duration::from_secs(3);
    while tty.is_none() && Instant::now() < deadline {
        probe.drain_events(&conv, &mut buf, |ev| {
            if matches!(val(ev, "args"), ParamValue::Bytes(a) if a.starts_with(arg.as_bytes())) {
                tty = match val(ev, "tty") {
                    ParamValue::Uint32(t) => Some(t),
                    other => panic!("tty is {other:?}"),
                };
            }
        });
        std::thread::sleep(Duration::from_millis(2));
    }
    // SAFETY: master was opened above.
    unsafe { libc::close(master) };
    // Unix98 pseudo terminals are major 136 + index / 256.
    let want = ((136 + pts / 256) << 8) | (pts % 256);
    assert_eq!(tty, Some(want));
}

/// The `CapPrm` line of /proc/self/status, as a number.
fn own_cap_permitted() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("CapPrm:")).unwrap();
    u64::from_str_radix(line.trim_start_matches("CapPrm:").trim(), 16).unwrap()
}

/// A successful exec carries what Falco's modern probe reads at exec: the
/// environment, the capability sets, the executable's inode and times and
/// the process group; and the namespace syscalls (unshare, setns,
/// userfaultfd) become events with their flags.
#[test]
fn execve_reports_env_caps_exe_and_group() {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;

    if !kernel_ready() {
        return;
    }
    let opts = ObjectOptions {
        flavor: Flavor::TpBtf,
        proc_events: false,
        ring_bytes: 1 << 20,
    };
    let wanted = [
        libc::SYS_execve as u32,
        libc::SYS_unshare as u32,
        libc::SYS_setns as u32,
        libc::SYS_userfaultfd as u32,
    ];
    let mut probe = Probe::start(opts, &wanted).unwrap_or_else(|e| panic!("{e}"));
    let mark = format!("lanner-env-{}-{}", std::process::id(), gettid());
    let mut cmd = std::process::Command::new("/bin/true");
    cmd.arg(&mark)
        .env_clear()
        .env("LANNER_MARK", &mark)
        .env("LD_PRELOAD", "/nonexistent.so")
        .process_group(0);
    // SAFETY: unshare, open and setns are async-signal-safe; the child
    // changes only its own namespaces.
    unsafe {
        cmd.pre_exec(|| {
            let ns = c"/proc/self/ns/uts";
            if libc::unshare(libc::CLONE_NEWUTS) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let fd = libc::open(ns.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 || libc::setns(fd, libc::CLONE_NEWUTS) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    let child_pid = i64::from(child.id());
    let mut child = child;
    assert!(child.wait().unwrap().success());
    // SAFETY: a plain syscall; the descriptor is closed right away.
    let uffd = unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC) };
    if uffd >= 0 {
        // SAFETY: closing the descriptor just created.
        unsafe { libc::close(uffd as i32) };
    }
    let meta = std::fs::metadata("/bin/true").unwrap();
    let conv = Converter::new();
    let mut buf = Vec::new();
    let mut exec = None;
    let (mut unshare, mut setns, mut userfaultfd) = (None, None, None);
    let me = gettid();
    let deadline = Instant::now() + Duration::from_secs(3);
    while (exec.is_none() || unshare.is_none() || setns.is_none() || userfaultfd.is_none())
        && Instant::now() < deadline
    {
        probe.drain_events(&conv, &mut buf, |ev| match name_of(ev) {
            "execve" if ev.tid() == child_pid => exec = Some(ev.to_owned_event()),
            "unshare" if ev.tid() == child_pid => unshare = Some(flag_names(ev, "flags")),
            "setns" if ev.tid() == child_pid => {
                setns = Some((
                    val(ev, "res") == ParamValue::Errno(0),
                    flag_names(ev, "nstype"),
                ))
            }
            "userfaultfd" if ev.tid() == me => {
                userfaultfd = match val(ev, "res") {
                    ParamValue::Errno(r) => Some(r),
                    other => panic!("userfaultfd res is {other:?}"),
                }
            }
            _ => {}
        });
        std::thread::sleep(Duration::from_millis(2));
    }
    let exec = exec.expect("the child's execve");
    let ev = exec.as_event();
    assert_eq!(
        val(&ev, "env"),
        ParamValue::Bytes(format!("LANNER_MARK={mark}\0LD_PRELOAD=/nonexistent.so\0").as_bytes())
    );
    assert_eq!(
        val(&ev, "args"),
        ParamValue::Bytes(format!("{mark}\0").as_bytes())
    );
    assert_eq!(
        val(&ev, "cap_permitted"),
        ParamValue::Uint64(own_cap_permitted())
    );
    assert_eq!(val(&ev, "exe_ino"), ParamValue::Uint64(meta.ino()));
    let ns = |s: i64, n: i64| (s as u64) * 1_000_000_000 + n as u64;
    assert_eq!(
        val(&ev, "exe_ino_ctime"),
        ParamValue::AbsTime(ns(meta.ctime(), meta.ctime_nsec()))
    );
    assert_eq!(
        val(&ev, "exe_ino_mtime"),
        ParamValue::AbsTime(ns(meta.mtime(), meta.mtime_nsec()))
    );
    // Its own process group, in the host's pid namespace.
    assert_eq!(val(&ev, "pgid"), ParamValue::Pid(child_pid));
    assert_eq!(val(&ev, "vpgid"), ParamValue::Pid(child_pid));
    // Root: CAP_DAC_OVERRIDE makes the executable writable; not a memfd.
    assert_eq!(flag_names(&ev, "flags"), ["EXE_WRITABLE"]);
    assert_eq!(unshare.as_deref(), Some(&["CLONE_NEWUTS"][..]));
    assert_eq!(setns, Some((true, vec!["CLONE_NEWUTS"])));
    assert_eq!(userfaultfd, Some(uffd));
}

/// Runs `exe` in a child that first mounts `lower`, `upper` and `work` as an
/// overlay on `merged` in a mount namespace of its own (so nothing outside
/// the child sees the mount), and returns the child's pid.
fn exec_in_overlay(exe: &str, lower: &str, upper: &str, work: &str, merged: &str) -> i64 {
    use std::os::unix::process::CommandExt;
    let opts = CString::new(format!("lowerdir={lower},upperdir={upper},workdir={work}")).unwrap();
    let target = CString::new(merged).unwrap();
    let mut cmd = std::process::Command::new(exe);
    // SAFETY: unshare and mount are async-signal-safe and the strings were
    // built before the fork; the child changes only its own namespace.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWNS) != 0
                || libc::mount(
                    c"none".as_ptr(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
                || libc::mount(
                    c"overlay".as_ptr(),
                    target.as_ptr(),
                    c"overlay".as_ptr(),
                    0,
                    opts.as_ptr().cast(),
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let pid = i64::from(child.id());
    assert!(child.wait().unwrap().success(), "{exe} in the overlay");
    pid
}

/// The kernel's walk of the working directory fills execve's and clone's
/// `cwd` (through a mount point, as `d_path` would write it), the
/// executable's overlayfs layer is in execve's `flags`, and recvfrom
/// carries the first 80 bytes it received.
#[test]
fn cwd_overlay_layer_and_received_data() {
    use std::os::unix::process::CommandExt;

    if !kernel_ready() {
        return;
    }
    let opts = ObjectOptions {
        flavor: Flavor::TpBtf,
        proc_events: false,
        ring_bytes: 1 << 22,
    };
    let wanted = [
        libc::SYS_execve as u32,
        libc::SYS_clone as u32,
        libc::SYS_clone3 as u32,
        libc::SYS_vfork as u32,
        libc::SYS_recvfrom as u32,
    ];
    let mut probe = Probe::start(opts, &wanted).unwrap_or_else(|e| panic!("{e}"));
    let base = std::env::temp_dir().join(format!("lanner-cwd-{}-{}", std::process::id(), gettid()));
    let nested = base.join("deep/er dir/x");
    std::fs::create_dir_all(&nested).unwrap();
    for d in ["lower", "upper", "work", "merged"] {
        std::fs::create_dir_all(base.join(d)).unwrap();
    }
    std::fs::copy("/bin/true", base.join("lower/lower-true")).unwrap();
    std::fs::copy("/bin/true", base.join("upper/upper-true")).unwrap();
    let canonical = std::fs::canonicalize(&nested).unwrap();

    // An exec in a nested directory, one in /dev/shm (a tmpfs mounted on
    // the root filesystem: the walk crosses the mount).
    let spawn_in = |dir: &std::path::Path| {
        let mut child = std::process::Command::new("/bin/true")
            .current_dir(dir)
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = i64::from(child.id());
        assert!(child.wait().unwrap().success());
        pid
    };
    let in_nested = spawn_in(&nested);
    let in_shm = spawn_in(std::path::Path::new("/dev/shm"));
    let s = |p: &str| base.join(p).display().to_string();
    let (lower, upper, work, merged) = (s("lower"), s("upper"), s("work"), s("merged"));
    let lower_exec = exec_in_overlay(&s("merged/lower-true"), &lower, &upper, &work, &merged);
    let upper_exec = exec_in_overlay(&s("merged/upper-true"), &lower, &upper, &work, &merged);
    let plain_exec = in_nested;

    // 100 bytes over UDP on 127.0.0.1: recvfrom reports the first 80.
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let payload: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(7)).collect();
    tx.send_to(&payload, rx.local_addr().unwrap()).unwrap();
    let mut got = [0u8; 128];
    let mut from: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut from_len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: the buffers outlive the call and their lengths are right.
    let n = unsafe {
        libc::recvfrom(
            rx.as_raw_fd(),
            got.as_mut_ptr().cast(),
            got.len(),
            0,
            (&raw mut from).cast(),
            &mut from_len,
        )
    };
    assert_eq!(n, 100);

    let me = gettid();
    let here = std::env::current_dir().unwrap();
    let conv = Converter::new();
    let mut buf = Vec::new();
    let mut execs = std::collections::BTreeMap::new();
    let mut child_clone_cwd = None;
    let mut data = None;
    let deadline = Instant::now() + Duration::from_secs(3);
    while (execs.len() < 4 || data.is_none() || child_clone_cwd.is_none())
        && Instant::now() < deadline
    {
        probe.drain_events(&conv, &mut buf, |ev| match name_of(ev) {
            "execve" if [in_nested, in_shm, lower_exec, upper_exec].contains(&ev.tid()) => {
                execs.insert(ev.tid(), ev.to_owned_event());
            }
            // The child's own clone exit of a process this test spawned.
            "clone" | "clone3" | "vfork"
                if val(ev, "res") == ParamValue::Pid(0) && ev.tid() == plain_exec =>
            {
                child_clone_cwd = path_of(ev, "cwd").map(<[u8]>::to_vec);
            }
            "recvfrom" if ev.tid() == me => {
                if let ParamValue::Bytes(b) = val(ev, "data") {
                    data = Some(b.to_vec());
                }
            }
            _ => {}
        });
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = std::fs::remove_dir_all(&base);
    let cwd_of = |pid: i64| {
        let ev = execs
            .get(&pid)
            .unwrap_or_else(|| panic!("no execve of {pid}"));
        path_of(&ev.as_event(), "cwd").map(|p| String::from_utf8_lossy(p).into_owned())
    };
    assert_eq!(cwd_of(in_nested).as_deref(), canonical.to_str());
    assert_eq!(cwd_of(in_shm).as_deref(), Some("/dev/shm"));
    // The clone child starts where its parent was, before it changes
    // directory for the exec.
    assert_eq!(
        child_clone_cwd.as_deref(),
        Some(here.as_os_str().as_encoded_bytes())
    );
    let flags_of = |pid: i64| flag_names(&execs[&pid].as_event(), "flags");
    assert_eq!(flags_of(lower_exec), ["EXE_WRITABLE", "EXE_LOWER_LAYER"]);
    assert_eq!(flags_of(upper_exec), ["EXE_WRITABLE", "EXE_UPPER_LAYER"]);
    assert_eq!(flags_of(in_nested), ["EXE_WRITABLE"]);
    assert_eq!(data.as_deref(), Some(&payload[..80]));
}
