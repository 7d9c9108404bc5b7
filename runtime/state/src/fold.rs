//! The enter/exit folding of current libs (FORMAT.md §5.4), as a layer over any event source.
//!
//! Old captures hold an enter and an exit event per syscall. Falco 0.44's libscap converter
//! stores converter-managed enter events, merges their parameters into the matching exit and
//! upgrades old event versions to the newest id of their family, so the rule engine sees one
//! event per syscall with the exit's timestamp. Its event numbering follows from that:
//!
//! * converter-managed enters are not numbered at all, except the enters of
//!   `open/openat/openat2/creat/connect/execve/execveat`, which libsinsp numbers and parses
//!   but never hands to rules;
//! * the meta events at the very start of a file (container, user and group events) are
//!   numbered and parsed for state, but not delivered;
//! * `EF_UNUSED` slots and ids the current table does not know are dropped unnumbered.
//!
//! [`Folder`] is the push-style core (used by [`crate::Replay`], which also sees the state
//! records of a capture); [`Folding`] wraps any [`EventSource`] and yields only the events
//! Falco delivers.

use std::collections::HashMap;

use lanner_event::table::{EventFlags, TableVersion};
use lanner_event::{Direction, Event, EventHeader, EventSource};

use crate::idmap::IdMap;

/// What the folder decided about one input event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The event (as now held by the folder) is parsed by the state engine.
    pub parsed: bool,
    /// The event reaches the rule engine.
    pub delivered: bool,
    /// Falco's `evt.num` of the event (0 when not numbered).
    pub num: u64,
}

impl Decision {
    const DROP: Decision = Decision {
        parsed: false,
        delivered: false,
        num: 0,
    };
}

/// The newest event id of each id's family, and whether the id is a converter-managed enter
/// whose parameters move into its exit.
struct Upgrades {
    newest: Vec<u16>,
}

fn family(enum_name: &str) -> &str {
    let base = enum_name
        .strip_suffix("_E")
        .or_else(|| enum_name.strip_suffix("_X"))
        .unwrap_or(enum_name);
    match base.rsplit_once('_') {
        Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => base,
    }
}

impl Upgrades {
    fn build() -> Self {
        let events = TableVersion::Current.events();
        let mut best: HashMap<(&str, bool), u16> = HashMap::new();
        for info in events {
            if info.is_unused() || info.flags.contains(EventFlags::OLD_VERSION) {
                continue;
            }
            let key = (family(info.enum_name), info.direction == Direction::Enter);
            let slot = best.entry(key).or_insert(info.id);
            if info.id > *slot {
                *slot = info.id;
            }
        }
        let mut newest = Vec::with_capacity(events.len());
        for info in events {
            let key = (family(info.enum_name), info.direction == Direction::Enter);
            let target = if info.flags.contains(EventFlags::OLD_VERSION) {
                best.get(&key).copied().unwrap_or(info.id)
            } else {
                info.id
            };
            newest.push(target);
        }
        Upgrades { newest }
    }

    fn newest(&self, id: u16) -> u16 {
        self.newest.get(usize::from(id)).copied().unwrap_or(id)
    }
}

/// Whether a converter-managed enter of this name is still numbered and parsed by libsinsp
/// (it keeps them for TOCTOU checks and exec bookkeeping) although no rule ever sees it.
fn enter_is_numbered(name: &str) -> bool {
    matches!(
        name,
        "open" | "openat" | "openat2" | "creat" | "connect" | "execve" | "execveat"
    )
}

/// `PPME_DROP_E`.
const DROP_E: u16 = 148;

fn is_initial_meta(id: u16) -> bool {
    matches!(id, 228 | 272 | 324 | 354 | 356 | 358 | 360)
}

/// One event's header, lengths and values in reusable buffers.
/// For a (source id, target id) pair, where each target parameter sits in the source event
/// (by name, as the converter matches them): computed once per pair, so rebuilding an event
/// compares no strings.
#[derive(Debug, Default)]
struct ParamMaps {
    by_source: Vec<Vec<(u16, Box<[u8]>)>>,
}

/// A target parameter the source event does not have.
const ABSENT: u8 = u8::MAX;

impl ParamMaps {
    fn ensure(&mut self, source: u16, target: u16) {
        let at = usize::from(source);
        if self.by_source.len() <= at {
            self.by_source.resize_with(at + 1, Vec::new);
        }
        let Some(list) = self.by_source.get_mut(at) else {
            return;
        };
        if list.iter().any(|(t, _)| *t == target) {
            return;
        }
        let src = TableVersion::Current.event(source);
        let map = TableVersion::Current
            .event(target)
            .map(|t| {
                t.params
                    .iter()
                    .map(|p| {
                        src.and_then(|s| s.param_index(p.name))
                            .and_then(|i| u8::try_from(i).ok())
                            .unwrap_or(ABSENT)
                    })
                    .collect()
            })
            .unwrap_or_default();
        list.push((target, map));
    }

    fn get(&self, source: u16, target: u16) -> &[u8] {
        self.by_source
            .get(usize::from(source))
            .and_then(|l| l.iter().find(|(t, _)| *t == target))
            .map_or(&[], |(_, m)| m)
    }
}

fn mapped(map: &[u8], i: usize) -> Option<usize> {
    map.get(i)
        .copied()
        .filter(|&j| j != ABSENT)
        .map(usize::from)
}

#[derive(Debug, Default)]
struct Buf {
    header: EventHeader,
    wide: bool,
    // INVARIANT: `lens` holds one length (4 bytes if `wide`, else 2) per parameter and
    // `values` exactly the bytes those lengths add up to; every writer appends a length and
    // its value together, so `Event::from_parts` accepts the pair.
    lens: Vec<u8>,
    values: Vec<u8>,
    // For stored enters: whether the buffer holds an enter not yet consumed by its exit.
    valid: bool,
}

impl Buf {
    fn event(&self) -> Option<Event<'_>> {
        // `lens` and `values` are always written together from one event's parameters (or
        // rebuilt with matching lengths), so this only fails if that pairing is broken.
        Event::from_parts(self.header, self.wide, &self.lens, &self.values).ok()
    }

    fn copy_in(&mut self, ev: &Event<'_>) {
        self.header = ev.header();
        self.wide = ev.wide_lengths();
        self.lens.clear();
        self.lens.extend_from_slice(ev.raw_lengths());
        self.values.clear();
        for raw in ev.raw_params() {
            self.values.extend_from_slice(raw);
        }
        self.valid = true;
    }

    fn push_param(&mut self, raw: &[u8]) {
        if self.wide {
            let len = u32::try_from(raw.len()).unwrap_or(u32::MAX);
            self.lens.extend_from_slice(&len.to_le_bytes());
        } else {
            let len = u16::try_from(raw.len()).unwrap_or(u16::MAX);
            self.lens.extend_from_slice(&len.to_le_bytes());
        }
        self.values.extend_from_slice(raw);
    }

    /// Rebuilds this buffer as event `target`, taking each parameter of the target schema by
    /// name from `exit`, then from `enter`, else a default.
    fn rebuild(
        &mut self,
        exit: &Event<'_>,
        enter: Option<&Event<'_>>,
        target: u16,
        maps: &mut ParamMaps,
    ) {
        let Some(info) = TableVersion::Current.event(target) else {
            self.copy_in(exit);
            return;
        };
        let mut header = exit.header();
        header.event_type = target;
        self.header = header;
        self.wide = info.large_payload();
        self.valid = true;
        self.lens.clear();
        self.values.clear();
        let exit_info = exit.info();
        let enter_info = enter.and_then(|e| e.info());
        // An event carrying more parameters than its (old) schema names, such as the 2016
        // procexit with its status, is upgraded positionally and keeps its parameter count.
        let known = exit_info.map_or(0, |i| i.params.len());
        if exit.nparams() > known {
            for raw in exit.raw_params().take(info.params.len()) {
                self.push_param(raw);
            }
            return;
        }
        // The enter schema of the target: parameters it names come from the enter event, and
        // when that enter is missing (a capture starting inside a syscall) the converter fills
        // them with zero values rather than leaving them empty.
        maps.ensure(exit.event_type(), target);
        if let Some(e) = enter {
            maps.ensure(e.event_type(), target);
        }
        maps.ensure(target & !1, target);
        let maps = &*maps;
        let exit_map = maps.get(exit.event_type(), target);
        let enter_map = enter.map_or(&[][..], |e| maps.get(e.event_type(), target));
        let target_enter = TableVersion::Current.event(target & !1);
        let target_enter_map = maps.get(target & !1, target);
        let zeros = [0u8; 16];
        let zero_always = matches!(info.name, "socket" | "fcntl");
        for (i, p) in info.params.iter().enumerate() {
            let from_exit = exit_info
                .and(mapped(exit_map, i))
                .and_then(|j| exit.raw_param(j));
            let from_enter = || {
                let e = enter?;
                enter_info?;
                e.raw_param(mapped(enter_map, i)?)
            };
            let default = || {
                // A few parameters the old versions lack are added as 0 by the converter's
                // per-event rules (observed: socket's flags, fcntl's arg); the others stay
                // empty.
                if zero_always
                    && matches!((info.name, p.name), ("socket", "flags") | ("fcntl", "arg"))
                {
                    return zeros.get(..p.ptype.fixed_size()?);
                }
                if enter.is_some() {
                    return None;
                }
                target_enter?;
                mapped(target_enter_map, i)?;
                zeros.get(..p.ptype.fixed_size()?)
            };
            let raw = from_exit
                .or_else(from_enter)
                .or_else(default)
                .unwrap_or_default();
            self.push_param(raw);
        }
    }
}

/// The push-style converter: feed it raw events in file order, read back the folded one.
pub struct Folder {
    upgrades: Upgrades,
    // Stored enters per thread; buffers are reused, `valid` says whether one is pending.
    pending: IdMap<i64, Buf>,
    num: u64,
    at_start: bool,
    // The current event, rebuilt here so that it can outlive the input borrow.
    out: Buf,
    // Whether the current event is the input unchanged (`accept_borrowed`), left in the
    // caller's buffer instead of being copied into `out`.
    borrowed: bool,
    maps: ParamMaps,
    kinds: Vec<u8>,
}

/// Per-id facts `accept` needs for every event, looked up by id instead of by name.
const K_PROCEXIT: u8 = 1;
const K_HAS_EXIT: u8 = 2;
const K_NUMBERED_ENTER: u8 = 4;

fn kinds() -> Vec<u8> {
    TableVersion::Current
        .events()
        .iter()
        .map(|info| {
            let mut k = 0;
            if info.name == "procexit" {
                k |= K_PROCEXIT;
            }
            let has_exit = TableVersion::Current
                .event(info.id | 1)
                .is_some_and(|x| !x.is_unused());
            if has_exit {
                k |= K_HAS_EXIT;
            }
            if enter_is_numbered(info.name) {
                k |= K_NUMBERED_ENTER;
            }
            k
        })
        .collect()
}

impl Default for Folder {
    fn default() -> Self {
        Self::new()
    }
}

impl Folder {
    /// A converter at the start of a capture.
    pub fn new() -> Self {
        Folder {
            upgrades: Upgrades::build(),
            pending: IdMap::default(),
            num: 0,
            at_start: true,
            out: Buf::default(),
            borrowed: false,
            maps: ParamMaps::default(),
            kinds: kinds(),
        }
    }

    /// Forgets pending enters and the "start of file" status (a new section starts), but keeps
    /// counting event numbers as libsinsp does.
    pub fn new_section(&mut self) {
        self.pending.clear();
        self.at_start = true;
    }

    /// The last event number handed out.
    pub fn last_num(&self) -> u64 {
        self.num
    }

    fn next_num(&mut self) -> u64 {
        self.num += 1;
        self.num
    }

    /// Takes one raw event and decides what Falco makes of it. When the decision says
    /// `parsed`, [`Folder::current`] holds the (possibly converted) event.
    pub fn accept(&mut self, ev: &Event<'_>) -> Decision {
        let d = self.accept_borrowed(ev);
        if self.borrowed {
            self.out.copy_in(ev);
            self.borrowed = false;
        }
        d
    }

    /// As [`Folder::accept`], but an event Falco delivers unchanged is not copied: read it
    /// back with [`Folder::current_for`] and the same input event. [`Folder::current`] is
    /// not meaningful after this call.
    pub fn accept_borrowed(&mut self, ev: &Event<'_>) -> Decision {
        self.borrowed = false;
        let id = ev.event_type();
        let Some(info) = TableVersion::Current.event(id) else {
            return Decision::DROP;
        };
        if info.is_unused() {
            return Decision::DROP;
        }
        let leading_meta = self.at_start && is_initial_meta(id);
        if !leading_meta {
            self.at_start = false;
        }
        match info.direction {
            Direction::Enter => {
                // A thread that exits has no syscall to finish: drop its buffer so that the
                // table does not grow with every thread ever seen on a live system.
                let kind = self.kinds.get(usize::from(id)).copied().unwrap_or(0);
                if kind & K_PROCEXIT != 0 {
                    self.pending.remove(&ev.tid());
                }
                // Every syscall enter that has a real exit is folded into it (whether the enter,
                // the exit or neither carries EF_CONVERTER_MANAGED); only the drop
                // notification (148) is a genuine enter/exit pair of meta events.
                if kind & K_HAS_EXIT != 0 && id != DROP_E {
                    self.pending.entry(ev.tid()).or_default().copy_in(ev);
                    if kind & K_NUMBERED_ENTER != 0 {
                        self.borrowed = true;
                        let num = self.next_num();
                        return Decision {
                            parsed: true,
                            delivered: false,
                            num,
                        };
                    }
                    return Decision::DROP;
                }
                let target = self.upgrades.newest(id);
                if target != id {
                    self.out.rebuild(ev, None, target, &mut self.maps);
                } else {
                    self.borrowed = true;
                }
                let num = self.next_num();
                Decision {
                    parsed: true,
                    delivered: !leading_meta,
                    num,
                }
            }
            Direction::Exit => {
                let old = info.flags.contains(EventFlags::OLD_VERSION);
                // The stored enter of this thread is consumed by this exit whether or not it
                // matches (a mismatch means the enter's own exit was never recorded).
                let enter = self.pending.get_mut(&ev.tid()).and_then(|b| {
                    let matching = b.valid && b.header.event_type | 1 == id;
                    b.valid = false;
                    if matching { b.event() } else { None }
                });
                if info.flags.contains(EventFlags::CONVERTER_MANAGED) || old {
                    let target = self.upgrades.newest(id);
                    let full = info.params.len() == ev.nparams();
                    if target == id && full && enter.is_none() {
                        self.borrowed = true;
                    } else {
                        self.out.rebuild(ev, enter.as_ref(), target, &mut self.maps);
                    }
                } else {
                    self.borrowed = true;
                }
                let num = self.next_num();
                Decision {
                    parsed: true,
                    delivered: true,
                    num,
                }
            }
        }
    }

    /// The event of the last `parsed` decision.
    pub fn current(&self) -> Option<Event<'_>> {
        self.out.event()
    }

    /// The event of the last `parsed` decision of [`Folder::accept_borrowed`], given the
    /// input event that call was passed.
    pub fn current_for<'b>(&'b self, input: &Event<'b>) -> Option<Event<'b>> {
        if self.borrowed {
            Some(*input)
        } else {
            self.out.event()
        }
    }
}

/// An [`EventSource`] that yields only the events Falco 0.44 delivers to rules, converted.
pub struct Folding<S> {
    source: S,
    folder: Folder,
    last: Decision,
}

impl<S: EventSource> Folding<S> {
    /// Wraps a source positioned at the start of a capture.
    pub fn new(source: S) -> Self {
        Folding {
            source,
            folder: Folder::new(),
            last: Decision::DROP,
        }
    }

    /// Falco's `evt.num` of the event last returned.
    pub fn evt_num(&self) -> u64 {
        self.last.num
    }

    /// The wrapped source.
    pub fn into_inner(self) -> S {
        self.source
    }
}

impl<S: EventSource> EventSource for Folding<S> {
    type Error = S::Error;

    fn next_event(&mut self) -> Result<Option<Event<'_>>, S::Error> {
        loop {
            let decision = match self.source.next_event()? {
                None => return Ok(None),
                Some(ev) => self.folder.accept(&ev),
            };
            if decision.delivered {
                self.last = decision;
                break;
            }
        }
        Ok(self.folder.current())
    }
}
