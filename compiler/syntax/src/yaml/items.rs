//! Reading rules-file items (lists, macros, rules, version requirements) from the node tree.
//!
//! The checks follow Falco's rule loader (`rule_loader_reader.cpp`, language reference §7):
//! which key decides an item's kind, which keys each kind accepts, which values are required,
//! and how yaml-cpp converts scalars to booleans and integers.

use crate::codes;
use crate::diagnostic::{Code, Diagnostic};
use crate::rules::{
    Exception, ExceptionValue, Item, ItemKind, ListItem, MacroItem, Override, OverrideEntry,
    OverrideOp, PluginRequirement, Priority, RuleItem, ScalarOrSeq,
};
use crate::scalar::{Scalar, ScalarMap, ScalarStyle};
use crate::span::{FileId, FileSpan, Span, Spanned};

use super::suggest::closest;
use super::tree::Node;

/// Item kinds, in the order Falco tests for them.
const KINDS: &[&str] = &[
    "required_engine_version",
    "required_plugin_versions",
    "list",
    "macro",
    "rule",
];

const LIST_KEYS: &[&str] = &["list", "items", "append", "override"];
const MACRO_KEYS: &[&str] = &["macro", "condition", "append", "override"];
const RULE_KEYS: &[&str] = &[
    "rule",
    "condition",
    "output",
    "desc",
    "priority",
    "source",
    "enabled",
    "capture",
    "capture_duration",
    "warn_evttypes",
    "skip-if-unknown-filter",
    "tags",
    "exceptions",
    "override",
    "append",
];
const EXCEPTION_KEYS: &[&str] = &["name", "fields", "comps", "values"];
const PLUGIN_KEYS: &[&str] = &["name", "version", "alternatives"];
const ALTERNATIVE_KEYS: &[&str] = &["name", "version"];

/// Rule keys `override` may append to, and those it may replace.
const RULE_APPENDABLE: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
const RULE_REPLACEABLE: &[&str] = &[
    "condition",
    "output",
    "desc",
    "priority",
    "tags",
    "exceptions",
    "enabled",
    "warn_evttypes",
    "skip-if-unknown-filter",
    "capture",
    "capture_duration",
];

/// The four keys whose presence makes a plain rule item a full definition.
const RULE_DEFINITION_KEYS: &[&str] = &["condition", "output", "desc", "priority"];

const PRIORITY_NAMES: &[&str] = &[
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "info",
    "debug",
];

/// One key of a mapping, with its value.
struct Entry<'a> {
    key: String,
    key_span: Span,
    value: &'a Node,
}

/// The keys of one mapping. Lookups return the first occurrence of a key, as yaml-cpp does.
struct MapView<'a> {
    entries: Vec<Entry<'a>>,
    span: Span,
}

impl<'a> MapView<'a> {
    fn get(&self, key: &str) -> Option<&Entry<'a>> {
        self.entries.iter().find(|e| e.key == key)
    }

    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The span to point at for "this mapping lacks something": its first key.
    fn anchor(&self) -> Span {
        self.entries.first().map_or(self.span, |e| e.key_span)
    }
}

/// What a message is about: the kind of mapping (`rule`, `exception`, ...) and the item name.
#[derive(Clone)]
struct Ctx {
    what: &'static str,
    item: Option<String>,
}

/// How a rule item is meant, which decides the keys it needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RuleMode {
    /// A new definition: needs condition, output, desc and priority.
    Full,
    /// Legacy `append: true`: needs condition or exceptions.
    Append,
    /// `override:` lists what the item changes.
    Override,
    /// Only `enabled`: toggles an existing rule (deprecated form).
    EnabledOnly,
}

pub(crate) struct Reader {
    file: FileId,
    diags: Vec<Diagnostic>,
    /// Stands in for the last diagnostic should `diags` ever be empty right after a push,
    /// which cannot happen; it keeps [`Reader::report`] free of panics.
    scratch: Diagnostic,
}

impl Reader {
    pub fn new(file: FileId) -> Reader {
        Reader {
            file,
            diags: Vec::new(),
            scratch: Diagnostic::new(
                codes::YAML_SYNTAX,
                FileSpan::new(file, Span::default()),
                String::new(),
            ),
        }
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diags
    }

    fn fs(&self, span: Span) -> FileSpan {
        FileSpan::new(self.file, span)
    }

    fn report(&mut self, ctx: &Ctx, code: Code, span: Span, message: String) -> &mut Diagnostic {
        let mut diag = Diagnostic::new(code, self.fs(span), message);
        if let Some(item) = &ctx.item {
            diag = diag.with_item(item.clone());
        }
        self.diags.push(diag);
        match self.diags.last_mut() {
            Some(d) => d,
            None => &mut self.scratch,
        }
    }

    /// A document that is not a sequence of items.
    pub fn not_a_sequence(&mut self, node: &Node) {
        let span = match node {
            Node::Map(entries, span) => entries.first().map_or(*span, |(k, _)| k.span()),
            other => other.span(),
        };
        let ctx = Ctx {
            what: "document",
            item: None,
        };
        let d = self.report(
            &ctx,
            codes::NOT_A_SEQUENCE,
            span,
            format!(
                "a rules document must be a sequence of items, found {}",
                node.shape()
            ),
        );
        d.label = "expected `- ` before each item".into();
        d.help = Some("start every item with `- `, e.g. `- rule: my_rule`".into());
    }

    /// One item of a rules document.
    pub fn item(&mut self, node: &Node, items: &mut Vec<Item>) {
        let (pairs, span) = match node {
            Node::Map(pairs, span) => (pairs, *span),
            n if n.is_null() => return,
            other => {
                let ctx = Ctx {
                    what: "item",
                    item: None,
                };
                let d = self.report(
                    &ctx,
                    codes::ITEM_NOT_MAPPING,
                    other.span(),
                    format!(
                        "each item of a rules file must be a mapping, found {}",
                        other.shape()
                    ),
                );
                d.label = "expected `key: value` pairs".into();
                d.help = Some("an item looks like `- rule: name` followed by its keys".into());
                return;
            }
        };
        let view = self.view(pairs, span);
        let kind_key = KINDS.iter().copied().find(|k| view.has(k));
        let name = match kind_key {
            Some(k @ ("list" | "macro" | "rule")) => view
                .get(k)
                .and_then(|e| match e.value {
                    Node::Scalar(s) if !s.null => Some(s.scalar.value.clone()),
                    _ => None,
                })
                .filter(|n| !n.is_empty()),
            _ => None,
        };
        let ctx = Ctx {
            what: kind_key.unwrap_or("item"),
            item: name,
        };
        self.duplicates(&ctx, &view);
        let keys: Vec<Spanned<String>> = view
            .entries
            .iter()
            .map(|e| Spanned::new(e.key.clone(), e.key_span))
            .collect();
        let (kind, key_span) = match kind_key {
            Some(k) => {
                let key_span = view.get(k).map_or(span, |e| e.key_span);
                let kind = match k {
                    "required_engine_version" => self.engine_version(&ctx, &view),
                    "required_plugin_versions" => self.plugin_versions(&ctx, &view),
                    "list" => self.list(&ctx, &view, key_span),
                    "macro" => self.macro_(&ctx, &view, key_span),
                    _ => self.rule(&ctx, &view, key_span),
                };
                (kind, key_span)
            }
            None => {
                self.unknown_item(&ctx, &view);
                (ItemKind::Unknown, view.anchor())
            }
        };
        items.push(Item {
            kind,
            span,
            key_span,
            keys,
        });
    }

    /// Collect a mapping's keys. Keys that are not strings are reported and left out.
    fn view<'a>(&mut self, pairs: &'a [(Node, Node)], span: Span) -> MapView<'a> {
        let mut entries = Vec::new();
        for (key, value) in pairs {
            match key {
                Node::Scalar(s) => entries.push(Entry {
                    key: s.scalar.value.clone(),
                    key_span: s.scalar.span,
                    value,
                }),
                other => {
                    let ctx = Ctx {
                        what: "item",
                        item: None,
                    };
                    self.report(
                        &ctx,
                        codes::WRONG_TYPE,
                        other.span(),
                        format!("a key must be a string, found {}", other.shape()),
                    );
                }
            }
        }
        MapView { entries, span }
    }

    /// Warn about keys that appear more than once; yaml-cpp, and so Falco, uses the first.
    fn duplicates(&mut self, ctx: &Ctx, view: &MapView<'_>) {
        for (i, e) in view.entries.iter().enumerate() {
            let first = view.entries.iter().take(i).find(|f| f.key == e.key);
            if let Some(first) = first {
                let first_span = self.fs(first.key_span);
                let d = self.report(
                    ctx,
                    codes::DUPLICATE_KEY,
                    e.key_span,
                    format!("duplicate key `{}` in {}", e.key, ctx.what),
                );
                d.label = "this key is ignored".into();
                d.secondary.push(crate::diagnostic::Label {
                    span: first_span,
                    message: "the first one is used".into(),
                });
                d.help = Some(format!("remove one of the `{}` keys", e.key));
            }
        }
    }

    /// Warn about keys the item kind does not know.
    fn unknown_keys(&mut self, ctx: &Ctx, view: &MapView<'_>, allowed: &[&str]) {
        for e in &view.entries {
            if allowed.contains(&e.key.as_str()) {
                continue;
            }
            let suggestion = closest(&e.key, allowed).filter(|s| !view.has(s));
            let key_fs = self.fs(e.key_span);
            let d = self.report(
                ctx,
                codes::UNKNOWN_KEY,
                e.key_span,
                format!("unknown key `{}` in {}", e.key, ctx.what),
            );
            d.label = "this key is ignored".into();
            match suggestion {
                Some(s) => {
                    d.help = Some(format!("did you mean `{s}`?"));
                    d.fix = Some(crate::diagnostic::Fix {
                        span: key_fs,
                        replacement: s.to_string(),
                    });
                }
                None => {
                    d.help = Some(format!("a {} accepts {}", ctx.what, quote_list(allowed)));
                }
            }
        }
    }

    fn unknown_item(&mut self, ctx: &Ctx, view: &MapView<'_>) {
        let suggestion = view
            .entries
            .iter()
            .find_map(|e| kind_typo(&e.key).map(|s| (e, s)));
        let span = view.anchor();
        let fix_span = suggestion.map(|(e, _)| self.fs(e.key_span));
        let d = self.report(
            ctx,
            codes::UNKNOWN_ITEM,
            span,
            "unknown item: it has none of the keys `rule`, `macro`, `list`, `required_engine_version`, `required_plugin_versions`".to_string(),
        );
        d.label = "this item is ignored".into();
        match (suggestion, fix_span) {
            (Some((e, s)), Some(fs)) => {
                d.help = Some(format!("did you mean `{s}` instead of `{}`?", e.key));
                d.fix = Some(crate::diagnostic::Fix {
                    span: fs,
                    replacement: s.to_string(),
                });
            }
            _ => {
                d.help = Some("start the item with `rule:`, `macro:` or `list:`".into());
            }
        }
    }

    // ---- scalar values -------------------------------------------------------------------

    /// A missing required key, reported at `at` (the item's kind key).
    fn missing(&mut self, ctx: &Ctx, at: Span, key: &str, help: Option<String>) {
        let d = self.report(
            ctx,
            codes::MISSING_KEY,
            at,
            format!("missing key `{key}` in {}", ctx.what),
        );
        d.label = format!("this {} has no `{key}`", ctx.what);
        d.help = help;
    }

    /// A string value. A null value counts as absent unless `required`; an empty string is an
    /// error unless `allow_empty`. `code` is the code for shape problems (exceptions use their
    /// own).
    fn text(
        &mut self,
        ctx: &Ctx,
        entry: Option<&Entry<'_>>,
        required: bool,
        allow_empty: bool,
        code: Option<Code>,
    ) -> Option<Scalar> {
        let e = entry?;
        match e.value {
            Node::Scalar(s) if s.null => {
                if required {
                    let d = self.report(
                        ctx,
                        code.unwrap_or(codes::EMPTY_VALUE),
                        e.key_span,
                        format!("`{}` has no value", e.key),
                    );
                    d.label = "expected a non-empty string after this key".into();
                }
                None
            }
            Node::Scalar(s) => {
                if s.scalar.value.is_empty() && !allow_empty {
                    let d = self.report(
                        ctx,
                        code.unwrap_or(codes::EMPTY_VALUE),
                        s.scalar.span,
                        format!("`{}` must not be empty", e.key),
                    );
                    d.label = "empty string".into();
                    return None;
                }
                Some(s.scalar.clone())
            }
            other => {
                let d = self.report(
                    ctx,
                    code.unwrap_or(codes::WRONG_TYPE),
                    other.span(),
                    format!("expected a string for `{}`, found {}", e.key, other.shape()),
                );
                d.label = format!("{} is not a string", other.shape());
                if matches!(other, Node::Map(..)) {
                    d.help = Some(
                        "a `: ` inside a plain value starts a mapping; quote the value or use a block scalar (`>`)"
                            .into(),
                    );
                }
                None
            }
        }
    }

    /// The scalar text of a value for typed keys (booleans, integers), with the same null and
    /// empty rules as [`Reader::text`].
    fn typed_scalar<'n>(
        &mut self,
        ctx: &Ctx,
        entry: Option<&Entry<'n>>,
        required: bool,
        type_name: &str,
    ) -> Option<&'n Scalar> {
        let e = entry?;
        match e.value {
            Node::Scalar(s) if s.null => {
                if required {
                    let d = self.report(
                        ctx,
                        codes::EMPTY_VALUE,
                        e.key_span,
                        format!("`{}` has no value", e.key),
                    );
                    d.label = format!("expected {type_name} after this key");
                }
                None
            }
            Node::Scalar(s) if s.scalar.value.is_empty() => {
                let d = self.report(
                    ctx,
                    codes::EMPTY_VALUE,
                    s.scalar.span,
                    format!("`{}` must not be empty", e.key),
                );
                d.label = format!("expected {type_name}");
                None
            }
            Node::Scalar(s) => Some(&s.scalar),
            other => {
                let d = self.report(
                    ctx,
                    codes::WRONG_TYPE,
                    other.span(),
                    format!(
                        "expected {type_name} for `{}`, found {}",
                        e.key,
                        other.shape()
                    ),
                );
                d.label = format!("{} is not {type_name}", other.shape());
                None
            }
        }
    }

    fn boolean(
        &mut self,
        ctx: &Ctx,
        entry: Option<&Entry<'_>>,
        required: bool,
    ) -> Option<Spanned<bool>> {
        let key = entry.map(|e| e.key.clone()).unwrap_or_default();
        let s = self.typed_scalar(ctx, entry, required, "a boolean")?;
        match parse_bool(&s.value) {
            Some(b) => Some(Spanned::new(b, s.span)),
            None => {
                let (span, value) = (s.span, s.value.clone());
                let d = self.report(
                    ctx,
                    codes::WRONG_TYPE,
                    span,
                    format!("expected a boolean for `{key}`, found `{value}`"),
                );
                d.label = "not a boolean".into();
                d.help = Some("use `true` or `false`".into());
                None
            }
        }
    }

    fn integer(&mut self, ctx: &Ctx, entry: Option<&Entry<'_>>) -> Option<Spanned<u64>> {
        let key = entry.map(|e| e.key.clone()).unwrap_or_default();
        let s = self.typed_scalar(ctx, entry, false, "an integer")?;
        match parse_u64(&s.value) {
            Some(n) => Some(Spanned::new(n, s.span)),
            None => {
                let (span, value) = (s.span, s.value.clone());
                let d = self.report(
                    ctx,
                    codes::WRONG_TYPE,
                    span,
                    format!("expected a non-negative integer for `{key}`, found `{value}`"),
                );
                d.label = "not an integer".into();
                None
            }
        }
    }

    /// A sequence of strings (`items`, `tags`).
    fn string_seq(
        &mut self,
        ctx: &Ctx,
        entry: Option<&Entry<'_>>,
        required: bool,
    ) -> Option<Spanned<Vec<Scalar>>> {
        let e = entry?;
        let children = match e.value {
            Node::Seq(children, _) => children,
            n if n.is_null() && required => {
                let d = self.report(
                    ctx,
                    codes::EMPTY_VALUE,
                    e.key_span,
                    format!("`{}` has no value", e.key),
                );
                d.label = "expected a sequence after this key".into();
                d.help = Some(format!("write `{}: []` for an empty sequence", e.key));
                return None;
            }
            other => {
                let d = self.report(
                    ctx,
                    codes::WRONG_TYPE,
                    other.span(),
                    format!(
                        "expected a sequence of strings for `{}`, found {}",
                        e.key,
                        other.shape()
                    ),
                );
                d.label = format!("{} is not a sequence", other.shape());
                if let Node::Scalar(s) = other
                    && !s.null
                {
                    d.help = Some(format!("write `{}: [{}]`", e.key, s.scalar.value));
                }
                return None;
            }
        };
        let mut out = Vec::new();
        for child in children {
            match child {
                Node::Scalar(s) if !s.null => out.push(s.scalar.clone()),
                other => {
                    let d = self.report(
                        ctx,
                        codes::WRONG_TYPE,
                        other.span(),
                        format!(
                            "entries of `{}` must be strings, found {}",
                            e.key,
                            other.shape()
                        ),
                    );
                    d.label = format!("{} is not a string", other.shape());
                }
            }
        }
        Some(Spanned::new(out, e.value.span()))
    }

    /// The name of a list, macro or rule. Always returns a scalar so that the item is kept; it
    /// is empty when the name is unusable (and an error has been reported).
    fn name(&mut self, ctx: &Ctx, view: &MapView<'_>, key: &str, key_span: Span) -> Scalar {
        let entry = view.get(key);
        match self.text(ctx, entry, true, false, None) {
            Some(s) => s,
            None => Scalar {
                value: String::new(),
                span: Span::at(key_span.end as usize),
                style: ScalarStyle::Plain,
                map: ScalarMap::verbatim(key_span.end as usize, 0),
            },
        }
    }

    fn append_flag(&mut self, ctx: &Ctx, view: &MapView<'_>) -> Option<Spanned<bool>> {
        let append = self.boolean(ctx, view.get("append"), false);
        if let Some(a) = &append
            && a.node
        {
            let key_span = view.get("append").map_or(a.span, |e| e.key_span);
            let what = match ctx.what {
                "list" => "items",
                _ => "condition",
            };
            let d = self.report(
                ctx,
                codes::DEPRECATED_APPEND,
                key_span.cover(a.span),
                "`append: true` is deprecated".to_string(),
            );
            d.label = "deprecated".into();
            d.help = Some(format!(
                "remove `append: true` and add `override:` with an `append` entry for each key instead, e.g. `{what}: append`"
            ));
        }
        append
    }

    /// Parse `override:` and check it against the item's keys (language reference §7.4).
    fn override_(
        &mut self,
        ctx: &Ctx,
        view: &MapView<'_>,
        appendable: &[&str],
        replaceable: &[&str],
    ) -> Option<Override> {
        let e = view.get("override")?;
        let pairs = match e.value {
            Node::Map(pairs, _) => pairs,
            n if n.is_null() => return None,
            other => {
                let d = self.report(
                    ctx,
                    codes::INVALID_OVERRIDE,
                    other.span(),
                    format!("`override` must be a mapping, found {}", other.shape()),
                );
                d.label = "expected `key: append` or `key: replace` entries".into();
                d.help = Some(
                    "write e.g. `override:` then `  condition: append` on the next line".into(),
                );
                return None;
            }
        };
        let sub = self.view(pairs, e.value.span());
        self.duplicates(ctx, &sub);
        let mut entries = Vec::new();
        for entry in &sub.entries {
            let op_scalar = match entry.value {
                Node::Scalar(s) if !s.null => &s.scalar,
                other => {
                    let d = self.report(
                        ctx,
                        codes::INVALID_OVERRIDE,
                        if other.is_null() {
                            entry.key_span
                        } else {
                            other.span()
                        },
                        format!(
                            "override for `{}` must be `append` or `replace`, found {}",
                            entry.key,
                            other.shape()
                        ),
                    );
                    d.label = "expected `append` or `replace`".into();
                    continue;
                }
            };
            let op = match op_scalar.value.as_str() {
                "append" => OverrideOp::Append,
                "replace" => OverrideOp::Replace,
                other => {
                    let value = other.to_string();
                    let suggestion = closest(&value, &["append", "replace"]);
                    let fs = self.fs(op_scalar.span);
                    let d = self.report(
                        ctx,
                        codes::INVALID_OVERRIDE,
                        op_scalar.span,
                        format!("invalid override operation `{value}` for `{}`", entry.key),
                    );
                    d.label = "expected `append` or `replace`".into();
                    match suggestion {
                        Some(s) => {
                            d.help = Some(format!("did you mean `{s}`?"));
                            d.fix = Some(crate::diagnostic::Fix {
                                span: fs,
                                replacement: s.to_string(),
                            });
                        }
                        None => d.help = Some("the operation is `append` or `replace`".into()),
                    }
                    continue;
                }
            };
            let key = entry.key.as_str();
            let allowed = match op {
                OverrideOp::Append => appendable.contains(&key),
                OverrideOp::Replace => replaceable.contains(&key),
            };
            if !allowed {
                let overridable = appendable.contains(&key) || replaceable.contains(&key);
                let (message, help) = match op {
                    OverrideOp::Append if overridable => (
                        format!("`{key}` cannot be appended to"),
                        "use `replace` instead".to_string(),
                    ),
                    OverrideOp::Replace if overridable => (
                        format!("`{key}` cannot be replaced"),
                        "use `append` instead".to_string(),
                    ),
                    _ => (
                        format!("`{key}` cannot be overridden in a {}", ctx.what),
                        format!(
                            "a {} can override {}",
                            ctx.what,
                            quote_list(&union(appendable, replaceable))
                        ),
                    ),
                };
                let d = self.report(ctx, codes::INVALID_OVERRIDE, entry.key_span, message);
                d.label = format!("`{}` is not allowed here", op_scalar.value);
                d.help = Some(help);
                continue;
            }
            entries.push(OverrideEntry {
                key: Spanned::new(entry.key.clone(), entry.key_span),
                op: Spanned::new(op, op_scalar.span),
            });
        }
        // Every override entry needs its key in the item, and every overridable key in the item
        // needs an override entry.
        for entry in &entries {
            if !view.has(&entry.key.node) {
                let key = entry.key.node.clone();
                let op = match entry.op.node {
                    OverrideOp::Append => "append",
                    OverrideOp::Replace => "replace",
                };
                let d = self.report(
                    ctx,
                    codes::INVALID_OVERRIDE,
                    entry.key.span,
                    format!(
                        "`override` says to {op} `{key}`, but the {} has no `{key}`",
                        ctx.what
                    ),
                );
                d.label = format!("no `{key}` in this {}", ctx.what);
                d.help = Some(format!("add the `{key}` to {op}, or remove this entry"));
            }
        }
        if !sub.entries.is_empty() {
            let all = union(appendable, replaceable);
            for item_entry in &view.entries {
                let key = item_entry.key.as_str();
                if !all.contains(&key) || sub.has(key) {
                    continue;
                }
                let suggestion = if appendable.contains(&key) {
                    format!("add `{key}: append` or `{key}: replace` under `override`")
                } else {
                    format!("add `{key}: replace` under `override`")
                };
                let d = self.report(
                    ctx,
                    codes::INVALID_OVERRIDE,
                    item_entry.key_span,
                    format!("`{key}` has no entry under `override`"),
                );
                d.label = "with `override`, every overridable key must say how it applies".into();
                d.help = Some(suggestion);
            }
        }
        Some(Override {
            span: e.value.span(),
            entries,
        })
    }

    /// `append: true` and `override:` together.
    fn append_and_override(&mut self, ctx: &Ctx, view: &MapView<'_>) {
        let (Some(a), Some(o)) = (view.get("append"), view.get("override")) else {
            return;
        };
        let o_span = self.fs(o.key_span);
        let d = self.report(
            ctx,
            codes::INVALID_OVERRIDE,
            a.key_span,
            "`override` and `append: true` cannot be used together".to_string(),
        );
        d.label = "`append: true` here".into();
        d.secondary.push(crate::diagnostic::Label {
            span: o_span,
            message: "`override` here".into(),
        });
        d.help = Some("remove `append: true` and add an `append` entry under `override`".into());
    }

    // ---- item kinds ----------------------------------------------------------------------

    fn list(&mut self, ctx: &Ctx, view: &MapView<'_>, key_span: Span) -> ItemKind {
        self.unknown_keys(ctx, view, LIST_KEYS);
        let name = self.name(ctx, view, "list", key_span);
        let append = self.append_flag(ctx, view);
        let override_ = self.override_(ctx, view, &["items"], &["items"]);
        let overrides = override_.as_ref().is_some_and(|o| !o.entries.is_empty());
        if overrides && append.as_ref().is_some_and(|a| a.node) {
            self.append_and_override(ctx, view);
        }
        let mentioned = override_mentions(&override_, "items");
        if !view.has("items") && !mentioned {
            self.missing(
                ctx,
                key_span,
                "items",
                Some("a list needs `items: [...]`".into()),
            );
        }
        let items = self.string_seq(ctx, view.get("items"), true);
        ItemKind::List(ListItem {
            name,
            items,
            append,
            override_,
        })
    }

    fn macro_(&mut self, ctx: &Ctx, view: &MapView<'_>, key_span: Span) -> ItemKind {
        self.unknown_keys(ctx, view, MACRO_KEYS);
        let name = self.name(ctx, view, "macro", key_span);
        let append = self.append_flag(ctx, view);
        let override_ = self.override_(ctx, view, &["condition"], &["condition"]);
        let overrides = override_.as_ref().is_some_and(|o| !o.entries.is_empty());
        if overrides && append.as_ref().is_some_and(|a| a.node) {
            self.append_and_override(ctx, view);
        }
        if !view.has("condition") && !override_mentions(&override_, "condition") {
            self.missing(
                ctx,
                key_span,
                "condition",
                Some("a macro needs a `condition`".into()),
            );
        }
        let condition = self.text(ctx, view.get("condition"), true, false, None);
        ItemKind::Macro(MacroItem {
            name,
            condition,
            append,
            override_,
        })
    }

    fn rule(&mut self, ctx: &Ctx, view: &MapView<'_>, key_span: Span) -> ItemKind {
        self.unknown_keys(ctx, view, RULE_KEYS);
        let name = self.name(ctx, view, "rule", key_span);
        let append = self.append_flag(ctx, view);
        let override_ = self.override_(ctx, view, RULE_APPENDABLE, RULE_REPLACEABLE);
        let has_override = override_.is_some()
            && view
                .get("override")
                .is_some_and(|e| matches!(e.value, Node::Map(p, _) if !p.is_empty()));
        let appending = append.as_ref().is_some_and(|a| a.node);
        if has_override && appending {
            self.append_and_override(ctx, view);
        }
        let mode = if has_override {
            RuleMode::Override
        } else if appending {
            RuleMode::Append
        } else if RULE_DEFINITION_KEYS.iter().any(|k| view.has(k)) {
            RuleMode::Full
        } else {
            RuleMode::EnabledOnly
        };
        let required = |key: &str| match mode {
            RuleMode::Full => RULE_DEFINITION_KEYS.contains(&key),
            RuleMode::Override => override_mentions(&override_, key),
            RuleMode::Append => false,
            RuleMode::EnabledOnly => key == "enabled",
        };
        match mode {
            RuleMode::Full => {
                for key in RULE_DEFINITION_KEYS {
                    if !view.has(key) {
                        self.missing(
                            ctx,
                            key_span,
                            key,
                            Some(
                                "a rule definition needs `condition`, `output`, `desc` and `priority`"
                                    .into(),
                            ),
                        );
                    }
                }
            }
            RuleMode::EnabledOnly => {
                if let Some(e) = view.get("enabled") {
                    let span = e.key_span.cover(e.value.span());
                    let d = self.report(
                        ctx,
                        codes::DEPRECATED_ENABLED,
                        span,
                        "a rule item with only `enabled` is deprecated".to_string(),
                    );
                    d.label = "deprecated".into();
                    d.help = Some(
                        "add `override:` with `enabled: replace` to change an existing rule's `enabled`"
                            .into(),
                    );
                }
                if !view.has("enabled") {
                    self.missing(
                        ctx,
                        key_span,
                        "condition",
                        Some(
                            "a rule definition needs `condition`, `output`, `desc` and `priority`; an item with only `enabled` turns an existing rule on or off"
                                .into(),
                        ),
                    );
                }
            }
            RuleMode::Append => {
                if !view.has("condition") && !view.has("exceptions") {
                    self.missing(
                        ctx,
                        key_span,
                        "condition",
                        Some("a rule with `append: true` must have a `condition` or `exceptions` to append".into()),
                    );
                }
            }
            RuleMode::Override => {}
        }
        let condition = self.text(
            ctx,
            view.get("condition"),
            required("condition"),
            false,
            None,
        );
        let output = self
            .text(ctx, view.get("output"), required("output"), false, None)
            .map(trim_scalar);
        let desc = self.text(ctx, view.get("desc"), required("desc"), false, None);
        let priority = self.priority(ctx, view.get("priority"), required("priority"));
        // On append and override items an empty or null `source` means "unspecified"; on a
        // full definition both are errors in Falco ("Mapping for key 'source' is empty").
        let full = mode == RuleMode::Full;
        let source = self.text(ctx, view.get("source"), full, !full, None);
        let enabled = self.boolean(ctx, view.get("enabled"), required("enabled"));
        let capture = self.boolean(ctx, view.get("capture"), required("capture"));
        let capture_duration = self.integer(ctx, view.get("capture_duration"));
        let warn_evttypes = self.boolean(ctx, view.get("warn_evttypes"), required("warn_evttypes"));
        let skip_if_unknown_filter = self.boolean(
            ctx,
            view.get("skip-if-unknown-filter"),
            required("skip-if-unknown-filter"),
        );
        let tags = self.string_seq(ctx, view.get("tags"), required("tags"));
        let exceptions_append = appending
            || override_.as_ref().is_some_and(|o| {
                o.entries
                    .iter()
                    .any(|e| e.key.node == "exceptions" && e.op.node == OverrideOp::Append)
            });
        let exceptions = self.exceptions(ctx, view.get("exceptions"), exceptions_append);
        ItemKind::Rule(Box::new(RuleItem {
            name,
            condition,
            output,
            desc,
            priority,
            source,
            enabled,
            capture,
            capture_duration,
            warn_evttypes,
            skip_if_unknown_filter,
            tags,
            exceptions,
            append,
            override_,
        }))
    }

    fn priority(
        &mut self,
        ctx: &Ctx,
        entry: Option<&Entry<'_>>,
        required: bool,
    ) -> Option<Spanned<Priority>> {
        let s = self.text(ctx, entry, required, false, None)?;
        if let Some(p) = Priority::parse(&s.value) {
            return Some(Spanned::new(p, s.span));
        }
        let suggestion = closest(&s.value, PRIORITY_NAMES).map(|p| {
            // Suggest in the writer's own case style: upstream files write `WARNING`.
            if s.value.chars().any(char::is_lowercase) {
                p.to_string()
            } else {
                p.to_ascii_uppercase()
            }
        });
        let fs = self.fs(s.span);
        let d = self.report(
            ctx,
            codes::INVALID_PRIORITY,
            s.span,
            format!("invalid priority `{}`", s.value),
        );
        d.label = "not a priority".into();
        let valid = "valid priorities are `emergency`, `alert`, `critical`, `error`, `warning`, `notice`, `informational` (or `info`) and `debug`, in any case";
        match suggestion {
            Some(p) => {
                d.help = Some(format!("did you mean `{p}`? {valid}"));
                d.fix = Some(crate::diagnostic::Fix {
                    span: fs,
                    replacement: p,
                });
            }
            None => d.help = Some(valid.into()),
        }
        None
    }

    fn exceptions(
        &mut self,
        ctx: &Ctx,
        entry: Option<&Entry<'_>>,
        append: bool,
    ) -> Option<Spanned<Vec<Exception>>> {
        let e = entry?;
        let children = match e.value {
            Node::Seq(children, _) => children,
            // No exceptions, or an empty `exceptions:`, are both fine.
            n if n.is_null() => return None,
            other => {
                let d = self.report(
                    ctx,
                    codes::WRONG_TYPE,
                    other.span(),
                    format!(
                        "expected a sequence of exceptions for `exceptions`, found {}",
                        other.shape()
                    ),
                );
                d.label = format!("{} is not a sequence", other.shape());
                d.help = Some(
                    "write each exception as `- name: ...` with `fields`, `comps` and `values`"
                        .into(),
                );
                return None;
            }
        };
        let mut out = Vec::new();
        for child in children {
            let Node::Map(pairs, span) = child else {
                let d = self.report(
                    ctx,
                    codes::WRONG_TYPE,
                    child.span(),
                    format!("each exception must be a mapping, found {}", child.shape()),
                );
                d.label = "expected `name`, `fields`, `comps` and `values`".into();
                continue;
            };
            out.push(self.exception(ctx, pairs, *span, append));
        }
        Some(Spanned::new(out, e.value.span()))
    }

    fn exception(
        &mut self,
        ctx: &Ctx,
        pairs: &[(Node, Node)],
        span: Span,
        append: bool,
    ) -> Exception {
        let view = self.view(pairs, span);
        let ex_ctx = Ctx {
            what: "exception",
            item: ctx.item.clone(),
        };
        self.duplicates(&ex_ctx, &view);
        self.unknown_keys(&ex_ctx, &view, EXCEPTION_KEYS);
        let code = Some(codes::INVALID_EXCEPTION);
        if !view.has("name") {
            let d = self.report(
                &ex_ctx,
                codes::INVALID_EXCEPTION,
                view.anchor(),
                "exception has no `name`".to_string(),
            );
            d.label = "this exception needs a `name`".into();
        }
        let name = self.text(&ex_ctx, view.get("name"), true, false, code);
        if !append && !view.has("fields") {
            let label_name = name
                .as_ref()
                .map_or(String::new(), |n| format!(" `{}`", n.value));
            let d = self.report(
                &ex_ctx,
                codes::INVALID_EXCEPTION,
                view.get("name").map_or(view.anchor(), |e| e.key_span),
                format!("exception{label_name} has no `fields`"),
            );
            d.label = "this exception needs `fields`".into();
            d.help =
                Some("only an exception appended to an existing one may leave out `fields`".into());
        }
        let fields = self.scalar_or_seq(&ex_ctx, view.get("fields"));
        let comps = self.scalar_or_seq(&ex_ctx, view.get("comps"));
        let values = view.get("values").and_then(|e| match e.value {
            Node::Seq(children, vspan) => {
                let vals = children
                    .iter()
                    .filter_map(|c| self.exception_value(&ex_ctx, c))
                    .collect();
                Some(Spanned::new(vals, *vspan))
            }
            other => {
                let d = self.report(
                    &ex_ctx,
                    codes::INVALID_EXCEPTION,
                    if other.is_null() {
                        e.key_span
                    } else {
                        other.span()
                    },
                    format!(
                        "exception `values` must be a sequence, found {}",
                        other.shape()
                    ),
                );
                d.label = "expected a sequence".into();
                d.help = Some(
                    "write `values: [[a, b], [c, d]]`, one tuple per allowed combination".into(),
                );
                None
            }
        });
        Exception {
            span,
            name,
            fields,
            comps,
            values,
        }
    }

    /// Exception `fields` or `comps`: one string, or a sequence of strings.
    fn scalar_or_seq(&mut self, ctx: &Ctx, entry: Option<&Entry<'_>>) -> Option<ScalarOrSeq> {
        let e = entry?;
        match e.value {
            Node::Seq(children, span) => {
                let mut out = Vec::new();
                for child in children {
                    match child {
                        Node::Scalar(s) if !s.null && !s.scalar.value.is_empty() => {
                            out.push(s.scalar.clone());
                        }
                        other => {
                            let d = self.report(
                                ctx,
                                codes::INVALID_EXCEPTION,
                                other.span(),
                                format!(
                                    "entries of exception `{}` must be non-empty strings, found {}",
                                    e.key,
                                    describe(other)
                                ),
                            );
                            d.label = "expected a string".into();
                        }
                    }
                }
                Some(ScalarOrSeq::Seq(Spanned::new(out, *span)))
            }
            _ => self
                .text(ctx, Some(e), true, false, Some(codes::INVALID_EXCEPTION))
                .map(ScalarOrSeq::Scalar),
        }
    }

    fn exception_value(&mut self, ctx: &Ctx, node: &Node) -> Option<ExceptionValue> {
        match node {
            Node::Scalar(s) if !s.null && !s.scalar.value.is_empty() => {
                Some(ExceptionValue::Scalar(s.scalar.clone()))
            }
            Node::Seq(children, span) => {
                let vals = children
                    .iter()
                    .filter_map(|c| self.exception_value(ctx, c))
                    .collect();
                Some(ExceptionValue::Tuple(Spanned::new(vals, *span)))
            }
            other => {
                let d = self.report(
                    ctx,
                    codes::INVALID_EXCEPTION,
                    other.span(),
                    format!(
                        "exception values must be non-empty strings or sequences, found {}",
                        describe(other)
                    ),
                );
                d.label = "not a value".into();
                None
            }
        }
    }

    fn engine_version(&mut self, ctx: &Ctx, view: &MapView<'_>) -> ItemKind {
        self.unknown_keys(ctx, view, &["required_engine_version"]);
        let Some(s) = self.text(ctx, view.get("required_engine_version"), true, false, None) else {
            return ItemKind::Unknown;
        };
        if s.value.parse::<u32>().is_err() && !is_semver(&s.value) {
            let d = self.report(
                ctx,
                codes::INVALID_VERSION,
                s.span,
                format!("invalid engine version `{}`", s.value),
            );
            d.label = "not a version".into();
            d.help = Some(
                "write a version as `x.y.z`, e.g. `0.57.0`, or an integer `N` meaning `0.N.0`"
                    .into(),
            );
        }
        ItemKind::RequiredEngineVersion(s)
    }

    fn plugin_versions(&mut self, ctx: &Ctx, view: &MapView<'_>) -> ItemKind {
        self.unknown_keys(ctx, view, &["required_plugin_versions"]);
        let Some(e) = view.get("required_plugin_versions") else {
            return ItemKind::RequiredPluginVersions(Vec::new());
        };
        let children = match e.value {
            Node::Seq(children, _) => children,
            other => {
                let d = self.report(
                    ctx,
                    if other.is_null() {
                        codes::EMPTY_VALUE
                    } else {
                        codes::WRONG_TYPE
                    },
                    if other.is_null() {
                        e.key_span
                    } else {
                        other.span()
                    },
                    format!(
                        "expected a sequence of plugins for `required_plugin_versions`, found {}",
                        other.shape()
                    ),
                );
                d.label = "expected `- name: ...` entries with a `version`".into();
                return ItemKind::RequiredPluginVersions(Vec::new());
            }
        };
        let mut out = Vec::new();
        for child in children {
            if let Some(req) = self.plugin_requirement(ctx, child, PLUGIN_KEYS) {
                out.push(req);
            }
        }
        ItemKind::RequiredPluginVersions(out)
    }

    fn plugin_requirement(
        &mut self,
        ctx: &Ctx,
        node: &Node,
        allowed: &[&str],
    ) -> Option<PluginRequirement> {
        let Node::Map(pairs, span) = node else {
            let d = self.report(
                ctx,
                codes::WRONG_TYPE,
                node.span(),
                format!(
                    "each plugin requirement must be a mapping, found {}",
                    node.shape()
                ),
            );
            d.label = "expected `name` and `version`".into();
            return None;
        };
        let view = self.view(pairs, *span);
        let pctx = Ctx {
            what: "plugin requirement",
            item: ctx.item.clone(),
        };
        self.duplicates(&pctx, &view);
        self.unknown_keys(&pctx, &view, allowed);
        for key in ["name", "version"] {
            if !view.has(key) {
                self.missing(&pctx, view.anchor(), key, None);
            }
        }
        let name = self.text(&pctx, view.get("name"), true, false, None);
        let version = self.text(&pctx, view.get("version"), true, false, None);
        if let Some(v) = &version
            && !is_semver(&v.value)
        {
            let d = self.report(
                &pctx,
                codes::INVALID_VERSION,
                v.span,
                format!("invalid plugin version `{}`", v.value),
            );
            d.label = "not a version".into();
            d.help = Some("write a version as `x.y.z`, e.g. `0.4.0`".into());
        }
        let mut alternatives = Vec::new();
        if let Some(alts) = view.get("alternatives") {
            match alts.value {
                Node::Seq(children, _) => {
                    for child in children {
                        if let Some(alt) = self.plugin_requirement(ctx, child, ALTERNATIVE_KEYS) {
                            alternatives.push(alt);
                        }
                    }
                }
                n if n.is_null() => {}
                other => {
                    let d = self.report(
                        &pctx,
                        codes::WRONG_TYPE,
                        other.span(),
                        format!(
                            "expected a sequence for `alternatives`, found {}",
                            other.shape()
                        ),
                    );
                    d.label = "expected `- name: ...` entries".into();
                }
            }
        }
        Some(PluginRequirement {
            span: *span,
            name,
            version,
            alternatives,
        })
    }
}

/// A misspelled item kind. Kind names are few and unlike each other, so a wider margin than
/// for other keys is safe as long as the first letter matches (`rool` for `rule`).
fn kind_typo(key: &str) -> Option<&'static str> {
    let limit = if key.chars().count() >= 4 { 3 } else { 1 };
    super::suggest::closest_within(key, KINDS, limit)
        .filter(|k| k.chars().next() == key.chars().next().map(|c| c.to_ascii_lowercase()))
}

fn override_mentions(o: &Option<Override>, key: &str) -> bool {
    o.as_ref()
        .is_some_and(|o| o.entries.iter().any(|e| e.key.node == key))
}

fn union<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = a.to_vec();
    for k in b {
        if !out.contains(k) {
            out.push(k);
        }
    }
    out
}

fn quote_list(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    quoted.join(", ")
}

fn describe(node: &Node) -> &'static str {
    match node {
        Node::Scalar(s) if !s.null && s.scalar.value.is_empty() => "an empty string",
        other => other.shape(),
    }
}

/// Falco trims a rule's output; the trimmed value keeps an exact map.
fn trim_scalar(s: Scalar) -> Scalar {
    let start = s.value.len() - s.value.trim_start().len();
    let end = s.value.trim_end().len();
    if start == 0 && end == s.value.len() {
        return s;
    }
    let Some(value) = s.value.get(start..end.max(start)) else {
        return s;
    };
    let mut map = ScalarMap::default();
    for (i, _) in value.char_indices() {
        map.push(i, s.map.to_file(start + i));
    }
    if value.is_empty() {
        map.push(0, s.map.to_file(start));
    }
    map.set_len(value.len());
    Scalar {
        value: value.to_string(),
        span: s.span,
        style: s.style,
        map,
    }
}

/// yaml-cpp's boolean conversion: `y`, `yes`, `true`, `on` and their negatives, written all
/// lowercase, all uppercase or capitalised.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    let mut chars = text.chars();
    let flexible = match chars.next() {
        None => true,
        Some(first) => {
            let rest: String = chars.collect();
            text.chars().all(|c| !c.is_ascii_uppercase())
                || (first.is_ascii_uppercase()
                    && (rest.chars().all(|c| !c.is_ascii_uppercase())
                        || rest.chars().all(|c| !c.is_ascii_lowercase())))
        }
    };
    if !flexible {
        return None;
    }
    match text.to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "on" => Some(true),
        "n" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// An unsigned integer as yaml-cpp reads one: decimal, or `0x` hexadecimal, or `0o` octal.
fn parse_u64(text: &str) -> Option<u64> {
    let t = text.strip_prefix('+').unwrap_or(text);
    if let Some(hex) = t.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = t.strip_prefix("0o") {
        return u64::from_str_radix(oct, 8).ok();
    }
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// Whether `text` starts with `x.y.z` decimal numbers, which is what Falco's version parser
/// requires; anything after the third number (a pre-release or build suffix) is accepted.
fn is_semver(text: &str) -> bool {
    let mut parts = text.splitn(3, '.');
    let major = parts.next().unwrap_or("");
    let minor = parts.next().unwrap_or("");
    let patch = parts.next().unwrap_or("");
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let patch_digits: String = patch.chars().take_while(char::is_ascii_digit).collect();
    digits(major) && digits(minor) && !patch_digits.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_follow_yaml_cpp() {
        for t in ["true", "True", "TRUE", "yes", "Yes", "ON", "on", "y", "Y"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for t in ["false", "FALSE", "no", "No", "off", "OFF", "n"] {
            assert_eq!(parse_bool(t), Some(false), "{t}");
        }
        for t in ["tRUE", "truE", "1", "0", "maybe", ""] {
            assert_eq!(parse_bool(t), None, "{t}");
        }
    }

    #[test]
    fn integers_and_versions() {
        assert_eq!(parse_u64("15000"), Some(15000));
        assert_eq!(parse_u64("0x10"), Some(16));
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64("abc"), None);
        assert!(is_semver("0.57.0"));
        assert!(is_semver("1.2.3-rc1"));
        assert!(!is_semver("1.2"));
        assert!(!is_semver("abc"));
        assert!(!is_semver("1.x.3"));
    }
}
