//! A snapshot of the running system taken from `/proc` and `/etc`, as libscap's `/proc` scan
//! takes it when Falco starts, so that processes started before the agent have their names,
//! parents, command lines, working directories, users, fds and containers.
//!
//! The snapshot is made of the same typed records a capture holds (process list, fd lists,
//! user list), so the state engine loads it through its ordinary record functions, and a
//! capture writer can store it unchanged:
//!
//! * [`Snapshot::take`] reads everything into owned records; [`OwnedThreadInfo::as_record`],
//!   [`OwnedFdInfo::as_record`] and [`OwnedUserEntry::as_record`] lend them out as the
//!   borrowed [`ThreadInfo`], [`FdInfo`] and [`UserEntry`] that `ScapWriter` takes.
//! * [`Snapshot::load`] feeds a snapshot into a [`State`]; [`snapshot`] does both at once.
//!
//! Processes and threads that vanish while they are read are skipped, never an error; only an
//! unreadable `/proc` (or `/proc/stat`, `/etc/passwd`, `/etc/group` other than missing) is.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lanner_event::records::fd_type;
use lanner_event::{FdDetailOf, FdInfo, GroupInfo, ThreadInfo, UserEntry, UserInfo};

use crate::state::{State, l4};

/// What a snapshot reads and how much work it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// The proc filesystem (`/proc`; a host's `/proc` mounted elsewhere works too).
    pub proc_root: PathBuf,
    /// The directory holding `passwd` and `group` (`/etc`).
    pub etc_root: PathBuf,
    /// Read the threads of each process too, not only its main thread (libscap's full scan).
    pub threads: bool,
    /// Read each process's open fds.
    pub fds: bool,
    /// At most this many fds per process (the lowest-numbered ones, in `readdir` order).
    pub max_fds_per_process: usize,
    /// At most this many fds in the whole snapshot.
    pub max_fds_total: usize,
    /// Bytes of `/proc/<pid>/environ` kept per thread (libscap keeps 4096).
    pub max_env_bytes: usize,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        SnapshotOptions {
            proc_root: PathBuf::from("/proc"),
            etc_root: PathBuf::from("/etc"),
            threads: true,
            fds: true,
            max_fds_per_process: 4096,
            max_fds_total: 1 << 18,
            max_env_bytes: MAX_ARGS,
        }
    }
}

/// Counts and timing of one snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    /// Processes read (main threads).
    pub processes: usize,
    /// Threads read, main threads included.
    pub threads: usize,
    /// Fds read.
    pub fds: usize,
    /// Of those, sockets resolved through `/proc/<pid>/net/*`.
    pub sockets: usize,
    /// Users read from `passwd`.
    pub users: usize,
    /// Groups read from `group`.
    pub groups: usize,
    /// Thread ids skipped: kernel threads, zombies and tasks that vanished during the scan.
    pub skipped: usize,
    /// Processes whose fd table was cut by a limit of [`SnapshotOptions`].
    pub fd_tables_truncated: usize,
    /// Wall time of the scan.
    pub elapsed: Duration,
}

/// Why a snapshot could not be taken, with the path that failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcfsError {
    /// A file or directory every snapshot needs could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A file every snapshot needs had unexpected contents.
    #[error("{}: {reason}", path.display())]
    Parse {
        /// The path.
        path: PathBuf,
        /// What was wrong.
        reason: &'static str,
    },
}

/// One thread of the snapshot, owning its strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedThreadInfo {
    /// The scalar fields; its byte-string fields are empty because the buffers below hold
    /// them ([`OwnedThreadInfo::as_record`] joins both).
    pub scalars: ThreadInfo<'static>,
    /// Command name.
    pub comm: Vec<u8>,
    /// argv\[0\].
    pub exe: Vec<u8>,
    /// Executable path (`/proc/<pid>/exe`).
    pub exepath: Vec<u8>,
    /// argv\[1..\], each NUL-terminated.
    pub args: Vec<u8>,
    /// Working directory.
    pub cwd: Vec<u8>,
    /// Environment, NUL-separated.
    pub env: Vec<u8>,
    /// `subsys=path` cgroup entries, each NUL-terminated.
    pub cgroups: Vec<u8>,
    /// Root directory.
    pub root: Vec<u8>,
    /// Start time in ns since the epoch (0 when unknown). Process-list records have no room
    /// for it, so [`Snapshot::load`] sets it on the state separately.
    pub clone_ts: u64,
}

impl OwnedThreadInfo {
    /// The record view, as a process-list block holds it.
    pub fn as_record(&self) -> ThreadInfo<'_> {
        ThreadInfo {
            comm: &self.comm,
            exe: &self.exe,
            exepath: &self.exepath,
            args: &self.args,
            cwd: &self.cwd,
            env: &self.env,
            cgroups: &self.cgroups,
            root: &self.root,
            ..self.scalars
        }
    }
}

/// Type-specific data of an owned fd entry (the owned form of [`lanner_event::FdDetail`]).
pub type OwnedFdDetail = FdDetailOf<Vec<u8>>;

/// One fd of the snapshot, owning its strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFdInfo {
    /// File descriptor number.
    pub fd: i64,
    /// Inode.
    pub ino: u64,
    /// `SCAP_FD_*` type.
    pub fd_type: u8,
    /// Type-specific data.
    pub detail: OwnedFdDetail,
}

impl OwnedFdInfo {
    /// The record view, as an fd-list block holds it.
    pub fn as_record(&self) -> FdInfo<'_> {
        FdInfo {
            fd: self.fd,
            ino: self.ino,
            fd_type: self.fd_type,
            detail: self.detail.as_borrowed(),
        }
    }
}

/// The fds of one process (libscap reads them for main threads only; the threads of a
/// process share them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessFds {
    /// Process id (the main thread's id, which an fd-list block names).
    pub pid: i64,
    /// The fds, in fd order.
    pub fds: Vec<OwnedFdInfo>,
}

/// A user or group of the snapshot, owning its strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedUserEntry {
    /// A user of `passwd`.
    User {
        /// User id.
        uid: u32,
        /// Primary group id.
        gid: u32,
        /// Name.
        name: Vec<u8>,
        /// Home directory.
        homedir: Vec<u8>,
        /// Shell.
        shell: Vec<u8>,
    },
    /// A group of `group`.
    Group {
        /// Group id.
        gid: u32,
        /// Name.
        name: Vec<u8>,
    },
}

impl OwnedUserEntry {
    /// The record view, as a user-list block holds it.
    pub fn as_record(&self) -> UserEntry<'_> {
        match self {
            OwnedUserEntry::User {
                uid,
                gid,
                name,
                homedir,
                shell,
            } => UserEntry::User(UserInfo {
                uid: *uid,
                gid: *gid,
                name,
                homedir,
                shell,
            }),
            OwnedUserEntry::Group { gid, name } => UserEntry::Group(GroupInfo { gid: *gid, name }),
        }
    }
}

/// Everything a snapshot read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Threads, each process's main thread before its other threads, processes by pid.
    pub threads: Vec<OwnedThreadInfo>,
    /// Fd tables by process.
    pub fds: Vec<ProcessFds>,
    /// Users, then groups (the order libscap writes them in).
    pub users: Vec<OwnedUserEntry>,
    /// Counts and timing.
    pub stats: SnapshotStats,
}

/// Takes a snapshot of the running system and loads it into `state`.
pub fn snapshot(
    state: &mut State,
    options: &SnapshotOptions,
) -> Result<SnapshotStats, ProcfsError> {
    let snap = Snapshot::take(options)?;
    snap.load(state);
    Ok(snap.stats)
}

impl Snapshot {
    /// Reads the running system.
    pub fn take(options: &SnapshotOptions) -> Result<Snapshot, ProcfsError> {
        let start = Instant::now();
        let mut scanner = Scanner::new(options)?;
        let mut snap = Snapshot::default();
        let proc_root = &options.proc_root;
        let entries = fs::read_dir(proc_root).map_err(|source| ProcfsError::Io {
            path: proc_root.clone(),
            source,
        })?;
        // `readdir` order of /proc is pid order already; sorting makes it a promise.
        let mut pids: Vec<i64> = entries
            .filter_map(Result::ok)
            .filter_map(|e| parse_id(e.file_name().as_bytes()))
            .collect();
        pids.sort_unstable();
        for pid in pids {
            let dir = proc_root.join(pid.to_string());
            let Some(main) = scanner.read_thread(&dir, pid, pid) else {
                snap.stats.skipped += 1;
                continue;
            };
            snap.threads.push(main);
            snap.stats.processes += 1;
            if options.threads {
                scanner.read_tasks(&dir, pid, &mut snap);
            }
            if options.fds {
                let (fds, truncated) = scanner.read_fds(&dir, &mut snap.stats);
                if truncated {
                    snap.stats.fd_tables_truncated += 1;
                }
                snap.stats.fds += fds.len();
                snap.fds.push(ProcessFds { pid, fds });
            }
        }
        snap.stats.threads = snap.threads.len();
        let users = read_passwd(&options.etc_root.join("passwd"))?;
        let groups = read_group(&options.etc_root.join("group"))?;
        snap.stats.users = users.len();
        snap.stats.groups = groups.len();
        snap.users = users;
        snap.users.extend(groups);
        snap.stats.elapsed = start.elapsed();
        Ok(snap)
    }

    /// Loads the snapshot into `state`: threads first (fds are filed under their process),
    /// then fds, users and groups.
    pub fn load(&self, state: &mut State) {
        for t in &self.threads {
            state.add_thread_info(&t.as_record());
            state.set_clone_ts(t.scalars.tid, t.clone_ts);
        }
        for p in &self.fds {
            for fd in &p.fds {
                state.add_fd_info(p.pid, &fd.as_record());
            }
        }
        for u in &self.users {
            state.add_user_entry(&u.as_record());
        }
    }

    /// The threads as process-list records (for `ScapWriter::write_threads`).
    pub fn thread_records(&self) -> impl Iterator<Item = ThreadInfo<'_>> {
        self.threads.iter().map(OwnedThreadInfo::as_record)
    }

    /// The users and groups as user-list records (for `ScapWriter::write_users`).
    pub fn user_records(&self) -> impl Iterator<Item = UserEntry<'_>> {
        self.users.iter().map(OwnedUserEntry::as_record)
    }
}

/// Longest argument and environment block a process-list record holds.
const MAX_ARGS: usize = 4096;
/// Longest path a process-list record holds.
const MAX_PATH: usize = 1024;
/// `/proc/<pid>/comm` holds at most 15 characters and a newline.
const TASK_COMM_LEN: usize = 16;
/// The unit of `/proc/<pid>/stat` times. The kernel reports them in `USER_HZ`, which is 100
/// on every architecture this project builds for (x86_64, aarch64), whatever `CONFIG_HZ` is.
const USER_HZ: u64 = 100;

/// `PPM_CL_*` flags libscap gives every non-main thread it finds in `/proc`, assuming they
/// were created by `pthread_create` (`CLONE_THREAD | CLONE_FILES`).
const THREAD_FLAGS: u32 = 0x2000 | 0x1;

/// `ESRCH`: a task that exited between the directory listing and the read.
const ESRCH: i32 = 3;

/// Whether an error means that the task is gone (rather than, say, forbidden to us).
fn vanished(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(ESRCH)
}

/// Reads at most `max` bytes of a file (proc files can be large or endless).
fn read_bounded(path: &Path, max: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    File::open(path)?.take(max as u64).read_to_end(&mut out)?;
    Ok(out)
}

fn read_link(path: &Path) -> io::Result<Vec<u8>> {
    fs::read_link(path).map(|p| p.into_os_string().into_vec())
}

/// A decimal directory name of `/proc` or `/proc/<pid>/task` (libscap's `is_xid_filename`).
fn parse_id(name: &[u8]) -> Option<i64> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

fn parse_num<T: std::str::FromStr>(s: &[u8]) -> Option<T> {
    std::str::from_utf8(s).ok()?.trim().parse().ok()
}

fn parse_hex_u64(s: &[u8]) -> Option<u64> {
    u64::from_str_radix(std::str::from_utf8(s).ok()?.trim(), 16).ok()
}

fn tokens(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
}

fn truncated(mut v: Vec<u8>, max: usize) -> Vec<u8> {
    v.truncate(max);
    v
}

/// The values a thread's `status` file contributes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Status {
    tgid: Option<i64>,
    ppid: i64,
    euid: u32,
    egid: u32,
    cap_inheritable: u64,
    cap_permitted: u64,
    cap_effective: u64,
    vmsize_kb: u32,
    vmrss_kb: u32,
    vmswap_kb: u32,
    /// The last `NSpid` value: the thread id in its own pid namespace.
    vtid: Option<i64>,
    /// The last `NStgid` value.
    vpid: Option<i64>,
    /// `NSpgid` when the task is in a nested pid namespace: (host pgid, namespace pgid).
    nspgid: Option<(i64, i64)>,
}

fn parse_status(text: &[u8]) -> Status {
    let mut st = Status::default();
    for line in text.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (key, rest) = line.split_at(colon);
        let rest = rest.get(1..).unwrap_or_default();
        let mut vals = tokens(rest);
        match key {
            b"Tgid" => st.tgid = vals.next().and_then(parse_num),
            b"PPid" => st.ppid = vals.next().and_then(parse_num).unwrap_or(0),
            // libscap keeps the effective ids, as the driver reports them for new processes.
            b"Uid" => st.euid = vals.nth(1).and_then(parse_num).unwrap_or(u32::MAX),
            b"Gid" => st.egid = vals.nth(1).and_then(parse_num).unwrap_or(u32::MAX),
            b"CapInh" => st.cap_inheritable = vals.next().and_then(parse_hex_u64).unwrap_or(0),
            b"CapPrm" => st.cap_permitted = vals.next().and_then(parse_hex_u64).unwrap_or(0),
            b"CapEff" => st.cap_effective = vals.next().and_then(parse_hex_u64).unwrap_or(0),
            b"VmSize" => st.vmsize_kb = vals.next().and_then(parse_num).unwrap_or(0),
            b"VmRSS" => st.vmrss_kb = vals.next().and_then(parse_num).unwrap_or(0),
            b"VmSwap" => st.vmswap_kb = vals.next().and_then(parse_num).unwrap_or(0),
            b"NSpid" => st.vtid = vals.last().and_then(parse_num),
            b"NStgid" => st.vpid = vals.last().and_then(parse_num),
            b"NSpgid" => {
                let v: Vec<i64> = vals.filter_map(parse_num).collect();
                if let (Some(first), Some(last)) = (v.first(), v.last())
                    && v.len() > 1
                {
                    st.nspgid = Some((*first, *last));
                }
            }
            _ => {}
        }
    }
    st
}

/// The values a thread's `stat` file contributes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Stat {
    pgrp: i64,
    session: i64,
    tty: u32,
    minflt: u64,
    majflt: u64,
    starttime: u64,
}

fn parse_stat(text: &[u8]) -> Option<Stat> {
    // The command name in parentheses may hold spaces and parentheses itself; the fields
    // that follow start after the last ')'.
    let close = text.iter().rposition(|b| *b == b')')?;
    let f: Vec<&[u8]> = tokens(text.get(close + 1..)?).collect();
    let num = |i: usize| f.get(i).and_then(|t| parse_num::<i64>(t));
    Some(Stat {
        pgrp: num(2)?,
        session: num(3)?,
        // tty_nr is an int; libscap reads it into a u32.
        tty: num(4)? as u32,
        minflt: f.get(7).and_then(|t| parse_num(t))?,
        majflt: f.get(9).and_then(|t| parse_num(t))?,
        starttime: f.get(19).and_then(|t| parse_num(t))?,
    })
}

/// The soft `RLIMIT_NOFILE` of a `limits` file; "unlimited" is `RLIM_INFINITY`, -1 as i64.
fn parse_fdlimit(text: &[u8]) -> Option<i64> {
    let line = text
        .split(|b| *b == b'\n')
        .find(|l| l.starts_with(b"Max open files"))?;
    let soft = tokens(line.get(b"Max open files".len()..)?).next()?;
    if soft == b"unlimited" {
        return Some(-1);
    }
    parse_num(soft)
}

/// `exe` and `args` of a process-list record from a `cmdline` buffer, as libscap splits it.
fn split_cmdline(mut cmdline: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
    // libscap turns the last byte into a NUL, which ends a cmdline cut at the buffer size.
    if let Some(last) = cmdline.last_mut() {
        *last = 0;
    }
    let Some(nul) = cmdline.iter().position(|b| *b == 0) else {
        return (Vec::new(), Vec::new());
    };
    let args = cmdline.get(nul + 1..).unwrap_or_default().to_vec();
    cmdline.truncate(nul.min(MAX_PATH - 1));
    (cmdline, args)
}

/// Reads the threads of `/proc` and their fds, caching what processes share.
struct Scanner<'o> {
    options: &'o SnapshotOptions,
    boot_ns: u64,
    cgroups: CgroupReader,
    /// Socket tables by network namespace inode, each read once.
    sockets: HashMap<u64, HashMap<u64, (u8, OwnedFdDetail)>>,
    fds_left: usize,
}

impl<'o> Scanner<'o> {
    fn new(options: &'o SnapshotOptions) -> Result<Self, ProcfsError> {
        let stat_path = options.proc_root.join("stat");
        let stat = read_bounded(&stat_path, 1 << 20).map_err(|source| ProcfsError::Io {
            path: stat_path.clone(),
            source,
        })?;
        let btime = stat
            .split(|b| *b == b'\n')
            .find_map(|l| l.strip_prefix(b"btime "))
            .and_then(parse_num::<u64>)
            .ok_or(ProcfsError::Parse {
                path: stat_path,
                reason: "no btime line",
            })?;
        Ok(Scanner {
            options,
            boot_ns: btime.saturating_mul(1_000_000_000),
            cgroups: CgroupReader::new(&options.proc_root),
            sockets: HashMap::new(),
            fds_left: options.max_fds_total,
        })
    }

    /// Reads the non-main threads of process `pid`.
    fn read_tasks(&mut self, dir: &Path, pid: i64, snap: &mut Snapshot) {
        let task_dir = dir.join("task");
        let Ok(entries) = fs::read_dir(&task_dir) else {
            return;
        };
        let mut tids: Vec<i64> = entries
            .filter_map(Result::ok)
            .filter_map(|e| parse_id(e.file_name().as_bytes()))
            .filter(|tid| *tid != pid)
            .collect();
        tids.sort_unstable();
        for tid in tids {
            match self.read_thread(&task_dir.join(tid.to_string()), tid, pid) {
                Some(t) => snap.threads.push(t),
                None => snap.stats.skipped += 1,
            }
        }
    }

    /// Reads one thread from its directory (`/proc/<pid>` or `/proc/<pid>/task/<tid>`), or
    /// `None` for kernel threads, zombies and tasks that are gone.
    fn read_thread(&mut self, dir: &Path, tid: i64, pid: i64) -> Option<OwnedThreadInfo> {
        let cmdline = read_bounded(&dir.join("cmdline"), MAX_ARGS).ok()?;
        let exe_link = read_link(&dir.join("exe"));
        // Kernel threads and zombies have neither a command line nor an executable; libscap
        // leaves them out and so does this scan (their first event creates them).
        if cmdline.is_empty() && exe_link.is_err() {
            return None;
        }
        let exepath = truncated(exe_link.unwrap_or_default(), MAX_PATH);
        let mut comm = read_bounded(&dir.join("comm"), TASK_COMM_LEN).ok()?;
        if comm.last() == Some(&b'\n') {
            comm.pop();
        }
        let (exe, args) = split_cmdline(cmdline);
        let status = parse_status(&read_bounded(&dir.join("status"), 1 << 16).ok()?);
        let stat = parse_stat(&read_bounded(&dir.join("stat"), 4096).ok()?)?;
        // Other users' environ (and, without privileges, cwd and root) cannot be read; the
        // thread is still worth having without them. A thread that is gone is not.
        let env = match read_bounded(&dir.join("environ"), self.options.max_env_bytes) {
            Ok(mut env) => {
                // libscap replaces the last byte with a NUL, which also ends a cut variable.
                if let Some(last) = env.last_mut() {
                    *last = 0;
                }
                env
            }
            Err(e) if vanished(&e) => return None,
            Err(_) => Vec::new(),
        };
        let cwd = match read_link(&dir.join("cwd")) {
            Ok(cwd) => truncated(cwd, MAX_PATH),
            Err(e) if vanished(&e) => return None,
            Err(_) => Vec::new(),
        };
        let root = read_link(&dir.join("root"))
            .map(|r| truncated(r, MAX_PATH))
            .unwrap_or_default();
        let loginuid = read_bounded(&dir.join("loginuid"), 32)
            .ok()
            .and_then(|t| parse_num::<u32>(&t))
            .unwrap_or(u32::MAX);
        let fdlimit = read_bounded(&dir.join("limits"), 1 << 14)
            .ok()
            .and_then(|t| parse_fdlimit(&t))
            .unwrap_or(-1);
        let cgroups = read_bounded(&dir.join("cgroup"), 1 << 16)
            .map(|t| self.cgroups.entries(&t))
            .unwrap_or_default();
        let (pgid, vpgid) = match status.nspgid {
            Some(pair) => pair,
            // libscap sets vpgid only for tasks of nested pid namespaces and leaves 0 else.
            None => (stat.pgrp, 0),
        };
        let uid = status.euid;
        let gid = status.egid;
        let exe_meta = fs::metadata(dir.join("exe")).ok();
        let ns = |s: i64, ns: i64| (s as u64).saturating_mul(1_000_000_000) + ns as u64;
        let scalars = ThreadInfo {
            tid,
            pid: status.tgid.unwrap_or(pid),
            ptid: status.ppid,
            sid: stat.session,
            vpgid,
            pgid,
            fdlimit,
            flags: if tid == pid { 0 } else { THREAD_FLAGS },
            uid,
            gid,
            vmsize_kb: status.vmsize_kb,
            vmrss_kb: status.vmrss_kb,
            vmswap_kb: status.vmswap_kb,
            pfmajor: stat.majflt,
            pfminor: stat.minflt,
            vtid: status.vtid.unwrap_or(tid),
            vpid: status.vpid.unwrap_or(pid),
            tty: stat.tty,
            loginuid,
            exe_writable: exe_meta.as_ref().is_some_and(|m| exe_writable(m, uid, gid)),
            cap_inheritable: status.cap_inheritable,
            cap_permitted: status.cap_permitted,
            cap_effective: status.cap_effective,
            exe_ino: exe_meta.as_ref().map_or(0, MetadataExt::ino),
            exe_ino_ctime: exe_meta
                .as_ref()
                .map_or(0, |m| ns(m.ctime(), m.ctime_nsec())),
            exe_ino_mtime: exe_meta
                .as_ref()
                .map_or(0, |m| ns(m.mtime(), m.mtime_nsec())),
            exe_from_memfd: exepath.starts_with(b"/memfd:"),
            ..ThreadInfo::default()
        };
        Some(OwnedThreadInfo {
            scalars,
            comm,
            exe,
            exepath,
            args,
            cwd,
            env,
            cgroups,
            root,
            clone_ts: self
                .boot_ns
                .saturating_add(stat.starttime.saturating_mul(1_000_000_000 / USER_HZ)),
        })
    }

    /// Reads the fds of the process in `dir`; the flag tells whether a limit cut them.
    fn read_fds(&mut self, dir: &Path, stats: &mut SnapshotStats) -> (Vec<OwnedFdInfo>, bool) {
        let fd_dir = dir.join("fd");
        let Ok(entries) = fs::read_dir(&fd_dir) else {
            return (Vec::new(), false);
        };
        // Sockets are looked up in the tables of the process's network namespace.
        let netns = fs::metadata(dir.join("ns/net")).map_or(0, |m| m.ino());
        let mut out = Vec::new();
        let mut cut = false;
        for entry in entries.filter_map(Result::ok) {
            let Some(fd) = parse_id(entry.file_name().as_bytes()) else {
                continue;
            };
            if out.len() >= self.options.max_fds_per_process || self.fds_left == 0 {
                cut = true;
                break;
            }
            let path = fd_dir.join(entry.file_name());
            let Some(info) = self.read_fd(dir, &path, fd, netns, stats) else {
                continue;
            };
            out.push(info);
            self.fds_left -= 1;
        }
        out.sort_unstable_by_key(|f| f.fd);
        (out, cut)
    }

    /// Reads one fd the way libscap's `handle_file` does: by the type of what it points to.
    fn read_fd(
        &mut self,
        dir: &Path,
        path: &Path,
        fd: i64,
        netns: u64,
        stats: &mut SnapshotStats,
    ) -> Option<OwnedFdInfo> {
        let meta = fs::metadata(path).ok()?;
        let link = read_link(path).ok()?;
        let ino = meta.ino();
        let named = |fd_type: u8, name: Vec<u8>, ino: u64| OwnedFdInfo {
            fd,
            ino,
            fd_type,
            detail: OwnedFdDetail::Name(name),
        };
        // Anonymous inodes are recognised by name first: depending on the kernel, some of
        // them (pidfds on pidfs, for one) report a regular-file mode.
        if let Some(kind) = anon_inode_type(&link) {
            return Some(named(kind, Vec::new(), ino));
        }
        const S_IFMT: u32 = 0o170_000;
        match meta.mode() & S_IFMT {
            0o010_000 => {
                // A pipe names its inode; a named pipe is the path, with the inode of its stat.
                let pipe_ino = link
                    .strip_prefix(b"pipe:[")
                    .and_then(|r| r.strip_suffix(b"]"))
                    .and_then(parse_num::<u64>)
                    .unwrap_or(ino);
                Some(named(fd_type::FIFO, link, pipe_ino))
            }
            0o100_000 | 0o060_000 | 0o020_000 | 0o120_000 => {
                if link.starts_with(b"/memfd:") {
                    return Some(named(fd_type::MEMFD, link, ino));
                }
                let open_flags = read_bounded(&dir.join("fdinfo").join(fd.to_string()), 4096)
                    .ok()
                    .and_then(|t| fdinfo_flags(&t))
                    .map_or(0, open_flags_to_scap);
                Some(OwnedFdInfo {
                    fd,
                    ino,
                    fd_type: fd_type::FILE_V2,
                    detail: OwnedFdDetail::FileV2 {
                        open_flags,
                        name: link,
                        // The kernel's st_dev encoding is the one libscap gets from makedev
                        // of the mount's major:minor; device numbers fit in 32 bits.
                        dev: Some(meta.dev() as u32),
                    },
                })
            }
            0o040_000 => Some(named(fd_type::DIRECTORY, link, ino)),
            0o140_000 => {
                let Some(sock_ino) = link
                    .strip_prefix(b"socket:[")
                    .and_then(|r| r.strip_suffix(b"]"))
                    .and_then(parse_num::<u64>)
                else {
                    return Some(named(fd_type::UNSUPPORTED, link, ino));
                };
                let table = self.socket_table(dir, netns);
                // A socket of a family the tables do not list is left out, as libscap does.
                let (kind, detail) = table.get(&sock_ino)?.clone();
                stats.sockets += 1;
                Some(OwnedFdInfo {
                    fd,
                    ino: sock_ino,
                    fd_type: kind,
                    detail,
                })
            }
            _ => Some(named(fd_type::UNSUPPORTED, Vec::new(), ino)),
        }
    }

    fn socket_table(&mut self, dir: &Path, netns: u64) -> &HashMap<u64, (u8, OwnedFdDetail)> {
        let proc_root = &self.options.proc_root;
        self.sockets.entry(netns).or_insert_with(|| {
            // The tables of a namespace are those any of its processes sees.
            let net = if netns == 0 {
                proc_root.join("net")
            } else {
                dir.join("net")
            };
            read_socket_tables(&net)
        })
    }
}

/// The fd type of an anonymous inode from its link name (libscap's list, plus pidfds).
fn anon_inode_type(link: &[u8]) -> Option<u8> {
    let name = link.strip_prefix(b"anon_inode:")?;
    Some(match name {
        b"[eventfd]" => fd_type::EVENT,
        b"[signalfd]" => fd_type::SIGNALFD,
        b"[eventpoll]" => fd_type::EVENTPOLL,
        b"inotify" => fd_type::INOTIFY,
        b"[timerfd]" => fd_type::TIMERFD,
        b"[io_uring]" => fd_type::IOURING,
        b"[userfaultfd]" => fd_type::USERFAULTFD,
        b"[pidfd]" => fd_type::PIDFD,
        n if n.starts_with(b"[bpf") || n.starts_with(b"bpf") => fd_type::BPF,
        _ => fd_type::UNSUPPORTED,
    })
}

/// The octal `flags:` of an `fdinfo` file.
fn fdinfo_flags(text: &[u8]) -> Option<u32> {
    let line = text
        .split(|b| *b == b'\n')
        .find_map(|l| l.strip_prefix(b"flags:"))?;
    u32::from_str_radix(std::str::from_utf8(line).ok()?.trim(), 8).ok()
}

/// Linux open flags (octal, as `fdinfo` shows them). Most are the same everywhere; arm and
/// aarch64 swap the directory/nofollow/direct/largefile bits.
mod o {
    pub const WRONLY: u32 = 0o1;
    pub const RDWR: u32 = 0o2;
    pub const CREAT: u32 = 0o100;
    pub const EXCL: u32 = 0o200;
    pub const TRUNC: u32 = 0o1000;
    pub const APPEND: u32 = 0o2000;
    pub const NONBLOCK: u32 = 0o4000;
    pub const DSYNC: u32 = 0o10000;
    pub const CLOEXEC: u32 = 0o2000000;
    pub const SYNC: u32 = 0o4000000 | DSYNC;
    pub const TMPFILE: u32 = 0o20000000 | DIRECTORY;
    #[cfg(not(any(target_arch = "aarch64", target_arch = "arm")))]
    mod arch {
        pub const DIRECT: u32 = 0o40000;
        pub const LARGEFILE: u32 = 0o100000;
        pub const DIRECTORY: u32 = 0o200000;
    }
    #[cfg(any(target_arch = "aarch64", target_arch = "arm"))]
    mod arch {
        pub const DIRECTORY: u32 = 0o40000;
        pub const DIRECT: u32 = 0o200000;
        pub const LARGEFILE: u32 = 0o400000;
    }
    pub use arch::*;
}

/// libscap's `open_flags_to_scap`: Linux open flags to `PPM_O_*`.
fn open_flags_to_scap(flags: u32) -> u32 {
    let mut res = match flags & (o::WRONLY | o::RDWR) {
        o::WRONLY => 2,
        o::RDWR => 3,
        _ => 1,
    };
    // As in libscap, a flag counts when any of its bits is set (O_TMPFILE includes
    // O_DIRECTORY, O_SYNC includes O_DSYNC).
    for (linux, ppm) in [
        (o::CREAT, 1 << 2),
        (o::TMPFILE, 1 << 13),
        (o::APPEND, 1 << 3),
        (o::DSYNC, 1 << 4),
        (o::EXCL, 1 << 5),
        (o::NONBLOCK, 1 << 6),
        (o::SYNC, 1 << 7),
        (o::TRUNC, 1 << 8),
        (o::DIRECT, 1 << 9),
        (o::DIRECTORY, 1 << 10),
        (o::LARGEFILE, 1 << 11),
        (o::CLOEXEC, 1 << 12),
    ] {
        if flags & linux != 0 {
            res |= ppm;
        }
    }
    res
}

/// Whether a thread with effective ids `uid`/`gid` may write its executable. libscap asks
/// the kernel (`faccessat` under the thread's ids); this reads the mode bits instead, which
/// agrees except for supplementary groups, ACLs and read-only mounts. Root may write anything.
fn exe_writable(meta: &fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = meta.mode();
    uid == 0 || meta.uid() == uid || (meta.gid() == gid && mode & 0o020 != 0) || mode & 0o002 != 0
}

/// Reads every socket table of one network namespace, keyed by socket inode. Missing
/// tables (no IPv6, say) are skipped.
fn read_socket_tables(net: &Path) -> HashMap<u64, (u8, OwnedFdDetail)> {
    let mut out = HashMap::new();
    for (file, l4proto, v6) in [
        ("tcp", l4::TCP, false),
        ("udp", l4::UDP, false),
        ("raw", l4::RAW, false),
        ("tcp6", l4::TCP, true),
        ("udp6", l4::UDP, true),
        ("raw6", l4::RAW, true),
    ] {
        if let Ok(text) = fs::read(net.join(file)) {
            for line in text.split(|b| *b == b'\n').skip(1) {
                if let Some((ino, entry)) = parse_inet_line(line, l4proto, v6) {
                    out.insert(ino, entry);
                }
            }
        }
    }
    if let Ok(text) = fs::read(net.join("unix")) {
        for line in text.split(|b| *b == b'\n').skip(1) {
            if let Some((ino, entry)) = parse_unix_line(line) {
                out.insert(ino, entry);
            }
        }
    }
    if let Ok(text) = fs::read(net.join("netlink")) {
        for line in text.split(|b| *b == b'\n').skip(1) {
            // libscap files netlink sockets as unnamed unix sockets.
            if let Some(ino) = tokens(line).nth(9).and_then(parse_num::<u64>) {
                let detail = OwnedFdDetail::Unix {
                    source: 0,
                    dest: 0,
                    path: Vec::new(),
                };
                out.insert(ino, (fd_type::UNIX_SOCK, detail));
            }
        }
    }
    out
}

/// An `ADDR:PORT` field of `/proc/net/tcp*`: the address as the kernel's in-memory words
/// printed in hex (so each word's native-endian bytes are the address bytes), the port in
/// host order.
fn parse_inet_addr<const N: usize>(field: &[u8]) -> Option<([u8; N], u16)> {
    let colon = field.iter().position(|b| *b == b':')?;
    let (addr, port) = field.split_at(colon);
    let port = u16::from_str_radix(std::str::from_utf8(port.get(1..)?).ok()?, 16).ok()?;
    if addr.len() != N * 2 {
        return None;
    }
    let mut bytes = [0u8; N];
    for (i, word) in addr.chunks(8).enumerate() {
        let w = u32::from_str_radix(std::str::from_utf8(word).ok()?, 16).ok()?;
        bytes
            .get_mut(i * 4..i * 4 + 4)?
            .copy_from_slice(&w.to_ne_bytes());
    }
    Some((bytes, port))
}

/// One line of `/proc/net/{tcp,udp,raw}{,6}`. As libscap does, a socket without a remote
/// address is a server socket (listening or merely bound).
fn parse_inet_line(line: &[u8], l4proto: u8, v6: bool) -> Option<(u64, (u8, OwnedFdDetail))> {
    let f: Vec<&[u8]> = tokens(line).collect();
    let (local, remote) = (f.get(1)?, f.get(2)?);
    let ino = parse_num::<u64>(f.get(9)?)?;
    let entry = if v6 {
        let (sip, sport) = parse_inet_addr::<16>(local)?;
        let (dip, dport) = parse_inet_addr::<16>(remote)?;
        let (sip, dip) = (Ipv6Addr::from(sip), Ipv6Addr::from(dip));
        if dip.is_unspecified() {
            let d = OwnedFdDetail::Ipv6Server {
                ip: sip,
                port: sport,
                l4proto,
            };
            (fd_type::IPV6_SERVSOCK, d)
        } else {
            let d = OwnedFdDetail::Ipv6 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            };
            (fd_type::IPV6_SOCK, d)
        }
    } else {
        let (sip, sport) = parse_inet_addr::<4>(local)?;
        let (dip, dport) = parse_inet_addr::<4>(remote)?;
        let (sip, dip) = (Ipv4Addr::from(sip), Ipv4Addr::from(dip));
        if dip.is_unspecified() {
            let d = OwnedFdDetail::Ipv4Server {
                ip: sip,
                port: sport,
                l4proto,
            };
            (fd_type::IPV4_SERVSOCK, d)
        } else {
            let d = OwnedFdDetail::Ipv4 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            };
            (fd_type::IPV4_SOCK, d)
        }
    };
    Some((ino, entry))
}

/// One line of `/proc/net/unix`: `Num RefCount Protocol Flags Type St Inode [Path]`.
fn parse_unix_line(line: &[u8]) -> Option<(u64, (u8, OwnedFdDetail))> {
    let mut rest = line;
    let mut fields: Vec<&[u8]> = Vec::with_capacity(7);
    while fields.len() < 7 {
        let start = rest.iter().position(|b| *b != b' ')?;
        rest = rest.get(start..)?;
        let end = rest.iter().position(|b| *b == b' ').unwrap_or(rest.len());
        let (tok, after) = rest.split_at(end);
        fields.push(tok);
        rest = after;
    }
    let source = parse_hex_u64(fields.first()?.strip_suffix(b":")?)?;
    let ino = parse_num::<u64>(fields.get(6)?)?;
    // The path is the rest of the line. libscap keeps the line's newline at the end of it (a
    // known quirk of Falco's scan, README); this scan keeps the path itself.
    let path = rest.trim_ascii().to_vec();
    let detail = OwnedFdDetail::Unix {
        source,
        dest: 0,
        path,
    };
    Some((ino, (fd_type::UNIX_SOCK, detail)))
}

/// Turns `/proc/<pid>/cgroup` into libscap's `subsys=path` entries: one per controller of a
/// v1 hierarchy (`name=systemd=/path` for named ones), and for the v2 hierarchy one per
/// controller enabled at the cgroup or an ancestor, with the path where it was found.
struct CgroupReader {
    /// The cgroup2 mount as seen through `/proc/1/root`, when there is one.
    v2_mount: Option<PathBuf>,
    /// The controllers of the v2 root.
    v2_all: Vec<Vec<u8>>,
    /// `cgroup.controllers` contents by directory.
    cache: HashMap<PathBuf, Vec<Vec<u8>>>,
}

/// Longest cgroups block libscap builds (`SCAP_MAX_CGROUPS_SIZE`).
const MAX_CGROUPS: usize = 4096;

impl CgroupReader {
    fn new(proc_root: &Path) -> Self {
        let mut reader = CgroupReader {
            v2_mount: None,
            v2_all: Vec::new(),
            cache: HashMap::new(),
        };
        // libscap looks at init's mounts through init's root, so that a scanner inside a
        // container still finds the host's hierarchy; without the rights for that, our own
        // view is the best there is.
        let init_root = proc_root.join("1/root");
        let (mounts, prefix) = match fs::read(proc_root.join("1/mounts")) {
            Ok(m) if fs::metadata(&init_root).is_ok() => (m, Some(init_root)),
            _ => (
                fs::read(proc_root.join("self/mounts")).unwrap_or_default(),
                None,
            ),
        };
        for line in mounts.split(|b| *b == b'\n') {
            let f: Vec<&[u8]> = tokens(line).collect();
            if f.get(2) != Some(&&b"cgroup2"[..]) {
                continue;
            }
            let Some(dir) = f.get(1) else {
                continue;
            };
            let dir = Path::new(std::ffi::OsStr::from_bytes(dir));
            let mount = match &prefix {
                Some(p) => p.join(dir.strip_prefix("/").unwrap_or(dir)),
                None => dir.to_path_buf(),
            };
            let Some(controllers) = reader.controllers(&mount) else {
                continue;
            };
            let found = !controllers.is_empty();
            reader.v2_all = controllers;
            reader.v2_mount = Some(mount);
            // As in libscap, the first v2 mount with controllers wins; one without any is
            // kept only until a better one turns up.
            if found {
                break;
            }
        }
        reader
    }

    fn controllers(&mut self, dir: &Path) -> Option<Vec<Vec<u8>>> {
        if let Some(c) = self.cache.get(dir) {
            return Some(c.clone());
        }
        let text = fs::read(dir.join("cgroup.controllers")).ok()?;
        let list: Vec<Vec<u8>> = tokens(&text).map(<[u8]>::to_vec).collect();
        self.cache.insert(dir.to_path_buf(), list.clone());
        Some(list)
    }

    fn entries(&mut self, text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let push = |out: &mut Vec<u8>, subsys: &[u8], path: &[u8]| {
            // libscap stops at its buffer size; entries never get cut in half.
            if out.len() + subsys.len() + path.len() + 2 > MAX_CGROUPS {
                return;
            }
            out.extend_from_slice(subsys);
            out.push(b'=');
            out.extend_from_slice(path);
            out.push(0);
        };
        for line in text.split(|b| *b == b'\n') {
            let mut parts = line.splitn(3, |b| *b == b':');
            let (Some(id), Some(subsystems), Some(path)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if !subsystems.is_empty() {
                for subsys in subsystems.split(|b| *b == b',') {
                    push(&mut out, subsys, path);
                }
                continue;
            }
            // The v2 hierarchy (id 0, no controller list); ignored without a v2 mount.
            if id != b"0" {
                continue;
            }
            let Some(mount) = self.v2_mount.clone() else {
                continue;
            };
            let mut cgroup = path.to_vec();
            let mut found: Vec<Vec<u8>> = Vec::new();
            loop {
                let rel = Path::new(std::ffi::OsStr::from_bytes(&cgroup));
                let dir = mount.join(rel.strip_prefix("/").unwrap_or(rel));
                let Some(here) = self.controllers(&dir) else {
                    break;
                };
                for c in here {
                    if !found.contains(&c) {
                        push(&mut out, &c, &cgroup);
                        found.push(c);
                    }
                }
                if cgroup == b"/" || self.v2_all.iter().all(|c| found.contains(c)) {
                    break;
                }
                match cgroup.iter().rposition(|b| *b == b'/') {
                    Some(0) => cgroup.truncate(1),
                    Some(i) => cgroup.truncate(i),
                    None => break,
                }
            }
        }
        out
    }
}

/// Reads users from a `passwd` file (a missing file means no users).
fn read_passwd(path: &Path) -> Result<Vec<OwnedUserEntry>, ProcfsError> {
    let Some(text) = read_optional(path)? else {
        return Ok(Vec::new());
    };
    Ok(text
        .split(|b| *b == b'\n')
        .filter_map(|line| {
            let f: Vec<&[u8]> = line.split(|b| *b == b':').collect();
            let name = *f.first()?;
            // Comments and NIS `+`/`-` entries name no user.
            if name.is_empty() || name.starts_with(b"#") || name.starts_with(b"+") {
                return None;
            }
            Some(OwnedUserEntry::User {
                uid: parse_num(f.get(2)?)?,
                gid: parse_num(f.get(3)?)?,
                name: name.to_vec(),
                homedir: f.get(5)?.to_vec(),
                shell: f.get(6).map_or_else(Vec::new, |s| s.to_vec()),
            })
        })
        .collect())
}

/// Reads groups from a `group` file (a missing file means no groups).
fn read_group(path: &Path) -> Result<Vec<OwnedUserEntry>, ProcfsError> {
    let Some(text) = read_optional(path)? else {
        return Ok(Vec::new());
    };
    Ok(text
        .split(|b| *b == b'\n')
        .filter_map(|line| {
            let f: Vec<&[u8]> = line.split(|b| *b == b':').collect();
            let name = *f.first()?;
            if name.is_empty() || name.starts_with(b"#") || name.starts_with(b"+") {
                return None;
            }
            Some(OwnedUserEntry::Group {
                gid: parse_num(f.get(2)?)?,
                name: name.to_vec(),
            })
        })
        .collect())
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, ProcfsError> {
    match fs::read(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ProcfsError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn inet_lines_give_local_then_remote() {
        let listen = b"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1682 1 0000000014ca4019 100 0 0 10 0";
        let (ino, (kind, d)) = parse_inet_line(listen, l4::TCP, false).unwrap();
        assert_eq!((ino, kind), (1682, fd_type::IPV4_SERVSOCK));
        assert_eq!(
            d,
            OwnedFdDetail::Ipv4Server {
                ip: Ipv4Addr::LOCALHOST,
                port: 8080,
                l4proto: l4::TCP
            }
        );
        let conn = b"   1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1700 1 0000000014ca4019 20 4 30 10 -1";
        let (_, (kind, d)) = parse_inet_line(conn, l4::TCP, false).unwrap();
        assert_eq!(kind, fd_type::IPV4_SOCK);
        assert_eq!(
            d,
            OwnedFdDetail::Ipv4 {
                sip: Ipv4Addr::LOCALHOST,
                dip: Ipv4Addr::LOCALHOST,
                sport: 0xD431,
                dport: 8080,
                l4proto: l4::TCP
            }
        );
        let v6 = b"   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0 100 0 0 10 0";
        let (_, (kind, d)) = parse_inet_line(v6, l4::TCP, true).unwrap();
        assert_eq!(kind, fd_type::IPV6_SERVSOCK);
        assert_eq!(
            d,
            OwnedFdDetail::Ipv6Server {
                ip: Ipv6Addr::LOCALHOST,
                port: 22,
                l4proto: l4::TCP
            }
        );
    }

    #[test]
    fn unix_lines_keep_the_path_without_newline() {
        let named = b"ffff8880051e2400: 00000002 00000000 00010000 0001 01 23456 /run/dbus/system_bus_socket";
        let (ino, (_, d)) = parse_unix_line(named).unwrap();
        assert_eq!(ino, 23456);
        assert_eq!(
            d,
            OwnedFdDetail::Unix {
                source: 0xffff_8880_051e_2400,
                dest: 0,
                path: b"/run/dbus/system_bus_socket".to_vec()
            }
        );
        let unnamed = b"000000000115fe3d: 00000003 00000000 00000000 0001 03  1679";
        let (ino, (_, d)) = parse_unix_line(unnamed).unwrap();
        assert_eq!(ino, 1679);
        assert!(matches!(d, OwnedFdDetail::Unix { path, .. } if path.is_empty()));
    }

    #[test]
    fn cgroups_become_subsys_entries() {
        let mut r = CgroupReader {
            v2_mount: None,
            v2_all: Vec::new(),
            cache: HashMap::new(),
        };
        let text = b"9:name=systemd:/\n3:cpu,cpuacct:/a/b\n0::/\n";
        assert_eq!(
            r.entries(text),
            b"name=systemd=/\0cpu=/a/b\0cpuacct=/a/b\0".to_vec()
        );
    }

    #[test]
    fn status_stat_and_cmdline_parse_as_libscap_reads_them() {
        let st = parse_status(
            b"Name:\tx\nTgid:\t10\nPPid:\t1\nUid:\t1000\t0\t0\t0\nGid:\t5\t6\t6\t6\n\
              NStgid:\t10\t3\nNSpid:\t12\t5\nNSpgid:\t10\t3\nCapEff:\t000001ffffffffff\n",
        );
        assert_eq!((st.tgid, st.ppid, st.euid, st.egid), (Some(10), 1, 0, 6));
        assert_eq!(
            (st.vpid, st.vtid, st.nspgid),
            (Some(3), Some(5), Some((10, 3)))
        );
        assert_eq!(st.cap_effective, 0x1ff_ffff_ffff);
        let stat = parse_stat(
            b"42 (a (b) c) S 1 42 40 34816 42 4194560 100 0 7 0 0 0 0 0 20 0 1 0 12345 0 0",
        )
        .unwrap();
        assert_eq!((stat.pgrp, stat.session, stat.tty), (42, 40, 34816));
        assert_eq!((stat.minflt, stat.majflt, stat.starttime), (100, 7, 12345));
        assert_eq!(
            split_cmdline(b"/bin/sh\0-c\0echo hi\0".to_vec()),
            (b"/bin/sh".to_vec(), b"-c\0echo hi\0".to_vec())
        );
        assert_eq!(split_cmdline(b"nginx: worker".to_vec()).0, b"nginx: worke");
        assert_eq!(open_flags_to_scap(o::RDWR | o::CLOEXEC), 3 | 1 << 12);
        assert_eq!(
            parse_fdlimit(
                b"Max open files            1024                 4096                 files\n"
            ),
            Some(1024)
        );
    }
}
