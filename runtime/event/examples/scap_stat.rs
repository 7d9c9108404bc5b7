//! Streams a capture and prints its block inventory and per-event-type counts.
//!
//! `cargo run -p lanner-event --example scap_stat -- FILE`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use lanner_event::{Record, ScapReader, TableVersion};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: scap_stat FILE")?;
    let mut r = ScapReader::open(&path)?;
    let mut blocks: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut types: BTreeMap<(String, char), u64> = BTreeMap::new();
    while let Some(rec) = r.next_record()? {
        if let Record::Event(ev) = &rec {
            let name = ev.name_in(TableVersion::Current).unwrap_or("?").to_string();
            *types.entry((name, ev.direction().as_char())).or_default() += 1;
        }
        if let Some((bt, _)) = r.last_block() {
            *blocks.entry(bt.name()).or_default() += 1;
        }
    }
    for (b, n) in &blocks {
        println!("block\t{b}\t{n}");
    }
    for ((t, d), n) in &types {
        println!("event\t{t}\t{d}\t{n}");
    }
    Ok(())
}
