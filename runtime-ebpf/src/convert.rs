//! Kernel records turned into driver events.
//!
//! The state engine consumes [`lanner_event::Event`]s, the same view a
//! capture file yields. [`Converter::to_event`] writes, for each ring-buffer
//! record it knows, the bytes of the newest exit event of the record's
//! syscall in the driver's v2 layout (`ppm_evt_hdr`, parameter lengths,
//! values) into a caller-owned buffer and returns where they are, so that
//! [`Event::parse_v2`] views them without an allocation per event:
//!
//! ```no_run
//! # use lanner_ebpf::convert::Converter;
//! # let record: &[u8] = &[];
//! let conv = Converter::new();
//! let mut buf = Vec::new();
//! if let Some(ev) = conv.to_event(record, &mut buf) {
//!     let event = ev.event(&buf).ok();
//! }
//! ```
//!
//! Every parameter of the event's schema is written in its wire encoding
//! (FORMAT.md §6). Values come from the record's registers, result, header
//! and copied strings; flags are translated from the kernel's bits to the
//! `PPM_*` bits of the flag tables where the two differ (open flags,
//! `RESOLVE_*`, clone flags, ptrace requests). A parameter the record does
//! not carry (an inode, a cwd, the environment, capabilities) is written
//! with length 0, which current libs read as "absent".
//!
//! Process exits (`sched_process_exit`) become `procexit` events. Exec and
//! fork records have no event of their own: the state engine learns of new
//! processes and threads from the `execve`/`clone` exit events (the child's
//! `clone` exit, with result 0, is recorded too), so those records convert
//! to `None`.

use std::ops::Range;

use lanner_event::table::{Direction, EventFlags, EventInfo, ParamInfo, ParamType, TableVersion};
use lanner_event::{Event, EventError};

use crate::programs::{
    MAX_SYSCALLS, ProcRecord, Record, RecordKind, SyscallRecord, plan, syscall_items,
    syscall_layout,
};

/// Where [`Converter::to_event`] wrote one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    /// The CPU the record was written on (events carry it outside the
    /// header, as event blocks do).
    pub cpu: u16,
    /// The event's bytes in the buffer passed to `to_event`.
    pub range: Range<usize>,
}

impl Converted {
    /// The event, viewed in `buf` (the buffer passed to `to_event`).
    pub fn event<'a>(&self, buf: &'a [u8]) -> Result<Event<'a>, EventError> {
        let bytes = buf.get(self.range.clone()).unwrap_or_default();
        Event::parse_v2(self.cpu, 0, bytes).map(|(ev, _)| ev)
    }
}

/// Turns records into events. Holds the offset from the kernel's monotonic
/// clock (`bpf_ktime_get_ns`) to the epoch, since events carry wall-clock
/// time.
#[derive(Clone, Debug)]
pub struct Converter {
    epoch_offset_ns: u64,
    /// For each syscall id below [`MAX_SYSCALLS`], its name and newest exit
    /// event: looked up once here rather than by scanning the event table
    /// for every record.
    exits: Vec<Option<(&'static str, &'static EventInfo)>>,
    /// Cgroup subsystem names by subsystem id, the order of the kernel's
    /// `css_set.subsys` and of `/proc/cgroups`.
    cgroup_subsystems: Vec<String>,
}

impl Default for Converter {
    fn default() -> Self {
        Self::new()
    }
}

/// `CLOCK_MONOTONIC` and `CLOCK_REALTIME` now, in ns.
fn clocks() -> (u64, u64) {
    let read = |clock| {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec and the clock ids are
        // ones every Linux kernel supports.
        let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
        if rc != 0 {
            return 0;
        }
        u64::try_from(ts.tv_sec)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::try_from(ts.tv_nsec).unwrap_or(0))
    };
    let mono = read(libc::CLOCK_MONOTONIC);
    let real = read(libc::CLOCK_REALTIME);
    (mono, real)
}

impl Converter {
    /// A converter whose epoch offset is measured now.
    pub fn new() -> Self {
        let (mono, real) = clocks();
        let subsystems = std::fs::read_to_string("/proc/cgroups")
            .map(|text| cgroup_subsystems(&text))
            .unwrap_or_default();
        Self::with_epoch_offset(real.saturating_sub(mono)).with_cgroup_subsystems(subsystems)
    }

    /// Names the cgroup subsystems by id (as `/proc/cgroups` lists them);
    /// without names, records' cgroup paths are left out of events.
    pub fn with_cgroup_subsystems(mut self, names: Vec<String>) -> Self {
        self.cgroup_subsystems = names;
        self
    }

    /// Measures the epoch offset again. The two clocks drift apart when the
    /// wall clock is adjusted (NTP, a manual set), so a long-running reader
    /// calls this from time to time.
    pub fn resync_clock(&mut self) {
        let (mono, real) = clocks();
        self.epoch_offset_ns = real.saturating_sub(mono);
    }

    /// A converter with a given offset from `bpf_ktime_get_ns` to the epoch
    /// (0 keeps kernel time, for tests).
    pub fn with_epoch_offset(epoch_offset_ns: u64) -> Self {
        let exits = (0..i64::from(MAX_SYSCALLS))
            .map(|id| {
                let name = syscall_name(id)?;
                Some((name, exit_event(name)?))
            })
            .collect();
        Converter {
            epoch_offset_ns,
            exits,
            cgroup_subsystems: Vec::new(),
        }
    }

    /// Appends the event of a ring-buffer record to `out` and returns where
    /// it is; `None` for a malformed record or one without an event (a
    /// syscall this module does not convert, an exec or fork record).
    pub fn to_event(&self, record: &[u8], out: &mut Vec<u8>) -> Option<Converted> {
        match Record::parse(record)? {
            Record::Syscall(rec) => {
                let items = syscall_items(record)?;
                self.syscall_event(&rec, &items, out)
            }
            Record::Proc(rec) => self.proc_event(&rec, out),
        }
    }

    fn syscall_event(
        &self,
        rec: &SyscallRecord,
        items: &[&[u8]; syscall_layout::ITEMS],
        out: &mut Vec<u8>,
    ) -> Option<Converted> {
        let (name, info) = usize::try_from(rec.id)
            .ok()
            .and_then(|id| self.exits.get(id).copied().flatten())?;
        let ts = rec.header.ktime_ns.saturating_add(self.epoch_offset_ns);
        let cx = Ctx {
            name,
            rec,
            items,
            subsystems: &self.cgroup_subsystems,
        };
        let range = write_event(out, ts, i64::from(rec.header.pid), info, |p, out| {
            cx.param(p, out)
        });
        Some(Converted {
            cpu: cpu16(rec.header.cpu),
            range,
        })
    }

    fn proc_event(&self, rec: &ProcRecord, out: &mut Vec<u8>) -> Option<Converted> {
        if rec.header.kind != RecordKind::Exit {
            return None;
        }
        let info = TableVersion::Current.event(PROCEXIT_1_E)?;
        let ts = rec.header.ktime_ns.saturating_add(self.epoch_offset_ns);
        let status = rec.extra;
        let range = write_event(out, ts, i64::from(rec.pid), info, |p, out| {
            match p.name {
                "status" => put_i64(out, i64::from(status)),
                // The decoding of a wait status (WEXITSTATUS, WTERMSIG,
                // WCOREDUMP), as the driver does it.
                "ret" => put_i64(out, i64::from((status >> 8) & 0xff)),
                "sig" => out.push((status & 0x7f) as u8),
                "core" => out.push(u8::from(status & 0x80 != 0)),
                _ => {}
            }
        });
        Some(Converted {
            cpu: cpu16(rec.header.cpu),
            range,
        })
    }
}

/// The converted syscalls the state engine needs whatever the rules: those
/// whose events change its thread or fd tables (`EF_MODIFIES_STATE`, fd
/// creation or destruction) and the working-directory changes. A live
/// reader wants these in the prefilter besides the ones its rules name, so
/// that processes, descriptors and connections stay known.
pub fn state_syscalls() -> Vec<u32> {
    (0..MAX_SYSCALLS)
        .filter(|&id| {
            let Some(name) = syscall_name(i64::from(id)) else {
                return false;
            };
            let Some(info) = exit_event(name) else {
                return false;
            };
            let f = info.flags;
            f.contains(EventFlags::MODIFIES_STATE)
                || f.contains(EventFlags::CREATES_FD)
                || f.contains(EventFlags::DESTROYS_FD)
                || matches!(name, "chdir" | "fchdir" | "setsid" | "setpgid")
        })
        .collect()
}

/// Subsystem names from the text of `/proc/cgroups`, in its row order
/// (subsystem id order).
pub fn cgroup_subsystems(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// `PPME_PROCEXIT_1_E`.
const PROCEXIT_1_E: u16 = 186;

fn cpu16(cpu: u32) -> u16 {
    u16::try_from(cpu).unwrap_or(u16::MAX)
}

/// The newest exit event of a syscall, from the current table.
pub fn exit_event(name: &str) -> Option<&'static EventInfo> {
    TableVersion::Current
        .events()
        .iter()
        .filter(|e| {
            e.name == name
                && e.direction == Direction::Exit
                && !e.is_unused()
                && !e.flags.contains(EventFlags::OLD_VERSION)
        })
        .max_by_key(|e| e.id)
}

/// The syscalls converted, by x86-64 syscall id.
pub fn syscall_name(id: i64) -> Option<&'static str> {
    Some(match id {
        2 => "open",
        257 => "openat",
        437 => "openat2",
        85 => "creat",
        59 => "execve",
        322 => "execveat",
        42 => "connect",
        43 => "accept",
        288 => "accept4",
        49 => "bind",
        50 => "listen",
        41 => "socket",
        3 => "close",
        32 => "dup",
        33 => "dup2",
        292 => "dup3",
        90 => "chmod",
        91 => "fchmod",
        268 => "fchmodat",
        // fchmodat2 has no event of its own; libs report it as fchmodat.
        452 => "fchmodat",
        87 => "unlink",
        263 => "unlinkat",
        82 => "rename",
        264 => "renameat",
        316 => "renameat2",
        83 => "mkdir",
        258 => "mkdirat",
        84 => "rmdir",
        88 => "symlink",
        266 => "symlinkat",
        86 => "link",
        265 => "linkat",
        105 => "setuid",
        106 => "setgid",
        117 => "setresuid",
        119 => "setresgid",
        101 => "ptrace",
        165 => "mount",
        166 => "umount2",
        175 => "init_module",
        313 => "finit_module",
        319 => "memfd_create",
        321 => "bpf",
        80 => "chdir",
        81 => "fchdir",
        22 => "pipe",
        293 => "pipe2",
        53 => "socketpair",
        72 => "fcntl",
        112 => "setsid",
        109 => "setpgid",
        113 => "setreuid",
        114 => "setregid",
        56 => "clone",
        435 => "clone3",
        57 => "fork",
        58 => "vfork",
        308 => "setns",
        272 => "unshare",
        323 => "userfaultfd",
        44 => "sendto",
        45 => "recvfrom",
        46 => "sendmsg",
        47 => "recvmsg",
        _ => return None,
    })
}

/// Writes a v2 event: header, `nparams` lengths (u16, or u32 for
/// large-payload events), then each parameter as `fill` appends it. A
/// parameter `fill` leaves empty gets length 0.
fn write_event(
    out: &mut Vec<u8>,
    ts: u64,
    tid: i64,
    info: &EventInfo,
    mut fill: impl FnMut(&ParamInfo, &mut Vec<u8>),
) -> Range<usize> {
    let start = out.len();
    let wide = info.large_payload();
    let width = if wide { 4 } else { 2 };
    let nparams = info.params.len();
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(&tid.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&info.id.to_le_bytes());
    out.extend_from_slice(&u32::try_from(nparams).unwrap_or(0).to_le_bytes());
    let lens_at = out.len();
    out.resize(lens_at + width * nparams, 0);
    for (i, p) in info.params.iter().enumerate() {
        let before = out.len();
        fill(p, out);
        let mut len = out.len() - before;
        // A fixed-size value of the wrong size would make the event
        // undecodable: it is dropped (absent) instead.
        if let Some(size) = p.ptype.fixed_size()
            && len != 0
            && len != size
            && p.ptype != ParamType::Dyn
        {
            out.truncate(before);
            len = 0;
        }
        // Non-large events cap a value at u16: longer ones are cut, which
        // only the 4096-byte items could approach and never exceed.
        if !wide && len > usize::from(u16::MAX) {
            out.truncate(before + usize::from(u16::MAX));
            len = usize::from(u16::MAX);
        }
        let at = lens_at + width * i;
        let bytes = u32::try_from(len).unwrap_or(0).to_le_bytes();
        if let Some(slot) = out.get_mut(at..at + width) {
            slot.copy_from_slice(bytes.get(..width).unwrap_or_default());
        }
    }
    let len = u32::try_from(out.len() - start).unwrap_or(u32::MAX);
    if let Some(slot) = out.get_mut(start + 16..start + 20) {
        slot.copy_from_slice(&len.to_le_bytes());
    }
    start..out.len()
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A copied string as a `PT_CHARBUF`/`PT_FSPATH`: up to its first NUL, with
/// the NUL the encoding counts. An empty copy (a failed read) stays absent.
fn put_cstr(out: &mut Vec<u8>, s: &[u8]) {
    if s.is_empty() {
        return;
    }
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    out.extend_from_slice(s.get(..end).unwrap_or_default());
    out.push(0);
}

/// What one syscall record provides to its event's parameters.
struct Ctx<'r> {
    name: &'static str,
    rec: &'r SyscallRecord,
    items: &'r [&'r [u8]; syscall_layout::ITEMS],
    subsystems: &'r [String],
}

impl Ctx<'_> {
    fn arg(&self, i: usize) -> u64 {
        self.rec.args.get(i).copied().unwrap_or(0)
    }

    /// An `int` argument: the register holds it zero-extended, the event
    /// wants it sign-extended.
    fn int_arg(&self, i: usize) -> i64 {
        i64::from(self.arg(i) as u32 as i32)
    }

    fn item(&self, k: usize) -> &[u8] {
        self.items.get(k).copied().unwrap_or_default()
    }

    /// The `TASK_IDS` item, found through the plan the program followed:
    /// `[ptid, vtid, vpid, parent pid, loginuid, tty index, tty major, tty
    /// minor start]`.
    fn task_ids(&self) -> Option<[u32; 8]> {
        let k = (0..syscall_layout::ITEMS)
            .find(|&k| plan::decode(self.rec.plan, k).0 == plan::TASK_IDS)?;
        let b = self.item(k);
        let word = |i: usize| -> Option<u32> {
            Some(u32::from_le_bytes(
                b.get(4 * i..4 * i + 4)?.try_into().ok()?,
            ))
        };
        Some([
            word(0)?,
            word(1)?,
            word(2)?,
            word(3)?,
            word(4)?,
            word(5)?,
            word(6)?,
            word(7)?,
        ])
    }

    /// The controlling terminal as the driver reports it: the encoded
    /// device number `MKDEV(major, minor_start) + index`, 0 for none.
    fn tty(&self) -> Option<u32> {
        let ids = self.task_ids()?;
        let [.., index, major, minor_start] = ids;
        if major == 0 && minor_start == 0 && index == 0 {
            return Some(0);
        }
        let dev = ((major << 20) | minor_start).wrapping_add(index);
        Some(encode_dev(dev))
    }

    /// The `FILE_INFO` item: `(f_mode, s_dev, i_ino)` of the opened file.
    fn file_info(&self) -> Option<(u32, u32, u64)> {
        let k = (0..syscall_layout::ITEMS)
            .find(|&k| plan::decode(self.rec.plan, k).0 == plan::FILE_INFO)?;
        let b = self.item(k);
        Some((
            u32::from_le_bytes(b.get(0..4)?.try_into().ok()?),
            u32::from_le_bytes(b.get(4..8)?.try_into().ok()?),
            u64::from_le_bytes(b.get(8..16)?.try_into().ok()?),
        ))
    }

    /// `PPM_O_F_CREATED` when the open created the file (`FMODE_CREATED`).
    fn created(&self) -> u32 {
        match self.file_info() {
            Some((mode, _, _)) if mode & FMODE_CREATED != 0 => ppm_o::F_CREATED,
            _ => 0,
        }
    }

    /// The `cgroups` parameter: `subsystem=/path` entries, NUL-terminated,
    /// from the `CGROUPS` item (components leaf first, an empty string
    /// after each subsystem). Absent without the item or subsystem names.
    fn put_cgroups(&self, out: &mut Vec<u8>) {
        let Some(k) =
            (0..syscall_layout::ITEMS).find(|&k| plan::decode(self.rec.plan, k).0 == plan::CGROUPS)
        else {
            return;
        };
        let item = self.item(k);
        if item.is_empty() || self.subsystems.is_empty() {
            return;
        }
        let mut components: Vec<&[u8]> = Vec::new();
        let mut subsys = 0;
        for part in item.split(|&c| c == 0) {
            if !part.is_empty() {
                components.push(part);
                continue;
            }
            // The empty string closing subsystem `subsys`; the final split
            // after the last NUL is empty too and closes nothing.
            if let Some(name) = self.subsystems.get(subsys) {
                out.extend_from_slice(name.as_bytes());
                out.push(b'=');
                if components.is_empty() {
                    out.push(b'/');
                }
                for c in components.iter().rev() {
                    out.push(b'/');
                    out.extend_from_slice(c);
                }
                out.push(0);
            }
            components.clear();
            subsys += 1;
            if subsys >= self.subsystems.len() {
                break;
            }
        }
    }

    /// The socket-tuple item (either kind), decoded: `(local, remote)` ends
    /// of an IPv4 or IPv6 socket. `None` when the item is missing or the
    /// socket is of another family.
    fn sock_ends(&self) -> Option<(Addr<'static>, Addr<'static>)> {
        let k = (0..syscall_layout::ITEMS).find(|&k| {
            let kind = plan::decode(self.rec.plan, k).0;
            kind == plan::SOCK_TUPLE || kind == plan::SOCK_TUPLE_RET
        })?;
        let b = self.item(k);
        let u16_at = |at: usize| -> Option<u16> {
            Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
        };
        let family = u16_at(0)?;
        let lport = u16_at(2)?;
        // skc_dport is in network order; skc_num in host order.
        let rport = u16::from_be(u16_at(4)?);
        match family {
            AF_INET => Some((
                Addr::V4(b.get(8..12)?.try_into().ok()?, lport),
                Addr::V4(b.get(12..16)?.try_into().ok()?, rport),
            )),
            AF_INET6 => Some((
                Addr::V6(b.get(16..32)?.try_into().ok()?, lport),
                Addr::V6(b.get(32..48)?.try_into().ok()?, rport),
            )),
            _ => None,
        }
    }

    /// The event's `tuple`: from the kernel socket when the record has it
    /// (connect: local → remote; accept: remote peer → local), otherwise
    /// from the copied sockaddr alone.
    fn put_tuple(&self, out: &mut Vec<u8>) {
        let accept = self.name != "connect";
        match self.sock_ends() {
            Some((local, remote)) => {
                let (src, dst) = if accept {
                    (remote, local)
                } else {
                    (local, remote)
                };
                put_tuple_ends(out, &src, &dst);
            }
            None if accept => put_tuple(out, Some(self.item(0)), None),
            None => put_tuple(out, None, Some(self.item(0))),
        }
    }

    /// The tuple of a send or receive on an IP socket: the socket's own end
    /// and its peer, or the address the call names when it names one (an
    /// unconnected datagram socket); outbound for sends, inbound (peer
    /// first) for receives. Absent without the kernel socket's ends.
    fn put_io_tuple(&self, out: &mut Vec<u8>) {
        let Some((local, remote)) = self.sock_ends() else {
            return;
        };
        let named = match parse_sockaddr(self.item(1)) {
            Some(a @ (Addr::V4(..) | Addr::V6(..))) => a,
            _ => remote,
        };
        if matches!(self.name, "sendto" | "sendmsg") {
            put_tuple_ends(out, &local, &named);
        } else {
            put_tuple_ends(out, &named, &local);
        }
    }

    /// The `TASK_IDS` item's bytes.
    fn task_item(&self) -> &[u8] {
        (0..syscall_layout::ITEMS)
            .find(|&k| plan::decode(self.rec.plan, k).0 == plan::TASK_IDS)
            .map(|k| self.item(k))
            .unwrap_or_default()
    }

    /// The `u32` at byte `at` of the `TASK_IDS` item.
    fn task_u32(&self, at: i32) -> Option<u32> {
        let at = usize::try_from(at).ok()?;
        let b = self.task_item().get(at..at + 4)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }

    /// The `u64` at byte `at` of the `TASK_IDS` item.
    fn task_u64(&self, at: i32) -> Option<u64> {
        let at = usize::try_from(at).ok()?;
        let b = self.task_item().get(at..at + 8)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }

    /// The working directory the kernel walk found, as `d_path` writes it
    /// (`/` and the components root first), absent when the walk stopped
    /// before the namespace's root (then the state keeps what it knows).
    fn cwd(&self) -> Option<Vec<u8>> {
        use plan::task_ids as at;
        if self.task_u32(at::CWD_DONE)? != 1 {
            return None;
        }
        let tail = self
            .task_item()
            .get(usize::try_from(at::SIZE).ok()?..)
            .unwrap_or_default();
        let mut parts: Vec<&[u8]> = tail.split(|&c| c == 0).filter(|p| !p.is_empty()).collect();
        parts.reverse();
        let mut path = Vec::with_capacity(tail.len() + 1);
        for p in &parts {
            path.push(b'/');
            path.extend_from_slice(p);
        }
        if path.is_empty() {
            path.push(b'/');
        }
        Some(path)
    }

    /// The executable's flags as the driver reports them (`PPM_EXE_*`):
    /// writable by the task (owner, group or other write bit for its ids,
    /// or `CAP_DAC_OVERRIDE`), from a memfd (an unlinked file whose
    /// dentry is named `memfd:…`), and its overlayfs layer.
    fn exe_flags(&self) -> Option<u32> {
        use plan::task_ids as at;
        let ino = self.task_u64(at::EXE_INO)?;
        if ino == 0 {
            return None;
        }
        let mode = self.task_u32(at::EXE_MODE)?;
        let (uid, gid) = (self.rec.header.uid, self.rec.header.gid);
        let caps = self.task_u64(at::CAP_EFFECTIVE)?;
        let writable = (self.task_u32(at::EXE_UID)? == uid && mode & 0o200 != 0)
            || (self.task_u32(at::EXE_GID)? == gid && mode & 0o020 != 0)
            || mode & 0o002 != 0
            || caps & (1 << CAP_DAC_OVERRIDE) != 0;
        let name = self.task_item().get(
            usize::try_from(at::EXE_NAME).unwrap_or(0)..usize::try_from(at::ARG_LEN).unwrap_or(0),
        )?;
        let memfd = name.starts_with(b"memfd:") && self.task_u32(at::EXE_NLINK)? == 0;
        let mut flags = 0;
        // On overlayfs a file with an upper dentry lives in (or was copied
        // up to) the upper layer; otherwise it is only in a lower one.
        if self.task_u32(at::EXE_SB_MAGIC) == Some(plan::OVERLAYFS_SUPER_MAGIC_U32) {
            if self.task_u64(at::EXE_UPPER_INO).unwrap_or(0) != 0 {
                flags |= ppm_exe::UPPER_LAYER;
            } else {
                flags |= ppm_exe::LOWER_LAYER;
            }
        }
        if writable {
            flags |= ppm_exe::WRITABLE;
        }
        if memfd {
            flags |= ppm_exe::FROM_MEMFD;
        }
        Some(flags)
    }

    /// An inode time (`sec`, `nsec` members) as a `PT_ABSTIME`, absent
    /// without an executable.
    fn put_exe_time(&self, out: &mut Vec<u8>, sec: i32, nsec: i32) {
        if self.task_u64(plan::task_ids::EXE_INO).unwrap_or(0) == 0 {
            return;
        }
        if let (Some(s), Some(ns)) = (self.task_u64(sec), self.task_u32(nsec)) {
            // The ctime's nsec word carries `I_CTIME_QUERIED` in its top
            // bit (multigrain timestamps); a nanosecond count never does.
            let ns = ns & !I_CTIME_QUERIED;
            put_u64(
                out,
                s.saturating_mul(1_000_000_000)
                    .saturating_add(u64::from(ns)),
            );
        }
    }

    /// A task id of the `TASK_IDS` item as a `PT_PID`; absent when the item
    /// is missing or the kernel read failed (0 is no task's id here).
    fn put_task_id(&self, out: &mut Vec<u8>, i: usize) {
        if let Some(id) = self.task_ids().and_then(|ids| ids.get(i).copied())
            && id != 0
        {
            put_i64(out, i64::from(id));
        }
    }

    /// The argument register of a file-descriptor parameter that is not the
    /// result.
    fn fd_arg(&self, param: &str) -> Option<usize> {
        Some(match (self.name, param) {
            (_, "fd" | "oldfd" | "dirfd" | "olddirfd" | "olddir") => 0,
            ("symlinkat", "linkdirfd") => 1,
            (_, "newfd") => 1,
            (_, "newdirfd" | "newdir") => 2,
            _ => return None,
        })
    }

    fn creates_fd(&self) -> bool {
        matches!(
            self.name,
            "open"
                | "openat"
                | "openat2"
                | "creat"
                | "socket"
                | "accept"
                | "accept4"
                | "memfd_create"
                | "bpf"
        )
    }

    /// The copied item that holds a string parameter.
    fn string_item(&self, param: &str) -> Option<usize> {
        Some(match (self.name, param) {
            ("mount", "dev") => 0,
            ("mount", "dir") => 1,
            ("mount", "type") => 2,
            ("execve", "filename") => 0,
            (_, "name" | "path" | "filename" | "oldpath" | "target" | "uargs") => 0,
            (_, "newpath" | "linkpath") => 1,
            _ => return None,
        })
    }

    fn param(&self, p: &ParamInfo, out: &mut Vec<u8>) {
        let rec = self.rec;
        let name = p.name;
        match (self.name, name) {
            (_, "res") => put_i64(out, rec.ret),
            ("bpf" | "memfd_create", "fd") => put_i64(out, rec.ret),
            (_, "fd") if self.creates_fd() => put_i64(out, rec.ret),
            (_, "fd" | "oldfd" | "newfd" | "dirfd" | "olddirfd" | "newdirfd" | "olddir")
            | (_, "newdir" | "linkdirfd") => {
                if let Some(i) = self.fd_arg(name) {
                    put_i64(out, self.int_arg(i));
                }
            }
            ("execve" | "execveat", _) => self.exec_param(name, out),
            ("clone" | "clone3" | "fork" | "vfork", _) => self.clone_param(name, out),
            ("open" | "openat" | "openat2" | "creat", "dev" | "ino") => {
                // Present even after a failed open (zero), as the driver
                // writes them.
                let (_, dev, ino) = self.file_info().unwrap_or((0, 0, 0));
                if name == "dev" {
                    put_u32(out, encode_dev(dev));
                } else {
                    put_u64(out, ino);
                }
            }
            ("creat", "creat_flags") => put_u16(out, 0),
            ("open", "flags") => put_u32(out, open_flags(self.arg(1)) | self.created()),
            ("open", "mode") => put_u32(out, open_mode(self.arg(1), self.arg(2))),
            ("openat", "flags") => put_u32(out, open_flags(self.arg(2)) | self.created()),
            ("openat", "mode") => put_u32(out, open_mode(self.arg(2), self.arg(3))),
            ("openat2", "flags" | "mode" | "resolve") => {
                // `struct open_how { u64 flags, mode, resolve; }`.
                let how = self.item(1);
                let field = |i: usize| -> Option<u64> {
                    let b = how.get(8 * i..8 * i + 8)?;
                    Some(u64::from_le_bytes(b.try_into().ok()?))
                };
                if let (Some(flags), Some(mode), Some(resolve)) = (field(0), field(1), field(2)) {
                    match name {
                        "flags" => put_u32(out, open_flags(flags) | self.created()),
                        "mode" => put_u32(out, open_mode(flags, mode)),
                        _ => put_u32(out, resolve_flags(resolve)),
                    }
                }
            }
            ("creat", "mode") => put_u32(out, open_mode(O_CREAT, self.arg(1))),
            ("chmod" | "fchmod" | "mkdir", "mode") => put_u32(out, mode_bits(self.arg(1))),
            ("fchmodat" | "mkdirat", "mode") => put_u32(out, mode_bits(self.arg(2))),
            ("dup3", "flags") => put_u32(out, dup3_flags(self.arg(2))),
            ("unlinkat", "flags") => put_u32(out, (self.arg(2) & AT_REMOVEDIR) as u32),
            ("renameat2" | "linkat", "flags") => put_u32(out, self.arg(4) as u32),
            ("accept4", "flags") => put_u32(out, self.arg(3) as u32),
            ("mount", "flags") => put_u32(out, mount_flags(self.arg(3))),
            ("umount2", "flags") => put_u32(out, (self.arg(1) & 0xf) as u32),
            ("finit_module", "flags") => put_u32(out, (self.arg(2) & 0x7) as u32),
            ("memfd_create", "flags") => put_u32(out, (self.arg(1) & 0x7) as u32),
            ("init_module", "length") => put_u64(out, self.arg(1)),
            ("listen", "backlog") => put_u32(out, self.arg(1) as u32),
            ("socket", "domain") => put_u32(out, self.arg(0) as u32),
            ("socket", "type") => put_u32(out, self.arg(1) as u32),
            ("socket", "proto") => put_u32(out, self.arg(2) as u32),
            ("bpf", "cmd") => put_u32(out, self.arg(0) as u32),
            ("setuid" | "setgid", "uid" | "gid") => put_u32(out, self.arg(0) as u32),
            ("setresuid" | "setresgid" | "setreuid" | "setregid", "ruid" | "rgid") => {
                put_u32(out, self.arg(0) as u32)
            }
            ("setresuid" | "setresgid" | "setreuid" | "setregid", "euid" | "egid") => {
                put_u32(out, self.arg(1) as u32)
            }
            ("setpgid", "pid") => put_i64(out, self.int_arg(0)),
            ("setpgid", "pgid") => put_i64(out, self.int_arg(1)),
            ("pipe" | "pipe2" | "socketpair", "fd1" | "fd2") => {
                let at = if name == "fd1" { 0 } else { 4 };
                if let Some(b) = self.item(0).get(at..at + 4) {
                    let fd = i32::from_le_bytes(b.try_into().unwrap_or([0; 4]));
                    put_i64(out, i64::from(fd));
                }
            }
            ("pipe2", "flags") => put_u32(out, pipe2_flags(self.arg(1))),
            ("socketpair", "domain") => put_u32(out, self.arg(0) as u32),
            ("socketpair", "type") => put_u32(out, self.arg(1) as u32),
            ("socketpair", "proto") => put_u32(out, self.arg(2) as u32),
            ("fcntl", "cmd") => out.push(fcntl_command(self.arg(1))),
            ("fcntl", "arg") => put_u64(out, self.arg(2)),
            ("setresuid" | "setresgid", "suid" | "sgid") => put_u32(out, self.arg(2) as u32),
            ("ptrace", "request") => put_u16(out, ptrace_request(self.arg(0))),
            ("ptrace", "pid") => put_i64(out, self.int_arg(1)),
            ("ptrace", "addr" | "data") => {
                // Dynamic index 0: a plain u64.
                out.push(0);
                put_u64(out, self.arg(if name == "addr" { 2 } else { 3 }));
            }
            ("connect" | "bind", "addr") => put_sockaddr(out, self.item(0)),
            ("connect" | "accept" | "accept4", "tuple") => self.put_tuple(out),
            ("sendto" | "sendmsg" | "recvfrom" | "recvmsg", "tuple") => self.put_io_tuple(out),
            ("sendto" | "recvfrom", "size") => put_u32(out, self.arg(2) as u32),
            // The first bytes received (at most `plan::SNAPLEN`), as the
            // driver's snapshot of the buffer.
            ("recvfrom", "data") => out.extend_from_slice(self.item(2)),
            ("setns", "nstype") => put_u32(out, clone_flags(self.arg(1))),
            ("unshare", "flags") => put_u32(out, clone_flags(self.arg(0))),
            // The kernel's bits (`O_CLOEXEC`, `O_NONBLOCK`,
            // `UFFD_USER_MODE_ONLY`), as the modern probe writes them.
            ("userfaultfd", "flags") => put_u32(out, self.arg(0) as u32),
            _ => {
                if matches!(
                    p.ptype,
                    ParamType::CharBuf | ParamType::FsPath | ParamType::FsRelPath
                ) && let Some(k) = self.string_item(name)
                {
                    put_cstr(out, self.item(k));
                }
            }
        }
    }

    /// execve/execveat: the filename, argv (`exe` is argv[0], `args` the
    /// rest), the ids and comm from the record header.
    fn exec_param(&self, name: &str, out: &mut Vec<u8>) {
        use plan::task_ids as at;
        let h = &self.rec.header;
        // After a successful exec the item holds the argument strings and
        // the environment after them; `ARG_LEN` says where they part.
        let strings = self.item(1);
        let split = match self.task_u32(at::ARG_LEN) {
            Some(n) if self.rec.ret == 0 => usize::try_from(n).unwrap_or(0).min(strings.len()),
            _ => strings.len(),
        };
        let (argv, env) = strings.split_at(split);
        let (exe, args) = match argv.iter().position(|&c| c == 0) {
            Some(i) => (argv.get(..i).unwrap_or_default(), argv.get(i + 1..)),
            None => (argv, None),
        };
        match name {
            "exe" if !argv.is_empty() => {
                out.extend_from_slice(exe);
                out.push(0);
            }
            "args" => out.extend_from_slice(args.unwrap_or_default()),
            "env" => out.extend_from_slice(env),
            "cap_inheritable" | "cap_permitted" | "cap_effective" => {
                let off = match name {
                    "cap_inheritable" => at::CAP_INHERITABLE,
                    "cap_permitted" => at::CAP_PERMITTED,
                    _ => at::CAP_EFFECTIVE,
                };
                if let Some(v) = self.task_u64(off) {
                    put_u64(out, v);
                }
            }
            "exe_ino" => {
                if let Some(v) = self.task_u64(at::EXE_INO).filter(|&v| v != 0) {
                    put_u64(out, v);
                }
            }
            "exe_ino_ctime" => self.put_exe_time(out, at::EXE_CTIME_SEC, at::EXE_CTIME_NSEC),
            "exe_ino_mtime" => self.put_exe_time(out, at::EXE_MTIME_SEC, at::EXE_MTIME_NSEC),
            "flags" => {
                if let Some(f) = self.exe_flags() {
                    put_u32(out, f);
                }
            }
            "pgid" | "vpgid" => {
                let off = if name == "pgid" { at::PGID } else { at::VPGID };
                if let Some(v) = self.task_u32(off).filter(|&v| v != 0) {
                    put_i64(out, i64::from(v));
                }
            }
            "tid" => put_i64(out, i64::from(h.pid)),
            "pid" => put_i64(out, i64::from(h.tgid)),
            "comm" => put_cstr(out, &self.rec.comm),
            "uid" => put_u32(out, h.uid),
            "gid" => put_u32(out, h.gid),
            "filename" => put_cstr(out, self.item(0)),
            "ptid" => self.put_task_id(out, 0),
            "cgroups" => self.put_cgroups(out),
            "loginuid" => {
                if let Some(ids) = self.task_ids() {
                    put_u32(out, ids[4]);
                }
            }
            "tty" => {
                if let Some(tty) = self.tty() {
                    put_u32(out, tty);
                }
            }
            "cwd" => {
                if let Some(cwd) = self.cwd() {
                    put_cstr(out, &cwd);
                }
            }
            _ => {}
        }
    }

    /// clone/clone3/fork/vfork: the ids, comm and clone flags.
    fn clone_param(&self, name: &str, out: &mut Vec<u8>) {
        let h = &self.rec.header;
        match name {
            "tid" => put_i64(out, i64::from(h.pid)),
            "pid" => put_i64(out, i64::from(h.tgid)),
            "comm" => put_cstr(out, &self.rec.comm),
            "uid" => put_u32(out, h.uid),
            "gid" => put_u32(out, h.gid),
            "ptid" => self.put_task_id(out, 0),
            "cgroups" => self.put_cgroups(out),
            "cwd" => {
                if let Some(cwd) = self.cwd() {
                    put_cstr(out, &cwd);
                }
            }
            "vtid" => self.put_task_id(out, 1),
            "vpid" => self.put_task_id(out, 2),
            "flags" => {
                let raw = match self.name {
                    "clone" => Some(self.arg(0)),
                    "clone3" => self
                        .item(0)
                        .get(..8)
                        .and_then(|b| b.try_into().ok())
                        .map(u64::from_le_bytes),
                    "vfork" => Some(CLONE_VM | CLONE_VFORK),
                    _ => Some(0),
                };
                if let Some(raw) = raw {
                    put_u32(out, clone_flags(raw));
                }
            }
            _ => {}
        }
    }
}

/// `I_CTIME_QUERIED` (include/linux/fs.h), a flag in `inode.i_ctime_nsec`.
const I_CTIME_QUERIED: u32 = 1 << 31;

/// `CAP_DAC_OVERRIDE` (include/uapi/linux/capability.h).
const CAP_DAC_OVERRIDE: u32 = 1;

/// The driver's `PPM_EXE_*` flags of the execve exit's `flags`
/// (driver/ppm_events_public.h).
mod ppm_exe {
    pub const WRITABLE: u32 = 1 << 0;
    pub const UPPER_LAYER: u32 = 1 << 1;
    pub const FROM_MEMFD: u32 = 1 << 2;
    pub const LOWER_LAYER: u32 = 1 << 3;
}

// Linux x86-64 `O_*` bits (include/uapi/asm-generic/fcntl.h).
const O_ACCMODE: u64 = 0o3;
const O_WRONLY: u64 = 0o1;
const O_RDWR: u64 = 0o2;
const O_CREAT: u64 = 0o100;
const O_EXCL: u64 = 0o200;
const O_TRUNC: u64 = 0o1000;
const O_APPEND: u64 = 0o2000;
const O_NONBLOCK: u64 = 0o4000;
const O_DSYNC: u64 = 0o10000;
const O_DIRECT: u64 = 0o40000;
const O_LARGEFILE: u64 = 0o100000;
const O_DIRECTORY: u64 = 0o200000;
const O_CLOEXEC: u64 = 0o2000000;
const O_SYNC: u64 = 0o4000000 | O_DSYNC;
const O_TMPFILE: u64 = 0o20000000 | O_DIRECTORY;
const AT_REMOVEDIR: u64 = 0x200;

/// `PPM_O_*` bits (the `file_flags` table).
pub mod ppm_o {
    pub const RDONLY: u32 = 1;
    pub const WRONLY: u32 = 2;
    pub const RDWR: u32 = 3;
    pub const CREAT: u32 = 4;
    pub const APPEND: u32 = 8;
    pub const DSYNC: u32 = 0x10;
    pub const EXCL: u32 = 0x20;
    pub const NONBLOCK: u32 = 0x40;
    pub const SYNC: u32 = 0x80;
    pub const TRUNC: u32 = 0x100;
    pub const DIRECT: u32 = 0x200;
    pub const DIRECTORY: u32 = 0x400;
    pub const LARGEFILE: u32 = 0x800;
    pub const CLOEXEC: u32 = 0x1000;
    pub const TMPFILE: u32 = 0x2000;
    pub const F_CREATED: u32 = 0x4000;
}

/// `FMODE_CREATED` in `file.f_mode`: the open created the file.
const FMODE_CREATED: u32 = 1 << 20;

/// A kernel `dev_t` (`major << 20 | minor`) in the encoding the driver
/// reports (`new_encode_dev`, the userspace `makedev` layout).
pub fn encode_dev(dev: u32) -> u32 {
    let major = dev >> 20;
    let minor = dev & 0xf_ffff;
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

/// Linux open flags as `PPM_O_*` bits, the way the driver maps them: the
/// access mode is an enumeration in Linux (0, 1, 2) and bits in the table
/// (1, 2, 3); every other flag moves to its own bit.
pub fn open_flags(flags: u64) -> u32 {
    let mut res = match flags & O_ACCMODE {
        O_WRONLY => ppm_o::WRONLY,
        O_RDWR => ppm_o::RDWR,
        _ => ppm_o::RDONLY,
    };
    let map = [
        (O_CREAT, ppm_o::CREAT),
        (O_APPEND, ppm_o::APPEND),
        (O_DSYNC, ppm_o::DSYNC),
        (O_EXCL, ppm_o::EXCL),
        (O_NONBLOCK, ppm_o::NONBLOCK),
        // The driver tests O_SYNC with `&`, so O_DSYNC alone also sets it.
        (O_SYNC, ppm_o::SYNC),
        (O_TRUNC, ppm_o::TRUNC),
        (O_DIRECT, ppm_o::DIRECT),
        (O_DIRECTORY, ppm_o::DIRECTORY),
        (O_LARGEFILE, ppm_o::LARGEFILE),
        (O_CLOEXEC, ppm_o::CLOEXEC),
    ];
    for (linux, ppm) in map {
        if flags & linux != 0 {
            res |= ppm;
        }
    }
    if flags & O_TMPFILE == O_TMPFILE {
        res |= ppm_o::TMPFILE;
    }
    res
}

/// The mode of an open: meaningful (and reported) only when the open can
/// create a file. `PPM_S_*` bits equal the octal mode bits.
pub fn open_mode(flags: u64, mode: u64) -> u32 {
    if flags & (O_CREAT | O_TMPFILE) == 0 {
        0
    } else {
        mode_bits(mode)
    }
}

/// Permission, setuid/setgid and sticky bits.
pub fn mode_bits(mode: u64) -> u32 {
    (mode & 0o7777) as u32
}

fn dup3_flags(flags: u64) -> u32 {
    if flags & O_CLOEXEC != 0 {
        ppm_o::CLOEXEC
    } else {
        0
    }
}

/// pipe2's flags as `PPM_O_*`.
fn pipe2_flags(flags: u64) -> u32 {
    [
        (O_CLOEXEC, ppm_o::CLOEXEC),
        (O_DIRECT, ppm_o::DIRECT),
        (O_NONBLOCK, ppm_o::NONBLOCK),
    ]
    .iter()
    .filter(|(linux, _)| flags & linux != 0)
    .fold(0, |acc, (_, ppm)| acc | ppm)
}

/// A Linux fcntl command as `PPM_FCNTL_*` (the `fcntl_commands` table); 0
/// (`UNKNOWN`) for commands the table lacks.
pub fn fcntl_command(cmd: u64) -> u8 {
    match cmd {
        0 => 1,     // F_DUPFD
        1 => 2,     // F_GETFD
        2 => 3,     // F_SETFD
        3 => 4,     // F_GETFL
        4 => 5,     // F_SETFL
        5 => 6,     // F_GETLK
        6 => 8,     // F_SETLK
        7 => 9,     // F_SETLKW
        8 => 10,    // F_SETOWN
        9 => 12,    // F_GETOWN
        10 => 13,   // F_SETSIG
        11 => 15,   // F_GETSIG
        15 => 21,   // F_SETOWN_EX
        16 => 22,   // F_GETOWN_EX
        36 => 30,   // F_OFD_GETLK
        37 => 31,   // F_OFD_SETLK
        38 => 32,   // F_OFD_SETLKW
        1024 => 23, // F_SETLEASE
        1025 => 24, // F_GETLEASE
        1026 => 27, // F_NOTIFY
        1029 => 25, // F_CANCELLK
        1030 => 26, // F_DUPFD_CLOEXEC
        1031 => 28, // F_SETPIPE_SZ
        1032 => 29, // F_GETPIPE_SZ
        _ => 0,
    }
}

/// `RESOLVE_*` bits of openat2 as `PPM_RESOLVE_*` (the two orders differ).
pub fn resolve_flags(resolve: u64) -> u32 {
    let map = [
        (0x01, 0x10), // NO_XDEV
        (0x02, 0x04), // NO_MAGICLINKS
        (0x04, 0x08), // NO_SYMLINKS
        (0x08, 0x01), // BENEATH
        (0x10, 0x02), // IN_ROOT
        (0x20, 0x20), // CACHED
    ];
    map.iter()
        .filter(|(linux, _)| resolve & linux != 0)
        .fold(0, |acc, (_, ppm)| acc | ppm)
}

/// Mount flags: `PPM_MS_*` equal `MS_*`, but the obsolete magic number in
/// the high half (`MS_MGC_VAL`) is stripped, as the driver does.
pub fn mount_flags(flags: u64) -> u32 {
    const MS_MGC_MSK: u64 = 0xffff_0000;
    const MS_MGC_VAL: u64 = 0xc0ed_0000;
    let flags = if flags & MS_MGC_MSK == MS_MGC_VAL {
        flags & !MS_MGC_MSK
    } else {
        flags
    };
    flags as u32
}

const CLONE_VM: u64 = 0x100;
const CLONE_VFORK: u64 = 0x4000;

/// Linux `CLONE_*` bits as `PPM_CL_*` (the `clone_flags` table).
pub fn clone_flags(flags: u64) -> u32 {
    let map: [(u64, u32); 22] = [
        (0x400, 0x1),               // FILES
        (0x200, 0x2),               // FS
        (0x8000_0000, 0x4),         // IO
        (0x0800_0000, 0x8),         // NEWIPC
        (0x4000_0000, 0x10),        // NEWNET
        (0x2_0000, 0x20),           // NEWNS
        (0x2000_0000, 0x40),        // NEWPID
        (0x0400_0000, 0x80),        // NEWUTS
        (0x8000, 0x100),            // PARENT
        (0x10_0000, 0x200),         // PARENT_SETTID
        (0x2000, 0x400),            // PTRACE
        (0x800, 0x800),             // SIGHAND
        (0x4_0000, 0x1000),         // SYSVSEM
        (0x1_0000, 0x2000),         // THREAD
        (0x80_0000, 0x4000),        // UNTRACED
        (CLONE_VM, 0x8000),         // VM
        (0x1000_0000, 0x10_0000),   // NEWUSER
        (0x20_0000, 0x80_0000),     // CHILD_CLEARTID
        (0x100_0000, 0x100_0000),   // CHILD_SETTID
        (0x8_0000, 0x200_0000),     // SETTLS
        (CLONE_VFORK, 0x800_0000),  // VFORK
        (0x0200_0000, 0x1000_0000), // NEWCGROUP
    ];
    map.iter()
        .filter(|(linux, _)| flags & linux != 0)
        .fold(0, |acc, (_, ppm)| acc | ppm)
}

/// A Linux ptrace request as `PPM_PTRACE_*` (the `ptrace_requests` table);
/// 0 (`PTRACE_UNKNOWN`) for requests the table lacks.
pub fn ptrace_request(req: u64) -> u16 {
    match req {
        0 => 1,       // TRACEME
        1 => 2,       // PEEKTEXT
        2 => 3,       // PEEKDATA
        3 => 4,       // PEEKUSR
        4 => 5,       // POKETEXT
        5 => 6,       // POKEDATA
        6 => 7,       // POKEUSR
        7 => 8,       // CONT
        8 => 9,       // KILL
        9 => 10,      // SINGLESTEP
        16 => 11,     // ATTACH
        17 => 12,     // DETACH
        24 => 13,     // SYSCALL
        0x4200 => 14, // SETOPTIONS
        0x4201 => 15, // GETEVENTMSG
        0x4202 => 16, // GETSIGINFO
        0x4203 => 17, // SETSIGINFO
        0x4204 => 18, // GETREGSET
        0x4205 => 19, // SETREGSET
        0x4206 => 20, // SEIZE
        0x4207 => 21, // INTERRUPT
        0x4208 => 22, // LISTEN
        0x4209 => 23, // PEEKSIGINFO
        0x420a => 24, // GETSIGMASK
        0x420b => 25, // SETSIGMASK
        12 => 26,     // GETREGS
        13 => 27,     // SETREGS
        14 => 28,     // GETFPREGS
        15 => 29,     // SETFPREGS
        18 => 30,     // GETFPXREGS
        19 => 31,     // SETFPXREGS
        21 => 32,     // OLDSETOPTIONS
        25 => 33,     // GET_THREAD_AREA
        26 => 34,     // SET_THREAD_AREA
        30 => 35,     // ARCH_PRCTL
        31 => 36,     // SYSEMU
        32 => 37,     // SYSEMU_SINGLESTEP
        33 => 38,     // SINGLEBLOCK
        _ => 0,
    }
}

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// A kernel `struct sockaddr` decoded: family, address bytes (network
/// order) and host-order port, or a unix path.
enum Addr<'a> {
    V4([u8; 4], u16),
    V6([u8; 16], u16),
    Unix(&'a [u8]),
}

fn parse_sockaddr(b: &[u8]) -> Option<Addr<'_>> {
    let family = u16::from_le_bytes(b.get(..2)?.try_into().ok()?);
    match family {
        AF_INET => {
            let port = u16::from_be_bytes(b.get(2..4)?.try_into().ok()?);
            Some(Addr::V4(b.get(4..8)?.try_into().ok()?, port))
        }
        AF_INET6 => {
            let port = u16::from_be_bytes(b.get(2..4)?.try_into().ok()?);
            Some(Addr::V6(b.get(8..24)?.try_into().ok()?, port))
        }
        AF_UNIX => {
            let path = b.get(2..).unwrap_or_default();
            // An abstract socket's name starts with a NUL, which the driver
            // drops; the name then runs to the first NUL or the end.
            let path = path.strip_prefix(&[0]).unwrap_or(path);
            let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
            Some(Addr::Unix(path.get(..end).unwrap_or_default()))
        }
        _ => None,
    }
}

/// `PT_SOCKADDR` of a copied kernel sockaddr; absent for other families.
fn put_sockaddr(out: &mut Vec<u8>, raw: &[u8]) {
    match parse_sockaddr(raw) {
        Some(Addr::V4(ip, port)) => {
            out.push(AF_INET as u8);
            out.extend_from_slice(&ip);
            put_u16(out, port);
        }
        Some(Addr::V6(ip, port)) => {
            out.push(AF_INET6 as u8);
            out.extend_from_slice(&ip);
            put_u16(out, port);
        }
        Some(Addr::Unix(path)) => {
            out.push(AF_UNIX as u8);
            out.extend_from_slice(path);
            out.push(0);
        }
        None => {}
    }
}

/// `PT_SOCKTUPLE` of two IP ends of the same family; absent otherwise.
fn put_tuple_ends(out: &mut Vec<u8>, src: &Addr<'_>, dst: &Addr<'_>) {
    match (src, dst) {
        (Addr::V4(sip, sport), Addr::V4(dip, dport)) => {
            out.push(AF_INET as u8);
            out.extend_from_slice(sip);
            put_u16(out, *sport);
            out.extend_from_slice(dip);
            put_u16(out, *dport);
        }
        (Addr::V6(sip, sport), Addr::V6(dip, dport)) => {
            out.push(AF_INET6 as u8);
            out.extend_from_slice(sip);
            put_u16(out, *sport);
            out.extend_from_slice(dip);
            put_u16(out, *dport);
        }
        _ => {}
    }
}

/// `PT_SOCKTUPLE` from the one end the syscall names, for records without
/// the kernel socket's addresses (a unix socket, a failed connect): the destination of a
/// connect, the source (peer) of an accept. The other end, the socket's own
/// address, lives in the kernel socket and is not in the record: it is
/// written unspecified (0.0.0.0:0, or a null socket pointer for unix), which
/// the state engine replaces for loopback traffic as libsinsp does.
fn put_tuple(out: &mut Vec<u8>, src: Option<&[u8]>, dst: Option<&[u8]>) {
    let addr = match (src, dst) {
        (Some(b), None) | (None, Some(b)) => parse_sockaddr(b),
        _ => None,
    };
    let peer_is_src = src.is_some();
    match addr {
        Some(Addr::V4(ip, port)) => {
            out.push(AF_INET as u8);
            let (s, d) = if peer_is_src {
                ((ip, port), ([0; 4], 0))
            } else {
                (([0; 4], 0), (ip, port))
            };
            out.extend_from_slice(&s.0);
            put_u16(out, s.1);
            out.extend_from_slice(&d.0);
            put_u16(out, d.1);
        }
        Some(Addr::V6(ip, port)) => {
            out.push(AF_INET6 as u8);
            let (s, d) = if peer_is_src {
                ((ip, port), ([0; 16], 0))
            } else {
                (([0; 16], 0), (ip, port))
            };
            out.extend_from_slice(&s.0);
            put_u16(out, s.1);
            out.extend_from_slice(&d.0);
            put_u16(out, d.1);
        }
        Some(Addr::Unix(path)) => {
            out.push(AF_UNIX as u8);
            put_u64(out, 0);
            put_u64(out, 0);
            out.extend_from_slice(path);
            out.push(0);
        }
        None => {}
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
    use std::net::Ipv4Addr;

    use lanner_event::{ParamValue, SockAddr, SockTuple};

    use super::*;
    use crate::programs::{ProcRecord, RecordHeader, default_plan, proc_layout};

    fn header(kind: RecordKind) -> RecordHeader {
        RecordHeader {
            kind,
            cpu: 1,
            ktime_ns: 5_000,
            pid: 101,
            tgid: 100,
            uid: 1000,
            gid: 1001,
        }
    }

    fn record(id: i64, ret: i64, args: [u64; 6], items: [&[u8]; 3]) -> Vec<u8> {
        record_items(id, ret, args, &items)
    }

    fn record_items(id: i64, ret: i64, args: [u64; 6], items: &[&[u8]]) -> Vec<u8> {
        let mut comm = [0u8; 16];
        comm[..4].copy_from_slice(b"test");
        SyscallRecord {
            header: header(RecordKind::Syscall),
            id,
            ret,
            args,
            comm,
            item_lens: [0; 4],
            plan: default_plan(id),
        }
        .to_bytes(items)
    }

    /// Converts and parses; the event must use all of its bytes.
    fn convert(rec: &[u8], buf: &mut Vec<u8>) -> Converted {
        let c = Converter::with_epoch_offset(1_000_000)
            .to_event(rec, buf)
            .expect("a converted record");
        let (ev, len) = Event::parse_v2(c.cpu, 0, &buf[c.range.clone()]).unwrap();
        assert_eq!(len, c.range.len());
        assert_eq!(ev.nparams(), ev.info().unwrap().params.len());
        c
    }

    fn val<'a>(ev: &Event<'a>, name: &str) -> ParamValue<'a> {
        ev.param_by_name(name)
            .unwrap_or_else(|| panic!("no parameter {name}"))
            .decode()
            .unwrap()
    }

    fn flag_names(ev: &Event<'_>, name: &str) -> Vec<&'static str> {
        match val(ev, name) {
            ParamValue::Flags {
                bits,
                table: Some(t),
            } => TableVersion::Current
                .flag_table(t)
                .unwrap()
                .decompose(bits)
                .collect(),
            ParamValue::Mode(bits) => TableVersion::Current
                .flag_table("chmod_mode")
                .unwrap()
                .decompose(bits)
                .collect(),
            other => panic!("{name} is not flags: {other:?}"),
        }
    }

    const AT_FDCWD: u64 = (-100i32) as u32 as u64;

    #[test]
    fn openat_becomes_openat_2_x() {
        let flags = (libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC) as u64;
        let rec = record(
            257,
            3,
            [AT_FDCWD, 0x1000, flags, 0o640, 0, 0],
            [b"/tmp/x\0", b"", b""],
        );
        let mut buf = vec![0xaa; 7];
        let c = convert(&rec, &mut buf);
        assert_eq!(c.range.start, 7, "events are appended");
        let ev = c.event(&buf).unwrap();
        assert_eq!(ev.event_type(), 307);
        assert_eq!((ev.tid(), ev.ts(), ev.cpu()), (101, 1_005_000, 1));
        assert_eq!(val(&ev, "fd"), ParamValue::Fd(3));
        assert_eq!(val(&ev, "dirfd"), ParamValue::Fd(-100));
        assert!(matches!(
            val(&ev, "name"),
            ParamValue::RelPath {
                path: b"/tmp/x",
                ..
            }
        ));
        assert_eq!(
            flag_names(&ev, "flags"),
            ["O_CREAT", "O_WRONLY", "O_CLOEXEC"]
        );
        assert_eq!(val(&ev, "mode"), ParamValue::Uint32(0o640));
        // No file item: zero, as after a failed open.
        assert_eq!(val(&ev, "dev"), ParamValue::Uint32(0));
        assert_eq!(val(&ev, "ino"), ParamValue::Uint64(0));
        // With the kernel's file: device, inode and O_F_CREATED.
        let mut file = (1u32 << 20).to_le_bytes().to_vec();
        file.extend_from_slice(&((8u32 << 20) | 3).to_le_bytes());
        file.extend_from_slice(&777u64.to_le_bytes());
        let rec = record(
            257,
            3,
            [AT_FDCWD, 0x1000, flags, 0o640, 0, 0],
            [b"/tmp/x\0", &file, b""],
        );
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(val(&ev, "dev"), ParamValue::Uint32((8 << 8) | 3));
        assert_eq!(val(&ev, "ino"), ParamValue::Uint64(777));
        assert_eq!(
            flag_names(&ev, "flags"),
            ["O_CREAT", "O_WRONLY", "O_CLOEXEC", "O_F_CREATED"]
        );
    }

    #[test]
    fn open_flags_follow_the_driver() {
        assert_eq!(open_flags(0), ppm_o::RDONLY);
        assert_eq!(open_flags(O_RDWR | O_TRUNC), ppm_o::RDWR | ppm_o::TRUNC);
        assert_eq!(
            open_flags(O_TMPFILE | O_RDWR),
            ppm_o::RDWR | ppm_o::TMPFILE | ppm_o::DIRECTORY
        );
        assert_eq!(open_flags(O_DIRECTORY), ppm_o::RDONLY | ppm_o::DIRECTORY);
        assert_eq!(open_mode(0, 0o777), 0, "no mode without O_CREAT");
        assert_eq!(open_mode(O_CREAT, 0o104755), 0o4755);
        assert_eq!(resolve_flags(0x08 | 0x01), 0x01 | 0x10);
        assert_eq!(mount_flags(0xc0ed_0000 | 1), 1);
        assert_eq!(ptrace_request(16), 11);
        assert_eq!(
            clone_flags((libc::CLONE_THREAD | libc::CLONE_VM) as u64),
            0x2000 | 0x8000
        );
    }

    #[test]
    fn execve_tty_and_loginuid() {
        // pts/3: major 136, minor_start 0, index 3.
        let ids: Vec<u8> = [40u32, 7, 7, 39, 1000, 3, 136, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let rec = record_items(59, 0, [0; 6], &[b"/bin/sh\0", b"sh\0", &ids]);
        let mut buf = Vec::new();
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(val(&ev, "tty"), ParamValue::Uint32((136 << 8) | 3));
        assert_eq!(val(&ev, "loginuid"), ParamValue::Uid(1000));
        assert_eq!(val(&ev, "ptid"), ParamValue::Pid(40));
    }

    #[test]
    fn execve_splits_argv() {
        let rec = record(59, 0, [0; 6], [b"/bin/true\0", b"true\0--x\0y\0", b""]);
        let mut buf = Vec::new();
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(ev.event_type(), 293);
        assert_eq!(val(&ev, "res"), ParamValue::Errno(0));
        assert_eq!(val(&ev, "exe"), ParamValue::Str(b"true"));
        assert_eq!(val(&ev, "args"), ParamValue::Bytes(b"--x\0y\0"));
        assert_eq!(val(&ev, "filename"), ParamValue::Path(b"/bin/true"));
        assert_eq!(val(&ev, "tid"), ParamValue::Pid(101));
        assert_eq!(val(&ev, "pid"), ParamValue::Pid(100));
        assert_eq!(val(&ev, "comm"), ParamValue::Str(b"test"));
        assert_eq!(val(&ev, "uid"), ParamValue::Uid(1000));
        assert_eq!(val(&ev, "gid"), ParamValue::Gid(1001));
        assert_eq!(val(&ev, "cwd"), ParamValue::Empty);
    }

    /// A full `TASK_IDS` item: ids, capabilities, executable, group, and
    /// the argument length `arg_len`.
    fn task_item(exe_name: &[u8; 8], mode: u32, nlink: u32, arg_len: u32) -> Vec<u8> {
        use crate::programs::plan::task_ids as at;
        let mut b = vec![0u8; at::SIZE as usize];
        let mut put = |off: i32, v: &[u8]| {
            b[off as usize..off as usize + v.len()].copy_from_slice(v);
        };
        put(at::PTID, &40u32.to_le_bytes());
        put(at::CAP_INHERITABLE, &0x1u64.to_le_bytes());
        put(at::CAP_PERMITTED, &0x1ff_ffff_ffffu64.to_le_bytes());
        put(at::CAP_EFFECTIVE, &0x2000u64.to_le_bytes());
        put(at::EXE_INO, &4242u64.to_le_bytes());
        put(at::EXE_CTIME_SEC, &1_700_000_000u64.to_le_bytes());
        put(at::EXE_CTIME_NSEC, &5u32.to_le_bytes());
        put(at::EXE_MTIME_SEC, &1_600_000_000u64.to_le_bytes());
        put(at::EXE_MTIME_NSEC, &7u32.to_le_bytes());
        put(at::EXE_MODE, &mode.to_le_bytes());
        put(at::EXE_UID, &0u32.to_le_bytes());
        put(at::EXE_NLINK, &nlink.to_le_bytes());
        put(at::PGID, &300u32.to_le_bytes());
        put(at::VPGID, &3u32.to_le_bytes());
        put(at::EXE_NAME, exe_name);
        put(at::ARG_LEN, &arg_len.to_le_bytes());
        b
    }

    #[test]
    fn execve_carries_env_caps_exe_and_group() {
        let strings = b"sh\0-c\0x\0LD_PRELOAD=/tmp/a.so\0HOME=/root\0";
        let ids = task_item(b"bash\0\0\0\0", 0o100755, 1, 8);
        let rec = record_items(59, 0, [0; 6], &[b"/bin/sh\0", strings, &ids]);
        let mut buf = Vec::new();
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(val(&ev, "exe"), ParamValue::Str(b"sh"));
        assert_eq!(val(&ev, "args"), ParamValue::Bytes(b"-c\0x\0"));
        assert_eq!(
            val(&ev, "env"),
            ParamValue::Bytes(b"LD_PRELOAD=/tmp/a.so\0HOME=/root\0")
        );
        assert_eq!(val(&ev, "cap_inheritable"), ParamValue::Uint64(1));
        assert_eq!(
            val(&ev, "cap_permitted"),
            ParamValue::Uint64(0x1ff_ffff_ffff)
        );
        assert_eq!(val(&ev, "cap_effective"), ParamValue::Uint64(0x2000));
        assert_eq!(val(&ev, "exe_ino"), ParamValue::Uint64(4242));
        assert_eq!(
            val(&ev, "exe_ino_ctime"),
            ParamValue::AbsTime(1_700_000_000_000_000_005)
        );
        assert_eq!(
            val(&ev, "exe_ino_mtime"),
            ParamValue::AbsTime(1_600_000_000_000_000_007)
        );
        assert_eq!(val(&ev, "pgid"), ParamValue::Pid(300));
        assert_eq!(val(&ev, "vpgid"), ParamValue::Pid(3));
        // The record's uid 1000 does not own the root-owned 0755 file and
        // CAP_DAC_OVERRIDE is not in 0x2000: not writable, not a memfd.
        assert_eq!(flag_names(&ev, "flags"), Vec::<&str>::new());
        // A memfd (unlinked, `memfd:` name) with other-write: both flags.
        let ids = task_item(b"memfd:x\0", 0o100777, 0, 8);
        let rec = record_items(59, 0, [0; 6], &[b"/bin/sh\0", strings, &ids]);
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(flag_names(&ev, "flags"), ["EXE_WRITABLE", "EXE_FROM_MEMFD"]);
        // A failed exec's strings are argv from the registers, no env.
        let rec = record_items(59, -2, [0; 6], &[b"/nope\0", b"nope\0a\0", &ids]);
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(val(&ev, "args"), ParamValue::Bytes(b"a\0"));
        assert_eq!(val(&ev, "env"), ParamValue::Empty);
    }

    #[test]
    fn namespace_syscalls_translate_clone_flags() {
        let newns = libc::CLONE_NEWNS as u64;
        let newnet = libc::CLONE_NEWNET as u64;
        let mut buf = Vec::new();
        let ev = convert(
            &record(272, 0, [newns | newnet, 0, 0, 0, 0, 0], [b""; 3]),
            &mut buf,
        )
        .event(&buf)
        .unwrap();
        assert_eq!(ev.event_type(), 285);
        assert_eq!(flag_names(&ev, "flags"), ["CLONE_NEWNET", "CLONE_NEWNS"]);
        let ev = convert(
            &record(308, -1, [5, newnet, 0, 0, 0, 0], [b""; 3]),
            &mut buf,
        )
        .event(&buf)
        .unwrap();
        assert_eq!(ev.event_type(), 241);
        assert_eq!(val(&ev, "fd"), ParamValue::Fd(5));
        assert_eq!(val(&ev, "res"), ParamValue::Errno(-1));
        assert_eq!(flag_names(&ev, "nstype"), ["CLONE_NEWNET"]);
        let cloexec = libc::O_CLOEXEC as u64;
        let ev = convert(
            &record(323, 4, [cloexec, 0, 0, 0, 0, 0], [b""; 3]),
            &mut buf,
        )
        .event(&buf)
        .unwrap();
        assert_eq!(ev.event_type(), 321);
        assert_eq!(val(&ev, "res"), ParamValue::Errno(4));
    }

    #[test]
    fn sendto_names_its_destination() {
        // An unconnected UDP socket bound to 127.0.0.1:5000 sends to
        // 127.0.0.1:53: the socket's remote end is empty, the call names it.
        let mut tuple = vec![0u8; 48];
        tuple[..2].copy_from_slice(&2u16.to_le_bytes());
        tuple[2..4].copy_from_slice(&5000u16.to_le_bytes());
        tuple[8..12].copy_from_slice(&[127, 0, 0, 1]);
        let dst = sockaddr_in([127, 0, 0, 1], 53);
        let rec = record(44, 3, [7, 0x1000, 3, 0, 0x2000, 16], [&tuple, &dst, b""]);
        let mut buf = Vec::new();
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(ev.event_type(), 31);
        assert_eq!(val(&ev, "fd"), ParamValue::Fd(7));
        assert_eq!(val(&ev, "size"), ParamValue::Uint32(3));
        let lo = Ipv4Addr::LOCALHOST;
        assert_eq!(
            val(&ev, "tuple"),
            ParamValue::SockTuple(SockTuple::Inet {
                sip: lo,
                sport: 5000,
                dip: lo,
                dport: 53
            })
        );
        // A receive puts the peer first.
        let rec = record(
            45,
            3,
            [7, 0x1000, 3, 0, 0x2000, 0x3000],
            [&tuple, &dst, b""],
        );
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(
            val(&ev, "tuple"),
            ParamValue::SockTuple(SockTuple::Inet {
                sip: lo,
                sport: 53,
                dip: lo,
                dport: 5000
            })
        );
    }

    fn sockaddr_in(ip: [u8; 4], port: u16) -> Vec<u8> {
        let mut b = vec![0u8; 16];
        b[..2].copy_from_slice(&2u16.to_le_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[4..8].copy_from_slice(&ip);
        b
    }

    #[test]
    fn connect_carries_addr_and_tuple() {
        let sa = sockaddr_in([127, 0, 0, 1], 8080);
        let rec = record(42, 0, [5, 0x2000, 16, 0, 0, 0], [&sa, b"", b""]);
        let mut buf = Vec::new();
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(ev.event_type(), 23);
        assert_eq!(val(&ev, "fd"), ParamValue::Fd(5));
        assert_eq!(
            val(&ev, "addr"),
            ParamValue::SockAddr(SockAddr::Inet(Ipv4Addr::LOCALHOST, 8080))
        );
        assert_eq!(
            val(&ev, "tuple"),
            ParamValue::SockTuple(SockTuple::Inet {
                sip: Ipv4Addr::UNSPECIFIED,
                sport: 0,
                dip: Ipv4Addr::LOCALHOST,
                dport: 8080
            })
        );
        // accept: the copied address is the peer, the tuple's source.
        let rec = record(288, 7, [3, 0x2000, 0x3000, 0x800, 0, 0], [&sa, b"", b""]);
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(ev.event_type(), 389);
        assert_eq!(val(&ev, "fd"), ParamValue::Fd(7));
        assert!(matches!(
            val(&ev, "tuple"),
            ParamValue::SockTuple(SockTuple::Inet {
                sport: 8080,
                dport: 0,
                ..
            })
        ));
        assert_eq!(val(&ev, "flags"), ParamValue::Int32(0x800));
        // With the kernel socket's ends (an IPv6 accept): peer → local.
        let mut ends = vec![0u8; 48];
        ends[..2].copy_from_slice(&10u16.to_le_bytes());
        ends[2..4].copy_from_slice(&443u16.to_le_bytes());
        ends[4..6].copy_from_slice(&50_000u16.to_be_bytes());
        ends[31] = 1; // local ::1
        ends[32] = 0xfe; // remote fe00::
        let rec = record(43, 8, [3, 0, 0, 0, 0, 0], [b"", &ends, b""]);
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        match val(&ev, "tuple") {
            ParamValue::SockTuple(SockTuple::Inet6 {
                sip,
                sport,
                dip,
                dport,
            }) => {
                assert_eq!((sip.octets()[0], sport), (0xfe, 50_000));
                assert_eq!((dip, dport), (std::net::Ipv6Addr::LOCALHOST, 443));
            }
            other => panic!("{other:?}"),
        }
        // A unix path, abstract or not.
        let mut un = 1u16.to_le_bytes().to_vec();
        un.extend_from_slice(b"\0hidden\0");
        let rec = record(49, 0, [4, 0, 0, 0, 0, 0], [&un, b"", b""]);
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(
            val(&ev, "addr"),
            ParamValue::SockAddr(SockAddr::Unix(b"hidden"))
        );
    }

    #[test]
    fn chmod_rename_dup_and_friends() {
        let mut buf = Vec::new();
        let rec = record(90, 0, [0, 0o4755, 0, 0, 0, 0], [b"/tmp/f\0", b"", b""]);
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(ev.event_type(), 315);
        assert_eq!(val(&ev, "filename"), ParamValue::Path(b"/tmp/f"));
        assert_eq!(val(&ev, "mode"), ParamValue::Mode(0o4755));
        assert!(flag_names(&ev, "mode").contains(&"S_ISUID"));

        let rec = record(316, 0, [AT_FDCWD, 0, 9, 0, 1, 0], [b"a\0", b"b\0", b""]);
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(ev.name_in(TableVersion::Current), Some("renameat2"));
        assert_eq!(val(&ev, "olddirfd"), ParamValue::Fd(-100));
        assert_eq!(val(&ev, "newdirfd"), ParamValue::Fd(9));
        assert!(matches!(
            val(&ev, "newpath"),
            ParamValue::RelPath { path: b"b", .. }
        ));
        assert_eq!(flag_names(&ev, "flags"), ["RENAME_NOREPLACE"]);

        let rec = record(292, 10, [4, 10, libc::O_CLOEXEC as u64, 0, 0, 0], [b""; 3]);
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(
            (val(&ev, "res"), val(&ev, "oldfd"), val(&ev, "newfd")),
            (ParamValue::Fd(10), ParamValue::Fd(4), ParamValue::Fd(10))
        );
        assert_eq!(flag_names(&ev, "flags"), ["O_CLOEXEC"]);

        let rec = record(
            165,
            0,
            [0, 0, 0, 0xc0ed_0000 | 1, 0, 0],
            [b"none\0", b"/mnt\0", b"tmpfs\0"],
        );
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(val(&ev, "dev"), ParamValue::Str(b"none"));
        assert_eq!(val(&ev, "dir"), ParamValue::Path(b"/mnt"));
        assert_eq!(val(&ev, "type"), ParamValue::Str(b"tmpfs"));
        assert_eq!(flag_names(&ev, "flags"), ["RDONLY"]);

        let rec = record(117, 0, [1, 2, 3, 0, 0, 0], [b""; 3]);
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(val(&ev, "suid"), ParamValue::Uid(3));

        let rec = record(101, 0, [16, 4242, 0, 0, 0, 0], [b""; 3]);
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(
            val(&ev, "request"),
            ParamValue::Enum {
                value: 11,
                table: Some("ptrace_requests")
            }
        );
        assert_eq!(val(&ev, "pid"), ParamValue::Pid(4242));
    }

    #[test]
    fn cgroup_paths_from_leaf_first_components() {
        let names = cgroup_subsystems(
            "#subsys_name\thierarchy\nfreezer\t6\t1\t1\nmemory\t4\t42\t1\npids\t8\t1\t1\n",
        );
        assert_eq!(names, ["freezer", "memory", "pids"]);
        let conv = Converter::with_epoch_offset(0).with_cgroup_subsystems(names);
        // freezer at the root, memory two levels down, pids one level.
        let item = b"\0abc123\0session\0\0user.slice\0\0";
        let rec = record_items(56, 0, [0; 6], &[b"", item]);
        let mut buf = Vec::new();
        let c = conv.to_event(&rec, &mut buf).unwrap();
        let ev = c.event(&buf).unwrap();
        assert_eq!(
            val(&ev, "cgroups"),
            ParamValue::Bytes(b"freezer=/\0memory=/session/abc123\0pids=/user.slice\0")
        );
        // Without names the parameter is absent.
        let c = Converter::with_epoch_offset(0)
            .to_event(&rec, &mut buf)
            .unwrap();
        assert_eq!(val(&c.event(&buf).unwrap(), "cgroups"), ParamValue::Empty);
    }

    #[test]
    fn pipes_and_fcntl() {
        let mut fds = 5i32.to_le_bytes().to_vec();
        fds.extend_from_slice(&6i32.to_le_bytes());
        let mut buf = Vec::new();
        let flags = (libc::O_CLOEXEC | libc::O_NONBLOCK) as u64;
        let rec = record(293, 0, [0x1000, flags, 0, 0, 0, 0], [&fds, b"", b""]);
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(
            (val(&ev, "fd1"), val(&ev, "fd2")),
            (ParamValue::Fd(5), ParamValue::Fd(6))
        );
        assert_eq!(flag_names(&ev, "flags"), ["O_NONBLOCK", "O_CLOEXEC"]);
        let rec = record(72, 9, [3, 1030, 9, 0, 0, 0], [b""; 3]);
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(
            val(&ev, "cmd"),
            ParamValue::Enum {
                value: 26,
                table: Some("fcntl_commands")
            }
        );
        assert_eq!(val(&ev, "fd"), ParamValue::Fd(3));
    }

    #[test]
    fn clone_child_and_parent() {
        let flags = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64;
        let mut buf = Vec::new();
        let ids: Vec<u8> = [40u32, 7, 7, 39, 1000, 0, 0, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        for ret in [0i64, 555] {
            let rec = record(56, ret, [flags, 0, 0, 0, 0, 0], [&ids, b"", b""]);
            let ev = convert(&rec, &mut buf).event(&buf).unwrap();
            assert_eq!(ev.event_type(), 223);
            assert_eq!(val(&ev, "res"), ParamValue::Pid(ret));
            assert_eq!(val(&ev, "tid"), ParamValue::Pid(101));
            assert_eq!(val(&ev, "ptid"), ParamValue::Pid(40));
            assert_eq!(
                (val(&ev, "vtid"), val(&ev, "vpid")),
                (ParamValue::Pid(7), ParamValue::Pid(7))
            );
            assert_eq!(
                flag_names(&ev, "flags"),
                ["CLONE_SIGHAND", "CLONE_THREAD", "CLONE_VM"]
            );
        }
        let rec = record(58, 9, [0; 6], [b""; 3]);
        let ev = convert(&rec, &mut buf).event(&buf).unwrap();
        assert_eq!(flag_names(&ev, "flags"), ["CLONE_VM", "CLONE_VFORK"]);
        assert_eq!(val(&ev, "ptid"), ParamValue::Empty, "no ids item: absent");
    }

    #[test]
    fn every_converted_syscall_has_a_newest_exit_event() {
        let mut buf = Vec::new();
        let mut n = 0;
        for id in 0..1024 {
            let Some(name) = syscall_name(id) else {
                continue;
            };
            n += 1;
            let info = exit_event(name).unwrap_or_else(|| panic!("{name}"));
            // Garbage registers and items must still give decodable events.
            let rec = record(id, -1, [u64::MAX; 6], [b"\x02\0xyz", b"\xff", b"a\0b"]);
            buf.clear();
            let c = convert(&rec, &mut buf);
            let ev = c.event(&buf).unwrap();
            assert_eq!(ev.event_type(), info.id, "{name}");
            for p in ev.params() {
                p.decode()
                    .unwrap_or_else(|e| panic!("{name}.{:?}: {e}", p.name()));
            }
        }
        assert_eq!(n, 64);
        assert!(
            Converter::new()
                .to_event(&record(0, 0, [0; 6], [b""; 3]), &mut buf)
                .is_none()
        );
    }

    /// The hard-coded x86-64 numbers agree with the C library's.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn syscall_numbers_match_libc() {
        use libc::*;
        let named = [
            (SYS_open, "open"),
            (SYS_openat, "openat"),
            (SYS_openat2, "openat2"),
            (SYS_creat, "creat"),
            (SYS_execve, "execve"),
            (SYS_execveat, "execveat"),
            (SYS_connect, "connect"),
            (SYS_accept, "accept"),
            (SYS_accept4, "accept4"),
            (SYS_bind, "bind"),
            (SYS_listen, "listen"),
            (SYS_socket, "socket"),
            (SYS_close, "close"),
            (SYS_dup, "dup"),
            (SYS_dup2, "dup2"),
            (SYS_dup3, "dup3"),
            (SYS_chmod, "chmod"),
            (SYS_fchmod, "fchmod"),
            (SYS_fchmodat, "fchmodat"),
            (SYS_fchmodat2, "fchmodat"),
            (SYS_unlink, "unlink"),
            (SYS_unlinkat, "unlinkat"),
            (SYS_rename, "rename"),
            (SYS_renameat, "renameat"),
            (SYS_renameat2, "renameat2"),
            (SYS_mkdir, "mkdir"),
            (SYS_mkdirat, "mkdirat"),
            (SYS_rmdir, "rmdir"),
            (SYS_symlink, "symlink"),
            (SYS_symlinkat, "symlinkat"),
            (SYS_link, "link"),
            (SYS_linkat, "linkat"),
            (SYS_setuid, "setuid"),
            (SYS_setgid, "setgid"),
            (SYS_setresuid, "setresuid"),
            (SYS_setresgid, "setresgid"),
            (SYS_ptrace, "ptrace"),
            (SYS_mount, "mount"),
            (SYS_umount2, "umount2"),
            (SYS_init_module, "init_module"),
            (SYS_finit_module, "finit_module"),
            (SYS_memfd_create, "memfd_create"),
            (SYS_bpf, "bpf"),
            (SYS_chdir, "chdir"),
            (SYS_fchdir, "fchdir"),
            (SYS_pipe, "pipe"),
            (SYS_pipe2, "pipe2"),
            (SYS_socketpair, "socketpair"),
            (SYS_fcntl, "fcntl"),
            (SYS_setsid, "setsid"),
            (SYS_setpgid, "setpgid"),
            (SYS_setreuid, "setreuid"),
            (SYS_setregid, "setregid"),
            (SYS_clone, "clone"),
            (SYS_clone3, "clone3"),
            (SYS_fork, "fork"),
            (SYS_vfork, "vfork"),
        ];
        for (id, name) in named {
            assert_eq!(syscall_name(id), Some(name), "{id}");
        }
        // Every syscall with a capture plan is one that is converted.
        for id in 0..1024 {
            if default_plan(id) != 0 {
                assert!(syscall_name(id).is_some(), "plan for unconverted {id}");
            }
        }
        assert_eq!(default_plan(SYS_mkdirat), default_plan(SYS_unlinkat));
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn state_syscalls_cover_processes_and_descriptors() {
        let ids = state_syscalls();
        for id in [
            libc::SYS_clone,
            libc::SYS_clone3,
            libc::SYS_fork,
            libc::SYS_vfork,
            libc::SYS_execve,
            libc::SYS_execveat,
            libc::SYS_open,
            libc::SYS_openat,
            libc::SYS_close,
            libc::SYS_dup2,
            libc::SYS_socket,
            libc::SYS_connect,
            libc::SYS_accept4,
            libc::SYS_pipe2,
            libc::SYS_chdir,
            libc::SYS_setuid,
        ] {
            assert!(ids.contains(&(id as u32)), "{id}");
        }
        // Pure observations are left to the rules.
        for id in [libc::SYS_chmod, libc::SYS_unlink, libc::SYS_ptrace] {
            assert!(!ids.contains(&(id as u32)), "{id}");
        }
    }

    #[test]
    fn process_exit_becomes_procexit() {
        let rec = ProcRecord {
            header: header(RecordKind::Exit),
            pid: 77,
            tgid: 70,
            extra: (3 << 8) | 0x80 | 9,
            comm: [0; 16],
        };
        let mut b = rec_bytes(&rec);
        let mut buf = Vec::new();
        let ev = convert(&b, &mut buf).event(&buf).unwrap();
        assert_eq!(ev.event_type(), 186);
        assert_eq!(ev.tid(), 77);
        assert_eq!(val(&ev, "ret"), ParamValue::Errno(3));
        assert_eq!(val(&ev, "sig"), ParamValue::Signal(9));
        assert_eq!(val(&ev, "core"), ParamValue::Uint8(1));
        assert_eq!(val(&ev, "reaper_tid"), ParamValue::Empty);
        // Exec and fork records have no event of their own.
        b[0..4].copy_from_slice(&(RecordKind::Fork as u32).to_le_bytes());
        assert!(Converter::new().to_event(&b, &mut buf).is_none());
        // Truncated records are refused.
        assert!(Converter::new().to_event(&b[..40], &mut buf).is_none());
    }

    fn rec_bytes(r: &ProcRecord) -> Vec<u8> {
        let mut b = vec![0u8; proc_layout::SIZE as usize];
        b[0..4].copy_from_slice(&(r.header.kind as u32).to_le_bytes());
        b[8..16].copy_from_slice(&r.header.ktime_ns.to_le_bytes());
        b[32..36].copy_from_slice(&r.pid.to_le_bytes());
        b[36..40].copy_from_slice(&r.tgid.to_le_bytes());
        b[40..44].copy_from_slice(&r.extra.to_le_bytes());
        b
    }
}
