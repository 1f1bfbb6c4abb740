#!/usr/bin/env bash
# CI for the VS Code extension: install, compile (tsc --strict), unit tests,
# TextMate grammar tests, package the .vsix and load the packaged extension.
# Needs node >= 20 with npm and the npm registry; nothing else (no VS Code,
# no display). Run from anywhere: bash editors/vscode/ci.sh
#
# With ATLAS_CEDAR_BUNDLE_BINARY=<path to a built atlas-cedar> (.ci/run passes
# the release build), also packages the linux-x64 extension with that binary
# inside (package-target.sh) and checks the .vsix carries it, runs its
# --version, and that the extension uses and reports it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
start=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "ci.sh: node >= 20 is required (found $(node --version))" >&2
  exit 1
fi

step "npm ci"
# --ignore-scripts: no dependency needs an install script to compile, test or
# package (the only one, @vscode/vsce-sign's, is for signing, unused here).
npm ci --ignore-scripts --no-audit --no-fund

step "compile (tsc, strict)"
rm -rf out
npm run --silent compile

step "unit tests (server discovery)"
npm run --silent test:unit

step "grammar tests"
npm run --silent test:grammar

step "package"
rm -f atlas-cedar.vsix
npm run --silent package </dev/null
test -s atlas-cedar.vsix

step "load the packaged extension"
node test/smoke/load-vsix.js atlas-cedar.vsix

bundled=""
if [ -n "${ATLAS_CEDAR_BUNDLE_BINARY:-}" ]; then
  step "package linux-x64 with the server inside"
  vsix=$(bash package-target.sh linux-x64 "$ATLAS_CEDAR_BUNDLE_BINARY" "$PWD/out-vsix" | tail -1)
  node test/smoke/load-vsix.js --bundled "$vsix"
  bundled=", $(basename "$vsix") $(( $(wc -c < "$vsix") / 1024 )) KiB with its server"
  rm -rf out-vsix
fi

size_kb=$(( $(wc -c < atlas-cedar.vsix) / 1024 ))
echo
echo "editors/vscode ci.sh: OK in $(( $(date +%s) - start ))s (compile, unit tests, grammar tests, atlas-cedar.vsix ${size_kb} KiB, vsix load$bundled)"
