//! Writer round trips: every shared capture re-encoded by `ScapWriter` reads back with the
//! same events and state records.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::Read;

use lanner_event::WriterOptions;
use lanner_event::table::ids;
use lanner_event::{
    EventHeader, FdDetail, FdInfo, IfAddr, Interface, MachineInfo, ParamValue, Record, ScapReader,
    ScapWriter, ThreadInfo, UserEntry, UserInfo, WriteError,
};

use common::all_shared_files;

/// A comparable rendering of a record. Threads keep only the fields the writer's
/// sysdig-0.29-compatible PL_V9 layout carries.
fn render<R: Read>(r: &mut ScapReader<R>) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        match rec {
            Record::SectionHeader(_) => out.push("SHB".into()),
            Record::MachineInfo(mi) => out.push(format!("{mi:?}")),
            Record::ProcessList(pl) => {
                for t in pl.threads() {
                    let t = ThreadInfo {
                        pidns_init_start_ts: 0,
                        tty: 0,
                        cap_inheritable: 0,
                        cap_permitted: 0,
                        cap_effective: 0,
                        exe_upper_layer: false,
                        exe_ino: 0,
                        exe_ino_ctime: 0,
                        exe_ino_mtime: 0,
                        exe_from_memfd: false,
                        exe_lower_layer: false,
                        pgid: -1,
                        ..t
                    };
                    out.push(format!("{t:?}"));
                }
            }
            Record::FdTable(t) => {
                out.push(format!("fds of {}", t.tid()));
                out.extend(t.fds().map(|f| format!("{f:?}")));
            }
            Record::InterfaceList(il) => out.extend(il.interfaces().map(|i| format!("{i:?}"))),
            Record::UserList(ul) => out.extend(ul.entries().map(|u| format!("{u:?}"))),
            Record::Event(ev) => out.push(format!(
                "{:?} {:?}",
                ev.header(),
                ev.raw_params().collect::<Vec<_>>()
            )),
            Record::Unknown { .. } => {}
        }
    }
    out
}

/// Copies every record of `r` into `w`.
fn copy<R: Read, W: std::io::Write>(r: &mut ScapReader<R>, w: &mut ScapWriter<W>) {
    let mut first = true;
    while let Some(rec) = r.next_record().unwrap() {
        match rec {
            Record::SectionHeader(_) => {
                if !first {
                    w.write_section_header().unwrap();
                }
            }
            Record::MachineInfo(mi) => w.write_machine_info(&mi).unwrap(),
            Record::ProcessList(pl) => w.write_threads(pl.threads()).unwrap(),
            Record::FdTable(t) => w.write_fd_table(t.tid(), t.fds()).unwrap(),
            Record::InterfaceList(il) => w.write_interfaces(il.interfaces()).unwrap(),
            Record::UserList(ul) => w.write_users(ul.entries()).unwrap(),
            Record::Event(ev) => w.write_event(&ev).unwrap(),
            Record::Unknown { .. } => {}
        }
        first = false;
    }
}

#[test]
fn every_shared_file_round_trips() {
    for f in all_shared_files() {
        let mut w = ScapWriter::new(Vec::new()).unwrap();
        copy(&mut ScapReader::open(&f).unwrap(), &mut w);
        let bytes = w.finish().unwrap();
        let original = render(&mut ScapReader::open(&f).unwrap());
        let copied = render(&mut ScapReader::new(&bytes[..]).unwrap());
        assert_eq!(original.len(), copied.len(), "{}", f.display());
        for (a, b) in original.iter().zip(&copied) {
            assert_eq!(a, b, "{}", f.display());
        }
        // Writing is deterministic: a second generation is byte-identical.
        let mut w2 = ScapWriter::new(Vec::new()).unwrap();
        copy(&mut ScapReader::new(&bytes[..]).unwrap(), &mut w2);
        assert_eq!(w2.finish().unwrap(), bytes, "{}", f.display());
    }
}

#[test]
fn written_file_has_sysdig_compatible_layout() {
    let mut w = ScapWriter::new(Vec::new()).unwrap();
    w.write_machine_info(&MachineInfo {
        num_cpus: 2,
        hostname: b"lanner".to_vec(),
        ..MachineInfo::default()
    })
    .unwrap();
    w.write_interfaces([Interface {
        name: b"lo",
        addr: IfAddr::V4 {
            addr: [127, 0, 0, 1].into(),
            netmask: [255, 0, 0, 0].into(),
            bcast: [127, 0, 0, 1].into(),
        },
        linkspeed: Some(0),
    }])
    .unwrap();
    w.write_users([UserEntry::User(UserInfo {
        uid: 0,
        gid: 0,
        name: b"root",
        homedir: b"/root",
        shell: b"/bin/sh",
    })])
    .unwrap();
    w.write_threads([ThreadInfo {
        tid: 7,
        pid: 7,
        ptid: 1,
        comm: b"cat",
        exe: b"cat",
        args: b"/etc/shadow\0",
        loginuid: 1000,
        ..ThreadInfo::default()
    }])
    .unwrap();
    w.write_fd_table(
        7,
        [FdInfo {
            fd: 3,
            ino: 9,
            fd_type: 16,
            detail: FdDetail::FileV2 {
                open_flags: 1,
                name: b"/etc/shadow",
                dev: Some(0x803),
            },
        }],
    )
    .unwrap();
    let header = EventHeader {
        ts: 1,
        tid: 7,
        cpu: 0,
        event_type: 3,
        dump_flags: 0,
    };
    w.write_event_parts(header, &[&3i64.to_le_bytes(), b"/etc/shadow\0"])
        .unwrap();
    w.write_event_parts(
        EventHeader {
            dump_flags: 1,
            ..header
        },
        &[&3i64.to_le_bytes()],
    )
    .unwrap();
    let json = vec![b'x'; 100_000];
    w.write_event_parts(
        EventHeader {
            event_type: ids::CONTAINER_JSON_2_E,
            tid: -1,
            ..header
        },
        &[&json],
    )
    .unwrap();
    // A u16-length event cannot carry a 100 KB parameter.
    assert!(matches!(
        w.write_event_parts(header, &[&json]),
        Err(WriteError::ParamTooLong { index: 0, .. })
    ));
    let bytes = w.finish().unwrap();
    // FORMAT.md §8: SHB of exactly 28 bytes, version 1.2, no options.
    assert_eq!(&bytes[..4], &0x0A0D_0D0Au32.to_le_bytes());
    assert_eq!(&bytes[4..8], &28u32.to_le_bytes());
    assert_eq!(&bytes[12..16], &[1, 0, 2, 0]);
    let mut r = ScapReader::new(&bytes[..]).unwrap();
    let mut kinds = Vec::new();
    let mut events = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        if let Record::Event(ev) = rec {
            events.push((
                ev.is_state_only(),
                ev.nparams(),
                ev.decode(0).unwrap().as_i64(),
            ));
            if ev.event_type() == ids::CONTAINER_JSON_2_E {
                assert_eq!(ev.decode(0).unwrap(), ParamValue::Str(&json[..]));
            }
        }
        kinds.push(r_name(&r));
    }
    assert_eq!(
        kinds,
        [
            "SHB",
            "MI",
            "IL_V2",
            "UL_V2",
            "PL_V9",
            "FDL_V2",
            "EV_V2",
            "EVF_V2",
            "EV_V2_LARGE"
        ]
    );
    assert_eq!(events[0], (false, 2, Some(3)));
    assert_eq!(events[1], (true, 1, Some(3)));
    // Blocks are 4-byte aligned with matching trailers (checked by the reader for
    // metadata); the whole file length is a multiple of 4.
    assert_eq!(bytes.len() % 4, 0);
}

fn r_name<R: Read>(r: &ScapReader<R>) -> &'static str {
    r.last_block().unwrap().0.name()
}

#[test]
fn gzip_written_file_reads_back() {
    let Some(root) = common::shared() else { return };
    let f = root.join("captures/cat_write.scap");
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut w = ScapWriter::new(gz).unwrap();
    copy(&mut ScapReader::open(&f).unwrap(), &mut w);
    let bytes = w.finish().unwrap().finish().unwrap();
    let mut r = ScapReader::new(&bytes[..]).unwrap();
    assert!(r.is_compressed());
    let copied = render(&mut r);
    let original = render(&mut ScapReader::open(&f).unwrap());
    assert_eq!(copied, original);
}

/// With sysdig 0.29 compatibility on, fd types above 16 become UNSUPPORTED with their name.
#[test]
fn sysdig029_fd_type_mapping() {
    let Some(root) = common::shared() else { return };
    let f = root.join("modern/workload_live_6.18.scap");
    let mut w = ScapWriter::with_options(
        Vec::new(),
        WriterOptions {
            sysdig029_fd_types: true,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    let mut newer = 0;
    {
        let mut r = ScapReader::open(&f).unwrap();
        while let Some(rec) = r.next_record().unwrap() {
            if let Record::FdTable(t) = &rec {
                newer += t.fds().filter(|f| f.fd_type > 16).count();
            }
            match rec {
                Record::FdTable(t) => w.write_fd_table(t.tid(), t.fds()).unwrap(),
                Record::Event(ev) => w.write_event(&ev).unwrap(),
                _ => {}
            }
        }
    }
    assert!(newer > 0, "the modern capture has fd types above 16");
    let bytes = w.finish().unwrap();
    let mut r = ScapReader::new(&bytes[..]).unwrap();
    let mut unsupported = 0;
    while let Some(rec) = r.next_record().unwrap() {
        if let Record::FdTable(t) = rec {
            assert!(t.fds().all(|f| f.fd_type <= 16));
            unsupported += t.fds().filter(|f| f.fd_type == 10).count();
        }
    }
    assert!(unsupported >= newer);
}

/// With the current tail on, every field of a process entry reads back, tty and capabilities
/// included; without it only the pre-0.10 tail does.
#[test]
fn current_thread_tail_round_trips() {
    let thread = ThreadInfo {
        tid: 7,
        pid: 7,
        ptid: 1,
        comm: b"insmod",
        exe: b"insmod",
        exepath: b"/usr/sbin/insmod",
        tty: 34816,
        loginuid: 1000,
        exe_writable: true,
        cap_inheritable: 1,
        cap_permitted: 0x1_ffff_ffff,
        cap_effective: 1 << 16,
        exe_upper_layer: true,
        exe_ino: 42,
        exe_ino_ctime: 5,
        exe_ino_mtime: 6,
        exe_from_memfd: true,
        exe_lower_layer: true,
        pgid: 7,
        pidns_init_start_ts: 3,
        ..ThreadInfo::default()
    };
    let read_back = |current_thread_tail| {
        let mut w = ScapWriter::with_options(
            Vec::new(),
            WriterOptions {
                current_thread_tail,
                ..WriterOptions::default()
            },
        )
        .unwrap();
        w.write_threads([thread]).unwrap();
        let header = EventHeader {
            ts: 1,
            tid: 7,
            cpu: 0,
            event_type: 3,
            dump_flags: 0,
        };
        w.write_event_parts(header, &[&3i64.to_le_bytes(), b"/x\0"])
            .unwrap();
        let bytes = w.finish().unwrap();
        let mut r = ScapReader::new(&bytes[..]).unwrap();
        let mut found = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            if let Record::ProcessList(pl) = rec {
                found.extend(pl.threads().map(|t| format!("{t:?}")));
            }
        }
        found
    };
    assert_eq!(read_back(true), [format!("{thread:?}")]);
    let old = ThreadInfo {
        loginuid: 1000,
        exe_writable: true,
        ..ThreadInfo {
            tid: 7,
            pid: 7,
            ptid: 1,
            comm: b"insmod",
            exe: b"insmod",
            exepath: b"/usr/sbin/insmod",
            ..ThreadInfo::default()
        }
    };
    assert_eq!(read_back(false), [format!("{old:?}")]);
}
