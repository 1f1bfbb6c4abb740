#!/usr/bin/env bash
# Prints the version every release artifact carries: [workspace.package] version
# in Cargo.toml (the CLI crate inherits it; maturin takes the wheel's from it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$root/Cargo.toml")
if [ -z "$version" ]; then
  echo "dist/version.sh: no version in [workspace.package] of $root/Cargo.toml" >&2
  exit 1
fi
echo "$version"
