//! A located YAML node tree built from saphyr-parser events.
//!
//! saphyr reports positions in characters; everything here is converted to byte offsets at once
//! so that the rest of the loader only ever sees byte spans into the original text.

use saphyr_parser::{Event, Parser, ScalarStyle as SaphyrStyle};

use crate::scalar::{Scalar, ScalarStyle};
use crate::span::Span;

use super::scan;

/// One YAML node with its byte span.
#[derive(Clone, Debug)]
pub enum Node {
    Scalar(ScalarNode),
    Seq(Vec<Node>, Span),
    Map(Vec<(Node, Node)>, Span),
}

#[derive(Clone, Debug)]
pub struct ScalarNode {
    pub scalar: Scalar,
    /// Whether yaml-cpp would read this scalar as null: a plain `~`, `null`, `Null`, `NULL` or
    /// nothing at all.
    pub null: bool,
}

impl Node {
    pub fn span(&self) -> Span {
        match self {
            Node::Scalar(s) => s.scalar.span,
            Node::Seq(_, span) | Node::Map(_, span) => *span,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Node::Scalar(s) if s.null)
    }

    /// The word used in messages for this node's shape.
    pub fn shape(&self) -> &'static str {
        match self {
            Node::Scalar(s) if s.null => "null",
            Node::Scalar(_) => "a string",
            Node::Seq(..) => "a sequence",
            Node::Map(..) => "a mapping",
        }
    }
}

/// A YAML syntax error at a byte offset.
#[derive(Clone, Debug)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

/// What the parser produced: the root node of every complete document and, after a syntax
/// error, the part of the broken document that was complete before the error.
#[derive(Debug, Default)]
pub struct Documents {
    pub docs: Vec<Node>,
    /// The items of the document in progress that were complete when the error struck, and the
    /// span of that document's root sequence. `None` when there was no error or when the broken
    /// document was not a sequence.
    pub partial: Option<(Vec<Node>, Span)>,
    pub error: Option<SyntaxError>,
}

/// Byte offsets of every character index, plus the text length at the end.
struct CharIndex {
    offsets: Vec<usize>,
}

impl CharIndex {
    fn new(text: &str) -> CharIndex {
        let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        offsets.push(text.len());
        CharIndex { offsets }
    }

    fn byte(&self, char_index: usize) -> usize {
        self.offsets
            .get(char_index)
            .or_else(|| self.offsets.last())
            .copied()
            .unwrap_or(0)
    }
}

/// A collection being built.
enum Frame {
    Seq {
        items: Vec<Node>,
        start: usize,
        /// Set for flow sequences (`[...]`), whose span ends at the closing bracket.
        flow: bool,
        anchor: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
        start: usize,
        flow: bool,
        anchor: usize,
    },
}

/// How many lines [`parse`] will re-indent before giving up on an indentation error.
const MAX_INDENT_FIXES: usize = 256;

/// Parse `text` into located node trees.
///
/// saphyr insists that the lines of a flow collection (`[...]`) be indented deeper than the
/// block mapping holding it; yaml-cpp, and so Falco, does not, and the upstream rules close some
/// lists with a `]` in the key's column. When saphyr reports such an indentation error, the
/// offending line is indented in a shadow copy of the text and parsing starts again. Inserted
/// spaces map back to the start of their line, every other character to its own offset, so all
/// positions still refer to the original text.
pub fn parse(text: &str) -> Documents {
    let mut inserts: Vec<(usize, usize)> = Vec::new();
    loop {
        let (shadow, index) = shadow_text(text, &inserts);
        let (docs, flow_col) = parse_once(text, &shadow, &index);
        let Some(err) = &docs.error else {
            return docs;
        };
        let fixable = matches!(
            err.message.as_str(),
            "invalid indentation" | "invalid indentation in flow construct"
        );
        if !fixable || inserts.len() >= MAX_INDENT_FIXES {
            return docs;
        }
        match indentation_fix(text, err.offset, flow_col) {
            Some(fix) if !inserts.iter().any(|(at, _)| *at == fix.0) => {
                inserts.push(fix);
                inserts.sort_unstable();
            }
            _ => return docs,
        }
    }
}

/// The original text with `spaces` inserted at each given line start, and the map from the
/// shadow's character indices to byte offsets in the original.
fn shadow_text(text: &str, inserts: &[(usize, usize)]) -> (String, CharIndex) {
    if inserts.is_empty() {
        return (text.to_string(), CharIndex::new(text));
    }
    let mut shadow = String::with_capacity(text.len() + 64);
    let mut offsets = Vec::with_capacity(text.len() + 64);
    let mut pending = inserts.iter().peekable();
    for (i, c) in text.char_indices() {
        while let Some((at, spaces)) = pending.peek() {
            if *at > i {
                break;
            }
            if *at == i {
                for _ in 0..*spaces {
                    shadow.push(' ');
                    offsets.push(i);
                }
            }
            pending.next();
        }
        shadow.push(c);
        offsets.push(i);
    }
    offsets.push(text.len());
    (shadow, CharIndex { offsets })
}

/// Where to insert how many spaces to cure an indentation error at `offset`: at the start of
/// its line, enough to move its first character one column past the open flow collection (or,
/// when that is unknown, past the previous line's indentation).
fn indentation_fix(text: &str, offset: usize, flow_col: Option<usize>) -> Option<(usize, usize)> {
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(line_start..)?;
    let indent = line.len() - line.trim_start_matches(' ').len();
    let target = match flow_col {
        Some(col) => col + 1,
        // Outside a known flow collection only a closing bracket is re-indented: moving other
        // lines could turn a real block indentation error into a different, valid structure.
        None if !line.trim_start_matches(' ').starts_with([']', '}']) => return None,
        None => {
            let prev = text.get(..line_start.saturating_sub(1))?;
            let prev_line = prev.rsplit('\n').find(|l| !l.trim().is_empty())?;
            prev_line.len() - prev_line.trim_start_matches(' ').len() + 1
        }
    };
    (target > indent).then(|| (line_start, target - indent))
}

/// One parsing pass over `shadow` (which is `text`, possibly re-indented; `index` maps its
/// character indices to `text`'s byte offsets). Also returns, after an error, the column of the
/// innermost flow collection open at that point.
fn parse_once(text: &str, shadow: &str, index: &CharIndex) -> (Documents, Option<usize>) {
    let mut parser = Parser::new_from_str(shadow);
    let mut out = Documents::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<(usize, Node)> = Vec::new();
    let mut alias_budget: usize = 1_000_000;
    // The end of the previous event, where the search for a block scalar's header starts.
    let mut prev_end = 0usize;
    let mut doc_root: Option<Node> = None;

    while let Some(result) = parser.next_event() {
        let (event, marks) = match result {
            Ok(pair) => pair,
            Err(err) => {
                out.error = Some(SyntaxError {
                    offset: index.byte(err.marker().index()),
                    message: err.info().to_string(),
                });
                let flow_col = stack.iter().rev().find_map(|f| match f {
                    Frame::Seq {
                        flow: true, start, ..
                    }
                    | Frame::Map {
                        flow: true, start, ..
                    } => Some(column(text, *start)),
                    _ => None,
                });
                // Keep the complete items of the document in progress: they are the bottom
                // frame's items when the document is a sequence.
                if let Some(Frame::Seq { items, start, .. }) = stack.into_iter().next() {
                    let end = items.last().map_or(start, |n| n.span().end as usize);
                    out.partial = Some((items, Span::new(start, end)));
                }
                return (out, flow_col);
            }
        };
        let start = index.byte(marks.start.index());
        let end = index.byte(marks.end.index());
        let completed: Option<(Node, usize)> = match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing | Event::DocumentStart(_) => None,
            Event::DocumentEnd => {
                if let Some(root) = doc_root.take() {
                    out.docs.push(root);
                }
                anchors.clear();
                None
            }
            Event::Alias(id) => {
                // An alias stands for a copy of the anchored node; its spans stay those of the
                // anchor, which is where the text really is.
                let found = anchors.iter().rev().find(|(a, _)| *a == id);
                let size = found.map_or(1, |(_, n)| node_count(n));
                // Aliases of aliases grow exponentially ("billion laughs"); a rules file has
                // no business expanding to millions of nodes, so stop there.
                alias_budget = alias_budget.saturating_sub(size);
                if alias_budget == 0 {
                    out.error = Some(SyntaxError {
                        offset: start,
                        message: "aliases expand to too many nodes".to_string(),
                    });
                    if let Some(Frame::Seq { items, start, .. }) = stack.into_iter().next() {
                        let end = items.last().map_or(start, |n| n.span().end as usize);
                        out.partial = Some((items, Span::new(start, end)));
                    }
                    return (out, None);
                }
                let node = found
                    .map(|(_, n)| n.clone())
                    .unwrap_or_else(|| null_node(start, end));
                Some((node, 0))
            }
            Event::Scalar(value, style, anchor, tag) => {
                let style = convert_style(style);
                let scalar =
                    scan::locate(text, &value, style, start, end, prev_end, marks.start.col());
                let null = style == ScalarStyle::Plain
                    && tag.is_none()
                    && matches!(value.as_ref(), "" | "~" | "null" | "Null" | "NULL");
                Some((Node::Scalar(ScalarNode { scalar, null }), anchor))
            }
            Event::SequenceStart(anchor, _) => {
                let flow = text.get(start..).is_some_and(|t| t.starts_with('['));
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    start: if flow {
                        start
                    } else {
                        skip_properties(text, start)
                    },
                    flow,
                    anchor,
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                let flow = text.get(start..).is_some_and(|t| t.starts_with('{'));
                stack.push(Frame::Map {
                    entries: Vec::new(),
                    pending_key: None,
                    start: if flow {
                        start
                    } else {
                        skip_properties(text, start)
                    },
                    flow,
                    anchor,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    start: s,
                    flow,
                    anchor,
                }) => {
                    let e = if flow {
                        end
                    } else {
                        items.last().map_or(s, |n| n.span().end as usize)
                    };
                    Some((Node::Seq(items, Span::new(s, e.max(s))), anchor))
                }
                // saphyr never ends a sequence it did not start; stay quiet if it ever does.
                Some(other) => {
                    stack.push(other);
                    None
                }
                None => None,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    entries,
                    pending_key,
                    start: s,
                    flow,
                    anchor,
                }) => {
                    let mut entries = entries;
                    // A key without a value cannot survive a well-formed stream, but keep it
                    // as a key with a null value rather than losing it.
                    if let Some(key) = pending_key {
                        let at = key.span().end as usize;
                        entries.push((key, null_node(at, at)));
                    }
                    let e = if flow {
                        end
                    } else {
                        entries.last().map_or(s, |(_, v)| v.span().end as usize)
                    };
                    Some((Node::Map(entries, Span::new(s, e.max(s))), anchor))
                }
                Some(other) => {
                    stack.push(other);
                    None
                }
                None => None,
            },
        };
        prev_end = end;
        if let Some((node, anchor)) = completed {
            if anchor != 0 {
                anchors.push((anchor, node.clone()));
            }
            match stack.last_mut() {
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map {
                    entries,
                    pending_key,
                    ..
                }) => match pending_key.take() {
                    Some(key) => entries.push((key, node)),
                    None => *pending_key = Some(node),
                },
                None => doc_root = Some(node),
            }
        }
    }
    if let Some(root) = doc_root.take() {
        out.docs.push(root);
    }
    (out, None)
}

/// The number of nodes in a tree.
fn node_count(node: &Node) -> usize {
    match node {
        Node::Scalar(_) => 1,
        Node::Seq(children, _) => 1 + children.iter().map(node_count).sum::<usize>(),
        Node::Map(pairs, _) => {
            1 + pairs
                .iter()
                .map(|(k, v)| node_count(k) + node_count(v))
                .sum::<usize>()
        }
    }
}

/// The 0-based column, in characters, of byte offset `offset`.
fn column(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    before.get(line_start..).map_or(0, |l| l.chars().count())
}

fn null_node(start: usize, end: usize) -> Node {
    Node::Scalar(ScalarNode {
        scalar: Scalar {
            value: String::new(),
            span: Span::new(start, end),
            style: ScalarStyle::Plain,
            map: crate::scalar::ScalarMap::verbatim(start, 0),
        },
        null: true,
    })
}

fn convert_style(style: SaphyrStyle) -> ScalarStyle {
    match style {
        SaphyrStyle::SingleQuoted => ScalarStyle::SingleQuoted,
        SaphyrStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
        SaphyrStyle::Literal => ScalarStyle::Literal,
        SaphyrStyle::Folded => ScalarStyle::Folded,
        SaphyrStyle::Plain => ScalarStyle::Plain,
    }
}

/// Skip node properties (`&anchor`, `!tag`) and the blanks after them: saphyr starts a node's
/// span at its properties, but the node itself begins after them.
pub(crate) fn skip_properties(text: &str, mut pos: usize) -> usize {
    loop {
        let rest = text.get(pos..).unwrap_or("");
        if !(rest.starts_with('&') || rest.starts_with('!')) {
            return pos;
        }
        let word = rest.find([' ', '\t', '\n', '\r']).unwrap_or(rest.len());
        let after = rest.get(word..).unwrap_or("");
        // A property may stand alone on its line, before a block collection.
        let blanks = after.len() - after.trim_start_matches([' ', '\t', '\n', '\r']).len();
        pos += word + blanks;
    }
}
