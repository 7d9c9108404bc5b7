//! A small reader for the running kernel's BTF (`/sys/kernel/btf/vmlinux`).
//!
//! Lanner generates programs with field offsets already resolved against the
//! running kernel instead of emitting CO-RE relocations (aya 0.14 mishandles
//! some of those, and resolving up front keeps the emitted object trivial).
//! This module reads just enough of the format — type records, struct and
//! union members, typedef and qualifier chains — to answer "at which byte
//! offset, and of which size, is member M of struct S".

use std::collections::HashMap;
use std::path::Path;

use thiserror::Error;

/// Where the kernel publishes its own BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

const BTF_MAGIC: u16 = 0xeb9f;

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

#[derive(Debug, Error)]
pub enum BtfError {
    #[error("cannot read BTF from {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed BTF: {reason}")]
    Malformed { reason: String },
    #[error("BTF has no struct named `{name}`")]
    NoSuchStruct { name: String },
    #[error("struct `{strukt}` in BTF has no member `{member}`")]
    NoSuchMember { strukt: String, member: String },
    #[error("member `{strukt}.{member}` is a bitfield; only byte-aligned members are supported")]
    Bitfield { strukt: String, member: String },
    #[error("member `{strukt}.{member}` has a type whose size cannot be resolved")]
    UnsizedMember { strukt: String, member: String },
    #[error("offset of `{strukt}.{member}` ({offset}) does not fit an instruction's 16-bit offset")]
    OffsetTooLarge {
        strukt: String,
        member: String,
        offset: u32,
    },
}

/// A type record, reduced to what offset queries need.
#[derive(Debug, Clone)]
struct BtfType {
    kind: u32,
    name_off: u32,
    /// `size` for sized kinds, the referenced type id for the others.
    size_or_type: u32,
    members: Vec<Member>,
    /// Element type and count, for arrays.
    array: Option<(u32, u32)>,
}

#[derive(Debug, Clone, Copy)]
struct Member {
    name_off: u32,
    type_id: u32,
    /// Offset in bits; for bitfield-carrying structs the low 24 bits.
    offset_bits: u32,
    bitfield_size: u32,
}

/// A member's place inside its struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Byte offset from the start of the struct.
    pub offset: u32,
    /// Size of the member in bytes.
    pub size: u32,
}

/// The kernel's (or any) BTF, parsed once.
#[derive(Debug)]
pub struct Btf {
    /// Index 0 is the implicit `void` type.
    types: Vec<BtfType>,
    strings: Vec<u8>,
    /// First type id of each struct name (the kernel may define a name once per
    /// struct; duplicates in vmlinux BTF are deduplicated by pahole).
    structs: HashMap<String, u32>,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u32(&mut self) -> Result<u32, BtfError> {
        let bytes = self
            .data
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| malformed("truncated type section"))?;
        self.pos += 4;
        let mut word = [0u8; 4];
        word.copy_from_slice(bytes);
        Ok(u32::from_le_bytes(word))
    }

    fn skip(&mut self, n: usize) -> Result<(), BtfError> {
        if self.pos + n > self.data.len() {
            return Err(malformed("truncated type section"));
        }
        self.pos += n;
        Ok(())
    }
}

fn malformed(reason: &str) -> BtfError {
    BtfError::Malformed {
        reason: reason.to_owned(),
    }
}

fn le_u32(data: &[u8], at: usize) -> Result<u32, BtfError> {
    let bytes = data
        .get(at..at + 4)
        .ok_or_else(|| malformed("truncated header"))?;
    let mut word = [0u8; 4];
    word.copy_from_slice(bytes);
    Ok(u32::from_le_bytes(word))
}

impl Btf {
    /// Reads the running kernel's BTF.
    pub fn from_sys_fs() -> Result<Self, BtfError> {
        Self::from_file(Path::new(VMLINUX_BTF))
    }

    pub fn from_file(path: &Path) -> Result<Self, BtfError> {
        let data = std::fs::read(path).map_err(|source| BtfError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&data)
    }

    /// Parses a little-endian BTF blob.
    pub fn parse(data: &[u8]) -> Result<Self, BtfError> {
        let magic = data
            .get(0..2)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map(u16::from_le_bytes)
            .ok_or_else(|| malformed("truncated header"))?;
        if magic != BTF_MAGIC {
            return Err(malformed("bad magic (big-endian BTF is not supported)"));
        }
        let hdr_len = le_u32(data, 4)? as usize;
        let type_off = le_u32(data, 8)? as usize;
        let type_len = le_u32(data, 12)? as usize;
        let str_off = le_u32(data, 16)? as usize;
        let str_len = le_u32(data, 20)? as usize;
        let type_data = data
            .get(hdr_len + type_off..hdr_len + type_off + type_len)
            .ok_or_else(|| malformed("type section out of bounds"))?;
        let strings = data
            .get(hdr_len + str_off..hdr_len + str_off + str_len)
            .ok_or_else(|| malformed("string section out of bounds"))?
            .to_vec();

        let void = BtfType {
            kind: 0,
            name_off: 0,
            size_or_type: 0,
            members: Vec::new(),
            array: None,
        };
        let mut types = vec![void];
        let mut r = Reader {
            data: type_data,
            pos: 0,
        };
        while r.pos < type_data.len() {
            let name_off = r.u32()?;
            let info = r.u32()?;
            let size_or_type = r.u32()?;
            let vlen = (info & 0xffff) as usize;
            let kind = (info >> 24) & 0x1f;
            let kind_flag = info >> 31 == 1;
            let mut ty = BtfType {
                kind,
                name_off,
                size_or_type,
                members: Vec::new(),
                array: None,
            };
            match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => r.skip(4)?,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => {}
                KIND_ARRAY => {
                    let elem = r.u32()?;
                    let _index_type = r.u32()?;
                    let nelems = r.u32()?;
                    ty.array = Some((elem, nelems));
                }
                KIND_STRUCT | KIND_UNION => {
                    for _ in 0..vlen {
                        let m_name = r.u32()?;
                        let m_type = r.u32()?;
                        let m_off = r.u32()?;
                        let (offset_bits, bitfield_size) = if kind_flag {
                            (m_off & 0x00ff_ffff, m_off >> 24)
                        } else {
                            (m_off, 0)
                        };
                        ty.members.push(Member {
                            name_off: m_name,
                            type_id: m_type,
                            offset_bits,
                            bitfield_size,
                        });
                    }
                }
                KIND_ENUM | KIND_FUNC_PROTO => r.skip(8 * vlen)?,
                KIND_DATASEC | KIND_ENUM64 => r.skip(12 * vlen)?,
                other => {
                    return Err(BtfError::Malformed {
                        reason: format!("unknown BTF kind {other}"),
                    });
                }
            }
            types.push(ty);
        }

        let mut btf = Btf {
            types,
            strings,
            structs: HashMap::new(),
        };
        let mut structs = HashMap::new();
        for (id, ty) in btf.types.iter().enumerate() {
            // Forward declarations carry no members; only complete structs count.
            if ty.kind == KIND_STRUCT
                && let Some(name) = btf.string(ty.name_off)
                && !name.is_empty()
                && let Ok(id) = u32::try_from(id)
            {
                structs.entry(name.to_owned()).or_insert(id);
            }
        }
        btf.structs = structs;
        Ok(btf)
    }

    fn string(&self, off: u32) -> Option<&str> {
        let rest = self.strings.get(off as usize..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        std::str::from_utf8(rest.get(..end)?).ok()
    }

    fn ty(&self, id: u32) -> Option<&BtfType> {
        self.types.get(id as usize)
    }

    /// The size in bytes of a type, following typedefs and qualifiers.
    fn size_of(&self, mut id: u32) -> Option<u32> {
        // Bounded so that a malformed cycle cannot hang the loader.
        for _ in 0..64 {
            let ty = self.ty(id)?;
            match ty.kind {
                KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FLOAT => {
                    return Some(ty.size_or_type);
                }
                KIND_PTR => return Some(8),
                KIND_ARRAY => {
                    let (elem, n) = ty.array?;
                    return self.size_of(elem)?.checked_mul(n);
                }
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = ty.size_or_type;
                }
                _ => return None,
            }
        }
        None
    }

    /// Byte offset and size of `member` in `struct strukt`. Members of
    /// anonymous structs and unions nested in `strukt` are found too, as C
    /// allows naming them directly.
    pub fn member(&self, strukt: &str, member: &str) -> Result<Field, BtfError> {
        let id = *self
            .structs
            .get(strukt)
            .ok_or_else(|| BtfError::NoSuchStruct {
                name: strukt.to_owned(),
            })?;
        self.find_member(id, member, 0, 0)
            .ok_or_else(|| BtfError::NoSuchMember {
                strukt: strukt.to_owned(),
                member: member.to_owned(),
            })?
            .map_err(|kind| match kind {
                MemberProblem::Bitfield => BtfError::Bitfield {
                    strukt: strukt.to_owned(),
                    member: member.to_owned(),
                },
                MemberProblem::Unsized => BtfError::UnsizedMember {
                    strukt: strukt.to_owned(),
                    member: member.to_owned(),
                },
            })
    }

    fn find_member(
        &self,
        id: u32,
        member: &str,
        base_bits: u32,
        depth: u32,
    ) -> Option<Result<Field, MemberProblem>> {
        if depth > 8 {
            return None;
        }
        let ty = self.ty(id)?;
        for m in &ty.members {
            let name = self.string(m.name_off).unwrap_or("");
            let bits = base_bits + m.offset_bits;
            if name == member {
                if m.bitfield_size != 0 || !bits.is_multiple_of(8) {
                    return Some(Err(MemberProblem::Bitfield));
                }
                return Some(match self.size_of(m.type_id) {
                    Some(size) => Ok(Field {
                        offset: bits / 8,
                        size,
                    }),
                    None => Err(MemberProblem::Unsized),
                });
            }
            if name.is_empty() {
                let inner = self.strip(m.type_id)?;
                if let Some(found) = self.find_member(inner, member, bits, depth + 1) {
                    return Some(found);
                }
            }
        }
        None
    }

    /// Follows typedefs and qualifiers to the underlying type id.
    fn strip(&self, mut id: u32) -> Option<u32> {
        for _ in 0..64 {
            let ty = self.ty(id)?;
            match ty.kind {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = ty.size_or_type;
                }
                _ => return Some(id),
            }
        }
        None
    }

    /// Number of types, including the implicit `void`.
    pub fn type_count(&self) -> usize {
        self.types.len()
    }
}

enum MemberProblem {
    Bitfield,
    Unsized,
}

/// Byte offset of a member as an instruction offset, with its size checked.
pub fn insn_offset(btf: &Btf, strukt: &str, member: &str) -> Result<(i16, u32), BtfError> {
    let field = btf.member(strukt, member)?;
    let off = i16::try_from(field.offset).map_err(|_| BtfError::OffsetTooLarge {
        strukt: strukt.to_owned(),
        member: member.to_owned(),
        offset: field.offset,
    })?;
    Ok((off, field.size))
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

    /// Builds a BTF blob: `int` (id 1), `typedef int myint` (id 2),
    /// `struct s { int a; myint b; union { int c; }; }` (id 3), and the
    /// anonymous union (id 4).
    fn sample() -> Vec<u8> {
        let strings = b"\0int\0myint\0s\0a\0b\0c\0";
        let s = |name: &str| -> u32 {
            let pos = strings
                .windows(name.len() + 2)
                .position(|w| w[0] == 0 && &w[1..=name.len()] == name.as_bytes())
                .unwrap();
            pos as u32 + 1
        };
        let mut types: Vec<u32> = Vec::new();
        // id 1: int, size 4, encoding word (signed, 32 bits).
        types.extend([s("int"), KIND_INT << 24, 4, (1 << 24) | 32]);
        // id 2: typedef myint -> 1.
        types.extend([s("myint"), KIND_TYPEDEF << 24, 1]);
        // id 3: struct s, 3 members, size 12.
        types.extend([s("s"), (KIND_STRUCT << 24) | 3, 12]);
        types.extend([s("a"), 1, 0]);
        types.extend([s("b"), 2, 32]);
        types.extend([0, 4, 64]);
        // id 4: anonymous union, 1 member.
        types.extend([0, (KIND_UNION << 24) | 1, 4]);
        types.extend([s("c"), 1, 0]);
        let type_bytes: Vec<u8> = types.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut blob = Vec::new();
        blob.extend(BTF_MAGIC.to_le_bytes());
        blob.push(1);
        blob.push(0);
        blob.extend(24u32.to_le_bytes());
        blob.extend(0u32.to_le_bytes());
        blob.extend((type_bytes.len() as u32).to_le_bytes());
        blob.extend((type_bytes.len() as u32).to_le_bytes());
        blob.extend((strings.len() as u32).to_le_bytes());
        blob.extend(type_bytes);
        blob.extend(strings);
        blob
    }

    #[test]
    fn finds_members_through_typedefs_and_anonymous_unions() {
        let btf = Btf::parse(&sample()).unwrap();
        assert_eq!(btf.type_count(), 5);
        assert_eq!(btf.member("s", "a").unwrap(), Field { offset: 0, size: 4 });
        assert_eq!(btf.member("s", "b").unwrap(), Field { offset: 4, size: 4 });
        assert_eq!(btf.member("s", "c").unwrap(), Field { offset: 8, size: 4 });
        assert!(matches!(
            btf.member("s", "zz"),
            Err(BtfError::NoSuchMember { .. })
        ));
        assert!(matches!(
            btf.member("t", "a"),
            Err(BtfError::NoSuchStruct { .. })
        ));
    }

    #[test]
    fn rejects_garbage() {
        assert!(Btf::parse(b"nope").is_err());
        let mut blob = sample();
        blob.truncate(30);
        assert!(Btf::parse(&blob).is_err());
    }
}
