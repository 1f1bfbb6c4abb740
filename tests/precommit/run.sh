#!/usr/bin/env bash
# The pre-commit round trip for .pre-commit-hooks.yaml: installs pre-commit from
# PyPI into a virtualenv, then, in a scratch git repository, runs this checkout's
# hooks (`atlas-cedar-lint`, `atlas-cedar-fmt`) with `pre-commit try-repo`: on a
# bad policy and a badly formatted one (both hooks must fail, lint with the
# diagnostic, fmt rewriting the file), then on a good policy (both must pass).
#
#   tests/precommit/run.sh [REPO]                 # REPO: the checkout to test (default: this one)
#   tests/precommit/run.sh --wheels DIR [REPO]    # the release's hook repository, from a wheel
#
# With --wheels, the hooks are the ones a release publishes (dist/precommit-mirror.sh:
# a package depending on atlas-cedar==<version>, as ruff-pre-commit does), and
# pip installs the atlas-cedar wheel from DIR (PIP_NO_INDEX, PIP_FIND_LINKS): no
# compiling, and no cargo on the hooks' PATH, so a source build could not even
# start. pip's log must show the wheel installed and nothing built.
#
# Without --wheels:
# try-repo builds the hook from the repository's HEAD commit plus uncommitted
# changes to tracked files (new files must be committed or staged). Each of the
# two try-repo calls builds a fresh hook environment (pip + maturin + `cargo build
# --release` of the CLI); the Cargo target directory is shared (CARGO_TARGET_DIR,
# default REPO/target) so only the first call compiles the dependencies.
# Needs: python3 with venv, git, cargo, network access to PyPI and crates.io.
set -euo pipefail

wheels=""
if [ "${1:-}" = "--wheels" ]; then
  wheels=$(cd "${2:?--wheels needs a directory}" && pwd)
  shift 2
fi
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

hook_repo=$repo
hook_env=()
if [ -n "$wheels" ]; then
  version=$(bash "$repo/dist/version.sh")
  say "the release's hook repository (dist/precommit-mirror.sh $version), atlas-cedar from $wheels"
  hook_repo="$work/hook-repo"
  bash "$repo/dist/precommit-mirror.sh" "$version" "$hook_repo" >/dev/null
  git -C "$hook_repo" init --quiet
  git -C "$hook_repo" add -A
  git -C "$hook_repo" -c user.email=ci@example.invalid -c user.name=ci -c commit.gpgsign=false commit --quiet -m "v$version"
  # The wheelhouse pip may use, and nothing else: the atlas-cedar wheel and the
  # hook package's build backend (setuptools, from PyPI now, before the index is cut off).
  mkdir -p "$work/wheelhouse"
  cp "$wheels"/atlas_cedar-"$version"-*.whl "$work/wheelhouse/"
  "$work/venv/bin/python" -m pip download --quiet --disable-pip-version-check --only-binary :all: \
    --dest "$work/wheelhouse" "setuptools==80.9.0"
  # PATH without any directory holding cargo, rustc or rustup.
  path=""
  IFS=: read -ra dirs <<< "$PATH"
  for d in "${dirs[@]}"; do
    if [ -n "$d" ] && [ ! -x "$d/cargo" ] && [ ! -x "$d/rustc" ] && [ ! -x "$d/rustup" ]; then
      path="${path:+$path:}$d"
    fi
  done
  hook_env=(env -u CARGO_HOME -u RUSTUP_HOME -u CARGO_TARGET_DIR PATH="$path" PIP_NO_INDEX=1
    PIP_FIND_LINKS="$work/wheelhouse" PIP_LOG="$work/pip.log")
  if "${hook_env[@]}" sh -c 'command -v cargo' >/dev/null; then fail "cargo is still on the hooks' PATH"; fi
fi

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
  say "pre-commit try-repo $hook_repo --files $*"
  set +e
  "${hook_env[@]}" "$pc" try-repo "$hook_repo" --files "$@" > "$work/out" 2>&1
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

if [ -n "$wheels" ]; then
  # pip's own log (PIP_LOG, appended by every pip run of the hook environments):
  # atlas-cedar came from the wheel, and nothing built it.
  grep -q "Processing .*/atlas_cedar-$version-py3-none-[a-z0-9_.]*\.whl" "$work/pip.log" \
    || fail "pip did not install atlas-cedar from the wheel (see $work/pip.log)"
  grep -q "Successfully installed .*atlas-cedar-$version" "$work/pip.log" || fail "pip did not install atlas-cedar $version"
  if grep -Eq "Building wheel for atlas-cedar |maturin|cargo (build|rustc)" "$work/pip.log"; then
    fail "a hook environment built atlas-cedar from source"
  fi
  say "the hook environments installed $(grep -o "atlas_cedar-$version-py3-none-[a-z0-9_.]*\.whl" "$work/pip.log" | sort -u | tr '\n' ' ')with no build"
fi

say "ok"
