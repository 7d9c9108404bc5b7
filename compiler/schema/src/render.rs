//! The field listings behind `rulec fields --format text|json|markdown` (like `falco --list`).
//!
//! All three formats walk the table in registration order, grouped by class in the order the
//! classes first appear, so the output is stable and diffs stay small when the data changes.

use std::fmt::Write as _;
use std::str::FromStr;

use serde::Serialize;

use crate::types::{ArgPresence, FieldClass, FieldFlags, Provider, UnknownName};
use crate::{FieldInfo, classes, fields};

/// The output format of a field listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ListingFormat {
    /// Aligned columns, grouped by class.
    #[default]
    Text,
    /// A JSON array of objects, one per field.
    Json,
    /// A Markdown table per class.
    Markdown,
}

impl FromStr for ListingFormat {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(ListingFormat::Text),
            "json" => Ok(ListingFormat::Json),
            "markdown" | "md" => Ok(ListingFormat::Markdown),
            _ => Err(UnknownName {
                kind: "listing format",
                name: s.to_owned(),
            }),
        }
    }
}

/// Renders the listing of every field in the given format.
///
/// Every field is listed, including table-only and hidden helpers, because the listing is the
/// reference for what Lanner accepts; their flags say what they are.
pub fn render(format: ListingFormat) -> String {
    match format {
        ListingFormat::Text => render_text(),
        ListingFormat::Json => render_json(),
        ListingFormat::Markdown => render_markdown(),
    }
}

/// Short remarks shown after a description in the text and Markdown listings.
fn notes(field: &FieldInfo) -> Vec<&'static str> {
    let mut notes = Vec::new();
    if field.is_list {
        notes.push("list");
    }
    if field.arg.presence == ArgPresence::Optional {
        notes.push("argument optional");
    }
    if field.deprecation.is_deprecated() {
        notes.push("deprecated");
    }
    if field.flags.contains(FieldFlags::FILTER_ONLY) {
        notes.push("filter only");
    }
    if field.flags.contains(FieldFlags::PRINT_ONLY) {
        notes.push("output only");
    }
    if field.flags.contains(FieldFlags::TABLE_ONLY) {
        notes.push("table only");
    }
    if field.flags.contains(FieldFlags::HIDDEN) {
        notes.push("hidden");
    }
    if field.provider == Provider::ContainerPlugin {
        notes.push("container plugin");
    }
    notes
}

fn described(field: &FieldInfo) -> String {
    let notes = notes(field);
    if notes.is_empty() {
        field.description.to_owned()
    } else {
        format!("{} ({})", field.description, notes.join("; "))
    }
}

fn by_class() -> Vec<(FieldClass, Vec<&'static FieldInfo>)> {
    classes()
        .into_iter()
        .map(|class| {
            let members = fields().iter().filter(|f| f.class == class).collect();
            (class, members)
        })
        .collect()
}

/// Plain-text listing: a heading per class, then name, type and description in aligned columns.
pub fn render_text() -> String {
    let name_width = fields()
        .iter()
        .map(|f| f.display_name().len())
        .max()
        .unwrap_or(0);
    let type_width = fields()
        .iter()
        .map(|f| f.ty.as_str().len())
        .max()
        .unwrap_or(0);

    let mut out = String::new();
    for (i, (class, members)) in by_class().into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "Field class: {class} ({} fields)", members.len());
        let _ = writeln!(out);
        for field in members {
            let line = format!(
                "{:name_width$}  {:type_width$}  {}",
                field.display_name(),
                field.ty.as_str(),
                described(field),
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    out
}

/// The argument of a field in the JSON listing.
#[derive(Serialize)]
struct JsonArg {
    required: bool,
    form: &'static str,
    syntax: &'static str,
}

/// One field in the JSON listing. The key order is part of the format: keep it stable.
#[derive(Serialize)]
struct JsonField {
    name: &'static str,
    #[serde(rename = "type")]
    ty: &'static str,
    list: bool,
    arg: Option<JsonArg>,
    class: &'static str,
    provider: &'static str,
    flags: Vec<&'static str>,
    deprecated: bool,
    aliases: &'static [&'static str],
    description: &'static str,
}

impl JsonField {
    fn new(field: &'static FieldInfo) -> Self {
        JsonField {
            name: field.name,
            ty: field.ty.as_str(),
            list: field.is_list,
            arg: field.arg.allowed().then_some(JsonArg {
                required: field.arg.required(),
                form: field.arg.form.as_str(),
                syntax: field.arg.syntax(),
            }),
            class: field.class.as_str(),
            provider: field.provider.as_str(),
            flags: field.flags.names().collect(),
            deprecated: field.deprecation.is_deprecated(),
            aliases: field.aliases,
            description: field.description,
        }
    }
}

/// JSON listing: a pretty-printed array with one object per field, in table order.
pub fn render_json() -> String {
    let items: Vec<JsonField> = fields().iter().map(JsonField::new).collect();
    // Serialising plain strings, booleans and vectors cannot fail; should serde_json ever
    // report an error anyway, an empty array is a safer answer than a panic in a CLI listing.
    let mut text = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_owned());
    text.push('\n');
    text
}

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Markdown listing: a section with one table per class.
pub fn render_markdown() -> String {
    let mut out = String::from("# Fields\n");
    for (class, members) in by_class() {
        let _ = writeln!(out);
        let _ = writeln!(out, "## {class}");
        let _ = writeln!(out);
        let _ = writeln!(out, "| Field | Type | Description |");
        let _ = writeln!(out, "|---|---|---|");
        for field in members {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                cell(&field.display_name()),
                field.ty.as_str(),
                cell(&described(field)),
            );
        }
    }
    out
}
