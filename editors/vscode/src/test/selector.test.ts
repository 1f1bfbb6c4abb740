// Unit tests for the document selector (node's built-in test runner; no VS Code needed).

import { test } from "node:test";
import * as assert from "node:assert/strict";
import { documentSelector, isServed, TERRAFORM_PATTERN, wantsServer } from "../selector";

test("Cedar documents only by default", () => {
  assert.deepEqual(documentSelector(false), [
    { scheme: "file", language: "cedar" },
    { scheme: "untitled", language: "cedar" },
  ]);
});

test("atlasCedar.terraform.enable adds Terraform files by language and by name", () => {
  const selector = documentSelector(true);
  assert.deepEqual(selector.slice(0, 2), documentSelector(false));
  assert.deepEqual(selector.slice(2), [
    { scheme: "file", language: "terraform" },
    { scheme: "file", pattern: "**/*.tf" },
  ]);
  assert.equal(TERRAFORM_PATTERN, "**/*.tf");
});

const doc = (languageId: string, fileName: string, scheme = "file") => ({
  languageId,
  fileName,
  uri: { scheme },
});

test("a Terraform file starts no server while atlasCedar.terraform.enable is off", () => {
  const tf = doc("terraform", "/w/main.tf");
  assert.equal(wantsServer([tf], false, false), false);
  assert.equal(wantsServer([tf], true, false), true);
  // A .tf file VS Code reads as plain text (no Terraform extension).
  assert.equal(wantsServer([doc("plaintext", "/w/main.tf")], true, false), true);
  assert.equal(wantsServer([doc("plaintext", "/w/notes.txt")], true, false), false);
  // An atlas-cedar.toml in the workspace, or a Cedar document, always does.
  assert.equal(wantsServer([tf], false, true), true);
  assert.equal(wantsServer([tf, doc("cedar", "/w/a.cedar")], false, false), true);
  assert.equal(isServed(doc("cedar", "Untitled-1", "untitled"), false), true);
  assert.equal(isServed(doc("cedar", "/w/a.cedar", "git"), false), false);
});
