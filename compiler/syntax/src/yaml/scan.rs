//! Re-scanning scalars in the source text to map their decoded value back to the file.
//!
//! saphyr gives a scalar's decoded value and the position where its token starts, but not which
//! character of the value came from where. This module decodes the raw text again, style by
//! style, and records for every piece of the value the file offset that produced it. The result
//! is checked against saphyr's value; when the two disagree (an input this scanner does not
//! understand), the scalar gets a coarse map that sends every offset to its start, which is
//! still a valid if imprecise location.

use crate::scalar::{Scalar, ScalarMap, ScalarStyle};
use crate::span::Span;

use super::tree::skip_properties;

/// Build the located scalar for one scalar event.
///
/// `start`/`end` are saphyr's byte positions of the token, `prev_end` the end of the event
/// before it (a block scalar's header lies between the two), `col` saphyr's column of the start.
pub(crate) fn locate(
    text: &str,
    value: &str,
    style: ScalarStyle,
    start: usize,
    end: usize,
    prev_end: usize,
    col: usize,
) -> Scalar {
    let derived = match style {
        ScalarStyle::Plain => {
            let start = skip_properties(text, start).min(end.max(start));
            plain(text, start, end)
        }
        ScalarStyle::SingleQuoted => quoted(text, skip_properties(text, start), false),
        ScalarStyle::DoubleQuoted => quoted(text, skip_properties(text, start), true),
        ScalarStyle::Literal | ScalarStyle::Folded => block(text, style, start, end, prev_end, col),
    };
    match derived {
        Some(d) if d.value == value => Scalar {
            value: d.value,
            span: d.span,
            style,
            map: d.map,
        },
        _ => {
            let start = skip_properties(text, start).min(end.max(start));
            Scalar {
                value: value.to_string(),
                span: Span::new(start, end.max(start)),
                style,
                map: ScalarMap::coarse(start, value.len()),
            }
        }
    }
}

/// A value being decoded, with its map.
struct Derived {
    value: String,
    map: ScalarMap,
    span: Span,
}

#[derive(Default)]
struct Builder {
    value: String,
    map: ScalarMap,
}

impl Builder {
    /// Append text copied verbatim from file offset `file`.
    fn verbatim(&mut self, s: &str, file: usize) {
        if s.is_empty() {
            return;
        }
        self.map.push(self.value.len(), file);
        self.value.push_str(s);
    }

    /// Append a character produced by the text at file offset `file` (an escape, a line break).
    fn produced(&mut self, c: char, file: usize) {
        self.map.push(self.value.len(), file);
        self.value.push(c);
    }

    /// Fold the line breaks crossed between two pieces of flow content: `breaks` holds the
    /// break that ended the previous line, then one break per empty line. A lone break becomes
    /// a space; otherwise each empty line becomes a newline.
    fn fold(&mut self, breaks: &[usize]) {
        match breaks {
            [] => {}
            [only] => self.produced(' ', *only),
            [_, rest @ ..] => {
                for b in rest {
                    self.produced('\n', *b);
                }
            }
        }
    }

    fn finish(self, span: Span) -> Derived {
        let mut map = self.map;
        map.set_len(self.value.len());
        Derived {
            value: self.value,
            map,
            span,
        }
    }
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// One physical line of a region: content `start..content_end`, then a line break at
/// `content_end` when `has_break`.
struct Line {
    start: usize,
    content_end: usize,
    has_break: bool,
}

/// Split `text[start..end]` into lines. A line break is `\r\n`, `\n` or `\r`.
fn lines(text: &str, start: usize, end: usize) -> Vec<Line> {
    let mut out = Vec::new();
    let region = text.get(start..end).unwrap_or("");
    let bytes = region.as_bytes();
    let mut line_start = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'\n') => {
                out.push(Line {
                    start: start + line_start,
                    content_end: start + i,
                    has_break: true,
                });
                i += 1;
                line_start = i;
            }
            Some(b'\r') => {
                let len = if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                out.push(Line {
                    start: start + line_start,
                    content_end: start + i,
                    has_break: true,
                });
                i += len;
                line_start = i;
            }
            _ => i += 1,
        }
    }
    if line_start < bytes.len() || out.is_empty() {
        out.push(Line {
            start: start + line_start,
            content_end: start + bytes.len(),
            has_break: false,
        });
    }
    out
}

/// A plain scalar spanning `start..end` (saphyr's end is exact for plain scalars, give or take
/// trailing blanks). Lines are trimmed and folded.
fn plain(text: &str, start: usize, end: usize) -> Option<Derived> {
    let mut b = Builder::default();
    let mut breaks: Vec<usize> = Vec::new();
    let mut first = true;
    let mut last_end = start;
    for line in lines(text, start, end) {
        let raw = text.get(line.start..line.content_end)?;
        let trimmed_end = raw.trim_end_matches(is_blank);
        let lead = if first {
            0
        } else {
            trimmed_end.len() - trimmed_end.trim_start_matches(is_blank).len()
        };
        let content = trimmed_end.get(lead..)?;
        if content.is_empty() && !first {
            if line.has_break {
                breaks.push(line.content_end);
            }
            continue;
        }
        if !first {
            b.fold(&breaks);
        }
        let content_start = line.start + lead;
        b.verbatim(content, content_start);
        last_end = content_start + content.len();
        breaks.clear();
        if line.has_break {
            breaks.push(line.content_end);
        }
        first = false;
    }
    Some(b.finish(Span::new(start, last_end)))
}

/// One piece of a quoted scalar's current line, kept until the line's end decides whether
/// trailing blanks survive.
struct Piece {
    text: String,
    file: usize,
    /// Verbatim blanks are stripped before an unescaped line break; escapes never are.
    blank: bool,
}

fn flush(b: &mut Builder, pieces: &mut Vec<Piece>, strip_trailing_blanks: bool) {
    if strip_trailing_blanks {
        while pieces.last().is_some_and(|p| p.blank) {
            pieces.pop();
        }
    }
    for p in pieces.drain(..) {
        b.verbatim(&p.text, p.file);
    }
}

/// A single- or double-quoted scalar whose opening quote is at `start`.
fn quoted(text: &str, start: usize, double: bool) -> Option<Derived> {
    let quote = if double { '"' } else { '\'' };
    let rest = text.get(start..)?;
    if !rest.starts_with(quote) {
        return None;
    }
    let mut b = Builder::default();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut pos = start + 1;
    loop {
        let c = text.get(pos..)?.chars().next()?;
        match c {
            '\'' if !double => {
                if text.get(pos + 1..)?.starts_with('\'') {
                    pieces.push(Piece {
                        text: "'".into(),
                        file: pos,
                        blank: false,
                    });
                    pos += 2;
                } else {
                    flush(&mut b, &mut pieces, false);
                    return Some(b.finish(Span::new(start, pos + 1)));
                }
            }
            '"' if double => {
                flush(&mut b, &mut pieces, false);
                return Some(b.finish(Span::new(start, pos + 1)));
            }
            '\\' if double => {
                let next = text.get(pos + 1..)?.chars().next()?;
                if next == '\n' || next == '\r' {
                    // An escaped line break: the line's blanks stay, the break goes, and only
                    // the empty lines after it turn into newlines.
                    flush(&mut b, &mut pieces, false);
                    let after = skip_break(text, pos + 1);
                    let (breaks, content) = skip_empty_lines(text, after);
                    for br in breaks {
                        b.produced('\n', br);
                    }
                    pos = content;
                    continue;
                }
                let (ch, len) = escape(text, pos)?;
                pieces.push(Piece {
                    text: ch.to_string(),
                    file: pos,
                    blank: false,
                });
                pos += len;
            }
            '\n' | '\r' => {
                flush(&mut b, &mut pieces, true);
                let after = skip_break(text, pos);
                let (mut breaks, content) = skip_empty_lines(text, after);
                breaks.insert(0, pos);
                b.fold(&breaks);
                pos = content;
            }
            c => {
                let blank = is_blank(c);
                match pieces.last_mut() {
                    // Extend the current run, so a long line stays one segment.
                    Some(p) if p.blank == blank && p.file + p.text.len() == pos => p.text.push(c),
                    _ => pieces.push(Piece {
                        text: c.to_string(),
                        file: pos,
                        blank,
                    }),
                }
                pos += c.len_utf8();
            }
        }
    }
}

/// The offset after the line break at `pos`.
fn skip_break(text: &str, pos: usize) -> usize {
    let rest = text.get(pos..).unwrap_or("");
    if rest.starts_with("\r\n") {
        pos + 2
    } else if rest.starts_with('\n') || rest.starts_with('\r') {
        pos + 1
    } else {
        pos
    }
}

/// From the start of a line, skip blank-only lines and the leading blanks of the next line.
/// Returns the positions of the skipped lines' breaks and where the content resumes.
fn skip_empty_lines(text: &str, mut pos: usize) -> (Vec<usize>, usize) {
    let mut breaks = Vec::new();
    loop {
        let rest = text.get(pos..).unwrap_or("");
        let blanks = rest.len() - rest.trim_start_matches(is_blank).len();
        let after = pos + blanks;
        let tail = text.get(after..).unwrap_or("");
        if tail.starts_with('\n') || tail.starts_with('\r') {
            breaks.push(after);
            pos = skip_break(text, after);
        } else {
            return (breaks, after);
        }
    }
}

/// Decode the escape sequence whose backslash is at `pos`: the character and the escape's
/// length in bytes.
fn escape(text: &str, pos: usize) -> Option<(char, usize)> {
    let c = text.get(pos + 1..)?.chars().next()?;
    let simple = match c {
        '0' => Some('\0'),
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        't' | '\t' => Some('\t'),
        'n' => Some('\n'),
        'v' => Some('\x0b'),
        'f' => Some('\x0c'),
        'r' => Some('\r'),
        'e' => Some('\x1b'),
        ' ' => Some(' '),
        '"' => Some('"'),
        '/' => Some('/'),
        '\\' => Some('\\'),
        'N' => Some('\u{85}'),
        '_' => Some('\u{a0}'),
        'L' => Some('\u{2028}'),
        'P' => Some('\u{2029}'),
        _ => None,
    };
    if let Some(ch) = simple {
        return Some((ch, 1 + c.len_utf8()));
    }
    let digits = match c {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => return None,
    };
    let hex = text.get(pos + 2..pos + 2 + digits)?;
    let code = u32::from_str_radix(hex, 16).ok()?;
    Some((char::from_u32(code)?, 2 + digits))
}

/// A literal (`|`) or folded (`>`) block scalar. saphyr's `start` is the first content
/// character, at the content indentation, and `end` lies after its trailing empty lines.
fn block(
    text: &str,
    style: ScalarStyle,
    start: usize,
    end: usize,
    prev_end: usize,
    col: usize,
) -> Option<Derived> {
    let (header, header_end, chomp) = find_header(text, prev_end.min(start), start)?;
    let body_start = skip_break(text, line_end(text, header_end));
    let indent = col;
    let folded = style == ScalarStyle::Folded;
    let mut b = Builder::default();
    // Breaks since the last text line: the one ending it, then one per empty line.
    let mut pending: Vec<usize> = Vec::new();
    let mut prev_spaced: Option<bool> = None;
    let mut last_end = header_end;
    let mut region_end = end.max(body_start);
    // saphyr's end may fall short of a final content line without a line break; never past
    // the text.
    region_end = region_end.min(text.len());
    for line in lines(text, body_start, region_end) {
        let raw = text.get(line.start..line.content_end)?;
        let spaces = raw.len() - raw.trim_start_matches(' ').len();
        // A line of spaces no longer than the indentation is empty; one with more spaces is
        // a text line whose content is the extra spaces.
        let is_empty =
            (spaces == raw.len() && spaces <= indent) || (spaces < indent && raw.trim().is_empty());
        if is_empty || spaces < indent {
            if !is_empty {
                // A less indented non-empty line ends the scalar; saphyr's end says where.
                break;
            }
            if line.has_break {
                pending.push(line.content_end);
            }
            continue;
        }
        let content_start = line.start + indent;
        let content = text.get(content_start..line.content_end)?;
        let spaced = content.starts_with(is_blank);
        // Folding joins two lines that are both unindented text; everything else (leading
        // empty lines, literal scalars, more-indented lines) keeps its line breaks.
        if folded && prev_spaced == Some(false) && !spaced {
            b.fold(&pending);
        } else {
            for br in &pending {
                b.produced('\n', *br);
            }
        }
        b.verbatim(content, content_start);
        last_end = line.content_end;
        pending.clear();
        if line.has_break {
            pending.push(line.content_end);
        }
        prev_spaced = Some(spaced);
    }
    let trailing: &[usize] = match chomp {
        Chomp::Strip => &[],
        Chomp::Clip if prev_spaced.is_some() => pending.get(..1).unwrap_or(&[]),
        Chomp::Clip => &[],
        Chomp::Keep => &pending,
    };
    for br in trailing {
        b.produced('\n', *br);
        // The span covers the line breaks the value keeps.
        last_end = last_end.max(skip_break(text, *br));
    }
    Some(b.finish(Span::new(header, last_end)))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// The end of the line containing `pos` (the position of its line break or of the text end).
fn line_end(text: &str, pos: usize) -> usize {
    let rest = text.get(pos..).unwrap_or("");
    pos + rest.find(['\n', '\r']).unwrap_or(rest.len())
}

/// Find a block scalar's header (`|`, `>`, with chomping and indentation indicators) in
/// `from..to`: the first `|` or `>` followed only by indicators, blanks and a comment up to the
/// end of its line. Returns its offset, the offset after the indicators, and the chomping.
fn find_header(text: &str, from: usize, to: usize) -> Option<(usize, usize, Chomp)> {
    let region = text.get(from..to)?;
    let mut in_comment = false;
    let mut prev_char = '\n';
    for (i, c) in region.char_indices() {
        let before = prev_char;
        prev_char = c;
        // Comments may hold `|` or `>`; a comment starts at a `#` after a blank or a break.
        if c == '\n' || c == '\r' {
            in_comment = false;
            continue;
        }
        if in_comment {
            continue;
        }
        if c == '#' && (is_blank(before) || before == '\n' || before == '\r') {
            in_comment = true;
            continue;
        }
        if c != '|' && c != '>' {
            continue;
        }
        let at = from + i;
        let after = text.get(at + 1..)?;
        let indicators = after.len()
            - after
                .trim_start_matches(['+', '-', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
                .len();
        let flags = after.get(..indicators)?;
        let tail = after.get(indicators..)?;
        let line = tail.get(..tail.find(['\n', '\r']).unwrap_or(tail.len()))?;
        let line_trim = line.trim_start_matches(is_blank);
        let ok =
            line_trim.is_empty() || (line_trim.starts_with('#') && line_trim.len() < line.len());
        if !ok || indicators > 2 {
            continue;
        }
        let chomp = if flags.contains('-') {
            Chomp::Strip
        } else if flags.contains('+') {
            Chomp::Keep
        } else {
            Chomp::Clip
        };
        return Some((at, at + 1 + indicators, chomp));
    }
    None
}
