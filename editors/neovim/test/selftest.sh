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

echo "neovim harness selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
