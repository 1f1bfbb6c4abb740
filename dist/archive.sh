#!/usr/bin/env bash
# Packs a built atlas-cedar binary into the release archive of its target, with
# its checksum:
#
#   dist/archive.sh BINARY TARGET VERSION OUT
#
#   OUT/atlas-cedar-VERSION-TARGET.tar.gz   (.zip for windows targets)
#   OUT/atlas-cedar-VERSION-TARGET.tar.gz.sha256   ("<sha256>  <archive name>", as sha256sum writes)
#
# Layout (what `cargo binstall`'s bin-dir in crates/atlas-cedar-cli/Cargo.toml,
# dist/install.sh and dist/check-archive.sh expect):
#
#   atlas-cedar-VERSION-TARGET/atlas-cedar[.exe]
#   atlas-cedar-VERSION-TARGET/README.md
#
# Python's tarfile/zipfile rather than tar/zip: the same on linux, macOS and
# Windows runners, and reproducible (fixed owner and mtime, sorted entries).
set -euo pipefail

if [ $# -ne 4 ]; then
  echo "usage: dist/archive.sh BINARY TARGET VERSION OUT" >&2
  exit 2
fi
binary=$1 target=$2 version=$3 out=$4
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ ! -f "$binary" ]; then
  echo "dist/archive.sh: $binary: no such file (build it first)" >&2
  exit 1
fi
mkdir -p "$out"

"${PYTHON:-python3}" - "$binary" "$target" "$version" "$out" "$repo/README.md" <<'PY'
import hashlib, io, os, sys, tarfile, zipfile

binary, target, version, out, readme = sys.argv[1:]
windows = "windows" in target
stem = f"atlas-cedar-{version}-{target}"
name = stem + (".zip" if windows else ".tar.gz")
exe = "atlas-cedar.exe" if windows else "atlas-cedar"
entries = [(f"{stem}/{exe}", binary, 0o755), (f"{stem}/README.md", readme, 0o644)]
mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))  # 1980-01-01: zip's epoch
path = os.path.join(out, name)

if windows:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, src, mode in entries:
            info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(src, "rb") as f:
                z.writestr(info, f.read())
else:
    import gzip
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=mtime, filename="") as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            dirinfo = tarfile.TarInfo(stem)
            dirinfo.type, dirinfo.mode, dirinfo.mtime = tarfile.DIRTYPE, 0o755, mtime
            tar.addfile(dirinfo)
            for arcname, src, mode in entries:
                info = tarfile.TarInfo(arcname)
                info.size, info.mode, info.mtime = os.path.getsize(src), mode, mtime
                with open(src, "rb") as f:
                    tar.addfile(info, f)

digest = hashlib.sha256()
with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        digest.update(chunk)
with open(path + ".sha256", "w", newline="\n") as f:
    f.write(f"{digest.hexdigest()}  {name}\n")
print(f"{path} ({os.path.getsize(path) // 1024} KiB) sha256 {digest.hexdigest()}")
PY
