#!/usr/bin/env bash
# Tests run.sh itself against fake_server.py (no atlas-cedar binary needed):
# it must pass when the expected code arrives, also late, and fail when the
# code differs, the server is missing, or the server dies.
# Needs nvim (0.7+) and python3.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fake="python3 $here/fake_server.py"
passed=0
failed=0
run_args=() # positional arguments for run.sh in the next expect

expect() { # expect pass|fail NAME [ENV=VALUE...]
  local want="$1" name="$2"
  shift 2
  local log status=0
  log="$(mktemp)"
  env "$@" bash "$here/run.sh" ${run_args[@]+"${run_args[@]}"} >"$log" 2>&1 || status=$?
  run_args=()
  if { [ "$want" = pass ] && [ "$status" -eq 0 ]; } || { [ "$want" = fail ] && [ "$status" -ne 0 ]; }; then
    echo "ok   - $name (run.sh exit $status)"
    passed=$((passed + 1))
  else
    echo "FAIL - $name: wanted run.sh to $want, exit $status; its output:"
    sed 's/^/       /' "$log"
    failed=$((failed + 1))
  fi
  rm -f "$log"
}

expect pass "diagnostic with the expected code" \
  ATLAS_CEDAR_SERVER="$fake" FAKE_LSP_CODE=AC300 ATLAS_CEDAR_EXPECT_CODE=AC300
expect pass "diagnostic that arrives after 1.5 s" \
  ATLAS_CEDAR_SERVER="$fake" FAKE_LSP_CODE=AC300 FAKE_LSP_DELAY_MS=1500 ATLAS_CEDAR_EXPECT_CODE=AC300
run_args=("$here/bad-region.cedar" AC401)
expect pass "file and code given as arguments" \
  ATLAS_CEDAR_SERVER="$fake" FAKE_LSP_CODE=AC401
expect fail "diagnostic with another code" \
  ATLAS_CEDAR_SERVER="$fake" FAKE_LSP_CODE=AC999 ATLAS_CEDAR_EXPECT_CODE=AC300 ATLAS_CEDAR_TIMEOUT=3
expect fail "diagnostic later than the timeout" \
  ATLAS_CEDAR_SERVER="$fake" FAKE_LSP_CODE=AC300 FAKE_LSP_DELAY_MS=4000 ATLAS_CEDAR_EXPECT_CODE=AC300 ATLAS_CEDAR_TIMEOUT=2
expect fail "server not installed" \
  ATLAS_CEDAR_SERVER="atlas-cedar-does-not-exist lsp" ATLAS_CEDAR_TIMEOUT=3
expect fail "server that exits at once" \
  ATLAS_CEDAR_SERVER="false" ATLAS_CEDAR_TIMEOUT=10

# The server's root is the nearest directory with atlas-cedar.toml, else .git.
proj="$(mktemp -d)"
mkdir -p "$proj/.git" "$proj/policies/sub"
touch "$proj/policies/atlas-cedar.toml"
cp "$here/bad-region.cedar" "$proj/policies/sub/a.cedar"
cp "$here/bad-region.cedar" "$proj/b.cedar"
for case in "policies/sub/a.cedar:$proj/policies" "b.cedar:$proj"; do
  rel="${case%%:*}" want="file://${case#*:}"
  status=0
  FAKE_LSP_LOG="$proj/lsp.log" ATLAS_CEDAR_SERVER="$fake" bash "$here/run.sh" "$proj/$rel" >/dev/null 2>&1 || status=$?
  got="$(sed -n 's/.*"rootUri": "\([^"]*\)".*/\1/p' "$proj/lsp.log" | tail -n 1)"
  rm -f "$proj/lsp.log"
  if [ "$status" -eq 0 ] && [ "$got" = "$want" ]; then
    echo "ok   - root of $rel is $want"
    passed=$((passed + 1))
  else
    echo "FAIL - root of $rel: wanted $want, got '$got' (run.sh exit $status)"
    failed=$((failed + 1))
  fi
done
rm -rf "$proj"

# Format on save goes through the server (fake_server.py's formatter adds a line).
copy="$(mktemp -d)/policy.cedar"
cp "$here/bad-region.cedar" "$copy"
scratch="$(mktemp -d)"
status=0
XDG_CONFIG_HOME="$scratch" XDG_DATA_HOME="$scratch" XDG_STATE_HOME="$scratch" XDG_CACHE_HOME="$scratch" \
  ATLAS_CEDAR_CONFIG="$here/../atlas-cedar.lua" ATLAS_CEDAR_SERVER="$fake" ATLAS_CEDAR_FILE="$copy" \
  ATLAS_CEDAR_TIMEOUT_MS=10000 timeout 30 "${NVIM_BIN:-nvim}" --headless -u NONE -i NONE -n \
  -c "luafile $here/check_format.lua" </dev/null >"$scratch/out" 2>&1 || status=$?
if [ "$status" -eq 0 ]; then
  echo "ok   - format on save through the server"
  passed=$((passed + 1))
else
  echo "FAIL - format on save through the server (exit $status):"
  sed 's/^/       /' "$scratch/out"
  failed=$((failed + 1))
fi
rm -rf "$scratch" "$(dirname "$copy")"

echo "neovim harness selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
