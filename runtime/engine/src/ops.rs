//! Operator semantics on one value and one operand (language.md §3.2).
//!
//! Both sides are first seen as a [`Scalar`], whether they come from an extracted
//! [`Value`] or from a constant ([`Lit`]), so that `proc.name = bash` and
//! `proc.name = val(proc.pname)` share one definition of `=`. Lists, modifiers, `in`,
//! `exists` and the ancestor and endpoint rules are layered on top in [`mod@crate::eval`].

use std::cmp::Ordering;
use std::net::IpAddr;

use lanner_schema::Operator;
use lanner_state::value::Value;

use crate::glob::{fnmatch, path_prefix_match};
use crate::ir::Lit;

/// One value as the operators see it. Borrowed: building one never allocates.
#[derive(Clone, Copy, Debug)]
pub enum Scalar<'a> {
    Int(i64),
    UInt(u64),
    Double(f64),
    Bool(bool),
    /// CHARBUF, FSPATH, FSRELPATH, with every byte. Most operators see them as C strings
    /// (cut at the first NUL, see [`compare`]); set lookups and regexes see every byte.
    Text(&'a [u8]),
    /// BYTEBUF: every byte counts, NUL included.
    Bytes(&'a [u8]),
    Ip(IpAddr),
    /// A CIDR network: address and prefix length.
    Net(IpAddr, u8),
    /// A regex compiled for a full match.
    Regex(&'a regex::Regex),
}

/// The bytes of a C string: everything before the first NUL.
pub fn c_str(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => bytes.get(..end).unwrap_or(bytes),
        None => bytes,
    }
}

impl<'a> Scalar<'a> {
    /// The scalar view of an extracted value; `None` for a list (lists are handled by the
    /// caller, element by element).
    pub fn of_value(value: &'a Value<'_>) -> Option<Scalar<'a>> {
        Some(match value {
            Value::Int(v) => Scalar::Int(*v),
            Value::UInt(v) => Scalar::UInt(*v),
            Value::Double(v) => Scalar::Double(*v),
            Value::Bool(v) => Scalar::Bool(*v),
            Value::Str(s) => Scalar::Text(s),
            Value::Bytes(b) => Scalar::Bytes(b),
            Value::Ipv4(a) => Scalar::Ip(IpAddr::V4(*a)),
            Value::Ipv6(a) => Scalar::Ip(IpAddr::V6(*a)),
            Value::Net(a, p) => Scalar::Net(*a, *p),
            Value::List(_) => return None,
        })
    }

    /// The scalar view of a constant.
    pub fn of_lit(lit: &'a Lit) -> Scalar<'a> {
        match lit {
            Lit::Int(v) => Scalar::Int(*v),
            Lit::UInt(v) => Scalar::UInt(*v),
            Lit::Double(v) => Scalar::Double(v.get()),
            Lit::Bool(v) => Scalar::Bool(*v),
            Lit::Ip(a) => Scalar::Ip(*a),
            Lit::Net(n) => Scalar::Net(n.addr, n.prefix),
            Lit::Str(s) => Scalar::Text(s),
            Lit::Bytes(b) => Scalar::Bytes(b),
            Lit::Regex(r) => Scalar::Regex(r.regex()),
        }
    }

    /// A text cut at its first NUL, as C's string functions see it; other kinds unchanged.
    pub fn as_c_string(self) -> Scalar<'a> {
        match self {
            Scalar::Text(b) => Scalar::Text(c_str(b)),
            other => other,
        }
    }

    /// The bytes of a text or buffer.
    fn bytes(self) -> Option<&'a [u8]> {
        match self {
            Scalar::Text(b) | Scalar::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// A number in a form every integer type fits, or a double.
enum Num {
    Int(i128),
    Float(f64),
}

fn num(s: Scalar<'_>) -> Option<Num> {
    match s {
        Scalar::Int(v) => Some(Num::Int(i128::from(v))),
        Scalar::UInt(v) => Some(Num::Int(i128::from(v))),
        Scalar::Double(v) => Some(Num::Float(v)),
        _ => None,
    }
}

/// Numeric order. Integers compare by mathematical value: the checker parses each constant to
/// the field's width and signedness and the state engine extracts values of the same kind, so
/// this is the typed comparison Falco does, without a cast that could wrap.
fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Int(x), Num::Float(y)) => (x as f64).partial_cmp(&y),
        (Num::Float(x), Num::Int(y)) => x.partial_cmp(&(y as f64)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
    }
}

/// True if `ip` is inside `net/prefix`; an address of the other family never is.
pub fn net_contains(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// `=`: numbers by value, text and buffers byte for byte, addresses by family and value, an
/// address and a network by containment (IPNET fields), two networks by their masked
/// addresses and prefix.
pub fn equal(a: Scalar<'_>, b: Scalar<'_>) -> bool {
    match (a, b) {
        (Scalar::Bool(x), Scalar::Bool(y)) => x == y,
        (Scalar::Ip(x), Scalar::Ip(y)) => x == y,
        (Scalar::Ip(ip), Scalar::Net(n, p)) | (Scalar::Net(n, p), Scalar::Ip(ip)) => {
            net_contains(n, p, ip)
        }
        (Scalar::Net(n1, p1), Scalar::Net(n2, p2)) => {
            p1 == p2 && net_contains(n1, p1, n2) && net_contains(n2, p2, n1)
        }
        _ => match (a.bytes(), b.bytes()) {
            (Some(x), Some(y)) => x == y,
            _ => match (num(a), num(b)) {
                (Some(x), Some(y)) => num_cmp(x, y) == Some(Ordering::Equal),
                _ => false,
            },
        },
    }
}

/// `<`, `<=`, `>`, `>=`: numbers numerically, text by `strcmp` (unsigned bytes).
fn order(a: Scalar<'_>, b: Scalar<'_>) -> Option<Ordering> {
    match (a, b) {
        (Scalar::Text(x), Scalar::Text(y)) => Some(x.cmp(y)),
        _ => num_cmp(num(a)?, num(b)?),
    }
}

/// `strstr`: `needle` occurs in `haystack` (an empty needle always does).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// `strcasestr` in the C locale: ASCII letters match either case.
fn icontains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// `value op operand` for one value and one operand. `in` and `intersects` are `=` here
/// (the caller runs them over the set), `pmatch` is one path, `exists` is true.
pub fn compare(op: Operator, value: Scalar<'_>, operand: Scalar<'_>) -> bool {
    // libsinsp looks `in`, `intersects` and `pmatch` values up by their bytes and length, and
    // hands RE2 the whole value; every other string operator is a C string function
    // (`strcmp`, `strstr`, `fnmatch`, ...), which stops at the first NUL. Values rarely hold
    // a NUL, but when one does, this is where the two readings part.
    let (value, operand) = match op {
        Operator::In | Operator::Intersects | Operator::PMatch | Operator::Regex => {
            (value, operand)
        }
        _ => (value.as_c_string(), operand.as_c_string()),
    };
    let bytes = || Some((value.bytes()?, operand.bytes()?));
    match op {
        Operator::Eq | Operator::EqEq | Operator::In | Operator::Intersects => {
            equal(value, operand)
        }
        Operator::Ne => !equal(value, operand),
        Operator::Lt => order(value, operand) == Some(Ordering::Less),
        Operator::Le => matches!(
            order(value, operand),
            Some(Ordering::Less | Ordering::Equal)
        ),
        Operator::Gt => order(value, operand) == Some(Ordering::Greater),
        Operator::Ge => matches!(
            order(value, operand),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Operator::Contains | Operator::BContains => bytes().is_some_and(|(v, o)| contains(v, o)),
        Operator::IContains => bytes().is_some_and(|(v, o)| icontains(v, o)),
        Operator::StartsWith | Operator::BStartsWith => {
            bytes().is_some_and(|(v, o)| v.starts_with(o))
        }
        Operator::EndsWith => bytes().is_some_and(|(v, o)| v.ends_with(o)),
        Operator::Glob => bytes().is_some_and(|(v, o)| fnmatch(o, v, false)),
        Operator::IGlob => bytes().is_some_and(|(v, o)| fnmatch(o, v, true)),
        Operator::PMatch => bytes().is_some_and(|(v, o)| path_prefix_match(o, v)),
        // Falco hands RE2 the value sanitized to UTF-8: an invalid byte becomes U+FFFD, which
        // `.` matches. Valid UTF-8 (the usual case) is borrowed, not copied.
        Operator::Regex => match (value.bytes(), operand) {
            (Some(v), Scalar::Regex(re)) => re.is_match(&String::from_utf8_lossy(v)),
            _ => false,
        },
        Operator::Exists => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn t(s: &str) -> Scalar<'_> {
        Scalar::Text(s.as_bytes())
    }

    #[test]
    fn numbers_compare_by_value_across_signedness() {
        assert!(compare(Operator::Lt, Scalar::Int(-22), Scalar::Int(-20)));
        assert!(compare(Operator::Lt, Scalar::Int(-1), Scalar::UInt(0)));
        assert!(!compare(
            Operator::Gt,
            Scalar::Int(-1),
            Scalar::UInt(u64::MAX)
        ));
        assert!(compare(Operator::Eq, Scalar::UInt(7), Scalar::Int(7)));
        assert!(compare(Operator::Ge, Scalar::Double(1.5), Scalar::Int(1)));
        assert!(compare(Operator::Ne, Scalar::UInt(1), Scalar::UInt(2)));
        assert!(compare(Operator::Le, Scalar::UInt(2), Scalar::UInt(2)));
    }

    #[test]
    fn strings() {
        assert!(compare(Operator::Eq, t("bash"), t("bash")));
        assert!(compare(Operator::Ne, t("bash"), t("sh")));
        assert!(compare(Operator::Lt, t("abc"), t("abd")));
        assert!(compare(Operator::Lt, t("ab"), t("abc")));
        assert!(compare(Operator::Gt, Scalar::Text(b"\xff"), t("a")));
        assert!(compare(Operator::Contains, t("myexe"), t("ye")));
        assert!(compare(Operator::Contains, t("myexe"), t("")));
        assert!(!compare(Operator::Contains, t("my"), t("myexe")));
        assert!(compare(Operator::IContains, t("/opt/SUBDIR"), t("/subdir")));
        assert!(!compare(Operator::IContains, t("é"), t("É")));
        assert!(compare(Operator::StartsWith, t("myexe"), t("my")));
        assert!(compare(Operator::EndsWith, t("myexe"), t("exe")));
        assert!(compare(Operator::Glob, t("/tmp/x/y"), t("/tmp/*")));
        assert!(compare(Operator::IGlob, t("MyExe"), t("my*")));
        assert!(compare(Operator::PMatch, t("/a/b/c"), t("/a/b")));
        let re = regex::Regex::new("^(?:/p./q.)$").unwrap();
        assert!(compare(
            Operator::Regex,
            Scalar::Text(b"/p\xff/q\xff"),
            Scalar::Regex(&re)
        ));
    }

    #[test]
    fn strings_are_c_strings_and_buffers_are_not() {
        assert_eq!(c_str(b"a\0b"), b"a");
        let v = Value::Str(b"a\0b".as_slice().into());
        let sv = Scalar::of_value(&v).unwrap();
        assert!(compare(Operator::Eq, sv, t("a")));
        assert!(compare(Operator::Contains, sv, t("a")));
        assert!(!compare(Operator::Contains, sv, t("b")));
        assert!(compare(Operator::Glob, sv, t("a")));
        // Set lookups compare every byte.
        assert!(!compare(Operator::In, sv, t("a")));
        assert!(compare(Operator::In, sv, Scalar::Text(b"a\0b")));
        let b = Value::Bytes(b"a\0b".as_slice().into());
        let s = Scalar::of_value(&b).unwrap();
        assert!(!compare(Operator::Eq, s, Scalar::Bytes(b"a")));
        assert!(compare(Operator::Eq, s, Scalar::Bytes(b"a\0b")));
        assert!(compare(Operator::BContains, s, Scalar::Bytes(b"\0b")));
        assert!(compare(Operator::BStartsWith, s, Scalar::Bytes(b"a\0")));
    }

    #[test]
    fn addresses_and_networks() {
        let v4 = Scalar::Ip(IpAddr::V4(Ipv4Addr::new(142, 251, 111, 147)));
        let v6 = Scalar::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert!(compare(Operator::Eq, v4, v4));
        assert!(!compare(Operator::Eq, v4, v6));
        assert!(compare(Operator::Ne, v4, v6));
        let net = |a: &str, p| Scalar::Net(a.parse().unwrap(), p);
        assert!(compare(Operator::Eq, v4, net("142.0.0.0", 4)));
        assert!(compare(Operator::Eq, v4, net("142.251.0.0", 16)));
        assert!(!compare(Operator::Eq, v4, net("10.0.0.0", 8)));
        assert!(compare(Operator::Ne, v4, net("2001:db8::", 64)));
        assert!(compare(Operator::Eq, v6, net("::", 0)));
        assert!(compare(Operator::Eq, v4, net("0.0.0.0", 0)));
        assert!(compare(
            Operator::Eq,
            net("10.1.0.0", 16),
            net("10.1.2.3", 16)
        ));
        assert!(!compare(
            Operator::Eq,
            net("10.1.0.0", 16),
            net("10.1.0.0", 24)
        ));
    }

    #[test]
    fn mismatched_kinds_never_compare() {
        assert!(!compare(Operator::Eq, Scalar::Bool(true), Scalar::UInt(1)));
        assert!(!compare(Operator::Lt, t("1"), Scalar::UInt(2)));
        assert!(!compare(
            Operator::Contains,
            Scalar::UInt(12),
            Scalar::UInt(1)
        ));
    }
}
