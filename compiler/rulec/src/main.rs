//! The `rulec` command.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use rulec::{check, render};

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

#[derive(Subcommand)]
enum Command {
    /// Report every problem of every rules file in one run.
    Check {
        /// Rules files, loaded together in this order.
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
        Command::Check {
            files,
            format,
            quiet,
        } => run_check(&files, format, quiet),
    }
}

fn run_check(paths: &[PathBuf], format: Format, quiet: bool) -> ExitCode {
    let mut sources = Vec::new();
    for p in paths {
        match std::fs::read(p) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => sources.push((p.display().to_string(), text)),
                Err(e) => {
                    eprintln!(
                        "error: `{}` is not UTF-8 text (invalid byte at offset {})",
                        p.display(),
                        e.utf8_error().valid_up_to()
                    );
                    return ExitCode::from(2);
                }
            },
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", p.display());
                return ExitCode::from(2);
            }
        }
    }
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
        Format::Json => println!("{}", render::json(&result.db, &result.diagnostics)),
        Format::Sarif => println!("{}", render::sarif(&result.db, &result.diagnostics)),
    }
    if result.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
