//! Field values at run time.
//!
//! A field extracted from an event yields a [`Value`], or nothing ("the field does not apply to
//! this event": Falco's `<NA>`, and every comparison on it is false). Strings are bytes: paths
//! and command lines need not be UTF-8.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One extracted value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// Signed integers of every width, errno, fd, pid, relative times.
    Int(i64),
    /// Unsigned integers of every width, ports, flags, modes, absolute times.
    UInt(u64),
    Double(f64),
    Bool(bool),
    /// CHARBUF, FSPATH, FSRELPATH: text as bytes, without a trailing NUL.
    Str(Cow<'a, [u8]>),
    /// BYTEBUF: raw bytes.
    Bytes(Cow<'a, [u8]>),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    /// An IPv4 or IPv6 network (address and prefix length).
    Net(std::net::IpAddr, u8),
    /// A list field's values (`proc.aname` without index, `evt.args` lists, `fd.types`, ...).
    List(Vec<Value<'a>>),
}

impl Value<'_> {
    /// A copy that owns its bytes, for values kept past the event that produced them.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Int(v) => Value::Int(v),
            Value::UInt(v) => Value::UInt(v),
            Value::Double(v) => Value::Double(v),
            Value::Bool(v) => Value::Bool(v),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Bytes(b) => Value::Bytes(Cow::Owned(b.into_owned())),
            Value::Ipv4(a) => Value::Ipv4(a),
            Value::Ipv6(a) => Value::Ipv6(a),
            Value::Net(a, p) => Value::Net(a, p),
            Value::List(items) => Value::List(items.into_iter().map(Value::into_owned).collect()),
        }
    }

    pub fn str(s: &str) -> Value<'_> {
        Value::Str(Cow::Borrowed(s.as_bytes()))
    }
}
