//! Lanner's front end: Falco rule files in, located syntax trees and diagnostics out.
//!
//! This crate knows nothing of the kernel, the JIT or the editor. See ARCHITECTURE.md.

pub mod codes;
pub mod diagnostic;
pub mod format;
pub mod front;
pub mod output;
pub mod rules;
pub mod scalar;
pub mod source;
pub mod span;
pub mod yaml;

pub use diagnostic::{Code, Diagnostic, Severity};
pub use span::{FileId, FileSpan, Span, Spanned};
pub mod condition;
