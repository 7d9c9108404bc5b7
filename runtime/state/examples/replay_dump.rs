//! Prints every event Falco would deliver for a capture: evt.num, time, tid, type, direction,
//! and optionally the given fields. Usage: `replay_dump CAPTURE [FIELD...]`.

use std::path::Path;

use lanner_state::{Accessor, ContainerMatcher, Replay, extract::event_name, render};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: replay_dump CAPTURE [FIELD...]");
        return Ok(());
    };
    let mut accessors = Vec::new();
    for f in args {
        let r = lanner_schema::resolve_text(&f)?;
        accessors.push((f, Accessor::compile(&r)?));
    }
    Replay::run_file(
        Path::new(&path),
        ContainerMatcher::falco(),
        |ev, st, num| {
            let mut line = format!(
                "{num}\t{}\t{}\t{}\t{}",
                ev.ts(),
                ev.tid(),
                event_name(ev),
                ev.direction().as_char()
            );
            for (name, acc) in &accessors {
                let v = acc.extract(ev, st);
                line.push_str(&format!("\t{name}={}", render(acc.field(), v.as_ref())));
            }
            println!("{line}");
        },
    )?;
    Ok(())
}
