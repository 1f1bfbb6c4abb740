#!/usr/bin/env bash
# Lint benchmark (issue 2). Not part of CI; figures go to BENCHMARKS.md.
#
#   bash bench/run.sh            # needs: hyperfine, GNU time, python3; cedar CLI optional
#
# - 10,000 policies in 1,000 files: `atlas-cedar lint` vs `cedar validate` (cedar-policy-cli
#   4.14, all policies in one file, one invocation, the same ResourcePolicy schema).
#   Install the reference tool outside the repo, e.g.:
#     cargo install cedar-policy-cli --version '~4.14' --root /tmp/tools
#   and point CEDAR at it (default: /tmp/tools/bin/cedar, then `cedar` on PATH).
# - one small file (the pre-commit case);
# - peak memory on a 50 MB file.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_DIR:-/tmp/atlas-cedar-bench}
mkdir -p "$work"
cargo build --release -p atlas-cedar-cli >/dev/null
bin=$PWD/target/release/atlas-cedar
cedar=${CEDAR:-/tmp/tools/bin/cedar}
command -v "$cedar" >/dev/null 2>&1 || cedar=$(command -v cedar || true)

[ -d "$work/corpus" ] || python3 bench/gen_corpus.py "$work/corpus"
[ -f "$work/big.cedar" ] || python3 bench/gen_corpus.py --big "$work/big.cedar" --mb 50
schema=crates/atlas-cedar-core/data/resource-policy.cedarschema
echo "machine: $(nproc) cores, $(uname -m); $("$bin" --version)"
[ -n "$cedar" ] && echo "reference: $("$cedar" --version)"

echo
echo "== 10,000 policies in 1,000 files"
"$bin" lint "$work/corpus/files" 2>&1 | tail -1
if [ -n "$cedar" ]; then
  "$cedar" validate --schema "$schema" --policies "$work/corpus/all.cedar" | tail -1
  hyperfine -N --warmup 2 --runs 10 \
    -n "atlas-cedar lint (1,000 files)" "$bin lint --quiet $work/corpus/files" \
    -n "cedar validate (1 file)" "$cedar validate --schema $schema --policies $work/corpus/all.cedar"
else
  hyperfine -N --warmup 2 --runs 10 -n "atlas-cedar lint (1,000 files)" "$bin lint --quiet $work/corpus/files"
fi

echo
echo "== one small file (pre-commit)"
hyperfine -N --warmup 5 --runs 50 "$bin lint --quiet policies/allowed-regions.cedar"

echo
echo "== 50 MB file: wall time and peak memory"
ls -l "$work/big.cedar" | awk '{print $5 " bytes"}'
/usr/bin/time -v "$bin" lint --quiet "$work/big.cedar" 2> "$work/time.txt" || true
grep -E "Elapsed|Maximum resident" "$work/time.txt"
