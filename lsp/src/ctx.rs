//! Conversions between the analysis (files, byte spans) and the protocol (URIs, positions).

use lanner_syntax::span::{FileId, FileSpan, LineIndex, Span};
use tower_lsp_server::ls_types::{Location, Position, Range, Uri};

use crate::analysis::Analysis;
use crate::position::{Encoding, Text};

pub struct Ctx<'a> {
    pub a: &'a Analysis,
    pub enc: Encoding,
}

impl<'a> Ctx<'a> {
    pub fn text(&self, file: FileId) -> Option<Text<'a>> {
        let f = self.a.checked.db.get(file)?;
        Some(Text {
            text: &f.text,
            lines: &f.lines,
            encoding: self.enc,
        })
    }

    pub fn lines(&self, file: FileId) -> Option<&'a LineIndex> {
        self.a.checked.db.get(file).map(|f| &f.lines)
    }

    pub fn range(&self, file: FileId, span: Span) -> Range {
        self.text(file)
            .map(|t| t.range(span.start as usize, span.end as usize))
            .unwrap_or_default()
    }

    pub fn location(&self, fs: FileSpan) -> Option<Location> {
        Some(Location::new(
            self.a.uri(fs.file)?.clone(),
            self.range(fs.file, fs.span),
        ))
    }

    /// The file and byte offset of a position in a document of the analysis.
    pub fn offset(&self, uri: &Uri, pos: Position) -> Option<(FileId, usize)> {
        let file = self.a.file_of(uri)?;
        Some((file, self.text(file)?.offset(pos)))
    }
}
