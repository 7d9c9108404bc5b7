//! The gate every kernel test passes first, shared by the kernel test binaries.
#![allow(dead_code, clippy::panic)]

use std::sync::OnceLock;

use lanner_ebpf::loader::Loaded;
use lanner_ebpf::{AttachPoint, MapDef, ObjectBuilder, ProgramBuilder};

/// Whether this run is CI's (`CI=true`), where a kernel test may never skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether this machine can load eBPF at all, decided once by loading a
/// trivial program. Outside CI a machine that cannot (not root, say) skips the
/// kernel tests with a message; in CI that is a test failure. Once loading is
/// known to work, every later failure is a real failure, never a skip: a
/// verifier rejection of a test's program must not pass silently.
pub fn kernel_ready() -> bool {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        let mut b = ProgramBuilder::new();
        b.ret(0);
        let mut ob = ObjectBuilder::new();
        ob.map(MapDef::array("probe", 4, 1)).program(
            "lanner_ready",
            AttachPoint::raw_tracepoint("sys_exit"),
            b.finish().map_err(|e| e.to_string())?,
        );
        let object = ob.emit().map_err(|e| e.to_string())?;
        let mut loaded = Loaded::open(&object).map_err(|e| e.to_string())?;
        loaded.load_all().map_err(|e| e.to_string())
    });
    match ready {
        Ok(()) => true,
        Err(e) if in_ci() => panic!("loading eBPF must work in CI (run as root): {e}"),
        Err(e) => {
            eprintln!("skipping kernel test: this machine cannot load eBPF: {e}");
            false
        }
    }
}
