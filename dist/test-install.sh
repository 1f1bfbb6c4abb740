#!/usr/bin/env bash
# Tests the GitHub Action's install step (action.yml, step `download`, which
# runs dist/install.sh) against release archives served from 127.0.0.1 and from
# a file:// URL, made from a locally built binary: no internet.
#
#   dist/test-install.sh BINARY     (e.g. the one dist/build.sh left in OUT/bin)
#
# Checks: the action's own ref (v<version>) downloads, verifies and installs the
# archive for this machine and reports source=false; a tampered archive fails
# the step with "checksum mismatch" and installs nothing; an archive without
# its .sha256 is refused; a version with no release, a branch ref and
# `version: source` report source=true (build from source) without failing.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: dist/test-install.sh BINARY" >&2
  exit 2
fi
binary=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
version=$(bash "$here/version.sh")
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
passed=0 failed=0
ok() { echo "  ok: $*"; passed=$((passed + 1)); }
bad() { echo "  FAIL: $*" >&2; failed=$((failed + 1)); }

# The target dist/install.sh picks on this machine (linux: the static musl
# build); the archive for it is made from the local binary, which runs here.
case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) target=x86_64-unknown-linux-musl ;;
  Linux/aarch64) target=aarch64-unknown-linux-musl ;;
  Darwin/x86_64) target=x86_64-apple-darwin ;;
  Darwin/arm64) target=aarch64-apple-darwin ;;
  *) echo "test-install.sh: unsupported test machine $(uname -s)/$(uname -m)" >&2; exit 2 ;;
esac

# A release tree as GitHub serves it: <server>/<owner>/<repo>/releases/download/v<version>/<archive>.
good="$work/good/atlas-cedar/atlas-cedar/releases/download/v$version"
bash "$here/archive.sh" "$binary" "$target" "$version" "$good" >/dev/null
tampered="$work/tampered/atlas-cedar/atlas-cedar/releases/download/v$version"
mkdir -p "$tampered"
cp "$good"/* "$tampered"/
printf 'x' >> "$tampered/atlas-cedar-$version-$target.tar.gz"
nosum="$work/nosum/atlas-cedar/atlas-cedar/releases/download/v$version"
mkdir -p "$nosum"
cp "$good/atlas-cedar-$version-$target.tar.gz" "$nosum/"

# An HTTP server on 127.0.0.1 (port chosen by the OS) serving $work.
"${PYTHON:-python3}" -u -m http.server 0 --bind 127.0.0.1 --directory "$work" > "$work/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$work/server.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.log" >&2; echo "test-install.sh: the HTTP server did not start" >&2; exit 1; }

# The install step's script, exactly as action.yml has it.
"${PYTHON:-python3}" - "$repo/action.yml" > "$work/step.sh" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
start = next(i for i, l in enumerate(lines) if l.strip() == "id: download")
run = next(i for i in range(start, len(lines)) if lines[i].strip() == "run: |")
indent = len(lines[run]) - len(lines[run].lstrip()) + 2
body = []
for l in lines[run + 1:]:
    if l.strip() and len(l) - len(l.lstrip()) < indent:
        break
    body.append(l[indent:])
print("set -eo pipefail\n" + "\n".join(body))
PY

# step NAME SERVER_URL VERSION ACTION_REF: runs the step as a runner would
# (fresh RUNNER_TEMP, GITHUB_OUTPUT); status in $rc, output in $work/NAME.out.
step() {
  local name=$1
  rm -rf "$work/runner"
  mkdir -p "$work/runner/temp"
  : > "$work/runner/output"
  rc=0
  env GITHUB_ACTION_PATH="$repo" RUNNER_TEMP="$work/runner/temp" GITHUB_OUTPUT="$work/runner/output" \
    SERVER_URL="$2" VERSION="$3" ACTION_REF="$4" ACTION_REPOSITORY=atlas-cedar/atlas-cedar \
    bash "$work/step.sh" > "$work/$name.out" 2>&1 || rc=$?
}
installed="$work/runner/temp/atlas-cedar-release/bin/atlas-cedar"
output() { grep -qx "$1" "$work/runner/output"; }

echo "test-install.sh: release archives of $version for $target served at http://127.0.0.1:$port"

step pinned "http://127.0.0.1:$port/good" "" "v$version"
if [ "$rc" -eq 0 ] && output "source=false" && output "bin=$work/runner/temp/atlas-cedar-release/bin" \
  && "$installed" --version | grep -q "^atlas-cedar $version (" && grep -q "sha256 verified" "$work/pinned.out"; then
  ok "uses: ...@v$version downloads over HTTP, verifies the sha256 and installs: $("$installed" --version)"
else
  bad "pinned ref: rc=$rc, outputs: $(tr '\n' ' ' < "$work/runner/output")"; cat "$work/pinned.out" >&2
fi

step fileurl "file://$work/good" "$version" "main"
if [ "$rc" -eq 0 ] && output "source=false" && [ -x "$installed" ]; then
  ok "version: $version wins over the action's ref, and file:// URLs work"
else
  bad "file:// URL: rc=$rc"; cat "$work/fileurl.out" >&2
fi

step tampered "http://127.0.0.1:$port/tampered" "" "v$version"
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ] && grep -q "checksum mismatch" "$work/tampered.out" && [ ! -e "$installed" ] \
  && ! output "source=true"; then
  ok "a tampered archive fails the step (checksum mismatch), installs nothing and does not fall back to source"
else
  bad "tampered archive: rc=$rc"; cat "$work/tampered.out" >&2
fi

step nosum "http://127.0.0.1:$port/nosum" "" "v$version"
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ] && grep -q "no checksum" "$work/nosum.out" && [ ! -e "$installed" ]; then
  ok "an archive without its .sha256 is refused"
else
  bad "missing checksum: rc=$rc"; cat "$work/nosum.out" >&2
fi

step norelease "http://127.0.0.1:$port/good" "0.0.0-none" "v$version"
if [ "$rc" -eq 0 ] && output "source=true" && grep -q "no release archive" "$work/norelease.out"; then
  ok "a version with no release archive (HTTP 404) builds from source"
else
  bad "no release: rc=$rc"; cat "$work/norelease.out" >&2
fi

step branch "http://127.0.0.1:$port/good" "" "main"
if [ "$rc" -eq 0 ] && output "source=true" && grep -q "not a release version" "$work/branch.out"; then
  ok "an action pinned to a branch builds from source"
else
  bad "branch ref: rc=$rc"; cat "$work/branch.out" >&2
fi

step source "http://127.0.0.1:$port/good" "source" "v$version"
if [ "$rc" -eq 0 ] && output "source=true" && [ ! -e "$installed" ]; then
  ok "version: source builds from source, downloading nothing"
else
  bad "version: source: rc=$rc"; cat "$work/source.out" >&2
fi

echo "test-install.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
