#!/usr/bin/env bash
# Builds atlas-cedar for one target, once, and makes every release artifact of
# that target from that one build:
#
#   dist/build.sh TARGET OUT [MATURIN-ARGS...]
#
#   OUT/wheels/atlas_cedar-<version>-py3-none-<platform>.whl   (pip, PyPI, pre-commit)
#   OUT/bin/atlas-cedar[.exe]                                  (the binary, from the wheel)
#   OUT/atlas-cedar-<version>-<TARGET>.tar.gz|zip + .sha256    (GitHub release, binstall, the Action)
#
# The build is maturin's (`bindings = "bin"` in pyproject.toml: `cargo build
# --release --locked` of the CLI crate, packed into a wheel); the archive holds
# the very binary the wheel holds. The release workflow runs this for each
# target (linux musl builds pass `--compatibility manylinux2014 musllinux_1_2`:
# one static binary, one wheel for glibc and musl systems); CI runs it for the
# host target only (`--compatibility linux`: no other toolchain is installed).
# Needs: maturin on PATH (pip install maturin), python3 ($PYTHON), cargo and the target's
# Rust standard library.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: dist/build.sh TARGET OUT [MATURIN-ARGS...]" >&2
  exit 2
fi
target=$1
out=$2
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(bash "$here/version.sh")
rm -rf "${out:?}/wheels" "${out:?}/bin"
(cd "$repo" && maturin build --release --locked --target "$target" --out "$out/wheels" "$@")

shopt -s nullglob
wheels=("$out/wheels/atlas_cedar-$version-"*.whl)
if [ "${#wheels[@]}" -ne 1 ]; then
  echo "dist/build.sh: expected one atlas_cedar-$version wheel in $out/wheels, found ${#wheels[@]}" >&2
  exit 1
fi

exe=atlas-cedar
case "$target" in *windows*) exe=atlas-cedar.exe ;; esac
mkdir -p "$out/bin"
"${PYTHON:-python3}" - "${wheels[0]}" "atlas_cedar-$version.data/scripts/$exe" "$out/bin/$exe" <<'PY'
import sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as dst:
    dst.write(src.read())
PY
chmod 755 "$out/bin/$exe"

bash "$here/archive.sh" "$out/bin/$exe" "$target" "$version" "$out"
