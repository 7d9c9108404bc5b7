//! `rulec explain RULE`: what a rule compiles to, like `falco -L` but with the expansion.

use lanner_check::driver::Checked;
use lanner_check::resolve::ResolvedRule;
use lanner_syntax::condition::print::canonical;

fn find<'a>(checked: &'a Checked, name: &str) -> Option<&'a ResolvedRule> {
    checked.resolved.rules.iter().find(|r| r.name == name)
}

/// The rule as compiled: its entry in the checked files' program.
fn compiled<'a>(checked: &'a Checked, name: &str) -> Option<&'a lanner_program::Rule> {
    let i = checked.resolved.rules.iter().position(|r| r.name == name)?;
    checked.program.rules.get(i)
}

/// The rule's kernel part (issue 11): per exit event, what the in-kernel prefilter passes for
/// this rule, what it passes for the state whatever the rules, and the checks it cannot decide.
pub fn kernel(checked: &Checked, name: &str) -> Option<serde_json::Value> {
    let i = checked.resolved.rules.iter().position(|r| r.name == name)?;
    let parts = lanner_prefilter::rule_kernel(&checked.program, i);
    Some(serde_json::Value::Array(
        parts
            .iter()
            .map(|k| {
                let passes = lanner_prefilter::Formula::or(vec![
                    k.lowering.formula.clone(),
                    k.state.clone(),
                ]);
                serde_json::json!({
                    "event": k.event,
                    "rule_part": k.lowering.formula.to_string(),
                    "state_part": k.state.to_string(),
                    "passes": passes.to_string(),
                    "lowered": k.lowering.formula != lanner_prefilter::Formula::True,
                    "not_lowered": k.lowering.residue.iter().map(|r| serde_json::json!({
                        "check": r.check,
                        "reason": r.reason,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    ))
}

fn kernel_text(checked: &Checked, name: &str, out: &mut String) {
    let Some(serde_json::Value::Array(parts)) = kernel(checked, name) else {
        return;
    };
    if parts.is_empty() {
        out.push_str("kernel:    no kernel part: every event of the rule's types passes\n");
        return;
    }
    for p in &parts {
        let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
        out.push_str(&format!(
            "kernel:    {}: rule {}\n",
            s("event"),
            s("rule_part")
        ));
        out.push_str(&format!("           state {}\n", s("state_part")));
        out.push_str(&format!("           passes {}\n", s("passes")));
        for r in p["not_lowered"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "           not lowered: `{}`: {}\n",
                r["check"].as_str().unwrap_or_default(),
                r["reason"].as_str().unwrap_or_default()
            ));
        }
    }
}

/// The fields the rule's compiled condition reads, in first-use order.
fn fields_used(checked: &Checked, name: &str) -> Vec<String> {
    compiled(checked, name)
        .and_then(|r| r.condition)
        .map(|root| {
            let mut names: Vec<String> = Vec::new();
            for f in checked.program.fields_used(root) {
                // By name without argument, as `falco -L` lists them.
                let name = checked.program.field_name(f.key).to_owned();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            names
        })
        .unwrap_or_default()
}

/// The rule's event-type names, sorted, or `None` when it matches every event type.
fn event_types(checked: &Checked, name: &str) -> Option<Vec<&'static str>> {
    let r = compiled(checked, name)?;
    if r.any_event {
        return None;
    }
    let mut set = lanner_check::evttypes::EventSet::default();
    for c in &r.event_codes {
        set.insert(*c);
    }
    let mut names = set.names();
    names.sort_unstable();
    names.dedup();
    Some(names)
}

/// Every rule whose name contains `name`, case-insensitively, for a did-you-mean.
pub fn similar(checked: &Checked, name: &str) -> Vec<String> {
    let lower = name.to_lowercase();
    checked
        .resolved
        .rules
        .iter()
        .filter(|r| r.name.to_lowercase().contains(&lower))
        .map(|r| r.name.clone())
        .take(5)
        .collect()
}

pub fn json(checked: &Checked, name: &str) -> Option<serde_json::Value> {
    let r = find(checked, name)?;
    Some(serde_json::json!({
        "rule": r.name,
        "enabled": r.enabled,
        "priority": r.priority.as_str(),
        "source": r.source,
        "tags": r.tags,
        "condition": r.condition.as_ref().map(canonical),
        "condition_text": r.condition_text.trim(),
        "compiled": compiled(checked, name)
            .and_then(|c| c.condition)
            .map(|root| checked.program.print(root)),
        "macros": r.macros_used,
        "event_types": event_types(checked, name),
        "fields": fields_used(checked, name),
        "exception_fields": r.exception_fields,
        "output": r.output,
        "kernel": kernel(checked, name),
    }))
}

pub fn text(checked: &Checked, name: &str) -> Option<String> {
    let r = find(checked, name)?;
    let mut out = String::new();
    out.push_str(&format!("rule:      {}\n", r.name));
    out.push_str(&format!("enabled:   {}\n", r.enabled));
    out.push_str(&format!("priority:  {}\n", r.priority.as_str()));
    out.push_str(&format!("source:    {}\n", r.source));
    if !r.tags.is_empty() {
        out.push_str(&format!("tags:      {}\n", r.tags.join(", ")));
    }
    if !r.macros_used.is_empty() {
        out.push_str(&format!("macros:    {}\n", r.macros_used.join(", ")));
    }
    match event_types(checked, name) {
        Some(names) => out.push_str(&format!("events:    {}\n", names.join(", "))),
        None => out.push_str("events:    all\n"),
    }
    let fields = fields_used(checked, name);
    if !fields.is_empty() {
        out.push_str(&format!("fields:    {}\n", fields.join(", ")));
    }
    match &r.condition {
        Some(c) => out.push_str(&format!("condition: {}\n", canonical(c))),
        None => out.push_str("condition: <does not compile; see `rulec check`>\n"),
    }
    if let Some(root) = compiled(checked, name).and_then(|c| c.condition) {
        out.push_str(&format!("compiled:  {}\n", checked.program.print(root)));
    }
    kernel_text(checked, name, &mut out);
    out.push_str(&format!("output:    {}\n", r.output));
    Some(out)
}
