#!/usr/bin/env python3
"""A stand-in for `atlas-cedar lsp` (stdlib only) to test the editor harness.

Speaks LSP over stdio: answers `initialize` and `shutdown`, and on every
`textDocument/didOpen` and `textDocument/didChange` publishes one diagnostic
whose code is $FAKE_LSP_CODE (default AC300), after $FAKE_LSP_DELAY_MS
milliseconds (default 0). `textDocument/formatting`
answers with one edit that inserts the line FORMATTED_MARK at the top (unless
it is there already), so a test can see that format on save went through the
server. Other requests get MethodNotFound; other notifications are ignored.
`exit` ends the process.

Set $FAKE_LSP_LOG to a file path to log the messages it receives.
"""

import json
import os
import sys
import time

CODE = os.environ.get("FAKE_LSP_CODE", "AC300")
LOG = os.environ.get("FAKE_LSP_LOG")
FORMATTED_MARK = "// formatted by fake_server.py"
DELAY_S = int(os.environ.get("FAKE_LSP_DELAY_MS", "0")) / 1000.0

stdin = sys.stdin.buffer
stdout = sys.stdout.buffer


def log(text):
    if LOG:
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(text + "\n")


def read_message():
    length = None
    while True:
        line = stdin.readline()
        if not line:
            return None  # EOF
        line = line.strip()
        if not line:
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        return None
    body = stdin.read(length)
    return json.loads(body.decode("utf-8"))


def send(message):
    message["jsonrpc"] = "2.0"
    body = json.dumps(message).encode("utf-8")
    stdout.write(b"Content-Length: %d\r\n\r\n" % len(body))
    stdout.write(body)
    stdout.flush()


def publish(uri, version, text):
    if DELAY_S > 0:
        time.sleep(DELAY_S)
    # Point at the first entity id string if there is one, else at 0:0.
    line_no, start, end = 0, 0, 0
    for i, line in enumerate(text.splitlines()):
        col = line.find('::"')
        if col >= 0:
            close = line.find('"', col + 3)
            line_no, start, end = i, col + 2, (close + 1 if close >= 0 else len(line))
            break
    send(
        {
            "method": "textDocument/publishDiagnostics",
            "params": {
                "uri": uri,
                "version": version,
                "diagnostics": [
                    {
                        "range": {
                            "start": {"line": line_no, "character": start},
                            "end": {"line": line_no, "character": end},
                        },
                        "severity": 1,
                        "code": CODE,
                        "source": "atlas-cedar",
                        "message": "fake diagnostic from fake_server.py",
                    }
                ],
            },
        }
    )


def main():
    texts = {}
    while True:
        msg = read_message()
        if msg is None:
            return 0
        method = msg.get("method")
        entry = {"method": method, "id": msg.get("id")}
        if method == "initialize":
            entry["rootUri"] = msg["params"].get("rootUri")
        log(json.dumps(entry))
        if method == "initialize":
            send(
                {
                    "id": msg["id"],
                    "result": {
                        "capabilities": {
                            "textDocumentSync": {"openClose": True, "change": 1},
                            "documentFormattingProvider": True,
                        },
                        "serverInfo": {"name": "fake-atlas-cedar", "version": "0"},
                    },
                }
            )
        elif method == "shutdown":
            send({"id": msg["id"], "result": None})
        elif method == "exit":
            return 0
        elif method == "textDocument/didOpen":
            doc = msg["params"]["textDocument"]
            texts[doc["uri"]] = doc["text"]
            publish(doc["uri"], doc.get("version"), doc["text"])
        elif method == "textDocument/didChange":
            doc = msg["params"]["textDocument"]
            changes = msg["params"]["contentChanges"]
            if changes:
                texts[doc["uri"]] = changes[-1].get("text", texts.get(doc["uri"], ""))
            publish(doc["uri"], doc.get("version"), texts.get(doc["uri"], ""))
        elif method == "textDocument/formatting":
            uri = msg["params"]["textDocument"]["uri"]
            edits = []
            if not texts.get(uri, "").startswith(FORMATTED_MARK):
                at = {"line": 0, "character": 0}
                edits.append({"range": {"start": at, "end": at}, "newText": FORMATTED_MARK + "\n"})
            send({"id": msg["id"], "result": edits})
        elif "id" in msg and method is not None:
            send({"id": msg["id"], "error": {"code": -32601, "message": "method not found: %s" % method}})


if __name__ == "__main__":
    sys.exit(main())
