//! The source-independent event model.
//!
//! An [`Event`] is a validated, borrowed view of one driver event: the header fields plus the
//! parameter length array and the parameter values, exactly as the driver lays them out
//! (`ppm_evt_hdr`, then lengths, then values). The same layout comes out of a scap file and
//! out of the kernel ring buffer, so both sources produce `Event`s without copying.
//! Parameters are decoded only when asked for.

use crate::bytes::{le_u16, le_u32, le_u64};
use crate::param::{self, ParamError, ParamValue};
use crate::table::{Direction, EventInfo, ParamExtra, ParamInfo, ParamType, TableVersion, ids};

/// Size of the v2 event header (`ts, tid, len, type, nparams`).
pub const V2_HEADER_LEN: usize = 26;
/// Size of the v1 event header (no `nparams`).
pub const V1_HEADER_LEN: usize = 22;

/// `dump_flags` bit: the event is for state tracking only and must not be shown.
pub const DF_STATE_ONLY: u32 = 1;

/// Why raw bytes are not a well-formed event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Fewer bytes than an event header.
    #[error("event header needs {need} bytes, only {available} available")]
    ShortHeader {
        /// Header size.
        need: usize,
        /// Bytes available.
        available: usize,
    },
    /// The header's `len` is smaller than the header or larger than the bytes available.
    #[error("event length {len} is invalid (header {header} bytes, {available} bytes available)")]
    BadLength {
        /// Declared event length.
        len: u64,
        /// Header size.
        header: usize,
        /// Bytes available for the event.
        available: usize,
    },
    /// The parameter length array does not fit in the event.
    #[error("{nparams} parameter lengths of {width} bytes do not fit in an event of {len} bytes")]
    LengthsOverflow {
        /// Declared parameter count.
        nparams: u64,
        /// Width of one length entry.
        width: usize,
        /// Event length.
        len: usize,
    },
    /// The parameter values do not fit in the event.
    #[error("parameter values need {need} bytes, event has {room}")]
    ValuesOverflow {
        /// Sum of parameter lengths.
        need: u64,
        /// Bytes after the length array.
        room: usize,
    },
    /// A v1 event whose parameter count cannot be inferred from its length.
    #[error("cannot infer the parameter count of v1 event type {event_type} with length {len}")]
    CannotInferParams {
        /// Event type.
        event_type: u16,
        /// Event length.
        len: usize,
    },
}

/// A borrowed, validated event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    ts: u64,
    tid: i64,
    cpu: u16,
    event_type: u16,
    dump_flags: u32,
    // INVARIANT: `lens.len() == nparams * width` and the sum of all lengths is at most
    // `values.len()`; both are checked by the constructors, so parameter slicing below can
    // use `get` without ever observing a short slice for a valid index.
    nparams: u32,
    wide: bool,
    lens: &'a [u8],
    values: &'a [u8],
}

/// Whether event `ty` stores u32 parameter lengths (`EF_LARGE_PAYLOAD`).
///
/// The width depends only on the event type, never on the block type.
pub fn has_large_lengths(ty: u16) -> bool {
    TableVersion::Current
        .event(ty)
        .is_some_and(EventInfo::large_payload)
}

fn sum_lengths(lens: &[u8], wide: bool) -> u64 {
    if wide {
        lens.chunks_exact(4)
            .map(|c| u64::from(u32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
            .sum()
    } else {
        lens.chunks_exact(2)
            .map(|c| u64::from(u16::from_le_bytes(c.try_into().unwrap_or([0; 2]))))
            .sum()
    }
}

impl<'a> Event<'a> {
    /// Parses a v2 event (`ppm_evt_hdr` with `nparams`) from the start of `bytes`.
    ///
    /// Returns the event and its length; bytes after the event (block padding, pcapng
    /// options) are ignored. This is also the layout of the kernel ring buffer.
    pub fn parse_v2(
        cpu: u16,
        dump_flags: u32,
        bytes: &'a [u8],
    ) -> Result<(Self, usize), EventError> {
        let short = || EventError::ShortHeader {
            need: V2_HEADER_LEN,
            available: bytes.len(),
        };
        let ts = le_u64(bytes, 0).ok_or_else(short)?;
        // The tid is signed on disk (−1 for meta events); the cast reinterprets the bits.
        let tid = le_u64(bytes, 8).ok_or_else(short)? as i64;
        let len = le_u32(bytes, 16).ok_or_else(short)?;
        let event_type = le_u16(bytes, 20).ok_or_else(short)?;
        let nparams = le_u32(bytes, 22).ok_or_else(short)?;
        let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
        let ev = match bytes.get(..len_usize) {
            Some(ev) if len_usize >= V2_HEADER_LEN => ev,
            _ => {
                return Err(EventError::BadLength {
                    len: len.into(),
                    header: V2_HEADER_LEN,
                    available: bytes.len(),
                });
            }
        };
        let wide = has_large_lengths(event_type);
        let width = if wide { 4 } else { 2 };
        let lens_end = u64::from(nparams) * width as u64 + V2_HEADER_LEN as u64;
        let overflow = || EventError::LengthsOverflow {
            nparams: nparams.into(),
            width,
            len: len_usize,
        };
        let lens_end = usize::try_from(lens_end).map_err(|_| overflow())?;
        let lens = ev.get(V2_HEADER_LEN..lens_end).ok_or_else(overflow)?;
        let values = ev.get(lens_end..).ok_or_else(overflow)?;
        let need = sum_lengths(lens, wide);
        if need > values.len() as u64 {
            return Err(EventError::ValuesOverflow {
                need,
                room: values.len(),
            });
        }
        Ok((
            Event {
                ts,
                tid,
                cpu,
                event_type,
                dump_flags,
                nparams,
                wide,
                lens,
                values,
            },
            len_usize,
        ))
    }

    /// Parses a v1 event (no `nparams`, always u16 lengths) from the start of `bytes`.
    ///
    /// The parameter count is inferred from the event length as libscap does: the largest
    /// count not above the table's whose lengths add up exactly to the event length.
    pub fn parse_v1(
        cpu: u16,
        dump_flags: u32,
        bytes: &'a [u8],
    ) -> Result<(Self, usize), EventError> {
        let short = || EventError::ShortHeader {
            need: V1_HEADER_LEN,
            available: bytes.len(),
        };
        let ts = le_u64(bytes, 0).ok_or_else(short)?;
        // The tid is signed on disk (−1 for meta events); the cast reinterprets the bits.
        let tid = le_u64(bytes, 8).ok_or_else(short)? as i64;
        let mut len = le_u32(bytes, 16).ok_or_else(short)?;
        let event_type = le_u16(bytes, 20).ok_or_else(short)?;
        // v1 writers recorded these two meta events 3 bytes longer than they are.
        if matches!(
            event_type,
            ids::NOTIFICATION_E | ids::INFRASTRUCTURE_EVENT_E
        ) {
            len = len.saturating_sub(3);
        }
        let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
        let ev = match bytes.get(..len_usize) {
            Some(ev) if len_usize >= V1_HEADER_LEN => ev,
            _ => {
                return Err(EventError::BadLength {
                    len: len.into(),
                    header: V1_HEADER_LEN,
                    available: bytes.len(),
                });
            }
        };
        let body = ev.get(V1_HEADER_LEN..).unwrap_or_default();
        let known = TableVersion::Current.event(event_type);
        // Unknown ids get a generous bound: the exact-length match below still decides.
        let max = known.map_or(32, |i| i.params.len()).min(body.len() / 2);
        let mut found = None;
        for n in (0..=max).rev() {
            let Some(lens) = body.get(..2 * n) else {
                continue;
            };
            let total = (2 * n) as u64 + sum_lengths(lens, false);
            if total == body.len() as u64 {
                found = Some(n);
                break;
            }
            if total < body.len() as u64 && known.is_some() {
                // libscap treats a best candidate that leaves bytes over as corruption.
                break;
            }
        }
        let n = found.ok_or(EventError::CannotInferParams {
            event_type,
            len: len_usize,
        })?;
        let lens = body.get(..2 * n).unwrap_or_default();
        let values = body.get(2 * n..).unwrap_or_default();
        Ok((
            Event {
                ts,
                tid,
                cpu,
                event_type,
                dump_flags,
                nparams: n as u32,
                wide: false,
                lens,
                values,
            },
            len_usize,
        ))
    }

    /// Builds an event from a separately held length array and value area.
    ///
    /// `lens` holds `nparams` little-endian lengths of 4 bytes if `wide`, else 2.
    pub fn from_parts(
        header: EventHeader,
        wide: bool,
        lens: &'a [u8],
        values: &'a [u8],
    ) -> Result<Self, EventError> {
        let width = if wide { 4 } else { 2 };
        if !lens.len().is_multiple_of(width) {
            return Err(EventError::LengthsOverflow {
                nparams: (lens.len() / width) as u64,
                width,
                len: lens.len(),
            });
        }
        let need = sum_lengths(lens, wide);
        if need > values.len() as u64 {
            return Err(EventError::ValuesOverflow {
                need,
                room: values.len(),
            });
        }
        Ok(Event {
            ts: header.ts,
            tid: header.tid,
            cpu: header.cpu,
            event_type: header.event_type,
            dump_flags: header.dump_flags,
            nparams: u32::try_from(lens.len() / width).unwrap_or(u32::MAX),
            wide,
            lens,
            values,
        })
    }

    /// Timestamp in ns since the epoch.
    pub fn ts(&self) -> u64 {
        self.ts
    }

    /// Thread id (−1 for some meta events).
    pub fn tid(&self) -> i64 {
        self.tid
    }

    /// CPU the event was captured on.
    pub fn cpu(&self) -> u16 {
        self.cpu
    }

    /// Event type id (`PPME_*`).
    pub fn event_type(&self) -> u16 {
        self.event_type
    }

    /// The block's dump flags (0 for plain event blocks).
    pub fn dump_flags(&self) -> u32 {
        self.dump_flags
    }

    /// Whether the event is state-only (parsed for state, hidden from rules and output).
    pub fn is_state_only(&self) -> bool {
        self.dump_flags & DF_STATE_ONLY != 0
    }

    /// The header fields as a value.
    pub fn header(&self) -> EventHeader {
        EventHeader {
            ts: self.ts,
            tid: self.tid,
            cpu: self.cpu,
            event_type: self.event_type,
            dump_flags: self.dump_flags,
        }
    }

    /// Enter or exit, from the id parity.
    pub fn direction(&self) -> Direction {
        Direction::of_id(self.event_type)
    }

    /// The schema in the current table.
    pub fn info(&self) -> Option<&'static EventInfo> {
        TableVersion::Current.event(self.event_type)
    }

    /// The schema in a given table.
    pub fn info_in(&self, table: TableVersion) -> Option<&'static EventInfo> {
        table.event(self.event_type)
    }

    /// The event name (`evt.type`), for generic events the syscall name of their `ID`.
    pub fn name_in(&self, table: TableVersion) -> Option<&'static str> {
        if matches!(self.event_type, ids::GENERIC_E | ids::GENERIC_X) {
            let code = self.raw_param(0).and_then(|r| le_u16(r, 0))?;
            return table.ppm_sc_name(code);
        }
        self.info_in(table).map(|i| i.name)
    }

    /// Number of parameters actually present (may differ from the table).
    pub fn nparams(&self) -> usize {
        self.nparams as usize
    }

    /// Whether lengths are u32 (`EF_LARGE_PAYLOAD` events).
    pub fn wide_lengths(&self) -> bool {
        self.wide
    }

    /// The raw length array.
    pub fn raw_lengths(&self) -> &'a [u8] {
        self.lens
    }

    /// Length of parameter `i`.
    fn len_at(&self, i: usize) -> Option<usize> {
        if self.wide {
            le_u32(self.lens, i * 4).map(|v| v as usize)
        } else {
            le_u16(self.lens, i * 2).map(usize::from)
        }
    }

    /// The bytes of parameter `i`.
    pub fn raw_param(&self, i: usize) -> Option<&'a [u8]> {
        if i >= self.nparams() {
            return None;
        }
        let mut off = 0usize;
        for j in 0..i {
            off += self.len_at(j)?;
        }
        let len = self.len_at(i)?;
        self.values.get(off..off.checked_add(len)?)
    }

    /// Iterates the raw bytes of all parameters in order.
    pub fn raw_params(&self) -> RawParams<'a> {
        RawParams {
            ev: *self,
            index: 0,
            off: 0,
        }
    }

    /// The total bytes used by parameter values.
    pub fn values_len(&self) -> usize {
        usize::try_from(sum_lengths(self.lens, self.wide)).unwrap_or(usize::MAX)
    }

    /// Parameter `i` with its schema from the current table.
    pub fn param(&self, i: usize) -> Option<Param<'a>> {
        let raw = self.raw_param(i)?;
        let info = self.info().and_then(|e| e.params.get(i));
        Some(Param { raw, info })
    }

    /// Parameter `i` with its schema from a given table (types only ever differ between
    /// tables by parameters appended later, so this matters for names and counts).
    pub fn param_in(&self, table: TableVersion, i: usize) -> Option<Param<'a>> {
        let raw = self.raw_param(i)?;
        let info = self.info_in(table).and_then(|e| e.params.get(i));
        Some(Param { raw, info })
    }

    /// The parameter named `name` in the current table's schema.
    pub fn param_by_name(&self, name: &str) -> Option<Param<'a>> {
        let idx = self.info()?.param_index(name)?;
        self.param(idx)
    }

    /// Decodes parameter `i` with the current table's schema (bytes if beyond the schema).
    pub fn decode(&self, i: usize) -> Result<ParamValue<'a>, ParamError> {
        self.param(i)
            .ok_or(ParamError::NoSuchParam { index: i })?
            .decode()
    }

    /// Iterates parameters with their schema.
    pub fn params(&self) -> impl Iterator<Item = Param<'a>> + 'a {
        let info = self.info();
        self.raw_params().enumerate().map(move |(i, raw)| Param {
            raw,
            info: info.and_then(|e| e.params.get(i)),
        })
    }
}

impl Event<'_> {
    /// Copies the event into an owned value, e.g. to keep an enter event until its exit.
    pub fn to_owned_event(&self) -> OwnedEvent {
        let used = self.values_len().min(self.values.len());
        OwnedEvent {
            header: self.header(),
            nparams: self.nparams,
            wide: self.wide,
            lens: self.lens.to_vec(),
            values: self.values.get(..used).unwrap_or_default().to_vec(),
        }
    }
}

/// An owned copy of an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEvent {
    header: EventHeader,
    // INVARIANT: copied from a validated `Event`, so `lens` and `values` satisfy the same
    // invariant as there and `as_event` needs no re-validation.
    nparams: u32,
    wide: bool,
    lens: Vec<u8>,
    values: Vec<u8>,
}

impl OwnedEvent {
    /// Borrows the event.
    pub fn as_event(&self) -> Event<'_> {
        Event {
            ts: self.header.ts,
            tid: self.header.tid,
            cpu: self.header.cpu,
            event_type: self.header.event_type,
            dump_flags: self.header.dump_flags,
            nparams: self.nparams,
            wide: self.wide,
            lens: &self.lens,
            values: &self.values,
        }
    }

    /// The header fields.
    pub fn header(&self) -> EventHeader {
        self.header
    }
}

/// Anything that yields events: a scap file today, a kernel ring buffer later.
///
/// Events borrow from the source, so a source is a lending iterator: each event must be
/// dropped (or copied with [`Event::to_owned_event`]) before asking for the next.
pub trait EventSource {
    /// The source's error type.
    type Error;

    /// The next event, or `None` when the source is exhausted.
    fn next_event(&mut self) -> Result<Option<Event<'_>>, Self::Error>;
}

/// Iterator over raw parameter bytes.
#[derive(Debug, Clone)]
pub struct RawParams<'a> {
    ev: Event<'a>,
    index: usize,
    off: usize,
}

impl<'a> Iterator for RawParams<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.index >= self.ev.nparams() {
            return None;
        }
        let len = self.ev.len_at(self.index)?;
        let out = self.ev.values.get(self.off..self.off.checked_add(len)?)?;
        self.index += 1;
        self.off += len;
        Some(out)
    }
}

/// One parameter: its bytes and, when the table covers it, its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The encoded value.
    pub raw: &'a [u8],
    /// The schema entry, if the event id and index are in the table.
    pub info: Option<&'static ParamInfo>,
}

impl<'a> Param<'a> {
    /// Decodes the value by its schema type (bytes when there is no schema).
    pub fn decode(&self) -> Result<ParamValue<'a>, ParamError> {
        match self.info {
            Some(i) => param::decode(i.ptype, i.extra, self.raw),
            None => param::decode(ParamType::ByteBuf, ParamExtra::None, self.raw),
        }
    }

    /// The parameter name, if known.
    pub fn name(&self) -> Option<&'static str> {
        self.info.map(|i| i.name)
    }
}

/// Event header fields independent of the on-disk version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventHeader {
    /// Timestamp, ns since the epoch.
    pub ts: u64,
    /// Thread id.
    pub tid: i64,
    /// CPU.
    pub cpu: u16,
    /// Event type id.
    pub event_type: u16,
    /// Dump flags (0 normally, [`DF_STATE_ONLY`] for state-only events).
    pub dump_flags: u32,
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;

    fn v2(ty: u16, params: &[&[u8]]) -> Vec<u8> {
        let wide = has_large_lengths(ty);
        let w = if wide { 4 } else { 2 };
        let len = V2_HEADER_LEN + params.len() * w + params.iter().map(|p| p.len()).sum::<usize>();
        let mut b = Vec::new();
        b.extend_from_slice(&7u64.to_le_bytes());
        b.extend_from_slice(&42i64.to_le_bytes());
        b.extend_from_slice(&(len as u32).to_le_bytes());
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&(params.len() as u32).to_le_bytes());
        for p in params {
            if wide {
                b.extend_from_slice(&(p.len() as u32).to_le_bytes());
            } else {
                b.extend_from_slice(&(p.len() as u16).to_le_bytes());
            }
        }
        for p in params {
            b.extend_from_slice(p);
        }
        b
    }

    #[test]
    fn parses_v2_and_decodes_lazily() {
        let fd = 3i64.to_le_bytes();
        let bytes = v2(3, &[&fd, b"/etc/passwd\0"]);
        let (ev, len) = Event::parse_v2(1, 0, &bytes).unwrap();
        assert_eq!(len, bytes.len());
        assert_eq!(ev.tid(), 42);
        assert_eq!(ev.nparams(), 2);
        assert_eq!(ev.decode(0).unwrap(), ParamValue::Fd(3));
        assert_eq!(ev.decode(1).unwrap(), ParamValue::Path(b"/etc/passwd"));
        assert_eq!(ev.param_by_name("name").unwrap().raw, b"/etc/passwd\0");
        assert!(ev.decode(2).is_err());
        assert_eq!(ev.name_in(TableVersion::Current), Some("open"));
        assert_eq!(ev.raw_params().count(), 2);
    }

    #[test]
    fn large_payload_uses_u32_lengths() {
        let bytes = v2(ids::CONTAINER_JSON_2_E, &[b"{}\0"]);
        let (ev, _) = Event::parse_v2(0, 0, &bytes).unwrap();
        assert!(ev.wide_lengths());
        assert_eq!(ev.decode(0).unwrap(), ParamValue::Str(b"{}"));
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut bytes = v2(3, &[&3i64.to_le_bytes()]);
        bytes[26] = 200;
        assert!(matches!(
            Event::parse_v2(0, 0, &bytes),
            Err(EventError::ValuesOverflow { .. })
        ));
        let mut bytes = v2(3, &[]);
        bytes[22] = 255;
        assert!(matches!(
            Event::parse_v2(0, 0, &bytes),
            Err(EventError::LengthsOverflow { .. })
        ));
        assert!(Event::parse_v2(0, 0, &bytes[..10]).is_err());
    }

    #[test]
    fn owned_copy_round_trips() {
        let bytes = v2(3, &[&3i64.to_le_bytes(), b"/x\0"]);
        let (ev, _) = Event::parse_v2(1, 0, &bytes).unwrap();
        let owned = ev.to_owned_event();
        drop(bytes);
        let back = owned.as_event();
        assert_eq!(back.decode(1).unwrap(), ParamValue::Path(b"/x"));
        assert_eq!(back.header(), owned.header());
    }

    #[test]
    fn infers_v1_params() {
        // close exit in the current table has 2 params; old captures carry 1.
        let mut b = Vec::new();
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&2i64.to_le_bytes());
        b.extend_from_slice(&((V1_HEADER_LEN + 2 + 8) as u32).to_le_bytes());
        b.extend_from_slice(&5u16.to_le_bytes());
        b.extend_from_slice(&8u16.to_le_bytes());
        b.extend_from_slice(&0i64.to_le_bytes());
        let (ev, _) = Event::parse_v1(0, 0, &b).unwrap();
        assert_eq!(ev.nparams(), 1);
        assert_eq!(ev.decode(0).unwrap(), ParamValue::Errno(0));
    }
}
