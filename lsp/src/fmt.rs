//! Formatting and range formatting through the front end's formatter (`rulec fmt`), whose
//! edits already come verified (the formatted file means the same).

use lanner_syntax::format::{FormatError, format_edits, format_range};
use lanner_syntax::span::{FileId, Span};
use tower_lsp_server::ls_types::TextEdit;

use crate::ctx::Ctx;

pub fn format(
    cx: &Ctx<'_>,
    file: FileId,
    range: Option<(usize, usize)>,
) -> Result<Vec<TextEdit>, FormatError> {
    let text = cx.a.text(file);
    let edits = match range {
        None => format_edits(text)?,
        Some((s, e)) => format_range(text, Span::new(s, e))?,
    };
    Ok(edits
        .into_iter()
        .map(|e| TextEdit::new(cx.range(file, e.span), e.replacement))
        .collect())
}
