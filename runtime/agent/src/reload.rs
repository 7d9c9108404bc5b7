//! Hot reload for `lanner run`: SIGHUP, or a change of a watched bundle or rules file, makes a
//! background thread load the rules again (verify, decode or compile, build the rule set) off
//! the event path. The event loop takes the new rule set with [`Reloader::take`] between two
//! events, so every event is evaluated by exactly one program, and the state (threads, fds)
//! carries over untouched. A load that fails is logged and counted; the running rules stay.
//!
//! Editors save by writing a temporary file and renaming it over the original, and `rulec
//! build` does the same: the watcher watches the parent folders (a file's inode changes with a
//! rename) and reloads once the folder has been quiet for [`DEBOUNCE`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use lanner_engine::ruleset::RuleSet;

use crate::source::Loader;

/// How long a watched folder must be quiet before a change triggers a reload.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// Reload counters, shared with the event loop and the report at exit.
#[derive(Debug, Default)]
pub struct Counters {
    pub ok: AtomicU64,
    pub failed: AtomicU64,
}

/// Why reloading could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("cannot install the SIGHUP handler: {0}")]
    Signal(std::io::Error),
    #[error("cannot watch `{path}` for changes: {source}")]
    Watch { path: String, source: notify::Error },
    #[error("cannot start the reload thread: {0}")]
    Thread(std::io::Error),
}

/// What asks for a reload.
enum Trigger {
    Signal,
    Changed,
}

/// A loaded rule set on its way to the event loop.
pub struct Swap {
    pub ruleset: RuleSet,
    /// The new rules' kernel part.
    pub kernel: lanner_ebpf::filter::KernelFilter,
    /// Why (SIGHUP or a file change) and from where, for the log line.
    pub why: &'static str,
}

/// What a reload came to, for the event loop (which logs it and counts it in the metrics).
pub enum Outcome {
    /// A rule set to swap in.
    Swap(Swap),
    /// A load that failed: the running rules stay.
    Failed { why: &'static str, error: String },
}

/// The event loop's handle on reloading.
pub struct Reloader {
    ready: mpsc::Receiver<Outcome>,
    pub counters: Arc<Counters>,
}

/// The SIGHUP listener and the file watcher (kept alive by the caller: dropping it stops it).
fn setup(
    watch: &[PathBuf],
    trigger_tx: &mpsc::Sender<Trigger>,
) -> Result<Option<notify::RecommendedWatcher>, ReloadError> {
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])
        .map_err(ReloadError::Signal)?;
    let tx = trigger_tx.clone();
    std::thread::Builder::new()
        .name("lanner-sighup".into())
        .spawn(move || {
            for _ in signals.forever() {
                if tx.send(Trigger::Signal).is_err() {
                    break;
                }
            }
        })
        .map_err(ReloadError::Thread)?;
    if watch.is_empty() {
        Ok(None)
    } else {
        watch_files(watch, trigger_tx.clone()).map(Some)
    }
}

impl Reloader {
    /// Starts the reload thread for `loader`: SIGHUP always, file watching for `watch`. The
    /// reload thread drops every capability first (it only reads files), and the threads it
    /// starts (the SIGHUP listener, notify's watcher) inherit that empty set.
    pub fn start(loader: Loader, watch: &[PathBuf]) -> Result<Reloader, ReloadError> {
        let (trigger_tx, trigger_rx) = mpsc::channel::<Trigger>();
        let (ready_tx, ready) = mpsc::sync_channel::<Outcome>(1);
        let (setup_tx, setup_rx) = mpsc::channel::<Result<(), ReloadError>>();
        let counters = Arc::new(Counters::default());
        let c = Arc::clone(&counters);
        let watch = watch.to_vec();
        std::thread::Builder::new()
            .name("lanner-reload".into())
            .spawn(move || {
                crate::privilege::drop_all_in_this_thread();
                let watcher = match setup(&watch, &trigger_tx) {
                    Ok(w) => w,
                    Err(e) => {
                        let _ = setup_tx.send(Err(e));
                        return;
                    }
                };
                drop(trigger_tx);
                let _ = setup_tx.send(Ok(()));
                worker(&loader, &trigger_rx, &ready_tx, &c);
                drop(watcher);
            })
            .map_err(ReloadError::Thread)?;
        match setup_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(ReloadError::Thread(std::io::Error::other(
                    "the reload thread ended while starting",
                )));
            }
        }
        Ok(Reloader { ready, counters })
    }

    /// A new rule set (or a failure) if one is ready; called by the event loop between two
    /// events.
    pub fn take(&self) -> Option<Outcome> {
        self.ready.try_recv().ok()
    }
}

/// Watches the folders holding `paths` (and folders given as rules folders) and sends a
/// trigger for events that concern one of them.
fn watch_files(
    paths: &[PathBuf],
    tx: mpsc::Sender<Trigger>,
) -> Result<notify::RecommendedWatcher, ReloadError> {
    use notify::Watcher as _;
    // Absolute, so the event paths notify reports compare equal.
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let files: BTreeSet<PathBuf> = paths
        .iter()
        .filter(|p| !p.is_dir())
        .map(|p| abs(p))
        .collect();
    let dirs: BTreeSet<PathBuf> = paths
        .iter()
        .filter(|p| p.is_dir())
        .map(|p| abs(p))
        .collect();
    let folders: BTreeSet<PathBuf> = files
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .chain(dirs.iter().cloned())
        .collect();
    let relevant = move |p: &Path| {
        files.contains(p)
            || p.parent().is_some_and(|d| dirs.contains(d))
                && p.extension().is_some_and(|e| e == "yaml" || e == "yml")
    };
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && !ev.kind.is_access()
            && ev.paths.iter().any(|p| relevant(p))
        {
            let _ = tx.send(Trigger::Changed);
        }
    })
    .map_err(|source| ReloadError::Watch {
        path: String::new(),
        source,
    })?;
    for d in &folders {
        watcher
            .watch(d, notify::RecursiveMode::NonRecursive)
            .map_err(|source| ReloadError::Watch {
                path: d.display().to_string(),
                source,
            })?;
    }
    Ok(watcher)
}

fn worker(
    loader: &Loader,
    triggers: &mpsc::Receiver<Trigger>,
    ready: &mpsc::SyncSender<Outcome>,
    counters: &Counters,
) {
    while let Ok(first) = triggers.recv() {
        let mut why = match first {
            Trigger::Signal => "SIGHUP",
            Trigger::Changed => "a change",
        };
        // Debounce: a save is several events (write, rename, attribute changes); a SIGHUP
        // does not wait.
        if matches!(first, Trigger::Changed) {
            loop {
                match triggers.recv_timeout(DEBOUNCE) {
                    Ok(Trigger::Signal) => why = "SIGHUP",
                    Ok(Trigger::Changed) => {}
                    Err(mpsc::RecvTimeoutError::Timeout) => break,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
        }
        match loader.load() {
            Ok(loaded) => {
                for n in &loaded.notes {
                    eprintln!("{n}");
                }
                counters.ok.fetch_add(1, Ordering::Relaxed);
                // Blocks while the event loop has not taken the previous one: the newest load
                // wins only after the older is swapped in, so no load is lost silently.
                if ready
                    .send(Outcome::Swap(Swap {
                        ruleset: loaded.ruleset,
                        kernel: loaded.kernel,
                        why,
                    }))
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                let error = format!("{e} (from {})", loader.origin.describe());
                if ready.send(Outcome::Failed { why, error }).is_err() {
                    return;
                }
            }
        }
    }
}
