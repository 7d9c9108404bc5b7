//! `evt.args` and `evt.arg.NAME`: event parameters rendered as Falco prints them.
//!
//! The rules below were read off Falco 0.44.1's output for the shared captures: numbers in
//! their print format (uppercase hex without prefix, octal with a leading 0), flags as
//! `value(NAME|NAME)`, errno values with their name, fds with their type letter and name,
//! thread ids with their command, relative paths with their resolution, byte buffers with
//! non-printable bytes as `.`, and `<NA>` (or `NULL` for buffers and tuples) for an empty
//! parameter.

use std::fmt::Write as _;

use lanner_event::table::{ParamExtra, ParamFormat};
use lanner_event::{Event, ParamInfo, ParamValue, SockAddr, SockTuple, TableVersion};

use crate::errno::errno_name;
use crate::extract::fd_typechar;
use crate::state::{SockInfo, State, l4, resolve_path};

/// `evt.args`: every parameter as `name=value`, separated by spaces.
pub fn render_args(ev: &Event<'_>, st: &State) -> Vec<u8> {
    let mut out = Vec::new();
    let Some(info) = ev.info() else {
        return out;
    };
    // Falco prints no arguments for generic syscall events.
    if matches!(ev.event_type(), 0 | 1) {
        return out;
    }
    for (i, p) in info.params.iter().enumerate() {
        if i >= ev.nparams() {
            break;
        }
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(p.name.as_bytes());
        out.push(b'=');
        let (raw, resolved) = render_param(ev, st, i, p);
        out.extend_from_slice(&raw);
        if let Some(r) = resolved {
            out.push(b'(');
            out.extend_from_slice(&r);
            out.push(b')');
        }
    }
    out
}

/// `evt.arg.NAME` (or `evt.arg[N]`): libsinsp's extraction gives the parameter's resolved
/// form when it has a non-empty one (the path of an fd, the names of flags, the user of a
/// uid), else the raw value. Only `evt.args` shows both as `raw(resolved)`, so
/// `evt.arg.cmd = BPF_PROG_LOAD` holds where `evt.args` shows `cmd=5(BPF_PROG_LOAD)`.
pub fn render_arg(ev: &Event<'_>, st: &State, name: &str) -> Option<Vec<u8>> {
    let info = ev.info()?;
    let i = match name.parse::<usize>() {
        Ok(n) => n,
        Err(_) => info.param_index(name)?,
    };
    if i >= ev.nparams() {
        return None;
    }
    let p = info.params.get(i)?;
    let (raw, resolved) = render_param(ev, st, i, p);
    Some(match resolved {
        Some(r) if !r.is_empty() => r,
        _ => raw,
    })
}

fn signal_name(sig: u8) -> Option<&'static str> {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    NAMES
        .get(usize::from(sig))
        .copied()
        .filter(|n| !n.is_empty())
}

fn printable(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend(
        bytes
            .iter()
            .map(|&b| if (0x20..0x7f).contains(&b) { b } else { b'.' }),
    );
}

fn number(v: i128, format: ParamFormat, out: &mut Vec<u8>) {
    let s = match format {
        ParamFormat::Hex => format!("{v:X}"),
        ParamFormat::Oct if v != 0 => format!("0{v:o}"),
        _ => v.to_string(),
    };
    out.extend_from_slice(s.as_bytes());
}

/// The names of a flags or enum value from its table, joined by `|`; `None` when the
/// parameter has no table or no name matches.
fn flag_names(value: u32, table: Option<&str>, is_enum: bool) -> Option<Vec<u8>> {
    let t = table.and_then(|t| TableVersion::Current.flag_table(t))?;
    let names: Vec<&str> = if is_enum {
        t.entries
            .iter()
            .filter(|(_, v)| *v == value)
            .map(|(n, _)| *n)
            .collect()
    } else {
        t.decompose(value).collect()
    };
    (!names.is_empty()).then(|| names.join("|").into_bytes())
}

/// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (UTC) for a time in ns since the epoch.
pub(crate) fn abstime(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac:09}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// The resolved form of an fd parameter: `AT_FDCWD`, an errno name, or the fd's type
/// letter(s) and name (`<f>/etc/passwd`).
fn fd_resolved(st: &State, tid: i64, fd: i64) -> Option<Vec<u8>> {
    if fd == -100 {
        return Some(b"AT_FDCWD".to_vec());
    }
    if fd < 0 {
        return errno_name(-fd).map(|n| n.as_bytes().to_vec());
    }
    let pid = st
        .thread(tid)
        .map_or(tid, |t| if t.pid > 0 { t.pid } else { tid });
    let f = st.fd(pid, fd)?;
    let mut out = Vec::new();
    out.push(b'<');
    out.extend_from_slice(fd_typechar(f.kind).as_bytes());
    if f.sock != SockInfo::None {
        match f.l4proto {
            l4::TCP => out.push(b't'),
            l4::UDP => out.push(b'u'),
            l4::ICMP => out.push(b'i'),
            l4::RAW => out.push(b'r'),
            _ => {}
        }
    }
    out.push(b'>');
    out.extend_from_slice(&f.name);
    Some(out)
}

/// The user (or group) name of a uid (gid) parameter. libsinsp keys its user and group
/// tables by container and a capture's user list describes the host, so an id read by a
/// thread in a container has no name (Falco 0.44.1 prints `uid=0(<NA>)` for `getuid` in
/// run_as_user_0_container.scap) while a host thread's id is named from the table.
fn id_name(ev: &Event<'_>, st: &State, id: u32, is_gid: bool) -> Vec<u8> {
    let on_host = st
        .thread(ev.tid())
        .is_some_and(|t| t.container_id.is_empty());
    let name = if !on_host {
        None
    } else if is_gid {
        st.group(id).map(<[u8]>::to_vec)
    } else {
        st.user(id).map(|u| u.name.clone())
    };
    name.unwrap_or_else(|| b"<NA>".to_vec())
}

/// One parameter as libsinsp renders it: the raw text and, for parameters that have one,
/// the resolved form (`evt.args` prints `raw(resolved)`, `evt.arg` prefers the resolved).
fn render_param(ev: &Event<'_>, st: &State, i: usize, p: &ParamInfo) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut out = Vec::new();
    let mut resolved = None;
    let Ok(v) = ev.decode(i) else {
        out.extend_from_slice(b"<NA>");
        return (out, None);
    };
    match v {
        ParamValue::Empty => match p.ptype {
            lanner_event::ParamType::ByteBuf | lanner_event::ParamType::SockTuple => {
                out.extend_from_slice(b"NULL")
            }
            _ => out.extend_from_slice(b"<NA>"),
        },
        ParamValue::Int8(n) => number(n.into(), p.format, &mut out),
        ParamValue::Int16(n) => number(n.into(), p.format, &mut out),
        ParamValue::Int32(n) => number(n.into(), p.format, &mut out),
        ParamValue::Int64(n) => number(n.into(), p.format, &mut out),
        ParamValue::Uint8(n) => number(n.into(), p.format, &mut out),
        ParamValue::Uint16(n) => number(n.into(), p.format, &mut out),
        ParamValue::Uint32(n) => number(n.into(), p.format, &mut out),
        ParamValue::Uint64(n) => number(n.into(), p.format, &mut out),
        ParamValue::Port(n) => number(n.into(), p.format, &mut out),
        ParamValue::Mode(n) => {
            // The octal mode, then the names of its bits from the parameter's table
            // (`chmod_mode`), as libsinsp prints flags: `04755(S_IXOTH|...|S_ISUID)`. Rules
            // test the names (`evt.arg.mode contains S_ISUID`).
            number(n.into(), p.format, &mut out);
            if let lanner_event::table::ParamExtra::Flags(t) = p.extra {
                resolved = flag_names(n, Some(t), false);
            }
        }
        ParamValue::SigSet(n) => number(n.into(), p.format, &mut out),
        ParamValue::SyscallId(n) => number(n.into(), ParamFormat::Dec, &mut out),
        ParamValue::L4Proto(n) | ParamValue::SockFamily(n) => {
            number(n.into(), ParamFormat::Dec, &mut out)
        }
        ParamValue::Errno(n) => {
            out.extend_from_slice(n.to_string().as_bytes());
            if n < 0 {
                resolved = errno_name(-n).map(|name| name.as_bytes().to_vec());
            }
        }
        ParamValue::Fd(n) => {
            out.extend_from_slice(n.to_string().as_bytes());
            resolved = fd_resolved(st, ev.tid(), n);
        }
        ParamValue::Pid(n) => {
            out.extend_from_slice(n.to_string().as_bytes());
            resolved = st.thread(n).map(|t| t.comm.clone());
        }
        ParamValue::Uid(u) | ParamValue::Gid(u) => {
            if u == u32::MAX {
                out.extend_from_slice(b"-1");
                resolved = Some(b"<NONE>".to_vec());
            } else {
                out.extend_from_slice(u.to_string().as_bytes());
                let is_gid = matches!(v, ParamValue::Gid(_));
                resolved = Some(id_name(ev, st, u, is_gid));
            }
        }
        ParamValue::Str(s) => out.extend_from_slice(s),
        ParamValue::Path(s) | ParamValue::RelPath { path: s, .. } => {
            out.extend_from_slice(s);
            if !s.is_empty() && s.first() != Some(&b'/') {
                let base = relpath_base(ev, st, p);
                resolved = Some(resolve_path(&base, s));
            }
        }
        ParamValue::Bytes(b) => printable(b, &mut out),
        ParamValue::SockAddr(a) => match a {
            SockAddr::Inet(ip, port) => out.extend_from_slice(format!("{ip}:{port}").as_bytes()),
            SockAddr::Inet6(ip, port) => out.extend_from_slice(format!("{ip}:{port}").as_bytes()),
            SockAddr::Unix(path) => out.extend_from_slice(path),
            SockAddr::Other { .. } => out.extend_from_slice(b"<NA>"),
        },
        ParamValue::SockTuple(t) => match t {
            SockTuple::Inet {
                sip,
                sport,
                dip,
                dport,
            } => out.extend_from_slice(format!("{sip}:{sport}->{dip}:{dport}").as_bytes()),
            SockTuple::Inet6 {
                sip,
                sport,
                dip,
                dport,
            } => out.extend_from_slice(format!("{sip}:{sport}->{dip}:{dport}").as_bytes()),
            SockTuple::Unix { source, dest, path } => {
                out.extend_from_slice(format!("{source:x}->{dest:x} ").as_bytes());
                out.extend_from_slice(path);
            }
            SockTuple::Other { .. } => out.extend_from_slice(b"<NA>"),
        },
        ParamValue::FdList(list) => {
            // Each entry is `fd:` then the fd's type letter when Falco knows the fd, then the
            // poll flags in hex.
            let pid = st
                .thread(ev.tid())
                .map_or(ev.tid(), |t| if t.pid > 0 { t.pid } else { ev.tid() });
            let items: Vec<String> = list
                .iter()
                .map(|(fd, fl)| {
                    let ty = st.fd(pid, fd).map_or("", |f| fd_typechar(f.kind));
                    format!("{fd}:{ty}{:x}", fl as u16)
                })
                .collect();
            out.extend_from_slice(items.join(" ").as_bytes());
        }
        ParamValue::Signal(s) => {
            out.extend_from_slice(s.to_string().as_bytes());
            resolved = signal_name(s).map(|n| n.as_bytes().to_vec());
        }
        ParamValue::RelTime(ns) => {
            out.extend_from_slice(ns.to_string().as_bytes());
            let secs = ns / 1_000_000_000;
            let frac = ns % 1_000_000_000;
            let text = if frac == 0 {
                format!("{secs}s")
            } else {
                let f = format!("{frac:09}");
                format!("{secs}.{}s", f.trim_end_matches('0'))
            };
            resolved = Some(text.into_bytes());
        }
        ParamValue::AbsTime(ns) => out.extend_from_slice(abstime(ns).as_bytes()),
        ParamValue::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        ParamValue::Ipv4(a) => out.extend_from_slice(a.to_string().as_bytes()),
        ParamValue::Ipv6(a) => out.extend_from_slice(a.to_string().as_bytes()),
        ParamValue::Flags { bits, table } => {
            out.extend_from_slice(bits.to_string().as_bytes());
            resolved = flag_names(bits, table, false);
        }
        ParamValue::Enum { value, table } => {
            out.extend_from_slice(value.to_string().as_bytes());
            resolved = flag_names(value, table, true);
        }
        ParamValue::Double(d) => {
            let _ = write!(DisplayBuf(&mut out), "{d}");
        }
        ParamValue::StrList(l) => {
            let items: Vec<&[u8]> = l.iter().collect();
            out.extend_from_slice(&items.join(&b' '));
        }
        ParamValue::Dyn { value, .. } => match v.dyn_value() {
            Some(Ok(inner)) => match inner.as_i64() {
                Some(n) => out.extend_from_slice(n.to_string().as_bytes()),
                None => printable(inner.as_bytes().unwrap_or(value), &mut out),
            },
            _ => printable(value, &mut out),
        },
        ParamValue::Opaque(b) => printable(b, &mut out),
    }
    (out, resolved)
}

/// The directory a relative path parameter is resolved against: its dirfd parameter's
/// directory, or the thread's working directory.
fn relpath_base(ev: &Event<'_>, st: &State, p: &ParamInfo) -> Vec<u8> {
    let tid = ev.tid();
    let cwd = || {
        st.thread(tid)
            .map(|t| st.main_thread(t).cwd.clone())
            .unwrap_or_default()
    };
    let dirfd = match p.extra {
        ParamExtra::DirFd(i) => ev.decode(usize::from(i)).ok().and_then(|v| v.as_i64()),
        _ => None,
    };
    match dirfd {
        Some(d) if d != -100 => {
            let pid = st
                .thread(tid)
                .map_or(tid, |t| if t.pid > 0 { t.pid } else { tid });
            st.fd(pid, d).map(|f| f.name.clone()).unwrap_or_default()
        }
        _ => cwd(),
    }
}

/// Lets `write!` append to a byte vector.
struct DisplayBuf<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for DisplayBuf<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
