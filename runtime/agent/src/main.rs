//! The `lanner` command.

use std::io::IsTerminal;
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

/// What every command that loads rules accepts: Falco's configuration and selection flags.
#[derive(clap::Args, Clone)]
struct Common {
    /// Falco's configuration file (`falco.yaml`, read unchanged; Lanner's keys under `lanner:`).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Override a configuration key, Falco's syntax: `-o a.b[0].c=value`, `-o rules[].disable.rule=*`.
    #[arg(short = 'o', value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Legacy: disable the rules whose name contains this substring.
    #[arg(short = 'D', value_name = "SUBSTRING")]
    disable: Vec<String>,
    /// Legacy: disable the rules with this tag.
    #[arg(short = 'T', value_name = "TAG")]
    disable_tag: Vec<String>,
    /// Legacy: enable only the rules with this tag.
    #[arg(short = 't', value_name = "TAG")]
    enable_tag: Vec<String>,
    /// Alert format; with `--config` the default is its `json_output`, otherwise JSON.
    #[arg(long, value_enum)]
    format: Option<OutFormat>,
    /// Falco's `rule_matching` (the config's by default, else `first`).
    #[arg(long = "rule-matching", value_enum)]
    rule_matching: Option<Matching>,
    /// Do not append the container fields Falco suggests to every output.
    #[arg(long)]
    no_suggested_output: bool,
    #[arg(long, value_enum, default_value = "falco")]
    containers: Containers,
    /// The engine that decides matches: compiled conditions, or the reference interpreter.
    #[arg(long, value_enum, default_value = "jit")]
    engine: EngineArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum EngineArg {
    /// Cranelift-compiled conditions (the interpreter, with a warning, where they do not compile).
    Jit,
    /// The reference interpreter.
    Interp,
}

/// Where the rules come from besides `--rules` (see `lanner::source`).
#[derive(clap::Args, Clone)]
struct BundleArgs {
    /// A compiled bundle (`rulec build`), verified before anything is loaded; replaces
    /// `--rules` and the built-in rules.
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// A public key (`rulec keygen`'s `NAME.pub`) whose signatures are trusted; repeatable.
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// Development only: accept unsigned bundles and untrusted signers (loudly warned).
    #[arg(long)]
    allow_unsigned: bool,
}

/// Shadow mode: a candidate evaluated beside the active rules (see `lanner::shadow`).
#[derive(clap::Args, Clone)]
struct ShadowArgs {
    /// A candidate bundle or rules file(s)/folder evaluated on the same events as the active
    /// rules; its alerts never reach the outputs, a per-rule diff is printed on stderr at the end
    /// (JSON with `--format json`). Verified with the same `--trust` keys.
    #[arg(long, value_name = "CANDIDATE")]
    shadow: Vec<PathBuf>,
    /// Write the candidate's alerts to this file.
    #[arg(long, value_name = "FILE", requires = "shadow")]
    shadow_output: Option<PathBuf>,
}

/// `--prefilter`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum PrefilterArg {
    Rules,
    Syscalls,
    Off,
}

impl From<PrefilterArg> for lanner::live::PrefilterMode {
    fn from(a: PrefilterArg) -> Self {
        match a {
            PrefilterArg::Rules => lanner::live::PrefilterMode::Rules,
            PrefilterArg::Syscalls => lanner::live::PrefilterMode::Syscalls,
            PrefilterArg::Off => lanner::live::PrefilterMode::Off,
        }
    }
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
        /// files in sorted order (not its sub-folders), as in Falco. Default: the config's
        /// `rules_files`.
        #[arg(short = 'r', long = "rules", num_args = 1..)]
        rules: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        bundle: BundleArgs,
        #[command(flatten)]
        shadow: ShadowArgs,
        /// Stop after this many seconds (default: until SIGINT or SIGTERM).
        #[arg(long)]
        duration: Option<f64>,
        /// What the kernel ships: `rules` the events the rules' kernel part and the state may
        /// need, `syscalls` every event of the syscalls the rules and the state need, `off`
        /// every event the capture plans cover.
        #[arg(long, value_enum, default_value_t = PrefilterArg::Rules)]
        prefilter: PrefilterArg,
        /// Write the run's counters as JSON to this file at stop: `{"prefilter":{"seen",
        /// "passed","dropped","by_type":{..}},"events","alerts","drops"}`.
        #[arg(long, value_name = "FILE")]
        stats_json: Option<PathBuf>,
    },
    /// Run rules over scap captures and print one alert per line.
    Replay {
        /// Rules files (`.yaml`/`.yml`) or folders of them, loaded together in this order
        /// (default: the config's `rules_files`).
        #[arg(short = 'r', long = "rules", num_args = 1..)]
        rules: Vec<PathBuf>,
        /// Captures, replayed one after the other. (`--rules a.yaml b.yaml c.scap` works too:
        /// what follows `--rules` and is not YAML is a capture.)
        captures: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        bundle: BundleArgs,
        #[command(flatten)]
        shadow: ShadowArgs,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print the metrics of a running agent.
    Stats {
        /// The agent's webserver.
        #[arg(long, default_value = "http://127.0.0.1:8765")]
        url: String,
        #[arg(long, value_enum, default_value = "text")]
        format: StatsFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum StatsFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file without running: warnings and errors, located.
    Check {
        file: PathBuf,
        #[arg(short = 'o', value_name = "KEY=VALUE")]
        overrides: Vec<String>,
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
        Command::Config {
            command: ConfigCommand::Check { file, overrides },
        } => config_check(&file, &overrides),
        Command::Stats { url, format } => stats(&url, format),
        Command::Run {
            rules,
            common,
            bundle,
            shadow,
            duration,
            prefilter,
            stats_json,
        } => match Setup::new(&common, rules).and_then(|s| {
            let l = loader(&s, &bundle)?;
            let sh = shadow_of(&s, &l, &shadow)?;
            Ok((s, l, sh))
        }) {
            Ok((setup, loader, sh)) => run_live(
                &setup,
                &loader,
                sh,
                duration,
                prefilter.into(),
                stats_json.as_deref(),
            ),
            Err(code) => code,
        },
        Command::Replay {
            rules,
            mut captures,
            common,
            bundle,
            shadow,
        } => {
            // `--rules` takes every following value; the ones that are not rule files are the
            // captures of `lanner replay --rules FILE... CAPTURE...`.
            let (r, c): (Vec<PathBuf>, Vec<PathBuf>) =
                rules.into_iter().partition(|p| is_rules_path(p));
            captures.splice(0..0, c);
            let setup = match Setup::new(&common, r) {
                Ok(s) => s,
                Err(code) => return code,
            };
            if captures.is_empty() {
                eprintln!("error: `lanner replay` needs at least one capture");
                return ExitCode::from(2);
            }
            let loader = match loader(&setup, &bundle) {
                Ok(l) => l,
                Err(code) => return code,
            };
            let sh = match shadow_of(&setup, &loader, &shadow) {
                Ok(s) => s,
                Err(code) => return code,
            };
            run_replay(&setup, &loader, sh, &captures)
        }
    }
}

/// The configuration, rules and selection of one run.
struct Setup {
    config: lanner::config::Config,
    config_file: Option<PathBuf>,
    /// The `-o` overrides, applied again when the config file reloads.
    overrides: Vec<String>,
    rules: Vec<PathBuf>,
    legacy: lanner::select::Legacy,
    json: bool,
    matching: RuleMatching,
    suggested_output: bool,
    containers: Containers,
    engine: lanner::source::Engine,
}

impl Setup {
    fn new(common: &Common, cli_rules: Vec<PathBuf>) -> Result<Setup, ExitCode> {
        let loaded = match lanner::config::load(common.config.as_deref(), &common.overrides) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("Error: {e}");
                return Err(ExitCode::from(1));
            }
        };
        for line in loaded.render() {
            eprintln!("{line}");
        }
        if loaded.has_errors() {
            match &common.config {
                Some(f) => eprintln!(
                    "Error: Error reading config file ({}): see the error(s) above",
                    f.display()
                ),
                None => eprintln!("Error: invalid `-o` override(s): see the error(s) above"),
            }
            return Err(ExitCode::from(1));
        }
        let config = loaded.config;
        // `-r` replaces `rules_files`, as in Falco; config paths are relative to the config
        // file's folder only if they do not exist as given.
        let rules = if cli_rules.is_empty() {
            config.rules_files.clone()
        } else {
            cli_rules
        };
        let explicit = common.config.is_some() || !common.overrides.is_empty();
        let json = match common.format {
            Some(OutFormat::Json) => true,
            Some(OutFormat::Text) => false,
            None => !explicit || config.json_output,
        };
        let matching = match common.rule_matching {
            Some(Matching::All) => RuleMatching::All,
            Some(Matching::First) => RuleMatching::First,
            None if config.rule_matching_all => RuleMatching::All,
            None => RuleMatching::First,
        };
        let suggested = if config.append_output.is_empty() {
            true
        } else {
            config.append_output.iter().any(|a| a.suggested_output)
        };
        Ok(Setup {
            legacy: lanner::select::Legacy {
                disable_substrings: common.disable.clone(),
                disable_tags: common.disable_tag.clone(),
                enable_tags: common.enable_tag.clone(),
            },
            config_file: common.config.clone(),
            overrides: common.overrides.clone(),
            rules,
            json,
            matching,
            suggested_output: suggested && !common.no_suggested_output,
            containers: common.containers,
            engine: match common.engine {
                EngineArg::Jit => lanner::source::Engine::Jit,
                EngineArg::Interp => lanner::source::Engine::Interp,
            },
            config,
        })
    }

    fn pipeline_config(&self) -> lanner::config::Config {
        let mut c = self.config.clone();
        c.json_output = self.json;
        c.rule_matching_all = self.matching == RuleMatching::All;
        c
    }
}

fn config_check(file: &std::path::Path, overrides: &[String]) -> ExitCode {
    let loaded = match lanner::config::load(Some(file), overrides) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::from(1);
        }
    };
    for line in loaded.render() {
        eprintln!("{line}");
    }
    if loaded.has_errors() {
        eprintln!("{}: Invalid", file.display());
        ExitCode::from(1)
    } else if loaded.findings.is_empty() {
        println!("{}: Ok", file.display());
        ExitCode::SUCCESS
    } else {
        println!("{}: Ok, with warnings", file.display());
        ExitCode::SUCCESS
    }
}

fn stats(url: &str, format: StatsFormat) -> ExitCode {
    let url = format!("{}/metrics", url.trim_end_matches('/'));
    let body = ureq::get(&url)
        .call()
        .and_then(|mut r| r.body_mut().read_to_string());
    let text = match body {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read `{url}`: {e}");
            return ExitCode::from(1);
        }
    };
    let series = lanner::metrics::parse_text(&text);
    match format {
        StatsFormat::Text => {
            for (s, v) in &series {
                println!("{s} {v}");
            }
        }
        StatsFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = series
                .into_iter()
                .map(|(s, v)| (s, serde_json::json!(v)))
                .collect();
            println!("{}", serde_json::Value::Object(map));
        }
    }
    ExitCode::SUCCESS
}

/// Where this run's rules come from: `--bundle`, else `--rules` or the config's `rules_files`,
/// else the built-in rules.
fn loader(setup: &Setup, b: &BundleArgs) -> Result<lanner::source::Loader, ExitCode> {
    use lanner::source::Origin;
    let origin = match &b.bundle {
        Some(_) if !setup.rules.is_empty() => {
            eprintln!(
                "error: `--bundle` replaces the rules files: give `--bundle` or `--rules`/`rules_files`, not both"
            );
            return Err(ExitCode::from(2));
        }
        Some(path) => Origin::Bundle(path.clone()),
        None if setup.rules.is_empty() => Origin::BuiltIn,
        None => Origin::Files(setup.rules.clone()),
    };
    let trust = lanner::source::read_trust(&b.trust, b.allow_unsigned).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })?;
    if b.allow_unsigned {
        eprintln!(
            "WARNING: `--allow-unsigned` is for development: unsigned bundles and untrusted signers are accepted"
        );
    }
    Ok(lanner::source::Loader {
        origin,
        trust,
        selections: setup.config.rules.clone(),
        legacy: setup.legacy.clone(),
        threshold: setup.config.priority,
        suggested_output: setup.suggested_output,
        engine: setup.engine,
    })
}

/// Loads the rules; on errors prints them and returns the exit code.
fn load_rules(loader: &lanner::source::Loader) -> Result<RuleSet, ExitCode> {
    load(loader).map(|l| l.ruleset)
}

fn load(loader: &lanner::source::Loader) -> Result<lanner::source::Loaded, ExitCode> {
    match loader.load() {
        Ok(loaded) => {
            for n in &loaded.notes {
                eprintln!("{n}");
            }
            Ok(loaded)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(e.exit_code()))
        }
    }
}

/// The shadow candidate, loaded as the active rules are (same trust, selection, thresholds).
fn shadow_of(
    setup: &Setup,
    active: &lanner::source::Loader,
    args: &ShadowArgs,
) -> Result<Option<lanner::shadow::Shadow>, ExitCode> {
    if args.shadow.is_empty() {
        return Ok(None);
    }
    let origin = match args.shadow.as_slice() {
        [one] if !is_rules_path(one) => lanner::source::Origin::Bundle(one.clone()),
        many => lanner::source::Origin::Files(many.to_vec()),
    };
    let loader = lanner::source::Loader {
        origin,
        ..active.clone()
    };
    let (ruleset, kernel) = match loader.load() {
        Ok(l) => {
            for n in &l.notes {
                eprintln!("shadow: {n}");
            }
            (l.ruleset, l.kernel)
        }
        Err(e) => {
            eprintln!("error: shadow candidate: {e}");
            return Err(ExitCode::from(e.exit_code()));
        }
    };
    let format = if setup.json {
        Format::Json
    } else {
        Format::Text
    };
    match lanner::shadow::Shadow::new(ruleset, args.shadow_output.as_deref(), format) {
        Ok(mut s) => {
            s.kernel = kernel;
            Ok(Some(s))
        }
        Err(e) => {
            let path = args
                .shadow_output
                .as_deref()
                .unwrap_or(std::path::Path::new(""));
            eprintln!("error: cannot create `{}`: {e}", path.display());
            Err(ExitCode::from(1))
        }
    }
}

/// A rules file or folder (not a bundle or a capture).
fn is_rules_path(p: &std::path::Path) -> bool {
    p.is_dir()
        || p.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// The shadow's diff on stderr: text lines, or one JSON object with `--format json`.
fn print_shadow(setup: &Setup, shadow: &lanner::shadow::Shadow) {
    if setup.json {
        eprintln!("{}", serde_json::json!({ "shadow": shadow.summary_json() }));
    } else {
        for l in shadow.summary_text() {
            eprintln!("{l}");
        }
    }
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
    setup: &Setup,
    loader: &lanner::source::Loader,
    mut shadow: Option<lanner::shadow::Shadow>,
    duration: Option<f64>,
    mode: lanner::live::PrefilterMode,
    stats_json: Option<&std::path::Path>,
) -> ExitCode {
    use lanner::live::PrefilterMode;
    if let Err(e) = lanner::live::preflight() {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    let (ruleset, mut kernel) = match load(loader) {
        Ok(l) => (l.ruleset, l.kernel),
        Err(code) => return code,
    };
    let mut syscalls = match mode {
        PrefilterMode::Rules | PrefilterMode::Syscalls => lanner::interest::for_ruleset(&ruleset),
        // Every syscall the converter turns into an event, as `lanner capture` ships.
        PrefilterMode::Off => lanner::interest::syscalls(&Default::default(), true),
    };
    if let Some(s) = &shadow {
        // The candidate sees every event the active rules see, and those it needs itself.
        syscalls.extend(lanner::interest::for_ruleset(&s.ruleset));
        syscalls.sort_unstable();
        syscalls.dedup();
        kernel = kernel.union(&s.kernel);
    }
    if mode != PrefilterMode::Rules {
        kernel = lanner_ebpf::filter::KernelFilter::none();
    }
    let options = lanner::live::LiveOptions {
        matching: setup.matching,
        matcher: matcher_of(setup.containers),
        format: if setup.json {
            Format::Json
        } else {
            Format::Text
        },
        duration: duration.map(std::time::Duration::from_secs_f64),
        include_self: false,
        drop_privileges: true,
        kernel,
    };
    let mut pipeline = match lanner::pipeline::start(
        &setup.pipeline_config(),
        &ruleset,
        // Hashed per file for `falcosecurity_falco_sha256_rules_files_info`.
        &loader.origin.files(),
        setup.config_file.as_deref(),
        lanner::pipeline::Mode::Live,
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::from(1);
        }
    };
    for n in &pipeline.notes {
        eprintln!("{n}");
    }
    match lanner::pipeline::watch_config(
        &mut pipeline,
        &setup.config,
        setup.config_file.as_deref(),
        &setup.overrides,
    ) {
        Ok(note) => note.into_iter().for_each(|n| eprintln!("{n}")),
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::from(1);
        }
    }
    // SIGHUP and changes of the bundle or rules files load the rules again, off the event path.
    let reloader = match lanner::reload::Reloader::start(loader.clone(), &loader.origin.watched()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let rules = ruleset.rules.len();
    let n = syscalls.len();
    let result = lanner::live::run(
        &ruleset,
        &syscalls,
        &options,
        &mut pipeline.emitter,
        &mut |stats| {
            eprintln!(
                "lanner: watching {n} syscall(s) with {rules} rule(s), prefilter `{}`; {} process(es), {} fd(s) from /proc",
                mode.as_str(),
                stats.processes,
                stats.fds
            );
        },
        lanner::live::Extras {
            reloader: Some(&reloader),
            shadow: shadow.as_mut(),
        },
    );
    let report = lanner::pipeline::finish(&mut pipeline.emitter, SHUTDOWN_DRAIN);
    match result {
        Ok(s) => {
            eprintln!(
                "lanner: stopped after {} event(s), {} alert(s), {} dropped, {} malformed",
                s.alerts.events, s.alerts.alerts, s.drops, s.malformed
            );
            eprintln!(
                "lanner: events in {}, evaluated {} (by {} program(s): {:?}); reloads {} ok, {} failed",
                s.events_in,
                s.alerts.events,
                s.evaluated_by_program.len(),
                s.evaluated_by_program,
                s.reloads_ok,
                s.reloads_failed
            );
            for l in report {
                eprintln!("{l}");
            }
            print_prefilter(&s);
            if let Some(sh) = &shadow {
                print_shadow(setup, sh);
            }
            if let Some(path) = stats_json {
                let text = s.stats_json().to_string();
                if let Err(e) = std::fs::write(path, text + "\n") {
                    eprintln!("error: cannot write `{}`: {e}", path.display());
                    return ExitCode::from(1);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// The in-kernel prefilter's counters at stop, per event type, on stderr.
fn print_prefilter(s: &lanner::live::LiveSummary) {
    let (seen, dropped) = s
        .prefilter
        .values()
        .fold((0u64, 0u64), |(a, b), c| (a + c.seen, b + c.dropped));
    let share = if seen == 0 {
        0.0
    } else {
        100.0 * dropped as f64 / seen as f64
    };
    eprintln!(
        "lanner: prefilter: the kernel saw {seen} event(s), passed {}, dropped {dropped} ({share:.1}%)",
        seen - dropped.min(seen)
    );
    for (name, c) in &s.prefilter {
        eprintln!(
            "lanner: prefilter: {name:<16} seen {:>10} passed {:>10} dropped {:>10}",
            c.seen,
            c.passed(),
            c.dropped
        );
    }
}

/// How long the sinks get to drain at exit (Falco's `output_timeout`).
const SHUTDOWN_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

fn run_replay(
    setup: &Setup,
    loader: &lanner::source::Loader,
    mut shadow: Option<lanner::shadow::Shadow>,
    captures: &[PathBuf],
) -> ExitCode {
    let ruleset = match load_rules(loader) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let matcher = matcher_of(setup.containers);
    let mut pipeline = match lanner::pipeline::start(
        &setup.pipeline_config(),
        &ruleset,
        // Hashed per file for `falcosecurity_falco_sha256_rules_files_info`.
        &loader.origin.files(),
        setup.config_file.as_deref(),
        lanner::pipeline::Mode::Replay,
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::from(1);
        }
    };
    for n in &pipeline.notes {
        eprintln!("{n}");
    }
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
            matching: setup.matching,
            matcher: matcher.clone(),
            format: if setup.json {
                Format::Json
            } else {
                Format::Text
            },
        };
        if let Err(e) = replay::replay_capture(
            capture,
            &ruleset,
            &options,
            &mut pipeline.emitter,
            &mut summary,
            &mut progress,
            shadow.as_mut(),
        ) {
            lanner::pipeline::finish(&mut pipeline.emitter, SHUTDOWN_DRAIN);
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
    let report = lanner::pipeline::finish(&mut pipeline.emitter, SHUTDOWN_DRAIN);
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "replayed {} event(s) from {} capture(s) in {secs:.2} s with {} rule(s): {} alert(s)",
        summary.events,
        captures.len(),
        ruleset.rules.len(),
        summary.alerts
    );
    for l in report {
        eprintln!("{l}");
    }
    if let Some(sh) = &mut shadow {
        if let Err(e) = sh.flush() {
            eprintln!("error: cannot write the shadow's alerts: {e}");
            return ExitCode::from(1);
        }
        print_shadow(setup, sh);
    }
    ExitCode::SUCCESS
}
