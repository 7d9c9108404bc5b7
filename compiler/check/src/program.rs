//! The typed program every backend consumes: all rules' conditions in one DAG in which equal
//! subexpressions are one node (hash-consing), so that a macro used by 50 rules is one node a
//! backend can evaluate once per event and cache.
//!
//! INVARIANT: children precede their parents in `nodes` (ids grow bottom-up), so a backend can
//! evaluate or lower nodes in index order.

use std::collections::HashMap;
use std::fmt::Write;

use lanner_schema::Operator;

use crate::typeck::{TCheck, TExpr, TOperand, TRhs, TTrArg};

/// Index of a node in [`Program::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

#[derive(Clone, Debug)]
pub enum Node {
    And(Vec<NodeId>),
    Or(Vec<NodeId>),
    Not(NodeId),
    Check(Box<TCheck>),
    /// A part that did not check; evaluates to false and is never shared.
    Unknown,
}

#[derive(Clone, Debug)]
pub struct ProgramRule {
    /// Index into the checked rules (`Resolved::rules`).
    pub rule: usize,
    pub root: NodeId,
}

#[derive(Clone, Debug, Default)]
pub struct Program {
    pub nodes: Vec<Node>,
    /// How many rules reach each node (a node shared by several rules counts once per rule).
    pub rule_uses: Vec<u32>,
    pub rules: Vec<ProgramRule>,
}

#[derive(Default)]
struct Interner {
    program: Program,
    by_key: HashMap<String, NodeId>,
}

/// A key equal for checks that compare alike: spans are ignored, `==` is `=`.
fn check_key(c: &TCheck) -> String {
    let mut k = String::new();
    operand_key(&c.lhs, &mut k);
    let op = if c.op == Operator::EqEq {
        Operator::Eq
    } else {
        c.op
    };
    let _ = write!(k, " {op}");
    if let Some(m) = c.modifier {
        let _ = write!(k, " {m}");
    }
    match &c.rhs {
        TRhs::None => {}
        TRhs::Value(v) => {
            let _ = write!(k, " {:?}", v.lit);
        }
        TRhs::List(items, _) => {
            k.push_str(" (");
            for v in items {
                let _ = write!(k, "{:?},", v.lit);
            }
            k.push(')');
        }
        TRhs::Operand(o) => {
            k.push_str(" val(");
            operand_key(o, &mut k);
            k.push(')');
        }
    }
    k
}

fn operand_key(o: &TOperand, k: &mut String) {
    match o {
        TOperand::Field(f) => {
            let _ = write!(k, "{}{:?}", f.name(), f.field.arg);
        }
        TOperand::Transformer(t) => {
            let _ = write!(k, "{:?}(", t.kind);
            for a in &t.args {
                arg_key(a, k);
                k.push(',');
            }
            let _ = write!(k, "){:?}", t.option);
        }
    }
}

fn arg_key(a: &TTrArg, k: &mut String) {
    match a {
        TTrArg::Operand(o) => operand_key(o, k),
        TTrArg::Literal(s) => {
            let _ = write!(k, "{s:?}");
        }
        TTrArg::List(items, _) => {
            k.push('(');
            for i in items {
                arg_key(i, k);
                k.push(',');
            }
            k.push(')');
        }
    }
}

impl Interner {
    fn push(&mut self, key: Option<String>, node: Node) -> NodeId {
        if let Some(k) = &key
            && let Some(&id) = self.by_key.get(k)
        {
            return id;
        }
        let id = NodeId(u32::try_from(self.program.nodes.len()).unwrap_or(u32::MAX));
        self.program.nodes.push(node);
        self.program.rule_uses.push(0);
        if let Some(k) = key {
            self.by_key.insert(k, id);
        }
        id
    }

    fn intern(&mut self, e: &TExpr) -> NodeId {
        match e {
            TExpr::And(children, _) | TExpr::Or(children, _) => {
                let ids: Vec<NodeId> = children.iter().map(|c| self.intern(c)).collect();
                let is_and = matches!(e, TExpr::And(..));
                let key = format!(
                    "{}{:?}",
                    if is_and { "and" } else { "or" },
                    ids.iter().map(|i| i.0).collect::<Vec<_>>()
                );
                let node = if is_and {
                    Node::And(ids)
                } else {
                    Node::Or(ids)
                };
                self.push(Some(key), node)
            }
            TExpr::Not(inner, _) => {
                let id = self.intern(inner);
                self.push(Some(format!("not{}", id.0)), Node::Not(id))
            }
            TExpr::Check(c) => self.push(Some(check_key(c)), Node::Check(c.clone())),
            TExpr::Unknown(_) => self.push(None, Node::Unknown),
        }
    }

    fn count_uses(&mut self, root: NodeId) {
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            if let Some(u) = self.program.rule_uses.get_mut(id.0 as usize) {
                *u += 1;
            }
            match self.program.nodes.get(id.0 as usize) {
                Some(Node::And(c) | Node::Or(c)) => stack.extend(c.iter().copied()),
                Some(Node::Not(c)) => stack.push(*c),
                _ => {}
            }
        }
    }
}

impl Program {
    /// Builds the shared DAG of the given typed conditions (`None` for rules that did not
    /// check, which get no root).
    pub fn build<'a>(conditions: impl IntoIterator<Item = Option<&'a TExpr>>) -> Program {
        let mut i = Interner::default();
        for (rule, cond) in conditions.into_iter().enumerate() {
            let Some(cond) = cond else { continue };
            let root = i.intern(cond);
            i.count_uses(root);
            i.program.rules.push(ProgramRule { rule, root });
        }
        i.program
    }

    /// The number of nodes the rules' trees would have without sharing.
    pub fn tree_size(&self) -> usize {
        fn size(p: &Program, id: NodeId) -> usize {
            match p.nodes.get(id.0 as usize) {
                Some(Node::And(c) | Node::Or(c)) => {
                    1 + c.iter().map(|&c| size(p, c)).sum::<usize>()
                }
                Some(Node::Not(c)) => 1 + size(p, *c),
                _ => 1,
            }
        }
        self.rules.iter().map(|r| size(self, r.root)).sum()
    }

    /// Nodes reached by more than one rule.
    pub fn shared(&self) -> impl Iterator<Item = (NodeId, u32)> + '_ {
        self.rule_uses
            .iter()
            .enumerate()
            .filter(|(_, u)| **u > 1)
            .map(|(i, &u)| (NodeId(u32::try_from(i).unwrap_or(u32::MAX)), u))
    }
}
