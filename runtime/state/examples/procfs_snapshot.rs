//! Takes `/proc` snapshots of the running system and prints their size and timing, and
//! optionally the threads and fds of one process as the state engine sees them.
//!
//! `cargo run --release -p lanner-state --example procfs_snapshot [ROUNDS] [PID]`

use lanner_state::procfs::Snapshot;
use lanner_state::{SnapshotOptions, State};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(Ok(5), |a| a.parse())?;
    let pid: Option<i64> = args.next().map(|a| a.parse()).transpose()?;
    let opts = SnapshotOptions::default();
    let mut last = None;
    for round in 0..rounds.max(1) {
        let snap = Snapshot::take(&opts)?;
        let t = std::time::Instant::now();
        let mut state = State::new();
        snap.load(&mut state);
        let load = t.elapsed();
        let s = &snap.stats;
        println!(
            "round {round}: {} processes, {} threads, {} fds ({} sockets), {} users, \
             {} groups, {} skipped, {} truncated fd tables: scan {:.2} ms, load {:.2} ms",
            s.processes,
            s.threads,
            s.fds,
            s.sockets,
            s.users,
            s.groups,
            s.skipped,
            s.fd_tables_truncated,
            s.elapsed.as_secs_f64() * 1e3,
            load.as_secs_f64() * 1e3
        );
        last = Some((snap, state));
    }
    let (Some(pid), Some((snap, state))) = (pid, last) else {
        return Ok(());
    };
    for t in snap.threads.iter().filter(|t| t.scalars.pid == pid) {
        if let Some(th) = state.thread(t.scalars.tid) {
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            println!(
                "tid {} pid {} ptid {} comm {:?} exepath {:?} cwd {:?} uid {} args {} cgroups {} \
                 container {:?}",
                th.tid,
                th.pid,
                th.ptid,
                text(&th.comm),
                text(&th.exepath),
                text(&th.cwd),
                th.uid,
                th.args.len(),
                th.cgroups.len(),
                th.container_id
            );
        }
    }
    for p in snap.fds.iter().filter(|p| p.pid == pid) {
        for f in &p.fds {
            if let Some(fd) = state.fd(pid, f.fd) {
                println!(
                    "fd {} type {} name {:?}",
                    f.fd,
                    fd.kind,
                    String::from_utf8_lossy(&fd.name)
                );
            }
        }
    }
    Ok(())
}
