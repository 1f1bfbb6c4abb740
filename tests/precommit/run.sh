#!/usr/bin/env bash
# The pre-commit round trip for .pre-commit-hooks.yaml: installs pre-commit from
# PyPI into a virtualenv, then, in a scratch git repository, runs this checkout's
# hooks (`atlas-cedar-lint`, `atlas-cedar-fmt`) with `pre-commit try-repo`: on a
# bad policy and a badly formatted one (both hooks must fail, lint with the
# diagnostic, fmt rewriting the file), then on a good policy (both must pass).
#
#   tests/precommit/run.sh [REPO]      # REPO: the checkout to test (default: this one)
#
# try-repo builds the hook from the repository's HEAD commit plus uncommitted
# changes to tracked files (new files must be committed or staged). Each of the
# two try-repo calls builds a fresh hook environment (pip + maturin + `cargo build
# --release` of the CLI); the Cargo target directory is shared (CARGO_TARGET_DIR,
# default REPO/target) so only the first call compiles the dependencies.
# Needs: python3 with venv, git, cargo, network access to PyPI and crates.io.
set -euo pipefail

repo=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
say() { echo "precommit: $* ($(( $(date +%s) - start ))s)"; }
fail() { echo "precommit: FAIL: $*" >&2; exit 1; }

say "installing pre-commit from PyPI"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check pre-commit
pc="$work/venv/bin/pre-commit"
"$pc" --version

scratch="$work/scratch"
mkdir -p "$scratch"
cd "$scratch"
git init --quiet
git config user.email ci@example.invalid
git config user.name ci
git config commit.gpgsign false

# A missing comma before `resource`: Atlas answers POLICY_PARSING_ERROR.
cat > bad.cedar <<'CEDAR'
forbid (principal, action == ResourcePolicy::Action::"cluster.modify" resource);
CEDAR
cat > good.cedar <<'CEDAR'
forbid (
  principal,
  action == ResourcePolicy::Action::"cluster.modify",
  resource
)
when
{
  context.cluster
    .cloudProviders
    .containsAny(
      [ResourcePolicy::CloudProvider::"gcp"]
    )
};
CEDAR
printf 'forbid(principal,action==ResourcePolicy::Action::"cluster.modify",resource)\nwhen{context.cluster.cloudProviders.containsAny([ResourcePolicy::CloudProvider::"gcp"])};\n' > ugly.cedar
# Terraform: a bad region in an indented heredoc, and the same body fixed.
cat > bad.tf <<'TF'
resource "mongodbatlas_resource_policy" "regions" {
  org_id = var.org_id
  name   = "regions"
  policies = [
    {
      body = <<-EOF
        forbid (principal, action == ResourcePolicy::Action::"cluster.modify", resource)
        unless { context.cluster.regions.containsAll([ResourcePolicy::Region::"aws:us-east-9"]) };
      EOF
    },
  ]
}
TF
sed 's/us-east-9/us-east-1/' bad.tf > good.tf
git add bad.cedar good.cedar ugly.cedar bad.tf good.tf

# try_repo FILE...: runs every hook of the repository on FILE... (output in
# $work/out, exit status in $status).
try_repo() {
  say "pre-commit try-repo $repo --files $*"
  set +e
  "$pc" try-repo "$repo" --files "$@" > "$work/out" 2>&1
  status=$?
  set -e
  cat "$work/out"
}

# The bad policy and the badly formatted one: both hooks fail.
try_repo bad.cedar ugly.cedar bad.tf
[ "$status" -ne 0 ] || fail "the hooks passed on bad.cedar and ugly.cedar"
grep -q "^atlas-cedar lint (Terraform)\.*Failed" "$work/out" || fail "the Terraform hook did not fail on bad.tf"
grep -q "bad.tf:8:79" "$work/out" || fail "the Terraform diagnostic does not point at bad.tf:8:79"
grep -q "unexpected token" "$work/out" || fail "no 'unexpected token' diagnostic in the lint hook's output"
grep -q "bad.cedar:1:71" "$work/out" || fail "the diagnostic does not point at bad.cedar:1:71"
grep -q "^atlas-cedar lint\.*Failed" "$work/out" || fail "the lint hook did not fail"
grep -q "^atlas-cedar fmt\.*Failed" "$work/out" || fail "the fmt hook did not fail"
grep -q "files were modified by this hook" "$work/out" || fail "the fmt hook did not rewrite ugly.cedar"
git diff --quiet -- ugly.cedar && fail "ugly.cedar is unchanged"
git diff --quiet -- bad.cedar || fail "fmt changed bad.cedar, which has a syntax error"

# The good policy (already formatted): both hooks pass.
try_repo good.cedar good.tf
[ "$status" -eq 0 ] || fail "the hooks failed on good.cedar and good.tf"
grep -q "^atlas-cedar lint (Terraform)\.*Passed" "$work/out" || fail "the Terraform hook did not pass on good.tf"
grep -q "^atlas-cedar lint\.*Passed" "$work/out" || fail "the lint hook did not pass"
grep -q "^atlas-cedar fmt\.*Passed" "$work/out" || fail "the fmt hook did not pass"

say "ok"
