//! Field references outside conditions: in outputs and in exception `fields`.

use lanner_schema::{Deprecation, ResolveError};
use lanner_syntax::codes;
use lanner_syntax::condition::ast::{FieldRef, Operand, TrArg};
use lanner_syntax::condition::{OffsetMap, parse};
use lanner_syntax::diagnostic::Diagnostic;
use lanner_syntax::output::OutputToken;
use lanner_syntax::rules::{ItemKind, PluginRequirement, RulesFile, ScalarOrSeq};
use lanner_syntax::span::{FileId, FileSpan};

use crate::resolve::ResolvedRule;

fn fields_of(op: &Operand, out: &mut Vec<FieldRef>) {
    match op {
        Operand::Field(f) => out.push(f.clone()),
        Operand::Transformer(t) => {
            for a in &t.args {
                tr_fields(a, out);
            }
        }
    }
}

fn tr_fields(a: &TrArg, out: &mut Vec<FieldRef>) {
    match a {
        TrArg::Field(f) => out.push(f.clone()),
        TrArg::Transformer(t) => t.args.iter().for_each(|a| tr_fields(a, out)),
        TrArg::List(items, _) => items.iter().for_each(|a| tr_fields(a, out)),
        TrArg::Str(_) | TrArg::Number(_) => {}
    }
}

fn did_you_mean(e: &ResolveError) -> Option<String> {
    match e {
        ResolveError::UnknownField { suggestions, .. } => {
            suggestions.first().map(|s| format!("did you mean `{s}`?"))
        }
        _ => None,
    }
}

/// Adds what the resolver knows to a diagnostic about an unresolved field, once: an unknown
/// field's message and label already say it is unknown, so only the suggestion is added; the
/// other errors (a missing or malformed argument) say something the message does not.
fn explain(d: Diagnostic, e: &ResolveError) -> Diagnostic {
    match e {
        ResolveError::UnknownField { .. } => match did_you_mean(e) {
            Some(h) => d.with_help(h),
            None => d,
        },
        _ => d.with_note(e.to_string()),
    }
}

/// Checks the fields an output prints: they exist, and are not filter-only. Deprecated ones
/// are reported as Falco does.
pub fn check_output(rule: &ResolvedRule, diags: &mut Vec<Diagnostic>) {
    let Some(fmt) = &rule.output_format else {
        return;
    };
    for tok in &fmt.tokens {
        let OutputToken::Field { operand, span, .. } = tok else {
            continue;
        };
        if tok.is_removed_field() {
            diags.push(
                Diagnostic::new(
                    codes::REMOVED_OUTPUT_FIELD,
                    *span,
                    "`%container.info` is deprecated and prints nothing",
                )
                .with_label("printed as the empty string")
                .with_help("remove it: the container's id and name are appended to every output as suggested fields")
                .with_item(rule.name.clone()),
            );
            continue;
        }
        let mut refs = Vec::new();
        fields_of(operand, &mut refs);
        for f in refs {
            let shown = match &f.arg {
                Some(a) => format!("{}[{}]", f.name, a.value),
                None => f.name.clone(),
            };
            match lanner_schema::resolve(&f.name, f.arg.as_ref().map(|a| a.value.as_str())) {
                Err(e) => {
                    let mut d = Diagnostic::new(
                        codes::UNKNOWN_OUTPUT_FIELD,
                        *span,
                        format!("unknown field `{shown}` in the output"),
                    )
                    .with_label("not a field")
                    .with_item(rule.name.clone());
                    d = explain(d, &e);
                    diags.push(d);
                }
                Ok(r) if !r.field.usable_in_output() => diags.push(
                    Diagnostic::new(
                        codes::FILTER_ONLY_IN_OUTPUT,
                        *span,
                        format!("field `{}` can be used in conditions only, not in outputs", r.field.name),
                    )
                    .with_label("filter-only field")
                    .with_help("print a field that holds the value instead, e.g. `fd.sip` and `fd.cip` for `fd.ip`")
                    .with_item(rule.name.clone()),
                ),
                Ok(r) if r.field.deprecation == Deprecation::Warned => diags.push(
                    Diagnostic::new(
                        codes::DEPRECATED_FIELD,
                        *span,
                        format!("field `{}` is deprecated", r.field.name),
                    )
                    .with_label("deprecated field in the output")
                    .with_help("remove it from the output")
                    .with_item(rule.name.clone()),
                ),
                Ok(r) if !r.field.extracted => diags.push(
                    Diagnostic::new(
                        codes::NOT_EXTRACTED,
                        *span,
                        format!("field `{}` is not extracted by Lanner's runtime", r.field.name),
                    )
                    .with_label("prints `<NA>` under Lanner")
                    .with_help("Falco prints its value; Lanner's runtime does not extract it yet")
                    .with_item(rule.name.clone()),
                ),
                Ok(_) => {}
            }
        }
    }
}

/// Exception fields must be fields Falco knows (LOAD_ERR_VALIDATE otherwise); a transformer
/// around them is allowed.
pub fn check_exception_fields(files: &[&RulesFile], diags: &mut Vec<Diagnostic>) {
    for f in files {
        let file = f.file.unwrap_or(FileId(0));
        for item in &f.items {
            let ItemKind::Rule(r) = &item.kind else {
                continue;
            };
            let Some(exceptions) = &r.exceptions else {
                continue;
            };
            for ex in &exceptions.node {
                let scalars: Vec<_> = match &ex.fields {
                    Some(ScalarOrSeq::Scalar(s)) => vec![s],
                    Some(ScalarOrSeq::Seq(s)) => s.node.iter().collect(),
                    None => continue,
                };
                for s in scalars {
                    let text = format!("{} exists", s.value);
                    let map = OffsetMap { file, base: 0 };
                    let (expr, pd) = parse(&text, &map, lanner_syntax::condition::RULE_MAX_DEPTH);
                    let at = FileSpan::new(file, s.span);
                    let mut refs = Vec::new();
                    match (&expr, pd.iter().any(Diagnostic::is_error)) {
                        (lanner_syntax::condition::ast::Expr::Check(c), false) => {
                            fields_of(&c.lhs, &mut refs);
                        }
                        _ => {
                            diags.push(
                                Diagnostic::new(
                                    codes::INVALID_EXCEPTION_DEF,
                                    at,
                                    format!("`{}` is not a field", s.value),
                                )
                                .with_label("expected a field or a transformer of a field")
                                .with_item(r.name.value.clone()),
                            );
                            continue;
                        }
                    }
                    for fr in refs {
                        if let Err(e) = lanner_schema::resolve(
                            &fr.name,
                            fr.arg.as_ref().map(|a| a.value.as_str()),
                        ) {
                            let mut d = Diagnostic::new(
                                codes::INVALID_EXCEPTION_DEF,
                                at,
                                format!("`{}` is not a supported field", s.value),
                            )
                            .with_label("unknown field")
                            .with_item(r.name.value.clone());
                            d = explain(d, &e);
                            diags.push(d);
                        }
                    }
                }
            }
        }
    }
}

/// The plugins whose fields Lanner serves itself, with the version it is compatible with.
pub const BUILT_IN_PLUGINS: &[(&str, (u64, u64, u64))] = &[("container", (0, 4, 0))];

fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let mut p = v.trim().split('.').map(|x| x.parse::<u64>().ok());
    match (p.next(), p.next(), p.next(), p.next()) {
        (Some(Some(a)), Some(Some(b)), Some(Some(c)), None) => Some((a, b, c)),
        _ => None,
    }
}

fn satisfied(req: &PluginRequirement) -> bool {
    let one = |r: &PluginRequirement| {
        let (Some(name), Some(version)) = (&r.name, &r.version) else {
            return true;
        };
        let Some(want) = parse_version(&version.value) else {
            return true;
        };
        BUILT_IN_PLUGINS
            .iter()
            .any(|(n, have)| *n == name.value && have.0 == want.0 && *have >= want)
    };
    one(req) || req.alternatives.iter().any(one)
}

/// `required_plugin_versions`: Falco refuses to start when a required plugin is not loaded.
/// Lanner serves the container plugin's fields itself and loads no other plugin.
pub fn check_plugin_requirements(files: &[&RulesFile], diags: &mut Vec<Diagnostic>) {
    for f in files {
        let file = f.file.unwrap_or(FileId(0));
        for item in &f.items {
            let ItemKind::RequiredPluginVersions(reqs) = &item.kind else {
                continue;
            };
            for req in reqs {
                if satisfied(req) {
                    continue;
                }
                let name = req.name.as_ref().map_or(String::new(), |n| n.value.clone());
                let version = req
                    .version
                    .as_ref()
                    .map_or(String::new(), |v| v.value.clone());
                diags.push(
                    Diagnostic::new(
                        codes::PLUGIN_REQUIREMENT,
                        FileSpan::new(file, req.span),
                        format!("plugin `{name}` {version} is required, but Lanner does not provide it"),
                    )
                    .with_label("required here")
                    .with_help(format!(
                        "Lanner serves the fields of {} itself and loads no other plugins; remove this requirement or the rules that need the plugin",
                        BUILT_IN_PLUGINS
                            .iter()
                            .map(|(n, (a, b, c))| format!("`{n}` {a}.{b}.{c}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
            }
        }
    }
}

/// Fields of a typed condition that Falco knows but Lanner's runtime does not extract: the
/// rule passes Falco's checks, yet under Lanner every check on such a field is false. Fields
/// given besides the schema (a plugin's) are served by their plugin and are not reported.
pub fn check_extracted(
    rule: &ResolvedRule,
    condition: &crate::typeck::TExpr,
    diags: &mut Vec<Diagnostic>,
) {
    use crate::typeck::{TExpr, TRhs};
    let mut stack = vec![condition];
    while let Some(e) = stack.pop() {
        match e {
            TExpr::And(c, _) | TExpr::Or(c, _) => stack.extend(c),
            TExpr::Not(inner, _) => stack.push(inner),
            TExpr::Unknown(_) => {}
            TExpr::Check(c) => {
                let mut fields = c.lhs.fields();
                if let TRhs::Operand(o) = &c.rhs {
                    fields.extend(o.fields());
                }
                for f in fields {
                    let info = f.field.field;
                    if info.extracted || info.id.is_none() {
                        continue;
                    }
                    diags.push(
                        Diagnostic::new(
                            codes::NOT_EXTRACTED,
                            f.span,
                            format!("field `{}` is not extracted by Lanner's runtime", info.name),
                        )
                        .with_label("always `<NA>` under Lanner")
                        .with_help(
                            "Falco accepts the rule, but under Lanner no check on this field holds",
                        )
                        .with_item(rule.name.clone()),
                    );
                }
            }
        }
    }
}
