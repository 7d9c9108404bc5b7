//! Constant values parsed to a field's type, once, at check time (language.md §4.1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lanner_schema::FieldType;

pub use lanner_program::lit::{F64, IpNet, Lit, Pattern};

/// How an integer type is stored: signedness and width in bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntKind {
    Signed(u32),
    Unsigned(u32),
}

/// The integer representation of a numeric field type (`None` for DOUBLE and non-numbers).
pub(crate) fn int_kind(ty: FieldType) -> Option<IntKind> {
    use FieldType::*;
    Some(match ty {
        Int8 => IntKind::Signed(8),
        Int16 => IntKind::Signed(16),
        Int32 => IntKind::Signed(32),
        Int64 | Errno | Fd | Pid => IntKind::Signed(64),
        Uint8 | Flags8 | EnumFlags8 | SigType => IntKind::Unsigned(8),
        Uint16 | Flags16 | EnumFlags16 | SyscallId | Port => IntKind::Unsigned(16),
        Uint32 | Flags32 | EnumFlags32 | Mode | Uid | Gid => IntKind::Unsigned(32),
        Uint64 | RelTime | AbsTime => IntKind::Unsigned(64),
        _ => return None,
    })
}

/// Splits a C `scanf("%d")`-style decimal into sign and magnitude: leading blanks, an optional
/// sign, at least one digit, nothing after. The magnitude saturates just above `u64::MAX`.
fn decimal(text: &str) -> Option<(bool, u128)> {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, trimmed.get(1..)?),
        Some(b'+') => (false, trimmed.get(1..)?),
        _ => (false, trimmed),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cap = u128::from(u64::MAX) + 1;
    let mut magnitude: u128 = 0;
    for b in digits.bytes() {
        magnitude = (magnitude * 10 + u128::from(b - b'0')).min(cap);
    }
    Some((negative, magnitude))
}

/// Parses an integer literal the way libsinsp does for a field of kind `kind`: `strtoul`/
/// `strtol` semantics (a negative literal for an unsigned field wraps, out-of-range saturates
/// at 64 bits), then truncation to the field's width.
pub(crate) fn parse_int(text: &str, kind: IntKind) -> Option<Lit> {
    let (negative, magnitude) = decimal(text)?;
    match kind {
        IntKind::Unsigned(bits) => {
            let wide = u64::try_from(magnitude).unwrap_or(u64::MAX);
            let wide = if negative { wide.wrapping_neg() } else { wide };
            let value = match bits {
                8 => u64::from(wide as u8),
                16 => u64::from(wide as u16),
                32 => u64::from(wide as u32),
                _ => wide,
            };
            Some(Lit::UInt(value))
        }
        IntKind::Signed(bits) => {
            let wide: i64 = if negative {
                if magnitude >= 1 << 63 {
                    i64::MIN
                } else {
                    -i64::try_from(magnitude).unwrap_or(i64::MAX)
                }
            } else {
                i64::try_from(magnitude).unwrap_or(i64::MAX)
            };
            let value = match bits {
                8 => i64::from(wide as i8),
                16 => i64::from(wide as i16),
                32 => i64::from(wide as i32),
                _ => wide,
            };
            Some(Lit::Int(value))
        }
    }
}

/// A DOUBLE field's value: Falco only takes integer literals there.
pub(crate) fn parse_double(text: &str) -> Option<Lit> {
    match parse_int(text, IntKind::Signed(64))? {
        Lit::Int(v) => Some(Lit::Double(F64::new(v as f64))),
        _ => None,
    }
}

pub(crate) fn parse_bool(text: &str) -> Option<Lit> {
    match text {
        "true" => Some(Lit::Bool(true)),
        "false" => Some(Lit::Bool(false)),
        _ => None,
    }
}

/// An address: with a `.` it must be IPv4 (`inet_pton(AF_INET)`), otherwise IPv6.
pub(crate) fn parse_ip(text: &str, ty: FieldType) -> Option<Lit> {
    let ip = if text.contains('.') {
        IpAddr::V4(text.parse::<Ipv4Addr>().ok()?)
    } else {
        IpAddr::V6(text.parse::<Ipv6Addr>().ok()?)
    };
    match (ty, ip) {
        (FieldType::Ipv4Addr, IpAddr::V6(_)) | (FieldType::Ipv6Addr, IpAddr::V4(_)) => None,
        _ => Some(Lit::Ip(ip)),
    }
}

/// A CIDR network; the `/prefix` is mandatory.
pub(crate) fn parse_net(text: &str) -> Option<Lit> {
    let (addr, prefix) = text.split_once('/')?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let addr = if text.contains('.') {
        IpAddr::V4(addr.parse::<Ipv4Addr>().ok()?)
    } else {
        IpAddr::V6(addr.parse::<Ipv6Addr>().ok()?)
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some(Lit::Net(IpNet { addr, prefix }))
}

/// Common `/etc/services` names. Falco asks libc's `getservbyname`; Lanner carries the usual
/// entries so that the verdict does not depend on the machine that checks the rules.
const SERVICES: &[(&str, u16)] = &[
    ("echo", 7),
    ("discard", 9),
    ("daytime", 13),
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("time", 37),
    ("whois", 43),
    ("tacacs", 49),
    ("domain", 53),
    ("bootps", 67),
    ("bootpc", 68),
    ("tftp", 69),
    ("gopher", 70),
    ("finger", 79),
    ("http", 80),
    ("www", 80),
    ("kerberos", 88),
    ("pop3", 110),
    ("sunrpc", 111),
    ("auth", 113),
    ("nntp", 119),
    ("ntp", 123),
    ("epmap", 135),
    ("netbios-ns", 137),
    ("netbios-dgm", 138),
    ("netbios-ssn", 139),
    ("imap2", 143),
    ("imap", 143),
    ("snmp", 161),
    ("snmp-trap", 162),
    ("bgp", 179),
    ("irc", 194),
    ("ldap", 389),
    ("https", 443),
    ("microsoft-ds", 445),
    ("kpasswd", 464),
    ("submissions", 465),
    ("syslog", 514),
    ("printer", 515),
    ("submission", 587),
    ("ipp", 631),
    ("ldaps", 636),
    ("rsync", 873),
    ("ftps", 990),
    ("telnets", 992),
    ("imaps", 993),
    ("pop3s", 995),
    ("socks", 1080),
    ("openvpn", 1194),
    ("ms-sql-s", 1433),
    ("nfs", 2049),
    ("mysql", 3306),
    ("postgresql", 5432),
    ("amqp", 5672),
    ("x11", 6000),
    ("redis", 6379),
    ("http-alt", 8080),
    ("memcache", 11211),
    ("mongodb", 27017),
];

/// A port: all digits, or a service name.
pub(crate) fn parse_port(text: &str) -> Option<Lit> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return parse_int(text, IntKind::Unsigned(16));
    }
    SERVICES
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, port)| Lit::UInt(u64::from(*port)))
}

/// Decodes an even-length hex string (`cafebabe`, either case) for `bcontains`/`bstartswith`.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| char::from(b).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(u8::try_from(digit(*hi)? * 16 + digit(*lo)?).ok()?),
            _ => None,
        })
        .collect()
}

/// The simpler operator a regex could be replaced with, following the heuristic of Falco's
/// compiler warning: scanning bytes, a `^` in first and a `$` in last position are skipped
/// (matches are anchored anyway), so is `.` followed by `*`, `+` or `?` at the very start or
/// ending the pattern; any other regex special character means the regex is needed.
pub(crate) fn regex_simplification(pattern: &str) -> Option<&'static str> {
    const SPECIAL: &[u8] = b".+*?^$()[]{}|\\";
    const OCCURRENCE: &[u8] = b"+*?";
    let bytes = pattern.as_bytes();
    let len = bytes.len();
    let (mut leading, mut trailing) = (false, false);
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if (i == 0 && b == b'^') || (i + 1 == len && b == b'$') {
            i += 1;
            continue;
        }
        let wildcard = b == b'.'
            && bytes
                .get(i + 1)
                .is_some_and(|next| OCCURRENCE.contains(next));
        if wildcard && i == 0 && len > 1 {
            leading = true;
            i += 2;
            continue;
        }
        if wildcard && i + 2 == len {
            trailing = true;
            i += 2;
            continue;
        }
        if SPECIAL.contains(&b) {
            return None;
        }
        i += 1;
    }
    Some(match (leading, trailing) {
        (false, false) => "=",
        (true, true) => "contains",
        (true, false) => "endswith",
        (false, true) => "startswith",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_wrap_like_libsinsp() {
        assert_eq!(
            parse_int("-1", IntKind::Unsigned(64)),
            Some(Lit::UInt(u64::MAX))
        );
        assert_eq!(
            parse_int("-1", IntKind::Unsigned(16)),
            Some(Lit::UInt(65535))
        );
        assert_eq!(
            parse_int("65536", IntKind::Unsigned(16)),
            Some(Lit::UInt(0))
        );
        assert_eq!(parse_int(" +7", IntKind::Signed(32)), Some(Lit::Int(7)));
        assert_eq!(
            parse_int("2147483648", IntKind::Signed(32)),
            Some(Lit::Int(i64::from(i32::MIN)))
        );
        assert_eq!(
            parse_int("99999999999999999999999", IntKind::Signed(64)),
            Some(Lit::Int(i64::MAX))
        );
        assert_eq!(parse_int("0x10", IntKind::Signed(64)), None);
        assert_eq!(parse_int("1.0", IntKind::Signed(64)), None);
        assert_eq!(parse_int("10ms", IntKind::Unsigned(64)), None);
        assert_eq!(parse_int("-", IntKind::Signed(64)), None);
    }

    #[test]
    fn addresses_and_networks() {
        assert!(parse_ip("127.0.0.1", FieldType::IpAddr).is_some());
        assert!(parse_ip("::1", FieldType::IpAddr).is_some());
        assert!(parse_ip("::1", FieldType::Ipv4Addr).is_none());
        assert!(parse_ip("127.0.0", FieldType::IpAddr).is_none());
        assert!(parse_net("10.0.0.0/8").is_some());
        assert!(parse_net("10.0.0.0").is_none());
        assert!(parse_net("10.0.0.0/33").is_none());
        assert!(parse_net("2001:db8::/32").is_some());
        let Some(Lit::Net(net)) = parse_net("10.0.0.0/8") else {
            panic!("not a network")
        };
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.1.2.3".parse().unwrap()));
    }

    #[test]
    fn ports_hex_and_regex_hints() {
        assert_eq!(parse_port("ssh"), Some(Lit::UInt(22)));
        assert_eq!(parse_port("8080"), Some(Lit::UInt(8080)));
        assert_eq!(parse_port("nosuchservice"), None);
        assert_eq!(parse_hex("CAfe"), Some(vec![0xca, 0xfe]));
        assert_eq!(parse_hex("abc"), None);
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(regex_simplification("^syscall$"), Some("="));
        assert_eq!(regex_simplification(".*syscall.+"), Some("contains"));
        assert_eq!(regex_simplification("syscall\\.*"), None);
        assert_eq!(regex_simplification("s.*l"), None);
        assert_eq!(regex_simplification("syscal[l]?"), None);
        assert_eq!(regex_simplification("syscall.{1}"), None);
        assert_eq!(regex_simplification("^.*syscall"), None);
        assert_eq!(regex_simplification(".?syscall.?"), Some("contains"));
        assert_eq!(regex_simplification("syscall$"), Some("="));
    }
}
