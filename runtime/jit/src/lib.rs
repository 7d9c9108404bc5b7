//! Rule conditions compiled to native code with Cranelift.
//!
//! The input is the checked [`Program`] (its DAG, not the interpreter's unfolded trees) and the
//! [`RuleSet`] built from it (for rule indices, dispatch and alert rendering). The output is a
//! [`Jit`], a [`Matcher`] that the rule set consults instead of walking its trees:
//!
//! - one function per dispatch group (the distinct candidate lists of the event codes) that
//!   runs every candidate rule in load order and reports the matches, stopping after the
//!   first with `rule_matching: first`, as the interpreter does;
//! - one function per rule, and one per node reached more than once from the rules' roots:
//!   such a node is evaluated at most once per event (a memo word per node, stamped with the
//!   event's epoch, so nothing is cleared between events);
//! - field values are extracted at most once per event per slot, lazily; integer checks
//!   (`=`, `!=`, `<`, ..., `in` over a few integers, `exists`) are compiled to inline compares,
//!   every other check calls back into the interpreter's own check semantics
//!   ([`lanner_engine::eval::eval_check`]), so the two engines share one definition of every
//!   operator. The ABI is in [`abi`](crate::abi) and ARCHITECTURE.md.
//!
//! The interpreter is the semantic reference: `compiler/conformance/tests/jit_differential.rs`
//! holds the JIT to it on every shared capture and on random conditions.

// Tests may unwrap, panic and index freely: a panic there is a test failure, which is the point.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod abi;
mod codegen;
mod plan;

use std::ffi::c_void;
use std::sync::{Mutex, TryLockError};
use std::time::{Duration, Instant};

use lanner_engine::ruleset::{Matcher, RuleMatching, RuleSet};
use lanner_event::Event;
use lanner_program::{NodeId, Program};
use lanner_state::value::Value;
use lanner_state::{Accessor, State};

use abi::{CachedFields, Ctx, Frame, IntMemo};

/// Why the rules cannot be compiled to native code.
#[derive(Debug, thiserror::Error)]
pub enum JitError {
    #[error("the JIT does not support this host: {0}")]
    Host(String),
    #[error("cannot compile the rules to native code: {0}")]
    Codegen(String),
    #[error("the program and the rule set disagree: {0}")]
    Mismatch(String),
}

/// Whether this host can run generated code (the ISA is one Cranelift targets).
pub fn host_supported() -> Result<(), JitError> {
    codegen::host_supported()
}

/// What compiling produced, for `--format json` reports and benchmarks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    pub rules: usize,
    pub groups: usize,
    /// Nodes evaluated at most once per event through a memo.
    pub memoised: usize,
    /// Distinct checks; of them, compiled to inline integer compares.
    pub checks: usize,
    pub inline_checks: usize,
    pub functions: usize,
    pub compile_time: Duration,
}

/// Per-event working memory, reused across events.
struct Scratch {
    memo: Vec<u32>,
    ints: Vec<IntMemo>,
    pos: Vec<(u32, u32)>,
    spare: Vec<Option<Value<'static>>>,
    out: Vec<u32>,
    epoch: u32,
}

impl Scratch {
    fn new(plan: &plan::Plan) -> Scratch {
        Scratch {
            memo: vec![0; plan.memo_nodes.len()],
            ints: vec![IntMemo::default(); plan.int_slots.len()],
            pos: vec![(0, 0); plan.fields.len()],
            spare: Vec::new(),
            out: vec![0; plan.max_candidates()],
            epoch: 0,
        }
    }
}

/// The compiled conditions of one rule set.
pub struct Jit {
    plan: plan::Plan,
    accessors: Vec<Option<Accessor>>,
    code: codegen::Code,
    /// Locked for one event's evaluation; uncontended in the agent (one consumer thread).
    scratch: Mutex<Scratch>,
    stats: Stats,
}

// SAFETY: the generated code and its module are owned by the `Jit` alone and never change after
// `compile`; through `&self` the code only runs, reading the plan (immutable) and writing the
// scratch memory it is handed, which is behind a `Mutex` (or private to the call when another
// thread holds it). Moving the owner to another thread moves nothing the code points to except
// through `Frame`, built per call.
unsafe impl Send for Jit {}
// SAFETY: as above: shared use only runs immutable code over per-call or locked memory.
unsafe impl Sync for Jit {}

/// Epochs run from 1 to this, then every stamp is cleared and they start again.
const EPOCH_MAX: u32 = (1 << 31) - 1;

impl Jit {
    /// Compiles the syscall rules of `program`; `ruleset` must have been built from it.
    pub fn compile(program: &Program, ruleset: &RuleSet) -> Result<Jit, JitError> {
        let started = Instant::now();
        let plan = plan::Plan::new(program, ruleset)?;
        let code = codegen::compile(program, &plan)?;
        let accessors = plan
            .fields
            .iter()
            .map(|f| f.field.as_ref().and_then(|rf| Accessor::compile(rf).ok()))
            .map(|a| match (a, ruleset.host_name_table()) {
                // The interpreter's accessors read the resolved names; these must read the same
                // table or `fd.*ip.name` would see no names here and diverge.
                (Some(a), Some(names)) if a.reads_host_names() => Some(a.with_host_names(names)),
                (a, _) => a,
            })
            .collect();
        let stats = Stats {
            rules: plan.roots.len(),
            groups: plan.groups.len(),
            memoised: plan.memo_nodes.len(),
            checks: plan.checks.len(),
            inline_checks: plan.inline.iter().filter(|i| i.is_some()).count(),
            functions: code.functions,
            compile_time: started.elapsed(),
        };
        let scratch = Scratch::new(&plan);
        Ok(Jit {
            plan,
            accessors,
            code,
            scratch: Mutex::new(scratch),
            stats,
        })
    }

    /// Compiles `program` and installs the result in `ruleset` (built from it).
    pub fn install(program: &Program, ruleset: &mut RuleSet) -> Result<Stats, JitError> {
        let jit = Jit::compile(program, ruleset)?;
        let stats = jit.stats.clone();
        ruleset.set_matcher(Box::new(jit));
        Ok(stats)
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The memoised nodes the last evaluation decided, with their values (nodes it skipped
    /// by short-circuiting are not listed). The differential tests compare them with the
    /// interpreter's value of the same node.
    pub fn memo_values(&self) -> Vec<(NodeId, bool)> {
        let s = match self.scratch.try_lock() {
            Ok(s) => s,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Vec::new(),
        };
        let e2 = s.epoch << 1;
        self.plan
            .memo_nodes
            .iter()
            .zip(&s.memo)
            .filter(|(_, w)| (**w ^ e2) < 2)
            .map(|(n, w)| (*n, (*w ^ e2) == 1))
            .collect()
    }

    /// The rule-set indices of the rules that match `event`.
    fn run(&self, event: &Event<'_>, state: &State, matching: RuleMatching, hits: &mut Vec<u32>) {
        // Another thread evaluating with this matcher gets fresh memory rather than waiting
        // (re-entry from the callbacks is impossible: they never evaluate rules). A poisoned
        // lock holds memory as valid as any: stamps are only trusted for the current epoch.
        match self.scratch.try_lock() {
            Ok(mut s) => self.run_with(&mut s, event, state, matching, hits),
            Err(TryLockError::Poisoned(p)) => {
                self.run_with(&mut p.into_inner(), event, state, matching, hits);
            }
            Err(TryLockError::WouldBlock) => {
                let mut s = Scratch::new(&self.plan);
                self.run_with(&mut s, event, state, matching, hits);
            }
        }
    }

    fn run_with(
        &self,
        s: &mut Scratch,
        event: &Event<'_>,
        state: &State,
        matching: RuleMatching,
        hits: &mut Vec<u32>,
    ) {
        if s.epoch >= EPOCH_MAX {
            s.memo.fill(0);
            s.ints.fill(IntMemo::default());
            s.pos.fill((0, 0));
            s.epoch = 0;
        }
        // Every call is a new epoch, evaluated or not, so that no stamp outlives its event.
        s.epoch += 1;
        let epoch = s.epoch;
        let Some(group) = self.plan.group(event.event_type()) else {
            return;
        };
        let Some(f) = self.code.groups.get(group as usize).copied() else {
            return;
        };
        let mut ctx = Ctx {
            plan: &self.plan,
            fields: CachedFields {
                accessors: &self.accessors,
                event,
                state,
                vals: abi::recycle(std::mem::take(&mut s.spare)),
                pos: &mut s.pos,
                epoch,
            },
        };
        let mut frame = Frame {
            ctx: (&raw mut ctx).cast::<c_void>(),
            memo: s.memo.as_mut_ptr(),
            ints: s.ints.as_mut_ptr(),
            epoch,
        };
        let all = u32::from(matching == RuleMatching::All);
        // SAFETY: `f` is a group function of this module (alive with `self.code`); `frame`
        // points to live memo arrays of the sizes the plan gave the code generator, its `ctx`
        // to `ctx` above, and `out` holds the group's candidate count at least.
        let n = unsafe { f(&raw mut frame, all, s.out.as_mut_ptr()) };
        hits.extend(s.out.iter().take(n as usize).copied());
        s.spare = abi::recycle(ctx.fields.vals);
    }
}

impl Matcher for Jit {
    fn matches(
        &self,
        event: &Event<'_>,
        state: &State,
        matching: RuleMatching,
        out: &mut Vec<u32>,
    ) {
        self.run(event, state, matching, out);
    }

    fn name(&self) -> &'static str {
        "jit"
    }
}
