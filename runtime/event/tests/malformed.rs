//! Malformed input yields located errors, never panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::Write;

use lanner_event::{ReaderOptions, ScapError, ScapReader};

use common::{shared, summarize, summarize_bytes};

/// Block boundaries (offset, total length) of a well-formed file.
fn blocks(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 8 <= data.len() {
        let len = u32::from_le_bytes(data[off + 4..off + 8].try_into().unwrap()) as usize;
        out.push((off, len));
        off += len;
    }
    assert_eq!(off, data.len());
    out
}

/// The block offset an error names, if it names one.
fn located(e: &ScapError) -> Option<u64> {
    Some(match e {
        ScapError::TruncatedHeader { offset, .. }
        | ScapError::Truncated { offset, .. }
        | ScapError::BadBlockLength { offset, .. }
        | ScapError::BlockTooLarge { offset, .. }
        | ScapError::TrailerMismatch { offset, .. }
        | ScapError::BadMagic { offset, .. }
        | ScapError::UnsupportedVersion { offset, .. }
        | ScapError::Malformed { offset, .. }
        | ScapError::BadEvent { offset, .. }
        | ScapError::Io { offset, .. } => *offset,
        ScapError::Empty | ScapError::NotScap { .. } | ScapError::NoEvents => return None,
    })
}

fn small_captures() -> Vec<Vec<u8>> {
    let Some(root) = shared() else {
        return Vec::new();
    };
    [
        "synthetic/full_metadata.scap",
        "synthetic/two_sections.scap",
        "synthetic/state_only_flag.scap",
        "captures/cat_write.scap",
    ]
    .iter()
    .map(|p| std::fs::read(root.join(p)).unwrap())
    .collect()
}

#[test]
fn truncation_at_and_inside_every_block() {
    let mut cases = 0;
    for data in small_captures() {
        let bl = blocks(&data);
        let first_event = bl
            .iter()
            .position(|&(o, _)| {
                let t = u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
                matches!(t, 0x204 | 0x216 | 0x217 | 0x221)
            })
            .unwrap();
        for (i, &(off, len)) in bl.iter().enumerate() {
            // Exactly at a boundary the file is shorter but well formed; without any event
            // block libscap rejects it.
            if off > 0 {
                match summarize_bytes(&data[..off]) {
                    Ok(s) => assert!(i > first_event && s.events > 0),
                    Err(ScapError::NoEvents) => assert!(i <= first_event),
                    Err(e) => panic!("cut at boundary {off}: {e}"),
                }
            }
            // Inside the header or the body of the block: an error naming this block.
            for cut in [1, 4, 7, 8, 9, 12, len / 2, len - 4, len - 1] {
                if cut == 0 || cut >= len {
                    continue;
                }
                let e = summarize_bytes(&data[..off + cut]).unwrap_err();
                if off == 0 && cut < 8 {
                    assert!(matches!(e, ScapError::TruncatedHeader { .. }), "{e}");
                } else {
                    assert_eq!(located(&e), Some(off as u64), "cut {off}+{cut}: {e}");
                }
                let msg = e.to_string();
                assert!(msg.contains(&off.to_string()), "{msg}");
                cases += 1;
            }
        }
    }
    if shared().is_some() {
        assert!(cases > 1000, "{cases}");
    }
}

#[test]
fn garbage_lengths_are_located() {
    for data in small_captures() {
        for &(off, len) in &blocks(&data) {
            for bad in [
                0u32,
                4,
                11,
                13,
                u32::MAX,
                0x8000_0000,
                len as u32 + 4,
                len as u32 - 4,
            ] {
                let mut d = data.clone();
                d[off + 4..off + 8].copy_from_slice(&bad.to_le_bytes());
                let r = summarize_bytes(&d);
                let Err(e) = r else { continue };
                let loc = located(&e);
                if !(12..0x8000_0000).contains(&bad) {
                    assert_eq!(loc, Some(off as u64), "len {bad} at {off}: {e}");
                } else {
                    // A plausible but wrong length misframes later blocks: the error may
                    // name a later offset, but never an earlier one.
                    assert!(loc.is_none_or(|l| l >= off as u64), "{e}");
                }
            }
        }
    }
}

#[test]
fn header_checks() {
    let Some(root) = shared() else { return };
    let data = std::fs::read(root.join("synthetic/min_events_only.scap")).unwrap();
    // Byte-swapped magic.
    let mut d = data.clone();
    d[8..12].copy_from_slice(&0x4D3C_2B1Au32.to_le_bytes());
    assert!(matches!(
        summarize_bytes(&d),
        Err(ScapError::BadMagic { offset: 0, .. })
    ));
    // Newer major version.
    let mut d = data.clone();
    d[12..14].copy_from_slice(&2u16.to_le_bytes());
    assert!(matches!(
        summarize_bytes(&d),
        Err(ScapError::UnsupportedVersion { major: 2, .. })
    ));
    // First block is not a section header.
    assert!(matches!(
        summarize_bytes(&data[28..]),
        Err(ScapError::NotScap { .. })
    ));
    assert!(matches!(summarize_bytes(&[]), Err(ScapError::Empty)));
    assert!(matches!(
        summarize_bytes(&data[..28]),
        Err(ScapError::NoEvents)
    ));
    // An events-free file is fine when the caller does not require events.
    let mut r = ScapReader::with_options(
        &data[..28],
        ReaderOptions {
            require_events: false,
            ..ReaderOptions::default()
        },
    )
    .unwrap();
    assert_eq!(summarize(&mut r).unwrap().sections, 1);
    // Event length larger than the block.
    let mut d = data.clone();
    let ev_len_at = 28 + 8 + 2 + 16;
    d[ev_len_at..ev_len_at + 4].copy_from_slice(&5000u32.to_le_bytes());
    let e = summarize_bytes(&d).unwrap_err();
    assert!(matches!(e, ScapError::BadEvent { offset: 28, .. }), "{e}");
    assert!(e.to_string().contains("EV_V2"), "{e}");
    // Parameter count that overflows the event.
    let mut d = data.clone();
    let np_at = 28 + 8 + 2 + 22;
    d[np_at..np_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        summarize_bytes(&d),
        Err(ScapError::BadEvent { offset: 28, .. })
    ));
}

#[test]
fn metadata_garbage_is_located() {
    let Some(root) = shared() else { return };
    let data = std::fs::read(root.join("synthetic/full_metadata.scap")).unwrap();
    for &(off, len) in &blocks(&data) {
        let t = u32::from_le_bytes(data[off..off + 4].try_into().unwrap());
        if !matches!(t, 0x219 | 0x220 | 0x215 | 0x218) {
            continue;
        }
        // Blow up the first entry length (or the first string length of FDL's first entry).
        let at = off + 8 + if t == 0x218 { 8 } else { 0 };
        let mut d = data.clone();
        d[at..at + 4].copy_from_slice(&0xFFFFu32.to_le_bytes());
        let e = summarize_bytes(&d).unwrap_err();
        assert!(
            matches!(e, ScapError::Malformed { offset, position, .. }
                if offset == off as u64 && position >= offset && position < (off + len) as u64),
            "{e}"
        );
    }
}

/// Deterministic random corruption: any result is fine except a panic or a hang.
#[test]
fn random_corruption_never_panics() {
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for data in small_captures() {
        for _ in 0..300 {
            let mut d = data.clone();
            for _ in 0..1 + next() % 8 {
                let i = (next() % d.len() as u64) as usize;
                d[i] = next() as u8;
            }
            let _ = summarize_bytes(&d);
        }
    }
}

#[test]
fn truncated_gzip_is_an_error() {
    let Some(root) = shared() else { return };
    let data = std::fs::read(root.join("synthetic/full_metadata.scap")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&data).unwrap();
    let gz = enc.finish().unwrap();
    for cut in [gz.len() / 3, gz.len() / 2, gz.len() - 5] {
        let r = summarize_bytes(&gz[..cut]);
        assert!(r.is_err(), "cut {cut}");
    }
    assert_eq!(summarize_bytes(&gz).unwrap().events, 9);
}
