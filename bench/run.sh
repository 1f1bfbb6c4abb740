#!/usr/bin/env bash
# Lint benchmark (issues 2 and 14). Not part of CI; figures go to BENCHMARKS.md.
#
#   bash bench/run.sh            # needs: hyperfine, GNU time, python3; cedar CLI optional
#   BEFORE=/path/to/old/atlas-cedar bash bench/run.sh   # adds an older build to compare
#   NO_BUILD=1 RUNS=5 bash bench/run.sh                  # use the release binary as built
#
# In one run, so that the machine's load is the same for every figure:
# - 10,000 policies in 1,000 files, every body distinct, then with 30% repeated bodies:
#   `atlas-cedar lint` vs `cedar validate` (cedar-policy-cli 4.14, the same policies in
#   one file, one invocation, the same ResourcePolicy schema). Wall time and CPU time
#   (user + sys), and the ratios to cedar. Install the reference tool outside the
#   repo, e.g.:
#     cargo install cedar-policy-cli --version '~4.14' --root /tmp/tools
#   and point CEDAR at it (default: /tmp/tools/bin/cedar, then `cedar` on PATH).
# - one small file (the pre-commit case);
# - a 50 MB file: wall, CPU and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_DIR:-/tmp/atlas-cedar-bench}
runs=${RUNS:-10}
mkdir -p "$work"
[ -n "${NO_BUILD:-}" ] || cargo build --release -p atlas-cedar >/dev/null
bin=$PWD/target/release/atlas-cedar
before=${BEFORE:-}
cedar=${CEDAR:-/tmp/tools/bin/cedar}
[ -x "$cedar" ] || cedar=$(command -v cedar || true)

[ -d "$work/corpus" ] || python3 bench/gen_corpus.py "$work/corpus"
[ -d "$work/dups" ] || python3 bench/gen_corpus.py "$work/dups" --duplicates 30
[ -f "$work/big.cedar" ] || python3 bench/gen_corpus.py --big "$work/big.cedar" --mb 50
schema=crates/atlas-cedar-core/data/resource-policy.cedarschema
echo "machine: $(nproc) cores, $(uname -m); load average:$(cut -d' ' -f1-3 /proc/loadavg); $("$bin" --version)"
[ -n "$cedar" ] && echo "reference: $("$cedar" --version)"

# hyperfine's JSON → "name: wall mean ± sd, cpu (user+sys) mean", then ratios to the
# first command (the reference) when there is one.
report() {
  python3 - "$1" <<'PY'
import json, sys
rs = json.load(open(sys.argv[1]))["results"]
ref = rs[0] if rs and rs[0]["command"].startswith("cedar") else None
for r in rs:
    cpu = r["user"] + r["system"]
    line = f'{r["command"]:<34} wall {r["mean"]*1000:8.1f} ms ± {r["stddev"]*1000:6.1f}   cpu {cpu*1000:8.1f} ms'
    if ref is not None and r is not ref:
        rcpu = ref["user"] + ref["system"]
        line += f'   ratio to cedar: wall {r["mean"]/ref["mean"]:.2f}×, cpu {cpu/rcpu:.2f}×'
    print(line)
PY
}

corpus() { # NAME DIR
  local name=$1 dir=$2 args=()
  echo
  echo "== $name"
  "$bin" lint "$dir/files" 2>&1 | tail -1 || true
  if [ -n "$cedar" ]; then
    "$cedar" validate --schema "$schema" --policies "$dir/all.cedar" | tail -1 || true
    args+=(-n "cedar validate (1 file)" "$cedar validate --schema $schema --policies $dir/all.cedar")
  fi
  args+=(-n "atlas-cedar lint (1,000 files)" "$bin lint --quiet $dir/files")
  [ -n "$before" ] && args+=(-n "before: lint (1,000 files)" "$before lint --quiet $dir/files")
  hyperfine -N -i --warmup 2 --runs "$runs" --export-json "$work/h.json" "${args[@]}" >/dev/null
  report "$work/h.json"
  /usr/bin/time -f "atlas-cedar lint peak RSS: %M KB" "$bin" lint --quiet "$dir/files" 2>&1 | tail -1
}

corpus "10,000 policies in 1,000 files, every body distinct" "$work/corpus"
corpus "10,000 policies in 1,000 files, 30% repeated bodies" "$work/dups"

echo
echo "== one small file (pre-commit)"
hyperfine -N --warmup 5 --runs 50 --export-json "$work/h.json" "$bin lint --quiet policies/allowed-regions.cedar" >/dev/null
report "$work/h.json"

echo
echo "== 50 MB file: wall, CPU and peak memory"
ls -l "$work/big.cedar" | awk '{print $5 " bytes"}'
big() { # LABEL BIN
  /usr/bin/time -f "$1: wall %e s, cpu (user+sys) %U+%S s, peak RSS %M KB" "$2" lint --quiet "$work/big.cedar" 2>&1 | tail -1 || true
}
big "atlas-cedar lint" "$bin"
[ -n "$before" ] && big "before: lint" "$before"
if [ -n "$cedar" ]; then
  /usr/bin/time -f "cedar validate: wall %e s, cpu (user+sys) %U+%S s, peak RSS %M KB" \
    "$cedar" validate --schema "$schema" --policies "$work/big.cedar" 2>&1 | tail -1 || true
fi
