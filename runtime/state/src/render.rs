//! Rendering a value as Falco prints it in outputs (language.md §8).

use lanner_schema::{FieldInfo, PrintFormat};

use crate::value::Value;

/// Falco's text for a value of `field`; `None` (no value) is `<NA>`.
pub fn render(field: &FieldInfo, value: Option<&Value<'_>>) -> String {
    let Some(v) = value else {
        return "<NA>".to_owned();
    };
    let mut out = String::new();
    if let ("evt.time", Value::UInt(ts)) = (field.name, v) {
        out.push_str(&time_of_day(*ts));
        return out;
    }
    write_value(field, v, &mut out, field.any_ancestor);
    out
}

/// `evt.time` in text outputs: `HH:MM:SS.nnnnnnnnn` (UTC, the zone of these machines).
pub(crate) fn time_of_day(ts: u64) -> String {
    let secs = ts / 1_000_000_000;
    let ns = ts % 1_000_000_000;
    let day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{ns:09}",
        day / 3600,
        (day / 60) % 60,
        day % 60
    )
}

fn write_value(field: &FieldInfo, v: &Value<'_>, out: &mut String, ancestor_list: bool) {
    match v {
        Value::Int(n) => match field.print_format {
            PrintFormat::Hex => out.push_str(&format!("{n:X}")),
            PrintFormat::PaddedDec => out.push_str(&format!("{n:09}")),
            _ => out.push_str(&n.to_string()),
        },
        Value::UInt(n) => match field.print_format {
            PrintFormat::Hex => out.push_str(&format!("{n:X}")),
            PrintFormat::PaddedDec => out.push_str(&format!("{n:09}")),
            _ => out.push_str(&n.to_string()),
        },
        Value::Double(d) => out.push_str(&format!("{d:.1}")),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Str(s) => out.push_str(&String::from_utf8_lossy(s)),
        Value::Bytes(b) => out.extend(b.iter().map(|c| {
            if c.is_ascii_graphic() || *c == b' ' {
                char::from(*c)
            } else {
                '.'
            }
        })),
        Value::Ipv4(a) => out.push_str(&a.to_string()),
        Value::Ipv6(a) => out.push_str(&a.to_string()),
        Value::Net(..) => out.push_str("<IPNET>"),
        Value::List(items) => {
            if ancestor_list {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    write_value(field, item, out, false);
                }
            } else {
                out.push('(');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_value(field, item, out, false);
                }
                out.push(')');
            }
        }
    }
}
