//! The registry of diagnostic codes.
//!
//! INVARIANT: codes are never renumbered or reused. Ranges: `L0xx` YAML and file structure,
//! `L1xx` condition and output syntax, `L2xx` resolution (lists, macros, append/override),
//! `L3xx` fields, operators and values, `L4xx` Lanner's own lints, `L5xx` rule test files,
//! `L6xx` the formatter.

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
const VALIDATE: Option<&str> = Some("LOAD_ERR_VALIDATE");

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

    INTERNAL_ERROR = "L099", "internal-error", Error, None,
        "the compiled program breaks one of its invariants: a bug in Lanner, not in the rules";

    // ---- L2xx: resolution (lists, macros, append/override, exceptions) ---------------
    UNDEFINED_MACRO = "L201", "undefined-macro", Error, VALIDATE,
        "a condition names a macro that is not defined (or not visible at that point)";
    MACRO_LOOP = "L202", "macro-loop", Error, VALIDATE,
        "a macro refers to itself, directly or through other macros";
    APPEND_WITHOUT_DEFINITION = "L203", "append-without-definition", Error, VALIDATE,
        "an append or override names a list, macro or rule that is not defined before it";
    SOURCE_MISMATCH = "L204", "source-mismatch", Error, VALIDATE,
        "a rule is redefined, appended or overridden with a different `source`";
    INVALID_EXCEPTION_DEF = "L205", "invalid-exception-definition", Error, VALIDATE,
        "an exception's fields, comparisons and values do not fit together";
    ENGINE_VERSION_TOO_NEW = "L206", "engine-version", Error, VALIDATE,
        "the file requires a newer engine version than the one Lanner implements";
    UNUSED_MACRO = "L207", "unused-macro", Warning, Some("LOAD_UNUSED_MACRO"),
        "a macro is never used";
    UNUSED_LIST = "L208", "unused-list", Warning, Some("LOAD_UNUSED_LIST"),
        "a list is never used";
    INVALID_MACRO_NAME = "L209", "invalid-macro-name", Warning, Some("LOAD_INVALID_MACRO_NAME"),
        "a macro name is not an identifier, so conditions cannot refer to it";
    INVALID_LIST_NAME = "L210", "invalid-list-name", Warning, Some("LOAD_INVALID_LIST_NAME"),
        "a list name contains characters that end a bare value";
    EXCEPTION_NAME_NOT_UNIQUE = "L211", "exception-name-not-unique", Warning, Some("LOAD_EXCEPTION_NAME_NOT_UNIQUE"),
        "two exceptions of one rule item have the same name";
    APPEND_NO_VALUES = "L212", "append-no-values", Warning, Some("LOAD_APPEND_NO_VALUES"),
        "an exception is appended or overridden without values";
    NO_EVTTYPE = "L213", "no-event-type", Warning, Some("LOAD_NO_EVTTYPE"),
        "a rule matches more than 100 event types, so it runs on almost every event";
    UNKNOWN_SOURCE = "L214", "unknown-source", Warning, Some("LOAD_UNKNOWN_SOURCE"),
        "a rule's `source` is not an event source Lanner provides (only `syscall`); the rule is skipped";
    PLUGIN_REQUIREMENT = "L217", "plugin-requirement", Error, None,
        "the file requires a plugin Lanner does not provide (Falco refuses to start)";
    UNKNOWN_FILTER_SKIPPED = "L218", "unknown-filter-skipped", Warning, Some("LOAD_UNKNOWN_FILTER"),
        "a rule with `skip-if-unknown-filter: true` names an unknown field or event type, so it is skipped";
    ENABLED_WITHOUT_RULE = "L215", "enabled-without-rule", Error, VALIDATE,
        "an item that only sets `enabled` names a rule that does not exist";
    APPEND_WITHOUT_CONTENT = "L216", "append-without-content", Error, VALIDATE,
        "an appended rule has neither `condition` nor `exceptions`";

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
    UNKNOWN_OUTPUT_FIELD = "L121", "unknown-output-field", Error, COMPILE_OUTPUT,
        "an output names a field that does not exist";
    FILTER_ONLY_IN_OUTPUT = "L122", "filter-only-field-in-output", Error, COMPILE_OUTPUT,
        "an output names a field that can only be used in conditions";
    INVALID_OUTPUT = "L120", "invalid-output", Error, COMPILE_OUTPUT,
        "an output format has a `%` not followed by a field";
    REMOVED_OUTPUT_FIELD = "L123", "removed-output-field", Warning, Some("LOAD_DEPRECATED_ITEM"),
        "an output prints `%container.info`, a legacy field Falco accepts and prints as nothing";

    // ---- L3xx: fields, operators, values and transformers -----------------------------
    UNKNOWN_FIELD = "L301", "unknown-field", Error, COMPILE_CONDITION,
        "the condition names a field that no field class (nor a loaded plugin) defines";
    BAD_FIELD_ARGUMENT = "L302", "bad-field-argument", Error, COMPILE_CONDITION,
        "a field's argument is missing, not allowed, or has the wrong shape for that field";
    OUTPUT_ONLY_FIELD = "L303", "output-only-field", Error, COMPILE_CONDITION,
        "a field that can only be printed in outputs is used in a condition";
    DEPRECATED_FIELD = "L304", "deprecated-field", Warning, Some("LOAD_DEPRECATED_ITEM"),
        "the condition uses a deprecated field (`evt.dir`, `evt.latency*`, `evt.wait_latency`)";
    UNKNOWN_EVENT_ARG = "L305", "unknown-event-argument", Error, COMPILE_CONDITION,
        "`evt.arg.NAME` or `evt.rawarg.NAME` names a parameter that no event has";
    OPERATOR_NOT_ALLOWED = "L310", "operator-not-allowed", Error, COMPILE_CONDITION,
        "the operator does not apply to the type of the field (or transformed value) on its left";
    MODIFIER_NOT_ALLOWED = "L311", "modifier-not-allowed", Error, COMPILE_CONDITION,
        "a `oneof`/`anyof`/`allof` modifier follows an operator or type that does not take one";
    INVALID_NUMBER = "L320", "invalid-number", Error, COMPILE_CONDITION,
        "a value compared with a numeric field is not a decimal integer";
    INVALID_BOOL = "L321", "invalid-bool", Error, COMPILE_CONDITION,
        "a value compared with a boolean field is neither `true` nor `false`";
    INVALID_IP = "L322", "invalid-ip", Error, COMPILE_CONDITION,
        "a value compared with an address or network field is not a valid IP address or CIDR network";
    INVALID_PORT = "L323", "invalid-port", Error, COMPILE_CONDITION,
        "a value compared with a port field is neither a number nor a known service name";
    INVALID_HEX = "L324", "invalid-hex", Error, COMPILE_CONDITION,
        "the value of `bcontains` or `bstartswith` is not an even-length hexadecimal string";
    INVALID_REGEX = "L325", "invalid-regex", Error, COMPILE_CONDITION,
        "the pattern of a `regex` check does not compile";
    NUL_IN_VALUE = "L326", "nul-in-value", Error, COMPILE_CONDITION,
        "a value holds a NUL byte, which only byte-buffer fields can compare";
    UNKNOWN_EVENT_TYPE = "L327", "unknown-event-type", Error, COMPILE_CONDITION,
        "a value compared with `evt.type` or `syscall.type` is neither an event nor a syscall name";
    TRANSFORMER_TYPE = "L330", "transformer-type", Error, COMPILE_CONDITION,
        "a transformer is applied to a value of a type it does not handle, or to the wrong arguments";
    TRANSFORMER_FIELD_ARG = "L331", "transformer-field-argument", Error, COMPILE_CONDITION,
        "a transformer other than `getopt` carries a `[...]` argument, or `getopt`'s is not one character";
    TRANSFORMER_NOT_ALLOWED = "L332", "transformer-not-allowed", Error, COMPILE_CONDITION,
        "a transformer is applied to a field that does not accept transformers";
    INCOMPATIBLE_RHS = "L333", "incompatible-rhs", Error, COMPILE_CONDITION,
        "the two sides of a field-to-field comparison have different types or list-ness";
    FIELD_RHS_NOT_ALLOWED = "L334", "field-rhs-not-allowed", Error, COMPILE_CONDITION,
        "a field or transformer is on the right of an operator or next to a field that only takes constants";
    EVTTYPE_NOT_CONSTANT = "L335", "evttype-not-constant", Error, COMPILE_CONDITION,
        "`evt.type` or `syscall.type` is transformed or compared with a field, so no event-type set can be computed";
    FIELD_AS_VALUE = "L340", "field-as-value", Warning, Some("LOAD_COMPILE_CONDITION"),
        "a constant value names a field; a field-to-field comparison needs `val(...)`";
    TRANSFORMER_AS_VALUE = "L341", "transformer-as-value", Warning, Some("LOAD_COMPILE_CONDITION"),
        "a constant value is shaped like a transformer call and is compared as text";
    SIMPLE_REGEX = "L342", "simple-regex", Warning, Some("LOAD_COMPILE_CONDITION"),
        "a regex pattern could be written with `=`, `contains`, `startswith` or `endswith`";
    UNSAFE_NA_CHECK = "L343", "unsafe-na-check", Warning, Some("LOAD_UNSAFE_NA_CHECK"),
        "a `ka.`/`jevt.` field is compared with the literal `<NA>`, which matches missing values unreliably";
    NOT_EXTRACTED = "L344", "field-not-extracted", Warning, None,
        "Falco knows the field but Lanner's runtime does not extract it, so it always reads `<NA>`";

    // ---- L4xx: Lanner's own lints -----------------------------------------------------
    /// Falco 0.44.1 warns LOAD_NO_EVTTYPE on an empty event-type set as on one of more than
    /// 100 codes (`evttypes.empty() || evttypes.size() > 100`); Falco after 0.44.1 stops
    /// warning on the empty set (engine commit 188630e2). Lanner follows 0.44.1, and like
    /// Falco says nothing when the rule sets `warn_evttypes: false`.
    NEVER_MATCHES = "L401", "never-matches", Warning, Some("LOAD_NO_EVTTYPE"),
        "a rule's condition admits no event type, so the rule can never fire";
    DUPLICATE_LIST_ITEM = "L402", "duplicate-list-item", Warning, None,
        "a list holds the same item twice";
    EMPTY_LIST_COMPARISON = "L403", "empty-list-comparison", Warning, None,
        "a comparison with an empty list `()` is always false";
    SHADOWED_RULE = "L404", "shadowed-rule", Warning, None,
        "under `rule_matching: first` an earlier rule always fires before this one";
    LIST_NAME_TYPO = "L405", "list-name-typo", Warning, None,
        "a value looks like a misspelt list name and is compared as a literal string";
    CONSTANT_CONDITION = "L406", "constant-condition", Warning, None,
        "a subexpression is always true or always false (`x and not x`, `x or not x`)";

    // ---- L5xx: rule test files (`*.test.yaml`) -------------------------------------------
    TEST_FILE_STRUCTURE = "L501", "test-file-structure", Error, None,
        "a rule test file is not shaped as the format requires";
    UNKNOWN_TEST_KEY = "L502", "unknown-test-key", Warning, None,
        "a key the rule test format does not know; it is ignored";
    BAD_TEST_VALUE = "L503", "bad-test-value", Error, None,
        "a value in a rule test file has the wrong type or form";
    UNKNOWN_SYSCALL = "L504", "unknown-syscall", Error, None,
        "a test event names a syscall that has no event";
    UNKNOWN_EVENT_PARAM = "L505", "unknown-event-param", Error, None,
        "a test event sets a parameter its event does not have";

    // ---- L6xx: the formatter -----------------------------------------------------------
    FORMAT_UNSTABLE = "L601", "format-unstable", Error, None,
        "the formatted text would not mean the same as the original (a formatter bug); the file was left unchanged";
}
