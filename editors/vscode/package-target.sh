#!/usr/bin/env bash
# Packages the extension for one VS Code platform with the atlas-cedar binary
# inside (server/atlas-cedar[.exe]), as rust-analyzer and ruff do: users of that
# platform install the extension and have the server, no PATH needed (the
# atlasCedar.server.path setting and PATH still win when set).
#
#   editors/vscode/package-target.sh VSCODE_TARGET BINARY OUT
#
#   OUT/atlas-cedar-VSCODE_TARGET-<version>.vsix
#
# VSCODE_TARGET: linux-x64, linux-arm64, alpine-x64, alpine-arm64, darwin-x64,
# darwin-arm64, win32-x64, ... (`vsce package --target`). Needs `npm ci` done.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: editors/vscode/package-target.sh VSCODE_TARGET BINARY OUT" >&2
  exit 2
fi
vscode_target=$1 binary=$2 out=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ ! -f "$binary" ]; then
  echo "package-target.sh: $binary: no such file" >&2
  exit 1
fi
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"
mkdir -p "$out"
out=$(cd "$out" && pwd)
exe=atlas-cedar
case "$vscode_target" in win32-*) exe=atlas-cedar.exe ;; esac

cd "$here"
# A relative require: node on Windows cannot read Git Bash's /d/... paths.
version=$(node -p "require('./package.json').version")
vsix="$out/atlas-cedar-$vscode_target-$version.vsix"
rm -rf server
trap 'rm -rf "$here/server"' EXIT
mkdir server
cp "$binary" "server/$exe"
chmod 755 "server/$exe"
rm -f "$vsix"
npx --no-install vsce package --target "$vscode_target" --out "$vsix" </dev/null
echo "$vsix"
