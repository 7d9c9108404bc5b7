// The injected grammar over real rule files (the three upstream Falco files and Lanner's
// stdlib): every condition and output value is highlighted as one, and every value ends where
// YAML ends it, so the next key is never swallowed. Under CI a missing corpus file fails.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import * as oniguruma from "vscode-oniguruma";
import * as vsctm from "vscode-textmate";

const root = path.join(__dirname, "../../../..");
const corpus = [
  path.join(root, "../shared/upstream-rules/falco_rules.yaml"),
  path.join(root, "../shared/upstream-rules/falco-incubating_rules.yaml"),
  path.join(root, "../shared/upstream-rules/falco-sandbox_rules.yaml"),
  path.join(root, "stdlib-rules/lanner_rules.yaml"),
];
const ext = path.join(__dirname, "../..");

// The host YAML grammar: the TextMate bundle's, from npm (`tm-grammars`). VS Code's own YAML
// grammar (RedCMD's) is published on no package registry, and copying it from its repository is
// not allowed here, so it is not a test host.
const hosts: Record<string, [string, string][]> = {
  "textmate-yaml": [["source.yaml", path.join(ext, "node_modules/tm-grammars/grammars/yaml.json")]],
};

let wasmLoaded: Promise<void> | undefined;

async function registry(host: [string, string][]): Promise<vsctm.Registry> {
  const wasm = fs.readFileSync(
    path.join(ext, "node_modules/vscode-oniguruma/release/onig.wasm"),
  ).buffer;
  wasmLoaded ??= oniguruma.loadWASM(wasm);
  await wasmLoaded;
  const files = new Map([
    ...host,
    ["falco-rules.injection", path.join(ext, "syntaxes/falco-rules.injection.tmLanguage.json")],
  ]);
  return new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (p: string[]) => new oniguruma.OnigScanner(p),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: (scope: string) => {
      const f = files.get(scope);
      if (f === undefined) return Promise.resolve(null);
      return Promise.resolve(vsctm.parseRawGrammar(fs.readFileSync(f, "utf8"), f));
    },
    getInjections: (scope: string) => (scope === "source.yaml" ? ["falco-rules.injection"] : []),
  });
}

interface Tok {
  text: string;
  scopes: string[];
}

function tokenizeFile(grammar: vsctm.IGrammar, text: string): Tok[][] {
  let state = vsctm.INITIAL;
  return text.split("\n").map((line) => {
    const r = grammar.tokenizeLine(line, state);
    state = r.ruleStack;
    return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
  });
}

const embedded = (t: Tok, what: string) => t.scopes.includes(`meta.embedded.${what}.falco`);

for (const [hostName, host] of Object.entries(hosts)) {
test(`${hostName}: conditions and outputs of real rule files are highlighted, and end where YAML ends them`, async () => {
  const missing = corpus.filter((f) => !fs.existsSync(f));
  if (missing.length > 0 && process.env.CI !== "true") {
    console.warn(`skipping: missing ${missing.join(", ")}`);
    return;
  }
  assert.deepEqual(missing, [], "corpus files are missing");
  const grammar = await (await registry(host)).loadGrammar("source.yaml");
  assert.ok(grammar);
  let conditions = 0;
  let outputs = 0;
  let keys = 0;
  for (const file of corpus) {
    const lines = fs.readFileSync(file, "utf8").split("\n");
    const toks = tokenizeFile(grammar, lines.join("\n"));
    for (const [i, line] of lines.entries()) {
      const where = `${path.basename(file)}:${String(i + 1)}`;
      const lineToks = toks[i] ?? [];
      const key = /^ {2}([a-z_]+):/.exec(line);
      if (key) {
        // An item's key: never inside the previous key's value.
        keys++;
        const keyTok = lineToks.find((t) => t.text.trim() !== "");
        assert.ok(keyTok, where);
        assert.ok(
          !keyTok.scopes.some((s) => s.startsWith("meta.embedded.")),
          `${where}: key \`${key[1]}\` is inside a value: ${keyTok.scopes.join(" ")}`,
        );
      }
      if (/^ {2}condition:\s*\S/.test(line)) {
        conditions++;
        // The first field or macro of the value (this line or the next) is a condition token.
        const value = [...lineToks, ...(toks[i + 1] ?? [])].filter((t) => embedded(t, "condition"));
        assert.ok(
          value.some((t) =>
            t.scopes.some((s) => /^(variable\.other|keyword\.operator|punctuation\.parenthesis)/.test(s)),
          ),
          `${where}: condition not highlighted`,
        );
      }
      if (/^ {2}output:\s*\S/.test(line)) {
        outputs++;
        const all = [...lineToks, ...(toks[i + 1] ?? [])];
        if (line.includes("%") || (lines[i + 1] ?? "").includes("%")) {
          assert.ok(
            all.some((t) => embedded(t, "output") && t.scopes.includes("variable.other.field.falco")),
            `${where}: output fields not highlighted`,
          );
        }
      }
    }
  }
  // How much of the corpus ran: the upstream files alone have 440 such conditions, 93 outputs
  // and 995 item keys (`grep -cE '^  condition:\s*\S'` and so on); the stdlib adds more.
  assert.equal(corpus.length, 4);
  assert.ok(conditions > 440, `only ${String(conditions)} conditions`);
  assert.ok(outputs > 93, `only ${String(outputs)} outputs`);
  assert.ok(keys > 995, `only ${String(keys)} keys`);
  console.log(
    `${hostName}: ${String(conditions)} conditions, ${String(outputs)} outputs, ${String(keys)} keys`,
  );
});
}
