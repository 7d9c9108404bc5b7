//! Output channels, each an isolated sink: its own bounded queue and its own worker thread, so a
//! slow or dead sink never delays detection or another sink (Falco calls every channel in turn
//! from one worker, and its queue is unbounded by default).
//!
//! Detection formats an alert once and offers it to every sink's queue. Offering never blocks:
//! a full queue drops its oldest or the new alert (configurable), and every drop is counted per
//! sink. The counters feed the metrics endpoint and the summary at exit.

pub mod sinks;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lanner_engine::ruleset::Priority;

use crate::config::Overflow;

/// One alert, formatted once for every sink.
#[derive(Debug, Clone)]
pub struct Record {
    pub rule: String,
    pub priority: Priority,
    /// Falco's text line (`<time>: <Priority> <message>`).
    pub text: String,
    /// Falco's JSON alert.
    pub json: String,
    /// Whether sinks write JSON (`json_output`).
    pub json_output: bool,
    /// When the record was offered (for the delivery latency).
    pub offered: Instant,
}

impl Record {
    /// The form a line-oriented sink writes.
    pub fn line(&self) -> &str {
        if self.json_output {
            &self.json
        } else {
            &self.text
        }
    }
}

/// Why one delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("{0}")]
    Other(String),
}

/// A destination for alerts. `deliver` may block: it runs on the sink's own thread.
pub trait Sink: Send {
    fn name(&self) -> &'static str;
    /// Delivers one alert or says why not. Retrying is the sink's business.
    fn deliver(&mut self, record: &Record) -> Result<(), SinkError>;
    /// SIGUSR1: reopen files, respawn programs.
    fn reopen(&mut self) {}
    /// A delivery was abandoned after every retry: is the destination down (opens the breaker)?
    fn breaker(&self) -> Option<Breaker> {
        None
    }
}

/// Circuit-breaker settings of a sink.
#[derive(Clone, Copy, Debug)]
pub struct Breaker {
    pub failures: u32,
    pub cooldown: Duration,
}

/// Per-sink counters, shared with the metrics endpoint.
#[derive(Debug, Default)]
pub struct SinkStats {
    pub offered: AtomicU64,
    pub delivered: AtomicU64,
    /// Dropped because the queue was full.
    pub dropped_queue_full: AtomicU64,
    /// Dropped because delivery failed after every retry.
    pub dropped_failed: AtomicU64,
    /// Still queued when the agent stopped and the sink did not drain in time.
    pub dropped_shutdown: AtomicU64,
    /// Delivery attempts that failed (retries included).
    pub errors: AtomicU64,
    pub breaker_opened: AtomicU64,
    pub breaker_open: AtomicBool,
    pub queued: AtomicU64,
    /// 1 while an alert is being delivered.
    pub inflight: AtomicU64,
    /// Sum of offer→delivery times in microseconds, for the mean.
    pub delivery_micros: AtomicU64,
}

impl SinkStats {
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full.load(Ordering::Relaxed)
            + self.dropped_failed.load(Ordering::Relaxed)
            + self.dropped_shutdown.load(Ordering::Relaxed)
    }
}

struct Queue {
    items: VecDeque<Arc<Record>>,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    capacity: usize,
    overflow: Overflow,
    /// Wait for room instead of dropping (replay's stdout: a file has no deadline).
    lossless: bool,
    room: Condvar,
    reopen: Arc<AtomicBool>,
    stats: Arc<SinkStats>,
}

/// A running sink.
pub struct SinkHandle {
    pub name: &'static str,
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

impl SinkHandle {
    /// Starts `sink` on its own thread behind a queue of `capacity` alerts.
    pub fn start(
        sink: Box<dyn Sink>,
        capacity: usize,
        overflow: Overflow,
        lossless: bool,
    ) -> std::io::Result<SinkHandle> {
        let name = sink.name();
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                items: VecDeque::with_capacity(capacity.min(4096)),
                closed: false,
            }),
            ready: Condvar::new(),
            capacity: capacity.max(1),
            overflow,
            lossless,
            room: Condvar::new(),
            reopen: Arc::new(AtomicBool::new(false)),
            stats: Arc::new(SinkStats::default()),
        });
        let s = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name(format!("lanner-sink-{name}"))
            .spawn(move || work(sink, &s))?;
        Ok(SinkHandle {
            name,
            shared,
            worker: Some(worker),
        })
    }

    pub fn stats(&self) -> Arc<SinkStats> {
        Arc::clone(&self.shared.stats)
    }

    /// Offers an alert; never blocks unless the sink is lossless.
    pub fn offer(&self, record: &Arc<Record>) {
        let st = &self.shared.stats;
        st.offered.fetch_add(1, Ordering::Relaxed);
        let Ok(mut q) = self.shared.queue.lock() else {
            st.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if self.shared.lossless {
            while q.items.len() >= self.shared.capacity && !q.closed {
                q = match self.shared.room.wait(q) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
        }
        if q.items.len() >= self.shared.capacity {
            st.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
            match self.shared.overflow {
                Overflow::DropNewest => return,
                Overflow::DropOldest => {
                    q.items.pop_front();
                }
            }
        }
        q.items.push_back(Arc::clone(record));
        st.queued.store(q.items.len() as u64, Ordering::Relaxed);
        drop(q);
        self.shared.ready.notify_one();
    }

    /// The flag SIGUSR1 sets; the worker reopens before its next delivery.
    pub fn reopen_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.shared.reopen)
    }

    pub fn request_reopen(&self) {
        self.shared.reopen.store(true, Ordering::Relaxed);
        self.shared.ready.notify_one();
    }

    /// Stops taking alerts and gives the worker until `deadline` to drain; what is left is
    /// counted as dropped at shutdown.
    pub fn stop(&mut self, deadline: Instant) {
        if let Ok(mut q) = self.shared.queue.lock() {
            q.closed = true;
        }
        self.shared.ready.notify_all();
        self.shared.room.notify_all();
        // The worker returns once the queue is empty and closed.
        while Instant::now() < deadline && !self.worker.as_ref().is_none_or(JoinHandle::is_finished)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Ok(mut q) = self.shared.queue.lock() {
            let left = q.items.len() as u64 + self.shared.stats.inflight.swap(0, Ordering::Relaxed);
            q.items.clear();
            self.shared
                .stats
                .dropped_shutdown
                .fetch_add(left, Ordering::Relaxed);
        }
        if let Some(w) = self.worker.take()
            && w.is_finished()
        {
            let _ = w.join();
        }
        // A worker stuck in a blocking call is left behind: the process is ending.
    }
}

fn backoff_sleep(shared: &Shared, d: Duration) {
    // Sleeps, waking early when the agent stops (the queue is then drained or abandoned).
    if let Ok(q) = shared.queue.lock() {
        let _ = shared.ready.wait_timeout_while(q, d, |q| !q.closed);
    }
}

fn work(mut sink: Box<dyn Sink>, shared: &Shared) {
    // No sink needs a capability; what it spawns inherits none.
    crate::privilege::drop_all_in_this_thread();
    let breaker = sink.breaker();
    let mut consecutive_failures = 0u32;
    let mut open_until: Option<Instant> = None;
    loop {
        if shared.reopen.swap(false, Ordering::Relaxed) {
            sink.reopen();
        }
        // An open breaker holds the queue (bounded: overflow drops are counted) until the
        // cooldown ends; then the head alert is the trial delivery.
        if let Some(until) = open_until {
            let now = Instant::now();
            let closed = shared.queue.lock().map(|q| q.closed).unwrap_or(true);
            if now < until && !closed {
                backoff_sleep(shared, until - now);
                continue;
            }
        }
        let record = {
            let Ok(mut q) = shared.queue.lock() else {
                return;
            };
            if let Some(r) = q.items.pop_front() {
                shared
                    .stats
                    .queued
                    .store(q.items.len() as u64, Ordering::Relaxed);
                r
            } else if q.closed {
                return;
            } else {
                // Wake for new alerts, a reopen request or the stop; then look again.
                let _ = shared.ready.wait_timeout(q, Duration::from_millis(200));
                continue;
            }
        };
        shared.room.notify_all();
        shared.stats.inflight.store(1, Ordering::Relaxed);
        let result = sink.deliver(&record);
        shared.stats.inflight.store(0, Ordering::Relaxed);
        let st = &shared.stats;
        match result {
            Ok(()) => {
                st.delivered.fetch_add(1, Ordering::Relaxed);
                st.delivery_micros.fetch_add(
                    u64::try_from(record.offered.elapsed().as_micros()).unwrap_or(u64::MAX),
                    Ordering::Relaxed,
                );
                consecutive_failures = 0;
                if open_until.take().is_some() {
                    st.breaker_open.store(false, Ordering::Relaxed);
                }
            }
            Err(_) => {
                st.errors.fetch_add(1, Ordering::Relaxed);
                st.dropped_failed.fetch_add(1, Ordering::Relaxed);
                consecutive_failures = consecutive_failures.saturating_add(1);
                if let Some(b) = breaker
                    && (consecutive_failures >= b.failures || open_until.is_some())
                {
                    if open_until.is_none() {
                        st.breaker_opened.fetch_add(1, Ordering::Relaxed);
                    }
                    st.breaker_open.store(true, Ordering::Relaxed);
                    open_until = Some(Instant::now() + b.cooldown);
                }
            }
        }
    }
}

/// Every configured sink.
#[derive(Default)]
pub struct Outputs {
    pub sinks: Vec<SinkHandle>,
}

impl Outputs {
    pub fn offer(&self, record: Record) {
        let r = Arc::new(record);
        for s in &self.sinks {
            s.offer(&r);
        }
    }

    pub fn reopen(&self) {
        for s in &self.sinks {
            s.request_reopen();
        }
    }

    /// Drains every sink for at most `timeout` in total, then reports per sink.
    pub fn stop(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for s in &mut self.sinks {
            s.stop(deadline);
        }
    }

    pub fn stats(&self) -> Vec<(&'static str, Arc<SinkStats>)> {
        self.sinks.iter().map(|s| (s.name, s.stats())).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    struct Slow(Arc<AtomicU64>, Duration);
    impl Sink for Slow {
        fn name(&self) -> &'static str {
            "slow"
        }
        fn deliver(&mut self, _: &Record) -> Result<(), SinkError> {
            std::thread::sleep(self.1);
            self.0.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }

    fn record(i: usize) -> Record {
        Record {
            rule: format!("r{i}"),
            priority: Priority::Warning,
            text: String::new(),
            json: String::new(),
            json_output: false,
            offered: Instant::now(),
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_and_never_blocks() {
        for overflow in [Overflow::DropOldest, Overflow::DropNewest] {
            let n = Arc::new(AtomicU64::new(0));
            let mut h = SinkHandle::start(
                Box::new(Slow(Arc::clone(&n), Duration::from_millis(50))),
                4,
                overflow,
                false,
            )
            .unwrap();
            let t = Instant::now();
            for i in 0..100 {
                h.offer(&Arc::new(record(i)));
            }
            assert!(t.elapsed() < Duration::from_millis(40));
            h.stop(Instant::now() + Duration::from_secs(2));
            let st = h.stats();
            // INVARIANT: every offered alert is delivered or counted as dropped.
            assert_eq!(
                st.delivered.load(Ordering::Relaxed) + st.dropped(),
                100,
                "{overflow:?}"
            );
            assert!(st.dropped_queue_full.load(Ordering::Relaxed) >= 95);
        }
    }
}
