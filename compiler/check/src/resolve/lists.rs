//! Textual list substitution, exactly as Falco does it before parsing a condition.
//!
//! For every list, in definition order, each occurrence of its name that is delimited by the
//! start or end of the text, a blank, `(`, `)`, `,` or `=` is replaced by the list's items
//! joined with `", "`. Blanks around the name are swallowed and one blank is put on each side
//! of the items; an empty list also takes one adjacent comma with it. The substitution ignores
//! quoting context (`x = "a my_list b"` is not a match only because `"` is no delimiter).

use super::text::ComposedText;
use lanner_syntax::span::FileSpan;

/// One list item ready for pasting: its text (quoted if it holds a space) and its origin.
#[derive(Clone, Debug)]
pub struct ListItemText {
    pub text: ComposedText,
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_delim(b: u8) -> bool {
    is_blank(b) || matches!(b, b'(' | b')' | b',' | b'=')
}

/// The maximal runs of non-delimiters of `text`: a list name without a delimiter in it has a
/// delimited occurrence exactly when it is one of them.
pub fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_ascii() && is_delim(c as u8))
        .filter(|t| !t.is_empty())
}

/// Whether `name` is empty or a single token (holds no delimiter); empty names never match.
pub fn is_token(name: &str) -> bool {
    !name.bytes().any(is_delim)
}

/// Replaces every delimited occurrence of `name` in `text` by `items`. Returns whether any
/// occurrence was replaced. `use_site` locates the separators the substitution makes up when
/// nothing better is known.
pub fn substitute(text: &ComposedText, name: &str, items: &[ListItemText]) -> Option<ComposedText> {
    if name.is_empty() || !text.as_str().contains(name) {
        return None;
    }
    let mut cur = text.clone();
    let mut from = 0usize;
    let mut used = false;
    loop {
        let s = cur.as_str();
        let Some(found) = s.get(from..).and_then(|r| r.find(name)).map(|p| p + from) else {
            break;
        };
        let bytes = s.as_bytes();
        let mut start = found;
        let mut end = found + name.len();
        let before_ok = start == 0 || bytes.get(start - 1).copied().is_some_and(is_delim);
        let after_ok = end >= bytes.len() || bytes.get(end).copied().is_some_and(is_delim);
        if !(before_ok && after_ok) {
            from = found + 1;
            continue;
        }
        let anchor: FileSpan = {
            use lanner_syntax::condition::SpanMap;
            cur.map(found, end)
        };
        while start > 0 && bytes.get(start - 1).copied().is_some_and(is_blank) {
            start -= 1;
        }
        while bytes.get(end).copied().is_some_and(is_blank) {
            end += 1;
        }
        if items.is_empty() {
            if start > 0 && bytes.get(start - 1) == Some(&b',') {
                start -= 1;
            } else if bytes.get(end) == Some(&b',') {
                end += 1;
            }
        }
        let mut next = ComposedText::new();
        next.push_slice(&cur, 0, start);
        if start > 0 {
            next.push_synthetic(" ", anchor);
        }
        let sub_start = next.as_str().len();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                next.push_synthetic(", ", anchor);
            }
            next.push_text(&item.text);
        }
        next.push_synthetic(" ", anchor);
        let resume = next.as_str().len();
        let _ = sub_start;
        next.push_slice(&cur, end, cur.as_str().len());
        cur = next;
        used = true;
        // Continue after the pasted items, so that an item equal to the list's own name is
        // not substituted again.
        from = resume;
    }
    used.then_some(cur)
}
