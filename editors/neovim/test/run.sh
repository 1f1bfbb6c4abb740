#!/usr/bin/env bash
# Starts a real headless Neovim with editors/neovim/atlas-cedar.lua on a bad
# policy and checks that the language server's diagnostic with the expected
# code arrives.
#
# usage: run.sh [POLICY_FILE [EXPECTED_CODE]]
#   POLICY_FILE    default: bad-region.cedar beside this script
#   EXPECTED_CODE  default: $ATLAS_CEDAR_EXPECT_CODE, else AC300
# environment:
#   ATLAS_CEDAR_SERVER      server command (default "atlas-cedar lsp"), split on
#                           whitespace, e.g. "target/debug/atlas-cedar lsp" or
#                           "python3 editors/neovim/test/fake_server.py"
#   ATLAS_CEDAR_TIMEOUT     seconds to wait for the diagnostic (default 20)
#   NVIM_BIN                the nvim to run (default nvim; needs 0.7+)
# Exit status: 0 when the diagnostic arrived, 1 otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
file="${1:-$here/bad-region.cedar}"
expect="${2:-${ATLAS_CEDAR_EXPECT_CODE:-AC300}}"
server="${ATLAS_CEDAR_SERVER:-atlas-cedar lsp}"
timeout_s="${ATLAS_CEDAR_TIMEOUT:-20}"
nvim="${NVIM_BIN:-nvim}"

if ! command -v "$nvim" >/dev/null 2>&1; then
  echo "run.sh: '$nvim' not found; install Neovim 0.7+ (Debian: apt-get install neovim)" >&2
  exit 1
fi
if [ ! -f "$file" ]; then
  echo "run.sh: no such policy file: $file" >&2
  exit 1
fi

# Keep Neovim's state, logs and swap files out of the user's home.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export XDG_CONFIG_HOME="$scratch/config" XDG_DATA_HOME="$scratch/data" \
  XDG_STATE_HOME="$scratch/state" XDG_CACHE_HOME="$scratch/cache"

export ATLAS_CEDAR_CONFIG="$here/../atlas-cedar.lua"
export ATLAS_CEDAR_SERVER="$server"
abs_file="$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"
export ATLAS_CEDAR_FILE="$abs_file"
export ATLAS_CEDAR_EXPECT_CODE="$expect"
export ATLAS_CEDAR_TIMEOUT_MS="$((timeout_s * 1000))"

# The outer timeout only guards against a hung Neovim; the check's own wait is
# bounded by ATLAS_CEDAR_TIMEOUT.
status=0
timeout --kill-after=5 "$((timeout_s + 15))" \
  "$nvim" --headless -u NONE -i NONE -n -c "luafile $here/check_diagnostics.lua" \
  </dev/null || status=$?

if [ "$status" -eq 0 ]; then
  echo "neovim diagnostics check: passed ($expect from \`$server\`)"
else
  [ "$status" -eq 124 ] && echo "run.sh: nvim did not exit within $((timeout_s + 15)) s" >&2
  echo "neovim diagnostics check: FAILED (expected $expect from \`$server\`, exit $status)"
  exit 1
fi
