// Finding the `atlas-cedar` executable: the `atlasCedar.server.path` setting
// first, then `PATH`, then the binary bundled in a platform-specific package
// of the extension (server/atlas-cedar), then ~/.cargo/bin. Kept free of the
// `vscode` module so it can be unit tested with plain node.

import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const SERVER_BINARY = "atlas-cedar";

export class ServerNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServerNotFoundError";
  }
}

export interface ResolveOptions {
  /** Value of `atlasCedar.server.path`; empty or undefined means "search PATH". */
  configuredPath?: string | undefined;
  /** First workspace folder, used to expand `${workspaceFolder}` and relative paths. */
  workspaceFolder?: string | undefined;
  /** The PATH environment variable. */
  envPath?: string | undefined;
  /** process.platform */
  platform?: NodeJS.Platform;
  /** PATHEXT on Windows. */
  pathExt?: string | undefined;
  /** os.homedir(), injectable for tests. */
  homeDir?: string;
  /** $CARGO_HOME, where `cargo install` puts binaries (default ~/.cargo). */
  cargoHome?: string | undefined;
  /** The server shipped inside the extension (platform packages only; may not exist). */
  bundledPath?: string | undefined;
}

/** Where the bundled server lives inside the extension's folder. */
export function bundledServerPath(extensionPath: string, platform: NodeJS.Platform): string {
  return path.join(extensionPath, "server", platform === "win32" ? `${SERVER_BINARY}.exe` : SERVER_BINARY);
}

/**
 * The server's own `--version` line ("atlas-cedar 0.1.0 (<commit> <target>)"),
 * so the user can see which server the extension runs; rejects with a readable
 * message when the executable cannot run.
 */
export function serverVersion(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, ["--version"], { timeout: 10_000, windowsHide: true }, (err, stdout, stderr) => {
      const line = String(stdout).trim().split(/\r?\n/)[0] ?? "";
      if (err !== null || line === "") {
        const why = err !== null ? err.message : `no output${String(stderr).trim() !== "" ? `: ${String(stderr).trim()}` : ""}`;
        reject(new Error(`${command} --version failed: ${why}`));
        return;
      }
      resolve(line);
    });
  });
}

/** Expands `~` and `${workspaceFolder}` and makes a relative path absolute. */
export function expandPath(raw: string, workspaceFolder: string | undefined, homeDir: string): string {
  let p = raw.trim();
  if (p === "~" || p.startsWith("~/") || p.startsWith("~\\")) {
    p = path.join(homeDir, p.slice(1));
  }
  if (p.includes("${workspaceFolder}")) {
    if (workspaceFolder === undefined) {
      throw new ServerNotFoundError(
        `atlasCedar.server.path is "${raw}", which uses \${workspaceFolder}, but no folder is open.`,
      );
    }
    p = p.split("${workspaceFolder}").join(workspaceFolder);
  }
  if (!path.isAbsolute(p) && workspaceFolder !== undefined) {
    p = path.resolve(workspaceFolder, p);
  }
  return p;
}

async function isExecutableFile(file: string, platform: NodeJS.Platform): Promise<boolean> {
  try {
    const stat = await fs.promises.stat(file);
    if (!stat.isFile()) {
      return false;
    }
    if (platform === "win32") {
      return true;
    }
    await fs.promises.access(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Looks `name` up in `envPath` like a shell would. */
export async function findOnPath(
  name: string,
  envPath: string | undefined,
  platform: NodeJS.Platform,
  pathExt?: string,
): Promise<string | undefined> {
  if (envPath === undefined || envPath === "") {
    return undefined;
  }
  const delimiter = platform === "win32" ? ";" : ":";
  const extensions =
    platform === "win32"
      ? ["", ...(pathExt ?? ".EXE;.CMD;.BAT;.COM").split(";").filter((e) => e !== "")]
      : [""];
  for (const dir of envPath.split(delimiter)) {
    if (dir === "") {
      continue;
    }
    for (const ext of extensions) {
      const candidate = path.join(dir, name + ext);
      if (await isExecutableFile(candidate, platform)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/**
 * Returns the command to spawn, or throws ServerNotFoundError with a message
 * that tells the user what was tried and how to fix it.
 */
export async function resolveServerCommand(options: ResolveOptions): Promise<string> {
  const platform = options.platform ?? process.platform;
  const homeDir = options.homeDir ?? os.homedir();
  const configured = options.configuredPath?.trim();

  if (configured !== undefined && configured !== "") {
    const looksLikePath = configured.includes("/") || configured.includes("\\") || configured.startsWith("~");
    if (!looksLikePath) {
      // A bare command name such as "atlas-cedar-dev": look it up on PATH.
      const found = await findOnPath(configured, options.envPath, platform, options.pathExt);
      if (found !== undefined) {
        return found;
      }
      throw new ServerNotFoundError(
        `atlasCedar.server.path is "${configured}", but no executable of that name is on PATH. ` +
          `Set it to the full path of the atlas-cedar binary.`,
      );
    }
    const expanded = expandPath(configured, options.workspaceFolder, homeDir);
    if (await isExecutableFile(expanded, platform)) {
      return expanded;
    }
    throw new ServerNotFoundError(
      `atlasCedar.server.path is "${configured}", but ${expanded} is not an executable file. ` +
        `Fix the setting, or clear it to use the atlas-cedar found on PATH.`,
    );
  }

  const found = await findOnPath(SERVER_BINARY, options.envPath, platform, options.pathExt);
  if (found !== undefined) {
    return found;
  }
  if (options.bundledPath !== undefined && (await isExecutableFile(options.bundledPath, platform))) {
    return options.bundledPath;
  }
  // VS Code started from a desktop launcher often lacks ~/.cargo/bin on PATH.
  const cargoBin = path.join(options.cargoHome ?? path.join(homeDir, ".cargo"), "bin");
  const cargoInstalled = path.join(cargoBin, platform === "win32" ? `${SERVER_BINARY}.exe` : SERVER_BINARY);
  if (await isExecutableFile(cargoInstalled, platform)) {
    return cargoInstalled;
  }
  throw new ServerNotFoundError(
    `the language server executable "${SERVER_BINARY}" was not found on PATH nor in ${cargoBin}. ` +
      `Install it (pip install atlas-cedar, or cargo install --path crates/atlas-cedar-cli in a checkout) ` +
      `or set atlasCedar.server.path to its full path.`,
  );
}
