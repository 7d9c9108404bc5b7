// Expands the grammar test sources (test/grammar/*.yaml) into vscode-tmgrammar-test files in
// out/grammar/. A line `@@ text => scopes` (optionally `text#n` for the n-th occurrence)
// asserts the scopes of `text` on the nearest source line above it; it becomes the tool's
// `#   ^^^^ scopes` line, so no column is ever counted by hand.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, "../../out/grammar");
mkdirSync(outDir, { recursive: true });

let cases = 0;
for (const name of readdirSync(here).filter((n) => n.endsWith(".yaml")).sort()) {
  const lines = readFileSync(join(here, name), "utf8").split("\n");
  const out = [];
  let last = null;
  for (const [i, line] of lines.entries()) {
    if (!line.startsWith("@@ ")) {
      out.push(line);
      if (!line.startsWith("#")) last = line;
      continue;
    }
    const [spec, scopes] = line.slice(3).split(" => ");
    const m = /^(.*)#(\d+)$/.exec(spec);
    const text = m ? m[1] : spec;
    const nth = m ? Number(m[2]) : 1;
    let at = -1;
    for (let k = 0; k < nth; k++) {
      at = last === null ? -1 : last.indexOf(text, at + 1);
      if (at < 0) break;
    }
    if (at < 1) {
      console.error(`${name}:${i + 1}: \`${text}\` is not on the line above (or at column 0)`);
      process.exit(1);
    }
    out.push(`#${" ".repeat(at - 1)}${"^".repeat(text.length)} ${scopes}`);
    cases++;
  }
  writeFileSync(join(outDir, name), out.join("\n"));
}
console.log(`expanded ${cases} scope assertions`);
