//! Field values from the state engine: [`Fields`] over a converted event and the state it was
//! parsed into.
//!
//! The impl lives here rather than in `lanner-state` because the engine depends on the state
//! crate (for [`Value`]), and Rust lets a trait be implemented only next to the trait or the
//! type. The state engine's extraction already follows the [`Fields`] contract: ancestor
//! fields without a level give the ancestors' values as a list, `fd.ip` and `fd.port` the
//! endpoints' values.

use lanner_event::Event;
use lanner_state::value::Value;
use lanner_state::{Accessor, ExtractError, SharedHostNames, State};

use crate::eval::Fields;
use crate::ir::FieldRef;

/// One compiled accessor per field slot of a condition (or of a rule set lowered together).
#[derive(Debug, Default)]
pub struct Accessors {
    /// `None` for a field the state engine cannot extract yet: it never has a value.
    by_slot: Vec<Option<Accessor>>,
}

impl Accessors {
    /// Compiles the accessors of `fields` (indexed by slot). Fields the state engine does not
    /// support are returned with the reason; they behave as fields without a value.
    pub fn compile(fields: &[FieldRef]) -> (Accessors, Vec<(FieldRef, ExtractError)>) {
        let mut unsupported = Vec::new();
        let mut by_slot = Vec::with_capacity(fields.len());
        for f in fields {
            // INVARIANT: `fields` is a slot-indexed table, so position and slot agree.
            debug_assert_eq!(f.slot, by_slot.len());
            let compiled = match &f.field {
                Some(rf) => Accessor::compile(rf),
                None => Err(ExtractError::Unsupported {
                    name: f.text.clone(),
                }),
            };
            match compiled {
                Ok(a) => by_slot.push(Some(a)),
                Err(e) => {
                    unsupported.push((f.clone(), e));
                    by_slot.push(None);
                }
            }
        }
        (Accessors { by_slot }, unsupported)
    }

    /// Points the host-name fields (`fd.*ip.name`) at `names`.
    pub fn set_host_names(&mut self, names: &SharedHostNames) {
        for slot in self.by_slot.iter_mut() {
            if let Some(a) = slot.take() {
                *slot = Some(if a.reads_host_names() {
                    a.with_host_names(names)
                } else {
                    a
                });
            }
        }
    }

    /// The field source for one event.
    pub fn on<'e, 'a>(&'e self, event: &'e Event<'a>, state: &'a State) -> EventFields<'e, 'a> {
        EventFields {
            accessors: self,
            event,
            state,
        }
    }
}

/// The fields of one event, read from the event and the state.
pub struct EventFields<'e, 'a> {
    accessors: &'e Accessors,
    event: &'e Event<'a>,
    state: &'a State,
}

impl Fields for EventFields<'_, '_> {
    fn get(&mut self, field: &FieldRef) -> Option<Value<'_>> {
        self.accessors
            .by_slot
            .get(field.slot)?
            .as_ref()?
            .extract(self.event, self.state)
    }
}
