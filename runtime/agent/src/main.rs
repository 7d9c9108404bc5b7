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
    /// Write what the live agent sees as a scap capture (root).
    Capture {
        /// The capture to write.
        #[arg(short = 'w', long = "write")]
        write: PathBuf,
        /// Stop after this many seconds (default: until SIGINT or SIGTERM).
        #[arg(long)]
        duration: Option<f64>,
    },
    /// Watch this machine live (root): eBPF programs, the rules' prefilter, alerts as replay.
    Run {
        /// Rules files, loaded together in this order; a folder stands for its `*.yaml`/`*.yml`
        /// files in sorted order (not its sub-folders), as in Falco.
        #[arg(long = "rules", required = true, num_args = 1..)]
        rules: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "json")]
        format: OutFormat,
        #[arg(long = "rule-matching", value_enum, default_value = "first")]
        rule_matching: Matching,
        /// Do not append the container fields Falco suggests to every output.
        #[arg(long)]
        no_suggested_output: bool,
        #[arg(long, value_enum, default_value = "falco")]
        containers: Containers,
        /// Stop after this many seconds (default: until SIGINT or SIGTERM).
        #[arg(long)]
        duration: Option<f64>,
    },
    /// Run rules over scap captures and print one alert per line.
    Replay {
        /// Rules files (`.yaml`/`.yml`) or folders of them, loaded together in this order.
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
        Command::Capture { write, duration } => run_capture(&write, duration),
        Command::Run {
            rules,
            format,
            rule_matching,
            no_suggested_output,
            containers,
            duration,
        } => run_live(
            &rules,
            format,
            rule_matching,
            !no_suggested_output,
            containers,
            duration,
        ),
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
                p.is_dir()
                    || p.extension().is_some_and(|e| {
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

/// Loads and checks rules files; on errors prints them and returns the exit code.
fn load_rules(rule_files: &[PathBuf], suggested_output: bool) -> Result<RuleSet, ExitCode> {
    let rule_files = match rulec::paths::expand(rule_files) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(ExitCode::from(2));
        }
    };
    let mut sources = Vec::new();
    for p in &rule_files {
        match std::fs::read_to_string(p) {
            Ok(t) => sources.push((p.display().to_string(), t)),
            Err(e) => {
                eprintln!("error: cannot read rules `{}`: {e}", p.display());
                return Err(ExitCode::from(2));
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
        eprintln!("error: the rules have {} error(s)", errors.len());
        return Err(ExitCode::from(1));
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
    Ok(ruleset)
}

fn matcher_of(containers: Containers) -> ContainerMatcher {
    match containers {
        Containers::Falco => ContainerMatcher::falco(),
        Containers::Runtimes => ContainerMatcher::runtimes_only(),
        Containers::None => ContainerMatcher::disabled(),
    }
}

fn run_capture(path: &std::path::Path, duration: Option<f64>) -> ExitCode {
    if let Err(e) = lanner::live::preflight() {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    // Every syscall the converter turns into an event.
    let syscalls = lanner::interest::syscalls(&Default::default(), true);
    let result = lanner::capture::capture(
        path,
        &syscalls,
        duration.map(std::time::Duration::from_secs_f64),
        &mut |stats| {
            eprintln!(
                "lanner: capturing to {} ({} process(es), {} fd(s) from /proc)",
                path.display(),
                stats.processes,
                stats.fds
            );
        },
    );
    match result {
        Ok(s) => {
            eprintln!(
                "lanner: wrote {} event(s) to {}, {} dropped",
                s.events,
                path.display(),
                s.drops
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run_live(
    rule_files: &[PathBuf],
    format: OutFormat,
    matching: Matching,
    suggested_output: bool,
    containers: Containers,
    duration: Option<f64>,
) -> ExitCode {
    if let Err(e) = lanner::live::preflight() {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    let ruleset = match load_rules(rule_files, suggested_output) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let codes: std::collections::BTreeSet<u16> = ruleset
        .rules
        .iter()
        .flat_map(|r| r.event_codes.iter().copied())
        .collect();
    let any = ruleset.rules.iter().any(|r| r.any_event);
    let syscalls = lanner::interest::syscalls(&codes, any);
    let options = lanner::live::LiveOptions {
        matching: match matching {
            Matching::First => RuleMatching::First,
            Matching::All => RuleMatching::All,
        },
        matcher: matcher_of(containers),
        format: match format {
            OutFormat::Json => Format::Json,
            OutFormat::Text => Format::Text,
        },
        duration: duration.map(std::time::Duration::from_secs_f64),
        include_self: false,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let rules = ruleset.rules.len();
    let n = syscalls.len();
    let result = lanner::live::run(&ruleset, &syscalls, &options, &mut out, &mut |stats| {
        eprintln!(
            "lanner: watching {n} syscall(s) with {rules} rule(s); {} process(es), {} fd(s) from /proc",
            stats.processes, stats.fds
        );
    });
    match result {
        Ok(s) => {
            eprintln!(
                "lanner: stopped after {} event(s), {} alert(s), {} dropped, {} malformed",
                s.alerts.events, s.alerts.alerts, s.drops, s.malformed
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
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
    let ruleset = match load_rules(rule_files, suggested_output) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let matching = match matching {
        Matching::First => RuleMatching::First,
        Matching::All => RuleMatching::All,
    };
    let matcher = matcher_of(containers);
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
