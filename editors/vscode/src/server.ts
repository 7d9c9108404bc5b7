// Finding the language server: the `lanner.server.path` setting, else the binary bundled with
// the extension for this platform, else `rulec` on PATH. Kept free of the `vscode` module so
// that it is unit-tested under plain Node.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type ServerSource = "setting" | "bundled" | "path";

export interface ServerCommand {
  command: string;
  args: string[];
  source: ServerSource;
}

export interface Environment {
  platform: NodeJS.Platform;
  arch: string;
  /** The PATH variable. */
  pathVar: string;
  /** PATHEXT on Windows. */
  pathExt?: string;
  home: string;
  isExecutable(file: string): boolean;
}

export function processEnvironment(): Environment {
  return {
    platform: process.platform,
    arch: process.arch,
    pathVar: process.env.PATH ?? "",
    pathExt: process.env.PATHEXT,
    home: os.homedir(),
    isExecutable(file: string): boolean {
      try {
        const st = fs.statSync(file);
        if (!st.isFile()) return false;
        if (process.platform === "win32") return true;
        fs.accessSync(file, fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** `rulec`, or `rulec.exe` on Windows. */
export function binaryName(platform: NodeJS.Platform): string {
  return platform === "win32" ? "rulec.exe" : "rulec";
}

/** Where the platform VSIX carries the server: `bin/<platform>-<arch>/rulec`. */
export function bundledPath(extensionPath: string, env: Environment): string {
  return path.join(extensionPath, "bin", `${env.platform}-${env.arch}`, binaryName(env.platform));
}

/**
 * Gives the bundled binary its execute bit back: a VSIX is a zip, and not every way of
 * installing one keeps file modes. Returns whether the file is executable now.
 */
export function restoreExecutable(file: string, env: Environment): boolean {
  if (env.platform === "win32" || env.isExecutable(file)) return env.isExecutable(file);
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.chmodSync(file, 0o755);
  } catch {
    return false;
  }
  return env.isExecutable(file);
}

/** Expands `~` and `${workspaceFolder}` in the setting. */
export function expandSetting(
  value: string,
  env: Environment,
  workspaceFolder: string | undefined,
): string {
  let v = value.trim();
  if (v === "~" || v.startsWith("~/")) v = path.join(env.home, v.slice(1));
  if (workspaceFolder !== undefined) v = v.split("${workspaceFolder}").join(workspaceFolder);
  if (!path.isAbsolute(v) && workspaceFolder !== undefined && v.includes(path.sep)) {
    v = path.join(workspaceFolder, v);
  }
  return v;
}

/** The first executable `rulec` on PATH. */
export function searchPath(env: Environment): string | undefined {
  const sep = env.platform === "win32" ? ";" : ":";
  const exts =
    env.platform === "win32" ? (env.pathExt ?? ".EXE").split(";").filter((e) => e) : [""];
  const base = env.platform === "win32" ? "rulec" : binaryName(env.platform);
  for (const dir of env.pathVar.split(sep)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, base + ext.toLowerCase());
      if (env.isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

export class ServerNotFound extends Error {}

/**
 * The command that starts the server, `rulec lsp`. A configured path that is not executable is
 * an error rather than a silent fall-back, so that a typo in the setting is seen.
 */
export function resolveServer(opts: {
  setting: string;
  extraArgs: string[];
  extensionPath: string;
  workspaceFolder: string | undefined;
  env: Environment;
}): ServerCommand {
  const args = ["lsp", ...opts.extraArgs];
  if (opts.setting.trim() !== "") {
    const command = expandSetting(opts.setting, opts.env, opts.workspaceFolder);
    // A bare name (`rulec-dev`) is looked up on PATH by the OS when spawned.
    if (!command.includes(path.sep) && !command.includes("/")) {
      return { command, args, source: "setting" };
    }
    if (!opts.env.isExecutable(command)) {
      throw new ServerNotFound(
        `the server \`${command}\` from the setting \`lanner.server.path\` is not an executable file`,
      );
    }
    return { command, args, source: "setting" };
  }
  const bundled = bundledPath(opts.extensionPath, opts.env);
  if (restoreExecutable(bundled, opts.env)) return { command: bundled, args, source: "bundled" };
  const onPath = searchPath(opts.env);
  if (onPath !== undefined) return { command: onPath, args, source: "path" };
  throw new ServerNotFound(
    `no \`${binaryName(opts.env.platform)}\` found: set \`lanner.server.path\`, install the platform build of the extension, or put \`rulec\` on PATH`,
  );
}

/** The document selector: YAML documents matching the rule-file patterns, files only. */
export function documentSelector(
  patterns: string[],
): { language: string; scheme: string; pattern: string }[] {
  return patterns.map((pattern) => ({ language: "yaml", scheme: "file", pattern }));
}

/**
 * The `initializationOptions`: the `lanner` section as the server reads it (nested, as VS Code
 * sends the section with `synchronize.configurationSection`): the rule-file order, and the
 * server binary, which also runs the rule tests behind the code lenses.
 */
export function serverSettings(
  rulesFiles: string[],
  serverPath: string,
): { lanner: { rulesFiles: string[]; server: { path: string } } } {
  return { lanner: { rulesFiles, server: { path: serverPath } } };
}
