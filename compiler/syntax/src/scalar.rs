//! YAML scalars with a map from offsets in their *value* back to the file.
//!
//! A condition written as a folded block scalar (`>`) is a different string from the bytes in the
//! file: indentation is removed, line breaks fold into spaces, escapes in quoted scalars are
//! decoded. Diagnostics inside a condition must still point at the exact character in the file,
//! so each scalar carries a [`ScalarMap`].

use crate::span::Span;

/// One YAML scalar: its decoded value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scalar {
    pub value: String,
    /// The whole scalar in the file, including quotes or the block indicator line.
    pub span: Span,
    pub style: ScalarStyle,
    pub map: ScalarMap,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// Maps byte offsets in a scalar's value to byte offsets in the file.
///
/// INVARIANT: `segments` is sorted by `value` offset, starts at value offset 0, and every value
/// offset `o` maps to `file + (o - value)` of the last segment with `value <= o`. Characters that
/// do not come verbatim from the file (a decoded escape, a folded line break) start a segment of
/// their own pointing at the text that produced them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScalarMap {
    segments: Vec<Segment>,
    /// Value length, so that the end offset maps too.
    len: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    value: u32,
    file: u32,
}

impl ScalarMap {
    /// A map for a value copied verbatim from `file_start`.
    pub fn verbatim(file_start: usize, len: usize) -> ScalarMap {
        let mut map = ScalarMap::default();
        map.push(0, file_start);
        map.len = len;
        map
    }

    /// A map that sends every offset of a value of `len` bytes to `file_start`: the fallback
    /// when the exact origin of each character cannot be worked out.
    pub fn coarse(file_start: usize, len: usize) -> ScalarMap {
        let mut map = ScalarMap::default();
        for value in 0..=len {
            let seg = Segment {
                value: u32::try_from(value).unwrap_or(u32::MAX),
                file: u32::try_from(file_start).unwrap_or(u32::MAX),
            };
            map.segments.push(seg);
        }
        map.len = len;
        map
    }

    /// Start a segment: value offset `value` corresponds to file offset `file`.
    ///
    /// Segments must be pushed in increasing `value` order; a push at the same value offset as
    /// the previous segment replaces it.
    pub fn push(&mut self, value: usize, file: usize) {
        let seg = Segment {
            value: u32::try_from(value).unwrap_or(u32::MAX),
            file: u32::try_from(file).unwrap_or(u32::MAX),
        };
        match self.segments.last_mut() {
            Some(last) if last.value == seg.value => *last = seg,
            // An out-of-order push would break the sort invariant; ignoring it keeps the map
            // usable (and this function free of panics).
            Some(last) if seg.value < last.value => {}
            // A segment that merely continues the previous run adds nothing.
            Some(last) if last.file.wrapping_add(seg.value - last.value) == seg.file => {}
            _ => self.segments.push(seg),
        }
    }

    pub fn set_len(&mut self, len: usize) {
        self.len = len;
    }

    /// The file offset of value offset `offset`.
    pub fn to_file(&self, offset: usize) -> usize {
        let offset = offset.min(self.len);
        let idx = self
            .segments
            .partition_point(|s| s.value as usize <= offset)
            .saturating_sub(1);
        match self.segments.get(idx) {
            Some(seg) => seg.file as usize + (offset - seg.value as usize),
            None => offset,
        }
    }

    /// The file span of the range `start..end` of `value` (the string this map belongs to).
    /// An empty range maps to an empty span.
    pub fn span(&self, value: &str, start: usize, end: usize) -> Span {
        let s = self.to_file(start);
        if end <= start {
            return Span::at(s);
        }
        // Map the last character rather than the end, so that a range ending just before a
        // folded line break does not stretch over the indentation of the next line.
        let last = value
            .get(..end)
            .and_then(|v| v.chars().next_back())
            .map_or(1, char::len_utf8);
        let e = self.to_file(end.saturating_sub(last)) + last;
        Span::new(s, e.max(s))
    }
}

impl Scalar {
    /// The file span of a range of this scalar's value.
    pub fn span_of(&self, start: usize, end: usize) -> Span {
        self.map.span(&self.value, start, end)
    }
}
