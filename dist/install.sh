#!/usr/bin/env bash
# Installs a released atlas-cedar binary: downloads the release archive for
# this platform and its .sha256, verifies the checksum, unpacks the binary into
# DEST and checks that it runs. What the GitHub Action (action.yml) runs.
#
#   dist/install.sh --version VERSION --dest DIR [--target TARGET] [--base-url URL]
#
# VERSION: a release version (0.1.0 or v0.1.0), or anything else the Action can
#   be pinned to (a branch, a commit) or "source": no release is that, so exit 3.
# TARGET: default: this machine's release target (linux: the static musl build).
# URL: where releases are, the archive being URL/vVERSION/<archive>
#   (default: https://github.com/atlas-cedar/atlas-cedar/releases/download;
#   http://, https:// and file:// URLs).
#
# Exit status: 0 installed (DIR/atlas-cedar[.exe]); 3 no release archive
# matches (VERSION is not a release version, or the archive is not there):
# build from source instead; 1 anything else, a checksum mismatch first of all
# (never a reason to fall back: nothing is installed and the step fails).
set -euo pipefail

version="" dest="" target="" base_url="https://github.com/atlas-cedar/atlas-cedar/releases/download"
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version=${2:-}; shift 2 ;;
    --dest) dest=${2:-}; shift 2 ;;
    --target) target=${2:-}; shift 2 ;;
    --base-url) base_url=${2:-}; shift 2 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$dest" ]; then
  echo "usage: dist/install.sh --version VERSION --dest DIR [--target TARGET] [--base-url URL]" >&2
  exit 2
fi
say() { echo "install.sh: $*" >&2; }
no_release() { say "$*: build from source instead"; exit 3; }

version=${version#v}
if [ "$version" = "source" ]; then
  no_release "asked for a source build (version: source)"
fi
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]]; then
  no_release "'$version' is not a release version (a branch or a commit?)"
fi

if [ -z "$target" ]; then
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) target=x86_64-unknown-linux-musl ;;
    Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
    Darwin/x86_64) target=x86_64-apple-darwin ;;
    Darwin/arm64) target=aarch64-apple-darwin ;;
    MINGW*/x86_64 | MSYS*/x86_64 | CYGWIN*/x86_64) target=x86_64-pc-windows-msvc ;;
    *) no_release "no release is built for $(uname -s)/$(uname -m)" ;;
  esac
fi
exe=atlas-cedar ext=.tar.gz
case "$target" in *windows*) exe=atlas-cedar.exe ext=.zip ;; esac
stem="atlas-cedar-$version-$target"
url="${base_url%/}/v$version/$stem$ext"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fetch URL FILE: 0 fetched, 3 not there (HTTP 404, no such file), 1 other errors.
fetch() {
  local code rc=0
  code=$(curl --silent --show-error --location --retry 3 --proto '=https,http,file' \
    --write-out '%{http_code}' --output "$2" "$1") || rc=$?
  if [ "$rc" -eq 37 ] || [ "$code" = 404 ]; then return 3; fi   # 37: file:// could not read the file
  if [ "$rc" -ne 0 ]; then say "downloading $1 failed (curl exit $rc)"; return 1; fi
  case "$code" in 2* | 000) return 0 ;; esac   # 000: file:// has no status
  say "downloading $1 failed: HTTP $code"
  return 1
}

say "downloading $url"
rc=0; fetch "$url" "$tmp/$stem$ext" || rc=$?
if [ "$rc" -eq 3 ]; then no_release "no release archive at $url"; fi
if [ "$rc" -ne 0 ]; then exit 1; fi
rc=0; fetch "$url.sha256" "$tmp/$stem$ext.sha256" || rc=$?
if [ "$rc" -ne 0 ]; then
  say "FAIL: no checksum at $url.sha256: refusing to install an unverified binary"
  exit 1
fi

expected=$(awk -v n="$stem$ext" '$2 == n || $2 == "*"n { print $1 }' "$tmp/$stem$ext.sha256")
if [ -z "$expected" ]; then
  say "FAIL: $url.sha256 has no checksum for $stem$ext"
  exit 1
fi
if command -v sha256sum >/dev/null 2>&1; then
  actual=$(sha256sum "$tmp/$stem$ext" | awk '{print $1}')
else
  actual=$(shasum -a 256 "$tmp/$stem$ext" | awk '{print $1}')
fi
if [ "$actual" != "$expected" ]; then
  say "FAIL: checksum mismatch for $stem$ext: downloaded $actual, $stem$ext.sha256 says $expected; nothing installed"
  exit 1
fi
say "sha256 verified: $actual"

mkdir -p "$tmp/x"
if [ "$ext" = .zip ]; then
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$tmp/$stem$ext" "$stem/$exe" -d "$tmp/x"
  else
    "${PYTHON:-python3}" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])' \
      "$tmp/$stem$ext" "$stem/$exe" "$tmp/x"
  fi
else
  tar -xzf "$tmp/$stem$ext" -C "$tmp/x" "$stem/$exe"
fi
if [ ! -f "$tmp/x/$stem/$exe" ]; then
  say "FAIL: $stem$ext has no $stem/$exe"
  exit 1
fi
chmod 755 "$tmp/x/$stem/$exe"
if ! got=$("$tmp/x/$stem/$exe" --version); then
  say "FAIL: the downloaded $exe does not run on this machine"
  exit 1
fi
case "$got" in
  "atlas-cedar $version "*) ;;
  *) say "FAIL: the downloaded $exe says '$got', expected atlas-cedar $version"; exit 1 ;;
esac
mkdir -p "$dest"
mv -f "$tmp/x/$stem/$exe" "$dest/$exe"
say "installed $dest/$exe: $got"
