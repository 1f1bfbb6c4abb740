//! The `LanguageServer` implementation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use atlas_cedar_core::text::LineIndex;
use atlas_cedar_core::{rules, Diagnostic, InputKind};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{
    self as lsp, CodeActionOrCommand, CodeActionParams, CodeActionProviderCapability,
    CodeActionResponse, CompletionOptions, CompletionParams, CompletionResponse,
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    DidSaveTextDocumentParams, DocumentFormattingParams, DocumentSymbolParams,
    DocumentSymbolResponse, FoldingRange, FoldingRangeParams, FoldingRangeProviderCapability,
    GotoDefinitionParams, GotoDefinitionResponse, Hover, HoverParams, HoverProviderCapability,
    InitializeParams, InitializeResult, InitializedParams, MessageType, OneOf,
    PositionEncodingKind, SaveOptions, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions, TextEdit, Uri,
};
use tower_lsp_server::{Client, LanguageServer};

use crate::analysis::{analyze, Checker, Engines, Resolved};
use crate::document::{Document, Encoding, Lines};
use crate::embedded::{body_offset, escape_items, extract, is_hosted, Embedded, Quoting};

/// Default delay between the last edit and the check.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// The language server. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct Backend {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    docs: Mutex<HashMap<Uri, Document>>,
    engines: Arc<Engines>,
    checker: Checker,
    utf8: AtomicBool,
    snippets: AtomicBool,
    debounce_ms: AtomicU64,
}

/// The result of checking one version of a document.
#[derive(Debug)]
struct Checked {
    version: i32,
    text: String,
    diagnostics: Vec<Diagnostic>,
    lsp: Vec<lsp::Diagnostic>,
}

fn not_open(uri: &Uri) -> Error {
    Error::invalid_params(format!("document not open: {}", uri.as_str()))
}

impl Backend {
    pub fn new(client: Client) -> Self {
        Backend {
            inner: Arc::new(Inner {
                client,
                docs: Mutex::new(HashMap::new()),
                engines: Arc::new(Engines::default()),
                checker: Checker::start(),
                utf8: AtomicBool::new(false),
                snippets: AtomicBool::new(false),
                debounce_ms: AtomicU64::new(u64::try_from(DEBOUNCE.as_millis()).unwrap_or(150)),
            }),
        }
    }

    fn docs(&self) -> MutexGuard<'_, HashMap<Uri, Document>> {
        match self.inner.docs.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn encoding(&self) -> Encoding {
        if self.inner.utf8.load(Ordering::Relaxed) {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        }
    }

    fn debounce(&self) -> Duration {
        Duration::from_millis(self.inner.debounce_ms.load(Ordering::Relaxed))
    }

    fn version_of(&self, uri: &Uri) -> Option<i32> {
        self.docs().get(uri).map(|d| d.version)
    }

    /// Checks the current version of a document on the checker thread.
    async fn check(&self, uri: &Uri) -> Option<Checked> {
        let encoding = self.encoding();
        let (text, version, kind, path, cache, desync) = {
            let docs = self.docs();
            let doc = docs.get(uri)?;
            (
                doc.text.clone(),
                doc.version,
                doc.kind,
                doc.path.clone(),
                Arc::clone(&doc.cache),
                doc.desync.clone(),
            )
        };
        if let Some(reason) = desync {
            let d = Diagnostic::new(
                &rules::IO_ERROR,
                0..0,
                format!("the server's copy of this document is out of sync ({reason}); close and reopen it"),
            );
            let index = LineIndex::new(&text);
            let lines = Lines::new(&text, &index, encoding);
            let lsp = vec![crate::convert::diagnostic(&d, &lines)];
            return Some(Checked {
                version,
                text,
                diagnostics: vec![d],
                lsp,
            });
        }
        let engines = Arc::clone(&self.inner.engines);
        let name = match &path {
            Some(p) => p.display().to_string(),
            None => uri.as_str().to_owned(),
        };
        let (checked, resolved) = self
            .inner
            .checker
            .run(move || {
                let resolved = engines.resolve(path.as_deref());
                let (mut diagnostics, text, resolved) = match resolved {
                    Ok(r) => {
                        let report = analyze(&r.engine, &name, text, kind, &cache);
                        (report.diagnostics, report.text, Some(r))
                    }
                    Err(e) => (
                        vec![Diagnostic::new(&rules::SCHEMA_ERROR, 0..0, e)],
                        text,
                        None,
                    ),
                };
                if let Some(err) = resolved.as_ref().and_then(|r| r.error.as_ref()) {
                    diagnostics.insert(
                        0,
                        Diagnostic::new(
                            &rules::SCHEMA_ERROR,
                            0..0,
                            format!("{err} (checking with the built-in schema instead)"),
                        ),
                    );
                }
                let index = LineIndex::new(&text);
                let lines = Lines::new(&text, &index, encoding);
                let lsp = diagnostics
                    .iter()
                    .map(|d| crate::convert::diagnostic(d, &lines))
                    .collect();
                (
                    Checked {
                        version,
                        text,
                        diagnostics,
                        lsp,
                    },
                    resolved,
                )
            })
            .await?;
        if let Some(r) = resolved {
            if let Some(doc) = self.docs().get_mut(uri) {
                doc.resolved = Some(r);
            }
        }
        Some(checked)
    }

    /// Checks after `delay` and publishes, if the document is still at `version`.
    fn schedule(&self, uri: Uri, version: i32, delay: Duration) {
        let this = self.clone();
        tokio::spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if this.version_of(&uri) != Some(version) {
                return;
            }
            let Some(checked) = this.check(&uri).await else {
                return;
            };
            if checked.version != version || this.version_of(&uri) != Some(version) {
                return;
            }
            this.inner
                .client
                .publish_diagnostics(uri, checked.lsp, Some(version))
                .await;
        });
    }

    /// The engine for a document: the last check's, else resolved now.
    async fn resolved(&self, uri: &Uri) -> Result<Resolved> {
        let (known, path) = {
            let docs = self.docs();
            let doc = docs.get(uri).ok_or_else(|| not_open(uri))?;
            if let Some(reason) = &doc.desync {
                return Err(Error::invalid_params(format!(
                    "document out of sync ({reason}); reopen it"
                )));
            }
            (doc.resolved.clone(), doc.path.clone())
        };
        if let Some(r) = known {
            return Ok(r);
        }
        let engines = Arc::clone(&self.inner.engines);
        self.inner
            .checker
            .run(move || engines.resolve(path.as_deref()))
            .await
            .ok_or_else(Error::internal_error)?
            .map_err(Error::invalid_params)
    }

    /// Runs `f` on the document's current text (under the lock: keep it quick).
    fn with_doc<T>(&self, uri: &Uri, f: impl FnOnce(&Document, Lines<'_>) -> T) -> Result<T> {
        let encoding = self.encoding();
        let docs = self.docs();
        let doc = docs.get(uri).ok_or_else(|| not_open(uri))?;
        if let Some(reason) = &doc.desync {
            return Err(Error::invalid_params(format!(
                "document out of sync ({reason}); reopen it"
            )));
        }
        Ok(f(doc, doc.lines(encoding)))
    }

    /// A hosted document's policy bodies (Terraform, CloudFormation, a payload) and
    /// the version they were found in; `None` for a Cedar document. Found once per
    /// edit, on the checker thread (the HCL and YAML parsers recurse).
    async fn bodies(&self, uri: &Uri) -> Result<Option<(i32, Arc<Vec<Embedded>>)>> {
        let (text, version, kind) = {
            let docs = self.docs();
            let doc = docs.get(uri).ok_or_else(|| not_open(uri))?;
            if !is_hosted(doc.kind) {
                return Ok(None);
            }
            if let Some(found) = &doc.embedded {
                return Ok(Some((doc.version, Arc::clone(found))));
            }
            (doc.text.clone(), doc.version, doc.kind)
        };
        let found = self
            .inner
            .checker
            .run(move || extract(&text, kind))
            .await
            .ok_or_else(Error::internal_error)?;
        let found = Arc::new(found);
        if let Some(doc) = self.docs().get_mut(uri) {
            if doc.version == version && doc.embedded.is_none() {
                doc.embedded = Some(Arc::clone(&found));
            }
        }
        Ok(Some((version, found)))
    }

    /// Runs `f` on the Cedar text at `pos`, with the offset of `pos` in it: a Cedar
    /// document's whole text, or in a hosted document the policy body holding `pos`
    /// (its [`Lines`] give positions in the file). `None` outside every body: the
    /// rest of a Terraform file or template is not ours to answer for.
    async fn at_position<T>(
        &self,
        uri: &Uri,
        pos: lsp::Position,
        f: impl FnOnce(Lines<'_>, usize, Quoting) -> T,
    ) -> Result<Option<T>> {
        let bodies = self.bodies(uri).await?;
        self.with_doc(uri, |doc, lines| {
            let offset = Self::offset(&lines, pos)?;
            let Some((version, bodies)) = bodies else {
                return Ok(Some(f(lines, offset, Quoting::Literal)));
            };
            if doc.version != version {
                return Err(Error::content_modified());
            }
            let Some((e, at)) = bodies
                .iter()
                .find_map(|e| body_offset(&e.body, &e.body.text, offset).map(|at| (e, at)))
            else {
                return Ok(None);
            };
            Ok(Some(f(
                e.lines(lines.text, lines.index, lines.encoding),
                at,
                e.quoting,
            )))
        })?
    }

    /// Runs `f` on each Cedar text of a document and joins the answers: a Cedar
    /// document's whole text, each policy body of a hosted one.
    async fn each_text<T>(&self, uri: &Uri, f: impl Fn(&Lines<'_>) -> Vec<T>) -> Result<Vec<T>> {
        let bodies = self.bodies(uri).await?;
        self.with_doc(uri, |doc, lines| {
            let Some((version, bodies)) = bodies else {
                return Ok(f(&lines));
            };
            if doc.version != version {
                return Err(Error::content_modified());
            }
            Ok(bodies
                .iter()
                .flat_map(|e| f(&e.lines(lines.text, lines.index, lines.encoding)))
                .collect())
        })?
    }

    fn offset(lines: &Lines<'_>, pos: lsp::Position) -> Result<usize> {
        lines.offset(pos).ok_or_else(|| {
            Error::invalid_params(format!(
                "position {}:{} is outside the document",
                pos.line, pos.character
            ))
        })
    }
}

fn kind_of(uri: &Uri, language_id: &str) -> InputKind {
    if language_id == "json" {
        InputKind::Payload
    } else if matches!(language_id, "terraform" | "terraform-vars" | "hcl" | "tf") {
        InputKind::Terraform
    } else if matches!(language_id, "yaml" | "cloudformation") {
        InputKind::CloudFormation
    } else {
        InputKind::from_path(uri.path().as_str())
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let utf8 = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref())
            .is_some_and(|encs| encs.contains(&PositionEncodingKind::UTF8));
        self.inner.utf8.store(utf8, Ordering::Relaxed);
        let snippets = params
            .capabilities
            .text_document
            .as_ref()
            .and_then(|t| t.completion.as_ref())
            .and_then(|c| c.completion_item.as_ref())
            .and_then(|i| i.snippet_support)
            .unwrap_or(false);
        self.inner.snippets.store(snippets, Ordering::Relaxed);
        if let Some(ms) = params
            .initialization_options
            .as_ref()
            .and_then(|o| o.get("debounceMs"))
            .and_then(serde_json::Value::as_u64)
        {
            self.inner.debounce_ms.store(ms, Ordering::Relaxed);
        }
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(if utf8 {
                    PositionEncodingKind::UTF8
                } else {
                    PositionEncodingKind::UTF16
                }),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        will_save: None,
                        will_save_wait_until: None,
                        save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                            include_text: Some(false),
                        })),
                    },
                )),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(
                        [":", ".", "\"", "[", "="]
                            .iter()
                            .map(|s| (*s).to_owned())
                            .collect(),
                    ),
                    ..CompletionOptions::default()
                }),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                definition_provider: Some(OneOf::Left(true)),
                document_symbol_provider: Some(OneOf::Left(true)),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
                document_formatting_provider: Some(OneOf::Left(true)),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "atlas-cedar".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        self.inner
            .client
            .log_message(MessageType::INFO, "atlas-cedar language server ready")
            .await;
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        let kind = kind_of(&doc.uri, &doc.language_id);
        let path = if doc.uri.scheme().as_str() == "file" {
            doc.uri.to_file_path().map(|p| p.into_owned())
        } else {
            None
        };
        let version = doc.version;
        self.docs().insert(
            doc.uri.clone(),
            Document::new(doc.text, version, kind, path),
        );
        self.schedule(doc.uri, version, Duration::ZERO);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        // No `.await` before the text is updated: notifications are started in order,
        // so the edits apply in order.
        let encoding = self.encoding();
        let uri = params.text_document.uri;
        let version = params.text_document.version;
        let failed: Option<Option<String>> = {
            let mut docs = self.docs();
            docs.get_mut(&uri).map(|doc| {
                let mut failed = None;
                for change in &params.content_changes {
                    if let Err(e) = doc.apply(change, encoding) {
                        doc.desync = Some(e.clone());
                        failed = Some(e);
                        break;
                    }
                }
                doc.version = version;
                failed
            })
        };
        let Some(failed) = failed else {
            self.inner
                .client
                .log_message(
                    MessageType::WARNING,
                    format!(
                        "didChange for a document that is not open: {}",
                        uri.as_str()
                    ),
                )
                .await;
            return;
        };
        if let Some(e) = failed {
            self.inner
                .client
                .show_message(
                    MessageType::ERROR,
                    format!(
                        "atlas-cedar: could not apply an edit ({e}); close and reopen the file"
                    ),
                )
                .await;
        }
        self.schedule(uri, version, self.debounce());
    }

    async fn did_save(&self, _: DidSaveTextDocumentParams) {
        // A saved config or schema file changes how every open document is checked:
        // check them all again now (unchanged bodies come from the cache, and the
        // engine is rebuilt only if the config or its schema files changed).
        let open: Vec<(Uri, i32)> = self
            .docs()
            .iter()
            .map(|(u, d)| (u.clone(), d.version))
            .collect();
        for (uri, version) in open {
            self.schedule(uri, version, Duration::ZERO);
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        self.docs().remove(&params.text_document.uri);
        self.inner
            .client
            .publish_diagnostics(params.text_document.uri, Vec::new(), None)
            .await;
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let uri = params.text_document_position.text_document.uri;
        let pos = params.text_document_position.position;
        let resolved = self.resolved(&uri).await?;
        let snippets = self.inner.snippets.load(Ordering::Relaxed);
        let items = self
            .at_position(&uri, pos, |lines, offset, quoting| {
                // Snippet syntax cannot be escaped for a quoted string: plain text there.
                let mut items = crate::complete::complete(&crate::complete::Request {
                    engine: &resolved.engine,
                    lines,
                    offset,
                    snippets: snippets && quoting == Quoting::Literal,
                });
                escape_items(&mut items, quoting);
                items
            })
            .await?;
        Ok(items.map(CompletionResponse::Array))
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let uri = params.text_document_position_params.text_document.uri;
        let pos = params.text_document_position_params.position;
        let resolved = self.resolved(&uri).await?;
        Ok(self
            .at_position(&uri, pos, |lines, offset, _| {
                crate::hover::hover(&resolved.engine, &lines, offset)
            })
            .await?
            .flatten())
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let uri = params.text_document_position_params.text_document.uri;
        let pos = params.text_document_position_params.position;
        let resolved = self.resolved(&uri).await?;
        let encoding = self.encoding();
        Ok(self
            .at_position(&uri, pos, |lines, offset, _| {
                crate::outline::definition(
                    &resolved.engine,
                    lines.text,
                    offset,
                    &resolved.schema_files,
                    encoding,
                )
            })
            .await?
            .flatten()
            .map(GotoDefinitionResponse::Scalar))
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let symbols = self
            .each_text(&params.text_document.uri, crate::outline::symbols)
            .await?;
        Ok(Some(DocumentSymbolResponse::Nested(symbols)))
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        let ranges = self
            .each_text(&params.text_document.uri, crate::outline::folding)
            .await?;
        Ok(Some(ranges))
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        let checked = self.check(&uri).await.ok_or_else(|| not_open(&uri))?;
        let index = LineIndex::new(&checked.text);
        let lines = Lines::new(&checked.text, &index, self.encoding());
        let actions =
            crate::convert::code_actions(&uri, &checked.diagnostics, &params.range, &lines);
        Ok(Some(
            actions
                .into_iter()
                .map(CodeActionOrCommand::CodeAction)
                .collect(),
        ))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let uri = params.text_document.uri;
        let (text, version, kind) =
            self.with_doc(&uri, |doc, _| (doc.text.clone(), doc.version, doc.kind))?;
        if kind != atlas_cedar_core::InputKind::Cedar {
            // Never rewrite a Terraform file, a template or a payload as Cedar.
            return Ok(None);
        }
        let source = text.clone();
        // The document's own maximum body size: formatting never crosses it.
        let options = atlas_cedar_core::format::FormatOptions {
            max_body_size: match self.resolved(&uri).await {
                Ok(r) => r.engine.settings.max_body_size,
                Err(_) => atlas_cedar_core::check::DEFAULT_MAX_BODY_SIZE,
            },
        };
        let formatted = self
            .inner
            .checker
            .run(move || atlas_cedar_core::format::format_cedar_with(&source, &options))
            .await
            .ok_or_else(Error::internal_error)?;
        let formatted = match formatted {
            Ok(f) => {
                for note in &f.kept {
                    self.inner
                        .client
                        .log_message(MessageType::INFO, format!("atlas-cedar: {note}"))
                        .await;
                }
                f.text
            }
            Err(e) => {
                self.inner
                    .client
                    .log_message(
                        MessageType::WARNING,
                        format!("atlas-cedar: not formatted: {e}"),
                    )
                    .await;
                return Ok(None);
            }
        };
        if self.version_of(&uri) != Some(version) {
            return Err(Error::content_modified());
        }
        if formatted == text {
            return Ok(Some(Vec::new()));
        }
        let index = LineIndex::new(&text);
        let lines = Lines::new(&text, &index, self.encoding());
        Ok(Some(vec![TextEdit {
            range: lines.range(&(0..text.len())),
            new_text: formatted,
        }]))
    }
}
