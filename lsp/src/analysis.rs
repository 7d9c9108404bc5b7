//! One analysis of the whole workspace: the checker's result plus an index of every name
//! occurrence (definitions, appends/overrides, uses), built once per edit and shared by every
//! request until the next edit.

use std::collections::HashMap;

use lanner_check::driver::{Checked, check_sources_with};
use lanner_syntax::Diagnostic;
use lanner_syntax::condition::ast::{Expr, Rhs};
use lanner_syntax::front::{ParsedFile, parse_file};
use lanner_syntax::rules::{Item, ItemKind};
use lanner_syntax::scalar::Scalar;
use lanner_syntax::span::{FileId, Span};
use tower_lsp_server::ls_types::Uri;

use crate::workspace::Source;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SymKind {
    List,
    Macro,
    Rule,
}

impl SymKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SymKind::List => "list",
            SymKind::Macro => "macro",
            SymKind::Rule => "rule",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The first item of that name in load order (or a later redefinition that replaces it).
    Definition,
    /// An item that appends to or overrides an earlier one.
    Extension,
    /// A use: a macro in a condition, a list in a condition or in another list's items.
    Use,
}

#[derive(Clone, Debug)]
pub struct Occurrence {
    pub kind: SymKind,
    pub name: String,
    pub file: FileId,
    /// The name's text only (without quotes).
    pub span: Span,
    pub role: Role,
    /// Index of the item in its file that holds the occurrence.
    pub item: usize,
}

/// Where a scalar sits in an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarRole {
    Name,
    Condition,
    Output,
    ListItem,
    Other,
}

/// The front end of each file of the previous analysis, by load-order position. A cached
/// parse is valid for the same position (its spans carry the file id) and the same text.
///
/// INVARIANT: an analysis built with the cache equals one built without it (tested below).
#[derive(Default)]
pub struct ParseCache {
    files: Vec<CachedParse>,
}

struct CachedParse {
    text: String,
    parsed: ParsedFile,
    diags: Vec<Diagnostic>,
}

pub struct Analysis {
    pub checked: Checked,
    /// Parallel to the files of `checked` (FileId order).
    pub sources: Vec<Source>,
    pub occurrences: Vec<Occurrence>,
    /// Load-order position (global item counter) of each item's definition, by file and item.
    pub item_order: Vec<Vec<usize>>,
}

impl Analysis {
    pub fn new(sources: Vec<Source>) -> Analysis {
        Analysis::with_cache(sources, &mut ParseCache::default())
    }

    /// Like [`Analysis::new`], reusing the front end of files whose position and text are
    /// those of the previous analysis (most edits change one file of several).
    pub fn with_cache(mut sources: Vec<Source>, cache: &mut ParseCache) -> Analysis {
        // The texts move into the checker's source database; `sources` keeps the rest.
        let inputs = sources
            .iter_mut()
            .map(|s| (s.name.clone(), std::mem::take(&mut s.text)))
            .collect();
        // The previous parses move out of the cache: a hit is cloned once, for the checker,
        // and its cached copy moves into the next cache.
        let mut previous: Vec<Option<CachedParse>> = std::mem::take(&mut cache.files)
            .into_iter()
            .map(Some)
            .collect();
        let mut next: Vec<CachedParse> = Vec::new();
        let checked = check_sources_with(inputs, &mut |id, text| {
            let hit = previous
                .get_mut(id.0 as usize)
                .and_then(|c| c.take_if(|c| c.text == text));
            let entry = hit.unwrap_or_else(|| {
                let (parsed, diags) = parse_file(id, text);
                CachedParse {
                    text: text.to_owned(),
                    parsed,
                    diags,
                }
            });
            let out = (entry.parsed.clone(), entry.diags.clone());
            next.push(entry);
            out
        });
        cache.files = next;
        let mut a = Analysis {
            checked,
            sources,
            occurrences: Vec::new(),
            item_order: Vec::new(),
        };
        a.index();
        a
    }

    pub fn file_of(&self, uri: &Uri) -> Option<FileId> {
        self.sources
            .iter()
            .position(|s| s.uri == *uri)
            .map(|i| FileId(u32::try_from(i).unwrap_or(u32::MAX)))
    }

    pub fn uri(&self, file: FileId) -> Option<&Uri> {
        self.sources.get(file.0 as usize).map(|s| &s.uri)
    }

    pub fn text(&self, file: FileId) -> &str {
        self.checked.db.get(file).map_or("", |f| f.text.as_str())
    }

    pub fn items(&self, file: FileId) -> &[Item] {
        self.checked
            .files
            .get(file.0 as usize)
            .map_or(&[], |f| f.rules.items.as_slice())
    }

    fn index(&mut self) {
        let mut defined: HashMap<(SymKind, String), ()> = HashMap::new();
        let mut list_names: HashMap<String, ()> = HashMap::new();
        let mut macro_names: HashMap<String, ()> = HashMap::new();
        for pf in &self.checked.files {
            for item in &pf.rules.items {
                match &item.kind {
                    ItemKind::List(l) => {
                        list_names.insert(l.name.value.clone(), ());
                    }
                    ItemKind::Macro(m) => {
                        macro_names.insert(m.name.value.clone(), ());
                    }
                    _ => {}
                }
            }
        }
        let mut occ = Vec::new();
        let mut order = 0usize;
        for pf in &self.checked.files {
            let file = pf.file;
            let mut orders = Vec::with_capacity(pf.rules.items.len());
            for (i, item) in pf.rules.items.iter().enumerate() {
                orders.push(order);
                order += 1;
                let Some((kind, name, extends)) = item_name(item) else {
                    continue;
                };
                if name.value.is_empty() {
                    continue;
                }
                let first = defined.insert((kind, name.value.clone()), ()).is_none();
                occ.push(Occurrence {
                    kind,
                    name: name.value.clone(),
                    file,
                    span: name.span_of(0, name.value.len()),
                    role: if extends && !first {
                        Role::Extension
                    } else {
                        Role::Definition
                    },
                    item: i,
                });
                if let ItemKind::List(l) = &item.kind {
                    for v in l.items.iter().flat_map(|s| s.node.iter()) {
                        if list_names.contains_key(&v.value) {
                            occ.push(Occurrence {
                                kind: SymKind::List,
                                name: v.value.clone(),
                                file,
                                span: v.span_of(0, v.value.len()),
                                role: Role::Use,
                                item: i,
                            });
                        }
                    }
                }
                if let Some(Some(expr)) = pf.conditions.get(i) {
                    let mut push = |kind: SymKind, name: &str, span: Span| {
                        occ.push(Occurrence {
                            kind,
                            name: name.to_owned(),
                            file,
                            span,
                            role: Role::Use,
                            item: i,
                        });
                    };
                    walk_uses(expr, &list_names, &macro_names, &mut push);
                }
            }
            self.item_order.push(orders);
        }
        self.occurrences = occ;
    }

    /// The occurrence whose name covers `offset` (end inclusive, so a cursor just after a name
    /// still finds it).
    pub fn occurrence_at(&self, file: FileId, offset: usize) -> Option<&Occurrence> {
        self.occurrences.iter().find(|o| {
            o.file == file && (o.span.start as usize) <= offset && offset <= o.span.end as usize
        })
    }

    pub fn occurrences_of<'a>(
        &'a self,
        kind: SymKind,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Occurrence> + 'a {
        self.occurrences
            .iter()
            .filter(move |o| o.kind == kind && o.name == name)
    }

    /// The scalar of an item that covers `offset` (end inclusive), with its role.
    pub fn scalar_at(&self, file: FileId, offset: usize) -> Option<(usize, ScalarRole, &Scalar)> {
        let inside =
            |s: &Scalar| (s.span.start as usize) <= offset && offset <= s.span.end as usize;
        for (i, item) in self.items(file).iter().enumerate() {
            if !(item.span.start as usize <= offset && offset <= item.span.end as usize) {
                continue;
            }
            let mut cands: Vec<(ScalarRole, &Scalar)> = Vec::new();
            match &item.kind {
                ItemKind::List(l) => {
                    cands.push((ScalarRole::Name, &l.name));
                    cands.extend(
                        l.items
                            .iter()
                            .flat_map(|s| s.node.iter())
                            .map(|s| (ScalarRole::ListItem, s)),
                    );
                }
                ItemKind::Macro(m) => {
                    cands.push((ScalarRole::Name, &m.name));
                    cands.extend(m.condition.iter().map(|c| (ScalarRole::Condition, c)));
                }
                ItemKind::Rule(r) => {
                    cands.push((ScalarRole::Name, &r.name));
                    cands.extend(r.condition.iter().map(|c| (ScalarRole::Condition, c)));
                    cands.extend(r.output.iter().map(|c| (ScalarRole::Output, c)));
                    cands.extend(r.desc.iter().map(|c| (ScalarRole::Other, c)));
                }
                _ => {}
            }
            if let Some((role, s)) = cands.into_iter().find(|(_, s)| inside(s)) {
                return Some((i, role, s));
            }
        }
        None
    }

    /// The item covering `offset`, or the last item that starts before it.
    pub fn item_at(&self, file: FileId, offset: usize) -> Option<usize> {
        let items = self.items(file);
        items
            .iter()
            .rposition(|it| (it.span.start as usize) <= offset)
            .or(if items.is_empty() { None } else { Some(0) })
    }
}

/// The kind and name scalar of an item, and whether it appends to or overrides an earlier one.
pub fn item_name(item: &Item) -> Option<(SymKind, &Scalar, bool)> {
    match &item.kind {
        ItemKind::List(l) => Some((
            SymKind::List,
            &l.name,
            l.append.as_ref().is_some_and(|a| a.node) || l.override_.is_some(),
        )),
        ItemKind::Macro(m) => Some((
            SymKind::Macro,
            &m.name,
            m.append.as_ref().is_some_and(|a| a.node) || m.override_.is_some(),
        )),
        ItemKind::Rule(r) => Some((
            SymKind::Rule,
            &r.name,
            r.append.as_ref().is_some_and(|a| a.node)
                || r.override_.is_some()
                || (r.condition.is_none() && r.output.is_none() && r.enabled.is_some()),
        )),
        _ => None,
    }
}

fn walk_uses(
    e: &Expr,
    lists: &HashMap<String, ()>,
    macros: &HashMap<String, ()>,
    push: &mut dyn FnMut(SymKind, &str, Span),
) {
    match e {
        Expr::And(c, _) | Expr::Or(c, _) => {
            for x in c {
                walk_uses(x, lists, macros, push);
            }
        }
        Expr::Not(x, _) => walk_uses(x, lists, macros, push),
        Expr::Macro(id) => {
            // A bare word is a macro reference even when no macro has that name yet: rename
            // and references then still find it once the macro is written.
            let _ = macros;
            push(SymKind::Macro, &id.name, id.span.span);
        }
        Expr::Check(c) => match &c.rhs {
            Some(Rhs::Ident(id)) if lists.contains_key(&id.name) => {
                push(SymKind::List, &id.name, id.span.span);
            }
            Some(Rhs::List(values, _)) => {
                for v in values {
                    if !v.quoted && lists.contains_key(&v.text) {
                        push(SymKind::List, &v.text, v.span.span);
                    }
                }
            }
            _ => {}
        },
        Expr::Error(_) => {}
    }
}

/// The offset in a scalar's value whose character comes from file offset `file_offset`: the
/// last value offset that maps at or before it. Folded line breaks and escapes make the
/// mapping many-to-one, so it is searched rather than computed.
pub fn value_offset(s: &Scalar, file_offset: usize) -> usize {
    let mut best = 0;
    for (i, _) in s
        .value
        .char_indices()
        .chain(std::iter::once((s.value.len(), ' ')))
    {
        if s.map.to_file(i) <= file_offset {
            best = i;
        } else {
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, text: &str) -> Source {
        Source {
            uri: format!("file:///ws/{name}").parse().unwrap(),
            name: name.to_owned(),
            text: text.to_owned(),
            version: None,
        }
    }

    #[test]
    fn cached_analysis_equals_fresh() {
        let a = "- macro: m\n  condition: evt.type = open\n- list: l\n  items: [x]\n";
        let b1 = "- rule: r\n  desc: d\n  condition: m and proc.name in (l)\n  output: o\n  priority: INFO\n";
        let b2 = "- rule: r\n  desc: d\n  condition: m and proc.nmae in (l)\n  output: o\n  priority: INFO\n";
        let mut cache = ParseCache::default();
        let _ = Analysis::with_cache(vec![source("a.yaml", a), source("b.yaml", b1)], &mut cache);
        // Same position, same text: `a.yaml` comes from the cache; `b.yaml` is parsed again.
        // Swapped positions must not reuse a parse whose spans carry the other file id.
        for files in [
            vec![source("a.yaml", a), source("b.yaml", b2)],
            vec![source("b.yaml", b2), source("a.yaml", a)],
        ] {
            let cached = Analysis::with_cache(files.clone(), &mut cache);
            let fresh = Analysis::new(files);
            assert_eq!(cached.checked.diagnostics, fresh.checked.diagnostics);
            assert_eq!(cached.occurrences.len(), fresh.occurrences.len());
        }
    }
}
