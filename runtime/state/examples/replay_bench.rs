//! Replay throughput: reads a capture into memory, folds and parses every event, and extracts a
//! set of fields per delivered event. Usage: `replay_bench [CAPTURE] [FIELD...]`; the capture
//! defaults to `$LANNER_BIG_SCAP` or `/tmp/lanner-bench/big.scap` (see oracle-falco/README.md §5).

use std::time::Instant;

use lanner_event::ScapSliceReader;
use lanner_state::{Accessor, ContainerMatcher, Replay};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .or_else(|| std::env::var("LANNER_BIG_SCAP").ok())
        .unwrap_or_else(|| "/tmp/lanner-bench/big.scap".to_owned());
    let fields: Vec<String> = args.collect();
    let mut accessors = Vec::new();
    for f in &fields {
        accessors.push(Accessor::compile(&lanner_schema::resolve_text(f)?)?);
    }
    let bytes = std::fs::read(&path)?;
    let start = Instant::now();
    let mut replay = Replay::new(ContainerMatcher::falco());
    let (mut delivered, mut present) = (0u64, 0u64);
    for rec in ScapSliceReader::new(&bytes) {
        let rec = rec?;
        if let Some(d) = replay.record(&rec)
            && d.delivered
            && let Some(ev) = replay.event()
        {
            delivered += 1;
            for a in &accessors {
                if a.extract(&ev, &replay.state).is_some() {
                    present += 1;
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{path}: {delivered} delivered events in {secs:.3} s = {:.2} M events/s ({} fields, {present} values)",
        delivered as f64 / secs / 1e6,
        accessors.len()
    );
    Ok(())
}
