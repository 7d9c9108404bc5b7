//! A test case turned into a real capture.
//!
//! The case becomes a scap file in memory, exactly as the kernel driver and libscap would
//! have written it: a machine-info block, the users, a process list holding the process and
//! its parent chain, the fd tables, and one exit event per test event with every parameter of
//! the event's newest version encoded by its wire type. The state engine then reads it like any
//! capture, so a test exercises the same code as replay and the live agent.

use std::net::IpAddr;

use lanner_event::records::fd_type;
use lanner_event::table::{Direction, EventFlags, ParamExtra, ParamType, TableVersion};
use lanner_event::{
    EventHeader, EventInfo, FdDetail, FdInfo, GroupInfo, IfAddr, Interface, MachineInfo,
    ScapWriter, ThreadInfo, UserEntry, UserInfo, WriteError, WriterOptions,
};
use lanner_syntax::codes;
use lanner_syntax::diagnostic::Diagnostic;
use lanner_syntax::span::FileSpan;

use crate::format::{
    Case, ContainerSpec, EventSpec, FdKind, FdSpec, ParamLit, ProcessSpec, TestFile,
};

/// The first event's timestamp (2023-11-14T22:13:20Z); later events follow 1 µs apart.
pub const BASE_TS: u64 = 1_700_000_000_000_000_000;

/// The default pid of the process under test; parents count down from it.
const DEFAULT_PID: i64 = 4242;

/// `AT_FDCWD` as the driver reports it.
const AT_FDCWD: i64 = -100;

/// The newest exit event of a syscall name, if the table has one.
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

/// The newest version of an enter-only meta event (`container`).
fn meta_event(name: &str) -> Option<&'static EventInfo> {
    TableVersion::Current
        .events()
        .iter()
        .filter(|e| {
            e.name == name
                && e.direction == Direction::Enter
                && !e.is_unused()
                && !e.flags.contains(EventFlags::OLD_VERSION)
        })
        .max_by_key(|e| e.id)
}

/// The JSON of one container event, in the shape libscap's container engines write it.
fn container_json(c: &ContainerSpec) -> Vec<u8> {
    // `repo:tag` splits at the last ':' after the last '/' (a registry port is no tag).
    let split = |image: &str| -> (String, String) {
        let slash = image.rfind('/').map_or(0, |i| i + 1);
        match image.get(slash..).and_then(|last| last.rfind(':')) {
            Some(colon) => (
                image.get(..slash + colon).unwrap_or(image).to_string(),
                image
                    .get(slash + colon + 1..)
                    .unwrap_or_default()
                    .to_string(),
            ),
            None => (image.to_string(), "latest".to_string()),
        }
    };
    let (repo, tag) = match (&c.image, &c.repository, &c.tag) {
        (_, Some(r), Some(t)) => (r.clone(), t.clone()),
        (Some(image), r, t) => {
            let (ir, it) = split(image);
            (r.clone().unwrap_or(ir), t.clone().unwrap_or(it))
        }
        (None, Some(r), None) => (r.clone(), "latest".to_string()),
        (None, None, t) => (String::new(), t.clone().unwrap_or_default()),
    };
    let image = c.image.clone().unwrap_or_else(|| {
        if repo.is_empty() {
            String::new()
        } else {
            format!("{repo}:{tag}")
        }
    });
    let short: String = c.id.chars().take(12).collect();
    let labels: serde_json::Map<String, serde_json::Value> = c
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
        .collect();
    let mounts: Vec<serde_json::Value> = c
        .mounts
        .iter()
        .map(|m| {
            serde_json::json!({
                "Source": m.source,
                "Destination": m.dest,
                "Mode": m.mode,
                "RW": m.rw,
                "Propagation": m.propagation,
            })
        })
        .collect();
    let json = serde_json::json!({
        "container": {
            "id": short,
            "full_id": c.id,
            "type": 0,
            "name": c.name.clone().unwrap_or_default(),
            "image": image,
            "imagerepo": repo,
            "imagetag": tag,
            "privileged": c.privileged.unwrap_or(false),
            "labels": labels,
            "Mounts": mounts,
        }
    });
    let mut out = json.to_string().into_bytes();
    out.push(0);
    out
}

/// One container event per distinct container with metadata that the case's processes run
/// in, in order of first mention.
fn container_events(file: &TestFile, case: &Case) -> Vec<Vec<u8>> {
    let mut specs: Vec<&ContainerSpec> = Vec::new();
    let parents = case.parents.as_ref().unwrap_or(&file.parents);
    let all = std::iter::once(&file.process)
        .chain(case.process.as_ref())
        .chain(parents)
        .chain(case.events.iter().filter_map(|e| e.process.as_ref()));
    for p in all {
        if let Some(c) = &p.container
            && !c.is_host()
            && c.has_metadata()
        {
            // A later mention of the same id replaces the metadata (a case over the file).
            match specs.iter_mut().find(|s| s.id == c.id) {
                Some(slot) => *slot = c,
                None => specs.push(c),
            }
        }
    }
    specs.into_iter().map(container_json).collect()
}

/// Syscalls whose return value is the new fd the test's `fd` describes.
fn creates_fd_from_res(name: &str) -> bool {
    matches!(
        name,
        "open"
            | "openat"
            | "openat2"
            | "creat"
            | "socket"
            | "accept"
            | "accept4"
            | "memfd_create"
            | "open_by_handle_at"
    )
}

/// Syscalls whose exit event describes the new program.
fn is_exec(name: &str) -> bool {
    matches!(name, "execve" | "execveat")
}

/// A process with every field filled.
#[derive(Clone, Debug)]
struct Proc {
    pid: i64,
    tid: i64,
    ptid: i64,
    comm: String,
    exe: String,
    exepath: String,
    args: Vec<String>,
    uid: u32,
    gid: u32,
    loginuid: u32,
    cwd: String,
    env: Vec<String>,
    tty: u32,
    cgroups: Vec<String>,
    /// Whether the process is in the process list.
    known: bool,
    cap_permitted: u64,
    cap_effective: u64,
    cap_inheritable: u64,
    exe_writable: bool,
    exe_upper_layer: bool,
    exe_lower_layer: bool,
    exe_from_memfd: bool,
    /// Unset: -1, as process lists without them say.
    sid: i64,
    vpgid: i64,
    vpid: i64,
    vtid: i64,
}

/// The execve `flags` parameter of a process: its exe flags by their `execve_flags` names.
fn exe_flags(p: &Proc) -> u32 {
    let Some(table) = TableVersion::Current.flag_table("execve_flags") else {
        return 0;
    };
    let set = [
        ("EXE_WRITABLE", p.exe_writable),
        ("EXE_UPPER_LAYER", p.exe_upper_layer),
        ("EXE_FROM_MEMFD", p.exe_from_memfd),
        ("EXE_LOWER_LAYER", p.exe_lower_layer),
    ];
    table
        .entries
        .iter()
        .filter(|(name, _)| set.iter().any(|(n, on)| *on && n == name))
        .fold(0, |bits, (_, v)| bits | v)
}

fn nul_joined(items: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for i in items {
        out.extend_from_slice(i.as_bytes());
        out.push(0);
    }
    out
}

fn fill(spec: &ProcessSpec, default_pid: i64) -> Proc {
    let comm = spec.name.clone().unwrap_or_else(|| "proc".to_string());
    let exe = spec.exe.clone().unwrap_or_else(|| comm.clone());
    let exepath = spec.exepath.clone().unwrap_or_else(|| {
        if exe.starts_with('/') {
            exe.clone()
        } else {
            format!("/usr/bin/{exe}")
        }
    });
    let pid = spec.pid.unwrap_or(default_pid);
    // A container id becomes a cgroup path of the form container runtimes create.
    let cgroups = match &spec.container {
        Some(c) if !c.is_host() => vec![
            format!("cpuset=/docker/{}", c.id),
            format!("memory=/docker/{}", c.id),
        ],
        _ => vec!["cpuset=/".to_string()],
    };

    Proc {
        pid,
        tid: spec.tid.unwrap_or(pid),
        ptid: 0,
        comm,
        exe,
        exepath,
        args: spec.args.clone().unwrap_or_default(),
        uid: spec.uid.unwrap_or(0),
        gid: spec.gid.unwrap_or(0),
        loginuid: spec.loginuid.unwrap_or(u32::MAX),
        cwd: spec.cwd.clone().unwrap_or_else(|| "/".to_string()),
        env: spec.env.clone().unwrap_or_default(),
        tty: spec.tty.unwrap_or(0),
        cgroups,
        known: spec.known.unwrap_or(true),
        // Unset capability sets are empty, for every user: a case that a rule's capability
        // test must see says so.
        cap_permitted: spec.cap_permitted.unwrap_or(0),
        cap_effective: spec.cap_effective.unwrap_or(0),
        cap_inheritable: spec.cap_inheritable.unwrap_or(0),
        exe_writable: spec.exe_writable.unwrap_or(false),
        exe_upper_layer: spec.exe_upper_layer.unwrap_or(false),
        exe_lower_layer: spec.exe_lower_layer.unwrap_or(false),
        exe_from_memfd: spec.exe_from_memfd.unwrap_or(false),
        sid: spec.sid.unwrap_or(-1),
        vpgid: spec.vpgid.unwrap_or(-1),
        vpid: spec.vpid.unwrap_or(pid),
        // A main thread's namespace tid is its namespace pid; another thread keeps its tid.
        vtid: spec.vtid.unwrap_or(match spec.tid {
            None => spec.vpid.unwrap_or(pid),
            Some(tid) => tid,
        }),
    }
}

/// The process chain of a case: the process itself first, then its parents, nearest first,
/// with ptids linking them.
fn chain(file: &TestFile, case: &Case, over: Option<&ProcessSpec>) -> Vec<Proc> {
    let mut spec = file.process.clone();
    if let Some(p) = &case.process {
        spec = spec.merged(p);
    }
    if let Some(p) = over {
        spec = spec.merged(p);
    }
    let parents = case.parents.as_ref().unwrap_or(&file.parents);
    let mut out = vec![fill(&spec, DEFAULT_PID)];
    for (i, p) in parents.iter().enumerate() {
        let default_pid = DEFAULT_PID - 100 * (i as i64 + 1);
        out.push(fill(p, default_pid.max(2)));
    }
    // The top of the chain is a child of init unless it is init.
    for i in 0..out.len() {
        let parent = out.get(i + 1).map_or(
            if out.get(i).is_some_and(|p| p.pid == 1) {
                0
            } else {
                1
            },
            |p| p.pid,
        );
        if let Some(p) = out.get_mut(i) {
            p.ptid = parent;
        }
    }
    out
}

/// Parses `a.b.c.d:port->e.f.g.h:port` (IPv6 addresses in brackets).
pub(crate) fn parse_tuple(text: &str) -> Option<(IpAddr, u16, IpAddr, u16)> {
    let (src, dst) = text.split_once("->")?;
    let endpoint = |s: &str| -> Option<(IpAddr, u16)> {
        let (ip, port) = s.trim().rsplit_once(':')?;
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        Some((ip.parse().ok()?, port.parse().ok()?))
    };
    let (sip, sport) = endpoint(src)?;
    let (dip, dport) = endpoint(dst)?;
    Some((sip, sport, dip, dport))
}

fn errno(name: &str) -> Option<i64> {
    Some(match name {
        "EPERM" => 1,
        "ENOENT" => 2,
        "EINTR" => 4,
        "EBADF" => 9,
        "EAGAIN" => 11,
        "EACCES" => 13,
        "EEXIST" => 17,
        "ENOTDIR" => 20,
        "EISDIR" => 21,
        "EINVAL" => 22,
        "ECONNREFUSED" => 111,
        "EINPROGRESS" => 115,
        _ => return None,
    })
}

/// Why a case could not be turned into a capture.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("writing the capture failed: {source}")]
    Write {
        #[from]
        source: WriteError,
    },
}

/// The capture of one case, and the problems found in its description.
pub struct Synthesized {
    pub capture: Vec<u8>,
    /// The number of events written (the test events, in order).
    pub events: usize,
    pub diagnostics: Vec<Diagnostic>,
}

struct Encoder<'a> {
    diags: Vec<Diagnostic>,
    at: FileSpan,
    event: &'a EventSpec,
}

impl Encoder<'_> {
    fn bad(&mut self, msg: String, help: &str) {
        self.diags
            .push(Diagnostic::new(codes::BAD_TEST_VALUE, self.at, msg).with_help(help.to_string()));
    }

    /// Encodes one written parameter value by its wire type.
    fn encode(&mut self, name: &str, ty: ParamType, extra: ParamExtra, lit: &ParamLit) -> Vec<u8> {
        let text = match lit {
            ParamLit::Bytes(b) => {
                return match ty {
                    ParamType::ByteBuf => b.clone(),
                    _ => {
                        self.bad(
                            format!("parameter `{name}` ({ty:?}) takes no raw bytes"),
                            "write `{hex: ...}` only for byte-buffer parameters such as `data`",
                        );
                        Vec::new()
                    }
                };
            }
            ParamLit::Scalar(s) => s.clone(),
            ParamLit::List(items) => {
                if matches!(ty, ParamType::ByteBuf | ParamType::CharBufArray) {
                    return nul_joined(items);
                }
                items.join("|")
            }
        };
        let int = |s: &str| -> Option<i64> {
            let s = s.trim();
            if let Some(h) = s.strip_prefix("0x") {
                i64::from_str_radix(h, 16).ok()
            } else if s.len() > 1 && s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()) {
                // Modes are written in octal, as `chmod` takes them.
                i64::from_str_radix(s, 8).ok()
            } else {
                s.parse()
                    .ok()
                    .or_else(|| errno(s.trim_start_matches('-')).map(|e| -e))
            }
        };
        // Flag names (`O_WRONLY|O_CREAT`) are looked up in the parameter's flag table.
        let flags = |s: &str| -> Option<i64> {
            if let Some(v) = int(s) {
                return Some(v);
            }
            let ParamExtra::Flags(table) = extra else {
                return None;
            };
            let table = TableVersion::Current.flag_table(table)?;
            let mut bits = 0u32;
            for part in s.split('|').map(str::trim).filter(|p| !p.is_empty()) {
                let (_, v) = table.entries.iter().find(|(n, _)| *n == part)?;
                bits |= *v;
            }
            Some(i64::from(bits))
        };
        use ParamType as T;
        let out = match ty {
            T::CharBuf | T::FsPath | T::FsRelPath => {
                let mut b = text.as_bytes().to_vec();
                b.push(0);
                Some(b)
            }
            T::ByteBuf | T::CharBufArray => Some(text.as_bytes().to_vec()),
            T::Int8
            | T::Uint8
            | T::SigType
            | T::L4Proto
            | T::SockFamily
            | T::Flags8
            | T::EnumFlags8 => flags(&text).map(|v| vec![v as u8]),
            T::Int16 | T::Uint16 | T::Port | T::Flags16 | T::EnumFlags16 | T::SyscallId => {
                flags(&text).map(|v| (v as u16).to_le_bytes().to_vec())
            }
            T::Int32
            | T::Uint32
            | T::Flags32
            | T::EnumFlags32
            | T::Mode
            | T::Uid
            | T::Gid
            | T::Bool
            | T::SigSet
            | T::Fd32
            | T::Pid32 => flags(&text).map(|v| (v as u32).to_le_bytes().to_vec()),
            T::Int64 | T::Uint64 | T::Errno | T::Fd | T::Pid | T::RelTime | T::AbsTime => {
                int(&text).map(|v| v.to_le_bytes().to_vec())
            }
            T::SockAddr => sockaddr(&text),
            T::SockTuple => parse_tuple(&text).and_then(socktuple),
            _ => None,
        };
        match out {
            Some(b) => b,
            None => {
                self.bad(
                    format!("cannot encode `{text}` as parameter `{name}` ({ty:?})"),
                    "write a number, flag names joined with `|`, a path, or `ip:port` as the parameter's type needs",
                );
                Vec::new()
            }
        }
    }
}

fn sockaddr(text: &str) -> Option<Vec<u8>> {
    if let Some(path) = text.strip_prefix("unix:") {
        let mut b = vec![1u8];
        b.extend_from_slice(path.as_bytes());
        b.push(0);
        return Some(b);
    }
    let (ip, port) = text.trim().rsplit_once(':')?;
    let ip: IpAddr = ip
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let port: u16 = port.parse().ok()?;
    Some(match ip {
        IpAddr::V4(v4) => {
            let mut b = vec![2u8];
            b.extend_from_slice(&v4.octets());
            b.extend_from_slice(&port.to_le_bytes());
            b
        }
        IpAddr::V6(v6) => {
            let mut b = vec![10u8];
            b.extend_from_slice(&v6.octets());
            b.extend_from_slice(&port.to_le_bytes());
            b
        }
    })
}

fn socktuple((sip, sport, dip, dport): (IpAddr, u16, IpAddr, u16)) -> Option<Vec<u8>> {
    Some(match (sip, dip) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut b = vec![2u8];
            b.extend_from_slice(&s.octets());
            b.extend_from_slice(&sport.to_le_bytes());
            b.extend_from_slice(&d.octets());
            b.extend_from_slice(&dport.to_le_bytes());
            b
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut b = vec![10u8];
            b.extend_from_slice(&s.octets());
            b.extend_from_slice(&sport.to_le_bytes());
            b.extend_from_slice(&d.octets());
            b.extend_from_slice(&dport.to_le_bytes());
            b
        }
        _ => return None,
    })
}

/// The value a parameter gets when the test does not set it: derived from the process, the
/// fd and the return value, or empty (length 0 means "absent" to current libs).
fn derived(name: &str, ty: ParamType, p: &Proc, ev: &EventSpec, res: i64) -> Vec<u8> {
    let cstr = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        b
    };
    let fd_path = ev.fd.as_ref().and_then(|f| match &f.kind {
        FdKind::File(p) | FdKind::Directory(p) => Some(p.clone()),
        FdKind::Unix(p) => Some(p.clone()),
        _ => None,
    });
    let tuple = ev.fd.as_ref().and_then(|f| match &f.kind {
        FdKind::Tcp(t) | FdKind::Udp(t) => parse_tuple(t),
        _ => None,
    });
    let i64b = |v: i64| v.to_le_bytes().to_vec();
    let u32b = |v: u32| v.to_le_bytes().to_vec();
    match (name, ty) {
        ("res", _) => i64b(res),
        ("fd", ParamType::Fd) => {
            let creates = creates_fd_from_res(&ev.syscall.node);
            i64b(if creates {
                res
            } else {
                ev.fd.as_ref().map_or(res, |f| f.num)
            })
        }
        ("dirfd", _) => i64b(AT_FDCWD),
        // dup2/dup3: the test's fd is the one duplicated, the result the new number.
        ("oldfd", _) => i64b(ev.fd.as_ref().map_or(res, |f| f.num)),
        ("newfd", _) => i64b(res),
        (
            "name" | "path" | "pathname" | "filename",
            ParamType::CharBuf | ParamType::FsPath | ParamType::FsRelPath,
        ) => fd_path.map_or_else(Vec::new, |s| cstr(&s)),
        ("exe", _) => cstr(&p.exe),
        ("args", _) => nul_joined(&p.args),
        ("tid", _) => i64b(p.tid),
        ("pid", _) => i64b(p.pid),
        ("ptid", _) => i64b(p.ptid),
        ("cwd", _) => cstr(&p.cwd),
        ("fdlimit", _) => 1024u64.to_le_bytes().to_vec(),
        ("comm", _) => cstr(&p.comm),
        ("cgroups", _) => nul_joined(&p.cgroups),
        ("env", _) => nul_joined(&p.env),
        ("tty", _) => u32b(p.tty),
        ("vtid", _) => i64b(p.vtid),
        ("vpid", _) => i64b(p.vpid),
        ("pgid", _) => i64b(if p.vpgid >= 0 { p.vpgid } else { p.pid }),
        ("vpgid", _) if p.vpgid >= 0 => i64b(p.vpgid),
        ("cap_permitted", _) => p.cap_permitted.to_le_bytes().to_vec(),
        ("cap_effective", _) => p.cap_effective.to_le_bytes().to_vec(),
        ("cap_inheritable", _) => p.cap_inheritable.to_le_bytes().to_vec(),
        ("flags", ParamType::Flags32) if is_exec(&ev.syscall.node) => u32b(exe_flags(p)),
        ("loginuid", _) => u32b(p.loginuid),
        ("uid", ParamType::Uid | ParamType::Uint32) => u32b(p.uid),
        ("gid", ParamType::Gid | ParamType::Uint32) => u32b(p.gid),
        ("trusted_exepath", _) => cstr(&p.exepath),
        ("tuple", _) => tuple.and_then(socktuple).unwrap_or_default(),
        ("addr", _) => tuple
            .and_then(|(_, _, dip, dport)| sockaddr(&format!("{dip}:{dport}")))
            .unwrap_or_default(),
        _ => match ty.fixed_size() {
            // Fixed-size values must have their size; zero is the neutral value.
            Some(n) if n > 0 && !matches!(ty, ParamType::Dyn) => vec![0; n],
            _ => Vec::new(),
        },
    }
}

fn fd_info<'a>(f: &'a FdSpec, storage: &'a [u8]) -> FdInfo<'a> {
    // libscap's L4 protocol codes: TCP 2, UDP 3.
    let l4proto = if matches!(f.kind, FdKind::Tcp(_)) {
        2
    } else {
        3
    };
    let tuple = match &f.kind {
        FdKind::Tcp(t) | FdKind::Udp(t) => parse_tuple(t),
        _ => None,
    };
    let (ty, detail) = match (&f.kind, tuple) {
        (_, Some((IpAddr::V4(sip), sport, IpAddr::V4(dip), dport))) => (
            fd_type::IPV4_SOCK,
            FdDetail::Ipv4 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            },
        ),
        (_, Some((IpAddr::V6(sip), sport, IpAddr::V6(dip), dport))) => (
            fd_type::IPV6_SOCK,
            FdDetail::Ipv6 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            },
        ),
        (FdKind::File(_), _) => (fd_type::FILE, FdDetail::Name(storage)),
        (FdKind::Directory(_), _) => (fd_type::DIRECTORY, FdDetail::Name(storage)),
        // The kernel socket addresses only pair the two ends; any distinct non-zero values do.
        (FdKind::Unix(_), _) => (
            fd_type::UNIX_SOCK,
            FdDetail::Unix {
                source: 0xffff_0000_0000_1000 + f.num as u64,
                dest: 0,
                path: storage,
            },
        ),
        (FdKind::Pipe, _) => (fd_type::FIFO, FdDetail::Name(storage)),
        // A tuple that does not parse is a load error (format::Reader::fd); should one get
        // here, it is written as an fd libscap cannot describe, named by its text.
        (FdKind::Tcp(_) | FdKind::Udp(_), _) => (fd_type::UNSUPPORTED, FdDetail::Name(storage)),
    };
    FdInfo {
        fd: f.num,
        ino: 0,
        fd_type: ty,
        detail,
    }
}

/// This machine's addresses in a case: loopback, and the file's `interfaces:`, else the end
/// of every socket that a process of this machine holds, as a kernel writes it: the server
/// end of an accepted socket, the client end of any other (libscap's tuples run client ->
/// server).
fn local_addresses(file: &TestFile, case: &Case) -> Vec<IpAddr> {
    let mut out = vec![
        IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    ];
    if let Some(given) = &file.interfaces {
        for a in given {
            if !out.contains(a) {
                out.push(*a);
            }
        }
        return out;
    }
    let accepted = |f: &FdSpec| {
        case.events.iter().any(|e| {
            e.fd.as_ref().is_some_and(|x| x.num == f.num)
                && matches!(e.syscall.node.as_str(), "accept" | "accept4")
        })
    };
    let fds = case
        .fds
        .iter()
        .chain(case.events.iter().filter_map(|e| e.fd.as_ref()));
    for f in fds {
        let (FdKind::Tcp(t) | FdKind::Udp(t)) = &f.kind else {
            continue;
        };
        if let Some((cip, _, sip, _)) = parse_tuple(t) {
            let local = if accepted(f) { sip } else { cip };
            if !local.is_unspecified() && !out.contains(&local) {
                out.push(local);
            }
        }
    }
    out
}

/// Builds the capture of one case.
pub fn synthesize(file: &TestFile, case: &Case) -> Result<Synthesized, SynthError> {
    let mut diags = Vec::new();
    let procs = chain(file, case, None);
    // The whole process-entry tail, so that tty, capabilities and exe flags reach the state.
    let mut w = ScapWriter::with_options(
        Vec::new(),
        WriterOptions {
            current_thread_tail: true,
            ..WriterOptions::default()
        },
    )?;
    w.write_machine_info(&MachineInfo {
        num_cpus: 2,
        memory_size_bytes: 8 << 30,
        max_pid: 4_194_304,
        hostname: b"lanner-test".to_vec(),
        ..MachineInfo::default()
    })?;

    // The machine's addresses, which decide `fd.is_server` and which end is `fd.lip`/`fd.rip`.
    w.write_interfaces(
        local_addresses(file, case)
            .into_iter()
            .map(|addr| Interface {
                name: if addr.is_loopback() { b"lo" } else { b"eth0" },
                addr: match addr {
                    IpAddr::V4(addr) => IfAddr::V4 {
                        addr,
                        netmask: std::net::Ipv4Addr::new(255, 255, 255, 0),
                        bcast: std::net::Ipv4Addr::UNSPECIFIED,
                    },
                    IpAddr::V6(addr) => IfAddr::V6 {
                        addr,
                        netmask: std::net::Ipv6Addr::UNSPECIFIED,
                        bcast: std::net::Ipv6Addr::UNSPECIFIED,
                    },
                },
                linkspeed: None,
            }),
    )?;

    // Users and groups, root always known.
    let mut users = file.users.clone();
    if !users.iter().any(|(uid, _)| *uid == 0) {
        users.push((0, "root".to_string()));
    }
    let mut groups = file.groups.clone();
    if !groups.iter().any(|(gid, _)| *gid == 0) {
        groups.push((0, "root".to_string()));
    }
    let entries: Vec<UserEntry<'_>> = users
        .iter()
        .map(|(uid, name)| {
            UserEntry::User(UserInfo {
                uid: *uid,
                gid: *uid,
                name: name.as_bytes(),
                homedir: b"/",
                shell: b"/bin/sh",
            })
        })
        .chain(groups.iter().map(|(gid, name)| {
            UserEntry::Group(GroupInfo {
                gid: *gid,
                name: name.as_bytes(),
            })
        }))
        .collect();
    w.write_users(entries)?;

    // The process list, ancestors included.
    let buffers: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = procs
        .iter()
        .map(|p| {
            (
                nul_joined(&p.args),
                nul_joined(&p.env),
                nul_joined(&p.cgroups),
            )
        })
        .collect();
    let threads: Vec<ThreadInfo<'_>> = procs
        .iter()
        .zip(&buffers)
        .filter(|(p, _)| p.known)
        .map(|(p, (args, env, cgroups))| ThreadInfo {
            tid: p.tid,
            pid: p.pid,
            ptid: p.ptid,
            comm: p.comm.as_bytes(),
            exe: p.exe.as_bytes(),
            exepath: p.exepath.as_bytes(),
            args,
            cwd: p.cwd.as_bytes(),
            fdlimit: 1024,
            uid: p.uid,
            gid: p.gid,
            env,
            vtid: p.vtid,
            vpid: p.vpid,
            cgroups,
            root: b"/",
            tty: p.tty,
            loginuid: p.loginuid,
            sid: p.sid,
            vpgid: p.vpgid,
            cap_permitted: p.cap_permitted,
            cap_effective: p.cap_effective,
            cap_inheritable: p.cap_inheritable,
            exe_writable: p.exe_writable,
            exe_upper_layer: p.exe_upper_layer,
            exe_lower_layer: p.exe_lower_layer,
            exe_from_memfd: p.exe_from_memfd,
            ..ThreadInfo::default()
        })
        .collect();
    w.write_threads(threads)?;

    // The container engine's metadata, as libscap writes it before the first event.
    for (i, json) in container_events(file, case).iter().enumerate() {
        if let Some(info) = meta_event("container") {
            w.write_event_parts(
                EventHeader {
                    ts: BASE_TS - 1_000 + i as u64,
                    tid: -1,
                    cpu: 0,
                    event_type: info.id,
                    dump_flags: 0,
                },
                &[json.as_slice()],
            )?;
        }
    }

    // The fds that exist before the events: the case's, and those the events use without
    // creating them.
    let mut fds: Vec<&FdSpec> = case.fds.iter().collect();
    for ev in &case.events {
        if let Some(f) = &ev.fd
            && !creates_fd_from_res(&ev.syscall.node)
            && !fds.iter().any(|x| x.num == f.num)
        {
            fds.push(f);
        }
    }
    let names: Vec<Vec<u8>> = fds
        .iter()
        .map(|f| match &f.kind {
            FdKind::File(p) | FdKind::Directory(p) | FdKind::Unix(p) => p.as_bytes().to_vec(),
            FdKind::Tcp(t) | FdKind::Udp(t) => t.as_bytes().to_vec(),
            FdKind::Pipe => Vec::new(),
        })
        .collect();
    if let Some(p) = procs.first().filter(|p| p.known) {
        w.write_fd_table(p.tid, fds.iter().zip(&names).map(|(f, n)| fd_info(f, n)))?;
    }

    // The events.
    let mut written = 0;
    for (i, ev) in case.events.iter().enumerate() {
        let Some(info) = exit_event(&ev.syscall.node) else {
            diags.push(
                Diagnostic::new(
                    codes::UNKNOWN_SYSCALL,
                    FileSpan::new(ev.span.file, ev.syscall.span),
                    format!("no event for syscall `{}`", ev.syscall.node),
                )
                .with_help(
                    "use a syscall name as in `evt.type`, e.g. `openat`, `execve`, `connect`",
                ),
            );
            continue;
        };
        let procs = chain(file, case, ev.process.as_ref());
        let Some(p) = procs.first() else { continue };
        let res = ev.res.unwrap_or_else(|| {
            if creates_fd_from_res(&ev.syscall.node) {
                ev.fd.as_ref().map_or(0, |f| f.num)
            } else {
                0
            }
        });
        let mut enc = Encoder {
            diags: Vec::new(),
            at: ev.span,
            event: ev,
        };
        for (name, _) in &ev.params {
            if info.param_index(&name.node).is_none() {
                enc.diags.push(
                    Diagnostic::new(
                        codes::UNKNOWN_EVENT_PARAM,
                        FileSpan::new(ev.span.file, name.span),
                        format!("event `{}` has no parameter `{}`", info.name, name.node),
                    )
                    .with_help(format!(
                        "its parameters are: {}",
                        info.params
                            .iter()
                            .map(|p| p.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
            }
        }
        let values: Vec<Vec<u8>> = info
            .params
            .iter()
            .map(
                |pi| match enc.event.params.iter().find(|(n, _)| n.node == pi.name) {
                    Some((_, lit)) => enc.encode(pi.name, pi.ptype, pi.extra, lit),
                    None => derived(pi.name, pi.ptype, p, ev, res),
                },
            )
            .collect();
        diags.append(&mut enc.diags);
        let slices: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        w.write_event_parts(
            EventHeader {
                ts: BASE_TS + 1_000 * i as u64,
                tid: p.tid,
                cpu: 0,
                event_type: info.id,
                dump_flags: 0,
            },
            &slices,
        )?;
        written += 1;
    }
    let capture = w.finish()?;
    Ok(Synthesized {
        capture,
        events: written,
        diagnostics: diags,
    })
}
