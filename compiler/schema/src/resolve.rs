//! Falco's field-name resolution (language.md §4.2) and did-you-mean suggestions.
//!
//! The parser hands over a field name (one FieldName token, which may contain dotted argument
//! parts such as `evt.arg.flags`) and an optional bracketed argument. Resolution then works like
//! libsinsp: the filter checks are asked in registration order for the longest field name that
//! is a plain prefix of the text; the first check that knows such a prefix decides, and the rest
//! of the text must be a valid argument for that field, otherwise the field does not exist. So
//! `proc.namex` is unknown (the process check claims it through `proc.name` and cannot use the
//! trailing `x`), and no later check gets a chance.

use std::fmt;

use crate::types::{ArgForm, ArgSpec, FilterCheck};
use crate::{FieldInfo, ValueType, fields};

/// Which path of a two-path event `evt.abspath` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PathSide {
    /// `evt.abspath.src`.
    Src,
    /// `evt.abspath.dst`.
    Dst,
}

/// A parsed field argument.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FieldArg {
    /// A decimal index in brackets: ancestor level, argument position, FD number, mount index.
    Index(u64),
    /// A key in brackets or after a dot: environment variable, label, mount path.
    Key(String),
    /// An event parameter named after a dot: `evt.arg.fd`, `evt.rawarg.res`.
    Param(String),
    /// An event name after a dot: `evt.type.is.open`.
    EventName(String),
    /// An event number after a dot: `evt.type.is.3`.
    EventNumber(u32),
    /// A cgroup subsystem after a dot: `thread.cgroup.cpuacct`.
    Subsystem(String),
    /// `.src` or `.dst` after `evt.abspath`.
    PathSide(PathSide),
    /// A timestamp in nanoseconds: `evt.around[T]`.
    Timestamp(u64),
}

impl fmt::Display for FieldArg {
    /// Writes the argument the way it is spelled after the field name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldArg::Index(n) | FieldArg::Timestamp(n) => write!(f, "[{n}]"),
            FieldArg::Key(k) => write!(f, "[{k}]"),
            FieldArg::Param(p) => write!(f, ".{p}"),
            FieldArg::EventName(n) | FieldArg::Subsystem(n) => write!(f, ".{n}"),
            FieldArg::EventNumber(n) => write!(f, ".{n}"),
            FieldArg::PathSide(PathSide::Src) => f.write_str(".src"),
            FieldArg::PathSide(PathSide::Dst) => f.write_str(".dst"),
        }
    }
}

/// A field reference that resolved: the schema entry plus its parsed argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedField {
    /// The schema entry.
    pub field: &'static FieldInfo,
    /// The parsed argument, if one was written.
    pub arg: Option<FieldArg>,
}

impl ResolvedField {
    /// The value type of the reference. `fd.types[N]` names one FD, so it yields a single value.
    /// `evt.rawarg.NAME` stays `DYN` here: its type depends on the event parameter table.
    pub fn value_type(&self) -> ValueType {
        let mut ty = self.field.value_type();
        if self.field.name == "fd.types" && self.arg.is_some() {
            ty.is_list = false;
        }
        ty
    }

    /// True for an ancestor field written without a level, which matches if any ancestor does.
    pub fn matches_any_ancestor(&self) -> bool {
        self.field.any_ancestor && self.arg.is_none()
    }
}

impl fmt::Display for ResolvedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field.name)?;
        if let Some(arg) = &self.arg {
            write!(f, "{arg}")?;
        }
        Ok(())
    }
}

/// Why a field reference did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No field matches; `suggestions` holds close names, best first.
    #[error("unknown field '{name}'{}", did_you_mean(suggestions))]
    UnknownField {
        /// The text as written.
        name: String,
        /// Close field names (possibly empty).
        suggestions: Vec<&'static str>,
    },
    /// The field needs an argument and none was written.
    #[error("field '{field}' requires an argument: {field}{}", spec.syntax())]
    ArgumentRequired {
        /// The field name.
        field: &'static str,
        /// The field's argument rule, to show the expected syntax.
        spec: ArgSpec,
    },
    /// The field takes no argument but one was written.
    #[error("field '{field}' does not take an argument (got '{arg}')")]
    ArgumentNotAllowed {
        /// The field name.
        field: &'static str,
        /// The argument as written.
        arg: String,
    },
    /// The argument had to be a decimal number and was not.
    #[error("field '{field}' needs a decimal index, not '{arg}'")]
    BadIndex {
        /// The field name.
        field: &'static str,
        /// The argument as written.
        arg: String,
    },
    /// The argument has the wrong shape for this field (brackets instead of a dot suffix, a
    /// cgroup subsystem with digits, `evt.abspath.foo`, ...).
    #[error("invalid argument '{arg}' for field '{field}': expected {field}{}", spec.syntax())]
    BadArgument {
        /// The field name.
        field: &'static str,
        /// The argument as written.
        arg: String,
        /// The field's argument rule, to show the expected syntax.
        spec: ArgSpec,
    },
    /// `name[arg` without the closing bracket (only from [`resolve_text`]).
    #[error("missing ']' after the argument of '{text}'")]
    UnclosedBracket {
        /// The text as written.
        text: String,
    },
}

fn did_you_mean(suggestions: &[&str]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean '{one}'?)"),
        many => format!(
            " (did you mean {}?)",
            many.iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Resolves a field reference as the parser delivers it: `name` is the FieldName token (it may
/// carry a dotted argument such as `evt.arg.flags`) and `arg` the text inside `[...]`, if any.
pub fn resolve(name: &str, arg: Option<&str>) -> Result<ResolvedField, ResolveError> {
    resolve_impl(name, arg, true)
}

/// Whether `text` (`name` or `name[arg]`) resolves to a field. Unlike [`resolve_text`] it
/// computes no did-you-mean suggestions on failure, which makes it cheap enough to ask of every
/// constant in every condition (Falco's "field misused as a value" warning).
pub fn resolves(text: &str) -> bool {
    match text.split_once('[') {
        None => resolve_impl(text, None, false).is_ok(),
        Some((name, tail)) => tail
            .strip_suffix(']')
            .is_some_and(|arg| resolve_impl(name, Some(arg), false).is_ok()),
    }
}

fn resolve_impl(
    name: &str,
    arg: Option<&str>,
    suggestions: bool,
) -> Result<ResolvedField, ResolveError> {
    let unknown = |name: &str, arg: Option<&str>| unknown(name, arg, suggestions);
    let Some((field, rest)) = claim(name) else {
        return Err(unknown(name, arg));
    };
    let spec = field.arg;

    if rest.is_empty() {
        return match arg {
            None if spec.required() => Err(ResolveError::ArgumentRequired {
                field: field.name,
                spec,
            }),
            None => Ok(ResolvedField { field, arg: None }),
            Some(text) if !spec.allowed() => Err(ResolveError::ArgumentNotAllowed {
                field: field.name,
                arg: text.to_owned(),
            }),
            Some(text) => parse_bracketed(field, text).map(|arg| ResolvedField {
                field,
                arg: Some(arg),
            }),
        };
    }

    // Text follows the claimed field name. Only a dotted argument can use it; anything else
    // means the name as a whole is not a field (libsinsp: "nonexistent field").
    let Some(suffix) = rest.strip_prefix('.') else {
        return Err(unknown(name, arg));
    };
    if !spec.accepts_dot() {
        return Err(unknown(name, arg));
    }
    if let Some(extra) = arg {
        return Err(ResolveError::BadArgument {
            field: field.name,
            arg: format!("{rest}[{extra}]"),
            spec,
        });
    }
    parse_dotted(field, suffix).map(|arg| ResolvedField {
        field,
        arg: Some(arg),
    })
}

/// Resolves a reference written as one piece of text, `name` or `name[arg]`, as in output
/// formats (`%proc.aname[2]`), listings and editor hovers.
pub fn resolve_text(text: &str) -> Result<ResolvedField, ResolveError> {
    match text.split_once('[') {
        None => resolve(text, None),
        Some((name, tail)) => match tail.strip_suffix(']') {
            Some(arg) => resolve(name, Some(arg)),
            None => Err(ResolveError::UnclosedBracket {
                text: text.to_owned(),
            }),
        },
    }
}

/// Finds the field that claims `name`: the longest field-name prefix within the first filter
/// check (in registration order) that has any prefix match. Returns the field and the unclaimed
/// rest of the text.
fn claim(name: &str) -> Option<(&'static FieldInfo, &str)> {
    // One pass over the table: the winner is the match of the earliest check in registration
    // order, and within that check the longest name. (Asked for every field of every condition,
    // so it avoids one pass per check.)
    let rank = |f: &FieldInfo| FilterCheck::ALL.iter().position(|c| *c == f.check);
    let mut best: Option<(usize, &'static FieldInfo)> = None;
    for f in fields().iter().filter(|f| name.starts_with(f.name)) {
        let Some(r) = rank(f) else { continue };
        let better = match best {
            None => true,
            Some((br, bf)) => r < br || (r == br && f.name.len() > bf.name.len()),
        };
        if better {
            best = Some((r, f));
        }
    }
    best.map(|(_, field)| (field, name.get(field.name.len()..).unwrap_or("")))
}

fn unknown(name: &str, arg: Option<&str>, suggestions: bool) -> ResolveError {
    let written = match arg {
        Some(a) => format!("{name}[{a}]"),
        None => name.to_owned(),
    };
    ResolveError::UnknownField {
        name: written,
        suggestions: if suggestions {
            suggest(name)
        } else {
            Vec::new()
        },
    }
}

fn parse_index(field: &'static FieldInfo, text: &str) -> Result<u64, ResolveError> {
    if is_all_digits(text)
        && let Ok(n) = text.parse::<u64>()
    {
        return Ok(n);
    }
    Err(ResolveError::BadIndex {
        field: field.name,
        arg: text.to_owned(),
    })
}

fn is_all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Parses the text of `[...]` for a field that accepts an argument.
fn parse_bracketed(field: &'static FieldInfo, text: &str) -> Result<FieldArg, ResolveError> {
    let spec = field.arg;
    match spec.form {
        ArgForm::Index | ArgForm::IndexOrParam => parse_index(field, text).map(FieldArg::Index),
        ArgForm::Timestamp => parse_index(field, text).map(FieldArg::Timestamp),
        ArgForm::Key | ArgForm::KeyOrSuffix => Ok(FieldArg::Key(text.to_owned())),
        ArgForm::IndexOrKey if is_all_digits(text) => parse_index(field, text).map(FieldArg::Index),
        ArgForm::IndexOrKey => Ok(FieldArg::Key(text.to_owned())),
        ArgForm::None
        | ArgForm::Param
        | ArgForm::EventType
        | ArgForm::Subsystem
        | ArgForm::PathSide => Err(ResolveError::BadArgument {
            field: field.name,
            arg: format!("[{text}]"),
            spec,
        }),
    }
}

/// True for a word made of ASCII letters, digits and `_` that starts with a letter or `_`.
fn is_word(text: &str) -> bool {
    let mut bytes = text.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses the text after `field.` for a field with a dotted argument.
fn parse_dotted(field: &'static FieldInfo, suffix: &str) -> Result<FieldArg, ResolveError> {
    let spec = field.arg;
    let bad = || ResolveError::BadArgument {
        field: field.name,
        arg: format!(".{suffix}"),
        spec,
    };
    match spec.form {
        // Event parameter names are plain identifiers (fd, res, newpath, ...). Whether the name
        // exists for some event is checked against the event table, not here.
        ArgForm::IndexOrParam | ArgForm::Param if is_word(suffix) => {
            Ok(FieldArg::Param(suffix.to_owned()))
        }
        ArgForm::EventType if is_all_digits(suffix) => suffix
            .parse::<u32>()
            .map(FieldArg::EventNumber)
            .map_err(|_| bad()),
        ArgForm::EventType if is_word(suffix) => Ok(FieldArg::EventName(suffix.to_owned())),
        ArgForm::Subsystem
            if !suffix.is_empty()
                && suffix.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_') =>
        {
            Ok(FieldArg::Subsystem(suffix.to_owned()))
        }
        ArgForm::PathSide if suffix == "src" => Ok(FieldArg::PathSide(PathSide::Src)),
        ArgForm::PathSide if suffix == "dst" => Ok(FieldArg::PathSide(PathSide::Dst)),
        ArgForm::KeyOrSuffix if !suffix.is_empty() => Ok(FieldArg::Key(suffix.to_owned())),
        _ => Err(bad()),
    }
}

/// The field names closest to `name` (at most three, all at the same distance), for
/// did-you-mean hints.
///
/// Closeness is the edit distance between lower-cased names. The tolerance grows with the
/// length of the name (a quarter of it, at least one and at most three edits), so short
/// prefixes do not drag in half of the table. If the text has extra parts after a real field
/// name (`proc.name.x`), that field is offered too.
pub fn suggest(name: &str) -> Vec<&'static str> {
    let wanted = name.to_ascii_lowercase();
    let limit = (wanted.chars().count() / 4).clamp(1, 3);
    let mut scored: Vec<(usize, &'static str)> = fields()
        .iter()
        .filter_map(|f| {
            let d = strsim::osa_distance(&wanted, f.name);
            (d <= limit).then_some((d, f.name))
        })
        .collect();
    if scored.is_empty()
        && let Some((field, _)) = claim(name)
    {
        scored.push((0, field.name));
    }
    scored.sort();
    scored.dedup_by_key(|(_, n)| *n);
    // Only the closest names are offered: one clear candidate beats a list of distant ones.
    let best = scored.first().map_or(0, |(d, _)| *d);
    scored
        .into_iter()
        .take_while(|(d, _)| *d == best)
        .take(3)
        .map(|(_, n)| n)
        .collect()
}
