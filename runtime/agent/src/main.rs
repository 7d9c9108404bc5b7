//! The `lanner` command.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use lanner::replay::{self, Format, Summary};
use lanner_engine::ruleset::{RuleMatching, RuleSet};
use lanner_state::ContainerMatcher;

#[derive(Parser)]
#[command(
    name = "lanner",
    version,
    about = "Lanner: runtime security with Falco rules"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Json,
    Text,
}

#[derive(Clone, Copy, ValueEnum)]
enum Matching {
    First,
    All,
}

#[derive(Clone, Copy, ValueEnum)]
enum Containers {
    /// As Falco's container plugin: 64- and 32-hex-digit cgroup ids are containers.
    Falco,
    /// Only 64-hex-digit ids (docker, containerd, cri-o) are containers.
    Runtimes,
    /// Every process is on the host.
    None,
}

#[derive(Subcommand)]
enum Command {
    /// Run rules over scap captures and print one alert per line.
    Replay {
        /// Rules files (`.yaml`/`.yml`), loaded together in this order.
        #[arg(long = "rules", required = true, num_args = 1..)]
        rules: Vec<PathBuf>,
        /// Captures, replayed one after the other. (`--rules a.yaml b.yaml c.scap` works too:
        /// what follows `--rules` and is not YAML is a capture.)
        captures: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "json")]
        format: OutFormat,
        #[arg(long = "rule-matching", value_enum, default_value = "first")]
        rule_matching: Matching,
        /// Do not append the container fields Falco suggests to every output.
        #[arg(long)]
        no_suggested_output: bool,
        #[arg(long, value_enum, default_value = "falco")]
        containers: Containers,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match cli.command {
        Command::Replay {
            mut rules,
            mut captures,
            format,
            rule_matching,
            no_suggested_output,
            containers,
        } => {
            // `--rules` takes every following value; the ones that are not rule files are the
            // captures of `lanner replay --rules FILE... CAPTURE...`.
            let is_yaml = |p: &PathBuf| {
                p.extension().is_some_and(|e| {
                    e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml")
                })
            };
            let (r, c): (Vec<PathBuf>, Vec<PathBuf>) = rules.into_iter().partition(is_yaml);
            rules = r;
            captures.splice(0..0, c);
            if rules.is_empty() || captures.is_empty() {
                eprintln!(
                    "error: `lanner replay` needs `--rules FILE.yaml...` and at least one capture"
                );
                return ExitCode::from(2);
            }
            run_replay(
                &rules,
                &captures,
                format,
                rule_matching,
                !no_suggested_output,
                containers,
            )
        }
    }
}

fn run_replay(
    rule_files: &[PathBuf],
    captures: &[PathBuf],
    format: OutFormat,
    matching: Matching,
    suggested_output: bool,
    containers: Containers,
) -> ExitCode {
    let mut sources = Vec::new();
    for p in rule_files {
        match std::fs::read_to_string(p) {
            Ok(t) => sources.push((p.display().to_string(), t)),
            Err(e) => {
                eprintln!("error: cannot read rules `{}`: {e}", p.display());
                return ExitCode::from(2);
            }
        }
    }
    let checked = lanner_check::driver::check_sources(sources);
    if checked.has_errors() {
        let errors: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        rulec::render::human_stderr(&checked.db, &errors, std::io::stderr().is_terminal());
        eprintln!(
            "error: the rules have {} error(s); nothing was replayed",
            errors.len()
        );
        return ExitCode::from(1);
    }
    let (rules, fields) =
        lanner_lower::compile_rules(&checked, lanner_lower::OutputOptions { suggested_output });
    let (ruleset, unsupported) = RuleSet::new(rules, fields);
    for (f, why) in &unsupported {
        eprintln!(
            "warning: field `{}` is not extracted yet ({why}); it reads as <NA>",
            f.field
        );
    }
    let matching = match matching {
        Matching::First => RuleMatching::First,
        Matching::All => RuleMatching::All,
    };
    let matcher = match containers {
        Containers::Falco => ContainerMatcher::falco(),
        Containers::Runtimes => ContainerMatcher::runtimes_only(),
        Containers::None => ContainerMatcher::disabled(),
    };
    let format = match format {
        OutFormat::Json => Format::Json,
        OutFormat::Text => Format::Text,
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut summary = Summary::default();
    let started = std::time::Instant::now();
    for capture in captures {
        let len = std::fs::metadata(capture).map(|m| m.len()).unwrap_or(0);
        let bar = if std::io::stderr().is_terminal() && len > 16 << 20 {
            let bar = indicatif::ProgressBar::new(len);
            bar.set_message(capture.display().to_string());
            Some(bar)
        } else {
            None
        };
        let mut progress = |done: u64| {
            if let Some(b) = &bar {
                b.set_position(done.min(len));
            }
        };
        let options = replay::Options {
            matching,
            matcher: matcher.clone(),
            format,
        };
        if let Err(e) = replay::replay_capture(
            capture,
            &ruleset,
            &options,
            &mut out,
            &mut summary,
            &mut progress,
        ) {
            let _ = out.flush();
            if let Some(b) = bar {
                b.abandon();
            }
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
    }
    let _ = out.flush();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "replayed {} event(s) from {} capture(s) in {secs:.2} s with {} rule(s): {} alert(s)",
        summary.events,
        captures.len(),
        ruleset.rules.len(),
        summary.alerts
    );
    for (p, n) in &summary.by_priority {
        eprintln!("  {p}: {n}");
    }
    for (r, n) in &summary.by_rule {
        eprintln!("  {r}: {n}");
    }
    ExitCode::SUCCESS
}
