//! The registry of diagnostic codes.
//!
//! INVARIANT: codes are never renumbered or reused. Ranges: `L0xx` YAML and file structure,
//! `L1xx` condition and output syntax, `L2xx` resolution (lists, macros, append/override),
//! `L3xx` fields, operators and values, `L4xx` Lanner's own lints.

use crate::diagnostic::{Code, Severity};

macro_rules! codes {
    ($( $(#[$doc:meta])* $konst:ident = $id:literal, $name:literal, $sev:ident, $falco:expr, $summary:literal; )*) => {
        $( $(#[$doc])* pub const $konst: Code = Code {
            id: $id,
            name: $name,
            severity: Severity::$sev,
            falco: $falco,
            summary: $summary,
        }; )*
        /// Every code, in numeric order.
        pub const ALL: &[Code] = &[$($konst),*];
    };
}

const YAML_PARSE: Option<&str> = Some("LOAD_ERR_YAML_PARSE");
const YAML_VALIDATE: Option<&str> = Some("LOAD_ERR_YAML_VALIDATE");
const COMPILE_CONDITION: Option<&str> = Some("LOAD_ERR_COMPILE_CONDITION");
const COMPILE_OUTPUT: Option<&str> = Some("LOAD_ERR_COMPILE_OUTPUT");

codes! {
    // ---- L0xx: YAML and file structure -------------------------------------------------
    YAML_SYNTAX = "L001", "yaml-syntax", Error, YAML_PARSE,
        "the file is not valid YAML";
    NOT_A_SEQUENCE = "L002", "not-a-sequence", Error, YAML_VALIDATE,
        "a rules document must be a sequence of mappings";
    ITEM_NOT_MAPPING = "L003", "item-not-mapping", Error, YAML_VALIDATE,
        "each item of a rules document must be a mapping";
    UNKNOWN_ITEM = "L004", "unknown-item", Warning, Some("LOAD_UNKNOWN_ITEM"),
        "the item is none of list, macro, rule, required_engine_version, required_plugin_versions";
    UNKNOWN_KEY = "L005", "unknown-key", Warning, Some("LOAD_UNKNOWN_KEY"),
        "the key is not one Falco accepts on this kind of item and is ignored";
    WRONG_TYPE = "L006", "wrong-type", Error, YAML_VALIDATE,
        "a key's value has the wrong YAML shape (scalar, sequence or mapping) or type";
    MISSING_KEY = "L007", "missing-key", Error, YAML_VALIDATE,
        "a required key is missing";
    EMPTY_VALUE = "L008", "empty-value", Error, YAML_VALIDATE,
        "a required value is empty or null";
    DUPLICATE_KEY = "L009", "duplicate-key", Warning, None,
        "a key appears twice in one mapping; like Falco (yaml-cpp), Lanner uses the first one";
    INVALID_PRIORITY = "L010", "invalid-priority", Error, YAML_VALIDATE,
        "the priority is not one of Falco's priorities";
    INVALID_OVERRIDE = "L011", "invalid-override", Error, YAML_VALIDATE,
        "an `override` mapping is malformed or does not match the item's keys";
    INVALID_VERSION = "L012", "invalid-version", Error, YAML_VALIDATE,
        "a required engine or plugin version is not a valid version";
    DEPRECATED_APPEND = "L013", "deprecated-append", Warning, Some("LOAD_DEPRECATED_ITEM"),
        "`append: true` is deprecated in favour of `override`";
    INVALID_EXCEPTION = "L014", "invalid-exception", Error, YAML_VALIDATE,
        "an exception is malformed";
    DEPRECATED_ENABLED = "L015", "deprecated-enabled", Warning, Some("LOAD_DEPRECATED_ITEM"),
        "a rule item with only `enabled` is deprecated in favour of `override: {enabled: replace}`";

    // ---- L1xx: condition and output syntax --------------------------------------------
    UNEXPECTED_TOKEN = "L101", "unexpected-token", Error, COMPILE_CONDITION,
        "the condition has text where the grammar expects something else";
    UNCLOSED_PAREN = "L102", "unclosed-parenthesis", Error, COMPILE_CONDITION,
        "an opening parenthesis has no matching closing one";
    UNMATCHED_PAREN = "L103", "unmatched-parenthesis", Error, COMPILE_CONDITION,
        "a closing parenthesis has no matching opening one";
    INVALID_ESCAPE = "L104", "invalid-escape", Error, COMPILE_CONDITION,
        "a quoted string holds an escape sequence Falco does not support";
    UNTERMINATED_STRING = "L105", "unterminated-string", Error, COMPILE_CONDITION,
        "a quoted string has no closing quote";
    EXPECTED_VALUE = "L106", "expected-value", Error, COMPILE_CONDITION,
        "an operator is not followed by a value it accepts";
    EXPECTED_OPERATOR = "L107", "expected-operator", Error, COMPILE_CONDITION,
        "a field is not followed by a comparison operator";
    MAX_DEPTH = "L108", "max-depth", Error, COMPILE_CONDITION,
        "the condition nests deeper than the limit";
    EMPTY_CONDITION = "L109", "empty-condition", Error, COMPILE_CONDITION,
        "the condition is empty";
    INVALID_FIELD_ARG = "L110", "invalid-field-argument", Error, COMPILE_CONDITION,
        "a field argument in brackets is empty or malformed";
    MISSING_BLANK = "L111", "missing-blank", Error, COMPILE_CONDITION,
        "a keyword or word operator is glued to the text after it";
    INVALID_TRANSFORMER = "L112", "invalid-transformer", Error, COMPILE_CONDITION,
        "a transformer or `val()` is used where it is not allowed";
    INVALID_LIST = "L113", "invalid-list", Error, COMPILE_CONDITION,
        "a value list has an empty element, a trailing comma or a non-string element";
    LIST_WITHOUT_PARENS = "L114", "list-without-parentheses", Error, COMPILE_CONDITION,
        "a list with other than one item is used after `in` or a modifier without parentheses";
    INVALID_OUTPUT = "L120", "invalid-output", Error, COMPILE_OUTPUT,
        "an output format has a `%` not followed by a field";
}
