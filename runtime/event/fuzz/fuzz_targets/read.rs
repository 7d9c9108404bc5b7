//! Fuzzes the scap reader: any input must yield records or a located error, never a panic,
//! and every event that reads must survive a write/read round trip unchanged.
#![no_main]

use lanner_event::{Event, ReaderOptions, Record, ScapReader, ScapSliceReader, ScapWriter};
use libfuzzer_sys::fuzz_target;

fn exercise_event(ev: &Event<'_>) {
    for p in ev.params() {
        if let Ok(v) = p.decode() {
            let _ = v.dyn_value();
            if let lanner_event::ParamValue::FdList(l) = v {
                let _ = l.iter().count();
            }
            if let lanner_event::ParamValue::StrList(l) = v {
                let _ = l.iter().count();
            }
        }
    }
    let _ = ev.name_in(lanner_event::TableVersion::Sysdig029);
    // Re-encode and compare: the writer must preserve header and parameter bytes.
    let Ok(mut w) = ScapWriter::new(Vec::new()) else {
        return;
    };
    if w.write_event(ev).is_err() {
        return;
    }
    let Ok(bytes) = w.finish() else { return };
    let Ok(mut r) = ScapReader::new(&bytes[..]) else {
        panic!("written file does not open");
    };
    match r.next_event() {
        Ok(Some(back)) => {
            assert_eq!(back.header(), ev.header());
            assert!(back.raw_params().eq(ev.raw_params()));
        }
        other => panic!("written event does not read back: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = ReaderOptions {
        max_block_len: 1 << 20,
        require_events: true,
    };
    let Ok(mut r) = ScapReader::with_options(data, opts) else {
        return;
    };
    while let Ok(Some(rec)) = r.next_record() {
        match rec {
            Record::ProcessList(pl) => {
                let _ = pl.threads().count();
            }
            Record::FdTable(t) => {
                let _ = t.fds().count();
            }
            Record::InterfaceList(il) => {
                let _ = il.interfaces().count();
            }
            Record::UserList(ul) => {
                let _ = ul.entries().count();
            }
            Record::Event(ev) => exercise_event(&ev),
            Record::SectionHeader(_) | Record::MachineInfo(_) | Record::Unknown { .. } => {}
        }
    }
    // Differential check: the zero-copy slice reader sees the same records and the same
    // first error as the streaming reader (gzip input is only for the streaming reader).
    if !data.starts_with(&[0x1f, 0x8b]) {
        let mut a = ScapReader::with_options(data, opts).ok();
        let mut b = ScapSliceReader::with_options(data, opts);
        loop {
            let Some(a) = a.as_mut() else { break };
            let ra = a.next_record().map(|o| o.map(|r| format!("{r:?}")));
            let rb = b.next_record().map(|o| o.map(|r| format!("{r:?}")));
            match (ra, rb) {
                (Ok(None), Ok(None)) => break,
                (Ok(x), Ok(y)) => assert_eq!(x, y),
                (Err(x), Err(y)) => {
                    assert_eq!(x.to_string(), y.to_string());
                    break;
                }
                (x, y) => panic!("readers disagree: {x:?} vs {y:?}"),
            }
        }
    }
    // The raw event parsers are also reachable directly (ring-buffer input).
    if let Some((&cpu, rest)) = data.split_first() {
        if let Ok((ev, _)) = Event::parse_v2(cpu.into(), 0, rest) {
            exercise_event(&ev);
        }
        if let Ok((ev, _)) = Event::parse_v1(cpu.into(), 0, rest) {
            exercise_event(&ev);
        }
    }
});
