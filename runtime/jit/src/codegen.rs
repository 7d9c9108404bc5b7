//! Cranelift IR for a [`Plan`]: one function per memoised node, per rule and per dispatch group.
//!
//! - `node{m}(frame) -> i32`: evaluates memoised node `m` and stores `epoch << 1 | value` in
//!   its memo word. A use site first tests the word inline and calls only on a miss, so a
//!   shared node costs one function call per event at most, and code size stays linear in the
//!   DAG (not in the unfolded trees).
//! - `rule{r}(frame) -> i32`: the condition of rule `r`, short-circuit control flow.
//! - `group{g}(frame, all, out) -> i32`: the group's candidates in load order; writes the
//!   matching rules' indices to `out` and returns how many, stopping after the first unless
//!   `all` is nonzero (`rule_matching`).
//!
//! `and`/`or`/`not` are branches, never values: `emit(node, t, f)` emits code that jumps to `t`
//! when the node holds and to `f` otherwise, exactly the interpreter's evaluation order.

// Cranelift's `ModuleError` is large; it only travels on the compile path, never per event.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use cranelift_codegen::Context;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    AbiParam, Block, FuncRef, InstBuilder, MemFlagsData, Signature, UserFuncName, Value, types,
};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module};
use lanner_program::{Node, NodeId, Operator, Program};

use crate::JitError;
use crate::abi::{self, Frame, IntMemo};
use crate::plan::{IntCheck, IntLit, IntOp, Plan};

/// A compiled group: `(frame, all, out) -> matches`.
pub(crate) type GroupFn = unsafe extern "C" fn(*mut Frame, u32, *mut u32) -> u32;

type CheckFn = unsafe extern "C" fn(*mut Frame, u32) -> u32;
type IntFn = unsafe extern "C" fn(*mut Frame, u32, *mut IntMemo) -> u32;

/// The generated code, alive as long as the module.
pub(crate) struct Code {
    module: Option<JITModule>,
    pub groups: Vec<GroupFn>,
    pub functions: usize,
}

impl Drop for Code {
    fn drop(&mut self) {
        if let Some(m) = self.module.take() {
            // SAFETY: the function pointers into the module (`groups`) are dropped with
            // `self` and were only ever called through `&self`, so none is in use.
            unsafe { m.free_memory() };
        }
    }
}

#[allow(clippy::result_large_err)]
fn cg<E: std::fmt::Display>(e: E) -> JitError {
    JitError::Codegen(e.to_string())
}

/// The host's ISA with the flags the JIT uses.
fn isa() -> Result<cranelift_codegen::isa::OwnedTargetIsa, JitError> {
    let mut flags = settings::builder();
    flags.set("use_colocated_libcalls", "false").map_err(cg)?;
    flags.set("is_pic", "false").map_err(cg)?;
    flags.set("opt_level", "speed").map_err(cg)?;
    let builder = cranelift_native::builder().map_err(|e| JitError::Host(e.to_owned()))?;
    builder.finish(settings::Flags::new(flags)).map_err(cg)
}

/// Whether this host can run generated code.
pub(crate) fn host_supported() -> Result<(), JitError> {
    isa().map(|_| ())
}

struct Ids {
    check: FuncId,
    int: FuncId,
    nodes: Vec<FuncId>,
    rules: Vec<FuncId>,
}

pub(crate) fn compile(program: &Program, plan: &Plan) -> Result<Code, JitError> {
    let mut jb = JITBuilder::with_isa(isa()?, cranelift_module::default_libcall_names());
    let check_fn: CheckFn = abi::lanner_jit_check;
    let int_fn: IntFn = abi::lanner_jit_int;
    jb.symbol("lanner_jit_check", check_fn as *const u8);
    jb.symbol("lanner_jit_int", int_fn as *const u8);
    let mut module = JITModule::new(jb);
    let ptr = module.target_config().pointer_type();

    // Every function returns an `i32`; the parameters are the C ABIs in `abi`.
    let signature = |params: &[types::Type]| {
        let mut sig = module.make_signature();
        sig.params.extend(params.iter().map(|&t| AbiParam::new(t)));
        sig.returns.push(AbiParam::new(types::I32));
        sig
    };
    let sig_check = signature(&[ptr, types::I32]);
    let sig_int = signature(&[ptr, types::I32, ptr]);
    let sig_bool = signature(&[ptr]);
    let sig_group = signature(&[ptr, types::I32, ptr]);

    let ids = Ids {
        check: module
            .declare_function("lanner_jit_check", Linkage::Import, &sig_check)
            .map_err(cg)?,
        int: module
            .declare_function("lanner_jit_int", Linkage::Import, &sig_int)
            .map_err(cg)?,
        nodes: declare_local(&mut module, "node", plan.memo_nodes.len(), &sig_bool)?,
        rules: declare_local(&mut module, "rule", plan.roots.len(), &sig_bool)?,
    };
    let groups = declare_local(&mut module, "group", plan.groups.len(), &sig_group)?;

    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let shared = Shared {
        program,
        plan,
        ids: &ids,
    };
    // The ids were declared from these same lists, so the zips pair every one.
    let memos = (ids.nodes.iter().zip(&plan.memo_nodes).enumerate())
        .map(|(m, (id, node))| (*id, &sig_bool, Kind::Memo(*node, m)));
    let rules =
        (ids.rules.iter().zip(&plan.roots)).map(|(id, root)| (*id, &sig_bool, Kind::Rule(*root)));
    let dispatch = (groups.iter().enumerate()).map(|(g, id)| (*id, &sig_group, Kind::Group(g)));
    for (id, sig, kind) in memos.chain(rules).chain(dispatch) {
        define(&mut module, &mut ctx, &mut fctx, id, sig, &shared, kind)?;
    }
    module.finalize_definitions().map_err(cg)?;
    let groups = groups
        .iter()
        .map(|id| {
            let code = module.get_finalized_function(*id);
            // SAFETY: `group{g}` was defined with `sig_group`, which is `GroupFn`'s C ABI.
            unsafe { std::mem::transmute::<*const u8, GroupFn>(code) }
        })
        .collect();
    let functions = ids.nodes.len() + ids.rules.len() + plan.groups.len();
    Ok(Code {
        module: Some(module),
        groups,
        functions,
    })
}

/// Declares the local functions `{prefix}0`..`{prefix}{n-1}` with `sig`.
fn declare_local(
    module: &mut JITModule,
    prefix: &str,
    n: usize,
    sig: &Signature,
) -> Result<Vec<FuncId>, JitError> {
    (0..n)
        .map(|i| module.declare_function(&format!("{prefix}{i}"), Linkage::Local, sig))
        .collect::<Result<_, _>>()
        .map_err(cg)
}

/// What every function's emitter reads.
struct Shared<'p> {
    program: &'p Program,
    plan: &'p Plan,
    ids: &'p Ids,
}

/// Which function is being defined.
#[derive(Clone, Copy)]
enum Kind {
    /// Memoised node `NodeId`, memo slot `usize`.
    Memo(NodeId, usize),
    /// A rule's condition, from its root.
    Rule(NodeId),
    /// Dispatch group `usize`.
    Group(usize),
}

/// Defines function `id` with `sig`.
fn define(
    module: &mut JITModule,
    ctx: &mut Context,
    fctx: &mut FunctionBuilderContext,
    id: FuncId,
    sig: &Signature,
    shared: &Shared<'_>,
    kind: Kind,
) -> Result<(), JitError> {
    ctx.func.signature = sig.clone();
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let frame = params
            .first()
            .copied()
            .ok_or_else(|| cg("no frame parameter"))?;
        let config = module.target_config();
        let ptr = config.pointer_type();
        let flags = MemFlagsData::trusted();
        let memo = b.ins().load(ptr, flags, frame, abi::FRAME_MEMO);
        let ints = b.ins().load(ptr, flags, frame, abi::FRAME_INTS);
        let epoch = b.ins().load(types::I32, flags, frame, abi::FRAME_EPOCH);
        let epoch2 = b.ins().ishl_imm_u(epoch, 1);
        let mut env = Env {
            module: &mut *module,
            s: shared,
            ptr,
            frame,
            params,
            memo,
            ints,
            epoch,
            epoch2,
            refs: Refs::new(),
        };
        match kind {
            Kind::Memo(node, m) => env.memo_body(&mut b, node, m)?,
            Kind::Rule(root) => env.rule_body(&mut b, root)?,
            Kind::Group(g) => env.group_body(&mut b, g)?,
        }
        b.seal_all_blocks();
        b.finalize(config);
    }
    module.define_function(id, ctx).map_err(cg)?;
    module.clear_context(ctx);
    Ok(())
}

/// A function the one being built may call.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Callee {
    Check,
    Int,
    Node(usize),
    Rule(usize),
}

/// Function references imported into the function being built, made on first use.
type Refs = HashMap<Callee, FuncRef>;

struct Env<'m, 's> {
    module: &'m mut JITModule,
    s: &'s Shared<'s>,
    ptr: types::Type,
    frame: Value,
    params: Vec<Value>,
    memo: Value,
    ints: Value,
    epoch: Value,
    epoch2: Value,
    refs: Refs,
}

impl Env<'_, '_> {
    /// The reference to `callee` inside the function being built, imported on first use.
    fn func_ref(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        callee: Callee,
    ) -> Result<FuncRef, JitError> {
        if let Some(r) = self.refs.get(&callee) {
            return Ok(*r);
        }
        let ids = &self.s.ids;
        let id = match callee {
            Callee::Check => Some(ids.check),
            Callee::Int => Some(ids.int),
            Callee::Node(m) => ids.nodes.get(m).copied(),
            Callee::Rule(r) => ids.rules.get(r).copied(),
        }
        .ok_or_else(|| cg("function id"))?;
        let r = self.module.declare_func_in_func(id, b.func);
        self.refs.insert(callee, r);
        Ok(r)
    }

    fn ret(b: &mut FunctionBuilder<'_>, v: i64) {
        let v = b.ins().iconst(types::I32, v);
        b.ins().return_(&[v]);
    }

    /// `node{m}`: evaluate, store the memo word, return the value.
    fn memo_body(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        node: NodeId,
        m: usize,
    ) -> Result<(), JitError> {
        let (t, f) = (b.create_block(), b.create_block());
        self.gen_inner(b, node, t, f)?;
        let offset = memo_offset(m)?;
        for (block, bit) in [(t, 1), (f, 0)] {
            b.switch_to_block(block);
            let word = b.ins().bor_imm_u(self.epoch2, bit);
            let addr = b.ins().iadd_imm_s(self.memo, offset);
            b.ins().store(MemFlagsData::trusted(), word, addr, 0);
            Self::ret(b, bit);
        }
        Ok(())
    }

    /// `rule{r}`: the condition's value.
    fn rule_body(&mut self, b: &mut FunctionBuilder<'_>, root: NodeId) -> Result<(), JitError> {
        let (t, f) = (b.create_block(), b.create_block());
        self.emit(b, root, t, f)?;
        b.switch_to_block(t);
        Self::ret(b, 1);
        b.switch_to_block(f);
        Self::ret(b, 0);
        Ok(())
    }

    /// `group{g}`: the candidates in load order, matches written to `out`.
    fn group_body(&mut self, b: &mut FunctionBuilder<'_>, g: usize) -> Result<(), JitError> {
        let all = self
            .params
            .get(1)
            .copied()
            .ok_or_else(|| cg("no `all` parameter"))?;
        let out = self
            .params
            .get(2)
            .copied()
            .ok_or_else(|| cg("no `out` parameter"))?;
        let members = self.s.plan.groups.get(g).ok_or_else(|| cg("group"))?;
        let n = b.declare_var(types::I32);
        let zero = b.ins().iconst(types::I32, 0);
        b.def_var(n, zero);
        let done = b.create_block();
        for &r in members {
            let fref = self.func_ref(b, Callee::Rule(r as usize))?;
            let call = b.ins().call(fref, &[self.frame]);
            let res = b
                .inst_results(call)
                .first()
                .copied()
                .ok_or_else(|| cg("call"))?;
            let (hit, next) = (b.create_block(), b.create_block());
            b.ins().brif(res, hit, &[], next, &[]);
            b.switch_to_block(hit);
            let k = b.use_var(n);
            let k64 = b.ins().uextend(self.ptr, k);
            let byte = b.ins().imul_imm_u(k64, 4);
            let addr = b.ins().iadd(out, byte);
            let rule = b.ins().iconst(types::I32, i64::from(r));
            b.ins().store(MemFlagsData::trusted(), rule, addr, 0);
            let k1 = b.ins().iadd_imm_s(k, 1);
            b.def_var(n, k1);
            b.ins().brif(all, next, &[], done, &[]);
            b.switch_to_block(next);
        }
        b.ins().jump(done, &[]);
        b.switch_to_block(done);
        let k = b.use_var(n);
        b.ins().return_(&[k]);
        Ok(())
    }

    /// Jumps to `t` if node `id` holds, to `f` otherwise; through its memo if it has one.
    fn emit(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        id: NodeId,
        t: Block,
        f: Block,
    ) -> Result<(), JitError> {
        let Some(m) = self.s.plan.memo.get(id.index()).copied().flatten() else {
            return self.gen_inner(b, id, t, f);
        };
        let m = m as usize;
        let offset = memo_offset(m)?;
        let addr = b.ins().iadd_imm_s(self.memo, offset);
        let word = b.ins().load(types::I32, MemFlagsData::trusted(), addr, 0);
        // `word ^ epoch << 1` is the value (0 or 1) when the node was evaluated this event.
        let x = b.ins().bxor(word, self.epoch2);
        let known = b.ins().icmp_imm_s(IntCC::UnsignedLessThan, x, 2);
        let (hit, miss) = (b.create_block(), b.create_block());
        b.ins().brif(known, hit, &[], miss, &[]);
        b.switch_to_block(hit);
        b.ins().brif(x, t, &[], f, &[]);
        b.switch_to_block(miss);
        let fref = self.func_ref(b, Callee::Node(m))?;
        let call = b.ins().call(fref, &[self.frame]);
        let res = b
            .inst_results(call)
            .first()
            .copied()
            .ok_or_else(|| cg("call"))?;
        b.ins().brif(res, t, &[], f, &[]);
        Ok(())
    }

    /// As [`Env::gen`], without the node's own memo.
    fn gen_inner(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        id: NodeId,
        t: Block,
        f: Block,
    ) -> Result<(), JitError> {
        let program = self.s.program;
        match program.node(id) {
            Some(Node::And(children)) => self.chain(b, children, true, t, f),
            Some(Node::Or(children)) => self.chain(b, children, false, t, f),
            Some(Node::Not(c)) => self.emit(b, *c, f, t),
            Some(Node::Check(_)) => {
                let c = self
                    .s
                    .plan
                    .check_of
                    .get(id.index())
                    .copied()
                    .flatten()
                    .ok_or_else(|| cg(format!("check node {} has no check", id.0)))?;
                match self.s.plan.inline.get(c as usize).and_then(Option::as_ref) {
                    Some(ic) => self.int_check(b, c, ic, t, f),
                    None => self.call_check(b, c, t, f),
                }
            }
            Some(Node::Unknown) | None => {
                b.ins().jump(f, &[]);
                Ok(())
            }
        }
    }

    /// `and` (stop at the first false child) or `or` (stop at the first true one).
    fn chain(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        children: &[NodeId],
        is_and: bool,
        t: Block,
        f: Block,
    ) -> Result<(), JitError> {
        let Some((last, init)) = children.split_last() else {
            // An empty `and` holds, an empty `or` does not (verify() rules both out).
            b.ins().jump(if is_and { t } else { f }, &[]);
            return Ok(());
        };
        for c in init {
            let next = b.create_block();
            if is_and {
                self.emit(b, *c, next, f)?;
            } else {
                self.emit(b, *c, t, next)?;
            }
            b.switch_to_block(next);
        }
        self.emit(b, *last, t, f)
    }

    /// The shared check semantics, through the callback.
    fn call_check(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        c: u32,
        t: Block,
        f: Block,
    ) -> Result<(), JitError> {
        let fref = self.func_ref(b, Callee::Check)?;
        let id = b.ins().iconst(types::I32, i64::from(c));
        let call = b.ins().call(fref, &[self.frame, id]);
        match b.inst_results(call).first().copied() {
            Some(res) => b.ins().brif(res, t, &[], f, &[]),
            None => b.ins().jump(f, &[]),
        };
        Ok(())
    }

    /// An integer check: the field's value from the memo (loaded on first use this event),
    /// compared inline; a value that is not an integer takes the callback.
    fn int_check(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        c: u32,
        ic: &IntCheck,
        t: Block,
        f: Block,
    ) -> Result<(), JitError> {
        let slot = self
            .s
            .plan
            .int_slots
            .get(ic.int_index as usize)
            .copied()
            .ok_or_else(|| cg("integer slot"))?;
        let offset = i64::from(ic.int_index)
            .checked_mul(abi::INT_MEMO_SIZE)
            .ok_or_else(|| cg("integer memo offset"))?;
        let base = b.ins().iadd_imm_s(self.ints, offset);
        let flags = MemFlagsData::trusted();
        let stamp = b.ins().load(types::I32, flags, base, abi::INT_EPOCH);
        let fresh = b.ins().icmp(IntCC::Equal, stamp, self.epoch);
        let (have, miss) = (b.create_block(), b.create_block());
        b.ins().brif(fresh, have, &[], miss, &[]);
        b.switch_to_block(miss);
        let fref = self.func_ref(b, Callee::Int)?;
        let slot = b.ins().iconst(types::I32, i64::from(slot));
        b.ins().call(fref, &[self.frame, slot, base]);
        b.ins().jump(have, &[]);
        b.switch_to_block(have);
        let status = b.ins().load(types::I32, flags, base, abi::INT_STATUS);
        let v = b.ins().load(types::I64, flags, base, abi::INT_VALUE);
        let (small, big) = (b.create_block(), b.create_block());
        // No value: every check is false, `!=` included. Any other status takes the callback.
        let dispatch = [
            (abi::INT_SMALL, small),
            (abi::INT_BIG, big),
            (abi::INT_NONE, f),
        ];
        for (code, target) in dispatch {
            let next = b.create_block();
            let is = b.ins().icmp_imm_s(IntCC::Equal, status, i64::from(code));
            b.ins().brif(is, target, &[], next, &[]);
            b.switch_to_block(next);
        }
        self.call_check(b, c, t, f)?;
        b.switch_to_block(small);
        emit_compare(b, ic, v, false, t, f);
        b.switch_to_block(big);
        emit_compare(b, ic, v, true, t, f);
        Ok(())
    }
}

fn memo_offset(m: usize) -> Result<i64, JitError> {
    i64::try_from(m)
        .ok()
        .and_then(|m| m.checked_mul(4))
        .ok_or_else(|| cg("memo offset"))
}

/// The compares of `ic` for a value `v` that fits `i64` (`big` false) or is a `u64` above
/// `i64::MAX` (`big` true). An integer that fits `i64` is below every big one, which decides
/// the mixed cases at compile time.
fn emit_compare(
    b: &mut FunctionBuilder<'_>,
    ic: &IntCheck,
    v: Value,
    big: bool,
    t: Block,
    f: Block,
) {
    use std::cmp::Ordering;
    match ic.op {
        IntOp::Exists => {
            b.ins().jump(t, &[]);
        }
        IntOp::Cmp(op) => match (ic.lits.first().copied(), big) {
            (Some(IntLit::Small(l)), false) => {
                let r = b.ins().icmp_imm_s(int_cc(op, true), v, l);
                b.ins().brif(r, t, &[], f, &[]);
            }
            (Some(IntLit::Big(u)), true) => {
                let r =
                    b.ins()
                        .icmp_imm_s(int_cc(op, false), v, i64::from_ne_bytes(u.to_ne_bytes()));
                b.ins().brif(r, t, &[], f, &[]);
            }
            (Some(IntLit::Big(_)), false) => {
                let holds = outcome(op, Ordering::Less);
                b.ins().jump(if holds { t } else { f }, &[]);
            }
            (Some(IntLit::Small(_)), true) => {
                let holds = outcome(op, Ordering::Greater);
                b.ins().jump(if holds { t } else { f }, &[]);
            }
            (None, _) => {
                b.ins().jump(f, &[]);
            }
        },
        IntOp::Any => {
            for lit in &ic.lits {
                let imm = match (lit, big) {
                    (IntLit::Small(l), false) => *l,
                    (IntLit::Big(u), true) => i64::from_ne_bytes(u.to_ne_bytes()),
                    // Never equal: one fits `i64`, the other does not.
                    _ => continue,
                };
                let next = b.create_block();
                let r = b.ins().icmp_imm_s(IntCC::Equal, v, imm);
                b.ins().brif(r, t, &[], next, &[]);
                b.switch_to_block(next);
            }
            b.ins().jump(f, &[]);
        }
    }
}

/// Whether `a op b` holds when `a` compares to `b` as `ord`.
fn outcome(op: Operator, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Operator::Eq | Operator::EqEq => ord == Equal,
        Operator::Ne => ord != Equal,
        Operator::Lt => ord == Less,
        Operator::Le => ord != Greater,
        Operator::Gt => ord == Greater,
        Operator::Ge => ord != Less,
        _ => false,
    }
}

/// The integer condition code of `op`, per signedness: `(operator, signed, unsigned)`.
const INT_CC: [(Operator, IntCC, IntCC); 5] = [
    (Operator::Ne, IntCC::NotEqual, IntCC::NotEqual),
    (Operator::Lt, IntCC::SignedLessThan, IntCC::UnsignedLessThan),
    (
        Operator::Le,
        IntCC::SignedLessThanOrEqual,
        IntCC::UnsignedLessThanOrEqual,
    ),
    (
        Operator::Gt,
        IntCC::SignedGreaterThan,
        IntCC::UnsignedGreaterThan,
    ),
    (
        Operator::Ge,
        IntCC::SignedGreaterThanOrEqual,
        IntCC::UnsignedGreaterThanOrEqual,
    ),
];

/// `op`'s condition code, signed or unsigned; `=`/`==` (and any other) compare equal.
fn int_cc(op: Operator, signed: bool) -> IntCC {
    INT_CC
        .iter()
        .find(|(o, _, _)| *o == op)
        .map_or(IntCC::Equal, |&(_, s, u)| if signed { s } else { u })
}
