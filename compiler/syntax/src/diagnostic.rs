//! Diagnostics as data.
//!
//! Every stage reports problems as [`Diagnostic`] values and keeps going; nothing is rendered
//! here. The CLI renders them with codespan-reporting, as JSON or as SARIF; the language server
//! converts them into LSP diagnostics.

use crate::span::FileSpan;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// A stable diagnostic code.
///
/// INVARIANT: a code's `id` never changes meaning once released; tools match on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Code {
    /// The stable identifier, e.g. `L101`.
    pub id: &'static str,
    /// A short kebab-case name, e.g. `unbalanced-parenthesis`.
    pub name: &'static str,
    /// The default severity.
    pub severity: Severity,
    /// Falco's `load_result` code for the same problem, where Falco reports it too.
    pub falco: Option<&'static str>,
    /// One sentence explaining the code, for `rulec explain-code` and SARIF rule metadata.
    pub summary: &'static str,
}

/// A labelled secondary location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: FileSpan,
    pub message: String,
}

/// A machine-applicable replacement of `span` by `replacement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub span: FileSpan,
    pub replacement: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// Lowercase, no final period, user input in backticks.
    pub message: String,
    /// Where the problem is. An empty span marks a point (e.g. end of input).
    pub primary: FileSpan,
    /// Text attached to the primary location.
    pub label: String,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    pub notes: Vec<String>,
    /// The list, macro or rule the problem belongs to, when known.
    pub item: Option<String>,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    pub fn new(code: Code, primary: FileSpan, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity,
            message: message.into(),
            primary,
            label: String::new(),
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
            item: None,
            fix: None,
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    pub fn with_secondary(mut self, span: FileSpan, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn with_item(mut self, item: impl Into<String>) -> Diagnostic {
        self.item = Some(item.into());
        self
    }

    pub fn with_fix(mut self, span: FileSpan, replacement: impl Into<String>) -> Diagnostic {
        self.fix = Some(Fix {
            span,
            replacement: replacement.into(),
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
