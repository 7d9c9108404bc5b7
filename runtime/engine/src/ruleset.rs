//! A set of rules ready to run on events: dispatch by event type, `rule_matching` first or
//! all, and alerts with their output rendered as Falco renders it.

use lanner_event::Event;
use lanner_state::value::Value;
use lanner_state::{HostNames, Resolver, SharedHostNames, State};

use crate::eval::{Fields, eval};
use crate::ir::{Expr, FieldRef, Lit, Matching, Rhs};
use crate::state::Accessors;

/// One piece of an output format.
#[derive(Clone, Debug)]
pub enum Part {
    Text(String),
    /// `%field`, with the text after `%` as written (`proc.aname[2]`, the JSON key) and an
    /// optional width (`%20proc.name`: padded with blanks or cut to 20 characters).
    Field {
        field: FieldRef,
        text: String,
        width: Option<u32>,
    },
    /// A `%` token the runtime cannot render (a transformer in an output); prints `<NA>`.
    Unsupported {
        text: String,
    },
}

pub use lanner_program::Priority;

#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    pub priority: Priority,
    pub source: String,
    pub tags: Vec<String>,
    pub condition: Expr,
    pub output: Vec<Part>,
    /// The event codes the rule can match; empty means none (the rule never runs).
    pub event_codes: Vec<u16>,
    /// The condition does not restrict the event type. Falco indexes such a rule under every
    /// event type like any other, so it keeps its place in load order.
    pub any_event: bool,
}

/// Which rules an event is reported for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RuleMatching {
    /// The first matching rule in load order (Falco's default).
    #[default]
    First,
    /// Every matching rule.
    All,
}

/// An alert: which rule, on which event, and its rendered output.
#[derive(Clone, Debug)]
pub struct Alert {
    pub rule: usize,
    pub evt_num: u64,
    /// Nanoseconds since the epoch.
    pub ts: u64,
    /// The output text without the time and priority prefix.
    pub message: String,
    /// Every output field: its text as written and its value (`None` is `<NA>`).
    pub fields: Vec<(String, Option<Value<'static>>)>,
}

/// A compiled form of a rule set's conditions (the Cranelift JIT, `lanner-jit`): it decides
/// which rules match, and the rule set renders their alerts as the interpreter's would.
///
/// INVARIANT: a matcher installed with [`RuleSet::set_matcher`] reports exactly the rules the
/// interpreter would, in load order (at most one with [`RuleMatching::First`]); the
/// differential suite in `compiler/conformance` holds every backend to it.
pub trait Matcher: Send + Sync {
    /// Appends to `out` the indices into [`RuleSet::rules`] of the rules that match `event`.
    fn matches(&self, event: &Event<'_>, state: &State, matching: RuleMatching, out: &mut Vec<u32>);

    /// The engine's name, as `--engine` spells it.
    fn name(&self) -> &'static str;
}

/// Rules indexed by event code.
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// The slot-indexed table of every field the conditions and outputs read.
    pub fields: Vec<FieldRef>,
    accessors: Accessors,
    /// For each event code, the rules that can match it, in load order, those without an
    /// event-type restriction included.
    by_code: Vec<Vec<u32>>,
    /// Rules without an event-type restriction, in load order: the candidates of an event code
    /// beyond every rule's table.
    any_event: Vec<u32>,
    /// The compiled conditions, when a backend other than the interpreter decides matches.
    matcher: Option<Box<dyn Matcher>>,
    /// The resolved host names the `fd.*ip.name` fields read, once resolved; a backend that
    /// compiles its own accessors points them here too.
    host_names: Option<SharedHostNames>,
}

impl RuleSet {
    /// Lets `matcher` decide which rules match from now on (alerts are still rendered here).
    pub fn set_matcher(&mut self, matcher: Box<dyn Matcher>) {
        self.matcher = Some(matcher);
    }

    /// The installed matcher, if any (the rule-test runner compares it with its traced
    /// interpretation).
    pub fn matcher(&self) -> Option<&dyn Matcher> {
        self.matcher.as_deref()
    }

    /// The name of the engine that decides matches: the installed matcher's, or `interp`.
    pub fn engine(&self) -> &'static str {
        self.matcher.as_ref().map_or("interp", |m| m.name())
    }

    /// Builds the index. Returns the fields the state engine cannot extract (they never have a
    /// value) with the reason, for the caller to report.
    pub fn new(rules: Vec<Rule>, fields: Vec<FieldRef>) -> (RuleSet, Vec<(FieldRef, String)>) {
        let (accessors, unsupported) = Accessors::compile(&fields);
        let max = rules
            .iter()
            .flat_map(|r| r.event_codes.iter().copied())
            .max()
            .map_or(0, |m| usize::from(m) + 1);
        let mut by_code: Vec<Vec<u32>> = vec![Vec::new(); max];
        let mut any_event = Vec::new();
        // Falco 0.44 (libsinsp's `ppm_event_codes`) gives a rule without an event-type
        // restriction the set of every event code and indexes it under each, in load order:
        // with `rule_matching: all` it fires beside the typed rules (filters.tsv, where
        // `proc.name != cat` matches the events `evt.type != switch` matches too), and with
        // `first` the earliest matching rule in load order wins, typed or not.
        for (i, r) in rules.iter().enumerate() {
            if r.any_event {
                any_event.push(u32::try_from(i).unwrap_or(u32::MAX));
                for list in &mut by_code {
                    list.push(u32::try_from(i).unwrap_or(u32::MAX));
                }
                continue;
            }
            for &c in &r.event_codes {
                if let Some(list) = by_code.get_mut(usize::from(c)) {
                    list.push(u32::try_from(i).unwrap_or(u32::MAX));
                }
            }
        }
        let unsupported = unsupported
            .into_iter()
            .map(|(f, e)| (f, e.to_string()))
            .collect();
        (
            RuleSet {
                rules,
                fields,
                accessors,
                by_code,
                any_event,
                matcher: None,
                host_names: None,
            },
            unsupported,
        )
    }

    /// The rule set of the syscall rules of `program`; see [`RuleSet::new`] for the second
    /// value.
    pub fn from_program(
        program: &lanner_program::Program,
        options: crate::program::OutputOptions,
    ) -> (RuleSet, Vec<(FieldRef, String)>) {
        let (rules, fields) = crate::program::rules(program, options);
        RuleSet::new(rules, fields)
    }

    /// The host names the rules compare `fd.cip.name`, `fd.sip.name`, `fd.lip.name` and
    /// `fd.rip.name` with (the constants of `=`, `!=`, `in` and the other operators), each
    /// once, in byte order.
    pub fn host_names(&self) -> Vec<String> {
        let mut names = std::collections::BTreeSet::new();
        for r in &self.rules {
            collect_host_names(&r.condition, &mut names);
        }
        names.into_iter().collect()
    }

    /// Resolves the rules' host names through `resolver` and makes the `fd.*ip.name` fields
    /// read the result; returns the shared table, which a refresh may replace later
    /// (`lanner_state::hostnames::spawn_refresh`, Falco's schedule).
    pub fn resolve_host_names(&mut self, resolver: &dyn Resolver) -> SharedHostNames {
        let names = self.host_names();
        let table = SharedHostNames::new(HostNames::resolve(
            names.iter().map(String::as_str),
            resolver,
        ));
        self.accessors.set_host_names(&table);
        self.host_names = Some(table.clone());
        table
    }

    /// The host-name table of the last `resolve_host_names`, if there was one.
    pub fn host_name_table(&self) -> Option<&SharedHostNames> {
        self.host_names.as_ref()
    }

    /// The accessors of the rule set's field table, to read an event's fields.
    pub fn accessors(&self) -> &Accessors {
        &self.accessors
    }

    /// The rules an event code dispatches to, in two groups of which the second is tried
    /// only when none of the first matched. Every rule without an event-type restriction is
    /// indexed under each code (see `new`), so all candidates are in the first group, in load
    /// order, and the second is empty; the pair stays for the callers that walk both.
    pub fn dispatch(&self, code: u16) -> (&[u32], &[u32]) {
        (self.rules_for(code), &[])
    }

    /// The alert of rule `index` for the current event of `fields`.
    pub fn alert(
        &self,
        index: usize,
        fields: &mut dyn Fields,
        evt_num: u64,
        ts: u64,
    ) -> Option<Alert> {
        let rule = self.rules.get(index)?;
        Some(render(index, rule, fields, evt_num, ts))
    }

    /// The rules an event code dispatches to, in load order.
    pub fn rules_for(&self, code: u16) -> &[u32] {
        self.by_code
            .get(usize::from(code))
            .map_or(&self.any_event, Vec::as_slice)
    }

    /// Evaluates the rules that apply to `event` and appends the alerts.
    ///
    /// As in Falco, the rules indexed under the event's type are tried in load order: with
    /// `First` the first that matches is reported, with `All` every one.
    pub fn evaluate(
        &self,
        event: &Event<'_>,
        state: &State,
        evt_num: u64,
        matching: RuleMatching,
        alerts: &mut Vec<Alert>,
    ) {
        let candidates = self.rules_for(event.event_type());
        if candidates.is_empty() {
            return;
        }
        let mut fields = self.accessors.on(event, state);
        if let Some(m) = &self.matcher {
            // No allocation unless a rule matches, which is rare.
            let mut hits = Vec::new();
            m.matches(event, state, matching, &mut hits);
            for i in hits {
                if let Some(rule) = self.rules.get(i as usize) {
                    alerts.push(render(i as usize, rule, &mut fields, evt_num, event.ts()));
                }
            }
            return;
        }
        self.run(candidates, &mut fields, event, evt_num, matching, alerts);
    }

    fn run(
        &self,
        candidates: &[u32],
        fields: &mut dyn Fields,
        event: &Event<'_>,
        evt_num: u64,
        matching: RuleMatching,
        alerts: &mut Vec<Alert>,
    ) {
        for &i in candidates {
            let Some(rule) = self.rules.get(i as usize) else {
                continue;
            };
            if !eval(&rule.condition, fields) {
                continue;
            }
            alerts.push(render(i as usize, rule, fields, evt_num, event.ts()));
            if matching == RuleMatching::First {
                break;
            }
        }
    }
}

/// Adds the string constants compared with a host-name field in `e` to `out`.
fn collect_host_names(e: &Expr, out: &mut std::collections::BTreeSet<String>) {
    match e {
        Expr::And(c) | Expr::Or(c) => c.iter().for_each(|c| collect_host_names(c, out)),
        Expr::Not(inner) => collect_host_names(inner, out),
        Expr::Check(check) => {
            if check.lhs.matching() != Matching::HostNames {
                return;
            }
            let lits = match &check.rhs {
                Rhs::Value(l) => std::slice::from_ref(l),
                Rhs::List(items) => items.as_slice(),
                Rhs::None | Rhs::Operand(_) => &[],
            };
            for l in lits {
                if let Lit::Str(bytes) = l {
                    out.insert(String::from_utf8_lossy(bytes).into_owned());
                }
            }
        }
        Expr::Unknown => {}
    }
}

fn render(index: usize, rule: &Rule, fields: &mut dyn Fields, evt_num: u64, ts: u64) -> Alert {
    let mut message = String::new();
    let mut values = Vec::new();
    for part in &rule.output {
        match part {
            Part::Text(t) => message.push_str(t),
            Part::Field { field, text, width } => {
                let mut value = fields.get(field).map(Value::into_owned);
                // A host-name field prints the first of its names, as Falco's cache lookup
                // returns it; an address without a name prints `<NA>`.
                if field.matching == Matching::HostNames {
                    value = match value {
                        Some(Value::List(names)) => names.into_iter().next(),
                        other => other,
                    };
                }
                // A field outside the schema has no accessor, so no value: `<NA>`.
                let mut shown = match &field.field {
                    Some(rf) => lanner_state::render(rf.field, value.as_ref()),
                    None => "<NA>".to_owned(),
                };
                if let Some(w) = width {
                    let w = *w as usize;
                    let n = shown.chars().count();
                    if n > w {
                        shown = shown.chars().take(w).collect();
                    } else {
                        shown.extend(std::iter::repeat_n(' ', w - n));
                    }
                }
                message.push_str(&shown);
                values.push((text.clone(), value));
            }
            Part::Unsupported { text } => {
                message.push_str("<NA>");
                values.push((text.clone(), None));
            }
        }
    }
    Alert {
        rule: index,
        evt_num,
        ts,
        message,
        fields: values,
    }
}

/// `evt.time` as Falco prints it before the priority: `HH:MM:SS.nnnnnnnnn`, UTC.
pub fn time_of_day(ts: u64) -> String {
    let secs = ts / 1_000_000_000;
    let ns = ts % 1_000_000_000;
    let day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{ns:09}",
        day / 3600,
        (day / 60) % 60,
        day % 60
    )
}
