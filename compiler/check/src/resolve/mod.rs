//! Falco's loader semantics across files: the collect phase applies `append`, `override`,
//! `enabled`-only items and redefinitions in file order; the compile phase substitutes lists
//! into condition text, parses it, and expands macros on the tree.
//!
//! Positions survive every step: condition text is a [`ComposedText`] that knows where each of
//! its pieces came from, so an error in a list item pasted into an appended rule condition still
//! points at the list item in its file.

mod exceptions;
mod lists;
pub mod text;

use std::collections::HashMap;
use std::sync::Arc;

use lanner_syntax::codes;
use lanner_syntax::condition::ast::{Expr, Ident};
use lanner_syntax::condition::{RULE_MAX_DEPTH, parse};
use lanner_syntax::diagnostic::Diagnostic;
use lanner_syntax::output::{OutputFormat, parse_output};
use lanner_syntax::rules::{
    ItemKind, ListItem, MacroItem, Override, OverrideOp, Priority, RuleItem, RulesFile,
};
use lanner_syntax::scalar::Scalar;
use lanner_syntax::span::{FileId, FileSpan, Span};

pub use exceptions::ExceptionInfo;
use lists::ListItemText;
pub use text::ComposedText;

/// The engine version Lanner implements, for `required_engine_version`.
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 63, 0);

/// A rule after collection and compilation.
#[derive(Clone, Debug)]
pub struct ResolvedRule {
    pub name: String,
    /// Where the rule was first defined (its `rule:` value).
    pub name_span: FileSpan,
    /// The condition with lists substituted, exceptions added and macros expanded. `None` when
    /// the condition could not be parsed (a diagnostic says why).
    pub condition: Option<Expr>,
    /// The condition text as Falco parses it (after lists and exceptions).
    pub condition_text: String,
    pub output: String,
    pub output_format: Option<OutputFormat>,
    pub desc: String,
    pub priority: Priority,
    pub source: String,
    pub enabled: bool,
    pub tags: Vec<String>,
    pub capture: bool,
    pub capture_duration: u64,
    pub warn_evttypes: bool,
    pub skip_if_unknown_filter: bool,
    /// The fields named by the rule's exceptions, for output.
    pub exception_fields: Vec<String>,
    /// The macros the condition used, in first-use order.
    pub macros_used: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ResolvedMacro {
    pub name: String,
    pub name_span: FileSpan,
    pub condition: Option<Expr>,
    pub used: bool,
}

#[derive(Clone, Debug)]
pub struct ResolvedList {
    pub name: String,
    pub name_span: FileSpan,
    pub items: Vec<String>,
    pub used: bool,
}

/// Everything the files define, after Falco's loading rules.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    pub lists: Vec<ResolvedList>,
    pub macros: Vec<ResolvedMacro>,
    /// In evaluation order: the order of first definition.
    pub rules: Vec<ResolvedRule>,
}

// ---------------------------------------------------------------------------------------
// Collect phase

struct ListInfo {
    name: String,
    span: FileSpan,
    items: Vec<(FileId, Arc<Scalar>)>,
    /// Collection index of the first definition, and of the latest definition or append.
    first: usize,
    last: usize,
    used: bool,
}

struct MacroInfo {
    name: String,
    span: FileSpan,
    cond: ComposedText,
    first: usize,
    last: usize,
    used: bool,
}

struct RuleInfo {
    name: String,
    span: FileSpan,
    cond: ComposedText,
    output: ComposedText,
    desc: String,
    priority: Priority,
    source: String,
    enabled: bool,
    tags: Vec<String>,
    capture: bool,
    capture_duration: u64,
    warn_evttypes: bool,
    skip_if_unknown_filter: bool,
    exceptions: Vec<ExceptionInfo>,
}

#[derive(Default)]
struct Collector {
    index: usize,
    lists: Vec<ListInfo>,
    list_by_name: HashMap<String, usize>,
    macros: Vec<MacroInfo>,
    macro_by_name: HashMap<String, usize>,
    rules: Vec<RuleInfo>,
    rule_by_name: HashMap<String, usize>,
    diags: Vec<Diagnostic>,
}

fn op_for(o: Option<&Override>, key: &str) -> Option<OverrideOp> {
    o?.entries
        .iter()
        .find(|e| e.key.node == key)
        .map(|e| e.op.node)
}

fn scalar_text(file: FileId, s: &Scalar) -> ComposedText {
    ComposedText::from_scalar(file, &Arc::new(s.clone()))
}

/// `old + " " + new`, as Falco appends text.
fn join_text(old: &ComposedText, new: &ComposedText, at: FileSpan) -> ComposedText {
    let mut t = old.clone();
    t.push_synthetic(" ", at);
    t.push_text(new);
    t
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_bare_string(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| matches!(c, '(' | ')' | '"' | '\'' | '=' | ',') || c.is_whitespace())
}

impl Collector {
    fn next_index(&mut self) -> usize {
        self.index += 1;
        self.index
    }

    fn missing(&mut self, kind: &str, name: &str, at: FileSpan, how: &str) {
        self.diags.push(
            Diagnostic::new(
                codes::APPEND_WITHOUT_DEFINITION,
                at,
                format!(
                    "{kind} `{name}` uses {how} but no {kind} by that name is defined before it"
                ),
            )
            .with_label(format!("no earlier `{name}`"))
            .with_help(format!(
                "define the {kind} first, or load the file that defines it before this one"
            ))
            .with_item(name.to_string()),
        );
    }

    fn list(&mut self, file: FileId, l: &ListItem) {
        let name = l.name.value.clone();
        let span = FileSpan::new(file, l.name.span);
        let idx = self.next_index();
        if !is_bare_string(&name) && !name.is_empty() {
            self.diags.push(
                Diagnostic::new(
                    codes::INVALID_LIST_NAME,
                    span,
                    format!("list name `{name}` contains characters that end a bare value"),
                )
                .with_label("conditions cannot name this list")
                .with_help("use letters, digits, `_`, `-`, `.` or `/` in list names"),
            );
        }
        let items: Vec<(FileId, Arc<Scalar>)> = l
            .items
            .as_ref()
            .map(|i| i.node.iter().map(|s| (file, Arc::new(s.clone()))).collect())
            .unwrap_or_default();
        let append = l.append.as_ref().is_some_and(|a| a.node)
            || op_for(l.override_.as_ref(), "items") == Some(OverrideOp::Append);
        match self.list_by_name.get(&name).copied() {
            Some(i) => {
                if let Some(info) = self.lists.get_mut(i) {
                    if append {
                        info.items.extend(items);
                    } else {
                        info.items = items;
                    }
                    info.last = idx;
                }
            }
            None if append => self.missing("list", &name, span, "append"),
            None => {
                self.list_by_name.insert(name.clone(), self.lists.len());
                self.lists.push(ListInfo {
                    name,
                    span,
                    items,
                    first: idx,
                    last: idx,
                    used: false,
                });
            }
        }
    }

    fn macro_(&mut self, file: FileId, m: &MacroItem) {
        let name = m.name.value.clone();
        let span = FileSpan::new(file, m.name.span);
        let idx = self.next_index();
        if !is_identifier(&name) && !name.is_empty() {
            self.diags.push(
                Diagnostic::new(
                    codes::INVALID_MACRO_NAME,
                    span,
                    format!("macro name `{name}` is not an identifier"),
                )
                .with_label("conditions cannot refer to this macro")
                .with_help(
                    "a macro name starts with a letter and holds only letters, digits and `_`",
                ),
            );
        }
        let Some(cond) = &m.condition else { return };
        let cond = scalar_text(file, cond);
        let append = m.append.as_ref().is_some_and(|a| a.node)
            || op_for(m.override_.as_ref(), "condition") == Some(OverrideOp::Append);
        match self.macro_by_name.get(&name).copied() {
            Some(i) => {
                if let Some(info) = self.macros.get_mut(i) {
                    info.cond = if append {
                        join_text(&info.cond, &cond, span)
                    } else {
                        cond
                    };
                    info.last = idx;
                }
            }
            None if append => self.missing("macro", &name, span, "append"),
            None => {
                self.macro_by_name.insert(name.clone(), self.macros.len());
                self.macros.push(MacroInfo {
                    name,
                    span,
                    cond,
                    first: idx,
                    last: idx,
                    used: false,
                });
            }
        }
    }

    fn rule(&mut self, file: FileId, r: &RuleItem) {
        let name = r.name.value.clone();
        let span = FileSpan::new(file, r.name.span);
        self.next_index();
        let legacy_append = r.append.as_ref().is_some_and(|a| a.node);
        let ov = r.override_.as_ref();
        let existing = self.rule_by_name.get(&name).copied();
        let source = r.source.as_ref().map(|s| s.value.clone());
        // Redefining, appending or overriding with a different non-empty source is an error.
        if let (Some(i), Some(src)) = (existing, &source)
            && !src.is_empty()
            && let Some(info) = self.rules.get(i)
            && info.source != *src
        {
            self.diags.push(
                Diagnostic::new(
                    codes::SOURCE_MISMATCH,
                    r.source.as_ref().map_or(span, |s| FileSpan::new(file, s.span)),
                    format!(
                        "rule `{name}` is redefined with source `{src}`, but it was defined with source `{}`",
                        info.source
                    ),
                )
                .with_secondary(info.span, "first defined here")
                .with_help("a rule keeps its source; give the new rule another name")
                .with_item(name.clone()),
            );
            return;
        }
        let exceptions: Vec<ExceptionInfo> = r
            .exceptions
            .as_ref()
            .map(|e| {
                e.node
                    .iter()
                    .filter_map(|x| ExceptionInfo::from_item(file, x))
                    .collect()
            })
            .unwrap_or_default();
        self.exception_name_checks(file, r, &name);
        if legacy_append || ov.is_some() {
            let Some(i) = existing else {
                let how = if legacy_append {
                    "append"
                } else if ov
                    .is_some_and(|o| o.entries.iter().any(|e| e.op.node == OverrideOp::Append))
                {
                    "an append override"
                } else {
                    "a replace override"
                };
                self.missing("rule", &name, span, how);
                return;
            };
            let Some(info) = self.rules.get_mut(i) else {
                return;
            };
            if legacy_append {
                if r.condition.is_none() && r.exceptions.is_none() {
                    self.diags.push(
                        Diagnostic::new(
                            codes::APPEND_WITHOUT_CONTENT,
                            span,
                            format!("appended rule `{name}` has neither `condition` nor `exceptions`"),
                        )
                        .with_help("an appended rule adds a condition or exceptions; other keys are ignored")
                        .with_item(name.clone()),
                    );
                    return;
                }
                if let Some(c) = &r.condition {
                    info.cond = join_text(&info.cond, &scalar_text(file, c), span);
                }
                let diags = merge_exceptions(&mut info.exceptions, exceptions, &name, true);
                self.diags.extend(diags);
                return;
            }
            // `override:` key by key.
            let mut diags = Vec::new();
            for entry in ov.map(|o| o.entries.as_slice()).unwrap_or_default() {
                let append = entry.op.node == OverrideOp::Append;
                match entry.key.node.as_str() {
                    "condition" => {
                        if let Some(c) = &r.condition {
                            let t = scalar_text(file, c);
                            info.cond = if append {
                                join_text(&info.cond, &t, span)
                            } else {
                                t
                            };
                        }
                    }
                    "output" => {
                        if let Some(o) = &r.output {
                            let t = scalar_text(file, o);
                            info.output = if append {
                                join_text(&info.output, &t, span)
                            } else {
                                t
                            };
                        }
                    }
                    "desc" => {
                        if let Some(d) = &r.desc {
                            info.desc = if append {
                                format!("{} {}", info.desc, d.value)
                            } else {
                                d.value.clone()
                            };
                        }
                    }
                    "tags" => {
                        if let Some(t) = &r.tags {
                            let new: Vec<String> = t.node.iter().map(|s| s.value.clone()).collect();
                            if append {
                                for tag in new {
                                    if !info.tags.contains(&tag) {
                                        info.tags.push(tag);
                                    }
                                }
                            } else {
                                info.tags = new;
                            }
                        }
                    }
                    "exceptions" => {
                        if append {
                            diags.extend(merge_exceptions(
                                &mut info.exceptions,
                                exceptions.clone(),
                                &name,
                                true,
                            ));
                        } else {
                            info.exceptions = exceptions.clone();
                        }
                    }
                    "priority" => {
                        if let Some(p) = &r.priority {
                            info.priority = p.node;
                        }
                    }
                    "enabled" => {
                        if let Some(e) = &r.enabled {
                            info.enabled = e.node;
                        }
                    }
                    "capture" => {
                        if let Some(c) = &r.capture {
                            info.capture = c.node;
                        }
                    }
                    "capture_duration" => {
                        if let Some(c) = &r.capture_duration {
                            info.capture_duration = c.node;
                        }
                    }
                    "warn_evttypes" => {
                        if let Some(w) = &r.warn_evttypes {
                            info.warn_evttypes = w.node;
                        }
                    }
                    "skip-if-unknown-filter" => {
                        if let Some(s) = &r.skip_if_unknown_filter {
                            info.skip_if_unknown_filter = s.node;
                        }
                    }
                    _ => {}
                }
            }
            self.diags.extend(diags);
            return;
        }
        // The deprecated form with only `enabled` toggles an existing rule.
        if r.condition.is_none() && r.output.is_none() && r.desc.is_none() && r.priority.is_none() {
            if let Some(e) = &r.enabled {
                match existing.and_then(|i| self.rules.get_mut(i)) {
                    Some(info) => info.enabled = e.node,
                    None => self.diags.push(
                        Diagnostic::new(
                            codes::ENABLED_WITHOUT_RULE,
                            span,
                            format!("`enabled` is set for rule `{name}`, which is not defined before it"),
                        )
                        .with_help("define the rule first, or load the file that defines it before this one")
                        .with_item(name.clone()),
                    ),
                }
            }
            return;
        }
        // A full definition. The loader reported missing keys; a broken rule is not collected.
        let (Some(cond), Some(out)) = (&r.condition, &r.output) else {
            return;
        };
        let info = RuleInfo {
            name: name.clone(),
            span,
            cond: scalar_text(file, cond),
            output: scalar_text(file, out),
            desc: r.desc.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
            priority: r.priority.as_ref().map_or(Priority::Debug, |p| p.node),
            source: source
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "syscall".into()),
            enabled: r.enabled.as_ref().is_none_or(|e| e.node),
            tags: r
                .tags
                .as_ref()
                .map(|t| t.node.iter().map(|s| s.value.clone()).collect())
                .unwrap_or_default(),
            capture: r.capture.as_ref().is_some_and(|c| c.node),
            capture_duration: r.capture_duration.as_ref().map_or(0, |c| c.node),
            warn_evttypes: r.warn_evttypes.as_ref().is_none_or(|w| w.node),
            skip_if_unknown_filter: r.skip_if_unknown_filter.as_ref().is_some_and(|s| s.node),
            exceptions,
        };
        match existing {
            // A redefinition replaces the rule but keeps its place in the order.
            Some(i) => {
                if let Some(slot) = self.rules.get_mut(i) {
                    let first_span = slot.span;
                    *slot = info;
                    slot.span = first_span;
                }
            }
            None => {
                self.rule_by_name.insert(name, self.rules.len());
                self.rules.push(info);
            }
        }
    }

    fn exception_name_checks(&mut self, file: FileId, r: &RuleItem, rule: &str) {
        let Some(ex) = &r.exceptions else { return };
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for e in &ex.node {
            let Some(n) = &e.name else { continue };
            if let Some(first) = seen.get(n.value.as_str()) {
                self.diags.push(
                    Diagnostic::new(
                        codes::EXCEPTION_NAME_NOT_UNIQUE,
                        FileSpan::new(file, n.span),
                        format!("exception name `{}` is used twice in this rule", n.value),
                    )
                    .with_secondary(FileSpan::new(file, *first), "first used here")
                    .with_help("give each exception of a rule its own name")
                    .with_item(rule.to_string()),
                );
            } else {
                seen.insert(n.value.as_str(), n.span);
            }
        }
    }
}

/// Adds appended exceptions: a new name needs fields (and values); an existing name only adds
/// values. Appending without values is a warning.
fn merge_exceptions(
    into: &mut Vec<ExceptionInfo>,
    new: Vec<ExceptionInfo>,
    rule: &str,
    warn_no_values: bool,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for ex in new {
        if warn_no_values && ex.values.is_empty() {
            diags.push(
                Diagnostic::new(
                    codes::APPEND_NO_VALUES,
                    ex.span,
                    format!("exception `{}` is appended without values", ex.name),
                )
                .with_help("add `values:`; an appended exception without values changes nothing")
                .with_item(rule.to_string()),
            );
        }
        match into.iter_mut().find(|e| e.name == ex.name) {
            // Falco: "Can not append exception fields to existing exception, only values"
            // (LOAD_ERR_VALIDATE), and the same for comps.
            Some(_) if ex.fields.is_some() || ex.comps.is_some() => diags.push(
                Diagnostic::new(
                    codes::INVALID_EXCEPTION_DEF,
                    ex.span,
                    format!(
                        "appended exception `{}` redefines its {}",
                        ex.name,
                        if ex.fields.is_some() { "`fields`" } else { "`comps`" }
                    ),
                )
                .with_label(format!("rule `{rule}` already has an exception of this name"))
                .with_help("an appended exception with the name of an existing one may only add `values`; remove `fields` and `comps`, or give it a new name")
                .with_item(rule.to_string()),
            ),
            Some(existing) => {
                existing.values.extend(ex.values);
                existing.value_files.extend(ex.value_files);
            }
            // Falco: "Rule exception must have fields property with a list of fields"
            // (LOAD_ERR_VALIDATE); only values can be added to an exception that exists.
            None if ex.fields.is_none() => diags.push(
                Diagnostic::new(
                    codes::INVALID_EXCEPTION_DEF,
                    ex.span,
                    format!("appended exception `{}` has no `fields`", ex.name),
                )
                .with_label(format!("rule `{rule}` has no exception of this name"))
                .with_help("give a new exception `fields` (and `values`); without `fields`, an appended exception can only add values to an existing one of the same name")
                .with_item(rule.to_string()),
            ),
            None => into.push(ex),
        }
    }
    diags
}

// ---------------------------------------------------------------------------------------
// Compile phase

/// Resolves files loaded together, in order.
pub fn resolve(files: &[&RulesFile]) -> (Resolved, Vec<Diagnostic>) {
    compile(collect(files))
}

fn collect(files: &[&RulesFile]) -> Collector {
    let mut c = Collector::default();
    for f in files {
        let file = f.file.unwrap_or(FileId(0));
        for item in &f.items {
            match &item.kind {
                ItemKind::List(l) => c.list(file, l),
                ItemKind::Macro(m) => c.macro_(file, m),
                ItemKind::Rule(r) => c.rule(file, r),
                ItemKind::RequiredEngineVersion(v) => {
                    check_engine_version(file, v, &mut c.diags);
                }
                ItemKind::RequiredPluginVersions(_) | ItemKind::Unknown => {}
            }
        }
    }
    c
}

fn check_engine_version(file: FileId, v: &Scalar, diags: &mut Vec<Diagnostic>) {
    let text = v.value.trim();
    let parsed: Option<(u64, u64, u64)> = if let Ok(n) = text.parse::<u64>() {
        Some((0, n, 0))
    } else {
        let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Some(a)), Some(Some(b)), Some(Some(c)), None) => Some((a, b, c)),
            _ => None,
        }
    };
    // An unparsable version was reported by the loader.
    let Some(req) = parsed else { return };
    if req.0 != ENGINE_VERSION.0 || req > ENGINE_VERSION {
        diags.push(
            Diagnostic::new(
                codes::ENGINE_VERSION_TOO_NEW,
                FileSpan::new(file, v.span),
                format!(
                    "this file requires engine version {}.{}.{}, newer than Lanner's {}.{}.{}",
                    req.0, req.1, req.2, ENGINE_VERSION.0, ENGINE_VERSION.1, ENGINE_VERSION.2
                ),
            )
            .with_label("required here")
            .with_help("upgrade Lanner, or use rules written for an older engine"),
        );
    }
}

/// Lists compiled: items with spaces quoted, lists inside lists expanded one level.
fn compile_lists(c: &mut Collector) -> Vec<Vec<ListItemText>> {
    let mut out: Vec<Vec<ListItemText>> = Vec::with_capacity(c.lists.len());
    for i in 0..c.lists.len() {
        let mut items = Vec::new();
        let Some(list) = c.lists.get(i) else { continue };
        let last = list.last;
        let mut referenced = Vec::new();
        for (file, item) in &list.items {
            // An item naming a list defined earlier is replaced by that list's items as written.
            if let Some(&j) = c.list_by_name.get(item.value.as_str())
                && j != i
                && c.lists.get(j).is_some_and(|l| l.first < last)
            {
                referenced.push(j);
                if let Some(inner) = c.lists.get(j) {
                    for (f2, it2) in &inner.items {
                        items.push(item_text(*f2, it2));
                    }
                }
                continue;
            }
            items.push(item_text(*file, item));
        }
        for j in referenced {
            if let Some(l) = c.lists.get_mut(j) {
                l.used = true;
            }
        }
        out.push(items);
    }
    out
}

fn item_text(file: FileId, s: &Arc<Scalar>) -> ListItemText {
    let mut text = ComposedText::new();
    let at = FileSpan::new(file, s.span);
    if s.value.contains(' ') && !s.value.starts_with('"') && !s.value.starts_with('\'') {
        text.push_synthetic("\"", at);
        text.push_scalar(file, s, 0, s.value.len());
        text.push_synthetic("\"", at);
    } else {
        text.push_scalar(file, s, 0, s.value.len());
    }
    ListItemText { text }
}

/// Substitutes every list into `text`, marking the lists used.
///
/// Falco tries every list, in definition order, on the text as the earlier substitutions left
/// it. A list whose name holds no delimiter can only match a whole token of that text, so only
/// the lists named by its tokens are tried (the text is tokenised again after each
/// substitution, which can paste in names of later lists); the rest cannot change it. Names
/// with a delimiter in them are always tried.
// INVARIANT: the result equals trying every list in order (`tests::substitution_prefilter`).
fn substitute_all(
    text: &ComposedText,
    lists: &mut [ListInfo],
    by_name: &HashMap<String, usize>,
    untokened: &[usize],
    compiled: &[Vec<ListItemText>],
) -> ComposedText {
    let mut cur = text.clone();
    let mut next = 0usize;
    loop {
        let candidate = lists::tokens(cur.as_str())
            .filter_map(|t| by_name.get(t).copied())
            .chain(untokened.iter().copied())
            .filter(|&i| i >= next)
            .min();
        let Some(i) = candidate else { break };
        if let (Some(list), Some(items)) = (lists.get_mut(i), compiled.get(i))
            && let Some(n) = lists::substitute(&cur, &list.name, items)
        {
            cur = n;
            list.used = true;
        }
        next = i + 1;
    }
    cur
}

/// The lists whose names hold a delimiter: [`substitute_all`] tries them on every text.
fn untokened_lists(lists: &[ListInfo]) -> Vec<usize> {
    lists
        .iter()
        .enumerate()
        .filter(|(_, l)| !lists::is_token(&l.name))
        .map(|(i, _)| i)
        .collect()
}

/// [`substitute_all`] without the token prefilter: every list tried in order.
#[cfg(test)]
fn substitute_all_naive(
    text: &ComposedText,
    lists: &mut [ListInfo],
    compiled: &[Vec<ListItemText>],
) -> ComposedText {
    let mut cur = text.clone();
    for (list, items) in lists.iter_mut().zip(compiled) {
        if let Some(next) = lists::substitute(&cur, &list.name, items) {
            cur = next;
            list.used = true;
        }
    }
    cur
}

struct Compiled {
    macros: Vec<Option<Expr>>,
    /// Parse failed: no further errors for conditions using it.
    broken: Vec<bool>,
}

/// The event sources whose rules Lanner compiles: the syscall source (Falco's built-in one).
pub const KNOWN_SOURCES: &[&str] = &["syscall"];

fn compile(mut c: Collector) -> (Resolved, Vec<Diagnostic>) {
    let mut diags = std::mem::take(&mut c.diags);
    let compiled_lists = compile_lists(&mut c);
    let untokened = untokened_lists(&c.lists);

    // Macros: substitute, parse, no expansion yet.
    let mut macro_asts: Vec<Option<Expr>> = Vec::with_capacity(c.macros.len());
    for i in 0..c.macros.len() {
        let Some(m) = c.macros.get(i) else { continue };
        let raw = m.cond.clone();
        let name = m.name.clone();
        let text = substitute_all(
            &raw,
            &mut c.lists,
            &c.list_by_name,
            &untokened,
            &compiled_lists,
        );
        macro_asts.push(parse_reported(&raw, &text, &name, &mut diags));
    }
    let mut comp = Compiled {
        broken: macro_asts.iter().map(Option::is_none).collect(),
        macros: macro_asts,
    };

    // Expand macros inside macros, in definition order, honouring visibility.
    let mut expanded: Vec<Option<Expr>> = vec![None; c.macros.len()];
    for i in 0..c.macros.len() {
        let mut stack = Vec::new();
        let e = expand_macro(i, &mut c, &mut comp, &mut expanded, &mut stack, &mut diags);
        if let Some(slot) = expanded.get_mut(i) {
            *slot = e;
        }
    }

    let mut rules = Vec::with_capacity(c.rules.len());
    for r in &c.rules {
        // Falco skips a rule whose source no loaded plugin provides, with a warning
        // (LOAD_UNKNOWN_SOURCE); its condition and output are not compiled, and the lists and
        // macros it names are not marked used.
        let known_source = KNOWN_SOURCES.contains(&r.source.as_str());
        if !known_source {
            diags.push(
                Diagnostic::new(
                    codes::UNKNOWN_SOURCE,
                    r.span,
                    format!("rule `{}` has source `{}`, which Lanner does not provide; the rule is skipped", r.name, r.source),
                )
                .with_label("skipped")
                .with_help("Lanner runs `syscall` rules only; other sources come from plugins it does not load")
                .with_item(r.name.clone()),
            );
            rules.push(ResolvedRule {
                name: r.name.clone(),
                name_span: r.span,
                condition: None,
                condition_text: r.cond.as_str().to_string(),
                output: r.output.as_str().trim().to_string(),
                output_format: None,
                desc: r.desc.clone(),
                priority: r.priority,
                source: r.source.clone(),
                enabled: false,
                tags: r.tags.clone(),
                capture: r.capture,
                capture_duration: r.capture_duration,
                warn_evttypes: r.warn_evttypes,
                skip_if_unknown_filter: r.skip_if_unknown_filter,
                exception_fields: Vec::new(),
                macros_used: Vec::new(),
            });
            continue;
        }
        let mut ex_diags = Vec::new();
        let with_ex = exceptions::apply(&r.cond, &r.exceptions, &r.name, &mut ex_diags);
        diags.extend(ex_diags);
        let text = substitute_all(
            &with_ex,
            &mut c.lists,
            &c.list_by_name,
            &untokened,
            &compiled_lists,
        );
        let mut macros_used = Vec::new();
        let condition = parse_reported(&with_ex, &text, &r.name, &mut diags).map(|mut e| {
            let mut used = Vec::new();
            expand_in(
                &mut e,
                &c.macro_by_name,
                &expanded,
                &comp.broken,
                &r.name,
                &mut used,
                &mut diags,
            );
            for &u in &used {
                if let Some(m) = c.macros.get(u)
                    && !macros_used.contains(&m.name)
                {
                    macros_used.push(m.name.clone());
                }
            }
            mark_used(&used, &mut c.macros, &comp.macros);
            e
        });
        let (output_format, output_diags) = parse_output(r.output.as_str(), &r.output);
        // Output syntax problems of the defining item were reported by the front end; report
        // only those that come from joining appended outputs.
        let _ = output_diags;
        rules.push(ResolvedRule {
            name: r.name.clone(),
            name_span: r.span,
            condition,
            condition_text: text.as_str().to_string(),
            output: r.output.as_str().trim().to_string(),
            output_format: Some(output_format),
            desc: r.desc.clone(),
            priority: r.priority,
            source: r.source.clone(),
            enabled: r.enabled,
            tags: r.tags.clone(),
            capture: r.capture,
            capture_duration: r.capture_duration,
            warn_evttypes: r.warn_evttypes,
            skip_if_unknown_filter: r.skip_if_unknown_filter,
            exception_fields: r
                .exceptions
                .iter()
                .flat_map(|e| match &e.fields {
                    Some(lanner_syntax::rules::ScalarOrSeq::Scalar(s)) => vec![s.value.clone()],
                    Some(lanner_syntax::rules::ScalarOrSeq::Seq(s)) => {
                        s.node.iter().map(|x| x.value.clone()).collect()
                    }
                    None => vec![],
                })
                .collect(),
            macros_used,
        });
    }

    for (m, broken) in c.macros.iter().zip(&comp.broken) {
        // A macro that does not parse has its error; calling it unused as well is noise.
        if !m.used && !broken {
            diags.push(
                Diagnostic::new(
                    codes::UNUSED_MACRO,
                    m.span,
                    format!("macro `{}` is never used", m.name),
                )
                .with_label("defined here")
                .with_help("remove it, or use it in a rule")
                .with_item(m.name.clone()),
            );
        }
    }
    for l in &c.lists {
        if !l.used {
            diags.push(
                Diagnostic::new(
                    codes::UNUSED_LIST,
                    l.span,
                    format!("list `{}` is never used", l.name),
                )
                .with_label("defined here")
                .with_help("remove it, or use it in a condition such as `proc.name in (list_name)`")
                .with_item(l.name.clone()),
            );
        }
    }

    let resolved = Resolved {
        lists: c
            .lists
            .iter()
            .zip(&compiled_lists)
            .map(|(l, items)| ResolvedList {
                name: l.name.clone(),
                name_span: l.span,
                items: items.iter().map(|i| i.text.as_str().to_string()).collect(),
                used: l.used,
            })
            .collect(),
        macros: c
            .macros
            .iter()
            .zip(expanded)
            .map(|(m, e)| ResolvedMacro {
                name: m.name.clone(),
                name_span: m.span,
                condition: e,
                used: m.used,
            })
            .collect(),
        rules,
    };
    (resolved, diags)
}

/// Parses substituted text and reports its syntax errors. Falco parses only the final text of
/// each macro and rule, so an item that a later definition replaces is never parsed; the
/// driver drops the front end's per-item syntax errors for items resolved here.
fn parse_reported(
    raw: &ComposedText,
    text: &ComposedText,
    item: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Expr> {
    let (expr, ds) = parse(text.as_str(), text, RULE_MAX_DEPTH);
    let failed = ds.iter().any(Diagnostic::is_error);
    for mut d in ds {
        if d.item.is_none() {
            d.item = Some(item.to_string());
        }
        if raw.as_str() != text.as_str() {
            d = d.with_note(format!(
                "after list substitution, the condition reads: {}",
                text.as_str().trim()
            ));
        }
        diags.push(d);
    }
    (!failed).then_some(expr)
}

fn mark_used(used: &[usize], macros: &mut [MacroInfo], _asts: &[Option<Expr>]) {
    for &u in used {
        if let Some(m) = macros.get_mut(u) {
            m.used = true;
        }
    }
}

/// Expands the macros referenced by macro `i` (memoised in `expanded`).
fn expand_macro(
    i: usize,
    c: &mut Collector,
    comp: &mut Compiled,
    expanded: &mut Vec<Option<Expr>>,
    stack: &mut Vec<usize>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Expr> {
    let mut e = comp.macros.get(i).cloned().flatten()?;
    let mut used = Vec::new();
    let name = c.macros.get(i).map(|m| m.name.clone()).unwrap_or_default();
    stack.push(i);
    expand_in_macro(&mut e, i, c, comp, expanded, stack, &name, &mut used, diags);
    stack.pop();
    for &u in &used {
        if let Some(m) = c.macros.get_mut(u) {
            m.used = true;
        }
    }
    Some(e)
}

#[allow(clippy::too_many_arguments)]
fn expand_in_macro(
    e: &mut Expr,
    owner: usize,
    c: &mut Collector,
    comp: &mut Compiled,
    expanded: &mut Vec<Option<Expr>>,
    stack: &mut Vec<usize>,
    item: &str,
    used: &mut Vec<usize>,
    diags: &mut Vec<Diagnostic>,
) {
    match e {
        Expr::And(children, _) | Expr::Or(children, _) => {
            for ch in children {
                expand_in_macro(ch, owner, c, comp, expanded, stack, item, used, diags);
            }
        }
        Expr::Not(inner, _) => {
            expand_in_macro(inner, owner, c, comp, expanded, stack, item, used, diags);
        }
        Expr::Macro(id) => {
            let owner_last = c.macros.get(owner).map_or(0, |m| m.last);
            let target = c
                .macro_by_name
                .get(&id.name)
                .copied()
                .filter(|&t| c.macros.get(t).is_some_and(|m| m.first < owner_last));
            let Some(t) = target else {
                diags.push(undefined_macro(id, c, item));
                *e = Expr::Error(id.span);
                return;
            };
            used.push(t);
            if stack.contains(&t) {
                diags.push(
                    Diagnostic::new(
                        codes::MACRO_LOOP,
                        id.span,
                        format!("macro `{}` refers to itself", id.name),
                    )
                    .with_label("this reference closes a loop")
                    .with_help("a macro cannot use itself, directly or through other macros")
                    .with_item(item.to_string()),
                );
                *e = Expr::Error(id.span);
                return;
            }
            if comp.broken.get(t).copied().unwrap_or(true) {
                *e = Expr::Error(id.span);
                return;
            }
            if expanded.get(t).is_none_or(Option::is_none) && t > owner {
                // A later macro that is visible (first defined earlier, redefined later) and not
                // yet expanded: expand it now.
                let r = expand_macro(t, c, comp, expanded, stack, diags);
                if let Some(slot) = expanded.get_mut(t) {
                    *slot = r;
                }
            }
            if let Some(Some(x)) = expanded.get(t) {
                *e = x.clone();
            } else if let Some(Some(x)) = comp.macros.get(t) {
                // Not expanded yet (a cycle is being built); expand this copy in place.
                let mut x = x.clone();
                stack.push(t);
                expand_in_macro(&mut x, t, c, comp, expanded, stack, item, used, diags);
                stack.pop();
                *e = x;
            }
        }
        Expr::Check(_) | Expr::Error(_) => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn expand_in(
    e: &mut Expr,
    by_name: &HashMap<String, usize>,
    expanded: &[Option<Expr>],
    broken: &[bool],
    item: &str,
    used: &mut Vec<usize>,
    diags: &mut Vec<Diagnostic>,
) {
    match e {
        Expr::And(children, _) | Expr::Or(children, _) => {
            for ch in children {
                expand_in(ch, by_name, expanded, broken, item, used, diags);
            }
        }
        Expr::Not(inner, _) => {
            expand_in(inner, by_name, expanded, broken, item, used, diags);
        }
        Expr::Macro(id) => match by_name.get(&id.name) {
            // Rules see every macro, whatever the order.
            Some(&t) => {
                used.push(t);
                *e = match expanded.get(t) {
                    Some(Some(x)) if !broken.get(t).copied().unwrap_or(true) => x.clone(),
                    _ => Expr::Error(id.span),
                };
            }
            None => {
                let names: Vec<&str> = by_name.keys().map(String::as_str).collect();
                diags.push(undefined_macro_names(id, &names, item));
                *e = Expr::Error(id.span);
            }
        },
        Expr::Check(_) | Expr::Error(_) => {}
    }
}

fn undefined_macro(id: &Ident, c: &Collector, item: &str) -> Diagnostic {
    let names: Vec<&str> = c.macros.iter().map(|m| m.name.as_str()).collect();
    let mut d = undefined_macro_names(id, &names, item);
    if let Some(&t) = c.macro_by_name.get(&id.name)
        && let Some(m) = c.macros.get(t)
    {
        d = d
            .with_secondary(m.span, "defined here, after the macro that uses it")
            .with_help(
                "inside a macro, only macros defined earlier are visible; move the definition up",
            );
    }
    d
}

fn undefined_macro_names(id: &Ident, names: &[&str], item: &str) -> Diagnostic {
    let mut d = Diagnostic::new(
        codes::UNDEFINED_MACRO,
        id.span,
        format!("undefined macro `{}`", id.name),
    )
    .with_label("no macro by this name")
    .with_item(item.to_string());
    if let Some(best) = closest(&id.name, names) {
        d = d.with_help(format!("did you mean `{best}`?"));
    } else if id.name.contains('.') || id.name.chars().all(|c| c.is_ascii_lowercase()) {
        d = d.with_help(
            "a bare word in a condition is a macro name; a check is written `field operator value`",
        );
    }
    d
}

/// The closest name by edit distance, if close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for &c in candidates {
        let limit = (word.len().max(c.len()) / 3).max(1);
        // The distance is at least the length difference: skip the quadratic work when that
        // alone rules the candidate out.
        if word.len().abs_diff(c.len()) > limit {
            continue;
        }
        // Typos rarely change the first letter; skipping those keeps lints over large rule sets
        // cheap.
        if word.bytes().next() != c.bytes().next() {
            continue;
        }
        let d = strsim::osa_distance(word, c);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use lanner_syntax::front::parse_file;

    fn sources() -> Vec<Vec<String>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let upstream = lanner_testkit::shared().join("upstream-rules");
        let mut ws: Vec<String> = [
            "falco_rules.yaml",
            "falco-incubating_rules.yaml",
            "falco-sandbox_rules.yaml",
        ]
        .iter()
        .map(|n| std::fs::read_to_string(upstream.join(n)).unwrap())
        .collect();
        ws.push(
            std::fs::read_to_string(root.join("../../stdlib-rules/lanner_rules.yaml")).unwrap(),
        );
        let mut out = vec![ws];
        for e in std::fs::read_dir(root.join("tests/fixtures/loader")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                out.push(vec![std::fs::read_to_string(p).unwrap()]);
            }
        }
        // Substitution pasting a later list's name, a list naming itself, a name with a
        // delimiter in it, an empty list swallowing a comma.
        out.push(vec![
            "- list: a\n  items: [b, x]\n- list: b\n  items: [y, b]\n- list: my list\n  items: [z]\n\
             - list: e\n  items: []\n\
             - macro: m\n  condition: proc.name in (a) and fd.name in (my list) and k in (e, q)\n"
                .to_owned(),
        ]);
        out
    }

    #[test]
    fn substitution_prefilter() {
        let mut texts = 0;
        for ws in sources() {
            let parsed: Vec<_> = ws
                .iter()
                .enumerate()
                .map(|(i, t)| parse_file(FileId(u32::try_from(i).unwrap()), t).0)
                .collect();
            let files: Vec<_> = parsed.iter().map(|p| &p.rules).collect();
            let (mut fast, mut naive) = (collect(&files), collect(&files));
            let compiled = compile_lists(&mut fast);
            let _ = compile_lists(&mut naive);
            let untokened = untokened_lists(&fast.lists);
            let conds: Vec<ComposedText> = fast
                .macros
                .iter()
                .map(|m| m.cond.clone())
                .chain(fast.rules.iter().map(|r| r.cond.clone()))
                .collect();
            for cond in &conds {
                let a = substitute_all(
                    cond,
                    &mut fast.lists,
                    &fast.list_by_name,
                    &untokened,
                    &compiled,
                );
                let b = substitute_all_naive(cond, &mut naive.lists, &compiled);
                assert_eq!(a.as_str(), b.as_str());
                texts += 1;
            }
            let used = |c: &Collector| c.lists.iter().map(|l| l.used).collect::<Vec<_>>();
            assert_eq!(used(&fast), used(&naive));
        }
        assert!(texts > 500, "the upstream conditions are compared");
    }
}
