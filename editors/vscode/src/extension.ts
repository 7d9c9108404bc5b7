// The extension: starts `rulec lsp` over stdio for the YAML files that are Falco rule files.
//
// Rule files keep the `yaml` language id (highlighting comes from a grammar injected into
// `source.yaml`), so the Red Hat YAML extension keeps serving them too; this client only claims
// the documents matching `lanner.filePatterns`.

import * as vscode from "vscode";
import {
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";

import {
  ServerNotFound,
  documentSelector,
  processEnvironment,
  resolveServer,
  serverSettings,
} from "./server";

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel | undefined;

function settings() {
  const c = vscode.workspace.getConfiguration("lanner");
  return {
    serverPath: c.get<string>("server.path", ""),
    extraArgs: c.get<string[]>("server.extraArgs", []),
    rulesFiles: c.get<string[]>("rulesFiles", []),
    filePatterns: c.get<string[]>("filePatterns", ["**/*_rules.yaml", "**/*_rules.yml"]),
  };
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  const s = settings();
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  let server;
  try {
    server = resolveServer({
      setting: s.serverPath,
      extraArgs: s.extraArgs,
      extensionPath: context.extensionPath,
      workspaceFolder: folder,
      env: processEnvironment(),
    });
  } catch (e) {
    if (e instanceof ServerNotFound) {
      void vscode.window.showErrorMessage(`Lanner: ${e.message}`);
      return;
    }
    throw e;
  }
  output?.info(`starting ${server.command} ${server.args.join(" ")} (${server.source})`);
  const exe = { command: server.command, args: server.args };
  const serverOptions: ServerOptions = { run: exe, debug: exe };
  const watcher = vscode.workspace.createFileSystemWatcher(
    `**/{falco.yaml,lanner.toml,${s.filePatterns.map((p) => p.replace(/^\*\*\//, "")).join(",")}}`,
  );
  context.subscriptions.push(watcher);
  const clientOptions: LanguageClientOptions = {
    documentSelector: documentSelector(s.filePatterns),
    // The server reads the `lanner` section: from initializationOptions at start, then by
    // asking for it (`workspace/configuration`) at start and after each change, which it
    // registers to hear about (the pull model; `synchronize.configurationSection` is the
    // deprecated push).
    initializationOptions: serverSettings(s.rulesFiles, server.command),
    synchronize: { fileEvents: watcher },
    outputChannel: output,
  };
  client = new LanguageClient("lanner", "Lanner", serverOptions, clientOptions);
  await client.start();
}

async function stop(): Promise<void> {
  const c = client;
  client = undefined;
  if (c !== undefined) await c.stop();
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Lanner", { log: true });
  context.subscriptions.push(output);
  context.subscriptions.push(
    vscode.commands.registerCommand("lanner.restartServer", async () => {
      await stop();
      await start(context);
    }),
    vscode.commands.registerCommand("lanner.showOutput", () => output?.show()),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      // The server follows `lanner.rulesFiles` itself (it asks after a change); a new
      // server binary or new file patterns (the document selector) need a new client.
      if (e.affectsConfiguration("lanner.server") || e.affectsConfiguration("lanner.filePatterns")) {
        await stop();
        await start(context);
      }
    }),
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  await stop();
}
