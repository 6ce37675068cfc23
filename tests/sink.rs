//! `segur sink` as a user runs it: a config file, an ITI-41 submission over mutual TLS, then
//! SIGTERM: the process answers what it holds, says it stopped and exits 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use segur_cda::DocType;
use segur_exchange::iti41;
use segur_exchange::package::{Input, Options};
use segur_ins::{Generator, SeedRng};
use segur_tls::pki::{PkiOptions, TestPki};
use segur_tls::rustls::pki_types::ServerName;
use segur_tls::rustls::{ClientConnection, StreamOwned};

mod common;
use common::start_sink;

/// A test PKI written under DIR/pki.
fn write_pki(dir: &std::path::Path) -> TestPki {
    let options = PkiOptions::default();
    let pki = TestPki::generate(&options, time::OffsetDateTime::now_utc()).expect("pki");
    pki.write(&dir.join("pki"), &options, false)
        .expect("write pki");
    pki
}

/// A TLS client connection to the sink on localhost with the PKI's first client identity.
fn client_connection(pki: &TestPki) -> ClientConnection {
    let client = segur_tls::client_config(
        Some(&pki.clients[0].identity().expect("identity")),
        pki.roots().expect("roots"),
    )
    .expect("client config");
    ClientConnection::new(
        Arc::new(client),
        ServerName::try_from("localhost").expect("name"),
    )
    .expect("conn")
}

#[test]
fn sink_accepts_a_submission_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let pki = write_pki(dir.path());
    let (mut child, addr, lines) = start_sink(dir.path());

    let identity = Generator::new(5).next_identity();
    let doc = segur_cda::build(DocType::CrBio, &identity, &mut SeedRng::new(5)).to_bytes();
    let req = iti41::build(
        &[Input {
            name: "d.xml".into(),
            bytes: doc.clone(),
            header: None,
        }],
        &Options {
            now: 1_736_000_000,
            ..Options::default()
        },
    )
    .expect("iti41");
    let mut s = StreamOwned::new(
        client_connection(&pki),
        TcpStream::connect(&addr).expect("connect"),
    );
    write!(
        s,
        "POST /iti41 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
        req.content_type,
        req.body.len()
    )
    .expect("head");
    s.write_all(&req.body).expect("body");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("ResponseStatusType:Success"), "{answer}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let t = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(status.code(), Some(0), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("-> 200, 1 stored")),
        "{rest:?}"
    );
    assert_eq!(rest.last().map(String::as_str), Some("segur sink: stopped"));
    let index = std::fs::read_to_string(dir.path().join("store/index.jsonl")).expect("index");
    assert_eq!(index.lines().count(), 1);
}

#[test]
fn a_request_with_bare_lf_line_ends_is_answered_at_once_not_at_the_timeout() {
    let dir = tempfile::tempdir().expect("tmp");
    let pki = write_pki(dir.path());
    let (mut child, addr, _lines) = start_sink(dir.path());
    let conn = client_connection(&pki);
    let tcp = TcpStream::connect(&addr).expect("connect");
    // Well under the sink's 60 s: the answer must not wait for the timeout.
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut s = StreamOwned::new(conn, tcp);
    s.write_all(b"GET /health HTTP/1.1\nHost: localhost\n\n")
        .expect("request");
    let mut answer = String::new();
    let read = s.read_to_string(&mut answer);
    let _ = child.kill();
    let _ = child.wait();
    read.expect("answered and closed before the client's timeout");
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("bare LF"), "{answer}");
}

#[test]
fn a_server_certificate_out_of_its_validity_is_said_at_start() {
    let dir = tempfile::tempdir().expect("tmp");
    write_pki(dir.path());
    let (mut child, _, before, _) = common::start_sink_as(dir.path(), "pki/broken/expired");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        before
            .iter()
            .any(|l| l.contains("warning: the server certificate") && l.contains("expired on")),
        "{before:?}"
    );
}
