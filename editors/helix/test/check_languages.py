#!/usr/bin/env python3
"""Checks editors/helix/languages.toml: valid TOML with the keys Helix needs
for the cedar language and the atlas-cedar server (Helix itself is not in
Debian, so this is a structural check). Python 3.11+ (tomllib), stdlib only."""

import pathlib
import sys
import tomllib

path = pathlib.Path(__file__).resolve().parent.parent / "languages.toml"
with path.open("rb") as f:
    config = tomllib.load(f)

errors = []


def expect(cond, what):
    if not cond:
        errors.append(what)


server = config.get("language-server", {}).get("atlas-cedar")
expect(server is not None, "[language-server.atlas-cedar] is missing")
if server:
    expect(server.get("command") == "atlas-cedar", "language-server command is not atlas-cedar")
    expect(server.get("args") == ["lsp"], 'language-server args are not ["lsp"]')

langs = [l for l in config.get("language", []) if l.get("name") == "cedar"]
expect(len(langs) == 1, "exactly one [[language]] named cedar expected")
if langs:
    lang = langs[0]
    expect(lang.get("file-types") == ["cedar"], 'file-types is not ["cedar"]')
    expect(lang.get("comment-token") == "//", 'comment-token is not "//"')
    expect(lang.get("language-servers") == ["atlas-cedar"], 'language-servers is not ["atlas-cedar"]')
    expect("formatter" not in lang, "a formatter key would bypass LSP formatting")
    expect(lang.get("auto-format") is True, "auto-format is not true")
    expect("atlas-cedar.toml" in lang.get("roots", []), "roots lacks atlas-cedar.toml")
    expect(lang.get("scope") == "source.cedar", "scope is not source.cedar")

# The commented Terraform entry at the end: uncommented, it must be valid TOML that
# adds atlas-cedar beside terraform-ls to `hcl`, never as its formatter.
text = path.read_text(encoding="utf-8").splitlines()
start = next((i for i, l in enumerate(text) if l.startswith("# [[language]]")), None)
expect(start is not None, "the commented Terraform ([[language]] hcl) entry is missing")
if start is not None:
    uncommented = text[:start] + [l[2:] for l in text[start:] if l.startswith("# ")]
    try:
        with_tf = tomllib.loads("\n".join(uncommented))
    except tomllib.TOMLDecodeError as e:
        with_tf = {}
        errors.append(f"the Terraform entry, uncommented, is not valid TOML: {e}")
    hcl = [l for l in with_tf.get("language", []) if l.get("name") == "hcl"]
    expect(len(hcl) == 1, "the Terraform entry is not one [[language]] named hcl")
    if hcl:
        servers = hcl[0].get("language-servers", [])
        expect(servers[:1] == ["terraform-ls"], "terraform-ls is not the hcl entry's first server")
        ours = [s for s in servers if isinstance(s, dict) and s.get("name") == "atlas-cedar"]
        expect(
            len(ours) == 1 and "format" in ours[0].get("except-features", []),
            'atlas-cedar is not in the hcl entry with except-features = ["format"]',
        )

for e in errors:
    print(f"FAIL: {path.name}: {e}")
print(f"helix languages.toml check: {'OK' if not errors else 'FAILED'}")
sys.exit(1 if errors else 0)
