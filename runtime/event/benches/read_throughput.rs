//! Reading throughput of the scap reader, in events per second.
//!
//! Input: `$LANNER_BIG_SCAP` if set, else the 242 MB `big.scap` that
//! `shared/scap/tools/make_big.py` builds (the file Falco's replay baseline was measured on,
//! see `shared/scap/oracle-falco/README.md` §5) when it exists at `/tmp/lanner-bench/big.scap`,
//! else the largest capture of the shared folder.
//!
//! Run with `cargo bench -p lanner-event --bench read_throughput`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use lanner_event::{Record, ScapReader, ScapSliceReader};

fn input() -> PathBuf {
    if let Some(p) = std::env::var_os("LANNER_BIG_SCAP") {
        return p.into();
    }
    let big = PathBuf::from("/tmp/lanner-bench/big.scap");
    if big.exists() {
        return big;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/scap/captures");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scap"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap()
}

fn run(name: &str, bytes: u64, iters: u32, mut f: impl FnMut() -> u64) {
    let mut best = f64::INFINITY;
    let mut events = 0;
    for _ in 0..iters {
        let t = Instant::now();
        events = black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{name:<34} {events:>9} events  best {best:>7.3} s  {:>6.2} M events/s  {:>7.1} MB/s",
        events as f64 / best / 1e6,
        bytes as f64 / best / 1e6
    );
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent; keep that fast.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let path = input();
    let bytes = std::fs::metadata(&path).unwrap().len();
    println!("input: {} ({bytes} bytes)", path.display());
    let iters = if bytes > 50_000_000 { 3 } else { 20 };

    run("next_event (file)", bytes, iters, || {
        let mut r = ScapReader::open(&path).unwrap();
        let mut n = 0;
        while let Some(ev) = r.next_event().unwrap() {
            black_box(ev.ts());
            n += 1;
        }
        n
    });

    let data = std::fs::read(&path).unwrap();
    if !data.starts_with(&[0x1f, 0x8b]) {
        run("slice reader next_event (memory)", bytes, iters, || {
            let mut r = ScapSliceReader::new(&data);
            let mut n = 0;
            while let Some(ev) = r.next_event().unwrap() {
                black_box(ev.ts());
                n += 1;
            }
            n
        });
        run("stream reader next_event (memory)", bytes, iters, || {
            let mut r = ScapReader::new(&data[..]).unwrap();
            let mut n = 0;
            while let Some(ev) = r.next_event().unwrap() {
                black_box(ev.ts());
                n += 1;
            }
            n
        });
    }
    drop(data);

    run("next_record, all lists (file)", bytes, iters, || {
        let mut r = ScapReader::open(&path).unwrap();
        let mut n = 0;
        while let Some(rec) = r.next_record().unwrap() {
            match rec {
                Record::Event(ev) => {
                    black_box(ev.tid());
                    n += 1;
                }
                Record::ProcessList(pl) => {
                    black_box(pl.threads().count());
                }
                Record::FdTable(t) => {
                    black_box(t.fds().count());
                }
                _ => {}
            }
        }
        n
    });

    run("next_event + decode all params", bytes, iters, || {
        let mut r = ScapReader::open(&path).unwrap();
        let mut n = 0;
        while let Some(ev) = r.next_event().unwrap() {
            for p in ev.params() {
                black_box(p.decode().ok());
            }
            n += 1;
        }
        n
    });
}
