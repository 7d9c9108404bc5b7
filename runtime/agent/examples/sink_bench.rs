//! Output benchmarks: a burst of 1,000 alerts through each sink kind (alerts/s until the last is
//! delivered, and how long detection spent offering them), and the memory bound of a queue
//! behind a dead HTTP receiver. Figures are ratios to the first kind's in the same run.
//!
//! `cargo run --release -p lanner --example sink_bench > /dev/null` (stdout is a sink).

// A benchmark harness: failing loudly on a broken setup is what it should do.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use lanner::config::{Config, Overflow};
use lanner::outputs::sinks::{FileSink, Http, Program, Stdout, Syslog};
use lanner::outputs::{Record, Sink, SinkHandle};

fn record(i: usize, pad: usize) -> Record {
    let json = format!(
        "{{\"rule\":\"bench\",\"priority\":\"Warning\",\"n\":{i},\"pad\":\"{}\"}}",
        "x".repeat(pad)
    );
    Record {
        rule: "bench".into(),
        priority: lanner_engine::ruleset::Priority::Warning,
        text: json.clone(),
        json,
        json_output: true,
        offered: Instant::now(),
    }
}

fn http_receiver() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = s.set_nodelay(true);
                let mut w = s.try_clone().expect("clone");
                let mut r = BufReader::new(s);
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        if h == "\r\n" {
                            break;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                }
            });
        }
    });
    port
}

fn burst(name: &str, sink: Box<dyn Sink>, n: usize) -> f64 {
    let mut h = SinkHandle::start(sink, 10_000, Overflow::DropOldest, false).expect("start");
    let st = h.stats();
    let t = Instant::now();
    for i in 0..n {
        h.offer(&Arc::new(record(i, 200)));
    }
    let offered = t.elapsed();
    while st.delivered.load(Ordering::Relaxed) + st.dropped() < n as u64 {
        std::thread::sleep(Duration::from_micros(200));
    }
    let all = t.elapsed();
    h.stop(Instant::now() + Duration::from_secs(1));
    let rate = n as f64 / all.as_secs_f64();
    eprintln!(
        "{name:>8}: {n} alerts in {:>8.2} ms = {rate:>9.0} alerts/s; offering took {:>7.3} ms ({:.2} µs/alert); dropped {}",
        all.as_secs_f64() * 1e3,
        offered.as_secs_f64() * 1e3,
        offered.as_secs_f64() * 1e6 / n as f64,
        st.dropped()
    );
    rate
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let dir = std::env::temp_dir().join(format!("lanner-sink-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tempdir");
    let n = 1000;
    let base = burst("stdout", Box::new(Stdout), n);
    let mut results = vec![("stdout", base)];
    results.push((
        "file",
        burst(
            "file",
            Box::new(FileSink::new(dir.join("events.txt"), true)),
            n,
        ),
    ));
    let sock = dir.join("log.sock");
    let rx = UnixDatagram::bind(&sock).expect("bind syslog");
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while rx.recv(&mut buf).is_ok() {}
    });
    results.push(("syslog", burst("syslog", Box::new(Syslog::new(sock)), n)));
    results.push((
        "program",
        burst(
            "program",
            Box::new(Program::new("cat > /dev/null".into(), true)),
            n,
        ),
    ));
    let mut c = Config::default();
    c.http_output.url = format!("http://127.0.0.1:{}/", http_receiver());
    let http = Http::new(&c.http_output, true, &c.sinks).expect("http");
    results.push(("http", burst("http", Box::new(http), n)));
    for (name, r) in &results {
        eprintln!("{name:>8}: {:.2}x stdout", r / base);
    }

    // A dead receiver: the breaker opens, the queue fills to its bound, the rest is counted.
    let dead = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = dead.local_addr().expect("addr").port();
    drop(dead);
    c.http_output.url = format!("http://127.0.0.1:{port}/");
    c.sinks.http_backoff_initial = Duration::from_millis(1);
    c.sinks.http_backoff_max = Duration::from_millis(5);
    let capacity = 10_000;
    let before = rss_kb();
    let mut h = SinkHandle::start(
        Box::new(Http::new(&c.http_output, true, &c.sinks).expect("http")),
        capacity,
        Overflow::DropOldest,
        false,
    )
    .expect("start");
    let total = 200_000;
    for i in 0..total {
        h.offer(&Arc::new(record(i, 1000)));
    }
    let after = rss_kb();
    let st = h.stats();
    eprintln!(
        "dead http: {total} alerts of ~1 KiB offered, queue holds {} (capacity {capacity}), {} dropped and counted; RSS grew {} KiB (bound ~{} KiB)",
        st.queued.load(Ordering::Relaxed),
        st.dropped(),
        after.saturating_sub(before),
        capacity * 2 * 1100 / 1024
    );
    h.stop(Instant::now());
    let _ = std::fs::remove_dir_all(&dir);
}
