//! Measures what the `sys_exit` program costs per syscall, as root:
//! `cargo run -p lanner-ebpf --example overhead`.
//!
//! Three configurations per syscall: nothing attached; attached with an empty
//! interest array (every syscall is dropped in the kernel); attached with the
//! syscall wanted, a reader thread draining the ring every millisecond. The
//! benchmark thread is pinned to CPU 0 and the reader to CPU 1, as in
//! `shared/reference/kernel.md`, so the figures compare with the ones there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lanner_ebpf::btf::Btf;
use lanner_ebpf::convert::Converter;
use lanner_ebpf::loader::Loaded;
use lanner_ebpf::programs::{
    self, DROPS_MAP, EVENTS_MAP, Flavor, INTEREST_MAP, ObjectOptions, SYS_EXIT_PROG,
};

const ROUNDS: usize = 7;
const CALLS: u32 = 200_000;

fn pin(cpu: usize) {
    // SAFETY: the set is a plain bitmask initialised by CPU_ZERO; the call
    // only affects the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
    }
}

#[derive(Clone, Copy)]
enum Call {
    Getppid,
    ReadDevZero(i32),
    /// openat of a missing path: the program also copies the path.
    OpenatMissing,
}

const MISSING: &std::ffi::CStr = c"/tmp/lanner-overhead-missing/some/file/that/does/not/exist";

impl Call {
    fn id(self) -> i64 {
        match self {
            Call::Getppid => libc::SYS_getppid,
            Call::ReadDevZero(_) => libc::SYS_read,
            Call::OpenatMissing => libc::SYS_openat,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Call::Getppid => "getppid",
            Call::ReadDevZero(_) => "read(/dev/zero, 1)",
            Call::OpenatMissing => "openat(missing, 57 B)",
        }
    }

    fn run(self) {
        let mut byte = 0u8;
        // SAFETY: getppid has no preconditions; read writes one byte into
        // `byte` from a descriptor this program opened.
        unsafe {
            match self {
                Call::Getppid => {
                    libc::getppid();
                }
                Call::ReadDevZero(fd) => {
                    libc::read(fd, (&raw mut byte).cast(), 1);
                }
                Call::OpenatMissing => {
                    libc::openat(libc::AT_FDCWD, MISSING.as_ptr(), libc::O_RDONLY);
                }
            }
        }
    }
}

/// Median nanoseconds per call over `ROUNDS` rounds.
fn measure(call: Call) -> f64 {
    let mut per_call: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..CALLS {
                call.run();
            }
            start.elapsed().as_nanos() as f64 / f64::from(CALLS)
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    per_call.get(ROUNDS / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let btf = Btf::from_sys_fs()?;
    let object = programs::generate(
        &btf,
        ObjectOptions {
            flavor: Flavor::TpBtf,
            proc_events: false,
            ring_bytes: 1 << 24,
        },
    )?;
    // Verification cost of every generated program, both flavours.
    for flavor in [Flavor::TpBtf, Flavor::RawTracepoint] {
        let all = programs::generate(
            &btf,
            ObjectOptions {
                flavor,
                proc_events: true,
                ring_bytes: 1 << 16,
            },
        )?;
        let mut loaded = Loaded::open(&all)?;
        loaded.load_all()?;
        let names: Vec<String> = loaded.program_names().map(str::to_owned).collect();
        for name in names {
            println!(
                "{flavor:?} {name}: verifier processed {:?} instructions",
                loaded.verified_instructions(&name)?
            );
        }
    }
    pin(0);
    let zero = std::fs::File::open("/dev/zero")?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&zero);

    for call in [Call::Getppid, Call::ReadDevZero(fd), Call::OpenatMissing] {
        let base = measure(call);

        let mut dropped = Loaded::open(&object)?;
        dropped.load_all()?;
        dropped.attach(SYS_EXIT_PROG)?;
        let prefiltered = measure(call);
        drop(dropped);

        let mut wanted = Loaded::open(&object)?;
        wanted.load_all()?;
        lanner_ebpf::probe::install_default_plans(&mut wanted)?;
        wanted.set_array(INTEREST_MAP, u32::try_from(call.id())?, 1u8)?;
        let mut ring = wanted.take_ring(EVENTS_MAP)?;
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                pin(1);
                // Each record is also converted into an event, as the agent
                // does, and the conversion is timed.
                let conv = Converter::new();
                let mut buf = Vec::new();
                let mut converting = Duration::ZERO;
                let mut n = 0usize;
                let mut failed = 0usize;
                let mut convert = |bytes: &[u8]| {
                    let t = Instant::now();
                    buf.clear();
                    let ok = conv
                        .to_event(bytes, &mut buf)
                        .is_some_and(|c| c.event(&buf).is_ok());
                    converting += t.elapsed();
                    failed += usize::from(!ok);
                };
                loop {
                    let last = stop.load(Ordering::Relaxed);
                    n += ring.drain(&mut convert);
                    if last {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                (n, converting, failed)
            })
        };
        wanted.attach(SYS_EXIT_PROG)?;
        let shipped = measure(call);
        stop.store(true, Ordering::Relaxed);
        let (records, converting, failed) =
            reader.join().map_err(|_| "the reader thread panicked")?;
        let drops = wanted.per_cpu_sum(DROPS_MAP, 0)?;
        drop(wanted);

        println!(
            "{:<22} base {base:6.0} ns | prefiltered +{:4.0} ns | shipped +{:4.0} ns ({records} records, {drops} drops, {failed} unconverted) | conversion {:.0} ns/record",
            call.name(),
            prefiltered - base,
            shipped - base,
            converting.as_nanos() as f64 / records.max(1) as f64,
        );
    }
    Ok(())
}
