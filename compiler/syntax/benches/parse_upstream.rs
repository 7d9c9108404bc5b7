//! Loading and parsing Falco's three upstream rule files: YAML, every condition, every output.
//! Throughput is reported in bytes, so criterion prints MB/s next to the time per file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lanner_syntax::front::parse_file;
use lanner_syntax::span::FileId;
use std::hint::black_box;

fn upstream(c: &mut Criterion) {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream-rules");
    let mut group = c.benchmark_group("load_parse");
    for name in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ] {
        let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
            eprintln!("skipping {name}: ../shared is not beside the repository");
            continue;
        };
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| b.iter(|| parse_file(FileId(0), black_box(&text))));
    }
    group.finish();
}

criterion_group!(benches, upstream);
criterion_main!(benches);
