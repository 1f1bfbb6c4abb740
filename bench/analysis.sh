#!/usr/bin/env bash
# Analysis benchmark (issue 6): `analyze` and `diff` on policies/ and on 200 generated
# policies, in both methods, and single `diff --prove` equivalence queries. Not part
# of CI; figures go to BENCHMARKS.md ("Analysis").
#
#   bash bench/analysis.sh       # needs: hyperfine, python3, cvc5 (apt-get install -y cvc5)
#
# BEFORE=/path/to/an/older/atlas-cedar adds it to the comparisons.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_DIR:-/tmp/atlas-cedar-bench}
mkdir -p "$work"
cargo build --release -p atlas-cedar >/dev/null
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/atlas-cedar
before=${BEFORE:-}
# 200 policies: the first 200 of the lint corpus (20 files of 10).
[ -d "$work/c200/files" ] || python3 bench/gen_corpus.py "$work/c200" --files 20 --per-file 10
c200=$work/c200/files
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $("$bin" --version); $(cvc5 --version | head -1)"

echo
echo "== analyze"
{ "$bin" analyze "$c200" --method prove || true; } | tail -2
{ "$bin" analyze policies --method prove || true; } | tail -2
args=(-N -i --warmup 2 --runs 10)
if [ -n "$before" ]; then
  hyperfine "${args[@]}" --runs 3 -n "before: analyze 200" "$before analyze $c200"
  hyperfine "${args[@]}" -n "before: analyze policies/" "$before analyze policies"
fi
hyperfine "${args[@]}" \
  -n "analyze 200 --method exhaustive" "$bin analyze $c200 --method exhaustive" \
  -n "analyze 200 --method prove" "$bin analyze $c200 --method prove" \
  -n "analyze policies/ --method exhaustive" "$bin analyze policies --method exhaustive" \
  -n "analyze policies/ --method prove" "$bin analyze policies --method prove"

echo
echo "== diff"
hyperfine "${args[@]}" \
  -n "diff 200 200" "$bin diff $c200 $c200" \
  -n "diff policies policies" "$bin diff policies policies"

echo
echo "== diff --prove: one equivalence query per action (the solver's own time in ms)"
p=$work/prove
mkdir -p "$p"
printf '%s\n' 'forbid (principal, action == ResourcePolicy::Action::"project.vpcPeering.modify", resource)' \
  'when { context.project.peeringConnections.containsAny(["a", "b"]) && !context.project.peeringConnections.isEmpty() };' > "$p/p1.cedar"
printf '%s\n' 'forbid (principal, action == ResourcePolicy::Action::"project.vpcPeering.modify", resource)' \
  'when { !context.project.peeringConnections.isEmpty() && context.project.peeringConnections.containsAny(["b", "a"]) };' > "$p/p2.cedar"
cp policies/allowed-regions.cedar "$p/old.cedar"
sed 's/"aws:eu-north-1",/"aws:eu-north-1", ResourcePolicy::Region::"aws:us-east-1",/' "$p/old.cedar" > "$p/new.cedar"
for pair in "p1 p2" "old old" "old new"; do
  set -- $pair
  { "$bin" diff "$p/$1.cedar" "$p/$2.cedar" --prove --format json || true; } |
    python3 -c "import json,sys; v=json.load(sys.stdin); print('$1 vs $2:', ', '.join(f\"{q['action']} {q['result']} {q['millis']} ms\" for q in v['proofs']))"
done
hyperfine "${args[@]}" \
  -n "diff --prove p1 p2 (1 query: equivalent)" "$bin diff $p/p1.cedar $p/p2.cedar --prove" \
  -n "diff --prove allowed-regions + 1 region (2 queries: different)" "$bin diff $p/old.cedar $p/new.cedar --prove"
