// Generates falco-rules.injection.tmLanguage.json: the one source of the TextMate grammar
// that VS Code injects into `source.yaml` (run `npm run grammar`; `npm run grammar:check`
// fails when the committed JSON is stale).
//
// Every highlighted key (`condition`, `output`, exception `fields` and `comps`) gets the same
// set of rules, one per YAML value style (block, double-quoted, single-quoted, plain).

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const OUT = join(dirname(fileURLToPath(import.meta.url)), "falco-rules.injection.tmLanguage.json");

const KEYS = {
  condition: { content: "condition", name: "meta.embedded.condition.falco" },
  output: { content: "output", name: "meta.embedded.output.falco" },
  fields: { content: "exception-fields", name: "meta.embedded.exception-fields.falco" },
  comps: { content: "exception-comps", name: "meta.embedded.exception-comps.falco" },
};

// The end of a value, where no host rule ended it before: a line that starts a key (`output:`,
// `- name:`) or has text in column 0. Hosts with `while` rules (VS Code's) end the value
// themselves when the indentation drops.
const END_BY_SHAPE =
  "^(?=\\S|[ \\t]*(?:-[ \\t]+)?[A-Za-z_][\\w.-]*[ \\t]*:(?:[ \\t]|$))";

// The rules start right after `key:`, never at the line start: the host grammar matches the key
// (VS Code's YAML grammar consumes indentation and `- ` in `while` rules and keeps its own
// state about them, so an injection that took the key from it would derail the rest of the
// file), and the injection takes over at the value.
function rules(key, spec) {
  const after = `(?<=^${key}:|[ \\t]${key}:)`;
  return [
    {
      comment: `${key}: block scalar`,
      begin: `${after}[ \\t]+([|>][1-9+-]*)[ \\t]*(#.*)?$`,
      beginCaptures: {
        1: { name: "keyword.control.flow.block-scalar.yaml" },
        2: { name: "comment.line.number-sign.yaml" },
      },
      end: END_BY_SHAPE,
      contentName: spec.name,
      patterns: [{ include: `#${spec.content}` }],
    },
    {
      comment: `${key}: double-quoted`,
      begin: `${after}[ \\t]*(")`,
      beginCaptures: { 1: { name: "punctuation.definition.string.begin.yaml" } },
      end: '(")',
      endCaptures: { 1: { name: "punctuation.definition.string.end.yaml" } },
      contentName: spec.name,
      patterns: [{ include: `#${spec.content}-in-double-quotes` }],
    },
    {
      comment: `${key}: single-quoted`,
      begin: `${after}[ \\t]*(')`,
      beginCaptures: { 1: { name: "punctuation.definition.string.begin.yaml" } },
      end: "(')(?!')",
      endCaptures: { 1: { name: "punctuation.definition.string.end.yaml" } },
      contentName: spec.name,
      patterns: [{ include: `#${spec.content}-in-single-quotes` }],
    },
    {
      comment: `${key}: plain scalar (or, for exception keys, a flow or block sequence)`,
      begin: `${after}(?=[ \\t]|$)`,
      end: END_BY_SHAPE,
      contentName: spec.name,
      patterns: [{ include: "#yaml-comment" }, { include: `#${spec.content}` }],
    },
  ];
}

const FIELD = "[a-zA-Z][a-zA-Z0-9_]*(?:\\.[a-zA-Z][a-zA-Z0-9_]*)+";
// Not inside a bare word or a path (`/etc/cron.d`, `a.b.c-d`).
const NOT_AFTER_WORD = "(?<![\\w./:\\-~%])";

function tokenRules({ doubleQuote, singleQuote }) {
  const strings = [];
  if (doubleQuote === "escaped") {
    strings.push({
      name: "string.quoted.double.falco",
      begin: '\\\\"',
      end: '\\\\"',
      patterns: [{ match: "\\\\\\\\.", name: "constant.character.escape.falco" }],
    });
    strings.push({ match: "\\\\.", name: "constant.character.escape.yaml" });
  } else {
    strings.push({
      name: "string.quoted.double.falco",
      begin: '"',
      end: '"',
      patterns: [{ match: "\\\\.", name: "constant.character.escape.falco" }],
    });
  }
  if (singleQuote === "doubled") {
    strings.push({ name: "string.quoted.single.falco", begin: "''", end: "''" });
  } else {
    strings.push({
      name: "string.quoted.single.falco",
      begin: "'",
      end: "'",
      patterns: [{ match: "\\\\.", name: "constant.character.escape.falco" }],
    });
  }
  return [
    ...strings,
    {
      match: "\\b(tolower|toupper|b64|basename|len|join|concat|getopt|val)(\\()",
      captures: {
        1: { name: "support.function.transformer.falco" },
        2: { name: "punctuation.parenthesis.begin.falco" },
      },
    },
    { include: "#field" },
    { match: "\\b(and|or|not)\\b", name: "keyword.operator.logical.falco" },
    {
      match:
        "\\b(contains|icontains|bcontains|startswith|bstartswith|endswith|glob|iglob|regex|in|intersects|pmatch|exists)\\b",
      name: "keyword.operator.comparison.falco",
    },
    { match: "\\b(oneof|anyof|allof)\\b", name: "keyword.operator.modifier.falco" },
    { match: "==|!=|<=|>=|=|<|>", name: "keyword.operator.comparison.falco" },
    {
      match: `${NOT_AFTER_WORD}[+-]?(?:0[xX][0-9a-fA-F]+|[0-9]+(?:\\.[0-9]+)?)(?![\\w./:\\-])`,
      name: "constant.numeric.falco",
    },
    { match: "\\(", name: "punctuation.parenthesis.begin.falco" },
    { match: "\\)", name: "punctuation.parenthesis.end.falco" },
    { match: ",", name: "punctuation.separator.comma.falco" },
    {
      match: `${NOT_AFTER_WORD}[a-zA-Z_][a-zA-Z0-9_\\-]*(?![\\w./:\\-])`,
      name: "variable.other.identifier.falco",
    },
  ];
}

const outputField = {
  match: `(%)(${FIELD})(?:(\\[)([^\\]]*)(\\]))?`,
  captures: {
    1: { name: "punctuation.definition.variable.falco" },
    2: { name: "variable.other.field.falco" },
    3: { name: "punctuation.definition.arguments.begin.falco" },
    4: { name: "string.unquoted.argument.falco" },
    5: { name: "punctuation.definition.arguments.end.falco" },
  },
};

const seqPunctuation = [
  { match: "[\\[\\]]", name: "punctuation.definition.sequence.flow.yaml" },
  { match: ",", name: "punctuation.separator.sequence.flow.yaml" },
  { match: "(?<=^|\\s)-(?=\\s)", name: "punctuation.definition.block.sequence.item.yaml" },
  { match: '"[^"]*"', name: "string.quoted.double.yaml" },
  { match: "'[^']*'", name: "string.quoted.single.yaml" },
];

const grammar = {
  $schema: "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
  name: "Falco rules (injected into YAML)",
  scopeName: "falco-rules.injection",
  comment: "Generated by syntaxes/build.mjs; edit that file, not this one.",
  injectionSelector: "L:source.yaml -comment -string -meta.embedded",
  patterns: Object.entries(KEYS).flatMap(([k, spec]) => rules(k, spec)),
  repository: {
    "yaml-comment": {
      match: "(?:^|(?<=[ \\t]))(#.*)$",
      captures: { 1: { name: "comment.line.number-sign.yaml" } },
    },
    field: {
      match: `${NOT_AFTER_WORD}(${FIELD})(?:(\\[)([^\\]]*)(\\]))?`,
      captures: {
        1: { name: "variable.other.field.falco" },
        2: { name: "punctuation.definition.arguments.begin.falco" },
        3: { name: "string.unquoted.argument.falco" },
        4: { name: "punctuation.definition.arguments.end.falco" },
      },
    },
    condition: { patterns: tokenRules({ doubleQuote: "plain", singleQuote: "plain" }) },
    "condition-in-double-quotes": {
      patterns: tokenRules({ doubleQuote: "escaped", singleQuote: "plain" }),
    },
    "condition-in-single-quotes": {
      patterns: tokenRules({ doubleQuote: "plain", singleQuote: "doubled" }),
    },
    output: { patterns: [outputField] },
    "output-in-double-quotes": {
      patterns: [outputField, { match: "\\\\.", name: "constant.character.escape.yaml" }],
    },
    "output-in-single-quotes": {
      patterns: [outputField, { match: "''", name: "constant.character.escape.yaml" }],
    },
    "exception-fields": { patterns: [...seqPunctuation.slice(0, 3), { include: "#field" }] },
    "exception-fields-in-double-quotes": { patterns: [{ include: "#field" }] },
    "exception-fields-in-single-quotes": { patterns: [{ include: "#field" }] },
    "exception-comps": {
      patterns: [
        ...seqPunctuation,
        {
          match:
            "\\b(contains|icontains|bcontains|startswith|bstartswith|endswith|glob|iglob|regex|in|intersects|pmatch)\\b|==|!=|<=|>=|=|<|>",
          name: "keyword.operator.comparison.falco",
        },
      ],
    },
    "exception-comps-in-double-quotes": {
      patterns: [{ match: "[^\"]+", name: "keyword.operator.comparison.falco" }],
    },
    "exception-comps-in-single-quotes": {
      patterns: [{ match: "[^']+", name: "keyword.operator.comparison.falco" }],
    },
  },
};

const text = `${JSON.stringify(grammar, null, 2)}\n`;
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(OUT, "utf8");
  } catch {
    // A missing file is stale too.
  }
  if (current !== text) {
    console.error(`${OUT} is stale: run \`npm run grammar\``);
    process.exit(1);
  }
} else {
  writeFileSync(OUT, text);
}
