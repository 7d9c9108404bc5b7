//! The `rulec fields` listings: snapshots of every format plus structural checks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use lanner_schema::{ListingFormat, fields, render, render_json, render_markdown, render_text};
use serde_json::Value;

#[test]
fn json_snapshot() {
    insta::assert_snapshot!("fields_json", render_json());
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("fields_markdown", render_markdown());
}

#[test]
fn text_snapshot() {
    insta::assert_snapshot!("fields_text", render_text());
}

#[test]
fn json_is_a_stable_array_of_objects() {
    let parsed: Value = serde_json::from_str(&render_json()).unwrap();
    let items = parsed.as_array().unwrap();
    assert_eq!(items.len(), fields().len());
    let keys = [
        "name",
        "type",
        "list",
        "arg",
        "class",
        "provider",
        "flags",
        "deprecated",
        "aliases",
        "description",
    ];
    for item in items {
        let object = item.as_object().unwrap();
        assert_eq!(object.keys().count(), keys.len());
        for key in keys {
            assert!(object.contains_key(key), "{key} missing in {item}");
        }
    }
    let aname = items.iter().find(|i| i["name"] == "proc.aname").unwrap();
    assert_eq!(aname["arg"]["required"], false);
    assert_eq!(aname["arg"]["syntax"], "[N]");
    assert_eq!(
        aname["flags"],
        serde_json::json!(["NO_RHS", "NO_TRANSFORMER"])
    );
    let name = items.iter().find(|i| i["name"] == "proc.name").unwrap();
    assert!(name["arg"].is_null());
    assert_eq!(name["type"], "CHARBUF");
}

#[test]
fn text_is_grouped_and_aligned() {
    let text = render_text();
    assert!(text.starts_with("Field class: evt (76 fields)\n"));
    assert!(text.contains("\nField class: k8s (29 fields)\n"));
    // Every field line starts its description in the same column.
    let columns: Vec<usize> = text
        .lines()
        .filter(|l| l.starts_with("proc.") || l.starts_with("fd."))
        .map(|l| {
            let type_start = l.find(' ').unwrap();
            type_start + l[type_start..].find(|c: char| c != ' ').unwrap()
        })
        .collect();
    assert!(columns.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn markdown_has_a_table_per_class() {
    let md = render_markdown();
    assert_eq!(md.matches("\n## ").count(), 11);
    assert_eq!(md.matches("|---|---|---|").count(), 11);
    // Pipes inside cells are escaped so that tables stay intact.
    assert!(md.contains("`evt.abspath.src\\|.dst`"));
}

#[test]
fn format_dispatch() {
    assert_eq!(
        render("json".parse::<ListingFormat>().unwrap()),
        render_json()
    );
    assert_eq!(render(ListingFormat::Markdown), render_markdown());
    assert_eq!(render(ListingFormat::default()), render_text());
    assert!("yaml".parse::<ListingFormat>().is_err());
}
