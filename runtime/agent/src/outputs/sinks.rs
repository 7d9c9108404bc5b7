//! The sink kinds: stdout, file, syslog, program and HTTP(S).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use super::{Breaker, Record, Sink, SinkError};
use crate::config::{HttpOutput, SinkSettings};

/// Falco's `stdout_output`.
pub struct Stdout;

impl Sink for Stdout {
    fn name(&self) -> &'static str {
        "stdout"
    }

    fn deliver(&mut self, r: &Record) -> Result<(), SinkError> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", r.line())?;
        out.flush()?;
        Ok(())
    }
}

/// Falco's `file_output`: appends; `keep_alive: false` opens the file per alert; SIGUSR1
/// reopens it (logrotate).
pub struct FileSink {
    path: PathBuf,
    keep_alive: bool,
    file: Option<File>,
}

impl FileSink {
    pub fn new(path: PathBuf, keep_alive: bool) -> FileSink {
        FileSink {
            path,
            keep_alive,
            file: None,
        }
    }

    fn open(&self) -> Result<File, SinkError> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| {
                SinkError::Other(format!(
                    "failed to open output file {}: {e}",
                    self.path.display()
                ))
            })
    }
}

impl Sink for FileSink {
    fn name(&self) -> &'static str {
        "file"
    }

    fn deliver(&mut self, r: &Record) -> Result<(), SinkError> {
        let mut file = match self.file.take() {
            Some(f) => f,
            None => self.open()?,
        };
        writeln!(file, "{}", r.line())?;
        if self.keep_alive {
            self.file = Some(file);
        }
        Ok(())
    }

    fn reopen(&mut self) {
        self.file = None;
    }
}

/// Falco's `syslog_output`: one datagram per alert to the local syslog socket, at the syslog
/// level equal to Falco's priority (0 = Emergency … 7 = Debug), facility `user`, as glibc's
/// `syslog(3)` writes it without `openlog`.
pub struct Syslog {
    socket: PathBuf,
    conn: Option<UnixDatagram>,
}

/// syslog facility `user` (1), shifted.
const LOG_USER: u8 = 1 << 3;

impl Syslog {
    pub fn new(socket: PathBuf) -> Syslog {
        Syslog { socket, conn: None }
    }

    /// The RFC 3164 local form: `<PRI>Mmm dd hh:mm:ss lanner[pid]: message`.
    pub fn frame(priority: u8, message: &str, unix_secs: u64) -> String {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let stamp = crate::replay::rfc3339(unix_secs.saturating_mul(1_000_000_000));
        let month = stamp
            .get(5..7)
            .and_then(|m| m.parse::<usize>().ok())
            .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
            .copied()
            .unwrap_or("Jan");
        let day = stamp
            .get(8..10)
            .and_then(|d| d.parse::<u32>().ok())
            .unwrap_or(1);
        let time = stamp.get(11..19).unwrap_or("00:00:00");
        format!(
            "<{}>{month} {day:>2} {time} lanner[{}]: {message}",
            LOG_USER | (priority & 7),
            std::process::id()
        )
    }
}

impl Sink for Syslog {
    fn name(&self) -> &'static str {
        "syslog"
    }

    fn deliver(&mut self, r: &Record) -> Result<(), SinkError> {
        if self.conn.is_none() {
            let s = UnixDatagram::unbound()?;
            s.connect(&self.socket).map_err(|e| {
                SinkError::Other(format!(
                    "cannot connect to syslog at {}: {e}",
                    self.socket.display()
                ))
            })?;
            s.set_write_timeout(Some(Duration::from_secs(1)))?;
            self.conn = Some(s);
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let frame = Syslog::frame(r.priority as u8, r.line(), secs);
        let sent = self.conn.as_ref().map(|c| c.send(frame.as_bytes()));
        match sent {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => {
                // The daemon may have restarted: reconnect on the next alert.
                self.conn = None;
                Err(e.into())
            }
            None => Err(SinkError::Other("syslog socket not connected".into())),
        }
    }

    fn reopen(&mut self) {
        self.conn = None;
    }
}

/// Falco's `program_output`: the command runs through `sh -c` and reads alerts on stdin.
/// `keep_alive: true` keeps one process and respawns it when it exits; `false` runs one per
/// alert and waits for it — on this sink's thread only, never detection's.
pub struct Program {
    command: String,
    keep_alive: bool,
    child: Option<(Child, ChildStdin)>,
}

impl Program {
    pub fn new(command: String, keep_alive: bool) -> Program {
        Program {
            command,
            keep_alive,
            child: None,
        }
    }

    fn spawn(&self) -> Result<(Child, ChildStdin), SinkError> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| SinkError::Other("the program has no stdin".into()))?;
        Ok((child, stdin))
    }

    fn end(&mut self) {
        if let Some((mut child, stdin)) = self.child.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl Sink for Program {
    fn name(&self) -> &'static str {
        "program"
    }

    fn deliver(&mut self, r: &Record) -> Result<(), SinkError> {
        if !self.keep_alive {
            let (mut child, mut stdin) = self.spawn()?;
            let wrote = writeln!(stdin, "{}", r.line());
            drop(stdin);
            child.wait()?;
            return wrote.map_err(Into::into);
        }
        // A keep-alive program that exited is respawned; the alert is written to the new one.
        for _ in 0..2 {
            let alive = match &mut self.child {
                Some((child, _)) => matches!(child.try_wait(), Ok(None)),
                None => false,
            };
            if !alive {
                self.end();
                self.child = Some(self.spawn()?);
            }
            if let Some((_, stdin)) = &mut self.child {
                match writeln!(stdin, "{}", r.line()).and_then(|()| stdin.flush()) {
                    Ok(()) => return Ok(()),
                    Err(_) => self.end(),
                }
            }
        }
        Err(SinkError::Other(
            "the program exits before it reads alerts".into(),
        ))
    }

    fn reopen(&mut self) {
        self.end();
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.end();
    }
}

/// Falco's `http_output`, with what Falco lacks: status codes checked (2xx is delivered),
/// every failure retried with exponential backoff and full jitter, and a circuit breaker.
pub struct Http {
    agent: ureq::Agent,
    url: String,
    content_type: &'static str,
    echo: bool,
    settings: SinkSettings,
}

/// Why the HTTP sink could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    #[error("cannot read `{path}` for `http_output`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("`{path}` holds no PEM {what}")]
    Pem { path: String, what: &'static str },
}

fn read(path: &str) -> Result<Vec<u8>, HttpSetupError> {
    std::fs::read(path).map_err(|source| HttpSetupError::Read {
        path: path.to_string(),
        source,
    })
}

fn certs_of(pem: &[u8]) -> Vec<ureq::tls::Certificate<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.to_owned()),
            _ => None,
        })
        .collect()
}

impl Http {
    pub fn new(
        h: &HttpOutput,
        json: bool,
        settings: &SinkSettings,
    ) -> Result<Http, HttpSetupError> {
        use ureq::tls::{ClientCert, PemItem, RootCerts, TlsConfig};
        // Falco's order: ca_cert, then ca_bundle, then every file of ca_path.
        let mut roots = Vec::new();
        if !h.ca_cert.is_empty() {
            roots = certs_of(&read(&h.ca_cert)?);
            if roots.is_empty() {
                return Err(HttpSetupError::Pem {
                    path: h.ca_cert.clone(),
                    what: "certificate",
                });
            }
        } else if !h.ca_bundle.is_empty() {
            roots = certs_of(&read(&h.ca_bundle)?);
        } else if let Ok(dir) = std::fs::read_dir(&h.ca_path) {
            for e in dir.flatten() {
                if let Ok(pem) = std::fs::read(e.path()) {
                    roots.extend(certs_of(&pem));
                }
            }
        }
        let mut tls = TlsConfig::builder().disable_verification(h.insecure);
        if !roots.is_empty() {
            tls = tls.root_certs(RootCerts::new_with_certs(&roots));
        }
        if h.mtls {
            let cert_pem = read(&h.client_cert)?;
            let chain = certs_of(&cert_pem);
            let key_pem = read(&h.client_key)?;
            let key = ureq::tls::parse_pem(&key_pem).find_map(|i| match i {
                Ok(PemItem::PrivateKey(k)) => Some(k.to_owned()),
                _ => None,
            });
            let Some(key) = key else {
                return Err(HttpSetupError::Pem {
                    path: h.client_key.clone(),
                    what: "private key",
                });
            };
            if chain.is_empty() {
                return Err(HttpSetupError::Pem {
                    path: h.client_cert.clone(),
                    what: "certificate",
                });
            }
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(settings.http_timeout))
            .user_agent(h.user_agent.as_str())
            .tls_config(tls.build())
            .build()
            .into();
        Ok(Http {
            agent,
            url: h.url.clone(),
            content_type: if json {
                "application/json"
            } else {
                "text/plain"
            },
            echo: h.echo,
            settings: settings.clone(),
        })
    }

    fn attempt(&self, body: &str) -> Result<(), SinkError> {
        let resp = self
            .agent
            .post(&self.url)
            .header("Content-Type", self.content_type)
            .send(body)
            .map_err(|e| SinkError::Other(e.to_string()))?;
        let status = resp.status().as_u16();
        if self.echo {
            let mut resp = resp;
            if let Ok(text) = resp.body_mut().read_to_string() {
                println!("{text}");
            }
        }
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(SinkError::Status(status))
        }
    }
}

/// Exponential backoff with full jitter: a uniform wait in `[0, min(max, initial * 2^n)]`.
pub fn backoff(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let cap = initial
        .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
        .min(max);
    let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

impl Sink for Http {
    fn name(&self) -> &'static str {
        "http"
    }

    fn deliver(&mut self, r: &Record) -> Result<(), SinkError> {
        let body = r.line();
        let mut last = SinkError::Other("no attempt".into());
        for attempt in 0..self.settings.http_max_attempts {
            if attempt > 0 {
                std::thread::sleep(backoff(
                    self.settings.http_backoff_initial,
                    self.settings.http_backoff_max,
                    attempt - 1,
                ));
            }
            match self.attempt(body) {
                Ok(()) => return Ok(()),
                // A 4xx other than 408/429 will not get better by retrying.
                Err(SinkError::Status(s)) if (400..500).contains(&s) && s != 408 && s != 429 => {
                    return Err(SinkError::Status(s));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn breaker(&self) -> Option<Breaker> {
        Some(Breaker {
            failures: self.settings.breaker_failures,
            cooldown: self.settings.breaker_cooldown,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_priority_is_falco_priority_at_facility_user() {
        let f = Syslog::frame(4, "hi", 0);
        assert!(f.starts_with("<12>Jan  1 00:00:00 lanner["), "{f}");
        assert!(f.ends_with("]: hi"));
    }

    #[test]
    fn backoff_is_capped() {
        for a in 0..30 {
            assert!(
                backoff(Duration::from_millis(100), Duration::from_secs(1), a)
                    <= Duration::from_secs(1)
            );
        }
    }
}
