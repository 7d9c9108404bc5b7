//! `evt.args` and `evt.arg.NAME`: event parameters rendered as Falco prints them.

use lanner_event::Event;

use crate::state::State;

/// `evt.args`: every parameter as `name=value`, separated by spaces.
pub fn render_args(ev: &Event<'_>, st: &State) -> Vec<u8> {
    let mut out = Vec::new();
    let Some(info) = ev.info() else {
        return out;
    };
    for (i, p) in info.params.iter().enumerate() {
        if i >= ev.nparams() {
            break;
        }
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(p.name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(&render_param(ev, st, i));
    }
    out
}

/// `evt.arg.NAME` (or `evt.arg[N]`).
pub fn render_arg(ev: &Event<'_>, st: &State, name: &str) -> Option<Vec<u8>> {
    let info = ev.info()?;
    let i = match name.parse::<usize>() {
        Ok(n) => n,
        Err(_) => info.param_index(name)?,
    };
    if i >= ev.nparams() {
        return None;
    }
    Some(render_param(ev, st, i))
}

fn render_param(_ev: &Event<'_>, _st: &State, _i: usize) -> Vec<u8> {
    Vec::new()
}
