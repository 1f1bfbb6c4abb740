#!/usr/bin/env bash
# CI for editors/: the VS Code extension, the Neovim harness and the Helix snippet.
#
#   bash editors/ci.sh
#
# Needs node >= 20 + npm (npm registry), nvim >= 0.7 (Debian: neovim) and python3 >= 3.11.
# When ATLAS_CEDAR_SERVER is set (e.g. "$PWD/target/debug/atlas-cedar lsp"), the Neovim
# check also runs against that real server; otherwise only against the fake one.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
start=$(date +%s)
passed=0

echo "==> editors/vscode/ci.sh"
bash "$here/vscode/ci.sh"
passed=$((passed + 1))

echo
echo "==> editors/neovim/test/selftest.sh (harness against fake_server.py)"
bash "$here/neovim/test/selftest.sh"
passed=$((passed + 1))

if [ -n "${ATLAS_CEDAR_SERVER:-}" ]; then
  echo
  echo "==> editors/neovim/test/run.sh with ATLAS_CEDAR_SERVER=$ATLAS_CEDAR_SERVER"
  bash "$here/neovim/test/run.sh" "$here/neovim/test/bad-region.cedar" "${ATLAS_CEDAR_EXPECT_CODE:-AC300}"
  passed=$((passed + 1))
fi

echo
echo "==> editors/helix/test/check_languages.py"
python3 "$here/helix/test/check_languages.py"
passed=$((passed + 1))

echo
echo "editors ci.sh: $passed suites OK in $(( $(date +%s) - start ))s"
