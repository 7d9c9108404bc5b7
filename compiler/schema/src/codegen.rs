//! Generator of `src/generated.rs` from `data/fields.json` and `data/descriptions.tsv`.
//!
//! Why a checked-in table plus a freshness test rather than a build script: the generated file
//! is ordinary source that reviewers see in diffs whenever the reference data changes, the
//! language server's "go to definition" lands on a real file, and every crate that depends on
//! the schema builds without compiling and running a JSON-parsing build script first (the build
//! machines have two cores shared by several engineers). The price is one command after editing
//! the data: `LANNER_REGENERATE=1 cargo test -p lanner-schema generated_table_is_fresh`.
//! Without that variable the test fails whenever the checked-in file is stale.
//!
//! fields.json is kept byte-identical to the reference copy so that it can be diffed against
//! new upstream snapshots; the descriptions come from descriptions.tsv, which Lanner owns.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::str::FromStr;

use serde_json::Value;

use crate::types::{
    ArgForm, ArgPresence, Deprecation, FieldClass, FieldFlags, FieldType, FilterCheck, PrintFormat,
    Provider,
};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One line of descriptions.tsv.
struct OwnText {
    description: String,
    aliases: Vec<String>,
}

fn read_descriptions() -> Result<BTreeMap<String, OwnText>, String> {
    let path = crate_dir().join("data/descriptions.tsv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for (lineno, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split('\t');
        let (Some(name), Some(description)) = (parts.next(), parts.next()) else {
            return Err(format!(
                "descriptions.tsv:{}: expected name<TAB>text",
                lineno + 1
            ));
        };
        let aliases = parts
            .next()
            .map(|a| {
                a.split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if parts.next().is_some() {
            return Err(format!("descriptions.tsv:{}: too many columns", lineno + 1));
        }
        let own = OwnText {
            description: description.to_owned(),
            aliases,
        };
        if out.insert(name.to_owned(), own).is_some() {
            return Err(format!("descriptions.tsv: {name} described twice"));
        }
    }
    Ok(out)
}

/// The names in data/extracted.txt: the fields lanner-state extracts.
fn read_extracted() -> Result<HashSet<String>, String> {
    let path = crate_dir().join("data/extracted.txt");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

/// The `FieldId` variant of a field name: `proc.exe_ino.ctime` is `ProcExeInoCtime`.
fn variant(name: &str) -> String {
    name.split(['.', '_'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// FNV-1a, 64 bits: stable across Rust versions and platforms, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn read_fields() -> Result<Vec<Value>, String> {
    let path = crate_dir().join("data/fields.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("fields.json: {e}"))?;
    match value {
        Value::Array(items) => Ok(items),
        _ => Err("fields.json: expected an array".to_owned()),
    }
}

fn str_of<'a>(field: &'a Value, key: &str) -> Result<&'a str, String> {
    field
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{field}: missing string '{key}'"))
}

fn bool_of(field: &Value, key: &str) -> Result<bool, String> {
    match field.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!("'{key}' is not a boolean: {other}")),
    }
}

/// Maps the reference's argument description to Lanner's argument form. The reference uses a
/// handful of generic kinds; the special cases below are the fields whose syntax language.md
/// §4.2 describes individually.
fn arg_form(name: &str, kind: Option<&str>) -> Result<ArgForm, String> {
    Ok(match (name, kind) {
        (_, None) => ArgForm::None,
        ("evt.around", Some("index")) => ArgForm::Timestamp,
        (_, Some("index")) => ArgForm::Index,
        ("k8s.pod.label", Some("key")) => ArgForm::KeyOrSuffix,
        // An all-digit key selects the variable by position (language.md §4.2).
        ("proc.env", Some("key")) => ArgForm::IndexOrKey,
        (_, Some("key")) => ArgForm::Key,
        (_, Some("index_or_key")) => ArgForm::IndexOrKey,
        ("evt.arg", Some("index_or_name")) => ArgForm::IndexOrParam,
        ("evt.type.is", Some("name_or_index")) => ArgForm::EventType,
        ("evt.rawarg", Some("name")) => ArgForm::Param,
        ("thread.cgroup", Some("name")) => ArgForm::Subsystem,
        ("evt.abspath", Some("suffix")) => ArgForm::PathSide,
        (name, Some(kind)) => return Err(format!("{name}: unmapped argument kind {kind}")),
    })
}

fn filter_check(field: &Value) -> Result<FilterCheck, String> {
    let check = str_of(field, "filtercheck")?;
    Ok(match check {
        "evt" if bool_of(field, "source_agnostic")? => FilterCheck::GenericEvt,
        "evt" => FilterCheck::SyscallEvt,
        other => FilterCheck::from_str(other).map_err(|e| e.to_string())?,
    })
}

fn provider(field: &Value) -> Result<Provider, String> {
    let text = str_of(field, "provider")?;
    if text.starts_with("libsinsp") {
        Ok(Provider::Libsinsp)
    } else if text.starts_with("container plugin") {
        Ok(Provider::ContainerPlugin)
    } else {
        Err(format!("unknown provider {text}"))
    }
}

/// Produces the text of `src/generated.rs`.
pub(crate) fn generate() -> Result<String, String> {
    let fields = read_fields()?;
    let own = read_descriptions()?;
    let extracted = read_extracted()?;

    let mut out = String::new();
    out.push_str(
        "// @generated by src/codegen.rs from data/fields.json and data/descriptions.tsv.\n\
         // Do not edit: run `LANNER_REGENERATE=1 cargo test -p lanner-schema generated_table_is_fresh`.\n\n\
         use crate::FieldInfo;\n\
         use crate::types::{ArgForm, ArgPresence, ArgSpec, Deprecation, FieldClass, FieldFlags, FieldType, FilterCheck, PrintFormat, Provider};\n\n\
         pub(crate) static FIELDS: &[FieldInfo] = &[\n",
    );

    let mut names: Vec<(String, usize)> = Vec::new();
    let mut seen = HashSet::new();
    let mut variants: Vec<(String, String)> = Vec::new();
    // What a compiled program depends on: every column but the prose.
    let mut semantic = String::new();
    for (index, field) in fields.iter().enumerate() {
        let name = str_of(field, "name")?;
        if !seen.insert(name.to_owned()) {
            return Err(format!("{name}: duplicated in fields.json"));
        }
        let ty = FieldType::from_str(str_of(field, "type")?).map_err(|e| e.to_string())?;
        let is_list = bool_of(field, "is_list")?;
        let presence = ArgPresence::from_str(str_of(field, "arg")?).map_err(|e| e.to_string())?;
        let form = arg_form(name, field.get("arg_kind").and_then(Value::as_str))?;
        if (presence == ArgPresence::None) != (form == ArgForm::None) {
            return Err(format!("{name}: argument presence and kind disagree"));
        }
        let class = FieldClass::from_str(str_of(field, "class")?).map_err(|e| e.to_string())?;
        let check = filter_check(field)?;
        let provider = provider(field)?;

        let mut flag_names: Vec<&str> = Vec::new();
        for flag in field
            .get("flags")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{name}: flags missing"))?
        {
            let flag = flag.as_str().ok_or_else(|| format!("{name}: bad flag"))?;
            let known = FieldFlags::from_name(flag)
                .ok_or_else(|| format!("{name}: unknown flag {flag}"))?;
            let canonical = FieldFlags::NAMED
                .iter()
                .find(|(f, _)| *f == known)
                .map(|(_, n)| *n)
                .ok_or_else(|| format!("{name}: flag {flag} has no name"))?;
            flag_names.push(canonical);
        }
        // libsinsp hides the whole util class from listings; the reference records that only
        // in prose, so the flag is derived from the class here.
        if class == FieldClass::Util {
            flag_names.push("HIDDEN");
        }
        let flags = flag_names
            .iter()
            .filter_map(|n| FieldFlags::from_name(n))
            .fold(FieldFlags::EMPTY, FieldFlags::union);
        if flags.contains(FieldFlags::IS_LIST) != is_list {
            return Err(format!("{name}: IS_LIST flag and is_list disagree"));
        }
        let deprecated = bool_of(field, "deprecated")?;
        if flags.contains(FieldFlags::DEPRECATED) != deprecated {
            return Err(format!("{name}: DEPRECATED flag and deprecated disagree"));
        }
        let warned = bool_of(field, "falco_warns_deprecated")?;
        let deprecation = match (deprecated, warned) {
            (false, false) => Deprecation::No,
            (true, false) => Deprecation::Deprecated,
            (_, true) => Deprecation::Warned,
        };
        let print_format =
            PrintFormat::from_str(str_of(field, "print_format")?).map_err(|e| e.to_string())?;
        let any_ancestor = bool_of(field, "multi_match_without_arg")?;
        let source_agnostic = bool_of(field, "source_agnostic")?;

        let text = own
            .get(name)
            .ok_or_else(|| format!("{name}: no entry in descriptions.tsv"))?;

        let flags_expr = if flag_names.is_empty() {
            "FieldFlags::EMPTY".to_owned()
        } else {
            let mut expr = "FieldFlags::EMPTY".to_owned();
            for flag in FieldFlags::NAMED {
                if flags.contains(flag.0) {
                    let _ = write!(expr, ".union(FieldFlags::{})", flag.1);
                }
            }
            expr
        };
        let aliases = text
            .aliases
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ");

        let id = variant(name);
        if variants.iter().any(|(v, _)| *v == id) {
            return Err(format!("{name}: FieldId::{id} names two fields"));
        }
        variants.push((id.clone(), name.to_owned()));
        let is_extracted = extracted.contains(name);
        let _ = writeln!(
            semantic,
            "{name}|{ty:?}|{is_list}|{presence:?}|{form:?}|{}|{any_ancestor}|{is_extracted}",
            flags.bits()
        );

        let _ = writeln!(out, "    // {index}");
        let _ = writeln!(out, "    FieldInfo {{");
        let _ = writeln!(out, "        id: Some(FieldId::{id}),");
        let _ = writeln!(out, "        name: {name:?},");
        let _ = writeln!(out, "        ty: FieldType::{ty:?},");
        let _ = writeln!(out, "        is_list: {is_list},");
        let _ = writeln!(
            out,
            "        arg: ArgSpec {{ presence: ArgPresence::{presence:?}, form: ArgForm::{form:?} }},"
        );
        let _ = writeln!(out, "        class: FieldClass::{class:?},");
        let _ = writeln!(out, "        check: FilterCheck::{check:?},");
        let _ = writeln!(out, "        provider: Provider::{provider:?},");
        let _ = writeln!(out, "        source_agnostic: {source_agnostic},");
        let _ = writeln!(out, "        flags: {flags_expr},");
        let _ = writeln!(out, "        print_format: PrintFormat::{print_format:?},");
        let _ = writeln!(out, "        deprecation: Deprecation::{deprecation:?},");
        let _ = writeln!(out, "        any_ancestor: {any_ancestor},");
        let _ = writeln!(out, "        aliases: &[{aliases}],");
        let _ = writeln!(out, "        description: {:?},", text.description);
        let _ = writeln!(out, "        extracted: {is_extracted},");
        let _ = writeln!(out, "    }},");
        names.push((name.to_owned(), index));
    }
    for name in own.keys() {
        if !seen.contains(name) {
            return Err(format!("descriptions.tsv: {name} is not in fields.json"));
        }
    }
    out.push_str("];\n\n");

    names.sort();
    out.push_str(
        "/// Field names in byte order with their position in `FIELDS`, for binary search.\n",
    );
    out.push_str("pub(crate) static BY_NAME: &[(&str, u16)] = &[\n");
    for (name, index) in &names {
        let _ = writeln!(out, "    ({name:?}, {index}),");
    }
    out.push_str("];\n");
    for name in &extracted {
        if !seen.contains(name) {
            return Err(format!("extracted.txt: {name} is not in fields.json"));
        }
    }

    out.push_str(
        "\n/// Every field of the schema, by position in `FIELDS`: programs name fields by this id, \
         never by a string.\n",
    );
    out.push_str(
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]\n\
         #[repr(u16)]\npub enum FieldId {\n",
    );
    for (index, (id, name)) in variants.iter().enumerate() {
        let _ = writeln!(out, "    /// `{name}`\n    {id} = {index},");
    }
    out.push_str("}\n\nimpl FieldId {\n    /// Every field id, in table order.\n    pub const ALL: &'static [FieldId] = &[\n");
    for (id, _) in &variants {
        let _ = writeln!(out, "        FieldId::{id},");
    }
    out.push_str("    ];\n}\n\n");
    let _ = writeln!(
        out,
        "/// FNV-1a of every field's name, type, argument rule, flags and extraction mark, in table\n\
         /// order: a serialised program records it and is refused by a schema with another.\n\
         pub const SCHEMA_HASH: u64 = {:#018x};",
        fnv1a(semantic.as_bytes())
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when src/generated.rs is stale; with LANNER_REGENERATE=1 it rewrites the file.
    #[test]
    fn generated_table_is_fresh() {
        let fresh = generate().unwrap();
        let path = crate_dir().join("src/generated.rs");
        if std::env::var_os("LANNER_REGENERATE").is_some() {
            std::fs::write(&path, &fresh).unwrap();
            return;
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            current == fresh,
            "src/generated.rs is stale; run \
             `LANNER_REGENERATE=1 cargo test -p lanner-schema generated_table_is_fresh`"
        );
    }

    /// Lanner's descriptions must be its own text: never the reference wording, one line each.
    #[test]
    fn descriptions_are_our_own() {
        let fields = read_fields().unwrap();
        let own = read_descriptions().unwrap();
        for field in &fields {
            let name = str_of(field, "name").unwrap();
            let reference = str_of(field, "description").unwrap();
            let ours = &own[name].description;
            assert_ne!(ours.trim(), reference.trim(), "{name}: description copied");
            assert!(!ours.contains('\n') && !ours.trim().is_empty(), "{name}");
            assert!(
                ours.len() <= 140,
                "{name}: description longer than one line"
            );
        }
    }
}
