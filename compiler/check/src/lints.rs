//! Lanner's own lints: problems Falco does not report but a rule author wants to know about.

use std::collections::HashMap;

use lanner_syntax::codes;
use lanner_syntax::condition::ast::{Expr, Rhs};
use lanner_syntax::diagnostic::Diagnostic;
use lanner_syntax::front::ParsedFile;
use lanner_syntax::rules::ItemKind;
use lanner_syntax::span::FileSpan;

use crate::driver::TypedRule;
use crate::resolve::{Resolved, closest};
use crate::typeck::{TExpr, TRhs};
use lanner_program::{Node, NodeId, Program};

/// Runs every lint.
pub fn run(
    files: &[ParsedFile],
    resolved: &Resolved,
    typed: &[TypedRule],
    program: &Program,
    diags: &mut Vec<Diagnostic>,
) {
    duplicate_list_items(files, diags);
    empty_lists(files, diags);
    never_matches(resolved, typed, diags);
    list_name_typos(resolved, typed, diags);
    constant_conditions(resolved, program, diags);
    shadowed_rules(resolved, typed, program, diags);
}

fn duplicate_list_items(files: &[ParsedFile], diags: &mut Vec<Diagnostic>) {
    for f in files {
        for item in &f.rules.items {
            let ItemKind::List(l) = &item.kind else {
                continue;
            };
            let Some(items) = &l.items else { continue };
            let mut seen: HashMap<&str, FileSpan> = HashMap::new();
            for it in &items.node {
                let at = FileSpan::new(f.file, it.span);
                match seen.get(it.value.as_str()) {
                    Some(first) => diags.push(
                        Diagnostic::new(
                            codes::DUPLICATE_LIST_ITEM,
                            at,
                            format!("`{}` appears twice in list `{}`", it.value, l.name.value),
                        )
                        .with_label("duplicate")
                        .with_secondary(*first, "first here")
                        .with_help("remove one of them")
                        .with_fix(at, "")
                        .with_item(l.name.value.clone()),
                    ),
                    None => {
                        seen.insert(it.value.as_str(), at);
                    }
                }
            }
        }
    }
}

/// `x in ()` written literally (an empty list substituted from a list name is a customisation
/// hook, as in the upstream `user_known_*` lists, and is not reported).
fn empty_lists(files: &[ParsedFile], diags: &mut Vec<Diagnostic>) {
    fn walk(e: &Expr, item: &str, diags: &mut Vec<Diagnostic>) {
        match e {
            Expr::And(c, _) | Expr::Or(c, _) => c.iter().for_each(|c| walk(c, item, diags)),
            Expr::Not(inner, _) => walk(inner, item, diags),
            Expr::Check(c) => {
                if let Some(Rhs::List(items, span)) = &c.rhs
                    && items.is_empty()
                {
                    diags.push(
                        Diagnostic::new(
                            codes::EMPTY_LIST_COMPARISON,
                            *span,
                            format!(
                                "`{}` with an empty list is always false",
                                c.op.kind.as_str()
                            ),
                        )
                        .with_label("empty list")
                        .with_help("add values to the list, or remove the check")
                        .with_item(item.to_string()),
                    );
                }
            }
            Expr::Macro(_) | Expr::Error(_) => {}
        }
    }
    for f in files {
        for (item, cond) in f.rules.items.iter().zip(&f.conditions) {
            let name = match &item.kind {
                ItemKind::Macro(m) => &m.name.value,
                ItemKind::Rule(r) => &r.name.value,
                _ => continue,
            };
            if let Some(c) = cond {
                walk(c, name, diags);
            }
        }
    }
}

fn never_matches(resolved: &Resolved, typed: &[TypedRule], diags: &mut Vec<Diagnostic>) {
    for (r, t) in resolved.rules.iter().zip(typed) {
        if t.condition.is_some()
            && t.event_types.is_empty()
            && r.source == "syscall"
            && r.warn_evttypes
        {
            diags.push(
                Diagnostic::new(
                    codes::NEVER_MATCHES,
                    r.name_span,
                    format!("rule `{}` can never fire: its condition admits no event type", r.name),
                )
                .with_label("this rule never matches")
                .with_help("look for `evt.type` checks that contradict each other, or for a macro such as `never_true` in the condition")
                .with_item(r.name.clone()),
            );
        }
    }
}

/// A bare value in a list close to a list name (`shell_binary` for `shell_binaries`) is a
/// literal string to Falco, silently; most likely a typo.
fn list_name_typos(resolved: &Resolved, typed: &[TypedRule], diags: &mut Vec<Diagnostic>) {
    let names: Vec<&str> = resolved.lists.iter().map(|l| l.name.as_str()).collect();
    if names.is_empty() {
        return;
    }
    fn walk(e: &TExpr, f: &mut dyn FnMut(&crate::typeck::Const)) {
        match e {
            TExpr::And(c, _) | TExpr::Or(c, _) => c.iter().for_each(|c| walk(c, f)),
            TExpr::Not(inner, _) => walk(inner, f),
            TExpr::Check(c) => match &c.rhs {
                TRhs::List(items, _) => items.iter().for_each(&mut *f),
                TRhs::Value(v) => f(v),
                _ => {}
            },
            TExpr::Unknown(_) => {}
        }
    }
    // Values repeat across rules (macros are expanded into each); look each up once.
    let mut memo: HashMap<String, Option<&str>> = HashMap::new();
    let known: std::collections::HashSet<&str> = names.iter().copied().collect();
    for (r, t) in resolved.rules.iter().zip(typed) {
        let Some(cond) = &t.condition else { continue };
        walk(cond, &mut |v| {
            let text = v.text.as_str();
            // List names are identifier-like; paths, addresses and the like are not candidates.
            let identifier_like = text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !text.contains('_') || !identifier_like || known.contains(text) {
                return;
            }
            let best = *memo
                .entry(text.to_string())
                .or_insert_with(|| closest(text, &names));
            if let Some(best) = best {
                diags.push(
                    Diagnostic::new(
                        codes::LIST_NAME_TYPO,
                        v.span,
                        format!("`{text}` is not a list, so it is compared as a literal string"),
                    )
                    .with_label("literal value")
                    .with_help(format!("did you mean the list `{best}`?"))
                    .with_fix(v.span, best.to_string())
                    .with_item(r.name.clone()),
                );
            }
        });
    }
}

/// `x and not x` is always false, `x or not x` always true.
fn constant_conditions(resolved: &Resolved, program: &Program, diags: &mut Vec<Diagnostic>) {
    let mut reported = std::collections::HashSet::new();
    for (index, pr) in program.rules.iter().enumerate() {
        let (Some(rule), Some(root)) = (resolved.rules.get(index), pr.condition) else {
            continue;
        };
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            let Some(node) = program.nodes.get(id.0 as usize) else {
                continue;
            };
            let (children, is_and) = match node {
                Node::And(c) => (c, true),
                Node::Or(c) => (c, false),
                Node::Not(c) => {
                    stack.push(*c);
                    continue;
                }
                _ => continue,
            };
            stack.extend(children.iter().copied());
            // Look through nested groups of the same operator: a macro spliced into an `and`
            // is an `and` of its own.
            let children = flatten(program, children, is_and);
            let negated: Vec<NodeId> = children
                .iter()
                .filter_map(|c| match program.nodes.get(c.0 as usize) {
                    Some(Node::Not(inner)) => Some(*inner),
                    _ => None,
                })
                .collect();
            if children.iter().any(|c| negated.contains(c)) && reported.insert((index, id)) {
                diags.push(
                    Diagnostic::new(
                        codes::CONSTANT_CONDITION,
                        rule.name_span,
                        format!(
                            "part of rule `{}` is always {}: it holds a check and its negation joined by `{}`",
                            rule.name,
                            if is_and { "false" } else { "true" },
                            if is_and { "and" } else { "or" }
                        ),
                    )
                    .with_label("in this rule")
                    .with_help("a macro may bring in the negated check; see `rulec explain` for the expanded condition")
                    .with_item(rule.name.clone()),
                );
            }
        }
    }
}

/// The operands of an `and` (or `or`), with nested groups of the same operator opened up.
fn flatten(program: &Program, children: &[NodeId], is_and: bool) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut stack: Vec<NodeId> = children.iter().rev().copied().collect();
    while let Some(id) = stack.pop() {
        match (program.nodes.get(id.0 as usize), is_and) {
            (Some(Node::And(c)), true) | (Some(Node::Or(c)), false) => {
                stack.extend(c.iter().rev().copied());
            }
            _ => out.push(id),
        }
    }
    out
}

/// Under `rule_matching: first`, rule B never fires if an earlier rule A matches every event B
/// matches: A's conjuncts are a subset of B's and B's event types a subset of A's.
fn shadowed_rules(
    resolved: &Resolved,
    typed: &[TypedRule],
    program: &Program,
    diags: &mut Vec<Diagnostic>,
) {
    let conjuncts = |root: NodeId| -> Vec<NodeId> {
        match program.nodes.get(root.0 as usize) {
            Some(Node::And(c)) => c.clone(),
            _ => vec![root],
        }
    };
    // (index into the rules, root of the condition)
    let enabled: Vec<(usize, NodeId)> = program
        .rules
        .iter()
        .enumerate()
        .filter(|(i, _)| resolved.rules.get(*i).is_some_and(|r| r.enabled))
        .filter_map(|(i, pr)| Some((i, pr.condition?)))
        .collect();
    for (bi, &(b, b_root)) in enabled.iter().enumerate() {
        let bc = conjuncts(b_root);
        for &(a, a_root) in enabled.iter().take(bi) {
            let ac = conjuncts(a_root);
            let (Some(at), Some(bt)) = (typed.get(a), typed.get(b)) else {
                continue;
            };
            let events_covered = bt.event_types.difference(&at.event_types).is_empty();
            if events_covered && ac.iter().all(|x| bc.contains(x)) {
                let (Some(ra), Some(rb)) = (resolved.rules.get(a), resolved.rules.get(b)) else {
                    continue;
                };
                diags.push(
                    Diagnostic::new(
                        codes::SHADOWED_RULE,
                        rb.name_span,
                        format!(
                            "rule `{}` never fires under `rule_matching: first`: rule `{}` matches every event it matches",
                            rb.name, ra.name
                        ),
                    )
                    .with_label("shadowed rule")
                    .with_secondary(ra.name_span, "this earlier rule fires first")
                    .with_help("narrow the earlier rule, reorder the rules, or run with `rule_matching: all`")
                    .with_item(rb.name.clone()),
                );
                break;
            }
        }
    }
}
