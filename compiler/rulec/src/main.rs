//! The `rulec` command.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use rulec::{check, doc, explain, fmt, render};

// The front end allocates many small, short-lived nodes (YAML trees, condition ASTs, typed
// expressions) and frees them on every check; the language server does so on every edit.
// mimalloc halves the time glibc's allocator takes there (lsp/examples/bench, same run).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "rulec",
    version,
    about = "The Lanner rule compiler: checks Falco rule files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
    Markdown,
}

/// `--engine`: which engine decides matches.
#[derive(Clone, Copy, ValueEnum)]
enum EngineArg {
    /// Cranelift-compiled conditions (the interpreter, with a warning, where they do not compile).
    Jit,
    /// The reference interpreter.
    Interp,
}

#[derive(Clone, Copy, ValueEnum)]
enum TestFormat {
    Human,
    Json,
    Junit,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExplainFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum FmtFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check and compile rules files into a bundle (`.lnb`) the agent loads without compiling.
    Build {
        /// Rules files, loaded together in this order; a folder stands for its `*.yaml`/`*.yml`
        /// files in sorted order (not its sub-folders), as in Falco.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The bundle to write (replaced atomically).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Sign with this private key (from `rulec keygen`).
        #[arg(long)]
        sign: Option<PathBuf>,
        /// A name label recorded in the header.
        #[arg(long)]
        name: Option<String>,
        /// A revision label recorded in the header (a commit, a release).
        #[arg(long)]
        revision: Option<String>,
        /// Record the creation time (a build is otherwise reproducible: same inputs, same bytes).
        #[arg(long)]
        timestamp: bool,
        #[arg(long, value_enum, default_value = "human")]
        format: FmtFormat,
    },
    /// Write a new Ed25519 key pair: the private key `NAME` (mode 0600) and `NAME.pub`.
    Keygen {
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Show a bundle's header, rules and signer, and verify it.
    Inspect {
        bundle: PathBuf,
        /// Public keys to check the signer against (as `lanner --trust`).
        #[arg(long, num_args = 1..)]
        trust: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: ExplainFormat,
    },
    /// Format rules files in place: conditions one `and`/`or` operand per line, lists filled.
    Fmt {
        /// Rules files or folders (their `*.yaml`/`*.yml` files, as Falco loads a folder) to
        /// format; `-` reads standard input and writes the result to standard output.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Change nothing; exit 1 with a diff when a file is not formatted.
        #[arg(long)]
        check: bool,
        #[arg(long, value_enum, default_value = "human")]
        format: FmtFormat,
    },
    /// Run rule tests (`*.test.yaml`) without a kernel.
    Test {
        /// Test files, or directories searched for `*.test.yaml`.
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        format: TestFormat,
        /// Fail when the overall branch coverage is below this percentage.
        #[arg(long = "min-coverage")]
        min_coverage: Option<f64>,
        /// The engine that decides matches; with `jit` every case also holds the JIT to the
        /// interpreter (coverage is always the interpreter's traced evaluation).
        #[arg(long, value_enum, default_value = "jit")]
        engine: EngineArg,
    },
    /// List the fields conditions and outputs may use (like `falco --list`).
    Fields {
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Write a Markdown reference of the rules (threat, ATT&CK ids, fields, allow-lists).
    Doc {
        /// Rules files, loaded together in this order; a folder stands for its `*.yaml`/`*.yml`
        /// files in sorted order (not its sub-folders), as in Falco.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show what a rule compiles to: expanded condition, macros, output.
    Explain {
        /// The rule's name.
        rule: String,
        /// Rules files, loaded together in this order; a folder stands for its `*.yaml`/`*.yml`
        /// files in sorted order (not its sub-folders), as in Falco.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: ExplainFormat,
    },
    /// Run the language server over stdin/stdout (for editors).
    Lsp {
        /// Accepted for clients that pass it; stdio is the only transport.
        #[arg(long)]
        stdio: bool,
    },
    /// Report every problem of every rules file in one run.
    Check {
        /// Rules files, loaded together in this order; a folder stands for its `*.yaml`/`*.yml`
        /// files in sorted order (not its sub-folders), as in Falco.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Do not show warnings in human output.
        #[arg(long)]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // clap exits 0 for --help/--version and 2 for usage errors.
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match cli.command {
        Command::Build {
            files,
            output,
            sign,
            name,
            revision,
            timestamp,
            format,
        } => run_build(
            &files,
            &output,
            sign.as_deref(),
            &rulec::bundle::BuildOptions {
                name,
                revision,
                timestamp,
            },
            format,
        ),
        Command::Keygen { output } => match lanner_bundle::keys::generate(&output) {
            Ok(key) => {
                eprintln!(
                    "wrote private key {} (keep it secret) and public key {}: {}",
                    output.display(),
                    lanner_bundle::keys::public_path(&output).display(),
                    lanner_bundle::fingerprint(&key)
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        Command::Inspect {
            bundle,
            trust,
            format,
        } => run_inspect(&bundle, &trust, format),
        Command::Test {
            paths,
            format,
            min_coverage,
            engine,
        } => {
            let engine = match engine {
                EngineArg::Jit => lanner_ruletest::runner::Engine::Jit,
                EngineArg::Interp => lanner_ruletest::runner::Engine::Interp,
            };
            run_test(&paths, format, min_coverage, engine)
        }
        Command::Fields { format } => {
            let f = match format {
                ListFormat::Text => lanner_schema::ListingFormat::Text,
                ListFormat::Json => lanner_schema::ListingFormat::Json,
                ListFormat::Markdown => lanner_schema::ListingFormat::Markdown,
            };
            print!("{}", lanner_schema::render(f));
            ExitCode::SUCCESS
        }
        Command::Doc { files } => run_doc(&files),
        Command::Explain {
            rule,
            files,
            format,
        } => run_explain(&rule, &files, format),
        Command::Check {
            files,
            format,
            quiet,
        } => run_check(&files, format, quiet),
        Command::Lsp { stdio: _ } => match lanner_lsp::serve_stdio() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot start the language server: {e}");
                ExitCode::from(2)
            }
        },
        Command::Fmt {
            files,
            check,
            format,
        } => run_fmt(&files, check, format),
    }
}

fn run_build(
    paths: &[PathBuf],
    output: &std::path::Path,
    sign: Option<&std::path::Path>,
    options: &rulec::bundle::BuildOptions,
    format: FmtFormat,
) -> ExitCode {
    // The key first: a typo in its path should not cost a compile.
    let key = match sign.map(lanner_bundle::keys::read_secret).transpose() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let sources = match read_sources(paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (bytes, program) = match rulec::bundle::build(sources, options, key.as_ref()) {
        Ok(b) => b,
        Err(rulec::bundle::BuildFailure::Rules(d)) => {
            render::human_stderr(&d.db, &d.diagnostics, std::io::stderr().is_terminal());
            let errors = d.diagnostics.iter().filter(|d| d.is_error()).count();
            eprintln!("error: the rules have {errors} error(s); no bundle written");
            return ExitCode::from(1);
        }
        Err(rulec::bundle::BuildFailure::Bundle(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = rulec::bundle::write_atomically(output, &bytes) {
        eprintln!("error: cannot write `{}`: {e}", output.display());
        return ExitCode::from(1);
    }
    let signer = key
        .as_ref()
        .map(|k| lanner_bundle::fingerprint(&k.verifying_key()));
    match format {
        FmtFormat::Human => eprintln!(
            "wrote {}: {} rule(s), {} bytes, {}",
            output.display(),
            program.rules.len(),
            bytes.len(),
            signer.map_or_else(|| "unsigned".to_owned(), |s| format!("signed by {s}"))
        ),
        FmtFormat::Json => println!(
            "{}",
            serde_json::json!({
                "output": output.display().to_string(),
                "rules": program.rules.len(),
                "bytes": bytes.len(),
                "signer": signer,
            })
        ),
    }
    ExitCode::SUCCESS
}

fn run_inspect(path: &std::path::Path, trust: &[PathBuf], format: ExplainFormat) -> ExitCode {
    let mut keys = Vec::new();
    for t in trust {
        match lanner_bundle::keys::read_public(t) {
            Ok(k) => keys.push(k),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read bundle `{}`: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    let inspection = match rulec::bundle::inspect(&bytes, &keys) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: `{}`: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    match format {
        ExplainFormat::Text => print!("{}", rulec::bundle::text(&inspection)),
        ExplainFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&rulec::bundle::json(&inspection)).unwrap_or_default()
        ),
    }
    if inspection.ok() {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: `{}` does not verify", path.display());
        ExitCode::from(1)
    }
}

/// Reads rules files; on failure prints the error and returns the exit code to use.
fn read_sources(paths: &[PathBuf]) -> Result<Vec<(String, String)>, ExitCode> {
    let paths = rulec::paths::expand(paths).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })?;
    let mut sources = Vec::new();
    for p in &paths {
        match std::fs::read(p) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => sources.push((p.display().to_string(), text)),
                Err(e) => {
                    eprintln!(
                        "error: `{}` is not UTF-8 text (invalid byte at offset {})",
                        p.display(),
                        e.utf8_error().valid_up_to()
                    );
                    return Err(ExitCode::from(2));
                }
            },
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", p.display());
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok(sources)
}

fn run_doc(paths: &[PathBuf]) -> ExitCode {
    let sources = match read_sources(paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let checked = check::check_sources(sources);
    if checked.has_errors() {
        render::human_stderr(
            &checked.db,
            &checked.diagnostics,
            std::io::stderr().is_terminal(),
        );
        return ExitCode::from(1);
    }
    print!("{}", doc::markdown(&checked));
    ExitCode::SUCCESS
}

fn run_explain(rule: &str, paths: &[PathBuf], format: ExplainFormat) -> ExitCode {
    let sources = match read_sources(paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let checked = check::check_sources(sources);
    let found = match format {
        ExplainFormat::Text => explain::text(&checked, rule).map(|t| print!("{t}")),
        ExplainFormat::Json => explain::json(&checked, rule).map(|v| {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }),
    };
    match found {
        Some(()) => ExitCode::SUCCESS,
        None => {
            eprintln!("error: no rule named `{rule}` in the given files");
            let similar = explain::similar(&checked, rule);
            if !similar.is_empty() {
                eprintln!("help: rules with similar names: {}", similar.join(", "));
            }
            ExitCode::from(2)
        }
    }
}

fn run_fmt(paths: &[PathBuf], check: bool, format: FmtFormat) -> ExitCode {
    let report = if paths.len() == 1 && paths.first().is_some_and(|p| p.as_os_str() == "-") {
        let mut text = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
            eprintln!("error: cannot read standard input: {e}");
            return ExitCode::from(2);
        }
        let (report, out) = fmt::run_stdin(text, check);
        if let Some(out) = out {
            print!("{out}");
            // The text is the output; only problems go to stderr.
            let (_, err) = fmt::human(&report);
            if report.exit_code() != 0 {
                eprint!("{err}");
            }
            return ExitCode::from(report.exit_code());
        }
        report
    } else {
        // Folders stand for their rules files as Falco lists them; rule test files
        // (`*.test.yaml`) in a folder are not rules files.
        let mut files = Vec::new();
        for p in paths {
            match rulec::paths::expand(std::slice::from_ref(p)) {
                Ok(found) if p.is_dir() => files.extend(
                    found
                        .into_iter()
                        .filter(|f| !f.to_string_lossy().ends_with(".test.yaml")),
                ),
                Ok(found) => files.extend(found),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        fmt::run(&files, check)
    };
    match format {
        FmtFormat::Human => {
            let (out, err) = fmt::human(&report);
            print!("{out}");
            eprint!("{err}");
        }
        FmtFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&fmt::json(&report)).unwrap_or_default()
        ),
    }
    ExitCode::from(report.exit_code())
}

fn run_check(paths: &[PathBuf], format: Format, quiet: bool) -> ExitCode {
    let sources = match read_sources(paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let result = check::check_sources(sources);
    match format {
        Format::Human => {
            let shown: Vec<_> = result
                .diagnostics
                .iter()
                .filter(|d| !quiet || d.is_error())
                .cloned()
                .collect();
            render::human_stderr(&result.db, &shown, std::io::stderr().is_terminal());
            let errors = result.diagnostics.iter().filter(|d| d.is_error()).count();
            let warnings = result.diagnostics.len() - errors;
            let items: usize = result.files.iter().map(|f| f.rules.items.len()).sum();
            eprintln!(
                "checked {} file(s), {items} item(s): {errors} error(s), {warnings} warning(s)",
                result.files.len()
            );
        }
        Format::Json => {
            // `diagnostics` as `render::json` writes them, and per rule its kernel part: what
            // the in-kernel prefilter decides and the checks it cannot (issue 11).
            let mut v: serde_json::Value =
                serde_json::from_str(&render::json(&result.db, &result.diagnostics))
                    .unwrap_or_default();
            if !result.has_errors() {
                let kernel: Vec<serde_json::Value> = result
                    .resolved
                    .rules
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "rule": r.name,
                            "events": explain::kernel(&result, &r.name),
                        })
                    })
                    .collect();
                if let Some(o) = v.as_object_mut() {
                    o.insert("kernel".into(), serde_json::Value::Array(kernel));
                }
            }
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        Format::Sarif => println!("{}", render::sarif(&result.db, &result.diagnostics)),
    }
    if result.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn find_tests(path: &std::path::Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(path)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.file_name()
                .is_some_and(|n| n == "target" || n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            find_tests(&p, out)?;
        } else if p.to_string_lossy().ends_with(".test.yaml") {
            out.push(p);
        }
    }
    Ok(())
}

fn run_test(
    paths: &[PathBuf],
    format: TestFormat,
    min_coverage: Option<f64>,
    engine: lanner_ruletest::runner::Engine,
) -> ExitCode {
    let mut files = Vec::new();
    for p in paths {
        if let Err(e) = find_tests(p, &mut files) {
            eprintln!("error: cannot read `{}`: {e}", p.display());
            return ExitCode::from(2);
        }
    }
    if files.is_empty() {
        eprintln!("error: no `*.test.yaml` files found");
        return ExitCode::from(2);
    }
    let reports: Vec<_> = files
        .iter()
        .map(|f| lanner_ruletest::runner::run_file(f, engine))
        .collect();
    for r in &reports {
        for n in &r.notes {
            eprintln!("{n}");
        }
        if !r.diagnostics.is_empty() {
            render::human_stderr(&r.db, &r.diagnostics, std::io::stderr().is_terminal());
        }
    }
    match format {
        TestFormat::Human => print!("{}", lanner_ruletest::report::text(&reports)),
        TestFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&lanner_ruletest::report::json(&reports))
                .unwrap_or_default()
        ),
        TestFormat::Junit => print!("{}", lanner_ruletest::report::junit(&reports)),
    }
    let failed = reports.iter().any(|r| r.failed());
    let coverage = lanner_ruletest::report::overall_coverage(&reports);
    // No operand measured is not full coverage: a required minimum then fails.
    let low = match (min_coverage, coverage) {
        (Some(m), Some(c)) if c < m => {
            eprintln!("error: coverage {c:.1}% is below the required {m:.1}%");
            true
        }
        (Some(_), None) => {
            eprintln!(
                "error: the rules have no `and`/`or` operand, so coverage cannot be measured"
            );
            true
        }
        _ => false,
    };
    if failed || low {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
