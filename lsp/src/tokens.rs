//! Semantic tokens for conditions and outputs inside YAML scalars: keywords, operators, fields,
//! macros, lists, strings, numbers and transformers, each at its exact place in the file
//! (folded and quoted scalars included).

use std::collections::HashSet;

use lanner_schema::{Operator, resolve_text};
use lanner_syntax::condition::ast::TransformerKind;
use lanner_syntax::rules::ItemKind;
use lanner_syntax::scalar::Scalar;
use lanner_syntax::span::FileId;
use tower_lsp_server::ls_types::{
    SemanticToken, SemanticTokenModifier, SemanticTokenType, SemanticTokensLegend,
};

use crate::analysis::SymKind;
use crate::ctx::Ctx;
use crate::scan::{self, Tok};

/// The legend, from which each token's type index is taken: one table, no bare numbers.
const TYPES: &[(Kind, SemanticTokenType)] = &[
    (Kind::Keyword, SemanticTokenType::KEYWORD),
    (Kind::Operator, SemanticTokenType::OPERATOR),
    (Kind::Field, SemanticTokenType::PROPERTY),
    (Kind::Macro, SemanticTokenType::MACRO),
    (Kind::List, SemanticTokenType::VARIABLE),
    (Kind::Str, SemanticTokenType::STRING),
    (Kind::Number, SemanticTokenType::NUMBER),
    (Kind::Transformer, SemanticTokenType::FUNCTION),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Keyword,
    Operator,
    Field,
    Macro,
    List,
    Str,
    Number,
    Transformer,
}

const DEPRECATED_BIT: u32 = 1;

pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: TYPES.iter().map(|(_, t)| t.clone()).collect(),
        token_modifiers: vec![SemanticTokenModifier::DEPRECATED],
    }
}

fn index(k: Kind) -> u32 {
    TYPES
        .iter()
        .position(|(x, _)| *x == k)
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or(0)
}

pub fn tokens(cx: &Ctx<'_>, file: FileId) -> Vec<SemanticToken> {
    let macros: HashSet<&str> =
        cx.a.occurrences
            .iter()
            .filter(|o| o.kind == SymKind::Macro)
            .map(|o| o.name.as_str())
            .collect();
    let lists: HashSet<&str> =
        cx.a.occurrences
            .iter()
            .filter(|o| o.kind == SymKind::List)
            .map(|o| o.name.as_str())
            .collect();
    // (file start, file end, kind, modifiers), in file order.
    let mut raw: Vec<(usize, usize, u32, u32)> = Vec::new();
    let mut push = |s: &Scalar, start: usize, end: usize, k: Kind, m: u32| {
        let sp = s.span_of(start, end);
        raw.push((sp.start as usize, sp.end as usize, index(k), m));
    };
    for item in cx.a.items(file) {
        let (cond, out) = match &item.kind {
            ItemKind::Macro(m) => (m.condition.as_ref(), None),
            ItemKind::Rule(r) => (r.condition.as_ref(), r.output.as_ref()),
            _ => (None, None),
        };
        if let Some(c) = cond {
            for t in scan::condition(&c.value) {
                let w = c.value.get(t.start..t.end).unwrap_or("");
                let kind = match t.kind {
                    Tok::Str => Some((Kind::Str, 0)),
                    Tok::Symbol => Some((Kind::Operator, 0)),
                    Tok::Punct | Tok::OutputField => None,
                    Tok::Word => word_kind(w, &macros, &lists),
                };
                if let Some((k, m)) = kind {
                    push(c, t.start, t.end, k, m);
                }
            }
        }
        if let Some(o) = out {
            for t in scan::output(&o.value) {
                let w = o.value.get(t.start..t.end).unwrap_or("");
                if let Ok(f) = resolve_text(w) {
                    let m = if f.field.deprecation.is_deprecated() {
                        DEPRECATED_BIT
                    } else {
                        0
                    };
                    push(o, t.start, t.end, Kind::Field, m);
                }
            }
        }
    }
    raw.sort_unstable();
    encode(cx, file, &raw)
}

fn word_kind(w: &str, macros: &HashSet<&str>, lists: &HashSet<&str>) -> Option<(Kind, u32)> {
    if matches!(w, "and" | "or" | "not") {
        return Some((Kind::Keyword, 0));
    }
    if Operator::ALL.iter().any(|o| o.as_str() == w) || matches!(w, "oneof" | "anyof" | "allof") {
        return Some((Kind::Operator, 0));
    }
    if TransformerKind::parse(w).is_some() || w == "val" {
        return Some((Kind::Transformer, 0));
    }
    if w.contains('.')
        && let Ok(f) = resolve_text(w)
    {
        {
            let m = if f.field.deprecation.is_deprecated() {
                DEPRECATED_BIT
            } else {
                0
            };
            return Some((Kind::Field, m));
        }
    }
    if macros.contains(w) {
        return Some((Kind::Macro, 0));
    }
    if lists.contains(w) {
        return Some((Kind::List, 0));
    }
    if w.parse::<f64>().is_ok() {
        return Some((Kind::Number, 0));
    }
    None
}

/// Relative encoding; a token that crosses a line break (a quoted string folded over lines)
/// is dropped, since the protocol's tokens are single-line.
fn encode(cx: &Ctx<'_>, file: FileId, raw: &[(usize, usize, u32, u32)]) -> Vec<SemanticToken> {
    let Some(text) = cx.text(file) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let (mut line, mut col) = (0u32, 0u32);
    let mut last_end = 0usize;
    for &(s, e, ty, m) in raw {
        if s < last_end {
            continue;
        }
        let (a, b) = (text.position(s), text.position(e));
        if a.line != b.line || b.character <= a.character {
            continue;
        }
        let delta_line = a.line - line;
        let delta_start = if delta_line == 0 {
            a.character - col
        } else {
            a.character
        };
        out.push(SemanticToken {
            delta_line,
            delta_start,
            length: b.character - a.character,
            token_type: ty,
            token_modifiers_bitset: m,
        });
        line = a.line;
        col = a.character;
        last_end = e;
    }
    out
}
