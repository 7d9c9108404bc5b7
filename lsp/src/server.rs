//! The language server: protocol handlers over one shared analysis.
//!
//! Ordering: tower-lsp-server runs handlers concurrently, so two `didChange` notifications
//! could apply out of order. The server therefore runs with a concurrency level of 1 (see
//! [`crate::serve`]) and every handler applies its edit and rebuilds the analysis before its
//! first `.await`. Each analysis carries a revision; diagnostics are published under a lock
//! and only while their revision is still the newest, so a stale result is never published.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use crate::analysis::{Analysis, ParseCache};
use crate::ctx::Ctx;
use crate::lens::{self, TestSummary};
use crate::position::{Encoding, apply_change};
use crate::workspace::{OpenDoc, Workspace};
use crate::{actions, complete, diag, fmt, hover, nav, tokens};

struct State {
    ws: Workspace,
    analysis: Arc<Analysis>,
    revision: u64,
    encoding: Encoding,
    parses: ParseCache,
    /// The client answers `workspace/configuration` (its `workspace.configuration` capability).
    pull_configuration: bool,
    /// The client takes a dynamic registration of `workspace/didChangeConfiguration`.
    register_configuration: bool,
}

pub struct Backend {
    client: Client,
    state: Mutex<State>,
    /// Held while publishing: per URI, the version and diagnostics last sent to the client.
    published: tokio::sync::Mutex<HashMap<String, Published>>,
    /// Bumped whenever files on disk may have changed (save, watched files): rule tests run
    /// on disk, so their cached report is valid for one generation.
    disk_generation: AtomicU64,
    tests: tokio::sync::Mutex<Option<(u64, TestSummary)>>,
    /// The `rulec` binary that runs rule tests.
    rulec: Mutex<PathBuf>,
}

/// The version and diagnostics last published for a document.
type Published = (Option<i32>, Vec<Diagnostic>);

/// The server's settings: the `lanner` section of the client's configuration, as VS Code
/// nests it (`lanner.rulesFiles`, `lanner.server.path`), read from `initializationOptions`,
/// `workspace/didChangeConfiguration` and `workspace/configuration`. The flat `rulecPath` of
/// older clients is still read. Keys the server does not use (`filePatterns`,
/// `server.extraArgs`) are the client's business and ignored.
#[derive(Debug, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    /// Rule files in load order, relative to the workspace root; empty means Falco's default
    /// (a falco.yaml, a lanner.toml, else every rules file sorted).
    #[serde(default)]
    rules_files: Vec<String>,
    #[serde(default)]
    server: ServerSettings,
    /// The `rulec` binary for rule tests (legacy flat form of `server.path`).
    rulec_path: Option<String>,
}

#[derive(Debug, Default, PartialEq, serde::Deserialize)]
struct ServerSettings {
    /// The `rulec` binary the client starts as the server; rule tests run it too.
    #[serde(default)]
    path: String,
}

/// How a settings value sent by the client reads.
#[derive(Debug, PartialEq)]
enum SettingsValue {
    /// Settings the server understands.
    Settings(Settings),
    /// No `lanner` settings in it (`null`, `{}`, another tool's section): a client that
    /// answers `workspace/configuration` is asked instead.
    Absent,
    /// A `lanner` section of the wrong shape.
    Invalid(String),
}

impl SettingsValue {
    /// Reads either the `lanner` section itself or an object holding it under `lanner`.
    fn read(v: Option<&serde_json::Value>) -> SettingsValue {
        let Some(v) = v.filter(|v| v.is_object()) else {
            return SettingsValue::Absent;
        };
        let section = match v.get("lanner") {
            Some(s) if s.is_object() => s,
            Some(s) if s.is_null() => return SettingsValue::Absent,
            Some(_) => return SettingsValue::Invalid("`lanner` is not an object".to_owned()),
            None if ["rulesFiles", "rulecPath", "server"]
                .iter()
                .any(|k| v.get(k).is_some()) =>
            {
                v
            }
            None => return SettingsValue::Absent,
        };
        match serde_json::from_value(section.clone()) {
            Ok(s) => SettingsValue::Settings(s),
            Err(e) => SettingsValue::Invalid(e.to_string()),
        }
    }
}

impl Settings {
    fn rules_files(&self) -> Option<Vec<String>> {
        let files: Vec<String> = self
            .rules_files
            .iter()
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .collect();
        (!files.is_empty()).then_some(files)
    }

    fn rulec(&self) -> PathBuf {
        let path = self.server.path.trim();
        if !path.is_empty() {
            return PathBuf::from(path);
        }
        match self.rulec_path.as_deref().map(str::trim) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => default_rulec(),
        }
    }
}

/// How long the server waits for the client's `workspace/configuration` answer before it goes
/// on with the settings it has (a client may claim the capability and never answer).
const CONFIGURATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn default_rulec() -> PathBuf {
    std::env::current_exe()
        .ok()
        .filter(|p| p.file_stem().is_some_and(|s| s == "rulec"))
        .unwrap_or_else(|| PathBuf::from("rulec"))
}

impl Backend {
    pub fn new(client: Client) -> Backend {
        Backend {
            client,
            state: Mutex::new(State {
                ws: Workspace::default(),
                analysis: Arc::new(Analysis::new(Vec::new())),
                revision: 0,
                encoding: Encoding::Utf16,
                parses: ParseCache::default(),
                pull_configuration: false,
                register_configuration: false,
            }),
            published: tokio::sync::Mutex::new(HashMap::new()),
            disk_generation: AtomicU64::new(0),
            tests: tokio::sync::Mutex::new(None),
            rulec: Mutex::new(default_rulec()),
        }
    }

    /// The rule-test report of the workspace, run again only after files changed on disk.
    async fn test_summary(&self) -> Option<TestSummary> {
        let root = self.lock().ws.root.clone()?;
        let generation = self.disk_generation.load(Ordering::SeqCst);
        let mut cache = self.tests.lock().await;
        if let Some((g, s)) = cache.as_ref()
            && *g == generation
        {
            return Some(s.clone());
        }
        let files = lens::test_files(&root);
        let summary = if files.is_empty() {
            TestSummary::default()
        } else {
            let rulec = self.rulec.lock().unwrap_or_else(|e| e.into_inner()).clone();
            match lens::run(&rulec, &files).await {
                Ok(s) => s,
                Err(e) => {
                    self.client
                        .log_message(MessageType::WARNING, format!("rule tests: {e}"))
                        .await;
                    return None;
                }
            }
        };
        *cache = Some((generation, summary.clone()));
        Some(summary)
    }

    /// The `lanner` section of the client's configuration, or `None` when the client does not
    /// answer (in time) or has no such section.
    async fn pull_settings(&self) -> Option<Settings> {
        let item = ConfigurationItem {
            scope_uri: None,
            section: Some("lanner".to_owned()),
        };
        let answer =
            tokio::time::timeout(CONFIGURATION_TIMEOUT, self.client.configuration(vec![item]))
                .await;
        let values = match answer {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                self.client
                    .log_message(
                        MessageType::WARNING,
                        format!("workspace/configuration: {e}"),
                    )
                    .await;
                return None;
            }
            Err(_) => {
                self.client
                    .log_message(
                        MessageType::WARNING,
                        "workspace/configuration: no answer; the previous settings stay",
                    )
                    .await;
                return None;
            }
        };
        // The answer is the section's value itself; an object with a `lanner` key is read too.
        // No section (`null`: Neovim without `settings`) keeps what the server has, such as
        // its initializationOptions.
        self.accept_settings(
            SettingsValue::read(values.first()),
            "workspace/configuration",
        )
        .await
    }

    /// The one reading of a settings value the client sent (initializationOptions, a
    /// didChangeConfiguration push, a workspace/configuration answer): settings, or `None`
    /// when there are none; a wrong shape is logged, naming where it came from, and the
    /// settings the server has stay.
    async fn accept_settings(&self, value: SettingsValue, origin: &str) -> Option<Settings> {
        match value {
            SettingsValue::Settings(s) => Some(s),
            SettingsValue::Absent => None,
            SettingsValue::Invalid(e) => {
                self.client
                    .log_message(
                        MessageType::WARNING,
                        format!("{origin}: {e}; the previous settings stay"),
                    )
                    .await;
                None
            }
        }
    }

    /// Applies settings; returns the new analysis when the load order changed.
    fn apply_settings(&self, settings: Settings) -> Option<(u64, Arc<Analysis>)> {
        let rulec = settings.rulec();
        {
            let mut current = self.rulec.lock().unwrap_or_else(|e| e.into_inner());
            if *current != rulec {
                *current = rulec;
                // The cached test report came from the other binary.
                self.disk_generation.fetch_add(1, Ordering::SeqCst);
            }
        }
        let files = settings.rules_files();
        let mut s = self.lock();
        if s.ws.setting == files {
            return None;
        }
        s.ws.setting = files;
        s.ws.reload_disk();
        Some(Self::reanalyse(&mut s))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters more than stopping the server would, so a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Rebuilds the analysis after a change (synchronously, so edits apply in order) and
    /// returns its revision.
    fn reanalyse(state: &mut State) -> (u64, Arc<Analysis>) {
        state.revision += 1;
        let next = Arc::new(Analysis::with_cache(state.ws.sources(), &mut state.parses));
        let old = std::mem::replace(&mut state.analysis, next);
        // Freeing the previous analysis (the whole workspace's syntax trees and program) is a
        // tenth of an edit's time; it runs beside the publishing instead of before it.
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(move || drop(old))),
            Err(_) => drop(old),
        }
        (state.revision, state.analysis.clone())
    }

    fn snapshot(&self) -> (Arc<Analysis>, Encoding) {
        let s = self.lock();
        (s.analysis.clone(), s.encoding)
    }

    async fn publish(&self, revision: u64, analysis: Arc<Analysis>) {
        let mut published = self.published.lock().await;
        let enc = self.lock().encoding;
        let cx = Ctx { a: &analysis, enc };
        let mut now = HashMap::new();
        for (i, src) in analysis.sources.iter().enumerate() {
            if self.lock().revision != revision {
                return;
            }
            let file = lanner_syntax::span::FileId(u32::try_from(i).unwrap_or(u32::MAX));
            let diags = diag::for_file(&cx, file);
            let key = src.uri.as_str().to_owned();
            let before = published.get(&key);
            // What the client shows is still right for a file whose diagnostics and version
            // did not change; sending it again would only cost time on every keystroke.
            let unchanged = match before {
                Some((v, d)) => *v == src.version && *d == diags,
                None => diags.is_empty() && src.version.is_none(),
            };
            if !unchanged {
                self.client
                    .publish_diagnostics(src.uri.clone(), diags.clone(), src.version)
                    .await;
            }
            now.insert(key, (src.version, diags));
        }
        // Files that left the workspace keep no stale diagnostics.
        for (gone, (_, d)) in published.iter() {
            if now.contains_key(gone) || d.is_empty() {
                continue;
            }
            if let Ok(uri) = gone.parse::<Uri>() {
                self.client.publish_diagnostics(uri, Vec::new(), None).await;
            }
        }
        *published = now;
    }

    fn change(&self, f: impl FnOnce(&mut Workspace, Encoding)) -> (u64, Arc<Analysis>) {
        let mut s = self.lock();
        let enc = s.encoding;
        f(&mut s.ws, enc);
        Self::reanalyse(&mut s)
    }

    fn at<T>(
        &self,
        pos: &TextDocumentPositionParams,
        f: impl FnOnce(&Ctx<'_>, lanner_syntax::span::FileId, usize) -> T,
    ) -> Option<T> {
        let (a, enc) = self.snapshot();
        let cx = Ctx { a: &a, enc };
        let (file, offset) = cx.offset(&pos.text_document.uri, pos.position)?;
        Some(f(&cx, file, offset))
    }

    fn in_doc<T>(
        &self,
        uri: &Uri,
        f: impl FnOnce(&Ctx<'_>, lanner_syntax::span::FileId) -> T,
    ) -> Option<T> {
        let (a, enc) = self.snapshot();
        let cx = Ctx { a: &a, enc };
        let file = a.file_of(uri)?;
        Some(f(&cx, file))
    }
}

impl Backend {
    /// A file that is not valid YAML is not formatted; the error says so (its diagnostics are
    /// already published).
    fn format(&self, uri: &Uri, range: Option<Range>) -> Result<Option<Vec<TextEdit>>> {
        let r = self.in_doc(uri, |cx, f| {
            let offsets = range.and_then(|r| {
                let t = cx.text(f)?;
                Some((t.offset(r.start), t.offset(r.end)))
            });
            fmt::format(cx, f, offsets)
        });
        match r {
            None => Ok(None),
            Some(Ok(edits)) => Ok(Some(edits)),
            Some(Err(e)) => Err(Error::invalid_params(format!("cannot format: {e}"))),
        }
    }
}

fn root_of(params: &InitializeParams) -> Option<PathBuf> {
    if let Some(f) = params.workspace_folders.as_ref().and_then(|f| f.first()) {
        return f.uri.to_file_path().map(|p| p.into_owned());
    }
    #[allow(deprecated)] // Older clients (Neovim 0.7) still send only `rootUri`.
    let root = params.root_uri.as_ref();
    root.and_then(|u| u.to_file_path().map(|p| p.into_owned()))
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let enc = Encoding::negotiate(
            params
                .capabilities
                .general
                .as_ref()
                .and_then(|g| g.position_encodings.as_deref()),
        );
        // Before any settings, the previous settings are the defaults.
        let opts = self
            .accept_settings(
                SettingsValue::read(params.initialization_options.as_ref()),
                "initializationOptions",
            )
            .await
            .unwrap_or_default();
        let workspace = params.capabilities.workspace.as_ref();
        let pull = workspace.and_then(|w| w.configuration).unwrap_or(false);
        let register = workspace
            .and_then(|w| w.did_change_configuration.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false);
        {
            let mut s = self.lock();
            s.encoding = enc;
            s.pull_configuration = pull;
            s.register_configuration = register;
            s.ws = Workspace::new(root_of(&params), opts.rules_files());
            *self.rulec.lock().unwrap_or_else(|e| e.into_inner()) = opts.rulec();
            Self::reanalyse(&mut s);
        }
        Ok(InitializeResult {
            server_info: Some(ServerInfo {
                name: "lanner-lsp".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            capabilities: capabilities(enc),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        // A client like VS Code's notifies configuration changes only to a server that
        // registers for them; registered without a section, it sends `null` and the server
        // asks (the pull model).
        let (pull, register) = {
            let s = self.lock();
            (s.pull_configuration, s.register_configuration)
        };
        if pull && register {
            let registration = Registration {
                id: "lanner-configuration".to_owned(),
                method: "workspace/didChangeConfiguration".to_owned(),
                register_options: None,
            };
            let answer = tokio::time::timeout(
                CONFIGURATION_TIMEOUT,
                self.client.register_capability(vec![registration]),
            )
            .await;
            if !matches!(answer, Ok(Ok(()))) {
                self.client
                    .log_message(
                        MessageType::WARNING,
                        "client/registerCapability: refused or no answer; configuration changes are not followed",
                    )
                    .await;
            }
        }
        // The client's live settings win over the initializationOptions it started us with.
        if self.lock().pull_configuration
            && let Some(settings) = self.pull_settings().await
            && let Some((rev, a)) = self.apply_settings(settings)
        {
            self.publish(rev, a).await;
            return;
        }
        let (rev, a) = {
            let s = self.lock();
            (s.revision, s.analysis.clone())
        };
        self.publish(rev, a).await;
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, p: DidOpenTextDocumentParams) {
        let doc = p.text_document;
        let (rev, a) = self.change(|ws, _| {
            ws.open.insert(
                doc.uri.as_str().to_owned(),
                OpenDoc {
                    uri: doc.uri.clone(),
                    version: doc.version,
                    text: doc.text,
                },
            );
        });
        self.publish(rev, a).await;
    }

    async fn did_change(&self, p: DidChangeTextDocumentParams) {
        let key = p.text_document.uri.as_str().to_owned();
        let version = p.text_document.version;
        let (rev, a) = self.change(|ws, enc| {
            if let Some(doc) = ws.open.get_mut(&key) {
                // Versions only grow; an older change than what we hold is a client bug and
                // applying it would corrupt the text, so it is dropped.
                if version < doc.version {
                    return;
                }
                for c in &p.content_changes {
                    apply_change(&mut doc.text, c.range, &c.text, enc);
                }
                doc.version = version;
            }
        });
        self.publish(rev, a).await;
    }

    async fn did_save(&self, p: DidSaveTextDocumentParams) {
        let key = p.text_document.uri.as_str().to_owned();
        let (rev, a) = self.change(|ws, _| {
            if let (Some(text), Some(doc)) = (p.text, ws.open.get_mut(&key)) {
                doc.text = text;
            }
            ws.reload_disk();
        });
        self.disk_generation.fetch_add(1, Ordering::SeqCst);
        self.publish(rev, a).await;
    }

    async fn did_close(&self, p: DidCloseTextDocumentParams) {
        let key = p.text_document.uri.as_str().to_owned();
        let (rev, a) = self.change(|ws, _| {
            ws.open.remove(&key);
        });
        self.publish(rev, a).await;
    }

    async fn did_change_watched_files(&self, _: DidChangeWatchedFilesParams) {
        let (rev, a) = self.change(|ws, _| ws.reload_disk());
        self.disk_generation.fetch_add(1, Ordering::SeqCst);
        self.publish(rev, a).await;
    }

    async fn did_change_configuration(&self, p: DidChangeConfigurationParams) {
        // VS Code pushes `{ "lanner": { … } }` (its `configurationSection`); clients of the
        // pull model send `null` and are asked.
        let settings = match SettingsValue::read(Some(&p.settings)) {
            SettingsValue::Absent if self.lock().pull_configuration => self.pull_settings().await,
            v => {
                self.accept_settings(v, "workspace/didChangeConfiguration")
                    .await
            }
        };
        if let Some((rev, a)) = settings.and_then(|s| self.apply_settings(s)) {
            self.publish(rev, a).await;
        }
    }

    async fn workspace_diagnostic(
        &self,
        p: WorkspaceDiagnosticParams,
    ) -> Result<WorkspaceDiagnosticReportResult> {
        let (a, enc) = self.snapshot();
        let cx = Ctx { a: &a, enc };
        let previous: HashMap<&str, &str> = p
            .previous_result_ids
            .iter()
            .map(|r| (r.uri.as_str(), r.value.as_str()))
            .collect();
        let items = a
            .sources
            .iter()
            .enumerate()
            .map(|(i, src)| {
                let file = lanner_syntax::span::FileId(u32::try_from(i).unwrap_or(u32::MAX));
                let diags = diag::for_file(&cx, file);
                let id = diag::result_id(src.version, &diags);
                let version = src.version.map(i64::from);
                if previous.get(src.uri.as_str()) == Some(&id.as_str()) {
                    WorkspaceDocumentDiagnosticReport::Unchanged(
                        WorkspaceUnchangedDocumentDiagnosticReport {
                            uri: src.uri.clone(),
                            version,
                            unchanged_document_diagnostic_report:
                                UnchangedDocumentDiagnosticReport { result_id: id },
                        },
                    )
                } else {
                    WorkspaceDocumentDiagnosticReport::Full(WorkspaceFullDocumentDiagnosticReport {
                        uri: src.uri.clone(),
                        version,
                        full_document_diagnostic_report: FullDocumentDiagnosticReport {
                            result_id: Some(id),
                            items: diags,
                        },
                    })
                }
            })
            .collect();
        Ok(WorkspaceDiagnosticReportResult::Report(
            WorkspaceDiagnosticReport { items },
        ))
    }

    async fn diagnostic(
        &self,
        p: DocumentDiagnosticParams,
    ) -> Result<DocumentDiagnosticReportResult> {
        let (items, version) = self
            .in_doc(&p.text_document.uri, |cx, f| {
                let version = cx.a.sources.get(f.0 as usize).and_then(|s| s.version);
                (diag::for_file(cx, f), version)
            })
            .unwrap_or_default();
        let id = diag::result_id(version, &items);
        if p.previous_result_id.as_deref() == Some(id.as_str()) {
            return Ok(DocumentDiagnosticReportResult::Report(
                DocumentDiagnosticReport::Unchanged(RelatedUnchangedDocumentDiagnosticReport {
                    related_documents: None,
                    unchanged_document_diagnostic_report: UnchangedDocumentDiagnosticReport {
                        result_id: id,
                    },
                }),
            ));
        }
        Ok(DocumentDiagnosticReportResult::Report(
            DocumentDiagnosticReport::Full(RelatedFullDocumentDiagnosticReport {
                related_documents: None,
                full_document_diagnostic_report: FullDocumentDiagnosticReport {
                    result_id: Some(id),
                    items,
                },
            }),
        ))
    }

    async fn hover(&self, p: HoverParams) -> Result<Option<Hover>> {
        Ok(self
            .at(&p.text_document_position_params, hover::hover)
            .flatten())
    }

    async fn completion(&self, p: CompletionParams) -> Result<Option<CompletionResponse>> {
        Ok(self
            .at(&p.text_document_position, complete::complete)
            .map(CompletionResponse::Array))
    }

    async fn goto_definition(
        &self,
        p: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let locs = self
            .at(&p.text_document_position_params, nav::definition)
            .unwrap_or_default();
        Ok(match locs.len() {
            0 => None,
            1 => locs.into_iter().next().map(GotoDefinitionResponse::Scalar),
            _ => Some(GotoDefinitionResponse::Array(locs)),
        })
    }

    async fn references(&self, p: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let decl = p.context.include_declaration;
        Ok(self.at(&p.text_document_position, |cx, f, o| {
            nav::references(cx, f, o, decl)
        }))
    }

    async fn prepare_rename(
        &self,
        p: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        Ok(self
            .at(&p, nav::prepare_rename)
            .flatten()
            .map(PrepareRenameResponse::Range))
    }

    async fn rename(&self, p: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let name = p.new_name.clone();
        match self.at(&p.text_document_position, |cx, f, o| {
            nav::rename(cx, f, o, &name)
        }) {
            None => Ok(None),
            Some(Ok(edit)) => Ok(Some(edit)),
            Some(Err(e)) => Err(Error::invalid_params(e.to_string())),
        }
    }

    async fn document_highlight(
        &self,
        p: DocumentHighlightParams,
    ) -> Result<Option<Vec<DocumentHighlight>>> {
        Ok(self.at(&p.text_document_position_params, nav::highlight))
    }

    async fn document_symbol(
        &self,
        p: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        Ok(self
            .in_doc(&p.text_document.uri, nav::document_symbols)
            .map(DocumentSymbolResponse::Nested))
    }

    async fn symbol(&self, p: WorkspaceSymbolParams) -> Result<Option<WorkspaceSymbolResponse>> {
        let (a, enc) = self.snapshot();
        let cx = Ctx { a: &a, enc };
        Ok(Some(WorkspaceSymbolResponse::Nested(
            nav::workspace_symbols(&cx, &p.query),
        )))
    }

    async fn folding_range(&self, p: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        Ok(self.in_doc(&p.text_document.uri, nav::folding))
    }

    async fn semantic_tokens_full(
        &self,
        p: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        Ok(self.in_doc(&p.text_document.uri, |cx, f| {
            SemanticTokensResult::Tokens(SemanticTokens {
                result_id: None,
                data: tokens::tokens(cx, f),
            })
        }))
    }

    async fn code_lens(&self, p: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        let Some(summary) = self.test_summary().await else {
            return Ok(None);
        };
        let capture = self
            .lock()
            .ws
            .root
            .as_deref()
            .and_then(|r| lens::captures(r).into_iter().next());
        Ok(self.in_doc(&p.text_document.uri, |cx, f| {
            lens::lenses(cx, f, &summary, capture.as_deref())
        }))
    }

    async fn execute_command(&self, p: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        match p.command.as_str() {
            lens::RUN_TESTS => {
                let mut args = p.arguments.iter().filter_map(|a| a.as_str());
                let rule = args.next().unwrap_or("").to_owned();
                let files: Vec<PathBuf> = args.map(PathBuf::from).collect();
                if files.is_empty() {
                    return Err(Error::invalid_params("expected a rule name and test files"));
                }
                let rulec = self.rulec.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let summary = lens::run(&rulec, &files)
                    .await
                    .map_err(|e| Error::invalid_params(e.to_string()))?;
                let t = summary.rules.get(&rule).cloned().unwrap_or_default();
                self.client
                    .show_message(
                        MessageType::INFO,
                        format!("rule `{rule}`: {}", lens::title(&t)),
                    )
                    .await;
                Ok(Some(serde_json::json!({ "rule": rule, "result": t })))
            }
            lens::EVALUATE => {
                let args: Vec<&str> = p.arguments.iter().filter_map(|a| a.as_str()).collect();
                let [rule, capture] = args.as_slice() else {
                    return Err(Error::invalid_params("expected a rule name and a capture"));
                };
                let rules: Vec<PathBuf> =
                    self.lock().ws.disk.iter().map(|(p, _)| p.clone()).collect();
                let rulec = self.rulec.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let alerts = lens::evaluate(&rulec, &rules, Path::new(capture), rule)
                    .await
                    .map_err(|e| Error::invalid_params(e.to_string()))?;
                self.client
                    .show_message(
                        MessageType::INFO,
                        format!("rule `{rule}`: {alerts} alert(s) on `{capture}`"),
                    )
                    .await;
                Ok(Some(
                    serde_json::json!({ "rule": rule, "capture": capture, "alerts": alerts }),
                ))
            }
            actions::ADD_EXCEPTION => {
                let uri = p
                    .arguments
                    .first()
                    .and_then(|u| u.as_str())
                    .and_then(|u| u.parse::<Uri>().ok())
                    .ok_or_else(|| Error::invalid_params("expected a document URI"))?;
                let alert = p.arguments.get(1).cloned().unwrap_or_default();
                let edit = self
                    .in_doc(&uri, |cx, f| actions::exception_from_alert(cx, f, &alert))
                    .ok_or_else(|| Error::invalid_params("the document is not open"))?
                    .map_err(|e| Error::invalid_params(e.to_string()))?;
                Ok(Some(serde_json::to_value(edit).unwrap_or_default()))
            }
            other => Err(Error::invalid_params(format!("unknown command `{other}`"))),
        }
    }

    async fn formatting(&self, p: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        self.format(&p.text_document.uri, None)
    }

    async fn range_formatting(
        &self,
        p: DocumentRangeFormattingParams,
    ) -> Result<Option<Vec<TextEdit>>> {
        self.format(&p.text_document.uri, Some(p.range))
    }

    async fn code_action(&self, p: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        Ok(self.in_doc(&p.text_document.uri, |cx, f| {
            let Some(t) = cx.text(f) else {
                return Vec::new();
            };
            let (s, e) = (t.offset(p.range.start), t.offset(p.range.end));
            actions::actions(cx, f, s, e)
        }))
    }
}

fn capabilities(enc: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(enc.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(true),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(
                [".", "%", " ", "(", ","]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
            ),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: WorkDoneProgressOptions::default(),
        })),
        document_highlight_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        workspace_symbol_provider: Some(OneOf::Left(true)),
        folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: tokens::legend(),
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                work_done_progress_options: WorkDoneProgressOptions::default(),
            },
        )),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::QUICKFIX,
                CodeActionKind::REFACTOR_REWRITE,
            ]),
            ..CodeActionOptions::default()
        })),
        code_lens_provider: Some(CodeLensOptions {
            resolve_provider: Some(false),
        }),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: vec![
                lens::RUN_TESTS.to_owned(),
                actions::ADD_EXCEPTION.to_owned(),
            ],
            work_done_progress_options: WorkDoneProgressOptions::default(),
        }),
        document_formatting_provider: Some(OneOf::Left(true)),
        document_range_formatting_provider: Some(OneOf::Left(true)),
        diagnostic_provider: Some(DiagnosticServerCapabilities::Options(DiagnosticOptions {
            identifier: Some("lanner".to_owned()),
            inter_file_dependencies: true,
            workspace_diagnostics: true,
            work_done_progress_options: WorkDoneProgressOptions::default(),
        })),
        ..ServerCapabilities::default()
    }
}
