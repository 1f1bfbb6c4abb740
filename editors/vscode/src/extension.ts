// VS Code client for `atlas-cedar lsp`.
//
// Everything Atlas-specific (diagnostics, completion, hover, quick fixes,
// formatting, symbols, ...) lives in the server; this file only finds the
// executable, starts it over stdio and restarts it when its settings change.

import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";
import { documentSelector, isServed, wantsServer } from "./selector";
import { bundledServerPath, resolveServerCommand, serverVersion, ServerNotFoundError } from "./server";

const CLIENT_ID = "atlasCedar"; // also the prefix of the `atlasCedar.trace.server` setting
const CLIENT_NAME = "Atlas Cedar";

let client: LanguageClient | undefined;
/** A start in progress (documents opened at once start one server). */
let starting: Promise<void> | undefined;
/** No server was found: said once, not again on every document opened. */
let notFound = false;
let outputChannel: vscode.OutputChannel | undefined;
let traceChannel: vscode.OutputChannel | undefined;
let statusItem: vscode.StatusBarItem | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  outputChannel = vscode.window.createOutputChannel(CLIENT_NAME);
  traceChannel = vscode.window.createOutputChannel(`${CLIENT_NAME} Trace`);
  statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 0);
  statusItem.command = "atlasCedar.showOutput";
  context.subscriptions.push(outputChannel, traceChannel, statusItem);

  context.subscriptions.push(
    vscode.commands.registerCommand("atlasCedar.restartServer", async () => {
      // Asked for: started even if nothing open needs it yet.
      await stop();
      notFound = false;
      await startOnce(context);
    }),
    vscode.commands.registerCommand("atlasCedar.showOutput", () => {
      outputChannel?.show(true);
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (
        event.affectsConfiguration("atlasCedar.server.path") ||
        event.affectsConfiguration("atlasCedar.server.args") ||
        event.affectsConfiguration("atlasCedar.terraform.enable")
      ) {
        await restart(context);
      }
    }),
    // A Cedar document (or, with the setting on, a Terraform file) opened
    // later starts the server.
    vscode.workspace.onDidOpenTextDocument(async (doc) => {
      if (client === undefined && !notFound && isServed(doc, terraformEnabled())) {
        await startOnce(context);
      }
    }),
  );

  await startIfWanted(context);
}

function terraformEnabled(): boolean {
  return vscode.workspace.getConfiguration("atlasCedar").get<boolean>("terraform.enable") ?? false;
}

/**
 * Starts the server when this workspace needs it: an `atlas-cedar.toml`, or an
 * open document it serves. A Terraform file activates the extension even with
 * `atlasCedar.terraform.enable` off; then nothing is started.
 */
async function startIfWanted(context: vscode.ExtensionContext): Promise<void> {
  const manifests = await vscode.workspace.findFiles("**/atlas-cedar.toml", "**/node_modules/**", 1);
  if (wantsServer(vscode.workspace.textDocuments, terraformEnabled(), manifests.length > 0)) {
    await startOnce(context);
  }
}

async function startOnce(context: vscode.ExtensionContext): Promise<void> {
  if (client !== undefined) {
    return;
  }
  if (starting === undefined) {
    starting = start(context).finally(() => {
      starting = undefined;
    });
  }
  await starting;
}

export async function deactivate(): Promise<void> {
  await stop();
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("atlasCedar");
  const workspaceFolder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;

  const bundledPath = bundledServerPath(context.extensionPath, process.platform);
  let command: string;
  try {
    command = await resolveServerCommand({
      configuredPath: config.get<string | null>("server.path") ?? undefined,
      workspaceFolder,
      envPath: process.env["PATH"],
      cargoHome: process.env["CARGO_HOME"],
      platform: process.platform,
      pathExt: process.env["PATHEXT"],
      bundledPath,
    });
  } catch (err) {
    if (err instanceof ServerNotFoundError) {
      notFound = true;
      outputChannel?.appendLine(err.message);
      void showNotFound(err.message);
      return;
    }
    throw err;
  }

  // Which server, and which version of it: the output channel and the status bar say.
  const configured = (config.get<string | null>("server.path") ?? "").trim();
  const origin =
    configured !== ""
      ? "atlasCedar.server.path"
      : command === bundledPath
        ? "bundled with the extension"
        : "found on PATH or in ~/.cargo/bin";
  try {
    const version = await serverVersion(command);
    outputChannel?.appendLine(`Using ${version}: ${command} (${origin})`);
    if (statusItem !== undefined) {
      statusItem.text = `Atlas Cedar ${version.split(" ")[1] ?? version}`;
      statusItem.tooltip = `${version}\n${command} (${origin})`;
      statusItem.show();
    }
  } catch (err) {
    outputChannel?.appendLine(err instanceof Error ? err.message : String(err));
  }

  const args = config.get<string[]>("server.args") ?? ["lsp"];
  outputChannel?.appendLine(`Starting ${command} ${args.join(" ")}`);

  const executable = {
    command,
    args,
    transport: TransportKind.stdio,
    options: workspaceFolder !== undefined ? { cwd: workspaceFolder } : {},
  };
  const serverOptions: ServerOptions = { run: executable, debug: executable };

  const clientOptions: LanguageClientOptions = {
    // Formatting (and so format on save), diagnostics and every other feature
    // apply to these documents through the server's capabilities. Terraform
    // files (atlasCedar.terraform.enable): the server answers only inside
    // policy bodies and never formats them.
    documentSelector: documentSelector(config.get<boolean>("terraform.enable") ?? false),
    synchronize: {
      // The server honours the config file found for each document.
      fileEvents: vscode.workspace.createFileSystemWatcher("**/atlas-cedar.toml"),
    },
    ...(outputChannel !== undefined ? { outputChannel } : {}),
    ...(traceChannel !== undefined ? { traceOutputChannel: traceChannel } : {}),
  };

  const newClient = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
  client = newClient;
  context.subscriptions.push({ dispose: () => void newClient.stop() });
  try {
    await newClient.start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    outputChannel?.appendLine(`Failed to start ${command}: ${message}`);
    void vscode.window.showErrorMessage(
      `Atlas Cedar: could not start the language server (${command} ${args.join(" ")}): ${message}`,
    );
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running !== undefined && running.isRunning()) {
    await running.stop();
  }
}

async function restart(context: vscode.ExtensionContext): Promise<void> {
  await stop();
  notFound = false;
  await startIfWanted(context);
}

async function showNotFound(message: string): Promise<void> {
  const openSettings = "Open Settings";
  const choice = await vscode.window.showErrorMessage(`Atlas Cedar: ${message}`, openSettings);
  if (choice === openSettings) {
    await vscode.commands.executeCommand("workbench.action.openSettings", "atlasCedar.server.path");
  }
}
