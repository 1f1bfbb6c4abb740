// Unit tests for the document selector (node's built-in test runner; no VS Code needed).

import { test } from "node:test";
import * as assert from "node:assert/strict";
import { documentSelector, TERRAFORM_PATTERN } from "../selector";

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
