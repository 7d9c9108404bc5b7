//! Typed, borrowed views of event parameter values (FORMAT.md §6).
//!
//! Decoding is lazy and zero-copy: a [`ParamValue`] borrows strings and buffers from the event
//! bytes. Nothing here allocates.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::bytes::{Cursor, until_nul};
use crate::table::{DynTable, ParamExtra, ParamType};

/// Address families as recorded by the driver (`PPM_AF_*`).
pub mod family {
    /// `PPM_AF_UNIX`.
    pub const UNIX: u8 = 1;
    /// `PPM_AF_INET`.
    pub const INET: u8 = 2;
    /// `PPM_AF_INET6`.
    pub const INET6: u8 = 10;
}

/// A decoded parameter value.
///
/// A zero-length parameter decodes to [`ParamValue::Empty`] whatever its type: current libs
/// use that for "absent", and old captures omit values that way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamValue<'a> {
    /// A zero-length value.
    Empty,
    /// `PT_INT8`.
    Int8(i8),
    /// `PT_INT16`.
    Int16(i16),
    /// `PT_INT32`.
    Int32(i32),
    /// `PT_INT64`.
    Int64(i64),
    /// `PT_UINT8`.
    Uint8(u8),
    /// `PT_UINT16`.
    Uint16(u16),
    /// `PT_UINT32`.
    Uint32(u32),
    /// `PT_UINT64`.
    Uint64(u64),
    /// `PT_ERRNO`: negative is −errno, otherwise a return value.
    Errno(i64),
    /// `PT_FD` (8 bytes) or `PT_FD32` (widened).
    Fd(i64),
    /// `PT_PID` (8 bytes) or `PT_PID32` (widened).
    Pid(i64),
    /// `PT_CHARBUF`, without its NUL terminator.
    Str(&'a [u8]),
    /// `PT_FSPATH`, without its NUL terminator.
    Path(&'a [u8]),
    /// `PT_FSRELPATH`: a path relative to the dirfd held in parameter `dirfd_param`.
    RelPath {
        /// The path bytes without the NUL terminator.
        path: &'a [u8],
        /// Index of the parameter holding the directory fd, when the table names one.
        dirfd_param: Option<u8>,
    },
    /// `PT_BYTEBUF`: raw bytes (I/O data, NUL-separated string lists for execve args/env).
    Bytes(&'a [u8]),
    /// `PT_SOCKADDR`.
    SockAddr(SockAddr<'a>),
    /// `PT_SOCKTUPLE`.
    SockTuple(SockTuple<'a>),
    /// `PT_FDLIST`.
    FdList(FdList<'a>),
    /// `PT_SYSCALLID`: a PPM_SC code.
    SyscallId(u16),
    /// `PT_SIGTYPE`: a signal number.
    Signal(u8),
    /// `PT_RELTIME` in ns.
    RelTime(u64),
    /// `PT_ABSTIME` in ns since the epoch.
    AbsTime(u64),
    /// `PT_PORT` in host order.
    Port(u16),
    /// `PT_L4PROTO`.
    L4Proto(u8),
    /// `PT_SOCKFAMILY`.
    SockFamily(u8),
    /// `PT_BOOL`.
    Bool(bool),
    /// `PT_IPV4ADDR`.
    Ipv4(Ipv4Addr),
    /// `PT_IPV6ADDR`.
    Ipv6(Ipv6Addr),
    /// `PT_FLAGS8/16/32`: bits to decompose with the named flag table.
    Flags {
        /// The raw bits.
        bits: u32,
        /// The flag table named in the event table, if any.
        table: Option<&'static str>,
    },
    /// `PT_ENUMFLAGS8/16/32`: one value of the named enum table.
    Enum {
        /// The raw value.
        value: u32,
        /// The enum table named in the event table, if any.
        table: Option<&'static str>,
    },
    /// `PT_UID`; `u32::MAX` means none.
    Uid(u32),
    /// `PT_GID`; `u32::MAX` means none.
    Gid(u32),
    /// `PT_DOUBLE`.
    Double(f64),
    /// `PT_SIGSET`: the low 32 signals.
    SigSet(u32),
    /// `PT_MODE`: file mode bits.
    Mode(u32),
    /// `PT_CHARBUFARRAY`: concatenated NUL-terminated strings.
    StrList(StrList<'a>),
    /// `PT_DYN`: an index into the parameter's dynamic table and the still-encoded value.
    Dyn {
        /// Index into the dynamic table.
        index: u8,
        /// The type that index selects, when known.
        ptype: Option<ParamType>,
        /// The encoded value after the index byte.
        value: &'a [u8],
    },
    /// Types that carry no meaning on disk (in-memory pointers, filter-only types).
    Opaque(&'a [u8]),
}

impl<'a> ParamValue<'a> {
    /// For `Dyn` values, decodes the inner value with the type its index selects.
    pub fn dyn_value(&self) -> Option<Result<ParamValue<'a>, ParamError>> {
        match *self {
            ParamValue::Dyn {
                ptype: Some(t),
                value,
                ..
            } => Some(decode(t, ParamExtra::None, value)),
            _ => None,
        }
    }

    /// The value as a signed integer, for every integer-like variant.
    pub fn as_i64(&self) -> Option<i64> {
        Some(match *self {
            ParamValue::Int8(v) => v.into(),
            ParamValue::Int16(v) => v.into(),
            ParamValue::Int32(v) => v.into(),
            ParamValue::Int64(v) | ParamValue::Errno(v) | ParamValue::Fd(v) => v,
            ParamValue::Pid(v) => v,
            ParamValue::Uint8(v) | ParamValue::Signal(v) | ParamValue::L4Proto(v) => v.into(),
            ParamValue::SockFamily(v) => v.into(),
            ParamValue::Uint16(v) | ParamValue::SyscallId(v) | ParamValue::Port(v) => v.into(),
            ParamValue::Uint32(v) | ParamValue::Uid(v) | ParamValue::Gid(v) => v.into(),
            ParamValue::SigSet(v) | ParamValue::Mode(v) => v.into(),
            ParamValue::Flags { bits, .. } => bits.into(),
            ParamValue::Enum { value, .. } => value.into(),
            ParamValue::Uint64(v) | ParamValue::RelTime(v) | ParamValue::AbsTime(v) => {
                i64::try_from(v).ok()?
            }
            _ => return None,
        })
    }

    /// The bytes of string-like variants (strings and paths, without NUL).
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            ParamValue::Str(s) | ParamValue::Path(s) | ParamValue::Bytes(s) => Some(s),
            ParamValue::RelPath { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// A decoded `PT_SOCKADDR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockAddr<'a> {
    /// AF_UNIX path (abstract sockets have their leading NUL dropped by the driver).
    Unix(&'a [u8]),
    /// AF_INET address and host-order port.
    Inet(Ipv4Addr, u16),
    /// AF_INET6 address and host-order port.
    Inet6(Ipv6Addr, u16),
    /// Any other family, with the bytes after the family byte.
    Other {
        /// `PPM_AF_*` family.
        family: u8,
        /// Remaining bytes.
        rest: &'a [u8],
    },
}

/// A decoded `PT_SOCKTUPLE` (source → destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockTuple<'a> {
    /// AF_INET tuple.
    Inet {
        /// Source address.
        sip: Ipv4Addr,
        /// Source port (host order).
        sport: u16,
        /// Destination address.
        dip: Ipv4Addr,
        /// Destination port (host order).
        dport: u16,
    },
    /// AF_INET6 tuple.
    Inet6 {
        /// Source address.
        sip: Ipv6Addr,
        /// Source port (host order).
        sport: u16,
        /// Destination address.
        dip: Ipv6Addr,
        /// Destination port (host order).
        dport: u16,
    },
    /// AF_UNIX tuple: kernel socket pointers and the path.
    Unix {
        /// Source socket pointer.
        source: u64,
        /// Destination socket pointer.
        dest: u64,
        /// Path without NUL.
        path: &'a [u8],
    },
    /// Any other family.
    Other {
        /// `PPM_AF_*` family.
        family: u8,
        /// Remaining bytes.
        rest: &'a [u8],
    },
}

/// A `PT_FDLIST`: `u16 n`, then `n × (i64 fd, i16 flags)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdList<'a> {
    // INVARIANT: `entries.len()` is a multiple of 10 (checked by `decode`).
    entries: &'a [u8],
}

impl<'a> FdList<'a> {
    /// Number of `(fd, flags)` pairs.
    pub fn len(&self) -> usize {
        self.entries.len() / 10
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Iterates `(fd, PPM_POLL* flags)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (i64, i16)> + 'a {
        let mut cur = Cursor::new(self.entries);
        std::iter::from_fn(move || Some((cur.i64()?, cur.i16()?)))
    }
}

/// A list of NUL-terminated strings (`PT_CHARBUFARRAY`, execve args/env byte buffers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrList<'a>(pub &'a [u8]);

impl<'a> StrList<'a> {
    /// Iterates the strings, without their terminators; a trailing terminator does not
    /// produce an empty final item.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let data = self.0.strip_suffix(&[0]).unwrap_or(self.0);
        let mut parts = data.split(|&b| b == 0);
        let empty = data.is_empty();
        std::iter::from_fn(move || if empty { None } else { parts.next() })
    }
}

/// Why a parameter could not be decoded as its declared type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A fixed-size type with the wrong number of bytes.
    #[error("parameter of type {ptype:?} has {len} bytes, expected {expected}")]
    BadSize {
        /// Declared type.
        ptype: ParamType,
        /// Actual length.
        len: usize,
        /// Expected length.
        expected: usize,
    },
    /// A variable-size value shorter than its own structure requires.
    #[error("parameter of type {ptype:?} is truncated ({len} bytes)")]
    Truncated {
        /// Declared type.
        ptype: ParamType,
        /// Actual length.
        len: usize,
    },
    /// The parameter index does not exist in the event.
    #[error("event has no parameter {index}")]
    NoSuchParam {
        /// Requested index.
        index: usize,
    },
}

fn fixed<const N: usize>(ptype: ParamType, raw: &[u8]) -> Result<[u8; N], ParamError> {
    raw.try_into().map_err(|_| ParamError::BadSize {
        ptype,
        len: raw.len(),
        expected: N,
    })
}

fn flag_table(extra: ParamExtra) -> Option<&'static str> {
    match extra {
        ParamExtra::Flags(t) => Some(t),
        _ => None,
    }
}

/// Decodes raw parameter bytes as `ptype`.
pub fn decode(
    ptype: ParamType,
    extra: ParamExtra,
    raw: &[u8],
) -> Result<ParamValue<'_>, ParamError> {
    use ParamType as T;
    use ParamValue as V;
    if raw.is_empty() {
        return Ok(V::Empty);
    }
    let truncated = || ParamError::Truncated {
        ptype,
        len: raw.len(),
    };
    Ok(match ptype {
        T::Int8 => V::Int8(i8::from_le_bytes(fixed(ptype, raw)?)),
        T::Int16 => V::Int16(i16::from_le_bytes(fixed(ptype, raw)?)),
        T::Int32 => V::Int32(i32::from_le_bytes(fixed(ptype, raw)?)),
        T::Int64 => V::Int64(i64::from_le_bytes(fixed(ptype, raw)?)),
        T::Uint8 => V::Uint8(u8::from_le_bytes(fixed(ptype, raw)?)),
        T::Uint16 => V::Uint16(u16::from_le_bytes(fixed(ptype, raw)?)),
        T::Uint32 => V::Uint32(u32::from_le_bytes(fixed(ptype, raw)?)),
        T::Uint64 => V::Uint64(u64::from_le_bytes(fixed(ptype, raw)?)),
        T::Errno => V::Errno(i64::from_le_bytes(fixed(ptype, raw)?)),
        T::Fd => V::Fd(i64::from_le_bytes(fixed(ptype, raw)?)),
        T::Pid => V::Pid(i64::from_le_bytes(fixed(ptype, raw)?)),
        T::Fd32 => V::Fd(i32::from_le_bytes(fixed(ptype, raw)?).into()),
        T::Pid32 => V::Pid(i32::from_le_bytes(fixed(ptype, raw)?).into()),
        T::CharBuf => V::Str(until_nul(raw)),
        T::FsPath => V::Path(until_nul(raw)),
        T::FsRelPath => V::RelPath {
            path: until_nul(raw),
            dirfd_param: match extra {
                ParamExtra::DirFd(i) => Some(i),
                _ => None,
            },
        },
        T::ByteBuf => V::Bytes(raw),
        T::SockAddr => V::SockAddr(decode_sockaddr(raw).ok_or_else(truncated)?),
        T::SockTuple => V::SockTuple(decode_socktuple(raw).ok_or_else(truncated)?),
        T::FdList => {
            let mut c = Cursor::new(raw);
            let n = usize::from(c.u16().ok_or_else(truncated)?);
            let entries = c.take(n * 10).ok_or_else(truncated)?;
            V::FdList(FdList { entries })
        }
        T::SyscallId => V::SyscallId(u16::from_le_bytes(fixed(ptype, raw)?)),
        T::SigType => V::Signal(u8::from_le_bytes(fixed(ptype, raw)?)),
        T::RelTime => V::RelTime(u64::from_le_bytes(fixed(ptype, raw)?)),
        T::AbsTime => V::AbsTime(u64::from_le_bytes(fixed(ptype, raw)?)),
        T::Port => V::Port(u16::from_le_bytes(fixed(ptype, raw)?)),
        T::L4Proto => V::L4Proto(u8::from_le_bytes(fixed(ptype, raw)?)),
        T::SockFamily => V::SockFamily(u8::from_le_bytes(fixed(ptype, raw)?)),
        T::Bool => V::Bool(u32::from_le_bytes(fixed(ptype, raw)?) != 0),
        T::Ipv4Addr => V::Ipv4(Ipv4Addr::from(fixed::<4>(ptype, raw)?)),
        T::Ipv6Addr => V::Ipv6(Ipv6Addr::from(fixed::<16>(ptype, raw)?)),
        T::Dyn => {
            let (&index, value) = raw.split_first().ok_or_else(truncated)?;
            let ptype = match extra {
                ParamExtra::Dyn(table) => table.entry_type(index),
                _ => None,
            };
            V::Dyn {
                index,
                ptype,
                value,
            }
        }
        T::Flags8 => V::Flags {
            bits: u8::from_le_bytes(fixed(ptype, raw)?).into(),
            table: flag_table(extra),
        },
        T::Flags16 => V::Flags {
            bits: u16::from_le_bytes(fixed(ptype, raw)?).into(),
            table: flag_table(extra),
        },
        T::Flags32 => V::Flags {
            bits: u32::from_le_bytes(fixed(ptype, raw)?),
            table: flag_table(extra),
        },
        T::EnumFlags8 => V::Enum {
            value: u8::from_le_bytes(fixed(ptype, raw)?).into(),
            table: flag_table(extra),
        },
        T::EnumFlags16 => V::Enum {
            value: u16::from_le_bytes(fixed(ptype, raw)?).into(),
            table: flag_table(extra),
        },
        T::EnumFlags32 => V::Enum {
            value: u32::from_le_bytes(fixed(ptype, raw)?),
            table: flag_table(extra),
        },
        T::Uid => V::Uid(u32::from_le_bytes(fixed(ptype, raw)?)),
        T::Gid => V::Gid(u32::from_le_bytes(fixed(ptype, raw)?)),
        T::Double => V::Double(f64::from_le_bytes(fixed(ptype, raw)?)),
        T::SigSet => V::SigSet(u32::from_le_bytes(fixed(ptype, raw)?)),
        T::Mode => V::Mode(u32::from_le_bytes(fixed(ptype, raw)?)),
        T::CharBufArray => V::StrList(StrList(raw)),
        T::None | T::CharBufPairArray | T::Ipv4Net | T::Ipv6Net | T::IpAddr | T::IpNet => {
            V::Opaque(raw)
        }
    })
}

fn decode_sockaddr(raw: &[u8]) -> Option<SockAddr<'_>> {
    let mut c = Cursor::new(raw);
    let fam = c.u8()?;
    Some(match fam {
        family::INET => {
            let ip = Ipv4Addr::from(c.array::<4>()?);
            SockAddr::Inet(ip, c.u16()?)
        }
        family::INET6 => {
            let ip = Ipv6Addr::from(c.array::<16>()?);
            SockAddr::Inet6(ip, c.u16()?)
        }
        family::UNIX => SockAddr::Unix(until_nul(c.take(c.remaining())?)),
        _ => SockAddr::Other {
            family: fam,
            rest: c.take(c.remaining())?,
        },
    })
}

fn decode_socktuple(raw: &[u8]) -> Option<SockTuple<'_>> {
    let mut c = Cursor::new(raw);
    let fam = c.u8()?;
    Some(match fam {
        family::INET => SockTuple::Inet {
            sip: Ipv4Addr::from(c.array::<4>()?),
            sport: c.u16()?,
            dip: Ipv4Addr::from(c.array::<4>()?),
            dport: c.u16()?,
        },
        family::INET6 => SockTuple::Inet6 {
            sip: Ipv6Addr::from(c.array::<16>()?),
            sport: c.u16()?,
            dip: Ipv6Addr::from(c.array::<16>()?),
            dport: c.u16()?,
        },
        family::UNIX => SockTuple::Unix {
            source: c.u64()?,
            dest: c.u64()?,
            path: until_nul(c.take(c.remaining())?),
        },
        _ => SockTuple::Other {
            family: fam,
            rest: c.take(c.remaining())?,
        },
    })
}

/// Dynamic-table helper used by callers that only have a table and a raw value.
pub fn decode_dyn(table: DynTable, raw: &[u8]) -> Result<ParamValue<'_>, ParamError> {
    decode(ParamType::Dyn, ParamExtra::Dyn(table), raw)
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

    #[test]
    fn decodes_sockaddr_and_tuple() {
        let addr = [2, 93, 184, 216, 34, 0xbb, 0x01];
        assert_eq!(
            decode(ParamType::SockAddr, ParamExtra::None, &addr).unwrap(),
            ParamValue::SockAddr(SockAddr::Inet(Ipv4Addr::new(93, 184, 216, 34), 443))
        );
        let mut t = vec![2, 10, 0, 0, 1];
        t.extend_from_slice(&40000u16.to_le_bytes());
        t.extend_from_slice(&[93, 184, 216, 34]);
        t.extend_from_slice(&443u16.to_le_bytes());
        match decode(ParamType::SockTuple, ParamExtra::None, &t).unwrap() {
            ParamValue::SockTuple(SockTuple::Inet {
                sip,
                sport,
                dip,
                dport,
            }) => {
                assert_eq!((sip, sport, dip, dport).1, 40000);
                assert_eq!(sip, Ipv4Addr::new(10, 0, 0, 1));
                assert_eq!(dip, Ipv4Addr::new(93, 184, 216, 34));
                assert_eq!(dport, 443);
            }
            other => panic!("{other:?}"),
        }
        assert!(decode(ParamType::SockTuple, ParamExtra::None, &t[..5]).is_err());
    }

    #[test]
    fn decodes_fixed_and_errors() {
        assert_eq!(
            decode(ParamType::Errno, ParamExtra::None, &(-2i64).to_le_bytes()).unwrap(),
            ParamValue::Errno(-2)
        );
        assert!(matches!(
            decode(ParamType::Fd, ParamExtra::None, &[1, 2, 3]),
            Err(ParamError::BadSize { expected: 8, .. })
        ));
        assert_eq!(
            decode(ParamType::Fd, ParamExtra::None, &[]).unwrap(),
            ParamValue::Empty
        );
        assert_eq!(
            decode(ParamType::CharBuf, ParamExtra::None, b"abc\0").unwrap(),
            ParamValue::Str(b"abc")
        );
    }

    #[test]
    fn decodes_lists_and_dyn() {
        let mut raw = 2u16.to_le_bytes().to_vec();
        raw.extend_from_slice(&3i64.to_le_bytes());
        raw.extend_from_slice(&1i16.to_le_bytes());
        raw.extend_from_slice(&4i64.to_le_bytes());
        raw.extend_from_slice(&4i16.to_le_bytes());
        let ParamValue::FdList(l) = decode(ParamType::FdList, ParamExtra::None, &raw).unwrap()
        else {
            panic!()
        };
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![(3, 1), (4, 4)]);
        let strs = StrList(b"a\0bc\0");
        assert_eq!(strs.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"bc"]);
        assert_eq!(StrList(b"").iter().count(), 0);
        let mut d = vec![2u8];
        d.extend_from_slice(&7u32.to_le_bytes());
        let v = decode_dyn(DynTable::Sockopt, &d).unwrap();
        assert_eq!(v.dyn_value().unwrap().unwrap(), ParamValue::Uint32(7));
    }
}
