//! Checker diagnostics as LSP diagnostics: the same codes, messages and locations as
//! `rulec check`, with secondary labels as related information.

use lanner_syntax::span::FileId;
use lanner_syntax::{Diagnostic, Severity};
use tower_lsp_server::ls_types::{
    self as lsp, DiagnosticRelatedInformation, DiagnosticSeverity, NumberOrString,
};

use crate::ctx::Ctx;

/// The diagnostics whose primary location is in `file`, in the checker's order.
pub fn for_file(cx: &Ctx<'_>, file: FileId) -> Vec<lsp::Diagnostic> {
    cx.a.checked
        .diagnostics
        .iter()
        .filter(|d| d.primary.file == file)
        .map(|d| convert(cx, d))
        .collect()
}

pub fn convert(cx: &Ctx<'_>, d: &Diagnostic) -> lsp::Diagnostic {
    let severity = match d.severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Note => DiagnosticSeverity::INFORMATION,
    };
    // The message carries what rulec's human output shows under the headline: the label, the
    // help and the notes, one per line, so that every client shows them without extensions.
    let mut message = d.message.clone();
    if !d.label.is_empty() {
        message.push_str(&format!("\n{}", d.label));
    }
    if let Some(h) = &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    for n in &d.notes {
        message.push_str(&format!("\nnote: {n}"));
    }
    if let Some(f) = d.code.falco {
        message.push_str(&format!("\nfalco: {f}"));
    }
    let related: Vec<_> = d
        .secondary
        .iter()
        .filter_map(|l| {
            Some(DiagnosticRelatedInformation {
                location: cx.location(l.span)?,
                message: if l.message.is_empty() {
                    "related location".to_owned()
                } else {
                    l.message.clone()
                },
            })
        })
        .collect();
    let mut data = serde_json::json!({ "name": d.code.name });
    if let Some(obj) = data.as_object_mut() {
        if let Some(f) = d.code.falco {
            obj.insert("falco_code".into(), f.into());
        }
        if let Some(item) = &d.item {
            obj.insert("item".into(), item.clone().into());
        }
    }
    lsp::Diagnostic {
        range: cx.range(d.primary.file, d.primary.span),
        severity: Some(severity),
        code: Some(NumberOrString::String(d.code.id.to_owned())),
        code_description: None,
        source: Some("lanner".to_owned()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: Some(data),
    }
}

/// The `resultId` of a pull report: a digest of the version and the diagnostics, so that a
/// client asking again with it gets "unchanged" when nothing it shows would change. FNV-1a,
/// not `DefaultHasher`, whose algorithm may change between Rust releases.
pub fn result_id(version: Option<i32>, diags: &[lsp::Diagnostic]) -> String {
    let text = serde_json::to_string(&(version, diags)).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
