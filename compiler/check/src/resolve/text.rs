//! Condition text assembled from pieces of several scalars.
//!
//! Falco builds condition text by concatenation (appends join with a blank, exceptions add
//! `and not (...)`) and by textual list substitution, and only then parses it. To keep every
//! diagnostic pointing into a file, a [`ComposedText`] remembers, for each piece of its text,
//! where the piece came from.

use lanner_syntax::condition::SpanMap;
use lanner_syntax::scalar::Scalar;
use lanner_syntax::span::{FileId, FileSpan, Span};
use std::sync::Arc;

#[derive(Clone, Debug)]
enum Origin {
    /// Bytes `value_start..` of a scalar's value.
    Scalar {
        file: FileId,
        scalar: Arc<Scalar>,
        value_start: usize,
    },
    /// Text made up by the loader (a joining blank, `and not`); maps to one place.
    Point(FileSpan),
}

#[derive(Clone, Debug)]
struct Piece {
    /// Where the piece starts in `text`.
    start: usize,
    origin: Origin,
}

/// INVARIANT: `pieces` is sorted by `start`, the first piece starts at 0 (when the text is not
/// empty), and every byte of `text` belongs to the last piece starting at or before it.
#[derive(Clone, Debug, Default)]
pub struct ComposedText {
    text: String,
    pieces: Vec<Piece>,
}

impl ComposedText {
    pub fn new() -> ComposedText {
        ComposedText::default()
    }

    /// The whole value of a scalar.
    pub fn from_scalar(file: FileId, scalar: &Arc<Scalar>) -> ComposedText {
        let mut t = ComposedText::new();
        t.push_scalar(file, scalar, 0, scalar.value.len());
        t
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Appends `scalar.value[start..end]`.
    pub fn push_scalar(&mut self, file: FileId, scalar: &Arc<Scalar>, start: usize, end: usize) {
        let Some(part) = scalar.value.get(start..end) else {
            return;
        };
        self.pieces.push(Piece {
            start: self.text.len(),
            origin: Origin::Scalar {
                file,
                scalar: Arc::clone(scalar),
                value_start: start,
            },
        });
        self.text.push_str(part);
    }

    /// Appends made-up text that maps to `at`.
    pub fn push_synthetic(&mut self, text: &str, at: FileSpan) {
        if text.is_empty() {
            return;
        }
        self.pieces.push(Piece {
            start: self.text.len(),
            origin: Origin::Point(at),
        });
        self.text.push_str(text);
    }

    /// Appends a slice of another composed text, keeping its origins.
    pub fn push_slice(&mut self, other: &ComposedText, start: usize, end: usize) {
        if start >= end {
            return;
        }
        let first = other
            .pieces
            .partition_point(|p| p.start <= start)
            .saturating_sub(1);
        for (i, p) in other.pieces.iter().enumerate().skip(first) {
            let p_end = other
                .pieces
                .get(i + 1)
                .map_or(other.text.len(), |n| n.start);
            if p.start >= end {
                break;
            }
            let s = start.max(p.start);
            let e = end.min(p_end);
            if s >= e {
                continue;
            }
            let origin = match &p.origin {
                Origin::Scalar {
                    file,
                    scalar,
                    value_start,
                } => Origin::Scalar {
                    file: *file,
                    scalar: Arc::clone(scalar),
                    value_start: value_start + (s - p.start),
                },
                Origin::Point(at) => Origin::Point(*at),
            };
            self.pieces.push(Piece {
                start: self.text.len(),
                origin,
            });
            self.text.push_str(other.text.get(s..e).unwrap_or(""));
        }
    }

    /// Appends all of another composed text.
    pub fn push_text(&mut self, other: &ComposedText) {
        self.push_slice(other, 0, other.text.len());
    }

    /// The file span of the whole text (its first piece's place), for item-level messages.
    pub fn anchor(&self) -> Option<FileSpan> {
        if self.text.is_empty() {
            return None;
        }
        Some(self.map(0, self.text.len().min(1)))
    }

    fn map_offset(&self, offset: usize, is_end: bool) -> FileSpan {
        // For an end offset, look up the byte before it, so a range ending at a piece boundary
        // stays in its own piece.
        let probe = if is_end && offset > 0 {
            offset - 1
        } else {
            offset
        };
        let idx = self
            .pieces
            .partition_point(|p| p.start <= probe)
            .saturating_sub(1);
        match self.pieces.get(idx) {
            Some(Piece {
                start,
                origin:
                    Origin::Scalar {
                        file,
                        scalar,
                        value_start,
                    },
            }) => {
                let v = value_start + (offset.saturating_sub(*start));
                let s = if is_end {
                    scalar.span_of(v.saturating_sub(1).max(*value_start), v)
                } else {
                    scalar.span_of(v, v)
                };
                let at = if is_end { s.end } else { s.start };
                FileSpan::new(*file, Span::new(at as usize, at as usize))
            }
            Some(Piece {
                origin: Origin::Point(at),
                ..
            }) => *at,
            None => FileSpan::new(FileId(0), Span::default()),
        }
    }
}

impl SpanMap for ComposedText {
    fn map(&self, start: usize, end: usize) -> FileSpan {
        let s = self.map_offset(start, false);
        if end <= start {
            return FileSpan::new(
                s.file,
                Span::new(s.span.start as usize, s.span.start as usize),
            );
        }
        let e = self.map_offset(end, true);
        if e.file != s.file || e.span.end < s.span.start {
            // The range spans pieces from different places; show its start.
            return s;
        }
        FileSpan::new(
            s.file,
            Span::new(s.span.start as usize, e.span.end as usize),
        )
    }
}
