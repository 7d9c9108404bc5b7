//! The JIT's compile time of a rules program beside the front end's (`rulec check`'s work):
//! `cargo run --release -p lanner-conformance --example jit_compile_time -- RULES.yaml...`.
//! Best of 5 of each, in one run.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        bail!("usage: jit_compile_time RULES.yaml...");
    }
    let mut sources = Vec::new();
    for p in &paths {
        let text = std::fs::read_to_string(p).with_context(|| format!("cannot read `{p}`"))?;
        sources.push((p.clone(), text));
    }
    let mut front = Duration::MAX;
    let mut jit = Duration::MAX;
    let mut stats = None;
    for _ in 0..5 {
        let t = Instant::now();
        let Ok(program) = lanner_check::driver::compile(sources.clone()) else {
            bail!("the rules do not check");
        };
        front = front.min(t.elapsed());
        let (ruleset, _) = lanner_engine::ruleset::RuleSet::from_program(
            &program,
            lanner_engine::program::OutputOptions {
                suggested_output: true,
            },
        );
        let t = Instant::now();
        let compiled = lanner_jit::Jit::compile(&program, &ruleset)?;
        jit = jit.min(t.elapsed());
        stats = Some(compiled.stats().clone());
    }
    println!(
        "front end (rules text to program): {:.1} ms",
        front.as_secs_f64() * 1e3
    );
    println!(
        "jit (program to native code): {:.1} ms",
        jit.as_secs_f64() * 1e3
    );
    println!("{stats:?}");
    Ok(())
}
