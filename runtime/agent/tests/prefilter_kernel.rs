//! The rule prefilter lowered from real rule files, emitted into the `sys_exit` program and
//! submitted to this kernel's verifier: the upstream rules (the three files together), the
//! standard library and every shared rule file. Prints instruction counts and load times
//! against the same program without a filter. Needs root; with `CI=true` it fails without.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use lanner_ebpf::btf::Btf;
use lanner_ebpf::filter::KernelFilter;
use lanner_ebpf::loader::Loaded;
use lanner_ebpf::programs::{
    self, Flavor, KernelLayout, ObjectOptions, PtRegsLayout, SYS_EXIT_PROG,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    root().join("../shared")
}

fn program(files: &[PathBuf]) -> lanner_program::Program {
    let sources = files
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap()))
        .collect();
    lanner_check::driver::compile(sources)
        .unwrap_or_else(|d| panic!("{:?}", d.errors().map(|e| &e.message).collect::<Vec<_>>()))
}

/// Every rule set the prefilter must load for, by name.
pub fn rule_sets() -> Vec<(String, Vec<PathBuf>)> {
    let up = shared().join("upstream-rules");
    let mut sets = vec![(
        "upstream".to_owned(),
        vec![
            up.join("falco_rules.yaml"),
            up.join("falco-incubating_rules.yaml"),
            up.join("falco-sandbox_rules.yaml"),
        ],
    )];
    sets.push((
        "stdlib".to_owned(),
        vec![root().join("stdlib-rules/lanner_rules.yaml")],
    ));
    for f in [
        "scap/oracle-falco/events_rule.yaml",
        "scap/oracle-falco/filter_rules.yaml",
    ] {
        sets.push((f.to_owned(), vec![shared().join(f)]));
    }
    // These use the upstream macros: loaded after the upstream files, as Falco loads them.
    for f in [
        "scap/oracle-falco/probe_rules.yaml",
        "scap/oracle-falco/perf/never_rule.yaml",
    ] {
        let mut files = sets[0].1.clone();
        files.push(shared().join(f));
        sets.push((format!("upstream + {f}"), files));
    }
    sets
}

fn can_load() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        assert!(
            std::env::var("CI").is_err_and(|_| true) || std::env::var("CI").unwrap() != "true",
            "CI=true and not root: the prefilter's verifier test cannot be skipped"
        );
        eprintln!("skipped: loading eBPF needs root");
    }
    root
}

#[test]
fn the_lowered_prefilters_pass_the_verifier() {
    if !can_load() {
        return;
    }
    let btf = Btf::from_sys_fs().unwrap();
    let regs = PtRegsLayout::from_btf(&btf).unwrap();
    let layout = KernelLayout::from_btf(&btf).unwrap();
    let opts = ObjectOptions {
        proc_events: false,
        ..ObjectOptions::default()
    };
    let load = |filter: &KernelFilter| {
        let object = programs::generate_with(&btf, opts, filter).unwrap();
        let mut loaded = Loaded::open(&object).unwrap();
        let t = Instant::now();
        loaded
            .load_program(SYS_EXIT_PROG)
            .unwrap_or_else(|e| panic!("{e}"));
        t.elapsed()
    };
    let base_insns =
        programs::sys_exit_program_with(&regs, &layout, Flavor::TpBtf, &KernelFilter::none())
            .unwrap()
            .insns()
            .len();
    let base_time = load(&KernelFilter::none());
    eprintln!("no filter: {base_insns} insns, verifier {base_time:?}");
    for (name, files) in rule_sets() {
        let program = program(&files);
        let lowered = lanner_prefilter::lower(&program);
        let filter = KernelFilter::from_lowered(&lowered);
        let insns = programs::sys_exit_program_with(&regs, &layout, Flavor::TpBtf, &filter)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .insns()
            .len();
        let time = load(&filter);
        eprintln!(
            "{name}: {} syscall formula(s), {} literal(s), {insns} insns (+{}), verifier {time:?} ({:.2}x)",
            filter.by_syscall.len(),
            filter.size(),
            insns - base_insns,
            time.as_secs_f64() / base_time.as_secs_f64()
        );
    }
}
