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
