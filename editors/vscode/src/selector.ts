// Which documents the language client sends to the server. Kept free of the
// `vscode` module so it can be unit tested with plain node.

/** A document filter, as `vscode.DocumentFilter` spells it. */
export interface DocumentFilter {
  readonly scheme: string;
  readonly language?: string;
  readonly pattern?: string;
}

/** The language id of Terraform files (HashiCorp's Terraform extension). */
export const TERRAFORM_LANGUAGE = "terraform";
/** Terraform files by name, for a VS Code with no Terraform extension (plain text). */
export const TERRAFORM_PATTERN = "**/*.tf";

/**
 * Cedar files (saved or untitled) always; with `atlasCedar.terraform.enable`,
 * Terraform files too: the server then reports and answers only inside the
 * `body` of `mongodbatlas_resource_policy` resources, and never formats them.
 */
export function documentSelector(terraform: boolean): DocumentFilter[] {
  const selector: DocumentFilter[] = [
    { scheme: "file", language: "cedar" },
    { scheme: "untitled", language: "cedar" },
  ];
  if (terraform) {
    selector.push(
      { scheme: "file", language: TERRAFORM_LANGUAGE },
      { scheme: "file", pattern: TERRAFORM_PATTERN },
    );
  }
  return selector;
}

/** What the client knows of an open document. */
export interface OpenDocument {
  readonly languageId: string;
  readonly fileName: string;
  readonly uri: { readonly scheme: string };
}

/** Whether `doc` is one the server is sent (see {@link documentSelector}). */
export function isServed(doc: OpenDocument, terraform: boolean): boolean {
  const scheme = doc.uri.scheme;
  if (doc.languageId === "cedar") {
    return scheme === "file" || scheme === "untitled";
  }
  return (
    terraform &&
    scheme === "file" &&
    (doc.languageId === TERRAFORM_LANGUAGE || doc.fileName.endsWith(".tf"))
  );
}

/**
 * Whether to start the server now: the workspace has an `atlas-cedar.toml`,
 * or an open document is one the server serves. Opening a Terraform file
 * activates the extension (so that `atlasCedar.terraform.enable` can take
 * effect), but with the setting off it starts nothing.
 */
export function wantsServer(
  docs: readonly OpenDocument[],
  terraform: boolean,
  hasManifest: boolean,
): boolean {
  return hasManifest || docs.some((d) => isServed(d, terraform));
}
