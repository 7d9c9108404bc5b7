//! The reader against every kind of bad input: each refusal named, never a panic.

use super::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn program() -> Program {
    Program::empty(400)
}

fn info() -> BuildInfo {
    BuildInfo {
        sources: vec![("rules.yaml".into(), b"- rule: x\n".to_vec())],
        created: None,
        name: Some("demo".into()),
        revision: Some("r1".into()),
    }
}

fn trusting(k: &SigningKey) -> Trust {
    Trust {
        keys: vec![k.verifying_key()],
        allow_unsigned: false,
    }
}

#[test]
fn a_signed_bundle_round_trips_with_its_header() {
    let k = key(7);
    let bytes = build(&program(), &info(), Some(&k)).unwrap();
    let b = load(&bytes, &trusting(&k)).unwrap();
    assert_eq!(b.program, program());
    assert_eq!(b.signer, Signer::Trusted(k.verifying_key()));
    assert_eq!(b.header.name.as_deref(), Some("demo"));
    assert_eq!(b.header.sources.len(), 1);
    assert_eq!(
        hex(&b.header.sources[0].sha256),
        hex(&Sha256::digest(b"- rule: x\n"))
    );
    assert_eq!(b.header.schema_hash, lanner_program::SCHEMA_HASH);
}

#[test]
fn builds_are_reproducible_and_record_time_only_when_asked() {
    let k = key(7);
    let a = build(&program(), &info(), Some(&k)).unwrap();
    let b = build(&program(), &info(), Some(&k)).unwrap();
    assert_eq!(a, b);
    let mut timed = info();
    timed.created = Some(1_700_000_000);
    let c = build(&program(), &timed, Some(&k)).unwrap();
    assert_ne!(a, c);
    assert_eq!(
        load(&c, &trusting(&k)).unwrap().header.created,
        Some(1_700_000_000)
    );
}

#[test]
fn unsigned_bundles_need_allow_unsigned() {
    let bytes = build(&program(), &info(), None).unwrap();
    assert!(matches!(
        load(&bytes, &Trust::default()),
        Err(BundleError::Unsigned)
    ));
    let dev = Trust {
        keys: vec![],
        allow_unsigned: true,
    };
    assert_eq!(load(&bytes, &dev).unwrap().signer, Signer::Unsigned);
}

#[test]
fn an_untrusted_signer_is_refused_and_named() {
    let bytes = build(&program(), &info(), Some(&key(1))).unwrap();
    let e = load(&bytes, &trusting(&key(2))).unwrap_err();
    assert!(matches!(e, BundleError::Untrusted { .. }), "{e}");
    assert!(
        e.to_string()
            .contains(&fingerprint(&key(1).verifying_key())),
        "{e}"
    );
}

#[test]
fn every_flipped_byte_is_refused() {
    let k = key(3);
    let bytes = build(&program(), &info(), Some(&k)).unwrap();
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x40;
        assert!(load(&bad, &trusting(&k)).is_err(), "byte {i} flipped loads");
    }
}

#[test]
fn every_truncation_is_refused_with_a_named_section() {
    let k = key(3);
    let bytes = build(&program(), &info(), Some(&k)).unwrap();
    for n in 0..bytes.len() {
        let e = load(&bytes[..n], &trusting(&k)).unwrap_err();
        assert!(
            matches!(e, BundleError::Truncated { .. } | BundleError::Magic),
            "{n}: {e}"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        load(&long, &trusting(&k)),
        Err(BundleError::Trailing { extra: 1 })
    ));
}

#[test]
fn a_newer_format_version_is_refused_naming_both_versions() {
    let mut bytes = build(&program(), &info(), None).unwrap();
    bytes[4..6].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let e = load(&bytes, &Trust::default()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, BundleError::Version { .. }));
    assert!(
        msg.contains(&format!("version {}", FORMAT_VERSION + 1)),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("format version {FORMAT_VERSION}")),
        "{msg}"
    );
    assert!(msg.contains("newer"), "{msg}");
}

#[test]
fn another_schema_is_refused_before_the_program_is_decoded() {
    let mut p = program();
    p.schema_hash ^= 1;
    // The header carries the writer's schema hash.
    let bytes = build(&p, &info(), Some(&key(4))).unwrap();
    let e = load(&bytes, &trusting(&key(4))).unwrap_err();
    assert!(matches!(e, BundleError::Schema { .. }), "{e}");
}

#[test]
fn a_re_signed_tampered_program_fails_the_content_hash() {
    // Someone with a trusted key signs a bundle whose program is not what the header says.
    let k = key(5);
    let bytes = build(&program(), &info(), None).unwrap();
    let s = sections(&bytes).unwrap();
    let mut other = Program::empty(401);
    other.event_code_count = 401;
    let payload = lanner_program::encode(&other).unwrap();
    let mut forged = Vec::new();
    forged.extend_from_slice(&bytes[..6]);
    forged.extend_from_slice(&(s.header.len() as u32).to_le_bytes());
    forged.extend_from_slice(s.header);
    forged.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    forged.extend_from_slice(&payload);
    let sig = k.sign(&signing_message(&forged));
    forged.push(SIG_ED25519);
    forged.extend_from_slice(k.verifying_key().as_bytes());
    forged.extend_from_slice(&sig.to_bytes());
    let e = load(&forged, &trusting(&k)).unwrap_err();
    assert!(matches!(e, BundleError::ContentHash), "{e}");
}

#[test]
fn key_files_round_trip_and_refuse_overwriting() {
    let dir = std::env::temp_dir().join(format!("lanner-bundle-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("k");
    let public = keys::generate(&secret).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        keys::read_public(&keys::public_path(&secret)).unwrap(),
        public
    );
    assert_eq!(keys::read_secret(&secret).unwrap().verifying_key(), public);
    assert!(matches!(
        keys::generate(&secret),
        Err(KeyError::Exists { .. })
    ));
    // Only the public file existing is refused too, and the private file is not created.
    let lone = dir.join("lone");
    std::fs::write(keys::public_path(&lone), "x").unwrap();
    assert!(matches!(
        keys::generate(&lone),
        Err(KeyError::Exists { .. })
    ));
    assert!(!lone.exists());
    assert!(matches!(
        keys::parse_public("lanner-ed25519-public 12", "p"),
        Err(KeyError::Format { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
