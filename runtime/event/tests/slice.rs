//! The zero-copy slice reader agrees with the streaming reader, on good and bad input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::Read;

use lanner_event::{Record, ScapReader, ScapSliceReader};

use common::all_shared_files;

fn decompressed(path: &std::path::Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap();
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

fn render(rec: &Record<'_>) -> String {
    match rec {
        Record::ProcessList(pl) => format!("{:?}", pl.threads().collect::<Vec<_>>()),
        Record::FdTable(t) => format!("{} {:?}", t.tid(), t.fds().collect::<Vec<_>>()),
        Record::InterfaceList(il) => format!("{:?}", il.interfaces().collect::<Vec<_>>()),
        Record::UserList(ul) => format!("{:?}", ul.entries().collect::<Vec<_>>()),
        other => format!("{other:?}"),
    }
}

/// Both readers' outcome on `data`: rendered records, then the error if any.
fn both(data: &[u8]) -> (Vec<String>, Vec<String>) {
    let mut a = Vec::new();
    match ScapReader::new(data) {
        Ok(mut r) => loop {
            match r.next_record() {
                Ok(Some(rec)) => a.push(render(&rec)),
                Ok(None) => break,
                Err(e) => {
                    a.push(format!("error: {e}"));
                    break;
                }
            }
        },
        Err(e) => a.push(format!("error: {e}")),
    }
    let b = ScapSliceReader::new(data)
        .map(|r| match r {
            Ok(rec) => render(&rec),
            Err(e) => format!("error: {e}"),
        })
        .collect();
    (a, b)
}

#[test]
fn slice_reader_matches_stream_reader_on_every_shared_file() {
    for f in all_shared_files() {
        let data = decompressed(&f);
        let (a, b) = both(&data);
        assert!(!a.iter().any(|l| l.starts_with("error")), "{}", f.display());
        assert_eq!(a, b, "{}", f.display());
    }
}

#[test]
fn slice_reader_matches_stream_reader_on_truncations() {
    let Some(root) = common::shared() else { return };
    let data = std::fs::read(root.join("synthetic/full_metadata.scap")).unwrap();
    for cut in 0..data.len() {
        let (a, b) = both(&data[..cut]);
        assert_eq!(a, b, "cut {cut}");
    }
}

#[test]
fn slice_events_outlive_the_reader_step() {
    let Some(root) = common::shared() else { return };
    let data = std::fs::read(root.join("captures/cat_write.scap")).unwrap();
    // Events borrow the input, not the reader: they can be collected.
    let mut r = ScapSliceReader::new(&data);
    let mut events = Vec::new();
    while let Some(ev) = r.next_event().unwrap() {
        events.push(ev);
    }
    assert_eq!(events.len(), 345);
    let mut stream = ScapReader::open(root.join("captures/cat_write.scap")).unwrap();
    for kept in &events {
        let ev = stream.next_event().unwrap().unwrap();
        assert_eq!(kept, &ev);
    }
}

/// Replay code can be written once against `EventSource`.
#[test]
fn both_readers_are_event_sources() {
    use lanner_event::EventSource;
    fn count<S: EventSource>(s: &mut S) -> usize
    where
        S::Error: std::fmt::Debug,
    {
        let mut n = 0;
        while s.next_event().unwrap().is_some() {
            n += 1;
        }
        n
    }
    let Some(root) = common::shared() else { return };
    let path = root.join("captures/sample.scap");
    let data = std::fs::read(&path).unwrap();
    assert_eq!(count(&mut ScapSliceReader::new(&data)), 572);
    assert_eq!(count(&mut ScapReader::open(&path).unwrap()), 572);
}
