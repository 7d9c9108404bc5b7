//! Bundles: compiled rules as one signed, versioned file, the unit a fleet is deployed with.
//!
//! The layout (integers little endian):
//!
//! ```text
//! "LNRB"  u16 format version
//! u32 header length   header   (postcard: versions, schema hash, content hash, sources, labels)
//! u32 program length  program  (lanner_program::encode: "LNRP", its own version, postcard)
//! u8 signature kind   0: unsigned | 1: ed25519, then the 32-byte public key and 64-byte signature
//! ```
//!
//! The signature covers every byte before the signature block, prefixed by [`SIGNING_CONTEXT`]
//! so a signature made for something else cannot be replayed onto a bundle. Reading checks, in
//! this order and before anything is decoded: magic, format version, section bounds, signature
//! and trust; then the header, the schema hash, the content hash, and last the program (which
//! `lanner_program::decode` verifies). Writing is deterministic: equal inputs give equal bytes
//! (postcard is deterministic and Ed25519 signatures are too), and the creation time is only
//! recorded when the caller asks for it.
//!
//! This crate depends on `lanner-program` and no front-end or runtime crate: the compiler writes
//! bundles, the agent reads them.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod keys;

use ed25519_dalek::{Signature, Signer as _};
use lanner_program::Program;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use keys::{KeyError, fingerprint};

/// The first bytes of a bundle.
pub const MAGIC: [u8; 4] = *b"LNRB";

/// The version of the bundle layout and header; bumped on any change to either.
pub const FORMAT_VERSION: u16 = 1;

/// What the signature is made over, before the bundle's bytes (domain separation).
pub const SIGNING_CONTEXT: &[u8] = b"lanner bundle signature v1\0";

/// The Lanner version written into new bundles.
pub const LANNER_VERSION: &str = env!("CARGO_PKG_VERSION");

const SIG_NONE: u8 = 0;
const SIG_ED25519: u8 = 1;

/// A rules file the bundle was built from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// The path as given to the compiler.
    pub name: String,
    /// SHA-256 of the file's bytes.
    pub sha256: [u8; 32],
}

/// What a bundle says about itself; read and checked before the program is decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The Lanner version that wrote the bundle.
    pub lanner_version: String,
    /// `lanner_program::SCHEMA_HASH` of the writer: the field ids the program uses.
    pub schema_hash: u64,
    /// `lanner_program::FORMAT_VERSION` of the serialised program.
    pub program_format: u16,
    /// SHA-256 of the serialised program: the rules' content hash.
    pub content_hash: [u8; 32],
    /// How many rules the program has (shown without decoding it).
    pub rules: u32,
    /// The rules files in load order.
    pub sources: Vec<SourceFile>,
    /// Seconds since the Unix epoch, only when the builder asked for it (reproducible builds).
    pub created: Option<u64>,
    /// Optional labels for operators (`--name`, `--revision`).
    pub name: Option<String>,
    pub revision: Option<String>,
}

/// What a bundle is built from besides the program.
#[derive(Clone, Debug, Default)]
pub struct BuildInfo {
    /// Each rules file's name and bytes, in load order.
    pub sources: Vec<(String, Vec<u8>)>,
    pub created: Option<u64>,
    pub name: Option<String>,
    pub revision: Option<String>,
}

/// Why a bundle cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Encode(#[from] lanner_program::EncodeError),
    #[error("cannot serialise the bundle header: {0}")]
    Header(postcard::Error),
    #[error("the {what} is too large for a bundle ({len} bytes)")]
    TooLarge { what: &'static str, len: usize },
}

/// Why a bundle is refused. Every variant names the problem; none is a panic.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("not a lanner bundle: the file does not start with `LNRB`")]
    Magic,
    #[error(
        "bundle format version {found} is not supported: this lanner reads format version {supported}{}",
        if *found > *supported { " (the bundle was written by a newer lanner)" } else { "" }
    )]
    Version { found: u16, supported: u16 },
    #[error("truncated bundle: the {section} ends at byte {needed} but the file has {len} bytes")]
    Truncated {
        section: &'static str,
        needed: u64,
        len: usize,
    },
    #[error("corrupt bundle: {extra} unexpected byte(s) after the signature")]
    Trailing { extra: usize },
    #[error("corrupt bundle: unknown signature kind {0}")]
    SignatureKind(u8),
    #[error(
        "the bundle is unsigned: sign it with `rulec build --sign KEY`, or pass `--allow-unsigned` (development only)"
    )]
    Unsigned,
    #[error("bad signature: the bundle was modified after signing, or the signature is corrupt")]
    BadSignature,
    #[error("corrupt bundle: the signer's public key is invalid")]
    BadKey,
    #[error("untrusted signer `{signer}`: the bundle is signed by a key no `--trust` names")]
    Untrusted { signer: String },
    #[error("corrupt bundle header: {0}")]
    Header(postcard::Error),
    #[error(
        "the bundle was compiled against another field schema (hash {found:#018x}, this lanner has {expected:#018x}): rebuild it with this version's `rulec build`"
    )]
    Schema { found: u64, expected: u64 },
    #[error(
        "the bundle's program format version is {found}, this lanner reads {supported}: rebuild it with this version's `rulec build`"
    )]
    ProgramVersion { found: u16, supported: u16 },
    #[error("corrupt bundle: the program does not match the header's content hash")]
    ContentHash,
    #[error("corrupt bundle: {0}")]
    Program(#[from] lanner_program::DecodeError),
}

/// Who vouches for a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signer {
    /// Signed by a trusted key.
    Trusted(VerifyingKey),
    /// Signed (the signature is valid) by a key not trusted; only with `allow_unsigned`.
    Untrusted(VerifyingKey),
    /// No signature; only with `allow_unsigned`.
    Unsigned,
}

/// What the reader accepts.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    pub keys: Vec<VerifyingKey>,
    /// Development: accept unsigned bundles and signers no key names (callers warn loudly).
    pub allow_unsigned: bool,
}

/// A verified, loaded bundle.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub header: Header,
    pub program: Program,
    pub signer: Signer,
}

/// The signature block as read, before any check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawSignature {
    None,
    Ed25519 { key: [u8; 32], signature: [u8; 64] },
}

/// A bundle split into its sections; nothing decoded or verified yet except the layout.
#[derive(Clone, Copy, Debug)]
pub struct Sections<'a> {
    /// Every byte the signature covers.
    pub signed: &'a [u8],
    pub header: &'a [u8],
    pub program: &'a [u8],
    pub signature: RawSignature,
}

/// The result of checking a signature without a trust decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureCheck {
    Unsigned,
    Valid(VerifyingKey),
    Invalid,
}

/// Writes a bundle for `program`, signed with `key` if given.
pub fn build(
    program: &Program,
    info: &BuildInfo,
    key: Option<&SigningKey>,
) -> Result<Vec<u8>, BuildError> {
    let payload = lanner_program::encode(program)?;
    let header = Header {
        lanner_version: LANNER_VERSION.to_owned(),
        schema_hash: program.schema_hash,
        program_format: lanner_program::FORMAT_VERSION,
        content_hash: Sha256::digest(&payload).into(),
        rules: u32::try_from(program.rules.len()).map_err(|_| BuildError::TooLarge {
            what: "rule count",
            len: program.rules.len(),
        })?,
        sources: info
            .sources
            .iter()
            .map(|(name, bytes)| SourceFile {
                name: name.clone(),
                sha256: Sha256::digest(bytes).into(),
            })
            .collect(),
        created: info.created,
        name: info.name.clone(),
        revision: info.revision.clone(),
    };
    let header = postcard::to_stdvec(&header).map_err(BuildError::Header)?;
    let mut out = Vec::with_capacity(payload.len() + header.len() + 128);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    for (what, section) in [("header", &header), ("program", &payload)] {
        let len = u32::try_from(section.len()).map_err(|_| BuildError::TooLarge {
            what,
            len: section.len(),
        })?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(section);
    }
    match key {
        None => out.push(SIG_NONE),
        Some(key) => {
            let signature = key.sign(&signing_message(&out));
            out.push(SIG_ED25519);
            out.extend_from_slice(key.verifying_key().as_bytes());
            out.extend_from_slice(&signature.to_bytes());
        }
    }
    Ok(out)
}

fn signing_message(signed: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_CONTEXT.len() + signed.len());
    m.extend_from_slice(SIGNING_CONTEXT);
    m.extend_from_slice(signed);
    m
}

/// A cursor that reports truncation by section.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, section: &'static str) -> Result<&'a [u8], BundleError> {
        let end = self.pos.checked_add(n);
        match end.and_then(|end| self.bytes.get(self.pos..end)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(BundleError::Truncated {
                section,
                needed: self.pos as u64 + n as u64,
                len: self.bytes.len(),
            }),
        }
    }

    fn array<const N: usize>(&mut self, section: &'static str) -> Result<[u8; N], BundleError> {
        let s = self.take(N, section)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u32(&mut self, section: &'static str) -> Result<usize, BundleError> {
        Ok(u32::from_le_bytes(self.array(section)?) as usize)
    }
}

/// Splits a bundle into its sections: magic, version and bounds checked, nothing decoded.
pub fn sections(bytes: &[u8]) -> Result<Sections<'_>, BundleError> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(4, "magic").ok() != Some(MAGIC.as_slice()) {
        return Err(BundleError::Magic);
    }
    let found = u16::from_le_bytes(r.array("format version")?);
    if found != FORMAT_VERSION {
        return Err(BundleError::Version {
            found,
            supported: FORMAT_VERSION,
        });
    }
    let n = r.u32("header length")?;
    let header = r.take(n, "header")?;
    let n = r.u32("program length")?;
    let program = r.take(n, "program")?;
    let signed = bytes.get(..r.pos).unwrap_or_default();
    let signature = match r.array::<1>("signature kind")?[0] {
        SIG_NONE => RawSignature::None,
        SIG_ED25519 => RawSignature::Ed25519 {
            key: r.array("signer key")?,
            signature: r.array("signature")?,
        },
        other => return Err(BundleError::SignatureKind(other)),
    };
    let extra = bytes.len() - r.pos;
    if extra > 0 {
        return Err(BundleError::Trailing { extra });
    }
    Ok(Sections {
        signed,
        header,
        program,
        signature,
    })
}

impl Sections<'_> {
    /// Checks the signature against the key the bundle carries (integrity, not trust).
    pub fn check_signature(&self) -> Result<SignatureCheck, BundleError> {
        match self.signature {
            RawSignature::None => Ok(SignatureCheck::Unsigned),
            RawSignature::Ed25519 { key, signature } => {
                let key = VerifyingKey::from_bytes(&key).map_err(|_| BundleError::BadKey)?;
                let signature = Signature::from_bytes(&signature);
                // Strict: refuses small-order keys and non-canonical signatures.
                Ok(
                    match key.verify_strict(&signing_message(self.signed), &signature) {
                        Ok(()) => SignatureCheck::Valid(key),
                        Err(_) => SignatureCheck::Invalid,
                    },
                )
            }
        }
    }

    /// Decodes and checks the header (schema and program format versions).
    pub fn header(&self) -> Result<Header, BundleError> {
        let header: Header = postcard::from_bytes(self.header).map_err(BundleError::Header)?;
        if header.program_format != lanner_program::FORMAT_VERSION {
            return Err(BundleError::ProgramVersion {
                found: header.program_format,
                supported: lanner_program::FORMAT_VERSION,
            });
        }
        if header.schema_hash != lanner_program::SCHEMA_HASH {
            return Err(BundleError::Schema {
                found: header.schema_hash,
                expected: lanner_program::SCHEMA_HASH,
            });
        }
        Ok(header)
    }

    /// Checks the content hash and decodes (and so verifies) the program.
    pub fn program(&self, header: &Header) -> Result<Program, BundleError> {
        let hash: [u8; 32] = Sha256::digest(self.program).into();
        if hash != header.content_hash {
            return Err(BundleError::ContentHash);
        }
        Ok(lanner_program::decode(self.program)?)
    }
}

/// Reads a bundle: layout, signature and trust first, then the header, then the program.
pub fn load(bytes: &[u8], trust: &Trust) -> Result<Bundle, BundleError> {
    let s = sections(bytes)?;
    let signer = match s.check_signature()? {
        SignatureCheck::Invalid => return Err(BundleError::BadSignature),
        SignatureCheck::Unsigned if trust.allow_unsigned => Signer::Unsigned,
        SignatureCheck::Unsigned => return Err(BundleError::Unsigned),
        SignatureCheck::Valid(key) if trust.keys.contains(&key) => Signer::Trusted(key),
        SignatureCheck::Valid(key) if trust.allow_unsigned => Signer::Untrusted(key),
        SignatureCheck::Valid(key) => {
            return Err(BundleError::Untrusted {
                signer: fingerprint(&key),
            });
        }
    };
    let header = s.header()?;
    let program = s.program(&header)?;
    Ok(Bundle {
        header,
        program,
        signer,
    })
}

/// Lowercase hex of bytes (hashes in headers and JSON).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests;
