#!/usr/bin/env bash
# Checks a release archive made by dist/archive.sh: its name, its checksum file,
# its layout, and (with --run, on a machine that can run it) the binary's
# `--version`, which must name the archive's version and target.
#
#   dist/check-archive.sh [--run] ARCHIVE
#
# The release workflow runs it on every archive it builds; CI on the host one.
set -euo pipefail

run=0
if [ "${1:-}" = "--run" ]; then run=1; shift; fi
if [ $# -ne 1 ]; then
  echo "usage: dist/check-archive.sh [--run] ARCHIVE" >&2
  exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$(bash "$here/version.sh")

"${PYTHON:-python3}" - "$1" "$version" "$run" <<'PY'
import hashlib, os, re, subprocess, sys, tarfile, tempfile, zipfile

archive, version, run = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
name = os.path.basename(archive)
def fail(msg):
    print(f"check-archive: FAIL: {name}: {msg}", file=sys.stderr)
    sys.exit(1)

m = re.fullmatch(r"atlas-cedar-(.+?)-([a-z0-9_]+-[a-z0-9_]+-[a-z0-9_]+(?:-[a-z0-9_]+)?)\.(tar\.gz|zip)", name)
if not m:
    fail("not named atlas-cedar-<version>-<target>.tar.gz|zip")
got_version, target, kind = m.groups()
if got_version != version:
    fail(f"version {got_version}, but Cargo.toml says {version}")
windows = "windows" in target
if windows != (kind == "zip"):
    fail(f"a {target} archive must be a {'.zip' if windows else '.tar.gz'}")

# The checksum file: one line, "<sha256>  <archive name>", as sha256sum -c reads it.
try:
    with open(archive + ".sha256", encoding="utf-8") as f:
        line = f.read()
except OSError as e:
    fail(f"no checksum file: {e}")
cm = re.fullmatch(r"([0-9a-f]{64})  (\S+)\n", line)
if not cm:
    fail(f"{name}.sha256 is not one '<sha256>  <name>' line: {line!r}")
if cm.group(2) != name:
    fail(f"{name}.sha256 names {cm.group(2)}")
digest = hashlib.sha256()
with open(archive, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        digest.update(chunk)
if digest.hexdigest() != cm.group(1):
    fail(f"checksum mismatch: the file is {digest.hexdigest()}, {name}.sha256 says {cm.group(1)}")

stem = name[: -len(".zip")] if windows else name[: -len(".tar.gz")]
exe = "atlas-cedar.exe" if windows else "atlas-cedar"
expected = {f"{stem}/", f"{stem}/{exe}", f"{stem}/README.md"}
if windows:
    with zipfile.ZipFile(archive) as z:
        entries = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
else:
    with tarfile.open(archive, "r:gz") as t:
        entries = {(i.name + "/" if i.isdir() else i.name): i.mode & 0o777 for i in t.getmembers()}
        if any(not (i.isfile() or i.isdir()) for i in t.getmembers()):
            fail("holds something other than files and directories (links?)")
names = set(entries) | {f"{stem}/"}
if names != expected:
    fail(f"entries {sorted(entries)}, expected {sorted(expected)}")
if not windows and entries[f"{stem}/{exe}"] != 0o755:
    fail(f"{exe} has mode {oct(entries[f'{stem}/{exe}'])}, expected 0o755")

ran = ""
if run:
    with tempfile.TemporaryDirectory() as tmp:
        if windows:
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp)
        else:
            with tarfile.open(archive, "r:gz") as t:
                t.extractall(tmp, filter="data") if hasattr(tarfile, "data_filter") else t.extractall(tmp)
        out = subprocess.run([os.path.join(tmp, stem, exe), "--version"], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            fail(f"{exe} --version exited {out.returncode}: {out.stderr.strip()}")
        want = re.compile(rf"atlas-cedar {re.escape(version)} \((\S+) {re.escape(target)}\)\n")
        if not want.fullmatch(out.stdout):
            fail(f"{exe} --version printed {out.stdout!r}, expected 'atlas-cedar {version} (<commit> {target})'")
        ran = f"; --version: {out.stdout.strip()}"
print(f"check-archive: ok: {name} ({os.path.getsize(archive) // 1024} KiB, sha256 verified, layout {sorted(expected)}{ran})")
PY
