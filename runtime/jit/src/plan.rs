//! What the code generator emits, decided before any code is: which rules, which dispatch
//! groups, which nodes are memoised, which checks are compiled inline and which call back into
//! the interpreter's check semantics.

use std::collections::HashMap;

use lanner_engine::ir::{self, Expr, FieldRef, Matching};
use lanner_engine::program::Unfold;
use lanner_engine::ruleset::RuleSet;
use lanner_program::{Lit, Node, NodeId, Operator, Program};

use crate::JitError;

/// An integer constant as the inline compare sees it: one that fits `i64`, or a `u64` above
/// `i64::MAX` (the only integers that do not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntLit {
    Small(i64),
    Big(u64),
}

impl IntLit {
    fn of(lit: &Lit) -> Option<IntLit> {
        match lit {
            Lit::Int(v) => Some(IntLit::Small(*v)),
            Lit::UInt(v) => Some(match i64::try_from(*v) {
                Ok(s) => IntLit::Small(s),
                Err(_) => IntLit::Big(*v),
            }),
            _ => None,
        }
    }
}

/// The operator of an inline integer check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntOp {
    /// `=`, `!=`, `<`, `<=`, `>`, `>=` against one constant.
    Cmp(Operator),
    /// `in`/`intersects` over constants: equal to any.
    Any,
    Exists,
}

/// A check compiled to native compares: a plain field against integer constants. The field's
/// value is loaded once per event through the ABI's `lanner_jit_int`; a value that is not an
/// integer (the accessor returned another kind) falls back to the shared check semantics, so
/// the inline path only decides what the interpreter would decide the same way.
#[derive(Clone, Debug)]
pub(crate) struct IntCheck {
    /// Index into the per-event integer memo.
    pub int_index: u32,
    pub op: IntOp,
    pub lits: Vec<IntLit>,
}

/// The longest `in` list compiled to a chain of compares; longer ones call back, where the
/// set lookup is a loop in one place rather than code per element.
const MAX_INLINE_LIST: usize = 16;

pub(crate) struct Plan {
    /// By node index: the memo slot of a node evaluated at most once per event.
    pub memo: Vec<Option<u32>>,
    /// The memoised nodes by memo slot.
    pub memo_nodes: Vec<NodeId>,
    /// By node index: the check id of a check node.
    pub check_of: Vec<Option<u32>>,
    /// By check id: the check in the interpreter's form (for the callback).
    pub checks: Vec<ir::Check>,
    /// By check id: the inline form, when there is one.
    pub inline: Vec<Option<IntCheck>>,
    /// By integer memo index: the field slot.
    pub int_slots: Vec<u32>,
    /// The field table the checks' slots index.
    pub fields: Vec<FieldRef>,
    /// The compiled rules, by rule-set index: the root of the condition.
    pub roots: Vec<NodeId>,
    /// The dispatch groups: distinct candidate lists (rule-set indices, load order).
    pub groups: Vec<Vec<u32>>,
    /// By event code below `group_of_code.len()`: the group, if any rule is a candidate.
    pub group_of_code: Vec<Option<u32>>,
    /// The group of every code at or beyond `group_of_code.len()` (the unrestricted rules).
    pub beyond: Option<u32>,
}

impl Plan {
    pub fn new<'r>(program: &Program, ruleset: &'r RuleSet) -> Result<Plan, JitError> {
        let roots: Vec<NodeId> = program
            .rules
            .iter()
            .filter(|r| r.runs_on_syscalls())
            .filter_map(|r| r.condition)
            .collect();
        let names = program
            .rules
            .iter()
            .filter(|r| r.runs_on_syscalls() && r.condition.is_some())
            .map(|r| r.name.as_str());
        // INVARIANT: the rule set was built from this program, so its rules are the program's
        // syscall rules in order; rule indices are shared, checked here once.
        if roots.len() != ruleset.rules.len()
            || !names.eq(ruleset.rules.iter().map(|r| r.name.as_str()))
        {
            return Err(JitError::Mismatch(format!(
                "the program has {} syscall rules, the rule set {}",
                roots.len(),
                ruleset.rules.len()
            )));
        }
        let n = program.nodes.len();

        // How often each node is reached from the compiled roots, counted over the unfolded
        // trees: a node reached more than once is memoised (evaluated at most once per
        // event). Parents precede children in reverse index order, so one pass suffices.
        let mut occ = vec![0u64; n];
        for r in &roots {
            if let Some(o) = occ.get_mut(r.index()) {
                *o = o.saturating_add(1);
            }
        }
        for i in (0..n).rev() {
            let here = occ.get(i).copied().unwrap_or(0);
            if here == 0 {
                continue;
            }
            let children: &[NodeId] = match program.nodes.get(i) {
                Some(Node::And(c) | Node::Or(c)) => c,
                Some(Node::Not(c)) => std::slice::from_ref(c),
                _ => &[],
            };
            for c in children {
                if let Some(o) = occ.get_mut(c.index()) {
                    *o = o.saturating_add(here);
                }
            }
        }

        let mut unfold = Unfold::new(program);
        let mut check_of = vec![None; n];
        let mut checks = Vec::new();
        let mut inline = Vec::new();
        let mut int_index: HashMap<usize, u32> = HashMap::new();
        let mut int_slots = Vec::new();
        for (i, node) in program.nodes.iter().enumerate() {
            if occ.get(i).copied().unwrap_or(0) == 0 || !matches!(node, Node::Check(_)) {
                continue;
            }
            let id = NodeId(u32::try_from(i).map_err(|_| too_big())?);
            let Expr::Check(check) = unfold.expr(id) else {
                continue;
            };
            let int = int_check(&check).map(|(slot, op, lits)| {
                let next = u32::try_from(int_slots.len()).unwrap_or(u32::MAX);
                let k = *int_index.entry(slot).or_insert_with(|| {
                    int_slots.push(u32::try_from(slot).unwrap_or(u32::MAX));
                    next
                });
                IntCheck {
                    int_index: k,
                    op,
                    lits,
                }
            });
            if let Some(c) = check_of.get_mut(i) {
                *c = Some(u32::try_from(checks.len()).map_err(|_| too_big())?);
            }
            checks.push(*check);
            inline.push(int);
        }

        let mut memo = vec![None; n];
        let mut memo_nodes = Vec::new();
        for (i, node) in program.nodes.iter().enumerate() {
            let inline_check = check_of
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|c| inline.get(c as usize).is_some_and(Option::is_some));
            let worth = match node {
                // An inline integer check is a load and a compare: cheaper than its memo.
                Node::Check(_) => !inline_check,
                Node::Unknown => false,
                Node::And(_) | Node::Or(_) | Node::Not(_) => true,
            };
            if worth && occ.get(i).copied().unwrap_or(0) > 1 {
                if let Some(m) = memo.get_mut(i) {
                    *m = Some(u32::try_from(memo_nodes.len()).map_err(|_| too_big())?);
                }
                memo_nodes.push(NodeId(u32::try_from(i).map_err(|_| too_big())?));
            }
        }

        // Dispatch: the rule set's candidate lists, one group per distinct list.
        let mut groups: Vec<Vec<u32>> = Vec::new();
        let mut by_list: HashMap<&[u32], u32> = HashMap::new();
        let mut group_of_code = Vec::with_capacity(usize::from(program.event_code_count));
        let mut intern = |list: &'r [u32], groups: &mut Vec<Vec<u32>>| -> Option<u32> {
            if list.is_empty() {
                return None;
            }
            Some(*by_list.entry(list).or_insert_with(|| {
                groups.push(list.to_vec());
                u32::try_from(groups.len() - 1).unwrap_or(u32::MAX)
            }))
        };
        for code in 0..program.event_code_count {
            group_of_code.push(intern(ruleset.rules_for(code), &mut groups));
        }
        let beyond = intern(ruleset.rules_for(program.event_code_count), &mut groups);

        Ok(Plan {
            memo,
            memo_nodes,
            check_of,
            checks,
            inline,
            int_slots,
            fields: unfold.into_fields(),
            roots,
            groups,
            group_of_code,
            beyond,
        })
    }

    /// The most candidates any group has: the size of the output buffer.
    pub fn max_candidates(&self) -> usize {
        self.groups.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// The group an event code dispatches to.
    pub fn group(&self, code: u16) -> Option<u32> {
        match self.group_of_code.get(usize::from(code)) {
            Some(g) => *g,
            None => self.beyond,
        }
    }
}

fn too_big() -> JitError {
    JitError::Codegen("the program has more than 2^32 nodes".to_owned())
}

/// The inline form of a check, if it has one: a plain field (no transformer, no ancestor or
/// endpoint matching, no modifier) against integer constants.
fn int_check(c: &ir::Check) -> Option<(usize, IntOp, Vec<IntLit>)> {
    let ir::Operand::Field(f) = &c.lhs else {
        return None;
    };
    if f.matching != Matching::Plain || c.modifier.is_some() {
        return None;
    }
    let (op, lits) = match (c.op, &c.rhs) {
        (Operator::Exists, ir::Rhs::None) => (IntOp::Exists, Vec::new()),
        (
            op @ (Operator::Eq
            | Operator::Ne
            | Operator::Lt
            | Operator::Le
            | Operator::Gt
            | Operator::Ge),
            ir::Rhs::Value(lit),
        ) => (IntOp::Cmp(op), vec![IntLit::of(lit)?]),
        (Operator::In | Operator::Intersects, ir::Rhs::List(items))
            if !items.is_empty() && items.len() <= MAX_INLINE_LIST =>
        {
            let lits: Option<Vec<IntLit>> = items.iter().map(IntLit::of).collect();
            (IntOp::Any, lits?)
        }
        _ => return None,
    };
    // `exists` on a field that is not an integer is still decided inline when the value is
    // an integer, and falls back otherwise; only integer-typed fields are worth the code.
    if op == IntOp::Exists && !is_integer(f.ty) {
        return None;
    }
    Some((f.slot, op, lits))
}

fn is_integer(ty: lanner_program::ValueType) -> bool {
    !ty.is_list
        && ty.ty.category() == lanner_schema::TypeCategory::Numeric
        && ty.ty != lanner_schema::FieldType::Double
}
