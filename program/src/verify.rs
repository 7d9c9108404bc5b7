//! The invariants of a [`Program`], checked: what every backend may rely on without checking
//! again. A violation is a bug of the producer (or a corrupted file), never a user error.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use lanner_schema::{
    ArgForm, FieldArg, FieldType, Operator, ResolvedField, TransformerArg, TypeCategory, ValueType,
    operator_allowed_with,
};

use crate::{Arg, Check, Field, FieldKey, Lit, Node, NodeId, Operand, OutputPart, Program, Rhs};

/// A broken invariant, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the program refers to schema {found:#018x}, not this build's {expected:#018x}")]
    SchemaHash { found: u64, expected: u64 },
    #[error("node {node}: child {child} does not precede it")]
    ChildOrder { node: usize, child: u32 },
    #[error("node {node}: `and`/`or` with {count} children (at least two)")]
    Arity { node: usize, count: usize },
    #[error("node {node} equals node {first}: equal nodes must be shared")]
    NotShared { node: usize, first: usize },
    #[error("node {node}: {problem}")]
    Check { node: usize, problem: String },
    #[error("rule {rule}: {problem}")]
    Rule { rule: usize, problem: String },
}

/// A fast, non-keyed hasher for the shared-node check: each word is mixed in with a rotate, an
/// xor and a multiply by an odd constant (the scheme of rustc's FxHash). SipHash made that
/// check most of `verify` (0.107 of 0.13 ms on the upstream rules; 0.013 ms with this). It is
/// not flood-resistant, which is acceptable: a bundle's program is decoded only after its
/// signer is checked, and the compiler's own programs are not adversarial.
#[derive(Default)]
pub(crate) struct WordHasher(u64);

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let mut w = [0u8; 8];
        let rest = chunks.remainder();
        if let Some(head) = w.get_mut(..rest.len()) {
            head.copy_from_slice(rest);
        }
        // The length, so that trailing zero bytes still change the hash.
        self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) fn verify(p: &Program) -> Result<(), VerifyError> {
    if p.schema_hash != lanner_schema::SCHEMA_HASH {
        return Err(VerifyError::SchemaHash {
            found: p.schema_hash,
            expected: lanner_schema::SCHEMA_HASH,
        });
    }
    // A `Pattern` hashes and compares by its source only; the compiled regex's internal
    // cache never takes part in `Hash`/`Eq`, so the key cannot change while in the map.
    #[allow(clippy::mutable_key_type)]
    let mut seen: HashMap<&Node, usize, BuildHasherDefault<WordHasher>> =
        HashMap::with_capacity_and_hasher(p.nodes.len(), BuildHasherDefault::default());
    for (i, node) in p.nodes.iter().enumerate() {
        let before = |c: &NodeId| -> Result<(), VerifyError> {
            if c.index() < i {
                Ok(())
            } else {
                Err(VerifyError::ChildOrder {
                    node: i,
                    child: c.0,
                })
            }
        };
        match node {
            Node::And(c) | Node::Or(c) => {
                if c.len() < 2 {
                    return Err(VerifyError::Arity {
                        node: i,
                        count: c.len(),
                    });
                }
                c.iter().try_for_each(before)?;
            }
            Node::Not(c) => before(c)?,
            Node::Check(check) => {
                verify_check(p, check)
                    .map_err(|problem| VerifyError::Check { node: i, problem })?;
            }
            Node::Unknown => continue,
        }
        if let Some(first) = seen.insert(node, i) {
            return Err(VerifyError::NotShared { node: i, first });
        }
    }
    for (r, rule) in p.rules.iter().enumerate() {
        let fail = |problem: String| VerifyError::Rule { rule: r, problem };
        if let Some(root) = rule.condition
            && root.index() >= p.nodes.len()
        {
            return Err(fail(format!("condition {} is not a node", root.0)));
        }
        if rule.event_codes.windows(2).any(|w| w.first() >= w.get(1)) {
            return Err(fail("event codes are not ascending and distinct".into()));
        }
        let all = rule.event_codes.len() == usize::from(p.event_code_count);
        if rule.any_event != all {
            return Err(fail(format!(
                "`any_event` is {} with {} of {} event codes",
                rule.any_event,
                rule.event_codes.len(),
                p.event_code_count
            )));
        }
        for part in &rule.output {
            if let OutputPart::Field { field, .. } = part {
                verify_field(p, field).map_err(fail)?;
            }
        }
    }
    Ok(())
}

fn verify_check(p: &Program, c: &Check) -> Result<(), String> {
    verify_operand(p, &c.lhs)?;
    if c.op == Operator::EqEq {
        return Err("`==` is not folded into `=`".into());
    }
    let lt = c.lhs.value_type();
    if !operator_allowed_with(lt.ty, lt.is_list, c.op, c.modifier) {
        return Err(format!(
            "`{}` does not apply to {lt}{}",
            c.op,
            c.modifier
                .map(|m| format!(" with `{m}`"))
                .unwrap_or_default()
        ));
    }
    let list_rhs = c.op.takes_list() || c.modifier.is_some();
    match &c.rhs {
        Rhs::None if c.op.is_unary() => Ok(()),
        _ if c.op.is_unary() => Err(format!("`{}` takes no value", c.op)),
        Rhs::None => Err(format!("`{}` needs a value", c.op)),
        Rhs::Value(lit) => lit_fits(lit, lt, c.op),
        Rhs::List(items) if list_rhs => items.iter().try_for_each(|l| lit_fits(l, lt, c.op)),
        Rhs::List(_) => Err(format!("`{}` takes one value, not a list", c.op)),
        Rhs::Operand(o) => verify_operand(p, o),
    }
}

/// A constant has the representation of the type it is compared with.
fn lit_fits(lit: &Lit, lt: ValueType, op: Operator) -> Result<(), String> {
    let ok = match lit {
        Lit::Regex(_) => op == Operator::Regex,
        _ if op == Operator::Regex => false,
        Lit::Int(_) | Lit::UInt(_) | Lit::Double(_) => lt.ty.category() == TypeCategory::Numeric,
        Lit::Bool(_) => lt.ty.category() == TypeCategory::Bool,
        Lit::Ip(_) | Lit::Net(_) => lt.ty.category() == TypeCategory::Ip,
        Lit::Str(_) | Lit::Bytes(_) => matches!(
            lt.ty.category(),
            TypeCategory::String | TypeCategory::Buffer
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("constant `{lit}` does not fit {lt} with `{op}`"))
    }
}

fn verify_operand(p: &Program, o: &Operand) -> Result<(), String> {
    match o {
        Operand::Field(f) => verify_field(p, f),
        Operand::Transform(t) => {
            let mut shapes = Vec::with_capacity(t.args.len());
            for a in &t.args {
                shapes.push(arg_shape(p, a)?);
            }
            let option = t.option.map(String::from);
            let ty = t
                .kind
                .apply_call(&shapes, option.as_deref())
                .map_err(|e| e.to_string())?;
            if ty != t.ty {
                return Err(format!(
                    "transformer `{}` yields {ty}, the program says {}",
                    t.kind, t.ty
                ));
            }
            Ok(())
        }
    }
}

fn arg_shape(p: &Program, a: &Arg) -> Result<TransformerArg, String> {
    Ok(match a {
        Arg::Operand(o) => {
            verify_operand(p, o)?;
            TransformerArg::Value(o.value_type())
        }
        Arg::Literal(_) => TransformerArg::Literal,
        Arg::List(items) => TransformerArg::List(
            items
                .iter()
                .map(|i| arg_shape(p, i))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// The field exists, its argument is one the field takes, and its type is the schema's.
fn verify_field(p: &Program, f: &Field) -> Result<(), String> {
    match f.key {
        FieldKey::Extra(i) => match p.extra_fields.get(i as usize) {
            Some(e) if e.ty == f.ty => Ok(()),
            Some(e) => Err(format!("field `{}` is {}, not {}", e.name, e.ty, f.ty)),
            None => Err(format!("extra field {i} is not declared")),
        },
        FieldKey::Schema(id) => {
            let info = id.info();
            match (&f.arg, info.arg.allowed(), info.arg.required()) {
                (None, _, true) => return Err(format!("field `{}` needs an argument", info.name)),
                (Some(_), false, _) => {
                    return Err(format!("field `{}` takes no argument", info.name));
                }
                (Some(arg), true, _) if !arg_fits(info.arg.form, arg) => {
                    return Err(format!(
                        "field `{}` does not take the argument `{arg}`",
                        info.name
                    ));
                }
                _ => {}
            }
            let expected = ResolvedField {
                field: info,
                arg: f.arg.clone(),
            }
            .value_type();
            // `evt.rawarg.NAME` takes the type of the named parameter.
            if expected.ty != FieldType::Dyn && expected != f.ty {
                return Err(format!("field `{}` is {expected}, not {}", info.name, f.ty));
            }
            Ok(())
        }
    }
}

fn arg_fits(form: ArgForm, arg: &FieldArg) -> bool {
    use FieldArg as A;
    match form {
        ArgForm::None => false,
        ArgForm::Index => matches!(arg, A::Index(_)),
        ArgForm::Timestamp => matches!(arg, A::Timestamp(_)),
        ArgForm::Key | ArgForm::KeyOrSuffix => matches!(arg, A::Key(_)),
        ArgForm::IndexOrKey => matches!(arg, A::Index(_) | A::Key(_)),
        ArgForm::IndexOrParam => matches!(arg, A::Index(_) | A::Param(_)),
        ArgForm::EventType => matches!(arg, A::EventName(_) | A::EventNumber(_)),
        ArgForm::Param => matches!(arg, A::Param(_)),
        ArgForm::Subsystem => matches!(arg, A::Subsystem(_)),
        ArgForm::PathSide => matches!(arg, A::PathSide(_)),
    }
}
