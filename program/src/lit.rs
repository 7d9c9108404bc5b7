//! Constants of a program, parsed once to the type they are compared with: the checker
//! produces them, the interpreter and every later backend read them. This is the one
//! definition; neither the front end nor the runtime has its own.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// A constant parsed to the type of the value it is compared with.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Lit {
    /// A signed integer, already wrapped to the field's width and sign-extended.
    Int(i64),
    /// An unsigned integer, already wrapped to the field's width (ports and flags included).
    UInt(u64),
    /// A DOUBLE field's value; Falco only accepts integer literals for them.
    Double(F64),
    Bool(bool),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A CIDR network, as written (host bits are not cleared).
    Net(IpNet),
    /// Text for string fields, `glob`/`iglob` patterns and `pmatch` paths, as bytes: paths and
    /// `\xHH` escapes need not be UTF-8.
    Str(Vec<u8>),
    /// Bytes: verbatim for BYTEBUF fields, hex-decoded for `bcontains`/`bstartswith`.
    Bytes(Vec<u8>),
    /// A validated `regex` pattern, anchored at both ends as RE2's full match is.
    Regex(Pattern),
}

/// An `f64` with total equality and ordering by bit pattern, so that values can live in sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct F64(u64);

impl F64 {
    pub fn new(value: f64) -> F64 {
        F64(value.to_bits())
    }

    pub fn get(self) -> f64 {
        f64::from_bits(self.0)
    }
}

/// A CIDR network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IpNet {
    pub addr: IpAddr,
    /// The prefix length: at most 32 for IPv4, 128 for IPv6.
    pub prefix: u8,
}

impl IpNet {
    /// True if `ip` lies in the network; an address of the other family never does.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A compiled regex with the source it came from. Equality, hashing and ordering use the
/// source only, because compiled automata are not comparable.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pattern {
    source: String,
    regex: regex::Regex,
}

impl Pattern {
    /// Compiles `source` for a full match, the way Falco's RE2 matcher is used.
    pub fn new(source: &str) -> Result<Pattern, regex::Error> {
        let regex = regex::Regex::new(&format!("^(?:{source})$"))?;
        Ok(Pattern {
            source: source.to_owned(),
            regex,
        })
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The compiled, anchored regex.
    pub fn regex(&self) -> &regex::Regex {
        &self.regex
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.source == other.source
    }
}

impl Eq for Pattern {}

impl Hash for Pattern {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.source.hash(state);
    }
}

impl PartialOrd for Pattern {
    fn partial_cmp(&self, other: &Pattern) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pattern {
    fn cmp(&self, other: &Pattern) -> Ordering {
        self.source.cmp(&other.source)
    }
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lit::Int(v) => write!(f, "{v}i"),
            Lit::UInt(v) => write!(f, "{v}u"),
            Lit::Double(v) => write!(f, "{:?}", v.get()),
            Lit::Bool(b) => write!(f, "{b}"),
            Lit::Ip(ip) => write!(f, "ip:{ip}"),
            Lit::Net(net) => write!(f, "net:{net}"),
            Lit::Str(s) => write!(f, "{:?}", String::from_utf8_lossy(s)),
            Lit::Bytes(bytes) => {
                f.write_str("x\"")?;
                for b in bytes {
                    write!(f, "{b:02x}")?;
                }
                f.write_str("\"")
            }
            Lit::Regex(p) => write!(f, "re{:?}", p.source()),
        }
    }
}

impl TryFrom<String> for Pattern {
    type Error = regex::Error;

    /// A serialised program carries the source; loading it compiles the regex again.
    fn try_from(source: String) -> Result<Pattern, regex::Error> {
        Pattern::new(&source)
    }
}

impl From<Pattern> for String {
    fn from(p: Pattern) -> String {
        p.source
    }
}
