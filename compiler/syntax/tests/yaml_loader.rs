//! The YAML loader's structure checks: item kinds, keys, shapes, and one test per diagnostic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use lanner_syntax::rules::{
    ExceptionValue, ItemKind, OverrideOp, Priority, RulesFile, ScalarOrSeq,
};
use lanner_syntax::{Diagnostic, FileId, Severity, yaml};

fn load(text: &str) -> (RulesFile, Vec<Diagnostic>) {
    yaml::load(FileId(7), text)
}

fn ids(diags: &[Diagnostic]) -> Vec<&'static str> {
    diags.iter().map(|d| d.code.id).collect()
}

/// The text a diagnostic's primary span points at.
fn at<'a>(text: &'a str, d: &Diagnostic) -> &'a str {
    &text[d.primary.span.range()]
}

/// The only diagnostic of a load, which must have the given code.
fn only(text: &str, code: &str) -> Diagnostic {
    let (_, diags) = load(text);
    assert_eq!(ids(&diags), vec![code], "{diags:#?}");
    diags.into_iter().next().unwrap()
}

fn counts(file: &RulesFile) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for item in &file.items {
        match item.kind {
            ItemKind::List(_) => c.0 += 1,
            ItemKind::Macro(_) => c.1 += 1,
            ItemKind::Rule(_) => c.2 += 1,
            _ => {}
        }
    }
    c
}

const RULE: &str =
    "- rule: R\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: WARNING\n";

// ---- upstream files ------------------------------------------------------------------------

fn upstream(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream-rules");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// Count items independently of the loader: a line `- list:` starts a list, and so on. One
/// sandbox macro starts with `- condition:` and has its `macro:` key on the next line.
fn grep_counts(text: &str) -> (usize, usize, usize) {
    let count = |p: &str| text.lines().filter(|l| l.starts_with(p)).count();
    (
        count("- list:"),
        count("- macro:") + count("  macro:"),
        count("- rule:"),
    )
}

#[test]
fn upstream_files_load_cleanly() {
    for (name, expected) in [
        ("falco_rules.yaml", (49, 87, 25)),
        ("falco-incubating_rules.yaml", (54, 82, 31)),
        ("falco-sandbox_rules.yaml", (60, 183, 37)),
    ] {
        let text = upstream(name);
        let (file, diags) = load(&text);
        assert!(diags.is_empty(), "{name}: {diags:#?}");
        assert_eq!(counts(&file), expected, "{name}");
        assert_eq!(grep_counts(&text), expected, "{name}");
        let rules: Vec<_> = file
            .items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::Rule(r) => Some(r),
                _ => None,
            })
            .collect();
        for r in &rules {
            assert!(
                r.condition.is_some() && r.output.is_some() && r.desc.is_some(),
                "{}",
                r.name.value
            );
            assert!(r.priority.is_some() && r.tags.is_some(), "{}", r.name.value);
            assert_eq!(&text[r.name.span.range()], r.name.value);
        }
        // One engine version and one plugin requirement per file.
        let engine: Vec<_> = file
            .items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::RequiredEngineVersion(s) => Some(s.value.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(engine, vec!["0.57.0".to_string()], "{name}");
        let plugins: Vec<_> = file
            .items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::RequiredPluginVersions(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(plugins.len(), 1);
        assert_eq!(plugins[0][0].name.as_ref().unwrap().value, "container");
        assert_eq!(plugins[0][0].version.as_ref().unwrap().value, "0.4.0");
    }
}

#[test]
fn sandbox_disabled_rules_are_read() {
    let (file, _) = load(&upstream("falco-sandbox_rules.yaml"));
    let disabled = file
        .items
        .iter()
        .filter(
            |i| matches!(&i.kind, ItemKind::Rule(r) if r.enabled.as_ref().is_some_and(|e| !e.node)),
        )
        .count();
    assert_eq!(disabled, 12);
}

// ---- structure -----------------------------------------------------------------------------

#[test]
fn a_full_rule_is_read_with_spans() {
    let text = "- rule: R\n  desc: d\n  condition: >\n    evt.type=open\n  output: \"  o %proc.name \"\n  priority: info\n  tags: [a, b]\n  enabled: Yes\n  capture_duration: 15000\n  source: syscall\n";
    let (file, diags) = load(text);
    assert!(diags.is_empty(), "{diags:#?}");
    let item = &file.items[0];
    assert_eq!(&text[item.key_span.range()], "rule");
    assert_eq!(item.keys.len(), 9);
    let ItemKind::Rule(r) = &item.kind else {
        panic!()
    };
    assert_eq!(r.name.value, "R");
    assert_eq!(r.condition.as_ref().unwrap().value, "evt.type=open\n");
    // Falco trims outputs; the trimmed value still maps into the file.
    let out = r.output.as_ref().unwrap();
    assert_eq!(out.value, "o %proc.name");
    assert_eq!(&text[out.map.to_file(2)..][..5], "%proc");
    assert_eq!(r.priority.as_ref().unwrap().node, Priority::Informational);
    assert_eq!(r.tags.as_ref().unwrap().node.len(), 2);
    assert!(r.enabled.as_ref().unwrap().node);
    assert_eq!(r.capture_duration.as_ref().unwrap().node, 15000);
    assert_eq!(r.source.as_ref().unwrap().value, "syscall");
}

#[test]
fn several_documents_and_null_items() {
    let text = "- list: a\n  items: []\n-\n- ~\n---\n---\n- macro: m\n  condition: x\n...\n";
    let (file, diags) = load(text);
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(counts(&file), (1, 1, 0));
}

#[test]
fn empty_and_comment_only_files_are_fine() {
    for text in ["", "# nothing\n", "---\n", "\n\n"] {
        let (file, diags) = load(text);
        assert!(diags.is_empty() && file.items.is_empty(), "{text:?}");
    }
}

#[test]
fn kind_is_decided_by_key_order() {
    // `macro` wins over `rule`, whatever the key order in the mapping.
    let (file, diags) = load("- condition: x\n  rule: r\n  macro: m\n");
    assert!(matches!(file.items[0].kind, ItemKind::Macro(_)));
    // `rule` is an unknown key of a macro.
    assert_eq!(ids(&diags), vec!["L005"]);
}

#[test]
fn exceptions_are_parsed() {
    let text = format!(
        "{RULE}  exceptions:\n    - name: ex1\n      fields: [proc.name, fd.name]\n      comps: [=, startswith]\n      values:\n        - [cat, /etc]\n        - [[a, b], /tmp]\n    - name: ex2\n      fields: proc.name\n      comps: in\n      values: [sh, bash]\n"
    );
    let (file, diags) = load(&text);
    assert!(diags.is_empty(), "{diags:#?}");
    let ItemKind::Rule(r) = &file.items[0].kind else {
        panic!()
    };
    let ex = &r.exceptions.as_ref().unwrap().node;
    assert_eq!(ex.len(), 2);
    assert!(matches!(&ex[0].fields, Some(ScalarOrSeq::Seq(s)) if s.node.len() == 2));
    let values = &ex[0].values.as_ref().unwrap().node;
    let ExceptionValue::Tuple(t) = &values[1] else {
        panic!()
    };
    assert!(matches!(&t.node[0], ExceptionValue::Tuple(inner) if inner.node.len() == 2));
    assert!(matches!(&ex[1].fields, Some(ScalarOrSeq::Scalar(s)) if s.value == "proc.name"));
}

#[test]
fn overrides_are_parsed() {
    let text = format!(
        "{RULE}- rule: R\n  condition: and proc.name=cat\n  priority: ERROR\n  override:\n    condition: append\n    priority: replace\n"
    );
    let (file, diags) = load(&text);
    assert!(diags.is_empty(), "{diags:#?}");
    let ItemKind::Rule(r) = &file.items[1].kind else {
        panic!()
    };
    let o = r.override_.as_ref().unwrap();
    assert_eq!(o.entries.len(), 2);
    assert_eq!(o.entries[0].key.node, "condition");
    assert_eq!(o.entries[0].op.node, OverrideOp::Append);
    assert_eq!(o.entries[1].op.node, OverrideOp::Replace);
}

#[test]
fn l015_enabled_only_items_are_deprecated() {
    let text = "- rule: R\n  enabled: false\n";
    let d = only(text, "L015");
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(at(text, &d), "enabled: false");
    let (_, diags) = load("- rule: R\n  enabled: false\n  override:\n    enabled: replace\n");
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn legacy_append_needs_condition_or_exceptions() {
    let (_, diags) = load("- rule: R\n  append: true\n  condition: and x\n");
    assert_eq!(ids(&diags), vec!["L013"]);
    let (_, diags) = load("- rule: R\n  append: true\n  enabled: true\n");
    assert_eq!(ids(&diags), vec!["L013", "L007"]);
}

#[test]
fn empty_source_is_allowed_only_when_appending() {
    let (_, diags) =
        load("- rule: R\n  condition: and x\n  source: \"\"\n  override:\n    condition: append\n");
    assert!(diags.is_empty(), "{diags:#?}");
    let text = format!("{RULE}  source: \"\"\n");
    let d = only(&text, "L008");
    assert_eq!(at(&text, &d), "\"\"");
    let text = format!("{RULE}  source:\n");
    let d = only(&text, "L008");
    assert_eq!(at(&text, &d), "source");
    let (_, diags) = load("- rule: R\n  condition: and x\n  source:\n  append: true\n");
    assert_eq!(ids(&diags), vec!["L013"]);
}

// ---- one test per diagnostic ---------------------------------------------------------------

#[test]
fn l001_syntax_error_keeps_earlier_items() {
    let text = format!(
        "{RULE}- macro: m\n  condition: x\n- rule: Q\n  desc: d\n   condition: evt.type=open\n"
    );
    let (file, diags) = load(&text);
    assert_eq!(ids(&diags), vec!["L001"]);
    assert_eq!(counts(&file), (0, 1, 1));
    assert!(diags[0].message.starts_with("invalid yaml: "));
    assert!(diags[0].is_error());
}

#[test]
fn l001_tab_indentation() {
    let text = "- rule: R\n\tdesc: d\n";
    let d = only(text, "L001");
    assert!(d.help.unwrap().contains("tabs"));
}

#[test]
fn l001_unterminated_quote() {
    let d = only("- rule: \"R\n", "L001");
    assert_eq!(d.severity, Severity::Error);
}

#[test]
fn l002_document_not_a_sequence() {
    let text = "rule: R\ndesc: d\n";
    let d = only(text, "L002");
    assert_eq!(at(text, &d), "rule");
    assert_eq!(
        d.message,
        "a rules document must be a sequence of items, found a mapping"
    );
    // A scalar document too.
    only("just text\n", "L002");
}

#[test]
fn l002_does_not_stop_other_documents() {
    let (file, diags) = load("a: b\n---\n- list: l\n  items: [x]\n");
    assert_eq!(ids(&diags), vec!["L002"]);
    assert_eq!(counts(&file), (1, 0, 0));
}

#[test]
fn l003_item_not_a_mapping() {
    let text = format!("- just a string\n- [a, b]\n{RULE}");
    let (file, diags) = load(&text);
    assert_eq!(ids(&diags), vec!["L003", "L003"]);
    assert_eq!(at(&text, &diags[0]), "just a string");
    assert_eq!(at(&text, &diags[1]), "[a, b]");
    assert_eq!(counts(&file), (0, 0, 1));
}

#[test]
fn l004_unknown_item() {
    let text = "- rool: X\n  desc: d\n";
    let d = only(text, "L004");
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(at(text, &d), "rool");
    assert_eq!(
        d.help.as_deref(),
        Some("did you mean `rule` instead of `rool`?")
    );
    let (file, _) = load(text);
    assert!(matches!(file.items[0].kind, ItemKind::Unknown));
}

#[test]
fn l005_unknown_key() {
    let text = format!("{RULE}  condtion: x\n  severity: high\n");
    let (_, diags) = load(&text);
    assert_eq!(ids(&diags), vec!["L005", "L005"]);
    assert_eq!(diags[0].message, "unknown key `condtion` in rule");
    assert_eq!(at(&text, &diags[0]), "condtion");
    // `condition` is present, so no suggestion to rename to it.
    assert!(
        diags[0]
            .help
            .as_deref()
            .unwrap()
            .starts_with("a rule accepts")
    );
    assert_eq!(diags[1].item.as_deref(), Some("R"));
    let text = "- macro: m\n  condtion: x\n";
    let (_, diags) = load(text);
    assert_eq!(ids(&diags), vec!["L005", "L007"]);
    assert_eq!(diags[0].help.as_deref(), Some("did you mean `condition`?"));
    assert_eq!(diags[0].fix.as_ref().unwrap().replacement, "condition");
}

#[test]
fn l006_wrong_types() {
    // A `: ` in a plain value makes a mapping.
    let text = "- rule: R\n  desc: d\n  condition:\n    a: b\n  output: o\n  priority: INFO\n";
    let d = only(text, "L006");
    assert_eq!(
        d.message,
        "expected a string for `condition`, found a mapping"
    );
    assert_eq!(at(text, &d), "a: b");
    assert_eq!(d.item.as_deref(), Some("R"));

    let text = format!("{RULE}  tags: network\n");
    let d = only(&text, "L006");
    assert_eq!(at(&text, &d), "network");
    assert_eq!(d.help.as_deref(), Some("write `tags: [network]`"));

    let text = format!("{RULE}  enabled: maybe\n");
    let d = only(&text, "L006");
    assert_eq!(d.message, "expected a boolean for `enabled`, found `maybe`");

    let text = format!("{RULE}  capture_duration: soon\n");
    only(&text, "L006");

    let text = "- list: l\n  items: a, b\n";
    let d = only(text, "L006");
    assert_eq!(at(text, &d), "a, b");

    let text = "- list: l\n  items: [a, [b], {c: d}]\n";
    let (_, diags) = load(text);
    assert_eq!(ids(&diags), vec!["L006", "L006"]);

    let text = format!("{RULE}  exceptions: x\n");
    only(&text, "L006");
    let text = format!("{RULE}  exceptions: [x]\n");
    only(&text, "L006");

    let text = "- rule:\n    name: R\n  enabled: true\n";
    let (_, diags) = load(text);
    assert_eq!(ids(&diags), vec!["L006", "L015"]);
}

#[test]
fn l007_missing_keys() {
    let text = "- rule: R\n  desc: d\n  priority: WARNING\n";
    let (file, diags) = load(text);
    assert_eq!(ids(&diags), vec!["L007", "L007"]);
    assert_eq!(diags[0].message, "missing key `condition` in rule");
    assert_eq!(diags[1].message, "missing key `output` in rule");
    assert_eq!(at(text, &diags[0]), "rule");
    assert_eq!(diags[0].item.as_deref(), Some("R"));
    assert_eq!(counts(&file), (0, 0, 1));

    let d = only("- macro: m\n", "L007");
    assert_eq!(d.message, "missing key `condition` in macro");
    let d = only("- list: l\n", "L007");
    assert_eq!(d.message, "missing key `items` in list");
}

#[test]
fn l008_empty_values() {
    let text = "- rule: \"\"\n  desc: d\n  condition: \"\"\n  output: o\n  priority: WARNING\n";
    let (_, diags) = load(text);
    assert_eq!(ids(&diags), vec!["L008", "L008"]);
    assert_eq!(at(text, &diags[0]), "\"\"");
    assert_eq!(diags[1].message, "`condition` must not be empty");

    let text = "- macro: m\n  condition:\n";
    let d = only(text, "L008");
    assert_eq!(d.message, "`condition` has no value");
    assert_eq!(at(text, &d), "condition");

    let d = only("- list: l\n  items:\n", "L008");
    assert!(d.help.unwrap().contains("[]"));
}

#[test]
fn l009_duplicate_keys_use_the_first() {
    let text = "- macro: m\n  condition: first\n  condition: second\n";
    let (file, diags) = load(text);
    assert_eq!(ids(&diags), vec!["L009"]);
    assert_eq!(diags[0].severity, Severity::Warning);
    assert_eq!(
        diags[0].primary.span.start as usize,
        text.rfind("condition").unwrap()
    );
    assert_eq!(diags[0].secondary.len(), 1);
    let ItemKind::Macro(m) = &file.items[0].kind else {
        panic!()
    };
    assert_eq!(m.condition.as_ref().unwrap().value, "first");
}

#[test]
fn l010_invalid_priority() {
    let text = "- rule: R\n  desc: d\n  condition: c\n  output: o\n  priority: WARNNG\n";
    let d = only(text, "L010");
    assert_eq!(d.message, "invalid priority `WARNNG`");
    assert_eq!(at(text, &d), "WARNNG");
    let help = d.help.unwrap();
    assert!(help.starts_with("did you mean `WARNING`?"), "{help}");
    assert!(help.contains("`informational`"));
    let d = only(&text.replace("WARNNG", "SUPER"), "L010");
    assert!(d.help.unwrap().starts_with("valid priorities"));
}

#[test]
fn l011_override_problems() {
    // Not appendable.
    let text = format!("{RULE}- rule: R\n  priority: ERROR\n  override:\n    priority: append\n");
    let d = only(&text, "L011");
    assert_eq!(d.message, "`priority` cannot be appended to");
    assert_eq!(d.help.as_deref(), Some("use `replace` instead"));

    // Unknown operation.
    let text = format!("{RULE}- rule: R\n  condition: and x\n  override:\n    condition: merge\n");
    let d = only(&text, "L011");
    assert_eq!(at(&text, &d), "merge");
    assert_eq!(
        d.message,
        "invalid override operation `merge` for `condition`"
    );

    // Override entry without the key.
    let text = format!(
        "{RULE}- rule: R\n  desc: more\n  override:\n    desc: append\n    condition: append\n"
    );
    let d = only(&text, "L011");
    assert!(d.message.contains("has no `condition`"), "{}", d.message);

    // Overridable key without an entry.
    let text = format!(
        "{RULE}- rule: R\n  desc: more\n  priority: ERROR\n  override:\n    desc: append\n"
    );
    let d = only(&text, "L011");
    assert_eq!(d.message, "`priority` has no entry under `override`");
    assert_eq!(at(&text, &d), "priority");

    // `append: true` with `override`.
    let text = format!(
        "{RULE}- rule: R\n  condition: and x\n  append: true\n  override:\n    condition: append\n"
    );
    let (_, diags) = load(&text);
    assert_eq!(ids(&diags), vec!["L013", "L011"]);

    // Not a mapping.
    let text = "- list: l\n  items: [a]\n  override: append\n";
    only(text, "L011");
}

#[test]
fn l012_invalid_versions() {
    let text = "- required_engine_version: latest\n";
    let d = only(text, "L012");
    assert_eq!(at(text, &d), "latest");
    let (_, diags) = load("- required_engine_version: 12\n- required_engine_version: 0.57.0\n");
    assert!(diags.is_empty());
    let text = "- required_plugin_versions:\n  - name: container\n    version: 0.x\n";
    let d = only(text, "L012");
    assert_eq!(at(text, &d), "0.x");
    let text = "- required_plugin_versions:\n  - name: k8saudit\n    version: 0.1.0\n    alternatives:\n      - name: k8saudit-eks\n        version: bad\n";
    only(text, "L012");
}

#[test]
fn l013_deprecated_append() {
    let text = "- list: l\n  items: [a]\n  append: true\n";
    let d = only(text, "L013");
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(at(text, &d), "append: true");
    let (_, diags) = load("- list: l\n  items: [a]\n  append: false\n");
    assert!(diags.is_empty());
}

#[test]
fn l014_malformed_exceptions() {
    let text = format!("{RULE}  exceptions:\n    - fields: [proc.name]\n      values: [[cat]]\n");
    let d = only(&text, "L014");
    assert_eq!(d.message, "exception has no `name`");

    let text =
        format!("{RULE}  exceptions:\n    - name: no_fields\n      values:\n        - [cat]\n");
    let d = only(&text, "L014");
    assert_eq!(d.message, "exception `no_fields` has no `fields`");

    let text =
        format!("{RULE}  exceptions:\n    - name: e\n      fields: proc.name\n      values: cat\n");
    let d = only(&text, "L014");
    assert_eq!(at(&text, &d), "cat");

    let text = format!(
        "{RULE}  exceptions:\n    - name: e\n      fields: [proc.name]\n      values: [[\"\"], [{{a: b}}]]\n"
    );
    let (_, diags) = load(&text);
    assert_eq!(ids(&diags), vec!["L014", "L014"]);

    // When appending, `fields` may be left out.
    let (_, diags) = load(
        "- rule: R\n  exceptions:\n    - name: e\n      values: [[x]]\n  override:\n    exceptions: append\n",
    );
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn broken_items_do_not_hide_others() {
    let text = format!(
        "- rule: A\n  desc: d\n- just text\n- list: l\n  items: x\n{RULE}- macro: m\n  condition: x\n  bogus: 1\n"
    );
    let (file, diags) = load(&text);
    assert_eq!(counts(&file), (1, 1, 2));
    assert_eq!(
        ids(&diags),
        vec!["L007", "L007", "L007", "L003", "L006", "L005"]
    );
    // Every message is lowercase and has no final period.
    for d in &diags {
        assert!(!d.message.ends_with('.'), "{}", d.message);
        assert!(
            d.message.chars().next().unwrap().is_lowercase(),
            "{}",
            d.message
        );
    }
}

/// Every fixture written for the CLI's snapshot tests loads without a panic, produces at least
/// one diagnostic, and starts with a `# ` comment saying what it shows.
#[test]
fn check_fixtures_all_report_something() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rulec/tests/fixtures/check");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("yaml_") || !name.ends_with(".yaml") {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# "), "{name}");
        let (_, diags) = load(&text);
        assert!(!diags.is_empty(), "{name} reports nothing");
    }
    assert!(seen >= 15, "only {seen} yaml fixtures");
}

#[test]
fn flow_sequences_may_close_at_the_key_column() {
    // yaml-cpp accepts a `]` in the key's column; the upstream sandbox file relies on it.
    let text = "- list: l\n  items: [\n    \"a b\",\n    c\n  ]\n- list: m\n  items: [x,\n  y]\n";
    let (file, diags) = load(text);
    assert!(diags.is_empty(), "{diags:#?}");
    let ItemKind::List(l) = &file.items[0].kind else {
        panic!()
    };
    let items = &l.items.as_ref().unwrap().node;
    assert_eq!(items[0].value, "a b");
    assert_eq!(&text[items[1].span.range()], "c");
    let ItemKind::List(m) = &file.items[1].kind else {
        panic!()
    };
    let items = &m.items.as_ref().unwrap().node;
    assert_eq!(&text[items[1].span.range()], "y");
}

/// Prints every fixture's diagnostics; run with `--ignored --nocapture` to review them.
#[test]
#[ignore]
fn dump_fixture_diagnostics() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rulec/tests/fixtures/check");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("yaml_") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let (_, diags) = load(&text);
        println!("== {name}");
        for d in diags {
            println!(
                "  {} {} [{}] `{}` label={:?} help={:?} item={:?}",
                d.code.id,
                d.severity.as_str(),
                d.message,
                at(&text, &d),
                d.label,
                d.help,
                d.item
            );
        }
    }
}

// ---- Falco's verdicts on broken files ------------------------------------------------------

/// The oracle cases: files Falco 0.44 loaded with `-V`, and the codes it reported. The loader
/// must report a structural error (`L0xx`) exactly when Falco reported a YAML parse or
/// validation error, and the unknown-item/unknown-key warnings when Falco did.
#[test]
fn oracle_validate_cases_agree_with_falco() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/scap/oracle-falco/validate");
    let tsv = std::fs::read_to_string(dir.join("results.tsv")).unwrap();
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let case = cols[0];
        let errors = cols.get(6).copied().unwrap_or("");
        let warnings = cols.get(8).copied().unwrap_or("");
        let text = std::fs::read_to_string(dir.join(format!("{case}.yaml"))).unwrap();
        let (_, diags) = load(&text);
        let ours_error = diags
            .iter()
            .any(|d| d.is_error() && d.code.id.starts_with("L0"));
        let falco_error =
            errors.contains("LOAD_ERR_YAML_PARSE") || errors.contains("LOAD_ERR_YAML_VALIDATE");
        if ours_error != falco_error {
            mismatches.push(format!(
                "{case}: falco errors {errors:?}, ours {:?}",
                ids(&diags)
            ));
        }
        for (falco, ours) in [("LOAD_UNKNOWN_ITEM", "L004"), ("LOAD_UNKNOWN_KEY", "L005")] {
            if warnings.contains(falco) != ids(&diags).contains(&ours) {
                mismatches.push(format!(
                    "{case}: falco warnings {warnings:?}, ours {:?}",
                    ids(&diags)
                ));
            }
        }
        for ours in ["L013", "L015"] {
            if ids(&diags).contains(&ours) && !warnings.contains("LOAD_DEPRECATED_ITEM") {
                mismatches.push(format!(
                    "{case}: {ours} without a Falco deprecation warning"
                ));
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 60);
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// Cutting a rules file anywhere never panics, keeps every item that ends before the cut, and
/// every scalar still maps back into the (shorter) text.
#[test]
fn truncated_files_never_panic() {
    let text = upstream("falco_rules.yaml");
    let (full, _) = load(&text);
    let mut cuts: Vec<usize> = text
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .step_by(7)
        .collect();
    cuts.extend(
        (0..text.len())
            .step_by(997)
            .filter(|i| text.is_char_boundary(*i)),
    );
    for cut in cuts {
        let part = &text[..cut];
        let (file, _) = load(part);
        let complete = full
            .items
            .iter()
            .filter(|i| (i.span.end as usize) < cut.saturating_sub(1))
            .count();
        assert!(
            file.items.len() + 1 >= complete,
            "cut at {cut}: {} items, {complete} complete",
            file.items.len()
        );
        for s in yaml::scalars(part) {
            for (off, _) in s.value.char_indices() {
                assert!(
                    s.map.to_file(off) < part.len(),
                    "cut at {cut}: {:?}",
                    s.value
                );
            }
        }
    }
}

#[test]
fn aliases_are_expanded_but_not_exponentially() {
    let text = "- list: a\n  items: &x [p, q]\n- list: b\n  items: *x\n";
    let (file, diags) = load(text);
    assert!(diags.is_empty(), "{diags:#?}");
    let ItemKind::List(b) = &file.items[1].kind else {
        panic!()
    };
    assert_eq!(b.items.as_ref().unwrap().node.len(), 2);

    let mut laughs = String::from("- list: l0\n  items: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*l{}", i - 1); 10].join(", ");
        laughs.push_str(&format!("- list: l{i}\n  items: &l{i} [{refs}]\n"));
    }
    let (_, diags) = load(&laughs);
    assert!(ids(&diags).contains(&"L001"), "{:?}", ids(&diags));
}

#[test]
fn l001_block_indentation_errors_stay_errors() {
    let text = "- rule: a\n  desc: b\n condition: c\n  output: o\n";
    let (_, diags) = load(text);
    assert!(ids(&diags).contains(&"L001"), "{:?}", ids(&diags));
}

#[test]
fn l006_keys_must_be_strings() {
    let text = "- [a, b]: c\n  rule: R\n  enabled: true\n";
    let (file, diags) = load(text);
    assert_eq!(ids(&diags), vec!["L006", "L015"]);
    assert_eq!(at(text, &diags[0]), "[a, b]");
    assert!(matches!(file.items[0].kind, ItemKind::Rule(_)));
}
