//! Running rule tests: every case's capture through the state engine and the reference
//! interpreter, alerts compared with the expectations, and branch coverage of every rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lanner_check::driver::check_sources;
use lanner_engine::eval_traced;
use lanner_engine::ir::Expr;
use lanner_engine::ruleset::{Alert, RuleMatching, RuleSet};
use lanner_event::{Record, ScapSliceReader};
use lanner_state::{ContainerMatcher, Replay};
use lanner_syntax::Diagnostic;
use lanner_syntax::source::SourceDb;

use crate::format::{self, Case, TestFile};
use crate::synth;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
}

/// One alert as a test sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenAlert {
    pub rule: String,
    /// The 0-based index of the test event that raised it.
    pub event: usize,
    pub output: String,
    pub fields: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct CaseResult {
    pub name: String,
    pub status: Status,
    /// What went wrong, one line each: a missing alert, an unexpected one, a wrong output.
    pub problems: Vec<String>,
    pub alerts: Vec<SeenAlert>,
}

/// Branch coverage of one rule: each operand of an `and`/`or` in its condition, and whether
/// some case made it true and some case made it false.
#[derive(Clone, Debug, Default)]
pub struct RuleCoverage {
    pub operands: usize,
    pub seen_true: usize,
    pub seen_false: usize,
    /// The operands not yet seen both ways: `(description, seen true, seen false)`.
    pub missing: Vec<(String, bool, bool)>,
    /// Every operand, in condition order, as `(description, seen true, seen false)`: what
    /// reports need to unite the coverage of one rule tested by several files.
    pub outcomes: Vec<(String, bool, bool)>,
}

impl RuleCoverage {
    /// Percent of the 2 × operands outcomes seen (a condition without `and`/`or` counts its
    /// root as its one operand).
    pub fn percent(&self) -> f64 {
        if self.operands == 0 {
            return 100.0;
        }
        100.0 * (self.seen_true + self.seen_false) as f64 / (2 * self.operands) as f64
    }
}

/// The result of one test file.
pub struct FileReport {
    pub path: PathBuf,
    /// Lines for stderr that are no test result: the JIT could not compile the rules.
    pub notes: Vec<String>,
    pub db: SourceDb,
    /// Problems of the test file and of the rules it loads.
    pub diagnostics: Vec<Diagnostic>,
    pub cases: Vec<CaseResult>,
    /// Per tested rule (rules of the loaded files), in rule order.
    pub coverage: Vec<(String, RuleCoverage)>,
}

impl FileReport {
    pub fn failed(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
            || self.cases.iter().any(|c| c.status == Status::Fail)
    }
}

/// Whether a subtree tests nothing but the event type. Such a part is decided by dispatch
/// (a rule only sees the event types it names), so no case can make it false; coverage leaves
/// it out rather than ask for the impossible.
fn only_event_type(e: &Expr) -> bool {
    match e {
        Expr::And(c) | Expr::Or(c) => c.iter().all(only_event_type),
        Expr::Not(inner) => only_event_type(inner),
        Expr::Check(check) => matches!(
            &check.lhs,
            lanner_engine::ir::Operand::Field(f) if matches!(f.text.as_str(), "evt.type" | "syscall.type")
        ),
        Expr::Unknown => false,
    }
}

/// The operands whose outcomes coverage counts, by preorder id in the engine's tree: every
/// operand of an `and`/`or` of the rule's own condition, a macro use counting as one operand
/// (its insides are the macro's business, covered where the macro is tested), and without the
/// parts that only test the event type. `own` is the rule's condition with lists substituted
/// but macros not expanded; its shape is the tree's shape down to the macro uses.
fn operand_ids(own: Option<&lanner_syntax::condition::ast::Expr>, expr: &Expr) -> Vec<usize> {
    use lanner_engine::node_count;
    use lanner_syntax::condition::ast::Expr as Ast;
    fn walk(
        a: Option<&Ast>,
        e: &Expr,
        id: &mut usize,
        parent_is_junction: bool,
        out: &mut Vec<usize>,
    ) {
        let me = *id;
        if parent_is_junction && !only_event_type(e) {
            out.push(me);
        }
        match (a, e) {
            (Some(Ast::And(ac, _)), Expr::And(ec)) | (Some(Ast::Or(ac, _)), Expr::Or(ec))
                if ac.len() == ec.len() =>
            {
                *id += 1;
                for (ac, ec) in ac.iter().zip(ec) {
                    walk(Some(ac), ec, id, true, out);
                }
            }
            (Some(Ast::Not(ai, _)), Expr::Not(ei)) => {
                *id += 1;
                walk(Some(ai), ei, id, false, out);
            }
            // Without the rule's own tree, every `and`/`or` operand counts.
            (None, Expr::And(ec) | Expr::Or(ec)) => {
                *id += 1;
                for ec in ec {
                    walk(None, ec, id, true, out);
                }
            }
            (None, Expr::Not(ei)) => {
                *id += 1;
                walk(None, ei, id, false, out);
            }
            // A macro use, a check, or a shape that differs: one unit.
            _ => *id += node_count(e),
        }
    }
    let mut out = Vec::new();
    let mut id = 0;
    walk(own, expr, &mut id, false, &mut out);
    if out.is_empty() && !only_event_type(expr) {
        out.push(0);
    }
    out
}

/// Which engine decides the matches of a test run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Engine {
    /// The reference interpreter alone.
    Interp,
    /// The Cranelift JIT decides; the interpreter's traced evaluation (coverage) runs beside
    /// it, and a rule on which the two disagree fails its case.
    #[default]
    Jit,
}

/// Runs one test file.
pub fn run_file(path: &Path, engine: Engine) -> FileReport {
    let mut db = SourceDb::new();
    // A test file that cannot be read is an error, never an empty (and so passing) file.
    let (text, unreadable) = match std::fs::read_to_string(path) {
        Ok(t) => (t, None),
        Err(e) => (String::new(), Some(e)),
    };
    let id = db.add(path.display().to_string(), text.clone());
    if let Some(e) = unreadable {
        return FileReport {
            path: path.to_path_buf(),
            notes: Vec::new(),
            db,
            diagnostics: vec![Diagnostic::new(
                lanner_syntax::codes::TEST_FILE_STRUCTURE,
                lanner_syntax::FileSpan::new(id, lanner_syntax::Span::default()),
                format!("cannot read test file `{}`: {e}", path.display()),
            )],
            cases: Vec::new(),
            coverage: Vec::new(),
        };
    }
    let (test, mut diagnostics) = format::load(id, &text);
    let dir = path.parent().unwrap_or(Path::new("."));
    // A test file that does not load is reported as it is; guessing its rules would only add
    // a second, misleading error.
    if diagnostics.iter().any(Diagnostic::is_error) {
        return FileReport {
            path: path.to_path_buf(),
            notes: Vec::new(),
            db,
            diagnostics,
            cases: Vec::new(),
            coverage: Vec::new(),
        };
    }
    let rule_paths: Vec<PathBuf> = if test.rules.is_empty() {
        // By default the rules beside the test: `x.test.yaml` tests `x.yaml`.
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().replace(".test.yaml", ".yaml"));
        name.map(|n| vec![dir.join(n)]).unwrap_or_default()
    } else {
        test.rules.iter().map(|r| dir.join(&r.node)).collect()
    };
    let mut sources = Vec::new();
    for p in &rule_paths {
        match std::fs::read_to_string(p) {
            Ok(t) => sources.push((p.display().to_string(), t)),
            Err(e) => diagnostics.push(Diagnostic::new(
                lanner_syntax::codes::TEST_FILE_STRUCTURE,
                lanner_syntax::FileSpan::new(id, lanner_syntax::Span::default()),
                format!("cannot read rules `{}`: {e}", p.display()),
            )),
        }
    }
    let mut report = FileReport {
        path: path.to_path_buf(),
        notes: Vec::new(),
        db,
        diagnostics,
        cases: Vec::new(),
        coverage: Vec::new(),
    };
    if report.diagnostics.iter().any(Diagnostic::is_error) {
        return report;
    }
    let checked = check_sources(sources);
    if checked.has_errors() {
        // The rules' own problems, in their own files.
        let errors: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        report.db = checked.db;
        report.diagnostics.extend(errors);
        return report;
    }
    let (mut ruleset, _unsupported) = RuleSet::from_program(
        &checked.program,
        lanner_engine::program::OutputOptions {
            suggested_output: false,
        },
    );
    // The test's `hosts:` are its DNS: names resolve only to what the file says.
    ruleset.resolve_host_names(&lanner_state::StaticResolver::new(test.hosts.clone()));
    if engine == Engine::Jit
        && let Err(e) = lanner_jit::Jit::install(&checked.program, &mut ruleset)
    {
        report.notes.push(format!(
            "warning: {e}; `{}` runs on the interpreter",
            path.display()
        ));
    }
    // Each rule's own condition (lists substituted, macros not expanded), for coverage.
    let own: Vec<Option<lanner_syntax::condition::ast::Expr>> = ruleset
        .rules
        .iter()
        .map(|r| {
            let resolved = checked.resolved.rules.iter().find(|x| x.name == r.name)?;
            let map = lanner_syntax::condition::OffsetMap {
                file: lanner_syntax::FileId(0),
                base: 0,
            };
            let (ast, diags) = lanner_syntax::condition::parse(
                &resolved.condition_text,
                &map,
                lanner_syntax::condition::RULE_MAX_DEPTH,
            );
            (!diags.iter().any(Diagnostic::is_error)).then_some(ast)
        })
        .collect();
    let operands: Vec<Vec<usize>> = ruleset
        .rules
        .iter()
        .zip(&own)
        .map(|(r, own)| operand_ids(own.as_ref(), &r.condition))
        .collect();
    let mut outcomes: Vec<BTreeMap<usize, (bool, bool)>> =
        vec![BTreeMap::new(); ruleset.rules.len()];
    for case in &test.cases {
        let result = run_case(
            &test,
            case,
            &ruleset,
            &mut outcomes,
            &mut report.diagnostics,
            dir,
        );
        report.cases.push(result);
    }
    for (i, rule) in ruleset.rules.iter().enumerate() {
        let mut cov = RuleCoverage {
            operands: operands.get(i).map_or(0, Vec::len),
            ..RuleCoverage::default()
        };
        let nodes = describe_nodes(&rule.condition);
        for op in operands.get(i).into_iter().flatten() {
            let (t, f) = outcomes
                .get(i)
                .and_then(|o| o.get(op))
                .copied()
                .unwrap_or((false, false));
            cov.seen_true += usize::from(t);
            cov.seen_false += usize::from(f);
            let d = nodes.get(*op).cloned().unwrap_or_default();
            if !(t && f) {
                cov.missing.push((d.clone(), t, f));
            }
            cov.outcomes.push((d, t, f));
        }
        report.coverage.push((rule.name.clone(), cov));
    }
    report
}

/// A short text for every node, by preorder id, for coverage reports.
fn describe_nodes(expr: &Expr) -> Vec<String> {
    fn lit(l: &lanner_engine::ir::Lit) -> String {
        use lanner_engine::ir::Lit;
        match l {
            Lit::Int(v) => v.to_string(),
            Lit::UInt(v) => v.to_string(),
            Lit::Double(v) => v.get().to_string(),
            Lit::Bool(v) => v.to_string(),
            Lit::Ip(ip) => ip.to_string(),
            Lit::Net(net) => net.to_string(),
            Lit::Str(b) | Lit::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Lit::Regex(r) => r.regex().as_str().to_string(),
        }
    }
    fn text(e: &Expr) -> String {
        use lanner_engine::ir::{Operand, Rhs};
        match e {
            Expr::And(c) => format!("({})", c.iter().map(text).collect::<Vec<_>>().join(" and ")),
            Expr::Or(c) => format!("({})", c.iter().map(text).collect::<Vec<_>>().join(" or ")),
            Expr::Not(inner) => format!("not {}", text(inner)),
            Expr::Unknown => "<unknown>".to_string(),
            Expr::Check(c) => {
                let lhs = match &c.lhs {
                    Operand::Field(f) => f.text.clone(),
                    Operand::Transform(t) => format!("{:?}(...)", t.kind),
                };
                let rhs = match &c.rhs {
                    Rhs::None => String::new(),
                    Rhs::Value(v) => format!(" {}", lit(v)),
                    Rhs::List(items) => {
                        let shown: Vec<String> = items.iter().take(4).map(lit).collect();
                        let more = if items.len() > 4 { ", ..." } else { "" };
                        format!(" ({}{more})", shown.join(", "))
                    }
                    Rhs::Operand(_) => " val(...)".to_string(),
                };
                format!("{lhs} {}{rhs}", c.op)
            }
        }
    }
    fn walk(e: &Expr, out: &mut Vec<String>) {
        out.push(text(e));
        match e {
            Expr::And(c) | Expr::Or(c) => c.iter().for_each(|c| walk(c, out)),
            Expr::Not(inner) => walk(inner, out),
            Expr::Check(_) | Expr::Unknown => {}
        }
    }
    let mut out = Vec::new();
    walk(expr, &mut out);
    out
}

fn seen(a: &Alert, rs: &RuleSet, event: usize) -> SeenAlert {
    let fields = a
        .fields
        .iter()
        .map(|(text, v)| {
            let info = rs
                .fields
                .iter()
                .find(|f| f.text == *text)
                .and_then(|f| f.field.as_ref())
                .map(|f| f.field);
            let shown = match info {
                Some(info) => lanner_state::render(info, v.as_ref()),
                None => "<NA>".to_string(),
            };
            (text.clone(), shown)
        })
        .collect();
    SeenAlert {
        rule: rs
            .rules
            .get(a.rule)
            .map(|r| r.name.clone())
            .unwrap_or_default(),
        event,
        output: a.message.trim().to_string(),
        fields,
    }
}

/// A selection of events: a condition lowered for the engine, with its own accessors.
struct Selection {
    expr: Expr,
    accessors: lanner_engine::state::Accessors,
}

fn selection(text: &str, at: lanner_syntax::FileSpan) -> Result<Selection, String> {
    let map = lanner_syntax::condition::OffsetMap {
        file: at.file,
        base: at.span.start as usize,
    };
    let (ast, diags) =
        lanner_syntax::condition::parse(text, &map, lanner_syntax::condition::RULE_MAX_DEPTH);
    if let Some(d) = diags.iter().find(|d| d.is_error()) {
        return Err(format!("`select` does not parse: {}", d.message));
    }
    let checked = lanner_check::typeck::check(&ast);
    if let Some(d) = checked.diagnostics.iter().find(|d| d.is_error()) {
        return Err(format!("`select` does not check: {}", d.message));
    }
    let (program, root) = lanner_check::program::build_condition(&checked.expr)
        .map_err(|e| format!("`select` compiles to an invalid program: {e}"))?;
    let (expr, fields) = lanner_engine::program::condition(&program, root);
    let (accessors, _) = lanner_engine::state::Accessors::compile(&fields);
    Ok(Selection { expr, accessors })
}

/// Replays a capture and evaluates the rules on its (selected) events, recording coverage.
/// Alerts carry the event's index among the delivered events, or its `evt.num` when
/// `by_num`.
#[allow(clippy::too_many_arguments)]
fn evaluate_capture(
    capture: &[u8],
    rs: &RuleSet,
    outcomes: &mut [BTreeMap<usize, (bool, bool)>],
    select: Option<&Selection>,
    by_num: bool,
    alerts: &mut Vec<SeenAlert>,
    problems: &mut Vec<String>,
) {
    let mut replay = Replay::new(ContainerMatcher::falco());
    let mut index = 0usize;
    for rec in ScapSliceReader::new(capture) {
        let rec: Record<'_> = match rec {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("the capture does not read: {e}"));
                break;
            }
        };
        let Some(d) = replay.record(&rec) else {
            continue;
        };
        if !d.delivered {
            continue;
        }
        let Some(ev) = replay.event() else { continue };
        if let Some(sel) = select
            && !lanner_engine::eval(&sel.expr, &mut sel.accessors.on(&ev, &replay.state))
        {
            continue;
        }
        let event = if by_num {
            usize::try_from(d.num).unwrap_or(usize::MAX)
        } else {
            index
        };
        index += 1;
        // The compiled matcher's verdict on every candidate: the loop below evaluates every
        // rule of the first group (`all`), so that each case sees every rule it names.
        let compiled = rs.matcher().map(|m| {
            let mut hits = Vec::new();
            m.matches(&ev, &replay.state, RuleMatching::All, &mut hits);
            hits
        });
        let mut fields = rs.accessors().on(&ev, &replay.state);
        let (specific, any) = rs.dispatch(ev.event_type());
        let mut matched = false;
        for group in [specific, any] {
            if matched {
                break;
            }
            for &ri in group {
                let i = ri as usize;
                let Some(rule) = rs.rules.get(i) else {
                    continue;
                };
                let mut hits: Vec<(usize, bool)> = Vec::new();
                let traced = eval_traced(&rule.condition, &mut fields, &mut |id, r| {
                    hits.push((id, r))
                });
                let fired = match &compiled {
                    None => traced,
                    Some(c) => {
                        let jit = c.contains(&ri);
                        if jit != traced {
                            problems.push(format!(
                                "event {event}: the JIT says rule `{}` {} but the interpreter says it {}",
                                rule.name,
                                if jit { "matches" } else { "does not match" },
                                if traced { "does" } else { "does not" },
                            ));
                        }
                        jit
                    }
                };
                if let Some(o) = outcomes.get_mut(i) {
                    for (id, r) in hits {
                        let e = o.entry(id).or_insert((false, false));
                        if r {
                            e.0 = true;
                        } else {
                            e.1 = true;
                        }
                    }
                }
                if fired {
                    matched = true;
                    if let Some(a) = rs.alert(i, &mut fields, d.num, ev.ts()) {
                        alerts.push(seen(&a, rs, event));
                    }
                }
            }
        }
    }
}

fn run_case(
    test: &TestFile,
    case: &Case,
    rs: &RuleSet,
    outcomes: &mut [BTreeMap<usize, (bool, bool)>],
    diagnostics: &mut Vec<Diagnostic>,
    dir: &Path,
) -> CaseResult {
    let mut problems = Vec::new();
    let mut alerts = Vec::new();
    if let Some(cap) = &case.capture {
        let path = dir.join(&cap.path.node);
        match std::fs::read(&path) {
            Err(e) => problems.push(format!("cannot read capture `{}`: {e}", path.display())),
            Ok(bytes) => {
                let sel = match &cap.select {
                    None => Ok(None),
                    Some(s) => selection(
                        &s.node,
                        lanner_syntax::FileSpan::new(case.span.file, s.span),
                    )
                    .map(Some),
                };
                match sel {
                    Err(e) => problems.push(e),
                    Ok(sel) => evaluate_capture(
                        &bytes,
                        rs,
                        outcomes,
                        sel.as_ref(),
                        true,
                        &mut alerts,
                        &mut problems,
                    ),
                }
            }
        }
    } else {
        match synth::synthesize(test, case) {
            Err(e) => problems.push(format!("could not build the events: {e}")),
            Ok(s) => {
                if s.diagnostics.iter().any(Diagnostic::is_error) {
                    problems
                        .push("the case's events are invalid (see the diagnostics)".to_string());
                }
                diagnostics.extend(s.diagnostics);
                evaluate_capture(
                    &s.capture,
                    rs,
                    outcomes,
                    None,
                    false,
                    &mut alerts,
                    &mut problems,
                );
            }
        }
    }
    // Expected alerts.
    let mut used = vec![false; alerts.len()];
    for exp in &case.expect {
        let candidates: Vec<usize> = alerts
            .iter()
            .enumerate()
            .filter(|(k, a)| {
                !used.get(*k).copied().unwrap_or(true)
                    && a.rule == exp.rule.node
                    && exp.event.is_none_or(|e| e == a.event)
            })
            .map(|(k, _)| k)
            .collect();
        if candidates.is_empty() {
            let fired: Vec<&str> = alerts.iter().map(|a| a.rule.as_str()).collect();
            problems.push(format!(
                "expected an alert of `{}`{}, none came (alerts: {})",
                exp.rule.node,
                exp.event
                    .map_or(String::new(), |e| format!(" on event {e}")),
                if fired.is_empty() {
                    "none".to_string()
                } else {
                    fired.join(", ")
                }
            ));
            continue;
        }
        // Among the rule's alerts, take the first that matches the output and fields.
        let mut best_problem = None;
        let mut ok = None;
        for k in candidates {
            let Some(a) = alerts.get(k) else { continue };
            let mut diffs = Vec::new();
            if let Some(out) = &exp.output
                && out.node.trim() != a.output
            {
                diffs.push(format!(
                    "output\n      expected: {}\n      actual:   {}",
                    out.node.trim(),
                    a.output
                ));
            }
            for (field, want) in &exp.fields {
                let got = a
                    .fields
                    .iter()
                    .find(|(f, _)| f == field)
                    .map(|(_, v)| v.as_str());
                match got {
                    Some(g) if g == want.node => {}
                    Some(g) => {
                        diffs.push(format!("{field}: expected `{}`, actual `{g}`", want.node))
                    }
                    None => diffs.push(format!("{field}: not in the rule's output")),
                }
            }
            if diffs.is_empty() {
                ok = Some(k);
                break;
            }
            best_problem.get_or_insert(diffs);
        }
        match ok {
            Some(k) => {
                if let Some(u) = used.get_mut(k) {
                    *u = true;
                }
            }
            None => problems.push(format!(
                "alert of `{}` differs:\n  {}",
                exp.rule.node,
                best_problem.unwrap_or_default().join("\n  ")
            )),
        }
    }
    // Unexpected alerts.
    for (k, a) in alerts.iter().enumerate() {
        if used.get(k).copied().unwrap_or(false) {
            continue;
        }
        let named_quiet = case.quiet.iter().any(|q| q.node == a.rule);
        let expected_rule = case.expect.iter().any(|e| e.rule.node == a.rule);
        if named_quiet || (!case.other_rules && !expected_rule) {
            problems.push(format!(
                "unexpected alert of `{}` on event {}: {}",
                a.rule, a.event, a.output
            ));
        }
    }
    CaseResult {
        name: case.name.clone(),
        status: if problems.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        },
        problems,
        alerts,
    }
}
