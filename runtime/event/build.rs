//! Generates the Rust event tables from the TSV copies in `tables/`.
//!
//! The TSVs are committed inside the crate (copied from the shared reference data) so that a
//! plain `cargo build` works without the reference folder beside the repository.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

type BoxError = Box<dyn Error>;

const CURRENT: &str = "tables/event_table.tsv";
const SYSDIG029: &str = "tables/event_table_libs-e5c53d64_sysdig-0.29.3.tsv";
const PPM_SC: &str = "tables/ppm_sc.tsv";
const FLAGS_CURRENT: &str = "tables/flags_table.tsv";
const FLAGS_SYSDIG029: &str = "tables/flags_table_libs-e5c53d64_sysdig-0.29.3.tsv";

/// Maps a `PT_*` name from the tables to the `ParamType` variant of `src/table.rs`.
const PARAM_TYPES: &[(&str, &str)] = &[
    ("PT_NONE", "None"),
    ("PT_INT8", "Int8"),
    ("PT_INT16", "Int16"),
    ("PT_INT32", "Int32"),
    ("PT_INT64", "Int64"),
    ("PT_UINT8", "Uint8"),
    ("PT_UINT16", "Uint16"),
    ("PT_UINT32", "Uint32"),
    ("PT_UINT64", "Uint64"),
    ("PT_CHARBUF", "CharBuf"),
    ("PT_BYTEBUF", "ByteBuf"),
    ("PT_ERRNO", "Errno"),
    ("PT_SOCKADDR", "SockAddr"),
    ("PT_SOCKTUPLE", "SockTuple"),
    ("PT_FD", "Fd"),
    ("PT_PID", "Pid"),
    ("PT_FDLIST", "FdList"),
    ("PT_FSPATH", "FsPath"),
    ("PT_SYSCALLID", "SyscallId"),
    ("PT_SIGTYPE", "SigType"),
    ("PT_RELTIME", "RelTime"),
    ("PT_ABSTIME", "AbsTime"),
    ("PT_PORT", "Port"),
    ("PT_L4PROTO", "L4Proto"),
    ("PT_SOCKFAMILY", "SockFamily"),
    ("PT_BOOL", "Bool"),
    ("PT_IPV4ADDR", "Ipv4Addr"),
    ("PT_DYN", "Dyn"),
    ("PT_FLAGS8", "Flags8"),
    ("PT_FLAGS16", "Flags16"),
    ("PT_FLAGS32", "Flags32"),
    ("PT_UID", "Uid"),
    ("PT_GID", "Gid"),
    ("PT_DOUBLE", "Double"),
    ("PT_SIGSET", "SigSet"),
    ("PT_CHARBUFARRAY", "CharBufArray"),
    ("PT_CHARBUF_PAIR_ARRAY", "CharBufPairArray"),
    ("PT_IPV4NET", "Ipv4Net"),
    ("PT_IPV6ADDR", "Ipv6Addr"),
    ("PT_IPV6NET", "Ipv6Net"),
    ("PT_IPADDR", "IpAddr"),
    ("PT_IPNET", "IpNet"),
    ("PT_MODE", "Mode"),
    ("PT_FSRELPATH", "FsRelPath"),
    ("PT_ENUMFLAGS8", "EnumFlags8"),
    ("PT_ENUMFLAGS16", "EnumFlags16"),
    ("PT_ENUMFLAGS32", "EnumFlags32"),
    ("PT_FD32", "Fd32"),
    ("PT_PID32", "Pid32"),
];

const FORMATS: &[(&str, &str)] = &[
    ("PF_NA", "Na"),
    ("PF_DEC", "Dec"),
    ("PF_HEX", "Hex"),
    ("PF_OCT", "Oct"),
    ("PF_10_PADDED_DEC", "PaddedDec"),
];

const CATEGORIES: &[(&str, u32)] = &[
    ("EC_UNKNOWN", 0),
    ("EC_OTHER", 1),
    ("EC_FILE", 2),
    ("EC_NET", 3),
    ("EC_IPC", 4),
    ("EC_MEMORY", 5),
    ("EC_PROCESS", 6),
    ("EC_SLEEP", 7),
    ("EC_SYSTEM", 8),
    ("EC_SIGNAL", 9),
    ("EC_USER", 10),
    ("EC_TIME", 11),
    ("EC_PROCESSING", 12),
    ("EC_IO_READ", 32),
    ("EC_IO_WRITE", 33),
    ("EC_IO_OTHER", 34),
    ("EC_WAIT", 64),
    ("EC_SCHEDULER", 128),
    ("EC_INTERNAL", 256),
    ("EC_SYSCALL", 0x200),
    ("EC_TRACEPOINT", 0x400),
    ("EC_PLUGIN", 0x800),
    ("EC_METAEVENT", 0x1000),
    ("EC_ITER", 0x2000),
];

const FLAGS: &[(&str, u32)] = &[
    ("EF_NONE", 0),
    ("EF_CREATES_FD", 1),
    ("EF_DESTROYS_FD", 2),
    ("EF_USES_FD", 4),
    ("EF_READS_FROM_FD", 8),
    ("EF_WRITES_TO_FD", 0x10),
    ("EF_MODIFIES_STATE", 0x20),
    ("EF_UNUSED", 0x40),
    ("EF_WAITS", 0x80),
    ("EF_SKIPPARSERESET", 0x100),
    ("EF_OLD_VERSION", 0x200),
    ("EF_DROP_SIMPLE_CONS", 0x400),
    ("EF_LARGE_PAYLOAD", 0x800),
    ("EF_CONVERTER_MANAGED", 0x1000),
];

fn lookup<T: Copy>(table: &[(&str, T)], key: &str, what: &str) -> Result<T, BoxError> {
    table
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, v)| *v)
        .ok_or_else(|| format!("unknown {what} `{key}`").into())
}

fn bits(table: &[(&str, u32)], field: &str, what: &str) -> Result<u32, BoxError> {
    let mut acc = 0;
    for token in field.split('|').filter(|t| !t.is_empty()) {
        acc |= lookup(table, token, what)?;
    }
    Ok(acc)
}

/// Parses the `param_info` column (`i=table;j=DIRFD_PARAM(k);…`) into per-parameter extras.
fn param_extras(field: &str) -> Result<BTreeMap<usize, String>, BoxError> {
    let mut out = BTreeMap::new();
    for item in field.split(';').filter(|t| !t.is_empty()) {
        let (idx, what) = item
            .split_once('=')
            .ok_or_else(|| format!("bad param_info item `{item}`"))?;
        let idx: usize = idx.parse()?;
        let extra = if let Some(rest) = what.strip_prefix("DIRFD_PARAM(") {
            let n: u8 = rest.trim_end_matches(')').parse()?;
            format!("ParamExtra::DirFd({n})")
        } else if what.contains("_dynamic_param") {
            let table = if what.starts_with("sockopt") {
                "Sockopt"
            } else if what.starts_with("ptrace") {
                "Ptrace"
            } else if what.starts_with("bpf") {
                "Bpf"
            } else if what.starts_with("keyctl") {
                "Keyctl"
            } else {
                return Err(format!("unknown dynamic table `{what}`").into());
            };
            format!("ParamExtra::Dyn(DynTable::{table})")
        } else {
            format!("ParamExtra::Flags({what:?})")
        };
        out.insert(idx, extra);
    }
    Ok(out)
}

fn gen_event_table(path: &str, static_name: &str, out: &mut String) -> Result<(), BoxError> {
    let text = fs::read_to_string(path)?;
    let mut lines = text.lines();
    lines.next().ok_or("empty table")?;
    writeln!(out, "pub(crate) static {static_name}: &[EventInfo] = &[")?;
    for (expected_id, line) in lines.enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        let col = |i: usize| -> Result<&str, BoxError> {
            cols.get(i)
                .copied()
                .ok_or_else(|| format!("{path}: short row `{line}`").into())
        };
        let id: usize = col(0)?.parse()?;
        if id != expected_id {
            return Err(format!("{path}: ids not contiguous at {id}").into());
        }
        let direction = match col(3)? {
            "E" => "Direction::Enter",
            "X" => "Direction::Exit",
            other => return Err(format!("{path}: bad direction `{other}`").into()),
        };
        let category = bits(CATEGORIES, col(4)?, "category")?;
        let flags = bits(FLAGS, col(5)?, "flag")?;
        let nparams: usize = col(6)?.parse()?;
        let extras = param_extras(col(7)?)?;
        let mut params = String::new();
        // The sysdig 0.29 table declares nparams=1 for seccomp enter while listing two
        // parameters; libscap of that era trusts nparams, so we keep only that many.
        for (idx, p) in cols
            .iter()
            .skip(8)
            .filter(|p| !p.is_empty())
            .take(nparams)
            .enumerate()
        {
            let mut parts = p.split(':');
            let name = parts.next().ok_or("param name")?;
            let ptype = lookup(PARAM_TYPES, parts.next().ok_or("param type")?, "type")?;
            let format = lookup(FORMATS, parts.next().ok_or("param format")?, "format")?;
            let extra = extras
                .get(&idx)
                .cloned()
                .unwrap_or_else(|| "ParamExtra::None".to_string());
            write!(
                params,
                "ParamInfo {{ name: {name:?}, ptype: ParamType::{ptype}, format: ParamFormat::{format}, extra: {extra} }}, "
            )?;
        }
        writeln!(
            out,
            "    EventInfo {{ id: {id}, enum_name: {:?}, name: {:?}, direction: {direction}, category: Category({category:#x}), flags: EventFlags({flags:#x}), params: &[{params}] }},",
            col(1)?,
            col(2)?,
        )?;
    }
    writeln!(out, "];")?;
    Ok(())
}

fn gen_ppm_sc(out: &mut String) -> Result<(), BoxError> {
    let text = fs::read_to_string(PPM_SC)?;
    let mut head = String::new();
    let mut old = String::new();
    for (expected, line) in text.lines().skip(1).enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        let code: usize = cols.first().ok_or("ppm_sc code")?.parse()?;
        if code != expected {
            return Err(format!("ppm_sc codes not contiguous at {code}").into());
        }
        let name = cols.get(2).copied().unwrap_or("");
        let name029 = cols.get(3).copied().unwrap_or("");
        write!(head, "{name:?}, ")?;
        write!(old, "{name029:?}, ")?;
    }
    writeln!(out, "pub(crate) static PPM_SC_NAMES: &[&str] = &[{head}];")?;
    writeln!(
        out,
        "pub(crate) static PPM_SC_NAMES_SYSDIG029: &[&str] = &[{old}];"
    )?;
    Ok(())
}

/// Emits the flag/enum name tables, each in table order (the order decomposition uses).
fn gen_flags(path: &str, static_name: &str, out: &mut String) -> Result<(), BoxError> {
    let text = fs::read_to_string(path)?;
    let mut tables: Vec<(String, Vec<(String, u32)>)> = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (Some(table), Some(name), Some(value)) = (cols.first(), cols.get(2), cols.get(3))
        else {
            return Err(format!("{path}: short row `{line}`").into());
        };
        let value: u32 = value.parse()?;
        match tables.last_mut() {
            Some((t, entries)) if t == table => entries.push((name.to_string(), value)),
            _ => tables.push((table.to_string(), vec![(name.to_string(), value)])),
        }
    }
    writeln!(out, "pub(crate) static {static_name}: &[FlagTable] = &[")?;
    for (table, entries) in tables {
        write!(out, "    FlagTable {{ name: {table:?}, entries: &[")?;
        for (name, value) in entries {
            write!(out, "({name:?}, {value:#x}), ")?;
        }
        writeln!(out, "] }},")?;
    }
    writeln!(out, "];")?;
    Ok(())
}

fn main() -> Result<(), BoxError> {
    for f in [CURRENT, SYSDIG029, PPM_SC, FLAGS_CURRENT, FLAGS_SYSDIG029] {
        println!("cargo:rerun-if-changed={f}");
    }
    let mut out = String::from("// @generated by build.rs from tables/*.tsv\n");
    gen_event_table(CURRENT, "EVENTS_CURRENT", &mut out)?;
    gen_event_table(SYSDIG029, "EVENTS_SYSDIG029", &mut out)?;
    gen_ppm_sc(&mut out)?;
    gen_flags(FLAGS_CURRENT, "FLAGS_CURRENT", &mut out)?;
    gen_flags(FLAGS_SYSDIG029, "FLAGS_SYSDIG029", &mut out)?;
    let dir = std::env::var("OUT_DIR")?;
    fs::write(Path::new(&dir).join("tables.rs"), out)?;
    Ok(())
}
