// Loads the packaged extension (unzipped .vsix) in plain node with a stub
// `vscode` module, to prove that the .vsix carries every runtime dependency
// and that activate() reports a missing server instead of throwing.
//
// usage: node test/smoke/load-vsix.js atlas-cedar.vsix
//        node test/smoke/load-vsix.js --bundled atlas-cedar-linux-x64-<version>.vsix
//
// With --bundled (a platform package from package-target.sh), the .vsix must
// carry an executable server/atlas-cedar that runs `--version`, and activate()
// with nothing on PATH must use it and report its version.
"use strict";
const Module = require("module");
const fs = require("fs");
const os = require("os");
const path = require("path");
const zlib = require("zlib");
const assert = require("assert");

// Minimal unzip (stored and deflated entries), so the check needs nothing
// beyond node itself.
function unzip(file, dest) {
  const buf = fs.readFileSync(file);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, `${file} is not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, "central directory entry");
    const method = buf.readUInt16LE(p + 10);
    const compressedSize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString("utf8", p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    const target = path.join(dest, name);
    assert.ok(target.startsWith(dest + path.sep), `entry stays inside: ${name}`);
    if (name.endsWith("/")) continue;
    const localNameLen = buf.readUInt16LE(localOffset + 26);
    const localExtraLen = buf.readUInt16LE(localOffset + 28);
    const start = localOffset + 30 + localNameLen + localExtraLen;
    const data = buf.subarray(start, start + compressedSize);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, method === 0 ? data : zlib.inflateRawSync(data));
    // Unix mode bits, which VS Code applies when it installs an extension.
    const mode = (buf.readUInt32LE(p - nameLen - extraLen - commentLen - 46 + 38) >>> 16) & 0o777;
    if (mode !== 0) fs.chmodSync(target, mode);
  }
}

const bundledMode = process.argv[2] === "--bundled";
const vsix = process.argv[bundledMode ? 3 : 2];
if (!vsix) {
  console.error("usage: load-vsix.js [--bundled] <file.vsix>");
  process.exit(2);
}
const root = fs.mkdtempSync(path.join(os.tmpdir(), "atlas-cedar-vsix-"));
unzip(vsix, root);

// A stub that answers any property access or call with another stub, so the
// language client's module-level uses of the VS Code API succeed.
function stub(name) {
  const fn = function () {};
  return new Proxy(fn, {
    get(_t, prop) {
      if (prop === Symbol.toPrimitive) return () => name;
      if (prop === "then") return undefined; // not a thenable
      if (prop === "prototype") return fn.prototype;
      return stub(`${name}.${String(prop)}`);
    },
    apply() {
      return stub(`${name}()`);
    },
    construct() {
      return stub(`new ${name}`);
    },
  });
}

const errors = [];
const logged = [];
const shown = [];
const workspace = {};
const vscode = new Proxy(
  {
    version: "1.82.0", // vscode-languageclient checks it
    window: new Proxy(
      {
        createOutputChannel: () => ({ appendLine: (l) => logged.push(l), show: () => {}, dispose: () => {} }),
        showErrorMessage: (msg) => {
          errors.push(msg);
          return Promise.resolve(undefined);
        },
      },
      { get: (t, p) => (p in t ? t[p] : stub(`window.${String(p)}`)) },
    ),
    workspace: new Proxy(
      Object.assign(workspace, {
        workspaceFolders: undefined,
        getConfiguration: () => ({ get: (key) => (key === "server.args" ? ["lsp"] : undefined) }),
        onDidChangeConfiguration: () => ({ dispose: () => {} }),
        onDidOpenTextDocument: () => ({ dispose: () => {} }),
        // The workspace has an atlas-cedar.toml (changed below).
        findFiles: () => Promise.resolve(workspace.manifests),
        textDocuments: [],
        manifests: [{ fsPath: "/w/atlas-cedar.toml" }],
      }),
      { get: (t, p) => (p in t ? t[p] : stub(`workspace.${String(p)}`)) },
    ),
    commands: {
      registerCommand: (id) => {
        shown.push(id);
        return { dispose: () => {} };
      },
      executeCommand: () => Promise.resolve(),
    },
  },
  { get: (t, p) => (p in t ? t[p] : stub(`vscode.${String(p)}`)) },
);

const originalLoad = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === "vscode") return vscode;
  return originalLoad.call(this, request, parent, isMain);
};

const manifest = require(path.join(root, "extension", "package.json"));
const main = path.join(root, "extension", manifest.main);
const ext = require(main);
assert.equal(typeof ext.activate, "function", "activate is exported");
assert.equal(typeof ext.deactivate, "function", "deactivate is exported");

// The language client and its protocol must load from the .vsix's own node_modules.
const clientPath = require.resolve("vscode-languageclient/node", { paths: [path.dirname(main)] });
assert.ok(clientPath.startsWith(path.resolve(root)), `vscode-languageclient resolved inside the vsix: ${clientPath}`);

// With no atlas-cedar anywhere, activate() must show a clear error, not throw.
// (An empty home and cargo home hide any ~/.cargo/bin/atlas-cedar on this machine.)
process.env.PATH = "";
process.env.HOME = fs.mkdtempSync(path.join(os.tmpdir(), "atlas-cedar-home-"));
process.env.CARGO_HOME = path.join(process.env.HOME, ".cargo");
const context = { subscriptions: [], extensionPath: path.join(root, "extension") };
const serverExe = path.join(root, "extension", "server", process.platform === "win32" ? "atlas-cedar.exe" : "atlas-cedar");

if (bundledMode) {
  assert.ok(fs.existsSync(serverExe), `the platform package carries the server: ${serverExe}`);
  assert.ok((fs.statSync(serverExe).mode & 0o111) !== 0, "the bundled server is executable once installed");
  const version = require("child_process").execFileSync(serverExe, ["--version"], { encoding: "utf8" }).trim();
  assert.match(version, new RegExp(`^atlas-cedar ${manifest.version.replace(/\./g, "\\.")} \\(\\S+ \\S+\\)$`));
  ext
    .activate(context)
    .then(() => {
      const used = logged.find((l) => l.startsWith("Using "));
      assert.equal(used, `Using ${version}: ${serverExe} (bundled with the extension)`, `logged: ${JSON.stringify(logged)}`);
      assert.ok(!errors.some((e) => /not found/.test(e)), `no "not found" error: ${JSON.stringify(errors)}`);
      console.log(`vsix smoke: ${path.basename(vsix)} carries its server; the extension reports: ${used}`);
      // The language client was started against the stub API; end here.
      fs.rmSync(root, { recursive: true, force: true });
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
} else {
assert.ok(!fs.existsSync(serverExe), "the universal package carries no server");
ext
  .activate(context)
  .then(() => new Promise((r) => setImmediate(r)))
  .then(() => {
    assert.deepEqual(shown.sort(), ["atlasCedar.restartServer", "atlasCedar.showOutput"]);
    assert.equal(errors.length, 1, `one error message, got ${JSON.stringify(errors)}`);
    assert.match(errors[0], /atlas-cedar.*not found on PATH.*atlasCedar\.server\.path/);
  })
  .then(() => {
    // A Terraform file opened with atlasCedar.terraform.enable off, in a
    // workspace without atlas-cedar.toml, activates the extension but starts
    // no server: nothing is looked for, nothing reported.
    workspace.manifests = [];
    workspace.textDocuments = [{ languageId: "terraform", fileName: "/w/main.tf", uri: { scheme: "file" } }];
    const before = logged.length;
    return ext
      .activate({ subscriptions: [], extensionPath: path.join(root, "extension") })
      .then(() => {
        assert.equal(errors.length, 1, `no new error: ${JSON.stringify(errors)}`);
        assert.deepEqual(logged.slice(before), [], "no server looked for or started");
      });
  })
  .then(() => {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(process.env.HOME, { recursive: true, force: true });
    console.log(`vsix smoke: loaded ${manifest.name}@${manifest.version}; missing server reported: ${errors[0]}`);
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
