//! Where the agent's program comes from: rules files (compiled here), a bundle (verified and
//! decoded, the front end skipped), or the built-in bundle of Lanner's own rules (compiled by
//! `build.rs` when the binary is built). [`Loader::load`] turns any of them, with the rule
//! selection and thresholds applied, into the engine's `RuleSet`; it is what `lanner run`
//! calls again on a reload, off the event path.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use lanner_bundle::{Signer, Trust};
use lanner_engine::ruleset::{Priority, RuleSet};
use lanner_program::Program;

use crate::select::{Legacy, Selection};

/// Lanner's own rules (`stdlib-rules/lanner_rules.yaml`), compiled into an unsigned bundle when
/// the binary was built: it is trusted as the binary itself is.
pub static BUILTIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/stdlib.lnb"));

/// The rules to run.
#[derive(Clone, Debug)]
pub enum Origin {
    /// Rules files or folders, loaded together in order.
    Files(Vec<PathBuf>),
    /// A bundle from `rulec build`.
    Bundle(PathBuf),
    /// The built-in bundle.
    BuiltIn,
}

impl Origin {
    /// The files a change of which means a reload (the bundle, or every rules file).
    pub fn watched(&self) -> Vec<PathBuf> {
        match self {
            Origin::Files(paths) => paths.clone(),
            Origin::Bundle(p) => vec![p.clone()],
            Origin::BuiltIn => Vec::new(),
        }
    }

    /// The rules files for the metrics' per-file hashes.
    pub fn files(&self) -> Vec<PathBuf> {
        match self {
            Origin::Files(paths) => lanner_check::paths::expand(paths).unwrap_or_default(),
            Origin::Bundle(p) => vec![p.clone()],
            Origin::BuiltIn => Vec::new(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Origin::Files(paths) => paths
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", "),
            Origin::Bundle(p) => format!("bundle `{}`", p.display()),
            Origin::BuiltIn => "the built-in rules".to_owned(),
        }
    }
}

/// Why no program could be loaded; the message is complete (diagnostics were printed).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Paths(String),
    #[error("cannot read rules `{path}`: {source}")]
    ReadRules {
        path: String,
        source: std::io::Error,
    },
    #[error("the rules have {0} error(s)")]
    Rules(usize),
    #[error("cannot read bundle `{path}`: {source}")]
    ReadBundle {
        path: String,
        source: std::io::Error,
    },
    #[error("refusing bundle `{path}`: {source}")]
    Bundle {
        path: String,
        source: lanner_bundle::BundleError,
    },
    #[error("the built-in rules do not load ({0}): the binary is broken")]
    BuiltIn(lanner_bundle::BundleError),
    #[error("{0}")]
    Select(#[from] crate::select::SelectError),
    #[error("cannot read trusted key: {0}")]
    Key(#[from] lanner_bundle::KeyError),
}

impl LoadError {
    /// 2 for usage and I/O problems, as before bundles; 1 for rules and bundles refused.
    pub fn exit_code(&self) -> u8 {
        match self {
            LoadError::Paths(_) | LoadError::ReadRules { .. } => 2,
            _ => 1,
        }
    }
}

/// Everything that turns an origin into a rule set; `Send + Sync`, so a reload thread owns one.
#[derive(Clone, Debug)]
pub struct Loader {
    pub origin: Origin,
    pub trust: Trust,
    pub selections: Vec<Selection>,
    pub legacy: Legacy,
    pub threshold: Priority,
    pub suggested_output: bool,
    /// Which engine decides matches.
    pub engine: Engine,
}

/// `--engine`: the Cranelift JIT (the default), or the reference interpreter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// Compiled conditions; the interpreter, with a warning, where they do not compile.
    #[default]
    Jit,
    Interp,
}

/// A loaded rule set and what the caller reports about it.
pub struct Loaded {
    pub ruleset: RuleSet,
    /// The rules' kernel part (the `--prefilter rules` formulas), lowered from the program.
    pub kernel: lanner_ebpf::filter::KernelFilter,
    /// Lines for stderr: selection messages, unsupported fields, an untrusted bundle.
    pub notes: Vec<String>,
}

/// Reads `--trust` key files.
pub fn read_trust(paths: &[PathBuf], allow_unsigned: bool) -> Result<Trust, LoadError> {
    let keys = paths
        .iter()
        .map(|p| lanner_bundle::keys::read_public(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Trust {
        keys,
        allow_unsigned,
    })
}

/// Reads and compiles rules files, printing diagnostics to stderr.
fn compile_files(paths: &[PathBuf]) -> Result<Program, LoadError> {
    let files = lanner_check::paths::expand(paths).map_err(|e| LoadError::Paths(e.to_string()))?;
    let mut sources = Vec::new();
    for p in &files {
        let text = std::fs::read_to_string(p).map_err(|source| LoadError::ReadRules {
            path: p.display().to_string(),
            source,
        })?;
        sources.push((p.display().to_string(), text));
    }
    lanner_check::driver::compile(sources).map_err(|failed| {
        let errors: Vec<_> = failed.errors().cloned().collect();
        lanner_check::render::human_stderr(&failed.db, &errors, std::io::stderr().is_terminal());
        LoadError::Rules(errors.len())
    })
}

/// Reads and verifies a bundle file.
pub fn read_bundle(path: &Path, trust: &Trust) -> Result<lanner_bundle::Bundle, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::ReadBundle {
        path: path.display().to_string(),
        source,
    })?;
    lanner_bundle::load(&bytes, trust).map_err(|source| LoadError::Bundle {
        path: path.display().to_string(),
        source,
    })
}

/// The built-in bundle's program.
pub fn builtin() -> Result<Program, LoadError> {
    let trust = Trust {
        keys: Vec::new(),
        allow_unsigned: true,
    };
    lanner_bundle::load(BUILTIN, &trust)
        .map(|b| b.program)
        .map_err(LoadError::BuiltIn)
}

impl Loader {
    /// The origin's program, verified, before selection.
    pub fn program(&self, notes: &mut Vec<String>) -> Result<Program, LoadError> {
        match &self.origin {
            Origin::Files(paths) => compile_files(paths),
            Origin::BuiltIn => builtin(),
            Origin::Bundle(path) => {
                let b = read_bundle(path, &self.trust)?;
                match b.signer {
                    Signer::Trusted(_) => {}
                    Signer::Untrusted(k) => notes.push(format!(
                        "WARNING: `--allow-unsigned`: loading `{}` signed by `{}`, a key no `--trust` names; never do this in production",
                        path.display(),
                        lanner_bundle::fingerprint(&k)
                    )),
                    Signer::Unsigned => notes.push(format!(
                        "WARNING: `--allow-unsigned`: loading UNSIGNED bundle `{}`; never do this in production",
                        path.display()
                    )),
                }
                Ok(b.program)
            }
        }
    }

    /// The origin's program with the rule selection and threshold applied.
    pub fn selected(&self, notes: &mut Vec<String>) -> Result<Program, LoadError> {
        let mut program = self.program(notes)?;
        let applied = crate::select::apply_to_program(
            &mut program,
            &self.selections,
            &self.legacy,
            self.threshold,
        )?;
        notes.extend(applied.messages);
        Ok(program)
    }

    /// The engine's rule set for the origin.
    pub fn load(&self) -> Result<Loaded, LoadError> {
        let mut notes = Vec::new();
        let program = self.selected(&mut notes)?;
        let (mut ruleset, unsupported) = RuleSet::from_program(
            &program,
            lanner_engine::program::OutputOptions {
                suggested_output: self.suggested_output,
            },
        );
        for (f, why) in &unsupported {
            notes.push(format!(
                "warning: field `{}` is not extracted yet ({why}); it reads as <NA>",
                f.text
            ));
        }
        resolve_host_names(&mut ruleset, &mut notes);
        if self.engine == Engine::Jit
            && let Err(e) = lanner_jit::Jit::install(&program, &mut ruleset)
        {
            notes.push(format!("warning: {e}; the rules run on the interpreter"));
        }
        let kernel =
            lanner_ebpf::filter::KernelFilter::from_lowered(&lanner_prefilter::lower(&program));
        Ok(Loaded {
            ruleset,
            kernel,
            notes,
        })
    }
}

/// `fd.*ip.name` compares addresses with the rules' host names as the system resolves them
/// (/etc/hosts, DNS), refreshed in the background on Falco's schedule; the refresh thread ends
/// once the rule set is dropped (a reload replaces it).
fn resolve_host_names(ruleset: &mut RuleSet, notes: &mut Vec<String>) {
    let names = ruleset.host_names();
    if names.is_empty() {
        return;
    }
    let resolver = lanner_state::SystemResolver;
    let table = ruleset.resolve_host_names(&resolver);
    if let Err(e) = lanner_state::hostnames::spawn_refresh(table, names, resolver) {
        notes.push(format!("warning: host names will not be refreshed: {e}"));
    }
}
