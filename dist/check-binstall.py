"""Checks [package.metadata.binstall] of the CLI crate against a real release
archive: the URL template must name the archive dist/archive.sh made, and the
bin-dir template the binary inside it, as cargo-binstall expands them.

    python3 dist/check-binstall.py ARCHIVE [CRATE]

CRATE is the packaged crate (`cargo package`'s target/package/atlas-cedar-X.crate):
its normalized Cargo.toml is what crates.io serves and cargo-binstall reads, so
when given, that one is checked, and its name must be `atlas-cedar` (the name
`cargo binstall atlas-cedar` looks up).
"""
import os
import re
import sys
import tarfile
import tomllib
import zipfile

archive = sys.argv[1]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
with open(os.path.join(root, "Cargo.toml"), "rb") as f:
    workspace = tomllib.load(f)["workspace"]["package"]
if len(sys.argv) > 2:
    with tarfile.open(sys.argv[2], "r:gz") as crate:
        member = next(m for m in crate.getmembers() if m.name.count("/") == 1 and m.name.endswith("/Cargo.toml"))
        cli = tomllib.loads(crate.extractfile(member).read().decode())
    if cli["package"]["name"] != "atlas-cedar":
        sys.exit(f"check-binstall: the packaged crate is {cli['package']['name']}, not atlas-cedar")
    if cli["package"].get("repository") != workspace["repository"]:
        sys.exit("check-binstall: the packaged crate has no repository (binstall's { repo })")
else:
    with open(os.path.join(root, "crates", "atlas-cedar-cli", "Cargo.toml"), "rb") as f:
        cli = tomllib.load(f)
meta = cli["package"]["metadata"]["binstall"]
name = os.path.basename(archive)
m = re.fullmatch(r"atlas-cedar-(.+?)-([^-]+-[^-]+-[^-]+(?:-[^-]+)?)\.(tar\.gz|zip)", name)
if not m:
    sys.exit(f"check-binstall: {name} is not a release archive name")
version, target, kind = m.groups()
windows = kind == "zip"
fmt = meta.get("overrides", {}).get(target, {}).get("pkg-fmt", meta["pkg-fmt"])
values = {
    "repo": workspace["repository"],
    "version": version,
    "target": target,
    "archive-suffix": {"tgz": ".tar.gz", "zip": ".zip"}[fmt],
    "bin": [b["name"] for b in cli["bin"]][0],
    "binary-ext": ".exe" if windows else "",
}
expand = lambda t: re.sub(r"\{ *([a-z-]+) *\}", lambda g: values[g.group(1)], t)
url = expand(meta["pkg-url"])
want_url = f"{workspace['repository']}/releases/download/v{version}/{name}"
if url != want_url:
    sys.exit(f"check-binstall: pkg-url expands to {url}, but the release has {want_url}")
bin_path = expand(meta["bin-dir"])
if windows:
    names = zipfile.ZipFile(archive).namelist()
else:
    names = tarfile.open(archive, "r:gz").getnames()
if bin_path not in names:
    sys.exit(f"check-binstall: bin-dir expands to {bin_path}, not in {name}: {names}")
print(f"check-binstall: ok: cargo binstall fetches {url} and installs {bin_path}")
