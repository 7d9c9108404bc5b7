//! Rule conditions lowered to what the kernel can decide at `sys_exit`.
//!
//! For each event type, the kernel part is the disjunction over the rules that dispatch to it
//! of each rule's condition with everything the kernel cannot decide replaced by "may match"
//! ([`Formula`]): a sound abstraction, the kernel may pass too much, never too little. A
//! condition is lowered in both polarities at once (what may make it true, what may make it
//! false), so `not` needs no exactness from the parts below it. The events the state engine
//! needs for something a rule can later observe pass whatever the rules say ([`StateNeed`],
//! derived from the fields the program reads).
//!
//! The atoms ([`Atom`]) read only what the syscall record already holds: the result, the
//! task's uid and `comm`, and the strings the capture plan copies ([`copied_strings`]).
//! `lanner-ebpf` turns the formulas into eBPF and interprets that code in tests; this crate
//! depends on the program and the event table only, so `rulec` can explain the kernel part.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod formula;
mod state;

use std::collections::BTreeMap;

use lanner_event::table::{Direction, EventInfo, ParamType, TableVersion};
use lanner_program::{
    Check, FieldArg, FieldId, FieldKey, Lit, Node, NodeId, Operand, Operator, Program, Rhs,
};

pub use formula::{
    Atom, COMM_LEN, Cmp, Formula, Input, MAX_LITERAL, MAX_SCAN, PathKind, plain_path,
};
pub use state::{StateNeed, state_need};

/// The strings the capture plan copies at `sys_exit`, by event name: (item, parameter).
/// Only the first item is at a fixed offset in the record, so only it is listed; a test in
/// `lanner-ebpf` checks this table against the plans and the converter.
pub fn copied_strings(event: &str) -> &'static [(u8, &'static str)] {
    match event {
        "open" | "openat" | "openat2" | "creat" | "unlinkat" | "umount2" | "memfd_create" => {
            &[(0, "name")]
        }
        "unlink" | "rmdir" | "mkdir" | "mkdirat" | "chdir" => &[(0, "path")],
        "chmod" | "fchmodat" => &[(0, "filename")],
        "rename" | "renameat" | "renameat2" | "link" | "linkat" => &[(0, "oldpath")],
        "symlink" | "symlinkat" => &[(0, "target")],
        "mount" => &[(0, "dev")],
        _ => &[],
    }
}

/// Events whose `fd.name` is the path they copy as item 0 (resolved).
pub fn opens_path(event: &str) -> bool {
    matches!(event, "open" | "openat" | "openat2" | "creat")
}

/// Why a check could not be lowered (or was lowered only one way).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Residue {
    /// The check as the program prints it.
    pub check: String,
    pub reason: String,
}

/// The kernel part of one rule for one event type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleLowering {
    pub formula: Formula,
    /// The checks the kernel cannot decide (each once).
    pub residue: Vec<Residue>,
}

/// The kernel part of a whole program, per event code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lowered {
    /// For every exit event code a syscall rule can match or the state needs: what passes.
    pub by_code: BTreeMap<u16, Formula>,
    pub need: StateNeed,
}

impl Lowered {
    /// What passes for `code`: [`Formula::False`] for an event no rule and no state needs.
    pub fn formula(&self, code: u16) -> Formula {
        self.by_code.get(&code).cloned().unwrap_or(Formula::False)
    }
}

fn event(code: u16) -> Option<&'static EventInfo> {
    TableVersion::Current.event(code)
}

/// Lowers every rule that runs on syscalls, for every exit event code of the table.
pub fn lower(program: &Program) -> Lowered {
    let need = state_need(program);
    let mut by_code = BTreeMap::new();
    for info in TableVersion::Current.events() {
        if info.direction != Direction::Exit || info.is_unused() {
            continue;
        }
        let code = info.id;
        let mut parts = vec![need.formula(info)];
        for rule in &program.rules {
            if !rule.runs_on_syscalls() || !rule.event_codes.contains(&code) {
                continue;
            }
            parts.push(lower_rule(program, rule.condition, code).formula);
        }
        let f = Formula::or(parts);
        if f != Formula::False {
            by_code.insert(code, f);
        }
    }
    Lowered { by_code, need }
}

/// The kernel part of a rule's condition for one event code.
pub fn lower_rule(program: &Program, root: Option<NodeId>, code: u16) -> RuleLowering {
    let mut cx = Lowering {
        program,
        info: event(code),
        memo: BTreeMap::new(),
        residue: Vec::new(),
    };
    let formula = match root {
        Some(root) => cx.node(root).0,
        None => Formula::False,
    };
    RuleLowering {
        formula,
        residue: cx.residue,
    }
}

struct Lowering<'p> {
    program: &'p Program,
    info: Option<&'static EventInfo>,
    /// Per node: (may be true, may be false).
    memo: BTreeMap<u32, (Formula, Formula)>,
    residue: Vec<Residue>,
}

/// Either polarity undecided.
fn unknown() -> (Formula, Formula) {
    (Formula::True, Formula::True)
}

/// Exactly decided literal formula: its negation is sound.
fn exact(f: Formula) -> (Formula, Formula) {
    let n = f.negate();
    (f, n)
}

fn constant(b: bool) -> (Formula, Formula) {
    if b {
        (Formula::True, Formula::False)
    } else {
        (Formula::False, Formula::True)
    }
}

impl Lowering<'_> {
    fn node(&mut self, id: NodeId) -> (Formula, Formula) {
        if let Some(m) = self.memo.get(&id.0) {
            return m.clone();
        }
        let r = match self.program.node(id) {
            Some(Node::And(c)) => {
                let parts: Vec<_> = c.iter().map(|c| self.node(*c)).collect();
                let (t, f): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
                (Formula::and(t), Formula::or(f))
            }
            Some(Node::Or(c)) => {
                let parts: Vec<_> = c.iter().map(|c| self.node(*c)).collect();
                let (t, f): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
                (Formula::or(t), Formula::and(f))
            }
            Some(Node::Not(c)) => {
                let (t, f) = self.node(*c);
                (f, t)
            }
            // An unchecked part evaluates to false.
            Some(Node::Unknown) | None => constant(false),
            Some(Node::Check(c)) => match self.check(c) {
                Ok(r) => r,
                Err(reason) => {
                    let check = self.program.print(id);
                    if !self.residue.iter().any(|r| r.check == check) {
                        self.residue.push(Residue { check, reason });
                    }
                    unknown()
                }
            },
        };
        self.memo.insert(id.0, r.clone());
        r
    }

    fn check(&self, c: &Check) -> Result<(Formula, Formula), String> {
        let Operand::Field(field) = &c.lhs else {
            return Err("a transformer is evaluated in user space".into());
        };
        if c.modifier.is_some() {
            return Err("a modifier is evaluated in user space".into());
        }
        if matches!(c.rhs, Rhs::Operand(_)) {
            return Err("a field-to-field comparison is evaluated in user space".into());
        }
        let FieldKey::Schema(id) = field.key else {
            return Err("a plugin field is not in the kernel".into());
        };
        let name = self.info.map_or("", |i| i.name);
        match id {
            FieldId::EvtType => self.event_type(c, name),
            FieldId::EvtDir => match &c.rhs {
                Rhs::Value(Lit::Str(s)) if matches!(c.op, Operator::Eq | Operator::Ne) => {
                    Ok(constant((s.as_slice() == b"<") == (c.op == Operator::Eq)))
                }
                _ => Err(format!("`evt.dir {}` is not lowered", c.op)),
            },
            FieldId::EvtRawres => self.has_res().and_then(|()| self.number(c, NumField::Ret)),
            FieldId::EvtRes => self.has_res().and_then(|()| self.res(c)),
            FieldId::EvtFailed => self.has_res().and_then(|()| match (&c.op, &c.rhs) {
                (Operator::Eq | Operator::Ne, Rhs::Value(Lit::Bool(b))) => {
                    let failed = *b == (c.op == Operator::Eq);
                    Ok(exact(Formula::atom(Atom::Ret(
                        if failed { Cmp::Lt } else { Cmp::Ge },
                        0,
                    ))))
                }
                _ => Err(format!("`evt.failed {}` is not lowered", c.op)),
            }),
            FieldId::UserUid => self.number(c, NumField::Uid),
            FieldId::ProcName => self.comm(c),
            FieldId::FdName if opens_path(name) => self.string(c, 0, PathKind::Resolved),
            FieldId::FdName => Err(format!("`fd.name` of `{name}` is not copied by the kernel")),
            FieldId::EvtArg => {
                let param = match &field.arg {
                    Some(FieldArg::Param(p)) => Some(p.as_str()),
                    Some(FieldArg::Index(i)) => self
                        .info
                        .and_then(|info| info.params.get(usize::try_from(*i).ok()?))
                        .map(|p| p.name),
                    _ => None,
                };
                let Some(param) = param else {
                    return Err("`evt.arg` without a parameter is not lowered".into());
                };
                let Some((item, _)) = copied_strings(name).iter().find(|(_, p)| *p == param) else {
                    return Err(format!(
                        "`evt.arg.{param}` of `{name}` is not copied by the kernel"
                    ));
                };
                let ptype = self
                    .info
                    .and_then(|i| i.params.get(i.param_index(param)?))
                    .map(|p| p.ptype);
                let kind = match ptype {
                    Some(ParamType::FsPath | ParamType::FsRelPath) => PathKind::Absolute,
                    Some(ParamType::CharBuf) => PathKind::Raw,
                    _ => return Err(format!("`evt.arg.{param}` is not a string")),
                };
                self.string(c, *item, kind)
            }
            other => Err(format!("`{}` is not decided in the kernel", other.name())),
        }
    }

    fn has_res(&self) -> Result<(), String> {
        // `evt.rawres` is the exit event's first parameter, the syscall's return value as
        // the converter writes it (signed types only: an unsigned one would not compare alike).
        match self.info.and_then(|i| i.params.first()) {
            Some(p)
                if matches!(
                    p.ptype,
                    ParamType::Errno
                        | ParamType::Fd
                        | ParamType::Fd32
                        | ParamType::Pid
                        | ParamType::Pid32
                        | ParamType::Int64
                        | ParamType::Int32
                ) =>
            {
                Ok(())
            }
            _ => Err("the event has no signed result".into()),
        }
    }

    fn event_type(&self, c: &Check, name: &str) -> Result<(Formula, Formula), String> {
        let is = |l: &Lit| matches!(l, Lit::Str(s) if s.as_slice() == name.as_bytes());
        match (&c.op, &c.rhs) {
            (Operator::Eq, Rhs::Value(v)) => Ok(constant(is(v))),
            (Operator::Ne, Rhs::Value(v)) => Ok(constant(!is(v))),
            (Operator::In, Rhs::List(l)) => Ok(constant(l.iter().any(is))),
            _ => Err(format!("`evt.type {}` is not lowered", c.op)),
        }
    }

    fn res(&self, c: &Check) -> Result<(Formula, Formula), String> {
        let ok = Formula::atom(Atom::Ret(Cmp::Ge, 0));
        let failed = Formula::atom(Atom::Ret(Cmp::Lt, 0));
        // `SUCCESS` is decided exactly; an error name only as "failed" (the errno table is
        // not lowered), so only the positive side of `= ENOENT` is kept.
        let one = |l: &Lit| -> Result<(Formula, Formula), String> {
            match l {
                Lit::Str(s) if s.as_slice() == b"SUCCESS" => Ok((ok.clone(), failed.clone())),
                Lit::Str(_) => Ok((failed.clone(), Formula::True)),
                _ => Err("`evt.res` against a non-string".into()),
            }
        };
        match (&c.op, &c.rhs) {
            (Operator::Eq, Rhs::Value(v)) => one(v),
            (Operator::Ne, Rhs::Value(v)) => one(v).map(|(t, f)| (f, t)),
            (Operator::In, Rhs::List(l)) => {
                let parts = l.iter().map(one).collect::<Result<Vec<_>, _>>()?;
                let (t, f): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
                Ok((Formula::or(t), Formula::and(f)))
            }
            _ => Err(format!("`evt.res {}` is not lowered", c.op)),
        }
    }

    fn number(&self, c: &Check, which: NumField) -> Result<(Formula, Formula), String> {
        let atom = |cmp: Cmp, l: &Lit| -> Result<Formula, String> {
            let v = match l {
                Lit::Int(i) => i128::from(*i),
                Lit::UInt(u) => i128::from(*u),
                _ => return Err("a number against a non-number".into()),
            };
            match which {
                NumField::Ret => i64::try_from(v)
                    .map(|v| Formula::atom(Atom::Ret(cmp, v)))
                    .map_err(|_| "a result constant out of range".into()),
                NumField::Uid => u32::try_from(v)
                    .map(|v| Formula::atom(Atom::Uid(cmp, v)))
                    .map_err(|_| "a uid constant out of range".into()),
            }
        };
        let cmp = match c.op {
            Operator::Eq => Cmp::Eq,
            Operator::Ne => Cmp::Ne,
            Operator::Lt => Cmp::Lt,
            Operator::Le => Cmp::Le,
            Operator::Gt => Cmp::Gt,
            Operator::Ge => Cmp::Ge,
            Operator::In => {
                let Rhs::List(l) = &c.rhs else {
                    return Err("`in` without a list".into());
                };
                let parts = l
                    .iter()
                    .map(|v| atom(Cmp::Eq, v))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(exact(Formula::or(parts)));
            }
            op => return Err(format!("`{op}` on a number is not lowered")),
        };
        let Rhs::Value(v) = &c.rhs else {
            return Err("a comparison without a value".into());
        };
        Ok(exact(atom(cmp, v)?))
    }

    fn comm(&self, c: &Check) -> Result<(Formula, Formula), String> {
        let fits = |s: &[u8]| s.len() <= COMM_LEN && !s.contains(&0);
        let eq = |l: &Lit| -> Result<Formula, String> {
            match l {
                Lit::Str(s) if fits(s) => Ok(Formula::atom(Atom::CommEq(s.clone()))),
                Lit::Str(s) => Err(format!(
                    "`{}` does not fit the kernel's {COMM_LEN} comm bytes",
                    String::from_utf8_lossy(s)
                )),
                _ => Err("`proc.name` against a non-string".into()),
            }
        };
        match (&c.op, &c.rhs) {
            (Operator::Eq, Rhs::Value(v)) => Ok(exact(eq(v)?)),
            (Operator::Ne, Rhs::Value(v)) => Ok(exact(eq(v)?.negate())),
            (Operator::In, Rhs::List(l)) => {
                let parts = l.iter().map(eq).collect::<Result<Vec<_>, _>>()?;
                Ok(exact(Formula::or(parts)))
            }
            (Operator::StartsWith, Rhs::Value(Lit::Str(s))) if fits(s) => {
                Ok(exact(Formula::atom(Atom::CommPrefix(s.clone()))))
            }
            _ => Err(format!("`proc.name {}` is not lowered", c.op)),
        }
    }

    fn string(&self, c: &Check, item: u8, kind: PathKind) -> Result<(Formula, Formula), String> {
        let lit = |l: &Lit| -> Result<Vec<u8>, String> {
            match l {
                Lit::Str(s) if s.len() <= MAX_LITERAL && !s.contains(&0) => Ok(s.clone()),
                Lit::Str(_) => Err(format!("a string longer than {MAX_LITERAL} bytes")),
                _ => Err("a string field against a non-string".into()),
            }
        };
        let eq = |l: &Lit| lit(l).map(|value| Formula::atom(Atom::StrEq { item, kind, value }));
        let prefix =
            |l: &Lit| lit(l).map(|value| Formula::atom(Atom::StrPrefix { item, kind, value }));
        match (&c.op, &c.rhs) {
            (Operator::Eq, Rhs::Value(v)) => Ok(exact(eq(v)?)),
            (Operator::Ne, Rhs::Value(v)) => Ok(exact(eq(v)?.negate())),
            (Operator::In, Rhs::List(l)) => {
                let parts = l.iter().map(eq).collect::<Result<Vec<_>, _>>()?;
                Ok(exact(Formula::or(parts)))
            }
            (Operator::StartsWith, Rhs::Value(v)) => Ok(exact(prefix(v)?)),
            // `pmatch` implies `startswith` of one of the paths; its negation is not decided.
            (Operator::PMatch, Rhs::List(l)) => {
                let parts = l.iter().map(prefix).collect::<Result<Vec<_>, _>>()?;
                Ok((Formula::or(parts), Formula::True))
            }
            _ => Err(format!("`{}` on a copied string is not lowered", c.op)),
        }
    }
}

#[derive(Clone, Copy)]
enum NumField {
    Ret,
    Uid,
}

/// The exit event code the kernel's records of syscall `name` become, if any.
pub fn exit_code(name: &str) -> Option<u16> {
    TableVersion::Current
        .events()
        .iter()
        .filter(|e| {
            e.name == name
                && e.direction == Direction::Exit
                && !e.is_unused()
                && !e
                    .flags
                    .contains(lanner_event::table::EventFlags::OLD_VERSION)
        })
        .map(|e| e.id)
        .max()
}

/// The kernel part of one rule for one exit event it dispatches to (`rulec explain`, `rulec
/// check --format json`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleKernel {
    pub event: &'static str,
    pub code: u16,
    /// What the rule may match of the event, and the checks the kernel cannot decide.
    pub lowering: RuleLowering,
    /// What passes of the event whatever the rules, for the state the program observes.
    pub state: Formula,
}

/// The kernel part of `program.rules[rule]` per exit event code it dispatches to; empty for a
/// rule that does not run on syscalls or runs on every event (the kernel passes everything).
pub fn rule_kernel(program: &Program, rule: usize) -> Vec<RuleKernel> {
    let Some(r) = program.rules.get(rule) else {
        return Vec::new();
    };
    if !r.runs_on_syscalls() || r.any_event {
        return Vec::new();
    }
    let need = state_need(program);
    let mut out = Vec::new();
    for &code in &r.event_codes {
        let Some(info) = event(code) else {
            continue;
        };
        // One entry per event name: the newest version is what the kernel's records become.
        if info.direction != Direction::Exit
            || info.is_unused()
            || exit_code(info.name) != Some(code)
        {
            continue;
        }
        out.push(RuleKernel {
            event: info.name,
            code,
            lowering: lower_rule(program, r.condition, code),
            state: need.formula(info),
        });
    }
    out
}

/// The kernel part of `program` as text, one line per event type that has one.
pub fn explain(lowered: &Lowered) -> String {
    let mut out = String::new();
    for (code, f) in &lowered.by_code {
        let name = event(*code).map_or("?", |i| i.name);
        out.push_str(&format!("{name}: {f}\n"));
    }
    out
}

#[cfg(test)]
mod tests;
