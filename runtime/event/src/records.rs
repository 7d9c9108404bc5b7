//! Typed records of the state-building metadata blocks (FORMAT.md §3–4).
//!
//! List blocks (threads, fds, interfaces, users) are exposed as borrowed views over the block
//! body. Each view is validated once when it is created, so iterating it afterwards cannot
//! fail; entries borrow their strings from the block bytes.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::bytes::{Cursor, until_nul};

/// Where and why a metadata entry is malformed (position relative to the block body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryError {
    /// Byte position inside the block body.
    pub at: usize,
    /// What was wrong.
    pub reason: &'static str,
}

type EntryResult<T> = Result<T, EntryError>;

fn err<T>(at: usize, reason: &'static str) -> EntryResult<T> {
    Err(EntryError { at, reason })
}

/// Reads a field or fails with the position where the entry ran out of bytes.
trait OrTruncated<T> {
    fn or_trunc(self, c: &Cursor<'_>) -> EntryResult<T>;
}

impl<T> OrTruncated<T> for Option<T> {
    fn or_trunc(self, c: &Cursor<'_>) -> EntryResult<T> {
        self.ok_or(EntryError {
            at: c.pos(),
            reason: "entry truncated",
        })
    }
}

fn str_limited<'a>(c: &mut Cursor<'a>, max: usize, what: &'static str) -> EntryResult<&'a [u8]> {
    let at = c.pos();
    let s = c.str16().or_trunc(c)?;
    if s.len() > max {
        return err(at, what);
    }
    Ok(s)
}

/// The section header block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionHeader {
    /// Major version (always 1).
    pub major: u16,
    /// Minor version (0, 1 or 2).
    pub minor: u16,
    /// Section length (−1 = unspecified).
    pub section_length: i64,
    /// Bytes of pcapng options that followed the fixed header (skipped).
    pub options_len: usize,
}

/// The machine info block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MachineInfo {
    /// Number of CPUs.
    pub num_cpus: u32,
    /// Memory size in bytes.
    pub memory_size_bytes: u64,
    /// Maximum pid.
    pub max_pid: u64,
    /// Host name (NUL padding removed; at most 127 bytes are written back).
    pub hostname: Vec<u8>,
    /// Boot time, ns since the epoch (0 in old captures).
    pub boot_ts_epoch: u64,
    /// Flags.
    pub flags: u64,
    /// Reserved.
    pub reserved3: u64,
    /// Reserved.
    pub reserved4: u64,
}

/// Body size of the machine info block.
pub const MACHINE_INFO_LEN: usize = 180;

impl MachineInfo {
    pub(crate) fn parse(body: &[u8]) -> EntryResult<Self> {
        let mut c = Cursor::new(body);
        let mi = MachineInfo {
            num_cpus: c.u32().or_trunc(&c)?,
            memory_size_bytes: c.u64().or_trunc(&c)?,
            max_pid: c.u64().or_trunc(&c)?,
            hostname: until_nul(c.take(128).or_trunc(&c)?).to_vec(),
            boot_ts_epoch: c.u64().or_trunc(&c)?,
            flags: c.u64().or_trunc(&c)?,
            reserved3: c.u64().or_trunc(&c)?,
            reserved4: c.u64().or_trunc(&c)?,
        };
        // The reader reads a fixed 180 bytes and then the trailer, so more than 3 bytes of
        // padding means a different layout.
        if c.remaining() > 3 {
            return err(c.pos(), "machine info body longer than 180 bytes");
        }
        Ok(mi)
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.num_cpus.to_le_bytes());
        out.extend_from_slice(&self.memory_size_bytes.to_le_bytes());
        out.extend_from_slice(&self.max_pid.to_le_bytes());
        let mut host = [0u8; 128];
        for (dst, src) in host.iter_mut().zip(self.hostname.iter().take(127)) {
            *dst = *src;
        }
        out.extend_from_slice(&host);
        for v in [
            self.boot_ts_epoch,
            self.flags,
            self.reserved3,
            self.reserved4,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// One thread of the process list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadInfo<'a> {
    /// Thread id.
    pub tid: i64,
    /// Process id.
    pub pid: i64,
    /// Parent thread id.
    pub ptid: i64,
    /// Session id (V6+, else −1).
    pub sid: i64,
    /// Process group id of the namespace (V8+, else −1).
    pub vpgid: i64,
    /// Command name.
    pub comm: &'a [u8],
    /// argv\[0\].
    pub exe: &'a [u8],
    /// Executable path (V7+).
    pub exepath: &'a [u8],
    /// argv\[1..\], each NUL-terminated.
    pub args: &'a [u8],
    /// Working directory.
    pub cwd: &'a [u8],
    /// File descriptor limit.
    pub fdlimit: i64,
    /// `PPM_CL_*` flags.
    pub flags: u32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Virtual memory size in KiB (V2+).
    pub vmsize_kb: u32,
    /// Resident set size in KiB (V2+).
    pub vmrss_kb: u32,
    /// Swap in KiB (V2+).
    pub vmswap_kb: u32,
    /// Major page faults (V2+).
    pub pfmajor: u64,
    /// Minor page faults (V2+).
    pub pfminor: u64,
    /// Environment, NUL-separated `K=V` (V3+).
    pub env: &'a [u8],
    /// Thread id in its pid namespace (V4+, else −1).
    pub vtid: i64,
    /// Process id in its pid namespace (V4+, else −1).
    pub vpid: i64,
    /// Cgroups, NUL-separated `subsys=path` (V4+).
    pub cgroups: &'a [u8],
    /// Root directory (V5+).
    pub root: &'a [u8],
    /// Start time of the pid namespace init (V9, 0.10+ layout).
    pub pidns_init_start_ts: u64,
    /// Controlling terminal (V9, 0.10+ layout).
    pub tty: u32,
    /// Login uid (`u32::MAX` = none).
    pub loginuid: u32,
    /// Whether the executable is writable by the user.
    pub exe_writable: bool,
    /// Inheritable capabilities.
    pub cap_inheritable: u64,
    /// Permitted capabilities.
    pub cap_permitted: u64,
    /// Effective capabilities.
    pub cap_effective: u64,
    /// Executable lives in an overlayfs upper layer.
    pub exe_upper_layer: bool,
    /// Executable inode.
    pub exe_ino: u64,
    /// Executable inode ctime.
    pub exe_ino_ctime: u64,
    /// Executable inode mtime.
    pub exe_ino_mtime: u64,
    /// Executable comes from a memfd.
    pub exe_from_memfd: bool,
    /// Executable lives in an overlayfs lower layer.
    pub exe_lower_layer: bool,
    /// Process group id (−1 if absent).
    pub pgid: i64,
}

impl Default for ThreadInfo<'_> {
    fn default() -> Self {
        ThreadInfo {
            tid: 0,
            pid: 0,
            ptid: 0,
            sid: -1,
            vpgid: -1,
            comm: b"",
            exe: b"",
            exepath: b"",
            args: b"",
            cwd: b"",
            fdlimit: 0,
            flags: 0,
            uid: 0,
            gid: 0,
            vmsize_kb: 0,
            vmrss_kb: 0,
            vmswap_kb: 0,
            pfmajor: 0,
            pfminor: 0,
            env: b"",
            vtid: -1,
            vpid: -1,
            cgroups: b"",
            root: b"",
            pidns_init_start_ts: 0,
            tty: 0,
            loginuid: u32::MAX,
            exe_writable: false,
            cap_inheritable: 0,
            cap_permitted: 0,
            cap_effective: 0,
            exe_upper_layer: false,
            exe_ino: 0,
            exe_ino_ctime: 0,
            exe_ino_mtime: 0,
            exe_from_memfd: false,
            exe_lower_layer: false,
            pgid: -1,
        }
    }
}

const MAX_PATH: usize = 1024;
const MAX_ARGS: usize = 4096;

fn parse_thread<'a>(c: &mut Cursor<'a>, version: u8) -> EntryResult<ThreadInfo<'a>> {
    let start = c.pos();
    let entry_len = if version >= 9 {
        Some(c.u32().or_trunc(c)? as usize)
    } else {
        None
    };
    let mut t = ThreadInfo {
        tid: c.i64().or_trunc(c)?,
        pid: c.i64().or_trunc(c)?,
        ptid: c.i64().or_trunc(c)?,
        ..ThreadInfo::default()
    };
    if version >= 6 {
        t.sid = c.i64().or_trunc(c)?;
    }
    if version >= 8 {
        t.vpgid = c.i64().or_trunc(c)?;
    }
    t.comm = str_limited(c, MAX_PATH, "comm longer than 1024 bytes")?;
    t.exe = str_limited(c, MAX_PATH, "exe longer than 1024 bytes")?;
    if version >= 7 {
        t.exepath = str_limited(c, MAX_PATH, "exepath longer than 1024 bytes")?;
    }
    t.args = str_limited(c, MAX_ARGS, "args longer than 4096 bytes")?;
    t.cwd = str_limited(c, MAX_PATH, "cwd longer than 1024 bytes")?;
    t.fdlimit = c.i64().or_trunc(c)?;
    t.flags = c.u32().or_trunc(c)?;
    t.uid = c.u32().or_trunc(c)?;
    t.gid = c.u32().or_trunc(c)?;
    if version >= 2 {
        t.vmsize_kb = c.u32().or_trunc(c)?;
        t.vmrss_kb = c.u32().or_trunc(c)?;
        t.vmswap_kb = c.u32().or_trunc(c)?;
        t.pfmajor = c.u64().or_trunc(c)?;
        t.pfminor = c.u64().or_trunc(c)?;
    }
    if version >= 3 {
        t.env = str_limited(c, MAX_ARGS, "env longer than 4096 bytes")?;
    }
    if version >= 4 {
        t.vtid = c.i64().or_trunc(c)?;
        t.vpid = c.i64().or_trunc(c)?;
        t.cgroups = str_limited(c, MAX_ARGS, "cgroups longer than 4096 bytes")?;
    }
    if version >= 5 {
        t.root = str_limited(c, MAX_PATH, "root longer than 1024 bytes")?;
    }
    let Some(entry_len) = entry_len else {
        return Ok(t);
    };
    let used = |c: &Cursor<'_>| c.pos() - start;
    if used(c) > entry_len {
        return err(start, "process entry longer than its entry_len");
    }
    // Fields of the optional tail are present only while entry_len leaves room for them.
    let fits = |c: &Cursor<'_>, n: usize| used(c) + n <= entry_len;
    // libs 0.10 inserted pidns_init_start_ts and tty before loginuid; the older tail is at
    // most 29 bytes long, which is how readers tell the layouts apart.
    if entry_len.saturating_sub(used(c)) > 29 {
        t.pidns_init_start_ts = c.u64().or_trunc(c)?;
        if fits(c, 4) {
            t.tty = c.u32().or_trunc(c)?;
        }
    }
    if fits(c, 4) {
        t.loginuid = c.u32().or_trunc(c)?;
    }
    if fits(c, 1) {
        t.exe_writable = c.u8().or_trunc(c)? != 0;
    }
    if fits(c, 8) {
        t.cap_inheritable = c.u64().or_trunc(c)?;
    }
    if fits(c, 8) {
        t.cap_permitted = c.u64().or_trunc(c)?;
    }
    if fits(c, 8) {
        t.cap_effective = c.u64().or_trunc(c)?;
    }
    if fits(c, 1) {
        t.exe_upper_layer = c.u8().or_trunc(c)? != 0;
    }
    if fits(c, 8) {
        t.exe_ino = c.u64().or_trunc(c)?;
    }
    if fits(c, 8) {
        t.exe_ino_ctime = c.u64().or_trunc(c)?;
    }
    if fits(c, 8) {
        t.exe_ino_mtime = c.u64().or_trunc(c)?;
    }
    if fits(c, 1) {
        t.exe_from_memfd = c.u8().or_trunc(c)? != 0;
    }
    if fits(c, 1) {
        t.exe_lower_layer = c.u8().or_trunc(c)? != 0;
    }
    if fits(c, 8) {
        t.pgid = c.i64().or_trunc(c)?;
    }
    // Unknown trailing fields of newer writers are skipped.
    let rest = entry_len.saturating_sub(used(c));
    c.skip(rest).or_trunc(c)?;
    Ok(t)
}

impl ThreadInfo<'_> {
    /// Appends a PL_V9 entry with the pre-0.10 tail (`loginuid`, `exe_writable`), the layout
    /// that both sysdig 0.29 and current libs read identically (FORMAT.md §8).
    pub(crate) fn encode_v9(&self, out: &mut Vec<u8>) {
        let start = self.encode_v9_head(out);
        out.extend_from_slice(&self.loginuid.to_le_bytes());
        out.push(u8::from(self.exe_writable));
        patch_len(out, start, 0);
    }

    /// Appends a PL_V9 entry with the whole tail of current libs, in their order.
    pub(crate) fn encode_v9_current(&self, out: &mut Vec<u8>) {
        let start = self.encode_v9_head(out);
        out.extend_from_slice(&self.pidns_init_start_ts.to_le_bytes());
        out.extend_from_slice(&self.tty.to_le_bytes());
        out.extend_from_slice(&self.loginuid.to_le_bytes());
        out.push(u8::from(self.exe_writable));
        for v in [self.cap_inheritable, self.cap_permitted, self.cap_effective] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.push(u8::from(self.exe_upper_layer));
        for v in [self.exe_ino, self.exe_ino_ctime, self.exe_ino_mtime] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.push(u8::from(self.exe_from_memfd));
        out.push(u8::from(self.exe_lower_layer));
        out.extend_from_slice(&self.pgid.to_le_bytes());
        patch_len(out, start, 0);
    }

    /// Appends an entry's length placeholder and every field through `root`; returns where
    /// the entry starts, for [`patch_len`].
    fn encode_v9_head(&self, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        out.extend_from_slice(&0u32.to_le_bytes());
        for v in [self.tid, self.pid, self.ptid, self.sid, self.vpgid] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        put_str16(out, self.comm, MAX_PATH);
        put_str16(out, self.exe, MAX_PATH);
        put_str16(out, self.exepath, MAX_PATH);
        put_str16(out, self.args, MAX_ARGS);
        put_str16(out, self.cwd, MAX_PATH);
        out.extend_from_slice(&self.fdlimit.to_le_bytes());
        for v in [self.flags, self.uid, self.gid] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [self.vmsize_kb, self.vmrss_kb, self.vmswap_kb] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.pfmajor.to_le_bytes());
        out.extend_from_slice(&self.pfminor.to_le_bytes());
        put_str16(out, self.env, MAX_ARGS);
        out.extend_from_slice(&self.vtid.to_le_bytes());
        out.extend_from_slice(&self.vpid.to_le_bytes());
        put_str16(out, self.cgroups, MAX_ARGS);
        put_str16(out, self.root, MAX_PATH);
        start
    }
}

/// Writes a str16, truncating to `max` bytes so that readers accept it.
fn put_str16(out: &mut Vec<u8>, s: &[u8], max: usize) {
    let s = s.get(..max.min(s.len())).unwrap_or(s);
    // INVARIANT: `max` ≤ 4096, so the length fits in u16.
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s);
}

/// Back-patches a u32 entry length at `start`; `minus` is subtracted for formats whose
/// length excludes the length field itself.
fn patch_len(out: &mut [u8], start: usize, minus: usize) {
    let len = (out.len() - start - minus) as u32;
    if let Some(slot) = out.get_mut(start..start + 4) {
        slot.copy_from_slice(&len.to_le_bytes());
    }
}

/// A process list block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessList<'a> {
    version: u8,
    // INVARIANT: `body` parsed without error as `version` entries (checked in `parse`).
    body: &'a [u8],
}

impl<'a> ProcessList<'a> {
    /// Validates a process list body of the given layout version (1–9).
    pub fn parse(version: u8, body: &'a [u8]) -> Result<Self, EntryError> {
        validate_entries(body, |c| parse_thread(c, version))?;
        Ok(ProcessList { version, body })
    }

    /// The layout version (1–9).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Iterates the threads.
    pub fn threads(&self) -> impl Iterator<Item = ThreadInfo<'a>> + 'a {
        let version = self.version;
        iter_entries(self.body, move |c| parse_thread(c, version))
    }
}

/// Checks that `body` is a run of entries `parse` accepts; a tail shorter than an entry's
/// length field is padding, as libscap reads it.
fn validate_entries<'a, T>(
    body: &'a [u8],
    mut parse: impl FnMut(&mut Cursor<'a>) -> EntryResult<T>,
) -> Result<(), EntryError> {
    let mut c = Cursor::new(body);
    while c.remaining() >= 4 {
        parse(&mut c)?;
    }
    Ok(())
}

/// Iterates the entries of a body [`validate_entries`] accepted with the same `parse`.
fn iter_entries<'a, T: 'a>(
    body: &'a [u8],
    mut parse: impl FnMut(&mut Cursor<'a>) -> EntryResult<T> + 'a,
) -> impl Iterator<Item = T> + 'a {
    let mut c = Cursor::new(body);
    std::iter::from_fn(move || {
        if c.remaining() < 4 {
            return None;
        }
        parse(&mut c).ok()
    })
}

/// Fd types of the fd list (`SCAP_FD_*`).
pub mod fd_type {
    #![allow(missing_docs)]
    pub const FILE: u8 = 1;
    pub const DIRECTORY: u8 = 2;
    pub const IPV4_SOCK: u8 = 3;
    pub const IPV6_SOCK: u8 = 4;
    pub const IPV4_SERVSOCK: u8 = 5;
    pub const IPV6_SERVSOCK: u8 = 6;
    pub const FIFO: u8 = 7;
    pub const UNIX_SOCK: u8 = 8;
    pub const EVENT: u8 = 9;
    pub const UNSUPPORTED: u8 = 10;
    pub const SIGNALFD: u8 = 11;
    pub const EVENTPOLL: u8 = 12;
    pub const INOTIFY: u8 = 13;
    pub const TIMERFD: u8 = 14;
    pub const NETLINK: u8 = 15;
    pub const FILE_V2: u8 = 16;
    pub const BPF: u8 = 17;
    pub const USERFAULTFD: u8 = 18;
    pub const IOURING: u8 = 19;
    pub const MEMFD: u8 = 20;
    pub const PIDFD: u8 = 21;
}

/// Type-specific data of an fd entry, generic over how its strings are held: a capture's
/// fd list borrows them ([`FdDetail`]); a `/proc` scan owns them (`FdDetailOf<Vec<u8>>`).
/// One definition serves both so that a variant added for one cannot be forgotten in the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdDetailOf<B> {
    /// Types whose payload is just a name.
    Name(B),
    /// A regular file with open flags (FILE_V2).
    FileV2 {
        /// `PPM_O_*` open flags.
        open_flags: u32,
        /// Path.
        name: B,
        /// Device number, when the entry carries it.
        dev: Option<u32>,
    },
    /// A connected IPv4 socket, local end first (as libscap records it); ports in host order.
    Ipv4 {
        /// Source (local) address.
        sip: Ipv4Addr,
        /// Destination (remote) address.
        dip: Ipv4Addr,
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// L4 protocol (2 TCP, 3 UDP, …).
        l4proto: u8,
    },
    /// A connected IPv6 socket, local end first.
    Ipv6 {
        /// Source (local) address.
        sip: Ipv6Addr,
        /// Destination (remote) address.
        dip: Ipv6Addr,
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// L4 protocol.
        l4proto: u8,
    },
    /// An IPv4 socket without a remote end (listening or merely bound).
    Ipv4Server {
        /// Bound address.
        ip: Ipv4Addr,
        /// Bound port.
        port: u16,
        /// L4 protocol.
        l4proto: u8,
    },
    /// An IPv6 socket without a remote end.
    Ipv6Server {
        /// Bound address.
        ip: Ipv6Addr,
        /// Bound port.
        port: u16,
        /// L4 protocol.
        l4proto: u8,
    },
    /// A unix socket: kernel socket pointers and path.
    Unix {
        /// Kernel address of the socket.
        source: u64,
        /// Kernel address of the peer (0 where unknown, as in a `/proc` scan).
        dest: u64,
        /// Path (empty for unnamed sockets).
        path: B,
    },
    /// An fd type this reader does not know (FDL_V2 only; skipped by entry length).
    Unknown,
}

/// Type-specific data of an fd entry as a capture's fd list holds it.
pub type FdDetail<'a> = FdDetailOf<&'a [u8]>;

impl<B: AsRef<[u8]>> FdDetailOf<B> {
    /// The borrowed view, as an fd-list block holds it.
    pub fn as_borrowed(&self) -> FdDetail<'_> {
        match self {
            FdDetailOf::Name(n) => FdDetailOf::Name(n.as_ref()),
            FdDetailOf::FileV2 {
                open_flags,
                name,
                dev,
            } => FdDetailOf::FileV2 {
                open_flags: *open_flags,
                name: name.as_ref(),
                dev: *dev,
            },
            FdDetailOf::Ipv4 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            } => FdDetailOf::Ipv4 {
                sip: *sip,
                dip: *dip,
                sport: *sport,
                dport: *dport,
                l4proto: *l4proto,
            },
            FdDetailOf::Ipv6 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            } => FdDetailOf::Ipv6 {
                sip: *sip,
                dip: *dip,
                sport: *sport,
                dport: *dport,
                l4proto: *l4proto,
            },
            FdDetailOf::Ipv4Server { ip, port, l4proto } => FdDetailOf::Ipv4Server {
                ip: *ip,
                port: *port,
                l4proto: *l4proto,
            },
            FdDetailOf::Ipv6Server { ip, port, l4proto } => FdDetailOf::Ipv6Server {
                ip: *ip,
                port: *port,
                l4proto: *l4proto,
            },
            FdDetailOf::Unix { source, dest, path } => FdDetailOf::Unix {
                source: *source,
                dest: *dest,
                path: path.as_ref(),
            },
            FdDetailOf::Unknown => FdDetailOf::Unknown,
        }
    }
}

/// One fd of a thread's fd table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdInfo<'a> {
    /// File descriptor number.
    pub fd: i64,
    /// Inode.
    pub ino: u64,
    /// `SCAP_FD_*` type (see [`fd_type`]).
    pub fd_type: u8,
    /// Type-specific data.
    pub detail: FdDetail<'a>,
}

fn parse_fd<'a>(c: &mut Cursor<'a>, v2: bool) -> EntryResult<FdInfo<'a>> {
    let start = c.pos();
    let entry_len = if v2 {
        Some(c.u32().or_trunc(c)? as usize)
    } else {
        None
    };
    let fd = c.i64().or_trunc(c)?;
    let ino = c.u64().or_trunc(c)?;
    let ty_at = c.pos();
    let fd_type = c.u8().or_trunc(c)?;
    let name = |c: &mut Cursor<'a>| str_limited(c, MAX_PATH * 4, "fd name longer than 4096 bytes");
    let detail = match fd_type {
        fd_type::IPV4_SOCK => FdDetail::Ipv4 {
            sip: Ipv4Addr::from(c.array::<4>().or_trunc(c)?),
            dip: Ipv4Addr::from(c.array::<4>().or_trunc(c)?),
            sport: c.u16().or_trunc(c)?,
            dport: c.u16().or_trunc(c)?,
            l4proto: c.u8().or_trunc(c)?,
        },
        fd_type::IPV6_SOCK => FdDetail::Ipv6 {
            sip: Ipv6Addr::from(c.array::<16>().or_trunc(c)?),
            dip: Ipv6Addr::from(c.array::<16>().or_trunc(c)?),
            sport: c.u16().or_trunc(c)?,
            dport: c.u16().or_trunc(c)?,
            l4proto: c.u8().or_trunc(c)?,
        },
        fd_type::IPV4_SERVSOCK => FdDetail::Ipv4Server {
            ip: Ipv4Addr::from(c.array::<4>().or_trunc(c)?),
            port: c.u16().or_trunc(c)?,
            l4proto: c.u8().or_trunc(c)?,
        },
        fd_type::IPV6_SERVSOCK => FdDetail::Ipv6Server {
            ip: Ipv6Addr::from(c.array::<16>().or_trunc(c)?),
            port: c.u16().or_trunc(c)?,
            l4proto: c.u8().or_trunc(c)?,
        },
        fd_type::UNIX_SOCK => FdDetail::Unix {
            source: c.u64().or_trunc(c)?,
            dest: c.u64().or_trunc(c)?,
            path: name(c)?,
        },
        fd_type::FILE_V2 => {
            let open_flags = c.u32().or_trunc(c)?;
            let n = name(c)?;
            let dev = match entry_len {
                Some(len) if c.pos() - start + 4 <= len => Some(c.u32().or_trunc(c)?),
                _ => None,
            };
            FdDetail::FileV2 {
                open_flags,
                name: n,
                dev,
            }
        }
        1 | 2 | 7 | 9..=15 | 17..=21 => FdDetail::Name(name(c)?),
        _ if v2 => FdDetail::Unknown,
        _ => return err(ty_at, "unknown fd type in a v1 fd list"),
    };
    if let Some(len) = entry_len {
        let used = c.pos() - start;
        if used > len {
            return err(start, "fd entry longer than its entry_len");
        }
        c.skip(len - used).or_trunc(c)?;
    }
    Ok(FdInfo {
        fd,
        ino,
        fd_type,
        detail,
    })
}

impl FdInfo<'_> {
    /// Appends an FDL_V2 entry.
    pub(crate) fn encode_v2(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&self.fd.to_le_bytes());
        out.extend_from_slice(&self.ino.to_le_bytes());
        out.push(self.fd_type);
        match self.detail {
            FdDetail::Name(n) => put_str16(out, n, MAX_PATH * 4),
            FdDetail::FileV2 {
                open_flags,
                name,
                dev,
            } => {
                out.extend_from_slice(&open_flags.to_le_bytes());
                put_str16(out, name, MAX_PATH * 4);
                if let Some(dev) = dev {
                    out.extend_from_slice(&dev.to_le_bytes());
                }
            }
            FdDetail::Ipv4 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            } => {
                out.extend_from_slice(&sip.octets());
                out.extend_from_slice(&dip.octets());
                out.extend_from_slice(&sport.to_le_bytes());
                out.extend_from_slice(&dport.to_le_bytes());
                out.push(l4proto);
            }
            FdDetail::Ipv6 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            } => {
                out.extend_from_slice(&sip.octets());
                out.extend_from_slice(&dip.octets());
                out.extend_from_slice(&sport.to_le_bytes());
                out.extend_from_slice(&dport.to_le_bytes());
                out.push(l4proto);
            }
            FdDetail::Ipv4Server { ip, port, l4proto } => {
                out.extend_from_slice(&ip.octets());
                out.extend_from_slice(&port.to_le_bytes());
                out.push(l4proto);
            }
            FdDetail::Ipv6Server { ip, port, l4proto } => {
                out.extend_from_slice(&ip.octets());
                out.extend_from_slice(&port.to_le_bytes());
                out.push(l4proto);
            }
            FdDetail::Unix { source, dest, path } => {
                out.extend_from_slice(&source.to_le_bytes());
                out.extend_from_slice(&dest.to_le_bytes());
                put_str16(out, path, MAX_PATH * 4);
            }
            FdDetail::Unknown => {}
        }
        patch_len(out, start, 0);
    }
}

/// The fd table of one thread (one FDL block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdTable<'a> {
    tid: i64,
    v2: bool,
    // INVARIANT: `entries` parsed without error (checked in `parse`).
    entries: &'a [u8],
}

impl<'a> FdTable<'a> {
    /// Validates an FDL (`v2 = false`) or FDL_V2 body.
    pub fn parse(v2: bool, body: &'a [u8]) -> Result<Self, EntryError> {
        let mut c = Cursor::new(body);
        let tid = c.i64().or_trunc(&c)?;
        let entries = c.take(c.remaining()).unwrap_or_default();
        // Entry offsets are reported from the start of the block body, past the tid.
        validate_entries(entries, |c| parse_fd(c, v2))
            .map_err(|x| EntryError { at: x.at + 8, ..x })?;
        Ok(FdTable { tid, v2, entries })
    }

    /// The thread owning these fds.
    pub fn tid(&self) -> i64 {
        self.tid
    }

    /// Iterates the fds.
    pub fn fds(&self) -> impl Iterator<Item = FdInfo<'a>> + 'a {
        let v2 = self.v2;
        iter_entries(self.entries, move |c| parse_fd(c, v2))
    }
}

/// Address data of a network interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfAddr {
    /// IPv4 address, netmask and broadcast.
    V4 {
        /// Address.
        addr: Ipv4Addr,
        /// Netmask.
        netmask: Ipv4Addr,
        /// Broadcast address.
        bcast: Ipv4Addr,
    },
    /// IPv6 address, netmask and broadcast.
    V6 {
        /// Address.
        addr: Ipv6Addr,
        /// Netmask.
        netmask: Ipv6Addr,
        /// Broadcast address.
        bcast: Ipv6Addr,
    },
}

/// One network interface address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interface<'a> {
    /// Interface name.
    pub name: &'a [u8],
    /// Addresses.
    pub addr: IfAddr,
    /// Link speed, when the entry type carries one (types 1 and 2).
    pub linkspeed: Option<u64>,
}

fn parse_iface<'a>(c: &mut Cursor<'a>, v2: bool) -> EntryResult<Interface<'a>> {
    let start = c.pos();
    // IL_V2 entry lengths exclude the length field itself.
    let entry_len = if v2 {
        Some(c.u32().or_trunc(c)? as usize + 4)
    } else {
        None
    };
    let ty_at = c.pos();
    let ty = c.u16().or_trunc(c)?;
    let namelen = usize::from(c.u16().or_trunc(c)?);
    if namelen >= 1024 {
        return err(ty_at, "interface name of 1024 bytes or more");
    }
    let addr = match ty {
        1 | 3 => IfAddr::V4 {
            addr: Ipv4Addr::from(c.array::<4>().or_trunc(c)?),
            netmask: Ipv4Addr::from(c.array::<4>().or_trunc(c)?),
            bcast: Ipv4Addr::from(c.array::<4>().or_trunc(c)?),
        },
        2 | 4 => IfAddr::V6 {
            addr: Ipv6Addr::from(c.array::<16>().or_trunc(c)?),
            netmask: Ipv6Addr::from(c.array::<16>().or_trunc(c)?),
            bcast: Ipv6Addr::from(c.array::<16>().or_trunc(c)?),
        },
        _ => return err(ty_at, "unknown interface entry type"),
    };
    let linkspeed = if ty <= 2 {
        Some(c.u64().or_trunc(c)?)
    } else {
        None
    };
    let name = c.take(namelen).or_trunc(c)?;
    if let Some(len) = entry_len {
        let used = c.pos() - start;
        if used > len {
            return err(start, "interface entry longer than its entry_len");
        }
        c.skip(len - used).or_trunc(c)?;
    }
    Ok(Interface {
        name,
        addr,
        linkspeed,
    })
}

impl Interface<'_> {
    /// Appends an IL_V2 entry (types 1 and 2 carry a link speed; 3 and 4 when it is `None`).
    pub(crate) fn encode_v2(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&0u32.to_le_bytes());
        let name = self
            .name
            .get(..self.name.len().min(1023))
            .unwrap_or_default();
        let ty: u16 = match (self.addr, self.linkspeed) {
            (IfAddr::V4 { .. }, Some(_)) => 1,
            (IfAddr::V6 { .. }, Some(_)) => 2,
            (IfAddr::V4 { .. }, None) => 3,
            (IfAddr::V6 { .. }, None) => 4,
        };
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        match self.addr {
            IfAddr::V4 {
                addr,
                netmask,
                bcast,
            } => {
                for a in [addr, netmask, bcast] {
                    out.extend_from_slice(&a.octets());
                }
            }
            IfAddr::V6 {
                addr,
                netmask,
                bcast,
            } => {
                for a in [addr, netmask, bcast] {
                    out.extend_from_slice(&a.octets());
                }
            }
        }
        if let Some(speed) = self.linkspeed {
            out.extend_from_slice(&speed.to_le_bytes());
        }
        out.extend_from_slice(name);
        patch_len(out, start, 4);
    }
}

/// An interface list block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceList<'a> {
    v2: bool,
    // INVARIANT: `body` parsed without error (checked in `parse`).
    body: &'a [u8],
}

impl<'a> InterfaceList<'a> {
    /// Validates an IL (`v2 = false`) or IL_V2 body.
    pub fn parse(v2: bool, body: &'a [u8]) -> Result<Self, EntryError> {
        validate_entries(body, |c| parse_iface(c, v2))?;
        Ok(InterfaceList { v2, body })
    }

    /// Iterates the interfaces.
    pub fn interfaces(&self) -> impl Iterator<Item = Interface<'a>> + 'a {
        let v2 = self.v2;
        iter_entries(self.body, move |c| parse_iface(c, v2))
    }
}

/// A user of the user table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserInfo<'a> {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Name.
    pub name: &'a [u8],
    /// Home directory.
    pub homedir: &'a [u8],
    /// Shell.
    pub shell: &'a [u8],
}

/// A group of the group table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupInfo<'a> {
    /// Group id.
    pub gid: u32,
    /// Name.
    pub name: &'a [u8],
}

/// One entry of a user/group list block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserEntry<'a> {
    /// A user.
    User(UserInfo<'a>),
    /// A group.
    Group(GroupInfo<'a>),
}

const MAX_USER_STR: usize = 255;

fn parse_user<'a>(c: &mut Cursor<'a>, v2: bool) -> EntryResult<UserEntry<'a>> {
    let start = c.pos();
    let entry_len = if v2 {
        Some(c.u32().or_trunc(c)? as usize)
    } else {
        None
    };
    let kind_at = c.pos();
    let s =
        |c: &mut Cursor<'a>| str_limited(c, MAX_USER_STR, "user/group string of 256 bytes or more");
    let entry = match c.u8().or_trunc(c)? {
        0 => UserEntry::User(UserInfo {
            uid: c.u32().or_trunc(c)?,
            gid: c.u32().or_trunc(c)?,
            name: s(c)?,
            homedir: s(c)?,
            shell: s(c)?,
        }),
        1 => UserEntry::Group(GroupInfo {
            gid: c.u32().or_trunc(c)?,
            name: s(c)?,
        }),
        _ => return err(kind_at, "unknown user list entry kind"),
    };
    if let Some(len) = entry_len {
        let used = c.pos() - start;
        if used > len {
            return err(start, "user entry longer than its entry_len");
        }
        c.skip(len - used).or_trunc(c)?;
    }
    Ok(entry)
}

impl UserEntry<'_> {
    /// Appends a UL_V2 entry.
    pub(crate) fn encode_v2(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&0u32.to_le_bytes());
        match self {
            UserEntry::User(u) => {
                out.push(0);
                out.extend_from_slice(&u.uid.to_le_bytes());
                out.extend_from_slice(&u.gid.to_le_bytes());
                put_str16(out, u.name, MAX_USER_STR);
                put_str16(out, u.homedir, MAX_USER_STR);
                put_str16(out, u.shell, MAX_USER_STR);
            }
            UserEntry::Group(g) => {
                out.push(1);
                out.extend_from_slice(&g.gid.to_le_bytes());
                put_str16(out, g.name, MAX_USER_STR);
            }
        }
        patch_len(out, start, 0);
    }
}

/// A user/group list block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserList<'a> {
    v2: bool,
    // INVARIANT: `body` parsed without error (checked in `parse`).
    body: &'a [u8],
}

impl<'a> UserList<'a> {
    /// Validates a UL (`v2 = false`) or UL_V2 body.
    pub fn parse(v2: bool, body: &'a [u8]) -> Result<Self, EntryError> {
        validate_entries(body, |c| parse_user(c, v2))?;
        Ok(UserList { v2, body })
    }

    /// Iterates users and groups in file order.
    pub fn entries(&self) -> impl Iterator<Item = UserEntry<'a>> + 'a {
        let v2 = self.v2;
        iter_entries(self.body, move |c| parse_user(c, v2))
    }
}
