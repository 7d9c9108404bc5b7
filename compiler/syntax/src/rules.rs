//! The located tree of one rules file: what the YAML loader produces.
//!
//! Every item keeps the span of its mapping, of each key and of each value, so that later stages
//! (checker, language server, formatter) can point at any of them. Conditions, outputs, list items
//! and exception values are [`Scalar`]s: their text plus a map back into the file.

use crate::scalar::Scalar;
use crate::span::{FileId, Span, Spanned};

/// One parsed rules file.
#[derive(Clone, Debug, Default)]
pub struct RulesFile {
    pub file: Option<FileId>,
    /// All items of all YAML documents of the file, in file order.
    pub items: Vec<Item>,
}

#[derive(Clone, Debug)]
pub enum ItemKind {
    List(ListItem),
    Macro(MacroItem),
    Rule(Box<RuleItem>),
    RequiredEngineVersion(Scalar),
    RequiredPluginVersions(Vec<PluginRequirement>),
    /// A mapping with none of the known item keys (warning `LOAD_UNKNOWN_ITEM`), or a
    /// `required_engine_version` item whose value is unusable (an error was reported).
    Unknown,
}

#[derive(Clone, Debug)]
pub struct Item {
    pub kind: ItemKind,
    /// The whole mapping.
    pub span: Span,
    /// The span of the key that decided the kind (`rule`, `macro`, ...).
    pub key_span: Span,
    /// Keys present in the mapping, in order, with their spans (for override validation,
    /// unknown-key warnings and editor features).
    pub keys: Vec<Spanned<String>>,
}

/// `override:` — per key, `append` or `replace`.
#[derive(Clone, Debug, Default)]
pub struct Override {
    pub span: Span,
    pub entries: Vec<OverrideEntry>,
}

#[derive(Clone, Debug)]
pub struct OverrideEntry {
    pub key: Spanned<String>,
    pub op: Spanned<OverrideOp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverrideOp {
    Append,
    Replace,
}

#[derive(Clone, Debug)]
pub struct ListItem {
    /// Empty when the name is missing, null or not a string; the loader reported it. The same
    /// holds for macro and rule names.
    pub name: Scalar,
    /// `None` when the key is absent; the loader already reported what is wrong.
    pub items: Option<Spanned<Vec<Scalar>>>,
    pub append: Option<Spanned<bool>>,
    pub override_: Option<Override>,
}

#[derive(Clone, Debug)]
pub struct MacroItem {
    pub name: Scalar,
    pub condition: Option<Scalar>,
    pub append: Option<Spanned<bool>>,
    pub override_: Option<Override>,
}

#[derive(Clone, Debug)]
pub struct RuleItem {
    pub name: Scalar,
    pub condition: Option<Scalar>,
    pub output: Option<Scalar>,
    pub desc: Option<Scalar>,
    pub priority: Option<Spanned<Priority>>,
    pub source: Option<Scalar>,
    pub enabled: Option<Spanned<bool>>,
    pub capture: Option<Spanned<bool>>,
    pub capture_duration: Option<Spanned<u64>>,
    pub warn_evttypes: Option<Spanned<bool>>,
    pub skip_if_unknown_filter: Option<Spanned<bool>>,
    pub tags: Option<Spanned<Vec<Scalar>>>,
    pub exceptions: Option<Spanned<Vec<Exception>>>,
    pub append: Option<Spanned<bool>>,
    pub override_: Option<Override>,
}

pub use lanner_schema::Priority;

/// A YAML value that may be written as one scalar or as a sequence of scalars
/// (exception `fields` and `comps`).
#[derive(Clone, Debug)]
pub enum ScalarOrSeq {
    Scalar(Scalar),
    Seq(Spanned<Vec<Scalar>>),
}

/// One element of an exception's `values`: a scalar, or a tuple (sequence) whose elements are
/// scalars or sequences of scalars.
#[derive(Clone, Debug)]
pub enum ExceptionValue {
    Scalar(Scalar),
    Tuple(Spanned<Vec<ExceptionValue>>),
}

#[derive(Clone, Debug)]
pub struct Exception {
    pub span: Span,
    pub name: Option<Scalar>,
    pub fields: Option<ScalarOrSeq>,
    pub comps: Option<ScalarOrSeq>,
    pub values: Option<Spanned<Vec<ExceptionValue>>>,
}

#[derive(Clone, Debug)]
pub struct PluginRequirement {
    pub span: Span,
    pub name: Option<Scalar>,
    pub version: Option<Scalar>,
    pub alternatives: Vec<PluginRequirement>,
}
