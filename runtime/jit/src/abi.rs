//! The ABI between generated code and the runtime (ARCHITECTURE.md, "The JIT's ABI").
//!
//! Generated functions receive one pointer, to a [`Frame`]; everything they read or write per
//! event is reached through it, and everything they cannot do themselves is one of two
//! callbacks:
//!
//! - `lanner_jit_check(frame, check) -> u32`: the truth value of check `check` (an index into
//!   the plan's check table), computed by the interpreter's own check semantics
//!   ([`lanner_engine::eval::eval_check`]) over field values memoised per event.
//! - `lanner_jit_int(frame, slot, memo) -> u32`: loads field `slot` into the integer memo
//!   `memo` ([`IntMemo`]) and returns its status.
//!
//! Both are `extern "C"`; a panic cannot cross them (Rust aborts instead), and neither
//! panics: every index is checked and a bad one reads as "false" / "no value".

use std::borrow::Cow;
use std::ffi::c_void;

use lanner_engine::Fields;
use lanner_engine::ir::FieldRef;
use lanner_event::Event;
use lanner_state::value::Value;
use lanner_state::{Accessor, State};

use crate::plan::Plan;

/// What generated code is handed. `#[repr(C)]`: the code generator reads the fields at the
/// offsets below.
#[repr(C)]
pub(crate) struct Frame {
    /// The runtime's per-event context ([`Ctx`]); opaque to generated code.
    pub ctx: *mut c_void,
    /// One word per memoised node: `epoch << 1 | value` once the node was evaluated this
    /// event; anything else means "not yet".
    pub memo: *mut u32,
    /// One [`IntMemo`] per integer field slot the inline checks read.
    pub ints: *mut IntMemo,
    /// The current event's stamp, never 0 (every memo starts at 0, "never evaluated").
    pub epoch: u32,
}

pub(crate) const FRAME_MEMO: i32 = 8;
pub(crate) const FRAME_INTS: i32 = 16;
pub(crate) const FRAME_EPOCH: i32 = 24;

/// An integer field's value, loaded at most once per event.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IntMemo {
    /// The event stamp of the load; the rest is valid only when it equals the frame's.
    pub epoch: u32,
    /// [`INT_NONE`], [`INT_SMALL`], [`INT_BIG`] or [`INT_OTHER`].
    pub status: u32,
    /// The value: as `i64` for [`INT_SMALL`], the `u64` bits for [`INT_BIG`].
    pub value: i64,
}

pub(crate) const INT_MEMO_SIZE: i64 = 16;
pub(crate) const INT_EPOCH: i32 = 0;
pub(crate) const INT_STATUS: i32 = 4;
pub(crate) const INT_VALUE: i32 = 8;

/// The field has no value: every check on it is false.
pub(crate) const INT_NONE: u32 = 0;
/// An integer that fits `i64`.
pub(crate) const INT_SMALL: u32 = 1;
/// A `u64` above `i64::MAX`.
pub(crate) const INT_BIG: u32 = 2;
/// Not an integer (a list, a double, text): the check is decided by the callback.
pub(crate) const INT_OTHER: u32 = 3;

// INVARIANT: the offsets the code generator uses are the layout's.
const _: () = {
    assert!(std::mem::offset_of!(Frame, memo) == FRAME_MEMO as usize);
    assert!(std::mem::offset_of!(Frame, ints) == FRAME_INTS as usize);
    assert!(std::mem::offset_of!(Frame, epoch) == FRAME_EPOCH as usize);
    assert!(std::mem::size_of::<IntMemo>() == INT_MEMO_SIZE as usize);
    assert!(std::mem::offset_of!(IntMemo, status) == INT_STATUS as usize);
    assert!(std::mem::offset_of!(IntMemo, value) == INT_VALUE as usize);
};

/// The runtime's side of one evaluation.
pub(crate) struct Ctx<'j, 'e, 'a> {
    pub plan: &'j Plan,
    pub fields: CachedFields<'j, 'e, 'a>,
}

/// Field values of one event, each extracted at most once.
pub(crate) struct CachedFields<'j, 'e, 'a> {
    pub accessors: &'j [Option<Accessor>],
    pub event: &'e Event<'a>,
    pub state: &'a State,
    /// The values extracted this event, in extraction order.
    pub vals: Vec<Option<Value<'a>>>,
    /// By slot: (stamp, index into `vals`); valid when the stamp is `epoch`.
    pub pos: &'j mut [(u32, u32)],
    pub epoch: u32,
}

impl<'a> CachedFields<'_, '_, 'a> {
    fn load(&mut self, slot: usize) -> Option<&Value<'a>> {
        let (stamp, index) = *self.pos.get(slot)?;
        let index = if stamp == self.epoch {
            index as usize
        } else {
            let v = self
                .accessors
                .get(slot)
                .and_then(Option::as_ref)
                .and_then(|a| a.extract(self.event, self.state));
            self.vals.push(v);
            let index = self.vals.len() - 1;
            if let Some(p) = self.pos.get_mut(slot) {
                *p = (self.epoch, u32::try_from(index).unwrap_or(u32::MAX));
            }
            index
        };
        self.vals.get(index)?.as_ref()
    }
}

impl Fields for CachedFields<'_, '_, '_> {
    fn get(&mut self, field: &FieldRef) -> Option<Value<'_>> {
        self.load(field.slot).map(view)
    }
}

/// A value borrowing from `v` (no copy of text; a list's vector is rebuilt).
fn view<'b>(v: &'b Value<'_>) -> Value<'b> {
    match v {
        Value::Int(x) => Value::Int(*x),
        Value::UInt(x) => Value::UInt(*x),
        Value::Double(x) => Value::Double(*x),
        Value::Bool(x) => Value::Bool(*x),
        Value::Str(s) => Value::Str(Cow::Borrowed(s)),
        Value::Bytes(b) => Value::Bytes(Cow::Borrowed(b)),
        Value::Ipv4(a) => Value::Ipv4(*a),
        Value::Ipv6(a) => Value::Ipv6(*a),
        Value::Net(a, p) => Value::Net(*a, *p),
        Value::List(items) => Value::List(items.iter().map(view).collect()),
    }
}

/// An empty vector of another lifetime that keeps `v`'s allocation (the in-place collect of
/// an emptied vector whose element layout is the same), so the per-event value list costs no
/// allocation once warm.
pub(crate) fn recycle<'x, 'y>(mut v: Vec<Option<Value<'x>>>) -> Vec<Option<Value<'y>>> {
    v.clear();
    v.into_iter().map(|_| None).collect()
}

/// # Safety
/// `frame` is the frame the runtime passed to the generated function that calls this, and
/// its `ctx` points to a live [`Ctx`].
pub(crate) unsafe extern "C" fn lanner_jit_check(frame: *mut Frame, check: u32) -> u32 {
    // SAFETY: see the function's contract; generated code passes its frame through.
    let ctx = unsafe { &mut *((*frame).ctx.cast::<Ctx<'_, '_, '_>>()) };
    let Some(c) = ctx.plan.checks.get(check as usize) else {
        return 0;
    };
    u32::from(lanner_engine::eval::eval_check(c, &mut ctx.fields))
}

/// # Safety
/// As [`lanner_jit_check`]; `memo` points into the frame's integer memo.
pub(crate) unsafe extern "C" fn lanner_jit_int(
    frame: *mut Frame,
    slot: u32,
    memo: *mut IntMemo,
) -> u32 {
    // SAFETY: see the function's contract.
    let (ctx, epoch) = unsafe {
        (
            &mut *((*frame).ctx.cast::<Ctx<'_, '_, '_>>()),
            (*frame).epoch,
        )
    };
    let (status, value) = match ctx.fields.load(slot as usize) {
        None => (INT_NONE, 0),
        Some(Value::Int(v)) => (INT_SMALL, *v),
        Some(Value::UInt(v)) => match i64::try_from(*v) {
            Ok(s) => (INT_SMALL, s),
            Err(_) => (INT_BIG, i64::from_ne_bytes(v.to_ne_bytes())),
        },
        Some(_) => (INT_OTHER, 0),
    };
    // SAFETY: see the function's contract.
    unsafe {
        *memo = IntMemo {
            epoch,
            status,
            value,
        };
    }
    status
}
