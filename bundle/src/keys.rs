//! Key files: one line of text each, so they survive copy-paste and config management.
//!
//! ```text
//! lanner-ed25519-secret <64 hex digits: the 32-byte seed>      (NAME, mode 0600)
//! lanner-ed25519-public <64 hex digits: the 32-byte key>       (NAME.pub)
//! ```

use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

const SECRET_TAG: &str = "lanner-ed25519-secret";
const PUBLIC_TAG: &str = "lanner-ed25519-public";

/// Why a key cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("`{path}` is not a lanner {kind} key: expected one line `{tag} <64 hex digits>`")]
    Format {
        path: String,
        kind: &'static str,
        tag: &'static str,
    },
    #[error("`{path}` holds an invalid ed25519 public key")]
    Invalid { path: String },
    #[error("`{path}` already exists: refusing to overwrite a key")]
    Exists { path: String },
    #[error("cannot write key `{path}`: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read randomness from `/dev/urandom`: {0}")]
    Random(std::io::Error),
}

/// A short, stable name for a public key: `ed25519:` and the first 16 hex digits of its SHA-256.
pub fn fingerprint(key: &VerifyingKey) -> String {
    let h = Sha256::digest(key.as_bytes());
    format!("ed25519:{}", crate::hex(h.get(..8).unwrap_or_default()))
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.as_bytes();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let digit = |c: u8| (c as char).to_digit(16);
        let (Some(hi), Some(lo)) = (
            pair.first().and_then(|&c| digit(c)),
            pair.get(1).and_then(|&c| digit(c)),
        ) else {
            return None;
        };
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

fn parse_line(text: &str, tag: &str) -> Option<[u8; 32]> {
    let mut words = text.split_whitespace();
    if words.next()? != tag {
        return None;
    }
    let key = parse_hex32(words.next()?)?;
    words.next().is_none().then_some(key)
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Parses the text of a public key file.
pub fn parse_public(text: &str, path: &str) -> Result<VerifyingKey, KeyError> {
    let bytes = parse_line(text, PUBLIC_TAG).ok_or_else(|| KeyError::Format {
        path: path.to_owned(),
        kind: "public",
        tag: PUBLIC_TAG,
    })?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Invalid {
        path: path.to_owned(),
    })
}

/// Reads a public key file (`NAME.pub`).
pub fn read_public(path: &Path) -> Result<VerifyingKey, KeyError> {
    parse_public(&read(path)?, &path.display().to_string())
}

/// Reads a private key file.
pub fn read_secret(path: &Path) -> Result<SigningKey, KeyError> {
    let bytes = parse_line(&read(path)?, SECRET_TAG).ok_or_else(|| KeyError::Format {
        path: path.display().to_string(),
        kind: "private",
        tag: SECRET_TAG,
    })?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// The text of a public key file.
pub fn public_text(key: &VerifyingKey) -> String {
    format!("{PUBLIC_TAG} {}\n", crate::hex(key.as_bytes()))
}

/// The public key file's path for a private key `NAME`: `NAME.pub`.
pub fn public_path(secret: &Path) -> PathBuf {
    let mut p = secret.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

fn create(path: &Path, mode: u32, text: &str) -> Result<(), KeyError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists {
                    path: path.display().to_string(),
                }
            } else {
                KeyError::Write {
                    path: path.display().to_string(),
                    source,
                }
            }
        })?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|source| KeyError::Write {
            path: path.display().to_string(),
            source,
        })
}

/// Writes a new key pair: the private key at `secret` (mode 0600) and the public key at
/// `secret.pub`. Refuses to overwrite either (checked before anything is written; the files
/// are created exclusively, so a race cannot overwrite one either).
pub fn generate(secret: &Path) -> Result<VerifyingKey, KeyError> {
    let public = public_path(secret);
    for p in [secret, public.as_path()] {
        if p.symlink_metadata().is_ok() {
            return Err(KeyError::Exists {
                path: p.display().to_string(),
            });
        }
    }
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(KeyError::Random)?;
    let key = SigningKey::from_bytes(&seed);
    create(
        secret,
        0o600,
        &format!("{SECRET_TAG} {}\n", crate::hex(&seed)),
    )?;
    create(&public, 0o644, &public_text(&key.verifying_key()))?;
    Ok(key.verifying_key())
}
