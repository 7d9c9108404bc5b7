//! Live events through the state engine: a /proc snapshot, then the kernel's
//! records converted into events and processed exactly like replayed capture
//! events. The engine must come out knowing the file this test opened, the
//! connection it made (both ends) and the process it spawned.
//!
//! Needs root; with `CI=true` a machine that cannot load eBPF fails the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::ffi::CString;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use lanner_ebpf::convert::Converter;
use lanner_ebpf::probe::Probe;
use lanner_ebpf::programs::{Flavor, ObjectOptions};
use lanner_event::table::TableVersion;
use lanner_state::{SnapshotOptions, State, snapshot};

mod common;
use common::in_ci;

#[test]
fn live_events_drive_the_state_engine() {
    let opts = ObjectOptions {
        flavor: Flavor::TpBtf,
        proc_events: true,
        ring_bytes: 1 << 22,
    };
    // What the state engine needs, as a live reader would ask for it.
    let ids = lanner_ebpf::convert::state_syscalls();
    let mut probe = match Probe::start(opts, &ids) {
        Ok(p) => p,
        Err(e) if !in_ci() => {
            eprintln!("skipping kernel test: this machine cannot load eBPF: {e}");
            return;
        }
        Err(e) => panic!("loading eBPF must work in CI (run as root): {e}"),
    };
    let mut state = State::new();
    snapshot(&mut state, &SnapshotOptions::default()).unwrap();
    // SAFETY: gettid has no preconditions.
    let tid = i64::from(unsafe { libc::gettid() });
    let pid = i64::from(std::process::id());
    assert!(
        state.thread(tid).is_some(),
        "the snapshot knows this thread"
    );

    let unique = format!(
        "{pid}-{tid}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let path = format!("/tmp/lanner-ebpf-state-{unique}");
    let cpath = CString::new(path.clone()).unwrap();
    // SAFETY: cpath is a valid NUL-terminated string.
    let fd = unsafe {
        libc::openat(
            libc::AT_FDCWD,
            cpath.as_ptr(),
            libc::O_RDWR | libc::O_CREAT,
            0o600,
        )
    };
    assert!(fd >= 0);
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    let lport = stream.local_addr().unwrap().port();
    let arg = format!("lanner-state-{unique}");
    assert!(
        std::process::Command::new("/bin/true")
            .arg(&arg)
            .status()
            .unwrap()
            .success()
    );

    let conv = Converter::new();
    let mut buf = Vec::new();
    let mut child = None;
    let mut processed = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.is_none() && Instant::now() < deadline {
        processed += probe.drain_events(&conv, &mut buf, |ev| {
            state.process(ev);
            // The child is checked right after its execve: its procexit
            // removes it from the state soon after.
            if ev.name_in(TableVersion::Current) == Some("execve")
                && let Some(t) = state.thread(ev.tid())
                && t.args.first().map(Vec::as_slice) == Some(arg.as_bytes())
            {
                child = Some(t.clone());
            }
        });
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(processed > 0);
    assert_eq!(probe.malformed(), 0);

    let file = state.fd(pid, i64::from(fd)).expect("the opened file");
    assert_eq!(file.name, path.as_bytes());
    let sock = state
        .fd(pid, i64::from(stream.as_raw_fd()))
        .expect("the connected socket");
    assert_eq!(
        String::from_utf8_lossy(&sock.name),
        format!("127.0.0.1:{lport}->127.0.0.1:{port}")
    );
    let child = child.expect("the spawned process, after its execve");
    assert_eq!(child.exe, b"/bin/true");
    assert_eq!(child.comm, b"true");
    assert_eq!(child.pid, child.tid);
    assert_eq!(child.ptid, tid, "parented to the spawning thread");
    // Its cgroups came from the kernel, and the container id derived from
    // them is this test's (whatever this machine's cgroups look like).
    assert!(!child.cgroups.is_empty());
    let me = state.thread(tid).unwrap();
    assert_eq!(child.container_id, me.container_id);

    // SAFETY: fd was opened above; cpath is a valid string.
    unsafe {
        libc::close(fd);
        libc::unlink(cpath.as_ptr());
    }
}
