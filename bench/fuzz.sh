#!/usr/bin/env bash
# The longer seeded fuzz run (issue 11): bench/fuzz.sh [CASES] [SEED]
#
# Runs the three harnesses with more cases than `cargo test` (which uses a small
# default) and prints how many cases ran and failed. A failing input is saved in
# target/fuzz-failures/ and named in the failure; rerun it with the same SEED.
#   core:  the lexer, splitter, lint pipeline (.cedar and JSON) and fmt properties;
#          Terraform and CloudFormation bodies (read back exactly, offsets mapped)
#   cli:   every renderer and `fmt --check` on the real binary, in batches of 20 files
#   lsp:   random edits and requests against `atlas-cedar lsp` (UTF-16 and UTF-8)
#   manifest: atlas-cedar.toml read as plan/push read it (every section, offline)
#   import: what import writes (.cedar, JSON payloads, .tf) reads back byte for byte
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-20000}
seed=${2:-$(date +%s)}
cli_cases=$(( cases / 10 ))
lsp_cases=$(( cases / 20 ))
echo "seed $seed: core $cases cases, cli $cli_cases, lsp $lsp_cases edits per session"
start=$(date +%s)
ATLAS_CEDAR_FUZZ_CASES=$cases ATLAS_CEDAR_FUZZ_SEED=$seed \
  cargo test -q --workspace --test fuzz -- --nocapture fuzz_ 2>&1 | grep -E "^fuzz_|panicked|test result"
ATLAS_CEDAR_FUZZ_CASES=$cli_cases ATLAS_CEDAR_FUZZ_SEED=$seed \
  cargo test -q --workspace --test fuzz_cli -- --nocapture fuzz_ 2>&1 | grep -E "^fuzz_|panicked|test result"
ATLAS_CEDAR_FUZZ_CASES=$lsp_cases ATLAS_CEDAR_FUZZ_SEED=$seed \
  cargo test -q --workspace --test lsp -- --nocapture fuzz_ 2>&1 | grep -E "^fuzz_|panicked|test result"
ATLAS_CEDAR_FUZZ_CASES=$cases ATLAS_CEDAR_FUZZ_SEED=$seed \
  cargo test -q --workspace --test fuzz_manifest -- --nocapture fuzz_ 2>&1 | grep -E "^fuzz_|panicked|test result"
ATLAS_CEDAR_FUZZ_CASES=$(( cases / 10 )) ATLAS_CEDAR_FUZZ_SEED=$seed \
  cargo test -q --workspace --test fuzz_import -- --nocapture fuzz_ 2>&1 | grep -E "^fuzz_|panicked|test result"
echo "done in $(( $(date +%s) - start ))s"
