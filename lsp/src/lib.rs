//! The Lanner language server for Falco rule files (`rulec lsp`).
//!
//! It depends on the front end only (syntax, schema, check): never on the runtime, aya or
//! Cranelift. Features that need the runtime (running rule tests) spawn the `rulec` binary.

mod actions;
pub mod analysis;
mod complete;
mod ctx;
mod diag;
mod fmt;
mod hover;
mod lens;
mod nav;
pub mod position;
pub mod scan;
mod server;
mod tokens;
pub mod workspace;

pub use server::Backend;
use tower_lsp_server::{ClientSocket, LspService, Server};

/// The service, for in-process tests and benchmarks.
pub fn service() -> (LspService<Backend>, ClientSocket) {
    LspService::new(Backend::new)
}

/// Serves the protocol over stdin/stdout until the client sends `exit`.
pub fn serve_stdio() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (service, socket) = service();
        // INVARIANT: one request or notification at a time, so edits apply in order (see
        // `server`); the session tests send edits back to back and check the final text.
        Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
            .concurrency_level(1)
            .serve(service)
            .await;
    });
    Ok(())
}
