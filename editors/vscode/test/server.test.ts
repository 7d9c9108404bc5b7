// Server discovery: setting, then bundled binary, then PATH.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";

import {
  type Environment,
  ServerNotFound,
  bundledPath,
  documentSelector,
  expandSetting,
  processEnvironment,
  resolveServer,
  searchPath,
  serverSettings,
} from "../src/server";

function env(executables: string[], over: Partial<Environment> = {}): Environment {
  const set = new Set(executables);
  return {
    platform: "linux",
    arch: "x64",
    pathVar: "/usr/local/bin:/usr/bin",
    home: "/home/u",
    isExecutable: (f) => set.has(f),
    ...over,
  };
}

const base = { extraArgs: [], extensionPath: "/ext", workspaceFolder: "/ws" };

test("the setting wins over the bundled binary and PATH", () => {
  const e = env(["/opt/rulec", "/ext/bin/linux-x64/rulec", "/usr/bin/rulec"]);
  const s = resolveServer({ ...base, setting: "/opt/rulec", env: e });
  assert.deepEqual(s, { command: "/opt/rulec", args: ["lsp"], source: "setting" });
});

test("the bundled binary wins over PATH", () => {
  const e = env(["/ext/bin/linux-x64/rulec", "/usr/bin/rulec"]);
  const s = resolveServer({ ...base, setting: "", env: e });
  assert.equal(s.source, "bundled");
  assert.equal(s.command, "/ext/bin/linux-x64/rulec");
});

test("PATH is searched in order", () => {
  const e = env(["/usr/bin/rulec", "/usr/local/bin/rulec"]);
  const s = resolveServer({ ...base, setting: "  ", env: e });
  assert.deepEqual(s, { command: "/usr/local/bin/rulec", args: ["lsp"], source: "path" });
});

test("extra arguments follow `lsp`", () => {
  const e = env(["/usr/bin/rulec"]);
  const s = resolveServer({ ...base, extraArgs: ["--log", "debug"], setting: "", env: e });
  assert.deepEqual(s.args, ["lsp", "--log", "debug"]);
});

test("a configured path that is not executable is an error, not a fall-back", () => {
  const e = env(["/usr/bin/rulec"]);
  assert.throws(
    () => resolveServer({ ...base, setting: "/nope/rulec", env: e }),
    (err: unknown) => err instanceof ServerNotFound && /lanner\.server\.path/.test(err.message),
  );
});

test("nothing found is an error naming the three ways", () => {
  assert.throws(
    () => resolveServer({ ...base, setting: "", env: env([]) }),
    (err: unknown) =>
      err instanceof ServerNotFound && /lanner\.server\.path/.test(err.message) && /PATH/.test(err.message),
  );
});

test("`~` and `${workspaceFolder}` are expanded, relative paths are taken from the workspace", () => {
  const e = env([]);
  assert.equal(expandSetting("~/bin/rulec", e, "/ws"), "/home/u/bin/rulec");
  assert.equal(expandSetting("${workspaceFolder}/target/debug/rulec", e, "/ws"), "/ws/target/debug/rulec");
  assert.equal(expandSetting("target/debug/rulec", e, "/ws"), path.join("/ws", "target/debug/rulec"));
  assert.equal(expandSetting("rulec-dev", e, "/ws"), "rulec-dev");
});

test("a bare command name in the setting is left to the OS", () => {
  const s = resolveServer({ ...base, setting: "rulec-dev", env: env([]) });
  assert.deepEqual(s, { command: "rulec-dev", args: ["lsp"], source: "setting" });
});

test("Windows: rulec.exe under the platform directory and PATHEXT", () => {
  const w = env([path.join("C:\\bin", "rulec.exe")], {
    platform: "win32",
    pathVar: "C:\\bin",
    pathExt: ".COM;.EXE",
  });
  assert.equal(bundledPath("/ext", w), path.join("/ext", "bin", "win32-x64", "rulec.exe"));
  assert.equal(searchPath(w), path.join("C:\\bin", "rulec.exe"));
});

test("the selector claims YAML files by pattern only", () => {
  assert.deepEqual(documentSelector(["**/*_rules.yaml"]), [
    { language: "yaml", scheme: "file", pattern: "**/*_rules.yaml" },
  ]);
});

test("a bundled binary that lost its execute bit gets it back", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lanner-ext-"));
  const bin = path.join(dir, "bin", `${process.platform}-${process.arch}`);
  fs.mkdirSync(bin, { recursive: true });
  const file = path.join(bin, process.platform === "win32" ? "rulec.exe" : "rulec");
  fs.writeFileSync(file, "#!/bin/sh\n", { mode: 0o644 });
  const e = { ...processEnvironment(), pathVar: "" };
  const s = resolveServer({ ...base, extensionPath: dir, setting: "", env: e });
  assert.deepEqual(s, { command: file, args: ["lsp"], source: "bundled" });
  if (process.platform !== "win32") assert.equal(fs.statSync(file).mode & 0o111, 0o111);
  fs.rmSync(dir, { recursive: true });
});

test("initializationOptions are the nested `lanner` section the server reads", () => {
  assert.deepEqual(serverSettings(["a_rules.yaml"], "/opt/rulec"), {
    lanner: { rulesFiles: ["a_rules.yaml"], server: { path: "/opt/rulec" } },
  });
});
