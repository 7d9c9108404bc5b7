//! The `/proc` snapshot on the live system: the test process must come out as the kernel sees
//! it, through the state engine and through field extraction, and the records must survive a
//! round trip through a capture file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use lanner_event::{Event, EventHeader, Record, ScapSliceReader, ScapWriter};
use lanner_state::procfs::{OwnedFdInfo, Snapshot};
use lanner_state::{Accessor, ContainerMatcher, Replay, SnapshotOptions, State, render, snapshot};

fn trimmed(path: &str) -> Vec<u8> {
    let mut v = std::fs::read(path).unwrap();
    while v.last() == Some(&b'\n') {
        v.pop();
    }
    v
}

fn status_field(pid: &str, key: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap();
    line.split_whitespace().map(str::to_owned).collect()
}

/// This thread's id, from the `/proc/thread-self` link (`<pid>/task/<tid>`).
fn own_tid() -> i64 {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    link.file_name().unwrap().to_str().unwrap().parse().unwrap()
}

/// A listener on a port below the ephemeral range, so that the client's port is the higher
/// one and Falco's client/server orientation of the tuple is known in advance.
fn low_port_listener() -> TcpListener {
    for port in 20_000..21_000 {
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
            return l;
        }
    }
    panic!("no free port in 20000..21000");
}

/// A user name from `/etc/passwd`, read independently of the snapshot.
fn passwd_name(uid: u32) -> String {
    let text = std::fs::read_to_string("/etc/passwd").unwrap();
    text.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.get(2)?.parse::<u32>().ok()? == uid).then(|| f[0].to_owned())
        })
        .unwrap()
}

/// An `fstat` exit (type 71: res, fd) of `tid` on `fd`, the smallest event that names an fd.
fn fstat_exit(tid: i64, fd: i64) -> (Vec<u8>, Vec<u8>, EventHeader) {
    let mut lens = Vec::new();
    let mut values = Vec::new();
    for p in [0i64.to_le_bytes(), fd.to_le_bytes()] {
        lens.extend_from_slice(&(p.len() as u16).to_le_bytes());
        values.extend_from_slice(&p);
    }
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let header = EventHeader {
        ts,
        tid,
        cpu: 0,
        event_type: 71,
        dump_flags: 0,
    };
    (lens, values, header)
}

#[test]
fn snapshot_describes_this_process() {
    // Open a file, a listener and a connection before the snapshot.
    let file_path = std::env::temp_dir().join(format!("lanner-procfs-{}.txt", std::process::id()));
    let mut file = std::fs::File::create(&file_path).unwrap();
    file.write_all(b"x").unwrap();
    let file_path = std::fs::canonicalize(&file_path).unwrap();
    let listener = low_port_listener();
    let sport = listener.local_addr().unwrap().port();
    let client = TcpStream::connect(("127.0.0.1", sport)).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    let cport = client.local_addr().unwrap().port();
    assert!(cport > sport);

    let mut state = State::with_matcher(ContainerMatcher::falco());
    let started = Instant::now();
    let stats = snapshot(&mut state, &SnapshotOptions::default()).unwrap();
    let took = started.elapsed();
    eprintln!(
        "snapshot: {} processes, {} threads, {} fds ({} sockets), {} users, {} groups, \
         {} skipped, {:.1} ms",
        stats.processes,
        stats.threads,
        stats.fds,
        stats.sockets,
        stats.users,
        stats.groups,
        stats.skipped,
        took.as_secs_f64() * 1e3
    );
    assert!(stats.processes >= 2 && stats.threads >= stats.processes);
    assert!(stats.users >= 1 && stats.groups >= 1);

    // The process itself.
    let pid = i64::from(std::process::id());
    let tid = own_tid();
    let main = state
        .thread(pid)
        .expect("the test process is in the snapshot");
    assert_eq!(main.pid, pid);
    assert_eq!(main.comm, trimmed("/proc/self/comm"));
    let exe = std::env::current_exe().unwrap();
    assert_eq!(main.exepath, exe.as_os_str().as_bytes());
    let args: Vec<String> = std::env::args().collect();
    assert_eq!(main.exe, args[0].as_bytes());
    let want_args: Vec<Vec<u8>> = args[1..].iter().map(|a| a.as_bytes().to_vec()).collect();
    assert_eq!(main.args, want_args);
    let mut cwd = std::env::current_dir()
        .unwrap()
        .as_os_str()
        .as_bytes()
        .to_vec();
    cwd.push(b'/');
    assert_eq!(main.cwd, cwd);
    let euid: u32 = status_field("self", "Uid")[1].parse().unwrap();
    assert_eq!(main.uid, euid);
    assert!(main.clone_ts > 0 && main.clone_ts < fstat_exit(0, 0).2.ts);
    assert!(!main.cgroups.is_empty());

    // Its parent.
    let ppid = status_field("self", "PPid")[0].clone();
    let parent = state.parent(main).expect("the parent is in the snapshot");
    assert_eq!(parent.tid.to_string(), ppid);
    assert_eq!(parent.comm, trimmed(&format!("/proc/{ppid}/comm")));

    // This thread (the test harness runs each test in a thread of its own).
    let me = state.thread(tid).expect("this thread is in the snapshot");
    assert_eq!(me.pid, pid);
    assert_eq!(me.comm, trimmed("/proc/thread-self/comm"));
    assert_eq!(state.main_thread(me).tid, pid);

    // The fds, as the state engine names them.
    let fd_name = |fd: i32| {
        let f = state
            .fd(pid, i64::from(fd))
            .unwrap_or_else(|| panic!("fd {fd}"));
        String::from_utf8(f.name.clone()).unwrap()
    };
    assert_eq!(fd_name(file.as_raw_fd()), file_path.to_str().unwrap());
    assert_eq!(fd_name(listener.as_raw_fd()), format!("127.0.0.1:{sport}"));
    let tuple = format!("127.0.0.1:{cport}->127.0.0.1:{sport}");
    assert_eq!(fd_name(client.as_raw_fd()), tuple);
    assert_eq!(fd_name(accepted.as_raw_fd()), tuple);
    assert_eq!(state.user(euid).unwrap().name, passwd_name(euid).as_bytes());

    // Extraction end to end, for an event of this thread on the client socket.
    let (l, v, h) = fstat_exit(tid, i64::from(client.as_raw_fd()));
    let ev = Event::from_parts(h, false, &l, &v).unwrap();
    state.process(&ev);
    let get = |name: &str| {
        let r = lanner_schema::resolve_text(name).unwrap();
        let a = Accessor::compile(&r).unwrap();
        render(r.field, a.extract(&ev, &state).as_ref())
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert_eq!(get("proc.name"), text(&trimmed("/proc/thread-self/comm")));
    assert_eq!(
        get("proc.pname"),
        text(&trimmed(&format!("/proc/{ppid}/comm")))
    );
    assert_eq!(get("proc.exepath"), exe.to_str().unwrap());
    assert_eq!(get("proc.pid"), pid.to_string());
    assert_eq!(get("proc.ppid"), ppid);
    assert_eq!(get("fd.name"), tuple);
    assert_eq!(get("fd.type"), "ipv4");
    assert_eq!(get("fd.sport"), sport.to_string());
    assert_eq!(get("user.name"), passwd_name(euid));
    let cmdline = get("proc.cmdline");
    assert!(
        cmdline.starts_with(&text(&trimmed("/proc/thread-self/comm"))),
        "{cmdline}"
    );
    // On these machines every session sits in a `/<name>/<32 hex>` cgroup that Falco takes
    // for a container; elsewhere this is the host.
    let container = get("container.id");
    assert!(
        container == "host"
            || (container.len() == 12 && container.bytes().all(|b| b.is_ascii_hexdigit())),
        "{container}"
    );
    let _ = std::fs::remove_file(&file_path);
}

/// The records written to a capture and read back give the same state as a direct load.
#[test]
fn snapshot_records_round_trip_through_a_capture() {
    let snap = Snapshot::take(&SnapshotOptions::default()).unwrap();
    let mut w = ScapWriter::new(Vec::new()).unwrap();
    w.write_section_header().unwrap();
    w.write_users(snap.user_records()).unwrap();
    w.write_threads(snap.thread_records()).unwrap();
    for p in &snap.fds {
        w.write_fd_table(p.pid, p.fds.iter().map(OwnedFdInfo::as_record))
            .unwrap();
    }
    // libscap rejects a capture without events, so one event follows the state blocks.
    let h = fstat_exit(own_tid(), 0).2;
    w.write_event_parts(h, &[&0i64.to_le_bytes(), &0i64.to_le_bytes()])
        .unwrap();
    let bytes = w.finish().unwrap();

    let mut direct = State::new();
    snap.load(&mut direct);
    let mut replay = Replay::new(ContainerMatcher::falco());
    let mut reader = ScapSliceReader::new(&bytes);
    let mut blocks = 0;
    while let Some(rec) = reader.next_record().unwrap() {
        if !matches!(rec, Record::SectionHeader(_) | Record::Event(_)) {
            blocks += 1;
        }
        replay.record(&rec);
    }
    assert_eq!(blocks, 2 + snap.fds.len());
    let replayed = &replay.state;
    assert_eq!(replayed.thread_count(), direct.thread_count());
    for t in &snap.threads {
        let tid = t.scalars.tid;
        let (a, b) = (direct.thread(tid).unwrap(), replayed.thread(tid).unwrap());
        assert_eq!(
            (&a.comm, &a.exepath, &a.args, &a.cwd),
            (&b.comm, &b.exepath, &b.args, &b.cwd)
        );
        assert_eq!(
            (a.ptid, a.uid, &a.container_id),
            (b.ptid, b.uid, &b.container_id)
        );
    }
    for p in &snap.fds {
        for f in &p.fds {
            assert_eq!(
                direct.fd(p.pid, f.fd),
                replayed.fd(p.pid, f.fd),
                "{} {}",
                p.pid,
                f.fd
            );
        }
    }
}

/// A missing proc root is a located error; processes that vanish are not errors at all.
#[test]
fn errors_name_the_path() {
    let opts = SnapshotOptions {
        proc_root: "/nonexistent-proc".into(),
        ..SnapshotOptions::default()
    };
    let err = Snapshot::take(&opts).unwrap_err().to_string();
    assert!(err.starts_with("/nonexistent-proc/stat:"), "{err}");
    // A child that exits while snapshots run is skipped, never an error.
    for _ in 0..3 {
        let child = std::process::Command::new("true").spawn().unwrap();
        Snapshot::take(&SnapshotOptions::default()).unwrap();
        let _ = child.wait_with_output();
    }
}

/// A scanned IPv6 socket whose ends are both IPv4-mapped loads as an IPv4 socket, as in
/// libsinsp (dual-stack listeners accept IPv4 clients this way).
#[test]
fn ipv4_mapped_sockets_load_as_ipv4() {
    use lanner_event::{FdDetail, FdInfo, records::fd_type};
    let mut state = State::new();
    let mapped = |a: [u8; 4]| std::net::Ipv4Addr::from(a).to_ipv6_mapped();
    state.add_fd_info(
        7,
        &FdInfo {
            fd: 3,
            ino: 1,
            fd_type: fd_type::IPV6_SOCK,
            detail: FdDetail::Ipv6 {
                sip: mapped([10, 0, 0, 1]),
                dip: mapped([10, 0, 0, 2]),
                sport: 8080,
                dport: 50000,
                l4proto: 2,
            },
        },
    );
    let fd = state.fd(7, 3).unwrap();
    assert_eq!(fd.kind, fd_type::IPV4_SOCK);
    assert_eq!(fd.name, b"10.0.0.2:50000->10.0.0.1:8080");
}
