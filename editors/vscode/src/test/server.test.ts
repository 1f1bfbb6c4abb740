// Unit tests for server discovery (node's built-in test runner; no VS Code needed).

import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  bundledServerPath,
  expandPath,
  findOnPath,
  resolveServerCommand,
  serverVersion,
  ServerNotFoundError,
} from "../server";

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "atlas-cedar-vscode-"));
}

function makeExecutable(dir: string, name: string, mode = 0o755): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, "#!/bin/sh\nexit 0\n");
  fs.chmodSync(file, mode);
  return file;
}

test("finds atlas-cedar on PATH", async () => {
  const empty = tempDir();
  const bin = tempDir();
  const exe = makeExecutable(bin, "atlas-cedar");
  const got = await resolveServerCommand({ envPath: `${empty}:${bin}`, platform: "linux" });
  assert.equal(got, exe);
});

test("skips files on PATH that are not executable", async () => {
  const first = tempDir();
  const second = tempDir();
  makeExecutable(first, "atlas-cedar", 0o644);
  const exe = makeExecutable(second, "atlas-cedar");
  assert.equal(await findOnPath("atlas-cedar", `${first}:${second}`, "linux"), exe);
});

test("the setting wins over PATH", async () => {
  const onPath = tempDir();
  makeExecutable(onPath, "atlas-cedar");
  const custom = tempDir();
  const exe = makeExecutable(custom, "my-atlas-cedar");
  const got = await resolveServerCommand({ configuredPath: exe, envPath: onPath, platform: "linux" });
  assert.equal(got, exe);
});

test("the setting expands ${workspaceFolder} and ~", async () => {
  const ws = tempDir();
  fs.mkdirSync(path.join(ws, "target", "debug"), { recursive: true });
  const exe = makeExecutable(path.join(ws, "target", "debug"), "atlas-cedar");
  const got = await resolveServerCommand({
    configuredPath: "${workspaceFolder}/target/debug/atlas-cedar",
    workspaceFolder: ws,
    envPath: "",
    platform: "linux",
  });
  assert.equal(got, exe);
  assert.equal(expandPath("~/bin/atlas-cedar", undefined, "/home/u"), path.join("/home/u", "bin/atlas-cedar"));
});

test("a bare command name in the setting is looked up on PATH", async () => {
  const bin = tempDir();
  const exe = makeExecutable(bin, "atlas-cedar-dev");
  assert.equal(await resolveServerCommand({ configuredPath: "atlas-cedar-dev", envPath: bin, platform: "linux" }), exe);
});

test("a clear error when the configured path does not exist", async () => {
  await assert.rejects(
    resolveServerCommand({ configuredPath: "/nonexistent/atlas-cedar", envPath: "", platform: "linux" }),
    (err: unknown) =>
      err instanceof ServerNotFoundError &&
      err.message.includes("atlasCedar.server.path") &&
      err.message.includes("/nonexistent/atlas-cedar"),
  );
});

test("falls back to cargo's bin directory after PATH", async () => {
  const home = tempDir();
  fs.mkdirSync(path.join(home, ".cargo", "bin"), { recursive: true });
  const exe = makeExecutable(path.join(home, ".cargo", "bin"), "atlas-cedar");
  assert.equal(await resolveServerCommand({ envPath: tempDir(), platform: "linux", homeDir: home }), exe);
  const onPath = tempDir();
  const first = makeExecutable(onPath, "atlas-cedar");
  assert.equal(await resolveServerCommand({ envPath: onPath, platform: "linux", homeDir: home }), first);
  const cargoHome = tempDir();
  fs.mkdirSync(path.join(cargoHome, "bin"));
  const custom = makeExecutable(path.join(cargoHome, "bin"), "atlas-cedar");
  assert.equal(await resolveServerCommand({ envPath: "", platform: "linux", homeDir: home, cargoHome }), custom);
});

test("a clear error when nothing is on PATH", async () => {
  const empty = tempDir();
  await assert.rejects(
    resolveServerCommand({ envPath: empty, platform: "linux", homeDir: tempDir() }),
    (err: unknown) =>
      err instanceof ServerNotFoundError &&
      err.message.includes("not found on PATH") &&
      err.message.includes("atlasCedar.server.path"),
  );
});

// A platform package (vsce package --target) carries the server in server/.
function bundled(): string {
  const ext = tempDir();
  fs.mkdirSync(path.join(ext, "server"));
  const exe = bundledServerPath(ext, "linux");
  fs.writeFileSync(exe, "#!/bin/sh\necho 'atlas-cedar 9.9.9 (0123456789ab x86_64-unknown-linux-musl)'\n");
  fs.chmodSync(exe, 0o755);
  return exe;
}

test("the bundled server is used when the setting is empty and PATH has none", async () => {
  const exe = bundled();
  assert.equal(exe.endsWith(path.join("server", "atlas-cedar")), true);
  const home = tempDir(); // no ~/.cargo/bin/atlas-cedar either
  assert.equal(await resolveServerCommand({ envPath: tempDir(), platform: "linux", homeDir: home, bundledPath: exe }), exe);
});

test("PATH and the setting win over the bundled server", async () => {
  const exe = bundled();
  const bin = tempDir();
  const onPath = makeExecutable(bin, "atlas-cedar");
  assert.equal(await resolveServerCommand({ envPath: bin, platform: "linux", bundledPath: exe }), onPath);
  const custom = makeExecutable(tempDir(), "my-atlas-cedar");
  assert.equal(
    await resolveServerCommand({ configuredPath: custom, envPath: "", platform: "linux", bundledPath: exe }),
    custom,
  );
});

test("a bundled server that is not there (universal package) is skipped", async () => {
  const home = tempDir();
  await assert.rejects(
    resolveServerCommand({
      envPath: "",
      platform: "linux",
      homeDir: home,
      bundledPath: path.join(tempDir(), "server", "atlas-cedar"),
    }),
    ServerNotFoundError,
  );
  assert.equal(bundledServerPath("/ext", "win32"), path.join("/ext", "server", "atlas-cedar.exe"));
});

test("serverVersion reports the server's --version line", async () => {
  assert.equal(await serverVersion(bundled()), "atlas-cedar 9.9.9 (0123456789ab x86_64-unknown-linux-musl)");
  const broken = makeExecutable(tempDir(), "atlas-cedar");
  fs.writeFileSync(broken, "#!/bin/sh\necho boom >&2\nexit 3\n");
  await assert.rejects(serverVersion(broken), /atlas-cedar --version failed/);
});
