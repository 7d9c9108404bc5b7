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
        out.extend_from_slice(&render_param(ev, st, i, p));
    }
    out
}

/// `evt.arg.NAME` (or `evt.arg[N]`).
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
    Some(render_param(ev, st, i, p))
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

fn flags(value: u32, table: Option<&str>, is_enum: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(value.to_string().as_bytes());
    let Some(t) = table.and_then(|t| TableVersion::Current.flag_table(t)) else {
        return;
    };
    let names: Vec<&str> = if is_enum {
        t.entries
            .iter()
            .filter(|(_, v)| *v == value)
            .map(|(n, _)| *n)
            .collect()
    } else {
        t.decompose(value).collect()
    };
    if !names.is_empty() {
        out.push(b'(');
        out.extend_from_slice(names.join("|").as_bytes());
        out.push(b')');
    }
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

fn fd_text(st: &State, tid: i64, fd: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(fd.to_string().as_bytes());
    if fd == -100 {
        out.extend_from_slice(b"(AT_FDCWD)");
        return;
    }
    if fd < 0 {
        if let Some(n) = errno_name(-fd) {
            out.push(b'(');
            out.extend_from_slice(n.as_bytes());
            out.push(b')');
        }
        return;
    }
    let pid = st
        .thread(tid)
        .map_or(tid, |t| if t.pid > 0 { t.pid } else { tid });
    let Some(f) = st.fd(pid, fd) else {
        return;
    };
    out.extend_from_slice(b"(<");
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
    out.push(b')');
}

fn render_param(ev: &Event<'_>, st: &State, i: usize, p: &ParamInfo) -> Vec<u8> {
    let mut out = Vec::new();
    let Ok(v) = ev.decode(i) else {
        out.extend_from_slice(b"<NA>");
        return out;
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
            if let lanner_event::table::ParamExtra::Flags(t) = p.extra
                && let Some(table) = TableVersion::Current.flag_table(t)
            {
                let names: Vec<&str> = table.decompose(n).collect();
                if !names.is_empty() {
                    out.push(b'(');
                    out.extend_from_slice(names.join("|").as_bytes());
                    out.push(b')');
                }
            }
        }
        ParamValue::SigSet(n) => number(n.into(), p.format, &mut out),
        ParamValue::SyscallId(n) => number(n.into(), ParamFormat::Dec, &mut out),
        ParamValue::L4Proto(n) | ParamValue::SockFamily(n) => {
            number(n.into(), ParamFormat::Dec, &mut out)
        }
        ParamValue::Errno(n) => {
            out.extend_from_slice(n.to_string().as_bytes());
            if n < 0
                && let Some(name) = errno_name(-n)
            {
                out.push(b'(');
                out.extend_from_slice(name.as_bytes());
                out.push(b')');
            }
        }
        ParamValue::Fd(n) => fd_text(st, ev.tid(), n, &mut out),
        ParamValue::Pid(n) => {
            out.extend_from_slice(n.to_string().as_bytes());
            if let Some(t) = st.thread(n) {
                out.push(b'(');
                out.extend_from_slice(&t.comm);
                out.push(b')');
            }
        }
        ParamValue::Uid(u) | ParamValue::Gid(u) => {
            if u == u32::MAX {
                out.extend_from_slice(b"-1(<NONE>)");
            } else {
                out.extend_from_slice(format!("{u}(<NA>)").as_bytes());
            }
        }
        ParamValue::Str(s) => out.extend_from_slice(s),
        ParamValue::Path(s) | ParamValue::RelPath { path: s, .. } => {
            out.extend_from_slice(s);
            if !s.is_empty() && s.first() != Some(&b'/') {
                let base = relpath_base(ev, st, p);
                out.push(b'(');
                out.extend_from_slice(&resolve_path(&base, s));
                out.push(b')');
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
            if let Some(n) = signal_name(s) {
                out.push(b'(');
                out.extend_from_slice(n.as_bytes());
                out.push(b')');
            }
        }
        ParamValue::RelTime(ns) => {
            out.extend_from_slice(ns.to_string().as_bytes());
            let secs = ns / 1_000_000_000;
            let frac = ns % 1_000_000_000;
            let text = if frac == 0 {
                format!("({secs}s)")
            } else {
                let f = format!("{frac:09}");
                format!("({secs}.{}s)", f.trim_end_matches('0'))
            };
            out.extend_from_slice(text.as_bytes());
        }
        ParamValue::AbsTime(ns) => out.extend_from_slice(abstime(ns).as_bytes()),
        ParamValue::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        ParamValue::Ipv4(a) => out.extend_from_slice(a.to_string().as_bytes()),
        ParamValue::Ipv6(a) => out.extend_from_slice(a.to_string().as_bytes()),
        ParamValue::Flags { bits, table } => flags(bits, table, false, &mut out),
        ParamValue::Enum { value, table } => flags(value, table, true, &mut out),
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
    out
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
