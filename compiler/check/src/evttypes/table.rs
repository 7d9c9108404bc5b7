//! The event table: event codes, their names, and the parameters events carry.
//!
//! The data are copies of libscap's tables (`data/event_table.tsv` and `data/ppm_sc.tsv`,
//! taken from `shared/scap/`), embedded with `include_str!` so that users who build with cargo
//! alone need nothing else; a test checks that the copies still equal the shared originals.
//! They are parsed once, on first use.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use lanner_schema::FieldType;

use super::EventSet;

const EVENT_TABLE: &str = include_str!("../../data/event_table.tsv");
const PPM_SC: &str = include_str!("../../data/ppm_sc.tsv");

/// One row of the event table that the checker needs.
#[derive(Debug, Clone)]
pub(crate) struct EventInfo {
    /// The event name (`openat`, `execve`, `syscall` for the generic events).
    pub name: &'static str,
    /// True for the placeholder codes libscap never emits (`EF_UNUSED`).
    pub unused: bool,
}

/// The parsed tables.
pub(crate) struct Table {
    /// Indexed by event code.
    pub events: Vec<EventInfo>,
    /// Event and syscall names to the codes `evt.type = NAME` selects.
    pub by_name: BTreeMap<&'static str, EventSet>,
    /// Event parameter names to the type of their first occurrence in code order, which is the
    /// type libsinsp gives `evt.rawarg.NAME`.
    pub params: BTreeMap<&'static str, FieldType>,
    /// Every code that libscap can emit.
    pub all: EventSet,
}

/// The table, parsed on first use.
pub(crate) fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(parse)
}

/// The field type of an event parameter type as the table spells it (`PT_ERRNO`).
fn param_type(spelled: &str) -> FieldType {
    let bare = spelled.strip_prefix("PT_").unwrap_or(spelled);
    match bare {
        // The 32-bit variants only exist in the event table; the schema's vocabulary has the
        // plain signed integer for them.
        "FD32" | "PID32" => FieldType::Int32,
        other => other.parse().unwrap_or(FieldType::Dyn),
    }
}

fn parse() -> Table {
    let mut events = Vec::new();
    let mut by_name: BTreeMap<&'static str, EventSet> = BTreeMap::new();
    let mut params: BTreeMap<&'static str, FieldType> = BTreeMap::new();
    let mut all = EventSet::new();
    for line in EVENT_TABLE.lines().skip(1) {
        let cols: Vec<&'static str> = line.split('\t').collect();
        let (Some(id), Some(name), Some(flags)) = (cols.first(), cols.get(2), cols.get(5)) else {
            continue;
        };
        let Ok(code) = id.parse::<u16>() else {
            continue;
        };
        // INVARIANT: the table lists codes densely from 0, so a row's code is its index; a
        // test asserts it, and a gap here would only shift names, never panic.
        let unused = flags.contains("EF_UNUSED") || *name == "NA";
        events.push(EventInfo { name, unused });
        if unused {
            continue;
        }
        all.insert(code);
        by_name.entry(name).or_default().insert(code);
        for param in cols.iter().skip(8) {
            let mut parts = param.split(':');
            if let (Some(pname), Some(ptype)) = (parts.next(), parts.next())
                && !pname.is_empty()
            {
                params.entry(pname).or_insert_with(|| param_type(ptype));
            }
        }
    }
    // Syscalls without an event of their own are reported through the generic events, whose
    // `evt.type` is the syscall's name; `evt.type = NAME` for such a syscall selects them.
    let generic = by_name.get("syscall").copied().unwrap_or_default();
    for line in PPM_SC.lines().skip(1) {
        if let Some(name) = line.split('\t').nth(2)
            && !name.is_empty()
            && name != "unknown"
        {
            by_name.entry(name).or_insert(generic);
        }
    }
    Table {
        events,
        by_name,
        params,
        all,
    }
}

/// The codes `evt.type = name` selects, or `None` for a name that is neither an event nor a
/// syscall.
pub fn codes_of(name: &str) -> Option<EventSet> {
    table().by_name.get(name).copied()
}

/// The name of an event code (`None` past the table or for unused codes).
pub fn name_of(code: u16) -> Option<&'static str> {
    table()
        .events
        .get(usize::from(code))
        .filter(|e| !e.unused)
        .map(|e| e.name)
}

/// The type of an event parameter by name, as `evt.rawarg.NAME` sees it.
pub fn param_type_of(name: &str) -> Option<FieldType> {
    table().params.get(name).copied()
}

/// Every event and syscall name, sorted.
pub fn event_names() -> impl Iterator<Item = &'static str> {
    table().by_name.keys().copied()
}

/// Known event or syscall names closest to `name` (at most three), for did-you-mean hints.
pub fn suggest_event(name: &str) -> Vec<&'static str> {
    let limit = (name.chars().count() / 4).clamp(1, 3);
    let mut scored: BTreeSet<(usize, &'static str)> = BTreeSet::new();
    for known in event_names() {
        let d = strsim::osa_distance(name, known);
        if d <= limit {
            scored.insert((d, known));
        }
    }
    let best = scored.first().map_or(0, |(d, _)| *d);
    scored
        .into_iter()
        .take_while(|(d, _)| *d == best)
        .take(3)
        .map(|(_, n)| n)
        .collect()
}
