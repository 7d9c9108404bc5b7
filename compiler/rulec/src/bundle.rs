//! `rulec build`, `rulec keygen`, `rulec inspect`: the compiler's side of bundles.

use std::path::Path;

use lanner_bundle::{Header, SignatureCheck, hex};
use lanner_program::Program;

/// What `rulec build` records besides the rules.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    pub name: Option<String>,
    pub revision: Option<String>,
    /// Record the creation time (off by default: equal inputs give equal bytes).
    pub timestamp: bool,
}

/// Compiles checked sources into bundle bytes. `Err` carries the diagnostics' database when the
/// rules do not check.
pub fn build(
    sources: Vec<(String, String)>,
    options: &BuildOptions,
    key: Option<&lanner_bundle::SigningKey>,
) -> Result<(Vec<u8>, Program), BuildFailure> {
    let info = lanner_bundle::BuildInfo {
        sources: sources
            .iter()
            .map(|(n, t)| (n.clone(), t.as_bytes().to_vec()))
            .collect(),
        created: options.timestamp.then(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        }),
        name: options.name.clone(),
        revision: options.revision.clone(),
    };
    let program = lanner_check::driver::compile(sources).map_err(BuildFailure::Rules)?;
    let bytes = lanner_bundle::build(&program, &info, key).map_err(BuildFailure::Bundle)?;
    Ok((bytes, program))
}

/// Why `rulec build` failed.
pub enum BuildFailure {
    Rules(lanner_check::driver::Diagnostics),
    Bundle(lanner_bundle::BuildError),
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a watcher (`lanner run`
/// reloading on change) never reads a half-written bundle.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// What `rulec inspect` found.
pub struct Inspection {
    pub header: Header,
    pub program: Program,
    pub signature: SignatureCheck,
    /// With `--trust`: whether a trusted key signed it.
    pub trusted: Option<bool>,
}

impl Inspection {
    /// Whether the bundle passes: a valid signature, and a trusted signer when keys were given.
    pub fn ok(&self) -> bool {
        match self.signature {
            SignatureCheck::Invalid => false,
            SignatureCheck::Unsigned => self.trusted.is_none(),
            SignatureCheck::Valid(_) => self.trusted != Some(false),
        }
    }
}

/// Reads a bundle, checking everything the agent checks except the trust decision (reported).
pub fn inspect(
    bytes: &[u8],
    trust: &[lanner_bundle::VerifyingKey],
) -> Result<Inspection, lanner_bundle::BundleError> {
    let s = lanner_bundle::sections(bytes)?;
    let signature = s.check_signature()?;
    let header = s.header()?;
    let program = s.program(&header)?;
    let trusted = (!trust.is_empty()).then(|| match signature {
        SignatureCheck::Valid(k) => trust.contains(&k),
        _ => false,
    });
    Ok(Inspection {
        header,
        program,
        signature,
        trusted,
    })
}

fn signer_json(s: &SignatureCheck) -> serde_json::Value {
    match s {
        SignatureCheck::Unsigned => serde_json::json!({"status": "unsigned"}),
        SignatureCheck::Invalid => serde_json::json!({"status": "invalid"}),
        SignatureCheck::Valid(k) => serde_json::json!({
            "status": "valid",
            "fingerprint": lanner_bundle::fingerprint(k),
            "public_key": hex(k.as_bytes()),
        }),
    }
}

/// `rulec inspect --format json`.
pub fn json(i: &Inspection) -> serde_json::Value {
    let h = &i.header;
    serde_json::json!({
        "format_version": lanner_bundle::FORMAT_VERSION,
        "lanner_version": h.lanner_version,
        "schema_hash": format!("{:#018x}", h.schema_hash),
        "program_format": h.program_format,
        "content_hash": hex(&h.content_hash),
        "created": h.created,
        "name": h.name,
        "revision": h.revision,
        "sources": h.sources.iter().map(|s| serde_json::json!({
            "name": s.name,
            "sha256": hex(&s.sha256),
        })).collect::<Vec<_>>(),
        "signature": signer_json(&i.signature),
        "trusted": i.trusted,
        "verified": i.ok(),
        "rules": i.program.rules.iter().map(|r| serde_json::json!({
            "name": r.name,
            "priority": r.priority.as_str(),
            "enabled": r.enabled,
            "source": r.source.as_str(),
            "tags": r.tags,
        })).collect::<Vec<_>>(),
    })
}

/// `rulec inspect` as text.
pub fn text(i: &Inspection) -> String {
    use std::fmt::Write as _;
    let h = &i.header;
    let mut out = String::new();
    let _ = writeln!(out, "format version: {}", lanner_bundle::FORMAT_VERSION);
    let _ = writeln!(out, "lanner version: {}", h.lanner_version);
    let _ = writeln!(out, "schema hash:    {:#018x}", h.schema_hash);
    let _ = writeln!(out, "content hash:   {}", hex(&h.content_hash));
    if let Some(c) = h.created {
        let _ = writeln!(out, "created:        {c} (unix seconds)");
    }
    if let Some(n) = &h.name {
        let _ = writeln!(out, "name:           {n}");
    }
    if let Some(r) = &h.revision {
        let _ = writeln!(out, "revision:       {r}");
    }
    let signer = match &i.signature {
        SignatureCheck::Unsigned => "unsigned".to_owned(),
        SignatureCheck::Invalid => "INVALID signature".to_owned(),
        SignatureCheck::Valid(k) => format!("{} (signature valid)", lanner_bundle::fingerprint(k)),
    };
    let _ = writeln!(out, "signer:         {signer}");
    if let Some(t) = i.trusted {
        let _ = writeln!(
            out,
            "trusted:        {}",
            if t {
                "yes"
            } else {
                "NO: no --trust key signed it"
            }
        );
    }
    let _ = writeln!(out, "sources:");
    for s in &h.sources {
        let _ = writeln!(out, "  {}  {}", hex(&s.sha256), s.name);
    }
    let enabled = i.program.rules.iter().filter(|r| r.enabled).count();
    let _ = writeln!(out, "rules: {} ({enabled} enabled)", i.program.rules.len());
    for r in &i.program.rules {
        let _ = writeln!(
            out,
            "  {:<13} {}{}",
            r.priority.as_str(),
            r.name,
            if r.enabled { "" } else { " (disabled)" }
        );
    }
    out
}
