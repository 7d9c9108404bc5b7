//! The formatter for rule files (`rulec fmt`, the language server's formatting).
//!
//! It edits the file surgically instead of printing the YAML again: only the values of
//! `condition:` keys and flow sequences of `items:`/`tags:` are rewritten, so comments, blank
//! lines, key order, quoting of names and every other byte stay as written.
//!
//! - A condition whose top level has `and`/`or` operands, or that does not fit in [`WIDTH`]
//!   columns, or that already is a block scalar, becomes a folded block scalar (`>`) with one
//!   `and`/`or` operand per line. A parenthesised group that does not fit on its line is broken
//!   the same way, its operands aligned one column right of its `(`; a value list that does not
//!   fit is filled to the width, aligned after its `(`. A condition that stays on one line
//!   keeps its scalar style; a plain one is re-spaced like the rest, a quoted one is left.
//! - A flow sequence (`[a, b]`) of list items or tags is filled to [`WIDTH`], continuation lines
//!   aligned one column right of its `[`.
//!
//! The condition is rewritten token by token from Falco's own lexer: no token is added, dropped
//! or reordered (parentheses included, which matters because Falco joins appended condition
//! text before parsing), only the blanks between tokens change. A condition that does not parse
//! cleanly, or holds a line break or a control character inside a token, is left as written, and
//! so is every item written as a flow mapping (`{macro: m, ...}`), which cannot hold a block.
//!
//! INVARIANT: formatting never changes what a file means. After formatting, the file is loaded
//! again and every scalar is compared with the original one: equal values, or conditions that
//! lex to the same tokens. A mismatch is an error ([`FormatError::Unstable`]), never a changed
//! file. The tests also compare the checked program of every corpus file before and after.

use crate::codes;
use crate::condition::lexer::{ArgTok, FieldTok, Lexer, Tok};
use crate::condition::{OffsetMap, RULE_MAX_DEPTH, parse, parse_appended};
use crate::diagnostic::Diagnostic;
use crate::rules::{ItemKind, OverrideOp, RulesFile};
use crate::scalar::{Scalar, ScalarStyle};
use crate::span::{FileId, FileSpan, Span, Spanned};
use crate::yaml;

/// The column limit lines are filled or broken to.
pub const WIDTH: usize = 100;

/// The placeholder that stands for the condition an appended fragment extends, so that the
/// fragment (`and x`) lexes from operand position. Any identifier does: it is lexed only in front
/// of the fragment, and its line is dropped from the layout again.
const APPEND_PLACEHOLDER: &str = "appended_base";

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The file is not valid YAML; the diagnostics say where. Nothing was formatted.
    #[error("the file is not valid YAML")]
    Syntax(Vec<Diagnostic>),
    /// The formatted text would not mean the same as the original (a bug in the formatter);
    /// the diagnostic points at the first scalar that differs in the original.
    #[error("formatting would change the meaning of the file")]
    Unstable(Box<Diagnostic>),
}

impl FormatError {
    /// The located diagnostics of the error (in [`FileId`] 0).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            FormatError::Syntax(d) => d.clone(),
            FormatError::Unstable(d) => vec![(**d).clone()],
        }
    }

    /// The diagnostics located in `file`, for rendering with a source database.
    pub fn diagnostics_in(&self, file: FileId) -> Vec<Diagnostic> {
        let mut diags = self.diagnostics();
        for d in &mut diags {
            d.primary.file = file;
            for l in &mut d.secondary {
                l.span.file = file;
            }
            if let Some(f) = &mut d.fix {
                f.span.file = file;
            }
        }
        diags
    }
}

/// One replacement of a byte range of the original text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextEdit {
    pub span: Span,
    pub replacement: String,
}

/// Formats a whole rules file. `Ok` holds the formatted text (equal to `text` when it is
/// formatted already).
pub fn format(text: &str) -> Result<String, FormatError> {
    let edits = format_edits(text)?;
    Ok(apply(text, &edits))
}

/// The edits that format a whole file, sorted and disjoint.
pub fn format_edits(text: &str) -> Result<Vec<TextEdit>, FormatError> {
    Ok(item_edits(text)?.into_iter().map(|(_, e)| e).collect())
}

/// The edits that format the items (lists, macros, rules) overlapping `range` (byte offsets
/// of `text`; an empty range selects the item it is in): the language server's range
/// formatting. Every edit is one of [`format_edits`]'s.
pub fn format_range(text: &str, range: Span) -> Result<Vec<TextEdit>, FormatError> {
    Ok(item_edits(text)?
        .into_iter()
        .filter(|(item, _)| {
            if range.is_empty() {
                item.start <= range.start && range.start <= item.end
            } else {
                range.start < item.end && item.start < range.end
            }
        })
        .map(|(_, e)| e)
        .collect())
}

/// Every edit with the span of the item it belongs to, sorted and disjoint, verified.
fn item_edits(text: &str) -> Result<Vec<(Span, TextEdit)>, FormatError> {
    let file = FileId(0);
    let (rules, diags) = yaml::load(file, text);
    let syntax: Vec<Diagnostic> = diags
        .into_iter()
        .filter(|d| d.code == codes::YAML_SYNTAX)
        .collect();
    if !syntax.is_empty() {
        return Err(FormatError::Syntax(syntax));
    }
    let mut edits = collect_edits(text, &rules);
    edits.sort_by_key(|(_, e)| e.span.start);
    // Edits come from distinct scalars; drop any overlap rather than corrupt the text.
    let mut disjoint: Vec<(Span, TextEdit)> = Vec::with_capacity(edits.len());
    for e in edits {
        if disjoint
            .last()
            .is_none_or(|(_, l)| l.span.end <= e.1.span.start)
        {
            disjoint.push(e);
        }
    }
    let plain: Vec<TextEdit> = disjoint.iter().map(|(_, e)| e.clone()).collect();
    verify(text, &apply(text, &plain))?;
    Ok(disjoint)
}

/// Applies sorted, disjoint edits.
pub fn apply(text: &str, edits: &[TextEdit]) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut at = 0;
    for e in edits {
        let r = e.span.range();
        out.push_str(text.get(at..r.start).unwrap_or(""));
        out.push_str(&e.replacement);
        at = r.end;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    out
}

fn collect_edits(text: &str, rules: &RulesFile) -> Vec<(Span, TextEdit)> {
    let mut edits = Vec::new();
    for item in &rules.items {
        // Items written as flow mappings (`{macro: m, condition: ...}`) cannot hold block
        // scalars; they are left as written.
        if text
            .get(item.span.start as usize..)
            .is_some_and(|t| t.starts_with('{'))
        {
            continue;
        }
        let (condition, appends, seqs): (Option<&Scalar>, bool, Vec<&Spanned<Vec<Scalar>>>) =
            match &item.kind {
                ItemKind::Macro(m) => (
                    m.condition.as_ref(),
                    appends(m.append.as_ref(), m.override_.as_ref()),
                    Vec::new(),
                ),
                ItemKind::Rule(r) => (
                    r.condition.as_ref(),
                    appends(r.append.as_ref(), r.override_.as_ref()),
                    r.tags.iter().collect(),
                ),
                ItemKind::List(l) => (None, false, l.items.iter().collect()),
                _ => (None, false, Vec::new()),
            };
        if let Some(c) = condition {
            let key = item
                .keys
                .iter()
                .find(|k| k.node == "condition")
                .map(|k| k.span);
            if let Some(key) = key
                && let Some(e) = condition_edit(text, key, c, appends)
            {
                edits.push((item.span, e));
            }
        }
        for seq in seqs {
            if let Some(e) = flow_seq_edit(text, seq) {
                edits.push((item.span, e));
            }
        }
    }
    edits
}

fn appends(append: Option<&Spanned<bool>>, override_: Option<&crate::rules::Override>) -> bool {
    append.is_some_and(|a| a.node)
        || override_.is_some_and(|o| {
            o.entries
                .iter()
                .any(|e| e.key.node == "condition" && e.op.node == OverrideOp::Append)
        })
}

fn line_start(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .and_then(|b| b.rfind('\n'))
        .map_or(0, |i| i + 1)
}

fn line_end(text: &str, offset: usize) -> usize {
    text.get(offset..)
        .and_then(|b| b.find('\n'))
        .map_or(text.len(), |i| offset + i)
}

/// The file's line break, so that a CRLF file stays CRLF.
fn newline(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes().get(i - 1) == Some(&b'\r') => "\r\n",
        _ => "\n",
    }
}

/// The column (in characters) of `offset`.
fn column(text: &str, offset: usize) -> usize {
    text.get(line_start(text, offset)..offset)
        .map_or(0, |s| s.chars().count())
}

// ---- conditions ---------------------------------------------------------------------------

/// A condition's tokens as a tree of parenthesised groups.
#[derive(Clone, Debug)]
enum Node {
    Tok(Tok, String),
    /// `(` ... `)` of a grouping (not of a value list or transformer).
    Group(Vec<Node>),
}

/// The tokens of a condition, with their text, when it lexes and parses without a problem.
fn condition_tokens(value: &str, appended: bool) -> Option<Vec<(Tok, String)>> {
    let map = OffsetMap {
        file: FileId(0),
        base: 0,
    };
    let (_, diags) = if appended {
        parse_appended(value, &map, RULE_MAX_DEPTH)
    } else {
        parse(value, &map, RULE_MAX_DEPTH)
    };
    if !diags.is_empty() {
        return None;
    }
    lex(value, appended)
}

/// Lexes a condition (an appended fragment behind the placeholder); `None` on a lexical
/// problem.
fn lex(value: &str, appended: bool) -> Option<Vec<(Tok, String)>> {
    let src = if appended {
        format!("{APPEND_PLACEHOLDER} {value}")
    } else {
        value.to_string()
    };
    let map = OffsetMap {
        file: FileId(0),
        base: 0,
    };
    let mut lexer = Lexer::new(&src, &map, RULE_MAX_DEPTH);
    let mut toks = Vec::new();
    for t in lexer.by_ref() {
        let Ok((start, tok, end)) = t;
        let text = src.get(start..end)?.to_string();
        toks.push((tok, text));
    }
    if !lexer.diags.is_empty() || toks.iter().any(|(t, _)| *t == Tok::Error) {
        return None;
    }
    Some(toks)
}

fn tree(toks: Vec<(Tok, String)>) -> Option<Vec<Node>> {
    let mut stack: Vec<Vec<Node>> = vec![Vec::new()];
    for (tok, text) in toks {
        match tok {
            Tok::LParen => stack.push(Vec::new()),
            Tok::RParen => {
                let inner = stack.pop()?;
                stack.last_mut()?.push(Node::Group(inner));
            }
            t => stack.last_mut()?.push(Node::Tok(t, text)),
        }
    }
    if stack.len() == 1 { stack.pop() } else { None }
}

fn opens(t: &Tok) -> bool {
    matches!(
        t,
        Tok::ListOpen | Tok::TrOpen(_) | Tok::ValOpen | Tok::TrListOpen
    )
}

fn closes(t: &Tok) -> bool {
    matches!(
        t,
        Tok::ListClose | Tok::TrClose(_) | Tok::ValClose(_) | Tok::TrListClose | Tok::Comma
    )
}

/// Appends one node to a line, with the blank rules: none after an opening and before a
/// closing parenthesis or a comma, one otherwise.
fn flat_into(out: &mut String, prev: &mut Option<bool>, node: &Node) {
    match node {
        Node::Tok(t, text) => {
            if prev.is_some_and(|open| !open) && !closes(t) {
                out.push(' ');
            }
            out.push_str(text);
            *prev = Some(opens(t));
        }
        Node::Group(inner) => {
            if prev.is_some_and(|open| !open) {
                out.push(' ');
            }
            out.push('(');
            let mut p = Some(true);
            for n in inner {
                flat_into(out, &mut p, n);
            }
            out.push(')');
            *prev = Some(false);
        }
    }
}

fn flat(nodes: &[Node]) -> String {
    let mut out = String::new();
    let mut prev = None;
    for n in nodes {
        flat_into(&mut out, &mut prev, n);
    }
    out
}

fn is_connective(n: &Node) -> bool {
    matches!(n, Node::Tok(Tok::And | Tok::Or, _))
}

/// Splits a sequence at its `and`/`or` tokens; each operand keeps its leading connective.
fn operands(nodes: &[Node]) -> Vec<&[Node]> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, n) in nodes.iter().enumerate() {
        if i > start && is_connective(n) {
            out.push(nodes.get(start..i).unwrap_or(&[]));
            start = i;
        }
    }
    out.push(nodes.get(start..).unwrap_or(&[]));
    out
}

/// Lines of a laid-out condition; each line's column is absolute (the block's content column
/// is `indent` of the first line).
type Lines = Vec<(usize, String)>;

/// A sequence broken one operand per line at `col`.
fn layout_seq(nodes: &[Node], col: usize) -> Lines {
    let mut lines = Vec::new();
    for op in operands(nodes) {
        lines.extend(layout_operand(op, col));
    }
    lines
}

/// One operand (its connective, `not`s, then a group or a check) starting at `col`.
fn layout_operand(nodes: &[Node], col: usize) -> Lines {
    let text = flat(nodes);
    if col + text.chars().count() <= WIDTH {
        return vec![(col, text)];
    }
    // The prefix: everything before the first group or list.
    let group_at = nodes.iter().position(|n| matches!(n, Node::Group(_)));
    if let Some(g) = group_at
        && let Some(Node::Group(inner)) = nodes.get(g)
    {
        let mut prefix = flat(nodes.get(..g).unwrap_or(&[]));
        if !prefix.is_empty() {
            prefix.push(' ');
        }
        prefix.push('(');
        let inner_col = col + prefix.chars().count();
        let mut inner_lines = if operands(inner).len() > 1 {
            layout_seq(inner, inner_col)
        } else {
            layout_operand(inner, inner_col)
        };
        let suffix = flat(nodes.get(g + 1..).unwrap_or(&[]));
        if let Some(first) = inner_lines.first_mut() {
            first.0 = col;
            first.1 = format!("{prefix}{}", first.1);
        }
        if let Some(last) = inner_lines.last_mut() {
            last.1.push(')');
            if !suffix.is_empty() {
                last.1.push(' ');
                last.1.push_str(&suffix);
            }
        }
        return inner_lines;
    }
    fill_value_list(nodes, col)
}

/// A check too long for its line: its value list filled to the width, aligned after `(`.
fn fill_value_list(nodes: &[Node], col: usize) -> Lines {
    let Some(open) = nodes
        .iter()
        .position(|n| matches!(n, Node::Tok(Tok::ListOpen, _)))
    else {
        return vec![(col, flat(nodes))];
    };
    let close = nodes
        .iter()
        .rposition(|n| matches!(n, Node::Tok(Tok::ListClose, _)))
        .unwrap_or(nodes.len());
    let head = flat(nodes.get(..=open).unwrap_or(&[]));
    let item_col = col + head.chars().count();
    // Elements with their trailing comma.
    let mut elems: Vec<String> = Vec::new();
    for n in nodes.get(open + 1..close).unwrap_or(&[]) {
        match n {
            Node::Tok(Tok::Comma, _) => {
                if let Some(last) = elems.last_mut() {
                    last.push(',');
                }
            }
            other => elems.push(flat(std::slice::from_ref(other))),
        }
    }
    let tail = flat(nodes.get(close..).unwrap_or(&[]));
    let mut lines = fill(&elems, col, &head, item_col, &tail);
    if let Some(first) = lines.first_mut() {
        first.0 = col;
    }
    lines
}

/// Fills `elems` (each with its comma) into lines starting after `head` at `item_col`, the
/// last followed by `tail`.
fn fill(elems: &[String], col: usize, head: &str, item_col: usize, tail: &str) -> Lines {
    let mut lines: Lines = Vec::new();
    let mut cur = head.to_string();
    let mut cur_col = col;
    let mut cur_empty = true;
    let count = elems.len();
    for (i, e) in elems.iter().enumerate() {
        let piece_len = e.chars().count()
            + if i + 1 == count {
                tail.chars().count()
            } else {
                0
            };
        let extra = usize::from(!cur_empty);
        if !cur_empty && cur_col + cur.chars().count() + extra + piece_len > WIDTH {
            lines.push((cur_col, std::mem::take(&mut cur)));
            cur_col = item_col;
            cur_empty = true;
        }
        if !cur_empty {
            cur.push(' ');
        }
        cur.push_str(e);
        cur_empty = false;
    }
    cur.push_str(tail);
    lines.push((cur_col, cur));
    lines
}

/// The folded block scalar for a condition, or `None` to leave it as written.
fn condition_edit(text: &str, key: Span, scalar: &Scalar, appended: bool) -> Option<TextEdit> {
    let key_start = key.start as usize;
    let ls = line_start(text, key_start);
    let before_key = text.get(ls..key_start)?;
    if !before_key.chars().all(|c| c == ' ') {
        return None;
    }
    // Only `:` and blanks between key and value: no tag, anchor or alias to keep.
    let start = scalar.span.start as usize;
    let between = text.get(key.end as usize..start)?;
    if between.trim_start_matches([' ', '\t']) != ":"
        && between.trim_end_matches([' ', '\t']) != ":"
    {
        return None;
    }
    if !scalar
        .value
        .chars()
        .all(|c| c == '\n' || c == '\t' || !c.is_control())
    {
        return None;
    }
    let toks = condition_tokens(&scalar.value, appended)?;
    if toks.iter().any(|(_, t)| t.contains(['\n', '\r'])) {
        return None;
    }
    let nodes = tree(toks)?;
    let content_col = before_key.len() + 2;
    let mut lines = layout_seq(&nodes, content_col);
    if appended {
        // The placeholder operand is the first line on its own (the fragment starts with
        // `and`/`or`); drop it. A fragment that does not start with a connective is left.
        let first = lines.first().map(|(_, t)| t.as_str());
        if first != Some(APPEND_PLACEHOLDER) {
            return None;
        }
        lines.remove(0);
    }
    let block = matches!(scalar.style, ScalarStyle::Literal | ScalarStyle::Folded);
    // The end of what is replaced, and a comment that followed the value on its last line.
    let (end, comment) = if block {
        let (end, comment) = block_extent(text, scalar)?;
        (end, comment)
    } else {
        let end = scalar.span.end as usize;
        let le = line_end(text, end);
        let rest = text.get(end..le)?.trim_end_matches('\r');
        let trimmed = rest.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() {
            (end, None)
        } else if trimmed.starts_with('#') && rest.len() > trimmed.len() {
            (end + rest.len(), Some(trimmed.trim_end().to_string()))
        } else {
            return None;
        }
    };
    let original = text.get(start..end)?;
    let single_line = lines.len() == 1 && !original.contains('\n');
    if single_line && !block {
        // A one-line plain condition stays plain, re-spaced like the others when its new text
        // is still a plain scalar of the same value; a quoted one keeps its quotes as written.
        let flat = lines.first().map(|(_, l)| l.as_str())?;
        let raw = text.get(start..scalar.span.end as usize)?;
        if scalar.style != ScalarStyle::Plain || !safe_plain(flat) || flat == raw {
            return None;
        }
        return Some(TextEdit {
            span: scalar.span,
            replacement: flat.to_string(),
        });
    }
    let mut out = String::from(">");
    if let Some(c) = comment {
        out.push(' ');
        out.push_str(&c);
    }
    let nl = newline(text);
    for (col, line) in &lines {
        out.push_str(nl);
        out.push_str(&" ".repeat(*col));
        out.push_str(line);
    }
    if out == original {
        return None;
    }
    Some(TextEdit {
        span: Span::new(start, end),
        replacement: out,
    })
}

/// Whether `text` reads back as a one-line plain scalar (block context) with the same value.
fn safe_plain(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    !"-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !first.is_whitespace()
        && !text.ends_with(char::is_whitespace)
        && !text.ends_with(':')
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.contains(['\t', '\n', '\r'])
}

/// For a block scalar: the end of its last non-blank content line and the comment on its
/// header line, if any. `None` for a header with an indentation indicator (kept as written).
fn block_extent(text: &str, scalar: &Scalar) -> Option<(usize, Option<String>)> {
    let start = scalar.span.start as usize;
    let header_end = line_end(text, start);
    let header = text.get(start..header_end)?.trim_end_matches('\r');
    let (indicator, comment) = match header.find('#') {
        Some(i) => (
            header.get(..i)?,
            Some(header.get(i..)?.trim_end().to_string()),
        ),
        None => (header, None),
    };
    let indicator = indicator.trim_end();
    if !matches!(indicator, ">" | ">-" | ">+" | "|" | "|-" | "|+") {
        return None;
    }
    // The last content line: the last non-blank line within the scalar's span.
    let span_end = (scalar.span.end as usize).min(text.len());
    let body = text.get(header_end..span_end)?;
    let mut end = header_end;
    let mut at = header_end;
    for line in body.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        if !content.trim().is_empty() {
            end = at + content.len();
        }
        at += line.len();
    }
    Some((end, comment))
}

// ---- flow sequences -------------------------------------------------------------------------

/// A flow sequence of plain or quoted scalars refilled to the width, or `None` to leave it.
fn flow_seq_edit(text: &str, seq: &Spanned<Vec<Scalar>>) -> Option<TextEdit> {
    let start = seq.span.start as usize;
    let end = seq.span.end as usize;
    let raw = text.get(start..end)?;
    if !raw.starts_with('[') || !raw.ends_with(']') {
        return None;
    }
    let mut elems = Vec::with_capacity(seq.node.len());
    let mut at = start + 1;
    for (i, s) in seq.node.iter().enumerate() {
        let (s_start, s_end) = (s.span.start as usize, s.span.end as usize);
        let gap = text.get(at..s_start)?;
        let expect_comma = i > 0;
        if !separator_only(gap, expect_comma) {
            return None;
        }
        let elem = text.get(s_start..s_end)?;
        if elem.is_empty()
            || elem.contains(['\n', '\r'])
            || !matches!(
                s.style,
                ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted
            )
        {
            return None;
        }
        elems.push(elem.to_string());
        at = s_end;
    }
    // After the last element: blanks and at most one trailing comma.
    let gap = text.get(at..end - 1)?;
    if !gap.chars().all(|c| c.is_whitespace() || c == ',') || gap.matches(',').count() > 1 {
        return None;
    }
    if seq.node.is_empty() && !gap.chars().all(char::is_whitespace) {
        return None;
    }
    let count = elems.len();
    for (i, e) in elems.iter_mut().enumerate() {
        if i + 1 < count {
            e.push(',');
        }
    }
    let col = column(text, start);
    let lines = fill(&elems, col, "[", col + 1, "]");
    let mut out = String::new();
    for (i, (c, line)) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str(newline(text));
            out.push_str(&" ".repeat(*c));
        }
        out.push_str(line);
    }
    if out == raw {
        return None;
    }
    Some(TextEdit {
        span: Span::new(start, end),
        replacement: out,
    })
}

/// Whether `gap` between two flow elements holds only blanks and (when `comma`) one comma.
fn separator_only(gap: &str, comma: bool) -> bool {
    gap.chars()
        .all(|c| c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',')
        && gap.matches(',').count() == usize::from(comma)
}

// ---- verification ---------------------------------------------------------------------------

/// Checks the formatting invariant: every scalar of `new` equals the original one, or the
/// original is a condition and both lex to the same tokens.
fn verify(old: &str, new: &str) -> Result<(), FormatError> {
    if old == new {
        return Ok(());
    }
    let unstable = |span: Span, what: &str| {
        FormatError::Unstable(Box::new(
            Diagnostic::new(
                codes::FORMAT_UNSTABLE,
                FileSpan::new(FileId(0), span),
                format!("formatting would change {what}"),
            )
            .with_label("this value")
            .with_help("the file was left unchanged; please report this as a formatter bug"),
        ))
    };
    if yaml::load(FileId(0), new)
        .1
        .iter()
        .any(|d| d.code == codes::YAML_SYNTAX)
    {
        return Err(unstable(Span::at(0), "the file into invalid YAML"));
    }
    // Where the original's conditions start, and whether each is an appended fragment.
    let (rules, _) = yaml::load(FileId(0), old);
    let conditions: std::collections::HashMap<u32, bool> = rules
        .items
        .iter()
        .filter_map(|item| match &item.kind {
            ItemKind::Macro(m) => m.condition.as_ref().map(|c| {
                (
                    c.span.start,
                    appends(m.append.as_ref(), m.override_.as_ref()),
                )
            }),
            ItemKind::Rule(r) => r.condition.as_ref().map(|c| {
                (
                    c.span.start,
                    appends(r.append.as_ref(), r.override_.as_ref()),
                )
            }),
            _ => None,
        })
        .collect();
    let a = yaml::scalars(old);
    let b = yaml::scalars(new);
    if a.len() != b.len() {
        return Err(unstable(Span::at(0), "the number of YAML values"));
    }
    for (x, y) in a.iter().zip(&b) {
        if x.value == y.value {
            continue;
        }
        let same_tokens = conditions.get(&x.span.start).is_some_and(|&appended| {
            match (lex(&x.value, appended), lex(&y.value, appended)) {
                (Some(p), Some(q)) => p
                    .into_iter()
                    .map(|t| unplaced(t.0))
                    .eq(q.into_iter().map(|t| unplaced(t.0))),
                _ => false,
            }
        });
        if !same_tokens {
            return Err(unstable(x.span, "this value"));
        }
    }
    Ok(())
}

/// A token without the offsets some tokens carry, for comparing token streams.
fn unplaced(tok: Tok) -> Tok {
    let strip = |a: Option<ArgTok>| {
        a.map(|a| ArgTok {
            start: 0,
            end: 0,
            ..a
        })
    };
    match tok {
        Tok::Field(f) => Tok::Field(FieldTok {
            arg: strip(f.arg),
            ..f
        }),
        Tok::TrClose(a) => Tok::TrClose(strip(a)),
        Tok::ValClose(a) => Tok::ValClose(strip(a)),
        t => t,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::{FormatError, format, verify};
    use crate::codes;

    // INVARIANT check: the verifier refuses any output that changes a value or a token.
    #[test]
    fn the_verifier_refuses_a_changed_meaning() {
        let old = "- macro: m\n  condition: a.b=1 and c.d in (x, y)\n- list: l\n  items: [p, q]\n";
        let respaced = "- macro: m\n  condition: >\n    a.b = 1\n    and c.d in (x,y)\n- list: l\n  items: [p,\n   q]\n";
        assert!(verify(old, respaced).is_ok());
        for changed in [
            "- macro: m\n  condition: a.b=2 and c.d in (x, y)\n- list: l\n  items: [p, q]\n",
            "- macro: m\n  condition: (a.b=1 and c.d in (x, y))\n- list: l\n  items: [p, q]\n",
            "- macro: m\n  condition: a.b=1 and c.d in (x, y)\n- list: l\n  items: [p, 'q ']\n",
            "- macro: m\n  condition: a.b=1 and c.d in (x, y)\n- list: l\n  items: [p, q, r]\n",
            "- macro: m\n  condition: [a.b=1\n",
        ] {
            match verify(old, changed) {
                Err(FormatError::Unstable(d)) => assert_eq!(d.code, codes::FORMAT_UNSTABLE),
                other => panic!("{changed:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let text = "- macro: m\r\n  condition: a.b=1 and a.c=2  # c\r\n- list: l\r\n  items: [x,\r\n    y]\r\n";
        let out = format(text).unwrap();
        assert_eq!(
            out,
            "- macro: m\r\n  condition: > # c\r\n    a.b = 1\r\n    and a.c = 2\r\n- list: l\r\n  items: [x, y]\r\n"
        );
        assert_eq!(format(&out).unwrap(), out);
    }
}
