//! Dropping privileges once the eBPF programs are attached.
//!
//! Capabilities are per thread on Linux. The detection thread keeps only what it still uses:
//! `CAP_BPF` and `CAP_PERFMON`, for reading the probe's maps (drop counters) and detaching its
//! programs at exit. Everything else (`CAP_SYS_ADMIN`, `CAP_DAC_OVERRIDE`, `CAP_SYS_PTRACE`,
//! `CAP_NET_ADMIN`, `CAP_SETUID`...) goes: /proc has been read, the ring buffer is mapped.
//! Output and webserver threads need none at all and drop every capability when they start, so
//! a program spawned by the program output inherits nothing.

/// `CAP_PERFMON` and `CAP_BPF` (linux/capability.h).
pub const CAP_PERFMON: u32 = 38;
pub const CAP_BPF: u32 = 39;

/// The capabilities the detection thread keeps, as a 64-bit set.
pub const KEPT_AFTER_ATTACH: u64 = (1 << CAP_PERFMON) | (1 << CAP_BPF);

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Why capabilities could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    #[error("cannot read the thread's capabilities: {0}")]
    Get(std::io::Error),
    #[error("cannot drop capabilities: {0}")]
    Set(std::io::Error),
}

fn get() -> Result<[Data; 2], PrivilegeError> {
    let mut h = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    // SAFETY: capget writes two `Data` records for version 3, which `d` holds.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut h as *mut Header, d.as_mut_ptr()) };
    if rc != 0 {
        return Err(PrivilegeError::Get(std::io::Error::last_os_error()));
    }
    Ok(d)
}

/// Restricts the calling thread's effective, permitted and inheritable sets to `keep` (only
/// ever removes capabilities).
pub fn restrict_thread(keep: u64) -> Result<(), PrivilegeError> {
    let mut d = get()?;
    let (lo, hi) = (keep as u32, (keep >> 32) as u32);
    let [a, b] = &mut d;
    for (x, k) in [(a, lo), (b, hi)] {
        x.effective &= k;
        x.permitted &= k;
        x.inheritable &= k;
    }
    let mut h = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    // SAFETY: capset reads the header and two `Data` records.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()) };
    if rc != 0 {
        return Err(PrivilegeError::Set(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// For threads that never need privileges (outputs, webserver). Failure is harmless: a thread
/// that cannot drop keeps what it had, and nothing it does needs more.
pub fn drop_all_in_this_thread() {
    let _ = restrict_thread(0);
}
