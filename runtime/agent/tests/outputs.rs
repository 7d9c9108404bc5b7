//! Output sinks with real receivers: a replay through the binary into stdout, a file, a
//! keep-alive program and an HTTP receiver speaking falcosidekick's contract on 127.0.0.1; and
//! the HTTP sink against a receiver that turns slow, then failing, then down, then back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod support;
use support::{rule_files, shared, tempdir};

const OK: u8 = 0;
const SLOW: u8 = 1;
const FAIL: u8 = 2;

/// An HTTP/1.1 receiver: records `(path, body)` of every POST and answers per `mode`.
struct Receiver {
    port: u16,
    mode: Arc<AtomicU8>,
    got: Arc<Mutex<Vec<(String, String)>>>,
    accepted: Arc<AtomicU64>,
    stop: Arc<AtomicU8>,
}

fn handle(
    mut s: TcpStream,
    mode: &AtomicU8,
    got: &Mutex<Vec<(String, String)>>,
    ok: &AtomicU64,
    stop: &AtomicU8,
) {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_nodelay(true).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        if stop.load(Ordering::SeqCst) == 1 {
            // Down: the connection dies without an answer.
            return;
        }
        let status = match mode.load(Ordering::SeqCst) {
            SLOW => {
                std::thread::sleep(Duration::from_millis(300));
                "200 OK"
            }
            FAIL => "503 Service Unavailable",
            _ => "200 OK",
        };
        if status.starts_with("200") && method == "POST" {
            got.lock()
                .unwrap()
                .push((path, String::from_utf8(body).unwrap()));
            ok.fetch_add(1, Ordering::SeqCst);
        }
        // One write, so Nagle's algorithm does not hold back a second segment.
        let answer =
            format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
        let _ = s.write_all(answer.as_bytes());
    }
}

impl Receiver {
    fn start(port: u16) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let r = Receiver {
            port,
            mode: Arc::new(AtomicU8::new(OK)),
            got: Arc::new(Mutex::new(Vec::new())),
            accepted: Arc::new(AtomicU64::new(0)),
            stop: Arc::new(AtomicU8::new(0)),
        };
        r.serve(listener);
        r
    }

    fn serve(&self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let (mode, got, ok, stop) = (
            Arc::clone(&self.mode),
            Arc::clone(&self.got),
            Arc::clone(&self.accepted),
            Arc::clone(&self.stop),
        );
        std::thread::spawn(move || {
            while stop.load(Ordering::SeqCst) == 0 {
                match listener.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        let (mode, got, ok, stop) = (
                            Arc::clone(&mode),
                            Arc::clone(&got),
                            Arc::clone(&ok),
                            Arc::clone(&stop),
                        );
                        std::thread::spawn(move || handle(s, &mode, &got, &ok, &stop));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            // Dropping the listener closes the port: the receiver is down.
        });
    }

    /// Closes the port (connections already open die with their handler's next answer).
    fn down(&self) {
        self.stop.store(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
    }

    fn up(&self) {
        self.stop.store(0, Ordering::SeqCst);
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        self.serve(listener);
    }
}

#[test]
fn replay_feeds_stdout_file_program_and_http_in_falcos_json() {
    let dir = tempdir("outputs");
    let rx = Receiver::start(0);
    let config = dir.join("falco.yaml");
    std::fs::write(
        &config,
        format!(
            "json_output: true\n\
             rule_matching: all\n\
             stdout_output:\n  enabled: true\n\
             file_output:\n  enabled: true\n  keep_alive: true\n  filename: {d}/events.txt\n\
             program_output:\n  enabled: true\n  keep_alive: true\n  program: cat >> {d}/program.txt\n\
             http_output:\n  enabled: true\n  url: http://127.0.0.1:{port}/\n",
            d = dir.display(),
            port = rx.port
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .arg("replay")
        .arg("--config")
        .arg(&config)
        .arg("--rules")
        .args(rule_files())
        .arg(shared().join("scap/captures/curl_google.scap"))
        .arg(shared().join("scap/captures/run_as_user_0_container.scap"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(stdout.len(), 84, "{stderr}");
    for sink in ["stdout", "file", "program", "http"] {
        assert!(
            stderr.contains(&format!(
                "lanner: output {sink}: 84 delivered, 0 dropped (0 queue full, 0 failed, 0 at shutdown)"
            )),
            "{sink}: {stderr}"
        );
    }
    let file = std::fs::read_to_string(dir.join("events.txt")).unwrap();
    assert_eq!(file.lines().collect::<Vec<_>>(), stdout);
    // The program's `cat` may still be flushing when the agent exits.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let program = std::fs::read_to_string(dir.join("program.txt")).unwrap_or_default();
        if program.lines().count() == 84 || Instant::now() > deadline {
            assert_eq!(program.lines().collect::<Vec<_>>(), stdout);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 84);
    for (i, (path, body)) in got.iter().enumerate() {
        // falcosidekick's contract: POST on `/`, a priority it knows, a rule, a time and
        // non-empty output_fields.
        assert_eq!(path, "/");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(
            [
                "Emergency",
                "Alert",
                "Critical",
                "Error",
                "Warning",
                "Notice",
                "Informational",
                "Debug"
            ]
            .contains(&v["priority"].as_str().unwrap())
        );
        assert!(!v["rule"].as_str().unwrap().is_empty());
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
        assert!(!v["output_fields"].as_object().unwrap().is_empty());
        assert_eq!(body, &stdout[i], "alerts arrive in order");
    }
}

/// A sink that counts, standing in for a fast local sink beside the HTTP one.
struct Counting(Arc<AtomicU64>);

impl lanner::outputs::Sink for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }
    fn deliver(&mut self, _: &lanner::outputs::Record) -> Result<(), lanner::outputs::SinkError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[test]
fn a_slow_failing_dead_receiver_never_stalls_detection_and_the_breaker_closes_again() {
    use lanner::config::{Config, Overflow};
    use lanner::outputs::{Outputs, Record, SinkHandle};
    let rx = Receiver::start(0);
    let mut c = Config::default();
    c.http_output.enabled = true;
    c.http_output.url = format!("http://127.0.0.1:{}/", rx.port);
    c.sinks.http_timeout = Duration::from_millis(500);
    c.sinks.http_max_attempts = 3;
    c.sinks.http_backoff_initial = Duration::from_millis(10);
    c.sinks.http_backoff_max = Duration::from_millis(100);
    c.sinks.breaker_failures = 3;
    c.sinks.breaker_cooldown = Duration::from_millis(300);
    let http = lanner::outputs::sinks::Http::new(&c.http_output, true, &c.sinks).unwrap();
    let counted = Arc::new(AtomicU64::new(0));
    let mut outputs = Outputs {
        sinks: vec![
            SinkHandle::start(Box::new(http), 200, Overflow::DropOldest, false).unwrap(),
            SinkHandle::start(
                Box::new(Counting(Arc::clone(&counted))),
                200,
                Overflow::DropOldest,
                false,
            )
            .unwrap(),
        ],
    };
    let http_stats = outputs.sinks[0].stats();
    // Detection offers 200 alerts/s through every phase; no offer may wait on the receiver.
    let phases = [(OK, 1.0), (SLOW, 2.0), (FAIL, 2.0), (255, 3.0), (OK, 3.0)];
    let mut offered = 0u64;
    let mut slowest = Duration::ZERO;
    let mut breaker_seen_open = false;
    for (mode, secs) in phases {
        match mode {
            255 => rx.down(),
            m => {
                if rx.stop.load(Ordering::SeqCst) == 1 {
                    rx.up();
                }
                rx.mode.store(m, Ordering::SeqCst);
            }
        }
        let end = Instant::now() + Duration::from_secs_f64(secs);
        while Instant::now() < end {
            let t = Instant::now();
            outputs.offer(Record {
                rule: "r".into(),
                priority: lanner_engine::ruleset::Priority::Warning,
                text: format!("alert {offered}"),
                json: format!("{{\"rule\":\"r\",\"n\":{offered}}}"),
                json_output: true,
                offered: t,
            });
            slowest = slowest.max(t.elapsed());
            offered += 1;
            breaker_seen_open |= http_stats.breaker_open.load(Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // Give the sink time to drain what the breaker held back.
    let deadline = Instant::now() + Duration::from_secs(10);
    while http_stats.queued.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    outputs.stop(Duration::from_secs(5));
    let delivered = http_stats.delivered.load(Ordering::Relaxed);
    let dropped = http_stats.dropped();
    eprintln!(
        "offered {offered}, http delivered {delivered}, dropped {dropped} (queue {}, failed {}, shutdown {}), breaker opened {} times, slowest offer {slowest:?}",
        http_stats.dropped_queue_full.load(Ordering::Relaxed),
        http_stats.dropped_failed.load(Ordering::Relaxed),
        http_stats.dropped_shutdown.load(Ordering::Relaxed),
        http_stats.breaker_opened.load(Ordering::Relaxed),
    );
    // INVARIANT: every alert is delivered or counted as dropped.
    assert_eq!(delivered + dropped, offered);
    assert_eq!(delivered, rx.accepted.load(Ordering::SeqCst));
    // The other sink kept up with everything.
    assert_eq!(counted.load(Ordering::Relaxed), offered);
    assert!(
        slowest < Duration::from_millis(50),
        "an offer took {slowest:?}"
    );
    assert!(breaker_seen_open, "the breaker opened during the outage");
    assert!(http_stats.breaker_opened.load(Ordering::Relaxed) >= 1);
    assert!(
        !http_stats.breaker_open.load(Ordering::Relaxed),
        "the breaker closed again"
    );
    assert!(dropped > 0, "an outage longer than the queue drops");
    assert!(
        delivered > offered / 3,
        "delivery resumed: {delivered}/{offered}"
    );
}
