//! The HTTPS output against a real TLS receiver on 127.0.0.1: a CA, a server certificate and a
//! client certificate made by the test (rcgen), a rustls server that requires the client
//! certificate (mTLS), and `lanner replay` posting to it. The same receiver refuses an agent
//! without the client certificate and an agent that does not trust the CA: those alerts are
//! counted as failed, never as delivered.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

mod support;
use support::{rule_files, shared, tempdir};

/// The test's PKI: a CA and a server and a client certificate it signed.
struct Pki {
    ca_der: CertificateDer<'static>,
    server_der: CertificateDer<'static>,
    server_key: Vec<u8>,
}

fn make_pki(dir: &Path) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "lanner test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();

    let mut server = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server
        .subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let server_key = KeyPair::generate().unwrap();
    let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key).unwrap();

    let mut client = CertificateParams::new(vec!["lanner-agent".to_string()]).unwrap();
    client
        .distinguished_name
        .push(DnType::CommonName, "lanner-agent");
    let client_key = KeyPair::generate().unwrap();
    let client_cert = client.signed_by(&client_key, &ca_cert, &ca_key).unwrap();

    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("client.crt"), client_cert.pem()).unwrap();
    std::fs::write(dir.join("client.key"), client_key.serialize_pem()).unwrap();
    std::fs::create_dir_all(dir.join("no-cas")).unwrap();
    Pki {
        ca_der: ca_cert.der().clone(),
        server_der: server_cert.der().clone(),
        server_key: server_key.serialize_der(),
    }
}

/// What the receiver saw: the bodies of requests that came over a verified mTLS connection,
/// and how many handshakes failed.
#[derive(Default)]
struct Seen {
    bodies: Vec<String>,
    client_cert_subjects: usize,
    failed_handshakes: usize,
}

fn serve(pki: &Pki) -> (u16, Arc<Mutex<Seen>>) {
    // ring, the provider the agent's own rustls (through ureq) uses; post-quantum key exchange
    // is beside the point of this test.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![pki.server_der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key.clone())),
            )
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s = Arc::clone(&seen);
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            let seen = Arc::clone(&s);
            std::thread::spawn(move || {
                tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                    .unwrap();
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                // Drive the handshake before reading HTTP: a refused client ends here.
                while tls.conn.is_handshaking() {
                    if tls.conn.complete_io(&mut tls.sock).is_err() {
                        seen.lock().unwrap().failed_handshakes += 1;
                        return;
                    }
                }
                let has_client_cert = tls.conn.peer_certificates().is_some_and(|c| !c.is_empty());
                let mut r = BufReader::new(tls);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
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
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    {
                        let mut s = seen.lock().unwrap();
                        s.bodies.push(String::from_utf8_lossy(&body).into_owned());
                        s.client_cert_subjects += usize::from(has_client_cert);
                    }
                    let w = r.get_mut();
                    if w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .and_then(|()| w.flush())
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (port, seen)
}

/// Replays a capture with an HTTPS sink configured by `http` (YAML lines under `http_output:`).
fn replay(dir: &Path, name: &str, http: &str) -> (Vec<String>, String) {
    let config = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &config,
        format!(
            "json_output: true\nstdout_output:\n  enabled: true\n\
             http_output:\n  enabled: true\n{http}\
             lanner:\n  http: {{max_attempts: 2, backoff_initial: 10ms, backoff_max: 20ms, breaker_failures: 1000}}\n"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .arg("replay")
        .arg("--config")
        .arg(&config)
        .arg("--rules")
        .args(rule_files())
        .arg(shared().join("scap/captures/run_as_user_0_container.scap"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    (stdout, stderr)
}

#[test]
fn https_output_verifies_the_server_by_its_ca_and_presents_the_client_certificate() {
    let dir = tempdir("https");
    let pki = make_pki(&dir);
    let (port, seen) = serve(&pki);
    let d = dir.display();

    // ca_cert + mtls: every alert arrives, over connections that presented the client cert.
    let (alerts, stderr) = replay(
        &dir,
        "mtls",
        &format!(
            "  url: https://127.0.0.1:{port}/\n  ca_cert: {d}/ca.pem\n  mtls: true\n  \
             client_cert: {d}/client.crt\n  client_key: {d}/client.key\n"
        ),
    );
    let n = alerts.len();
    assert!(n > 0, "the capture raises alerts: {stderr}");
    assert!(
        stderr.contains(&format!(
            "lanner: output http: {n} delivered, 0 dropped (0 queue full, 0 failed, 0 at shutdown)"
        )),
        "{stderr}"
    );
    {
        let s = seen.lock().unwrap();
        assert_eq!(s.bodies, alerts, "the receiver got every alert, in order");
        assert_eq!(s.client_cert_subjects, n);
    }

    // The same CA given as a bundle (Falco's second choice) works the same.
    seen.lock().unwrap().bodies.clear();
    let (_, stderr) = replay(
        &dir,
        "bundle",
        &format!(
            "  url: https://127.0.0.1:{port}/\n  ca_bundle: {d}/ca.pem\n  mtls: true\n  \
             client_cert: {d}/client.crt\n  client_key: {d}/client.key\n"
        ),
    );
    assert!(
        stderr.contains(&format!("lanner: output http: {n} delivered")),
        "{stderr}"
    );

    // No client certificate: the receiver refuses the handshake; nothing counts as delivered.
    let before = seen.lock().unwrap().bodies.len();
    let (_, stderr) = replay(
        &dir,
        "no-mtls",
        &format!("  url: https://127.0.0.1:{port}/\n  ca_cert: {d}/ca.pem\n"),
    );
    assert!(
        stderr.contains(&format!(
            "lanner: output http: 0 delivered, {n} dropped (0 queue full, {n} failed, 0 at shutdown)"
        )),
        "{stderr}"
    );
    // A CA path without our CA: the server is not trusted, nothing is sent.
    let (_, stderr) = replay(
        &dir,
        "untrusted",
        &format!(
            "  url: https://127.0.0.1:{port}/\n  ca_path: {d}/no-cas\n  mtls: true\n  \
             client_cert: {d}/client.crt\n  client_key: {d}/client.key\n"
        ),
    );
    assert!(
        stderr.contains(&format!(
            "lanner: output http: 0 delivered, {n} dropped (0 queue full, {n} failed, 0 at shutdown)"
        )),
        "{stderr}"
    );
    let s = seen.lock().unwrap();
    assert_eq!(
        s.bodies.len(),
        before,
        "no alert crossed a refused connection"
    );
    assert!(s.failed_handshakes > 0);
}

#[test]
fn a_missing_client_key_is_a_clear_startup_error() {
    let dir = tempdir("https-bad");
    let config = dir.join("falco.yaml");
    std::fs::write(
        &config,
        format!(
            "http_output:\n  enabled: true\n  url: https://127.0.0.1:1/\n  mtls: true\n  \
             client_cert: {d}/missing.crt\n  client_key: {d}/missing.key\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .arg("replay")
        .arg("--config")
        .arg(&config)
        .arg("--rules")
        .arg(shared().join("upstream-rules/falco_rules.yaml"))
        .arg(shared().join("scap/captures/curl_google.scap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "Error: Failed to init output: cannot read `{}/missing.crt` for `http_output`",
            dir.display()
        )),
        "{stderr}"
    );
}
