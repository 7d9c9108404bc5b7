// The manifest agrees with the code: every contributed file exists, every setting the code
// reads is declared, every command it registers is contributed, the snippets are well formed.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

const ext = path.join(__dirname, "../..");

interface Manifest {
  main: string;
  engines: { vscode: string };
  activationEvents: string[];
  contributes: {
    grammars: { scopeName: string; path: string; injectTo?: string[] }[];
    snippets: { language: string; path: string }[];
    commands: { command: string }[];
    configuration: { properties: Record<string, { default?: unknown }> };
  };
}

const manifest = JSON.parse(fs.readFileSync(path.join(ext, "package.json"), "utf8")) as Manifest;
const source = fs.readFileSync(path.join(ext, "src/extension.ts"), "utf8");

test("contributed files exist and the grammar is injected into YAML", () => {
  const c = manifest.contributes;
  for (const p of [...c.grammars.map((g) => g.path), ...c.snippets.map((s) => s.path)]) {
    assert.ok(fs.existsSync(path.join(ext, p)), `${p} is missing`);
  }
  assert.deepEqual(
    c.grammars.map((g) => [g.scopeName, g.injectTo]),
    [["falco-rules.injection", ["source.yaml"]]],
  );
  const grammar = JSON.parse(fs.readFileSync(path.join(ext, c.grammars[0]?.path ?? ""), "utf8")) as {
    scopeName: string;
    injectionSelector: string;
  };
  assert.equal(grammar.scopeName, "falco-rules.injection");
  assert.match(grammar.injectionSelector, /^L:source\.yaml/);
  assert.equal(manifest.main, "./dist/extension.js");
  assert.deepEqual(manifest.activationEvents, ["onLanguage:yaml"]);
});

test("every setting the extension reads is declared", () => {
  const props = manifest.contributes.configuration.properties;
  const read = [...source.matchAll(/c\.get<[^>]+>\("([^"]+)"/g)].map((m) => `lanner.${m[1]}`);
  assert.ok(read.length >= 4, `found ${String(read.length)} settings read`);
  for (const key of read) assert.ok(key in props, `${key} is read but not declared`);
  for (const key of Object.keys(props)) {
    if (key === "lanner.trace.server") continue; // read by vscode-languageclient itself
    assert.ok(read.includes(key), `${key} is declared but never read`);
  }
});

test("every registered command is contributed, and the other way round", () => {
  const registered = [...source.matchAll(/registerCommand\("([^"]+)"/g)].map((m) => m[1]);
  const contributed = manifest.contributes.commands.map((c) => c.command);
  assert.deepEqual([...registered].sort(), [...contributed].sort());
});

test("snippets cover list, macro, rule and exception, and are well formed", () => {
  const file = manifest.contributes.snippets[0]?.path ?? "";
  const snippets = JSON.parse(fs.readFileSync(path.join(ext, file), "utf8")) as Record<
    string,
    { prefix: string[]; body: string[]; description: string }
  >;
  const prefixes = Object.values(snippets).flatMap((s) => s.prefix);
  for (const p of ["falco-list", "falco-macro", "falco-rule", "falco-exception"]) {
    assert.ok(prefixes.includes(p), `no snippet \`${p}\``);
  }
  for (const [name, s] of Object.entries(snippets)) {
    assert.ok(s.body.length > 0 && s.description.length > 0, name);
    // Tab stops are numbered from 1 and end at $0.
    assert.ok(s.body.join("\n").includes("$0"), `${name} has no final tab stop`);
  }
});

/** Dotted keys of the leaves of a settings object. */
function leaves(o: Record<string, unknown>, prefix: string): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? leaves(v as Record<string, unknown>, `${prefix}${k}.`)
      : [`${prefix}${k}`],
  );
}

test("the server is tested with VS Code's `lanner` section, pulled", () => {
  const props = Object.keys(manifest.contributes.configuration.properties).sort();
  const session = fs.readFileSync(
    path.join(ext, "../../lsp/tests/sessions/configuration-vscode.case"),
    "utf8",
  );
  const line = session.split("\n").find((l) => l.startsWith("client-configuration:")) ?? "";
  const answer = JSON.parse(line.slice("client-configuration:".length)) as {
    lanner: Record<string, unknown>;
  };
  assert.deepEqual(leaves(answer.lanner, "lanner.").sort(), props);
  // The pull model, as in the case: VS Code declares dynamic registration, the server registers.
  assert.match(session, /^dynamic-registration: yes$/m);
  assert.doesNotMatch(source, /configurationSection:/);
});
