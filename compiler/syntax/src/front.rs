//! The front end's entry point: a rules file in, every item with its parsed condition and
//! output, plus every diagnostic.

use std::collections::HashMap;

use crate::codes;
use crate::condition::ast::{Expr, Rhs};
use crate::condition::{RULE_MAX_DEPTH, ScalarSpanMap, parse, parse_appended};
use crate::diagnostic::Diagnostic;
use crate::output::{OutputFormat, parse_output};
use crate::rules::{ItemKind, RulesFile};
use crate::span::{FileId, FileSpan};
use crate::yaml;

/// One rules file after parsing.
#[derive(Clone, Debug)]
pub struct ParsedFile {
    pub file: FileId,
    pub rules: RulesFile,
    /// Parsed conditions, parallel to `rules.items` (`None` for items without a condition).
    pub conditions: Vec<Option<Expr>>,
    /// Parsed outputs, parallel to `rules.items`.
    pub outputs: Vec<Option<OutputFormat>>,
}

/// Loads and parses one file: YAML structure, every macro and rule condition, every output.
pub fn parse_file(file: FileId, text: &str) -> (ParsedFile, Vec<Diagnostic>) {
    let (rules, mut diags) = yaml::load(file, text);
    let mut conditions = Vec::with_capacity(rules.items.len());
    let mut outputs = Vec::with_capacity(rules.items.len());
    for item in &rules.items {
        let (name, condition, output, appends) = match &item.kind {
            ItemKind::Macro(m) => (
                Some(&m.name),
                m.condition.as_ref(),
                None,
                appends_condition(m.append.as_ref(), m.override_.as_ref()),
            ),
            ItemKind::Rule(r) => (
                Some(&r.name),
                r.condition.as_ref(),
                r.output.as_ref(),
                appends_condition(r.append.as_ref(), r.override_.as_ref()),
            ),
            _ => (None, None, None, false),
        };
        let item_name = name.map(|n| n.value.clone());
        let tag = |mut ds: Vec<Diagnostic>| {
            for d in &mut ds {
                if d.item.is_none() {
                    d.item.clone_from(&item_name);
                }
            }
            ds
        };
        conditions.push(condition.map(|c| {
            let map = ScalarSpanMap { file, scalar: c };
            let (expr, ds) = if appends {
                parse_appended(&c.value, &map, RULE_MAX_DEPTH)
            } else {
                parse(&c.value, &map, RULE_MAX_DEPTH)
            };
            diags.extend(tag(ds));
            expr
        }));
        outputs.push(output.map(|o| {
            let map = ScalarSpanMap { file, scalar: o };
            let (fmt, ds) = parse_output(&o.value, &map);
            diags.extend(tag(ds));
            fmt
        }));
    }
    (
        ParsedFile {
            file,
            rules,
            conditions,
            outputs,
        },
        diags,
    )
}

/// Whether an item's condition is a fragment appended to an earlier definition.
fn appends_condition(
    append: Option<&crate::span::Spanned<bool>>,
    override_: Option<&crate::rules::Override>,
) -> bool {
    append.is_some_and(|a| a.node)
        || override_.is_some_and(|o| {
            o.entries
                .iter()
                .any(|e| e.key.node == "condition" && e.op.node == crate::rules::OverrideOp::Append)
        })
}

/// Falco substitutes lists into condition text before parsing, so `x in my_list` without
/// parentheses only works for a list with exactly one item: with two items the text becomes
/// `x in a, b`, a parse error in Falco that names neither the list nor the fix. This reports it
/// at the use, naming the list, across all files loaded together.
pub fn check_unparenthesised_lists(files: &[ParsedFile]) -> Vec<Diagnostic> {
    // The last definition of a list wins; appends add items.
    let mut lists: HashMap<&str, (usize, FileSpan)> = HashMap::new();
    for f in files {
        for item in &f.rules.items {
            if let ItemKind::List(l) = &item.kind {
                let n = l.items.as_ref().map_or(0, |i| i.node.len());
                let appends = l.append.as_ref().is_some_and(|a| a.node)
                    || l.override_.as_ref().is_some_and(|o| {
                        o.entries.iter().any(|e| {
                            e.key.node == "items" && e.op.node == crate::rules::OverrideOp::Append
                        })
                    });
                let span = FileSpan::new(f.file, l.name.span);
                let entry = lists.entry(l.name.value.as_str()).or_insert((0, span));
                if appends {
                    entry.0 += n;
                } else {
                    *entry = (n, span);
                }
            }
        }
    }
    let mut diags = Vec::new();
    for f in files {
        for (item, cond) in f.rules.items.iter().zip(&f.conditions) {
            let Some(cond) = cond else { continue };
            let item_name = match &item.kind {
                ItemKind::Macro(m) => m.name.value.clone(),
                ItemKind::Rule(r) => r.name.value.clone(),
                _ => continue,
            };
            visit_rhs(cond, &mut |rhs| {
                if let Rhs::Ident(id) = rhs
                    && let Some(&(n, def)) = lists.get(id.name.as_str())
                    && n != 1
                {
                    let fix = format!("({})", id.name);
                    diags.push(
                        Diagnostic::new(
                            codes::LIST_WITHOUT_PARENS,
                            id.span,
                            format!(
                                "list `{}` with {n} items is used without parentheses",
                                id.name
                            ),
                        )
                        .with_label(
                            "Falco pastes the items here as `a, b, ...`, which does not parse",
                        )
                        .with_secondary(def, "list defined here")
                        .with_help(format!("write `{fix}`"))
                        .with_fix(id.span, fix)
                        .with_item(item_name.clone()),
                    );
                }
            });
        }
    }
    diags
}

fn visit_rhs(e: &Expr, f: &mut dyn FnMut(&Rhs)) {
    match e {
        Expr::And(c, _) | Expr::Or(c, _) => c.iter().for_each(|c| visit_rhs(c, f)),
        Expr::Not(inner, _) => visit_rhs(inner, f),
        Expr::Check(c) => {
            if let Some(rhs) = &c.rhs {
                f(rhs);
            }
        }
        Expr::Macro(_) | Expr::Error(_) => {}
    }
}
