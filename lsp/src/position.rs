//! Positions as the client counts them.
//!
//! LSP positions are (line, character) pairs whose character unit is negotiated: UTF-16 code
//! units unless the client offers UTF-8 or UTF-32 in `general.positionEncodings`. Lanner spans
//! are byte offsets, so every position crossing the protocol goes through this module.

use lanner_syntax::span::{LineIndex, floor_char_boundary};
use tower_lsp_server::ls_types::{Position, PositionEncodingKind, Range};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    /// Picks the encoding from what the client offers: UTF-8 (no conversion), then UTF-32, and
    /// UTF-16 (the protocol's default, which every client supports) otherwise.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        let offered = offered.unwrap_or(&[]);
        if offered.contains(&PositionEncodingKind::UTF8) {
            Encoding::Utf8
        } else if offered.contains(&PositionEncodingKind::UTF32) {
            Encoding::Utf32
        } else {
            Encoding::Utf16
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    fn width(self, c: char) -> usize {
        match self {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
            Encoding::Utf32 => 1,
        }
    }
}

/// A text with its line index, to convert between byte offsets and client positions.
pub struct Text<'a> {
    pub text: &'a str,
    pub lines: &'a LineIndex,
    pub encoding: Encoding,
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Text<'_> {
    pub fn position(&self, offset: usize) -> Position {
        let offset = floor_char_boundary(self.text, offset);
        let line = self.lines.line_of(offset);
        let start = self.lines.line_start(line);
        let col = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().map(|c| self.encoding.width(c)).sum());
        Position::new(to_u32(line), to_u32(col))
    }

    pub fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end))
    }

    /// The byte offset of a position. A character past the end of its line clamps to the end of
    /// the line (the protocol says so); a line past the end clamps to the end of the text.
    pub fn offset(&self, pos: Position) -> usize {
        let line = pos.line as usize;
        if line > self.lines.line_of(self.text.len()) {
            return self.text.len();
        }
        let start = self.lines.line_start(line);
        let end = self.lines.line_start(line + 1).min(self.text.len());
        let line_text = self.text.get(start..end).unwrap_or("");
        let line_text = line_text.strip_suffix('\n').unwrap_or(line_text);
        let line_text = line_text.strip_suffix('\r').unwrap_or(line_text);
        let mut units = 0usize;
        for (i, c) in line_text.char_indices() {
            if units >= pos.character as usize {
                return start + i;
            }
            units += self.encoding.width(c);
        }
        start + line_text.len()
    }
}

/// Applies one `didChange` content change to `text`: a whole-text replacement when `range` is
/// absent, else the replacement of that range.
pub fn apply_change(text: &mut String, range: Option<Range>, new: &str, encoding: Encoding) {
    match range {
        None => {
            text.clear();
            text.push_str(new);
        }
        Some(r) => {
            let lines = LineIndex::new(text);
            let t = Text {
                text,
                lines: &lines,
                encoding,
            };
            let start = t.offset(r.start);
            let end = t.offset(r.end).max(start);
            text.replace_range(start..end, new);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_every_encoding() {
        // `é` is 2 bytes / 1 unit, `𝔸` 4 bytes / 2 UTF-16 units / 1 code point.
        let text = "a: é𝔸x\nb\n";
        let lines = LineIndex::new(text);
        for (enc, col_of_x) in [
            (Encoding::Utf8, 9),
            (Encoding::Utf16, 6),
            (Encoding::Utf32, 5),
        ] {
            let t = Text {
                text,
                lines: &lines,
                encoding: enc,
            };
            let x = text.find('x').unwrap_or(0);
            assert_eq!(t.position(x), Position::new(0, col_of_x));
            assert_eq!(t.offset(Position::new(0, col_of_x)), x);
            assert_eq!(t.offset(Position::new(1, 0)), text.find('b').unwrap_or(0));
            assert_eq!(t.offset(Position::new(0, 99)), x + 1);
            assert_eq!(t.offset(Position::new(9, 0)), text.len());
        }
    }

    #[test]
    fn incremental_change() {
        let mut s = String::from("ab\ncd\n");
        apply_change(
            &mut s,
            Some(Range::new(Position::new(1, 1), Position::new(1, 2))),
            "X",
            Encoding::Utf16,
        );
        assert_eq!(s, "ab\ncX\n");
    }
}
