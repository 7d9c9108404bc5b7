//! The interpreter: a condition evaluated against the values a [`Fields`] source extracts.

use std::borrow::Cow;

use lanner_schema::{Modifier, Operator, Transformer};
use lanner_state::value::Value;

use crate::ir::{Arg, Check, Expr, FieldRef, Lit, Matching, Operand, Rhs, Transform};
use crate::ops::{Scalar, compare};
use crate::sets::Lookup;
use crate::transform::{b64_decode, basename, change_case, getopt, text_of};

/// Where field values come from: the state engine for live events, a table in tests.
pub trait Fields {
    /// The value of `field` for the current event, or `None` when the field does not apply
    /// (Falco's `<NA>`: no fd, no thread, no such argument), which makes every check on it
    /// false.
    ///
    /// Single-valued fields return a scalar [`Value`], list fields (`fd.types`, plugin list
    /// fields, ...) a [`Value::List`]. Fields whose [`FieldRef::matching`] is not
    /// [`Matching::Plain`] return a list the interpreter reads element by element:
    /// for [`Matching::AnyAncestor`] the values of the ancestors from the parent upward
    /// (those without the value left out), for [`Matching::Endpoints`] the values of the
    /// socket's endpoints (one for a server socket, client and server for a connection). An
    /// empty list there means "no value". For [`Matching::HostNames`] the names that
    /// resolved to the address (an empty list: the address has none).
    fn get(&mut self, field: &FieldRef) -> Option<Value<'_>>;
}

/// Evaluates `expr`: `and`/`or` stop at the first child that decides, `not` negates, a check
/// whose field has no value is false, an [`Expr::Unknown`] part is false.
pub fn eval<F: Fields + ?Sized>(expr: &Expr, fields: &mut F) -> bool {
    match expr {
        Expr::And(children) => children.iter().all(|c| eval(c, fields)),
        Expr::Or(children) => children.iter().any(|c| eval(c, fields)),
        Expr::Not(inner) => !eval(inner, fields),
        Expr::Check(check) => eval_check(check, fields),
        Expr::Unknown => false,
    }
}

/// The number of nodes of `expr` in preorder (itself included).
pub fn node_count(expr: &Expr) -> usize {
    match expr {
        Expr::And(children) | Expr::Or(children) => {
            1 + children.iter().map(node_count).sum::<usize>()
        }
        Expr::Not(inner) => 1 + node_count(inner),
        Expr::Check(_) | Expr::Unknown => 1,
    }
}

/// Evaluates like [`eval`] and tells `seen` the result of every node it evaluated, by the
/// node's preorder index (the root is 0). Nodes skipped by short-circuiting are not reported.
/// Rule tests use it for branch coverage; it is not meant for the hot path.
pub fn eval_traced<F: Fields + ?Sized>(
    expr: &Expr,
    fields: &mut F,
    seen: &mut dyn FnMut(usize, bool),
) -> bool {
    let mut next = 0;
    traced(expr, fields, seen, &mut next)
}

fn traced<F: Fields + ?Sized>(
    expr: &Expr,
    fields: &mut F,
    seen: &mut dyn FnMut(usize, bool),
    next: &mut usize,
) -> bool {
    let id = *next;
    *next += 1;
    let result = match expr {
        Expr::And(children) | Expr::Or(children) => {
            let is_and = matches!(expr, Expr::And(_));
            let mut decided: Option<bool> = None;
            for c in children {
                if decided.is_some() {
                    // Keep the numbering of the skipped subtree.
                    *next += node_count(c);
                    continue;
                }
                let r = traced(c, fields, seen, next);
                if r != is_and {
                    decided = Some(r);
                }
            }
            decided.unwrap_or(is_and)
        }
        Expr::Not(inner) => !traced(inner, fields, seen, next),
        Expr::Check(check) => eval_check(check, fields),
        Expr::Unknown => false,
    };
    seen(id, result);
    result
}

/// The elements of a value read one by one: a list's items, or the value itself.
fn elements<'v, 'a>(value: &'v Value<'a>) -> &'v [Value<'a>] {
    match value {
        Value::List(items) => items,
        single => std::slice::from_ref(single),
    }
}

/// One check against `fields`: the semantics every backend shares (the JIT calls it for the checks
/// it does not compile inline).
pub fn eval_check<F: Fields + ?Sized>(check: &Check, fields: &mut F) -> bool {
    // The right-hand field is extracted first and kept, because the left one borrows the
    // source. Field-to-field comparisons are rare, so the copy is not on the hot path.
    let rhs_value: Option<Value<'static>> = match &check.rhs {
        Rhs::Operand(o) => match eval_operand(o, fields) {
            Some(v) => Some(v.into_owned()),
            None => return false,
        },
        _ => None,
    };
    let rhs = RhsView {
        rhs: &check.rhs,
        value: rhs_value.as_ref(),
    };
    let Some(lhs) = eval_operand(&check.lhs, fields) else {
        return false;
    };
    match check.lhs.matching() {
        Matching::Plain => test(check, &lhs, &rhs),
        Matching::AnyAncestor => elements(&lhs).iter().any(|v| test(check, v, &rhs)),
        Matching::Endpoints => {
            let endpoints = elements(&lhs);
            if check.op == Operator::Ne {
                !endpoints.is_empty() && endpoints.iter().all(|v| test(check, v, &rhs))
            } else {
                endpoints.iter().any(|v| test(check, v, &rhs))
            }
        }
        Matching::HostNames => {
            let names = elements(&lhs);
            match check.op {
                Operator::Ne => names.iter().all(|v| test(check, v, &rhs)),
                Operator::Exists => !names.is_empty(),
                _ => names.iter().any(|v| test(check, v, &rhs)),
            }
        }
    }
}

/// The right-hand side with the value of its field, if it names one.
struct RhsView<'r> {
    rhs: &'r Rhs,
    value: Option<&'r Value<'static>>,
}

impl<'r> RhsView<'r> {
    /// The operands: the constant, the constants of the list (as written, duplicates
    /// included), or the elements of the right-hand field's value.
    fn operands(&self) -> Operands<'r> {
        match (self.rhs, self.value) {
            (_, Some(v)) => Operands::Values(elements(v).iter()),
            (Rhs::Value(lit), None) => Operands::Lits(std::slice::from_ref(lit).iter()),
            (Rhs::List(lits), None) => Operands::Lits(lits.iter()),
            (Rhs::None | Rhs::Operand(_), None) => Operands::Lits([].iter()),
        }
    }
}

/// An iterator over right-hand operands, whichever side they come from, without allocating.
enum Operands<'r> {
    Lits(std::slice::Iter<'r, Lit>),
    Values(std::slice::Iter<'r, Value<'static>>),
}

impl<'r> Iterator for Operands<'r> {
    type Item = Scalar<'r>;

    fn next(&mut self) -> Option<Scalar<'r>> {
        match self {
            Operands::Lits(it) => it.next().map(Scalar::of_lit),
            // A nested list has no scalar view; it is skipped (the checker never produces one).
            Operands::Values(it) => it.by_ref().find_map(Scalar::of_value),
        }
    }
}

/// `value op rhs` for one value of the left operand (one ancestor, one endpoint, or the whole
/// value for plain fields).
fn test(check: &Check, value: &Value<'_>, rhs: &RhsView<'_>) -> bool {
    let op = check.op;
    if let Value::List(items) = value {
        // A list value only meets `exists`, `in` and `intersects`; zero elements is no value.
        if items.is_empty() {
            return false;
        }
        let in_set = |v: &Value<'_>| Scalar::of_value(v).is_some_and(|s| member(check, s, rhs));
        return match op {
            Operator::Exists => true,
            Operator::In => items.iter().all(in_set),
            Operator::Intersects => items.iter().any(in_set),
            _ => false,
        };
    }
    let Some(v) = Scalar::of_value(value) else {
        return false;
    };
    match (op, check.modifier) {
        (Operator::Exists, _) => true,
        // The set operators hold if the value matches some operand (`pmatch`: some path).
        (Operator::In | Operator::Intersects, _) => member(check, v, rhs),
        (Operator::PMatch, _) => rhs.operands().any(|o| compare(op, v, o)),
        (_, Some(modifier)) => {
            let (mut total, mut hits) = (0usize, 0usize);
            for o in rhs.operands() {
                total += 1;
                hits += usize::from(compare(op, v, o));
            }
            match modifier {
                Modifier::OneOf => hits == 1,
                Modifier::AnyOf => hits >= 1,
                Modifier::AllOf => total > 0 && hits == total,
            }
        }
        // INVARIANT: without a modifier the other operators have one operand (a constant or
        // a single-valued field); should a list reach here, the first element decides, which
        // is what Falco's single-value comparison reads.
        (_, None) => rhs.operands().next().is_some_and(|o| compare(op, v, o)),
    }
}

/// Whether `v` equals some right-hand operand (`in`, `intersects`): through the check's set
/// when it has one, else one operand at a time.
fn member(check: &Check, v: Scalar<'_>, rhs: &RhsView<'_>) -> bool {
    if let Some(set) = &check.set {
        match set.lookup(v) {
            Lookup::Hit => return true,
            Lookup::Miss => return false,
            Lookup::Loop => {}
        }
    }
    rhs.operands().any(|o| compare(Operator::In, v, o))
}

/// Extracts an operand: a field from the source, or a transformer applied to its arguments.
fn eval_operand<'f, F: Fields + ?Sized>(operand: &Operand, fields: &'f mut F) -> Option<Value<'f>> {
    match operand {
        Operand::Field(f) => fields.get(f),
        Operand::Transform(t) => eval_transform(t, operand.matching(), fields),
    }
}

fn eval_transform<'f, F: Fields + ?Sized>(
    t: &Transform,
    matching: Matching,
    fields: &'f mut F,
) -> Option<Value<'f>> {
    match t.kind {
        Transformer::Join => join(t, fields).map(|s| Value::Str(Cow::Owned(s))),
        Transformer::Concat => concat(t, fields).map(|s| Value::Str(Cow::Owned(s))),
        Transformer::Getopt => {
            let [argv, optstring] = t.args.as_slice() else {
                return None;
            };
            let argv = texts(argv, fields)?;
            let optstring = texts(optstring, fields)?;
            getopt(&argv, optstring.first()?, t.option)
        }
        _ => {
            let [Arg::Operand(inner)] = t.args.as_slice() else {
                return None;
            };
            let value = eval_operand(inner, fields);
            // Element-wise: an ancestor or endpoint list is transformed value by value, so
            // that `len(proc.aname)` would be the length of each name, not the number of
            // ancestors. (The schema marks those fields NO_TRANSFORMER today, so the checker
            // rejects such conditions; the rule is stated so the tree has one meaning.)
            let each = matching != Matching::Plain;
            unary(t.kind, value, each)
        }
    }
}

/// A one-argument transformer applied to a value (`None`: no value).
fn unary<'a>(kind: Transformer, value: Option<Value<'a>>, each: bool) -> Option<Value<'a>> {
    match (kind, value) {
        // `len` of a missing value is 0 (language.md §5).
        (Transformer::Len, None) => Some(Value::UInt(0)),
        (_, None) => None,
        (Transformer::Len, Some(Value::List(items))) if !each => {
            Some(Value::UInt(items.len() as u64))
        }
        (_, Some(Value::List(items))) => {
            let out: Option<Vec<Value<'a>>> = items
                .into_iter()
                .map(|item| unary_scalar(kind, item))
                .collect();
            out.map(Value::List)
        }
        (_, Some(v)) => unary_scalar(kind, v),
    }
}

/// A one-argument transformer applied to one text, buffer or number.
fn unary_scalar(kind: Transformer, value: Value<'_>) -> Option<Value<'_>> {
    let rebuild = |bytes: Vec<u8>, like: &Value<'_>| match like {
        Value::Bytes(_) => Value::Bytes(Cow::Owned(bytes)),
        _ => Value::Str(Cow::Owned(bytes)),
    };
    let bytes: &[u8] = match &value {
        Value::Str(s) => crate::ops::c_str(s),
        Value::Bytes(b) => b,
        _ => {
            return if kind == Transformer::Val {
                Some(value)
            } else {
                None
            };
        }
    };
    Some(match kind {
        Transformer::ToLower => rebuild(change_case(bytes, false), &value),
        Transformer::ToUpper => rebuild(change_case(bytes, true), &value),
        Transformer::B64 => rebuild(b64_decode(bytes)?, &value),
        Transformer::Basename => rebuild(basename(bytes).to_vec(), &value),
        Transformer::Len => Value::UInt(bytes.len() as u64),
        Transformer::Val => return Some(value),
        Transformer::Join | Transformer::Concat | Transformer::Getopt => return None,
    })
}

/// The texts an argument stands for: a literal is one, a transformer list `( ... )` one per
/// item, a list-valued field one per element. Any item without a value fails the whole.
fn texts<F: Fields + ?Sized>(arg: &Arg, fields: &mut F) -> Option<Vec<Vec<u8>>> {
    match arg {
        Arg::Literal(bytes) => Some(vec![bytes.to_vec()]),
        Arg::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.extend(texts(item, fields)?);
            }
            Some(out)
        }
        Arg::Operand(o) => {
            let value = eval_operand(o, fields)?;
            elements(&value)
                .iter()
                .map(|v| text_of(v).map(Cow::into_owned))
                .collect()
        }
    }
}

/// `join(sep, list)`: the list's texts with `sep` between them.
fn join<F: Fields + ?Sized>(t: &Transform, fields: &mut F) -> Option<Vec<u8>> {
    let [sep, list] = t.args.as_slice() else {
        return None;
    };
    let sep = texts(sep, fields)?.into_iter().next()?;
    let items = texts(list, fields)?;
    Some(items.join(sep.as_slice()))
}

/// `concat(a, b, ...)`: the arguments' texts end to end.
fn concat<F: Fields + ?Sized>(t: &Transform, fields: &mut F) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for arg in &t.args {
        for text in texts(arg, fields)? {
            out.extend_from_slice(&text);
        }
    }
    Some(out)
}
