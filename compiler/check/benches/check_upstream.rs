//! `rulec check` on Falco's three upstream files together: YAML, parsing, resolution, types,
//! event types, the shared program and the lints. The front end alone is measured in the same
//! run as the baseline.

use criterion::{Criterion, criterion_group, criterion_main};
use lanner_check::driver::check_sources;
use lanner_syntax::front::parse_file;
use lanner_syntax::span::FileId;
use std::hint::black_box;

fn upstream(c: &mut Criterion) {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream-rules");
    let mut sources = Vec::new();
    for name in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ] {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(text) => sources.push((name.to_string(), text)),
            Err(_) => {
                eprintln!("skipping: ../shared is not beside the repository");
                return;
            }
        }
    }
    let mut group = c.benchmark_group("upstream");
    group.bench_function("front_end_only", |b| {
        b.iter(|| {
            for (i, (_, text)) in sources.iter().enumerate() {
                black_box(parse_file(FileId(i as u32), text));
            }
        })
    });
    group.bench_function("rulec_check", |b| {
        b.iter(|| black_box(check_sources(sources.clone())))
    });
    group.finish();
}

criterion_group!(benches, upstream);
criterion_main!(benches);
