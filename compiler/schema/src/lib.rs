//! The Falco field schema as a typed, static Rust table.
//!
//! The table lists every field a Falco condition or output may name (294 fields taken from
//! `data/fields.json`), with its type, list-ness, argument rule, class, flags, deprecation,
//! equivalent spellings, provider and a short description written for Lanner. On top of it this
//! crate offers:
//!
//! * exact lookup ([`lookup`]) and Falco's field-name resolution ([`resolve`],
//!   [`resolve_text`]) with typed errors and did-you-mean suggestions ([`suggest`]);
//! * the operator compatibility table ([`operator_allowed`], [`operator_allowed_with`]);
//! * transformer typing ([`Transformer`]);
//! * the listings behind `rulec fields` ([`render_text`], [`render_json`], [`render_markdown`]).
//!
//! The type checker, the interpreter, the language server and the CLI all read this one table,
//! so that a field's rules are stated once.

// Tests may unwrap and index freely: a panic there is a test failure, which is the point.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod ops;
mod render;
mod resolve;
mod transform;
mod types;
mod vocab;

#[cfg(test)]
mod codegen;

// The table is generated from data/fields.json and data/descriptions.tsv by the test in
// `codegen`; rustfmt is told to leave it alone so that regeneration is byte-for-byte stable.
#[rustfmt::skip]
mod generated;

pub use generated::{FieldId, SCHEMA_HASH};
pub use ops::{Modifier, Operator, operator_allowed, operator_allowed_with};
pub use render::{ListingFormat, render, render_json, render_markdown, render_text};
pub use resolve::{
    FieldArg, PathSide, ResolveError, ResolvedField, resolve, resolve_text, resolves, suggest,
};
pub use transform::{Transformer, TransformerArg, TransformerError};
pub use types::{
    ArgForm, ArgPresence, ArgSpec, Deprecation, FieldClass, FieldFlags, FieldType, FilterCheck,
    PrintFormat, Provider, TypeCategory, UnknownName, ValueType,
};
pub use vocab::{Priority, Source};

/// Everything the schema knows about one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldInfo {
    /// The field's id (its position in the table); `None` for a field declared outside the
    /// schema, such as a loaded plugin's, which the type checker is given separately.
    pub id: Option<FieldId>,
    /// The field name without argument, e.g. `proc.aname`.
    pub name: &'static str,
    /// The value type. `DYN` only for `evt.rawarg`, whose type comes from the named parameter.
    pub ty: FieldType,
    /// Whether the field yields a list of values.
    pub is_list: bool,
    /// Whether and how the field takes an argument.
    pub arg: ArgSpec,
    /// The user-facing class (`proc`, `fd`, `k8s`, ...).
    pub class: FieldClass,
    /// The filter check that owns the field; decides name-resolution order.
    pub check: FilterCheck,
    /// Who serves the field at run time.
    pub provider: Provider,
    /// True if the field works for every event source, not only syscalls.
    pub source_agnostic: bool,
    /// Falco's field flags.
    pub flags: FieldFlags,
    /// How values are printed in outputs.
    pub print_format: PrintFormat,
    /// Deprecation state.
    pub deprecation: Deprecation,
    /// True for ancestor fields whose bare form matches if any ancestor matches.
    pub any_ancestor: bool,
    /// Expressions that produce the same value (`proc.aname[1] = proc.pname`, `evt.args`, ...).
    pub aliases: &'static [&'static str],
    /// A one-line description.
    pub description: &'static str,
    /// True if Lanner's runtime (lanner-state) extracts the field; a rule reading any other
    /// field would see `<NA>` there, which `rulec check` reports.
    pub extracted: bool,
}

impl FieldInfo {
    /// The value type of the bare field (before any argument or transformer).
    pub const fn value_type(&self) -> ValueType {
        ValueType {
            ty: self.ty,
            is_list: self.is_list,
        }
    }

    /// True if the field may appear in a condition (it is not print-only).
    pub const fn usable_in_filter(&self) -> bool {
        !self.flags.contains(FieldFlags::PRINT_ONLY)
    }

    /// True if the field may appear in an output (it is not filter-only).
    pub const fn usable_in_output(&self) -> bool {
        !self.flags.contains(FieldFlags::FILTER_ONLY)
    }

    /// True if transformers may be applied to the field.
    pub const fn accepts_transformers(&self) -> bool {
        !self.flags.contains(FieldFlags::NO_TRANSFORMER)
    }

    /// True if the field may take part in a field-to-field comparison.
    pub const fn usable_as_rhs(&self) -> bool {
        !self.flags.contains(FieldFlags::NO_RHS)
    }

    /// True for the fields whose comparison looks at both endpoints of a socket (Falco's
    /// `compare_ip`, `compare_port` and `compare_net`).
    pub const fn compares_endpoints(&self) -> bool {
        matches!(
            self.id,
            Some(FieldId::FdIp | FieldId::FdPort | FieldId::FdProto | FieldId::FdNet)
        )
    }

    /// True for the host-name fields (`fd.cip.name`, `fd.sip.name`, `fd.lip.name`,
    /// `fd.rip.name`): their value is the list of the rules' host names that resolved to the
    /// address, and a comparison holds if it holds for one of them, except `!=`, which must
    /// hold for all (so an address no name resolved to is `!=` every name, as in Falco's
    /// `compare_domain`).
    pub const fn compares_host_names(&self) -> bool {
        matches!(
            self.id,
            Some(FieldId::FdCipName | FieldId::FdSipName | FieldId::FdLipName | FieldId::FdRipName)
        )
    }

    /// The field as it is written with its argument placeholder, e.g. `proc.aname[N]`.
    pub fn display_name(&self) -> String {
        let syntax = self.arg.syntax();
        if syntax.is_empty() {
            self.name.to_owned()
        } else {
            format!("{}{}", self.name, syntax)
        }
    }
}

impl FieldId {
    /// The schema entry of the field.
    pub fn info(self) -> &'static FieldInfo {
        // INVARIANT: `FieldId`'s discriminants are the positions in `FIELDS` (generated
        // together; `field_ids_index_the_table` checks it), so the index is in range.
        #[allow(clippy::indexing_slicing)]
        &generated::FIELDS[self as usize]
    }

    /// The field name without argument.
    pub fn name(self) -> &'static str {
        self.info().name
    }
}

/// All fields, in Falco's registration order (class by class, as libsinsp declares them).
pub fn fields() -> &'static [FieldInfo] {
    generated::FIELDS
}

/// Exact lookup of a field by name (no argument, no prefix matching).
pub fn lookup(name: &str) -> Option<&'static FieldInfo> {
    let index = generated::BY_NAME
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()?;
    let (_, slot) = generated::BY_NAME.get(index)?;
    generated::FIELDS.get(usize::from(*slot))
}

/// Fields whose name starts with `prefix`, in table order, for editor completion.
///
/// Hidden helpers are left out because users are not meant to write them; deprecated fields
/// stay in so that a completion list can show them struck through rather than not at all.
pub fn complete(prefix: &str) -> impl Iterator<Item = &'static FieldInfo> {
    fields()
        .iter()
        .filter(move |f| f.name.starts_with(prefix) && !f.flags.contains(FieldFlags::HIDDEN))
}

/// The fields of one class, in registration order.
pub fn fields_of_class(class: FieldClass) -> impl Iterator<Item = &'static FieldInfo> {
    fields().iter().filter(move |f| f.class == class)
}

/// The classes that have at least one field, in the order they first appear in the table.
pub fn classes() -> Vec<FieldClass> {
    let mut seen: Vec<FieldClass> = Vec::new();
    for field in fields() {
        if !seen.contains(&field.class) {
            seen.push(field.class);
        }
    }
    seen
}
