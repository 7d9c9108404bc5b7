//! Bundle load vs YAML compile for Falco's upstream rules (`../shared/upstream-rules`), in the
//! same run: the YAML path (read, parse, resolve, type-check, build the program) against the
//! bundle path (signature check, header, decode, verify), both to the same `Program`, and both
//! on to the engine's rule set. Run with `cargo run --release -p lanner --example bundle_load`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use lanner_engine::program::OutputOptions;
use lanner_engine::ruleset::RuleSet;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn time<T>(n: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..n)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream-rules");
    let path = dir.join("falco_rules.yaml");
    let text = std::fs::read_to_string(&path).expect("the upstream rules (../shared)");
    let sources = vec![(path.display().to_string(), text.clone())];
    let program = lanner_check::driver::compile(sources.clone())
        .ok()
        .expect("the upstream rules compile");
    // A fixed key: the figure is about verification, not about where the key comes from.
    let key = lanner_bundle::SigningKey::from_bytes(&[7; 32]);
    let info = lanner_bundle::BuildInfo {
        sources: vec![(path.display().to_string(), text.into_bytes())],
        created: None,
        name: None,
        revision: None,
    };
    let bytes = lanner_bundle::build(&program, &info, Some(&key)).expect("bundle");
    let trust = lanner_bundle::Trust {
        keys: vec![key.verifying_key()],
        allow_unsigned: false,
    };
    let loaded = lanner_bundle::load(&bytes, &trust).expect("the bundle loads");
    assert_eq!(
        lanner_program::encode(&loaded.program).ok(),
        lanner_program::encode(&program).ok(),
        "the bundle's program is the compiled one"
    );

    let yaml = time(20, || {
        lanner_check::driver::compile(sources.clone()).is_ok()
    });
    let bundle = time(200, || lanner_bundle::load(&bytes, &trust).is_ok());
    let opts = OutputOptions {
        suggested_output: true,
    };
    let ruleset = time(50, || RuleSet::from_program(&program, opts).0.rules.len());
    // Where the bundle path's time goes, stage by stage (each timed alone, on the same bytes).
    let s = lanner_bundle::sections(&bytes).expect("sections");
    let header = s.header().expect("header");
    let payload = s.program;
    let stages = [
        (
            "sections",
            time(200, || lanner_bundle::sections(&bytes).is_ok()),
        ),
        ("signature", time(200, || s.check_signature().is_ok())),
        ("header", time(200, || s.header().is_ok())),
        (
            "program (hash, decode, verify)",
            time(200, || s.program(&header).is_ok()),
        ),
        (
            "  decode + verify",
            time(200, || lanner_program::decode(payload).is_ok()),
        ),
        (
            "  verify alone",
            time(200, || loaded.program.verify().is_ok()),
        ),
    ];
    let rules = program.rules.len();
    println!(
        "upstream falco_rules.yaml: {rules} rule(s), bundle {} bytes",
        bytes.len()
    );
    println!("YAML compile (to Program):   {:>9.3} ms", ms(yaml));
    println!("bundle load (to Program):    {:>9.3} ms", ms(bundle));
    println!(
        "ratio YAML / bundle:         {:>9.1}x",
        yaml.as_secs_f64() / bundle.as_secs_f64().max(1e-9)
    );
    for (stage, d) in stages {
        println!("  {stage:<30} {:>9.3} ms", ms(d));
    }
    println!(
        "RuleSet::from_program:       {:>9.3} ms (both paths)",
        ms(ruleset)
    );
    println!(
        "end to end ratio:            {:>9.1}x",
        (yaml + ruleset).as_secs_f64() / (bundle + ruleset).as_secs_f64().max(1e-9)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
