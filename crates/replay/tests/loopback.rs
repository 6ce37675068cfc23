//! Replay against a real in-process `segur-sink` with a generated test PKI.

use segur_replay::requests::load_dir;
use segur_replay::run::{Load, run};
use segur_sink::Sink;
use segur_tls::pki::Role;

mod common;
use common::*;

#[test]
fn four_users_with_a_pool_of_four_identities_store_twenty_documents() {
    let f = fixture();
    let reqs = f.dir.path().join("reqs");
    requests(&reqs, 20);
    let (sink, _) = Sink::from_config(&f.config).expect("sink");
    let port = sink.local_addr().expect("addr").port();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));

    let ep = endpoint(&f, port, "pool_dir = \"clients\"\n");
    assert_eq!(ep.identity_files().expect("pool").len(), 4);
    let prepared = load_dir(&reqs, ep.kind).expect("load");
    let report = run(&ep, &prepared, Load::closed(4, 20)).expect("run");
    stopper.stop();
    thread.join().expect("join");

    assert_eq!(report.ok, 20, "{report:#?}");
    assert_eq!(report.failed, 0, "{report:#?}");
    assert_eq!(report.latency.samples, 20);
    assert!(report.latency.p50_us > 0 && report.latency.max_us >= report.latency.p99_us);
    assert_eq!(report.identities, 4);
    assert_eq!(
        (report.handshakes, report.reconnects),
        (4, 0),
        "one kept-alive connection per user: {report:#?}"
    );
    let index =
        std::fs::read_to_string(f.config.store.join(segur_sink::store::INDEX)).expect("index");
    assert_eq!(index.lines().count(), 20, "every document stored");
    eprintln!(
        "debug build, loopback: {:.1} req/s, p50 {} us, p99 {} us",
        report.throughput_rps, report.latency.p50_us, report.latency.p99_us
    );
}

#[test]
fn an_untrusted_or_expired_client_is_counted_as_tls_handshake_errors() {
    let f = fixture();
    let reqs = f.dir.path().join("reqs");
    requests(&reqs, 2);
    let (sink, _) = Sink::from_config(&f.config).expect("sink");
    let port = sink.local_addr().expect("addr").port();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));
    let prepared = load_dir(&reqs, segur_replay::Kind::Iti41).expect("load");
    // Under TLS 1.3 the server judges the client certificate after the client's Finished: the
    // client waits for its verdict before writing, so the alert names the real reason.
    for (bad, words) in [
        (
            "unknown-ca",
            "does not trust the CA that issued the client's certificate",
        ),
        (
            "expired",
            "the client's certificate has expired or is not valid yet",
        ),
        (
            "not-yet-valid",
            "the client's certificate has expired or is not valid yet",
        ),
        ("wrong-eku", "extendedKeyUsage lacks"),
    ] {
        let e = f
            .manifest
            .entries
            .iter()
            .find(|e| e.name == bad)
            .expect("broken entry");
        let ep = endpoint(
            &f,
            port,
            &format!(
                "cert = {:?}\nkey = {:?}\n",
                f.pki_dir.join(&e.chain),
                f.pki_dir.join(&e.key)
            ),
        );
        let report = run(&ep, &prepared, Load::closed(2, 4)).expect("run");
        assert_eq!(report.ok, 0, "{bad}: {report:#?}");
        assert_eq!(report.errors.len(), 1, "{report:#?}");
        assert_eq!(report.errors[0].kind, "tls-handshake", "{report:#?}");
        assert_eq!(report.errors[0].count, 4);
        assert!(
            report.errors[0]
                .example
                .starts_with("the server refused the handshake: ")
                && report.errors[0].example.contains(words),
            "{bad}: {report:#?}"
        );
        assert_eq!(report.handshakes, 4, "a refused connection is not reused");
    }
    stopper.stop();
    thread.join().expect("join");
    assert!(
        !f.config.store.join(segur_sink::store::INDEX).exists()
            || std::fs::read_to_string(f.config.store.join(segur_sink::store::INDEX))
                .expect("index")
                .is_empty()
    );
}

#[test]
fn a_closed_port_is_counted_as_connect_errors() {
    let f = fixture();
    let reqs = f.dir.path().join("reqs");
    requests(&reqs, 1);
    // Bind then drop: a port that nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let ep = endpoint(&f, port, "pool_dir = \"clients\"\n");
    let prepared = load_dir(&reqs, ep.kind).expect("load");
    let report = run(&ep, &prepared, Load::closed(2, 6)).expect("run");
    assert_eq!(report.ok, 0);
    assert_eq!(report.errors.len(), 1, "{report:#?}");
    assert_eq!(report.errors[0].kind, "connect");
    assert_eq!(report.errors[0].count, 6);
    assert_eq!(report.latency.samples, 0);
}

#[test]
fn without_keep_alive_every_request_makes_its_handshake() {
    let f = fixture();
    let reqs = f.dir.path().join("reqs");
    requests(&reqs, 6);
    let (sink, _) = Sink::from_config(&f.config).expect("sink");
    let port = sink.local_addr().expect("addr").port();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));
    let ep = endpoint(&f, port, "pool_dir = \"clients\"\n");
    let prepared = load_dir(&reqs, ep.kind).expect("load");
    let load = Load {
        keep_alive: false,
        ..Load::closed(2, 6)
    };
    let report = run(&ep, &prepared, load).expect("run");
    stopper.stop();
    thread.join().expect("join");
    assert_eq!((report.ok, report.handshakes), (6, 6), "{report:#?}");
}

#[test]
fn the_open_model_sends_at_the_rate_and_reports_corrected_and_raw_latency() {
    let f = fixture();
    let reqs = f.dir.path().join("reqs");
    requests(&reqs, 12);
    let (sink, _) = Sink::from_config(&f.config).expect("sink");
    let port = sink.local_addr().expect("addr").port();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));
    let ep = endpoint(&f, port, "pool_dir = \"clients\"\n");
    let prepared = load_dir(&reqs, ep.kind).expect("load");
    // 12 arrivals at 20/s after a 0.4 s ramp: the last is due at 0.4 + (11 - 4) / 20 = 0.75 s.
    let load = Load {
        rate: Some(20.0),
        ramp_up: std::time::Duration::from_millis(400),
        ..Load::closed(2, 12)
    };
    let ticks = std::sync::Mutex::new(Vec::new());
    let report = segur_replay::run_with_progress(&ep, &prepared, load, &|p| {
        ticks.lock().expect("lock").push(p.clone())
    })
    .expect("run");
    stopper.stop();
    thread.join().expect("join");
    assert_eq!(report.ok, 12, "{report:#?}");
    assert_eq!(report.model, segur_replay::Model::Open);
    assert!(report.elapsed_s >= 0.75, "{report:#?}");
    let corrected = report.latency_corrected.as_ref().expect("open model");
    assert_eq!(corrected.samples, 12);
    assert!(corrected.max_us >= report.latency.max_us, "{report:#?}");
    assert!(corrected.p50_us >= report.latency.p50_us, "{report:#?}");
    let ticks = ticks.into_inner().expect("ticks");
    let last = ticks.last().expect("a final progress report");
    assert!(last.done && last.ok == 12 && last.sent == 12, "{ticks:?}");
    assert_eq!(
        last.p99_us, corrected.p99_us,
        "the last report covers the whole run"
    );
}

#[test]
fn an_open_model_beyond_capacity_shows_the_queueing_in_the_corrected_latency() {
    // One connection, 400 arrivals/s of requests that each take ≥ 20 ms (the sink's added
    // latency): requests queue, and only the corrected latency shows it.
    let mut f = fixture();
    f.config.faults.latency_ms = 20;
    let reqs = f.dir.path().join("reqs");
    requests(&reqs, 10);
    let (sink, _) = Sink::from_config(&f.config).expect("sink");
    let port = sink.local_addr().expect("addr").port();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));
    let ep = endpoint(&f, port, "pool_dir = \"clients\"\n");
    let prepared = load_dir(&reqs, ep.kind).expect("load");
    let load = Load {
        rate: Some(400.0),
        ..Load::closed(1, 10)
    };
    let report = run(&ep, &prepared, load).expect("run");
    stopper.stop();
    thread.join().expect("join");
    assert_eq!(report.ok, 10, "{report:#?}");
    let corrected = report.latency_corrected.expect("open");
    // The 10th was due at 22.5 ms and left after nine 20 ms answers: ≥ 180 − 22.5 ms late.
    assert!(corrected.max_us >= 150_000, "{corrected:?}");
    assert!(
        report.latency.max_us < corrected.max_us / 2,
        "{:?}",
        report.latency
    );
}

/// A server that answers the first request of each connection (a chunked body, keep-alive
/// announced), then reads the next request and closes without answering: the number of
/// requests it read and answered.
fn one_answer_per_connection(
    f: &Fixture,
) -> (u16, std::sync::Arc<[std::sync::atomic::AtomicU64; 2]>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicU64, Ordering};
    let entry = |r: Role| {
        f.manifest
            .entries
            .iter()
            .find(|e| e.role == r)
            .expect("entry")
            .clone()
    };
    let id = segur_tls::Identity::from_pem_files(
        &f.pki_dir.join(entry(Role::Server).chain),
        Some(&f.pki_dir.join(entry(Role::Server).key)),
    )
    .expect("server identity");
    let roots = segur_tls::roots_from_pem(
        &std::fs::read(f.pki_dir.join(entry(Role::RootCa).cert)).expect("root"),
    )
    .expect("roots");
    let tls = std::sync::Arc::new(segur_tls::server_config(&id, roots).expect("server config"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let counts = std::sync::Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let c = counts.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { return };
            let conn = segur_tls::rustls::ServerConnection::new(tls.clone()).expect("conn");
            let mut s = segur_tls::rustls::StreamOwned::new(conn, tcp);
            for answer in [true, false] {
                let mut buf = Vec::new();
                let mut byte = [0u8; 1];
                while !buf.ends_with(b"\r\n\r\n") {
                    match s.read(&mut byte) {
                        Ok(1) => buf.push(byte[0]),
                        _ => break,
                    }
                }
                if !buf.ends_with(b"\r\n\r\n") {
                    break;
                }
                let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
                let len: usize = head
                    .split("content-length:")
                    .nth(1)
                    .and_then(|r| r.split("\r\n").next())
                    .and_then(|v| v.trim().parse().ok())
                    .expect("length");
                let mut body = vec![0u8; len];
                if s.read_exact(&mut body).is_err() {
                    break;
                }
                c[0].fetch_add(1, Ordering::SeqCst);
                if answer {
                    let a = "<rs:RegistryResponse status=\"urn:oasis:names:tc:ebxml-regrep:";
                    let b = "ResponseStatusType:Success\"/>";
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\n\
                         Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n\
                         {:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                        a.len(),
                        b.len()
                    );
                    if s.write_all(response.as_bytes())
                        .and_then(|()| s.flush())
                        .is_err()
                    {
                        break;
                    }
                    c[1].fetch_add(1, Ordering::SeqCst);
                }
            }
            s.conn.send_close_notify();
            let _ = s.flush();
        }
    });
    (port, counts)
}

#[test]
fn a_request_the_server_reads_and_drops_is_a_failure_never_sent_again() {
    use std::sync::atomic::Ordering;
    let f = fixture();
    let reqs = f.dir.path().join("reqs");
    requests(&reqs, 3);
    // The server answers the first request of each connection, reads the second and closes.
    let (port, counts) = one_answer_per_connection(&f);
    let ep = endpoint(&f, port, "pool_dir = \"clients\"\n");
    let prepared = load_dir(&reqs, ep.kind).expect("load");
    let report = run(&ep, &prepared, Load::closed(1, 5)).expect("run");
    // Requests 2 and 4 were read and dropped: failures, not sent again (RFC 9112 9.3.1);
    // 3 and 5 went on new connections.
    assert_eq!(
        (report.requests, report.ok, report.failed),
        (5, 3, 2),
        "{report:#?}"
    );
    assert_eq!(report.handshakes, 3, "{report:#?}");
    assert_eq!(counts[1].load(Ordering::SeqCst), 3, "answered");
    assert_eq!(
        counts[0].load(Ordering::SeqCst),
        5,
        "read by the server: each once"
    );
}

#[test]
fn a_client_without_a_certificate_is_told_the_server_requires_one() {
    let f = fixture();
    let (sink, _) = Sink::from_config(&f.config).expect("sink");
    let port = sink.local_addr().expect("addr").port();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));
    let root = f
        .manifest
        .entries
        .iter()
        .find(|e| e.role == Role::RootCa)
        .expect("root");
    let roots =
        segur_tls::roots_from_pem(&std::fs::read(f.pki_dir.join(&root.cert)).expect("root"))
            .expect("roots");
    let tls = std::sync::Arc::new(segur_tls::client_config(None, roots).expect("config"));
    let connector = segur_replay::http::Connector {
        addrs: segur_replay::http::Connector::resolve("127.0.0.1", port).expect("addr"),
        host_header: format!("localhost:{port}"),
        server_name: "localhost".try_into().expect("name"),
        path: "/iti41".into(),
        connect_timeout: std::time::Duration::from_secs(5),
        timeout: std::time::Duration::from_secs(5),
        probe: segur_replay::run::DEFAULT_PROBE,
        keep_alive: true,
    };
    let e = connector.open(&tls).expect_err("refused");
    stopper.stop();
    thread.join().expect("join");
    assert_eq!(
        e,
        segur_replay::Failure::Tls(
            "the server refused the handshake: it requires a client certificate and none was sent"
                .into()
        )
    );
}

#[test]
fn smtp_submission_with_starttls_and_a_pool_stores_each_message_once() {
    let mut f = fixture();
    f.config.smtp_listen = Some("127.0.0.1:0".into());
    let dir = f.dir.path().join("mss");
    messages(&dir, 6);
    let (sink, _) = Sink::from_config(&f.config).expect("sink");
    let port = sink.smtp_addr().expect("smtp").port();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));
    let ep = smtp_endpoint(&f, port, "pool_dir = \"clients\"\n");
    let prepared = load_dir(&dir, ep.kind).expect("load");
    let first = run(&ep, &prepared, Load::closed(2, 6)).expect("run");
    // The same messages again: the sink refuses each as a duplicate, by reply code.
    let again = run(&ep, &prepared, Load::closed(2, 6)).expect("run");
    // An expired identity: refused in the handshake after STARTTLS, the reason in words.
    let expired = f
        .manifest
        .entries
        .iter()
        .find(|e| e.name == "expired")
        .expect("expired");
    let bad = smtp_endpoint(
        &f,
        port,
        &format!(
            "cert = {:?}\nkey = {:?}\n",
            f.pki_dir.join(&expired.chain),
            f.pki_dir.join(&expired.key)
        ),
    );
    let refused = run(&bad, &prepared, Load::closed(1, 2)).expect("run");
    stopper.stop();
    thread.join().expect("join");

    assert_eq!((first.ok, first.failed), (6, 0), "{first:#?}");
    assert_eq!(first.handshakes, 2, "one SMTP session per user: {first:#?}");
    assert_eq!(first.latency.samples, 6);
    let index =
        std::fs::read_to_string(f.config.store.join(segur_sink::store::INDEX)).expect("index");
    assert_eq!(
        index.lines().count(),
        6,
        "one document per message, each stored once"
    );
    assert!(
        index.lines().all(|l| l.contains("\"via\":\"mss\"")),
        "{index}"
    );
    assert_eq!(again.ok, 0, "{again:#?}");
    assert_eq!(again.errors[0].kind, "smtp-550", "{again:#?}");
    assert_eq!(again.errors[0].count, 6, "{again:#?}");
    assert!(
        again.errors[0].example.contains("SEGUR-SINK-DUPLICATE"),
        "{again:#?}"
    );
    assert_eq!(
        again.handshakes, 2,
        "a refusal keeps the session: {again:#?}"
    );
    assert_eq!(refused.errors[0].kind, "tls-handshake", "{refused:#?}");
    assert!(
        refused.errors[0]
            .example
            .contains("the client's certificate has expired"),
        "{refused:#?}"
    );
}

#[test]
fn smtp_submission_over_implicit_tls_on_the_sink() {
    let mut f = fixture();
    f.config.smtps_listen = Some("127.0.0.1:0".into());
    let dir = f.dir.path().join("mss");
    messages(&dir, 3);
    let (sink, _) = Sink::from_config(&f.config).expect("sink");
    let port = sink.smtps_addr().expect("smtps").port();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));
    let mut ep = smtp_endpoint(&f, port, "pool_dir = \"clients\"\n");
    ep.url = format!("smtps://localhost:{port}");
    let prepared = load_dir(&dir, ep.kind).expect("load");
    let report = run(&ep, &prepared, Load::closed(1, 3)).expect("run");
    stopper.stop();
    thread.join().expect("join");
    assert_eq!((report.ok, report.handshakes), (3, 1), "{report:#?}");
    let index =
        std::fs::read_to_string(f.config.store.join(segur_sink::store::INDEX)).expect("index");
    assert_eq!(index.lines().count(), 3);
}

#[test]
fn smtp_auth_plain_over_tls_is_sent_when_the_sink_asks_for_it() {
    let mut f = fixture();
    f.config.smtp_listen = Some("127.0.0.1:0".into());
    f.config.smtp_accounts = vec![segur_sink::SmtpAccount {
        user: "cabinet".into(),
        password: "s3cret".into(),
    }];
    let dir = f.dir.path().join("mss");
    messages(&dir, 2);
    let (sink, _) = Sink::from_config(&f.config).expect("sink");
    let port = sink.smtp_addr().expect("smtp").port();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));
    let base = smtp_endpoint(&f, port, "pool_dir = \"clients\"\n");
    let prepared = load_dir(&dir, base.kind).expect("load");
    let with = |user: Option<&str>, password: &str| {
        let mut ep = base.clone();
        ep.smtp_user = user.map(str::to_string);
        ep.smtp_password = Some(password.to_string());
        run(&ep, &prepared, Load::closed(1, 2)).expect("run")
    };
    let anonymous = with(None, "");
    let wrong = with(Some("cabinet"), "guess");
    let right = with(Some("cabinet"), "s3cret");
    stopper.stop();
    thread.join().expect("join");
    assert_eq!(anonymous.errors[0].kind, "smtp-530", "{anonymous:#?}");
    assert_eq!(wrong.errors[0].kind, "smtp-535", "{wrong:#?}");
    assert_eq!((right.ok, right.failed), (2, 0), "{right:#?}");
}

#[test]
fn requests_built_on_the_fly_are_each_a_new_document_stored_once() {
    let f = fixture();
    let (sink, _) = Sink::from_config(&f.config).expect("sink");
    let port = sink.local_addr().expect("addr").port();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));
    let ep = endpoint(&f, port, "pool_dir = \"clients\"\n");
    let recipe = segur_replay::build::Recipe {
        doc_type: segur_cda::DocType::CrBio,
        seed: 500,
        kind: ep.kind,
    };
    let report = segur_replay::run_source(
        &ep,
        segur_replay::Source::Build(recipe, None),
        Load::closed(2, 6),
        &|_| {},
        &|_| {},
    )
    .expect("run");
    let mismatch = segur_replay::run_source(
        &ep,
        segur_replay::Source::Build(
            segur_replay::build::Recipe {
                kind: segur_replay::Kind::Mhd,
                ..recipe
            },
            None,
        ),
        Load::closed(1, 1),
        &|_| {},
        &|_| {},
    );
    // A check that refuses the documents of odd seeds: those are not sent.
    struct OddSeedsRefused(std::sync::atomic::AtomicUsize);
    impl segur_replay::build::DocumentCheck for OddSeedsRefused {
        fn check(&self, name: &str, document: &[u8]) -> Result<(), String> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            assert!(document.starts_with(b"<?xml"), "{name}");
            let seed: u64 = name
                .trim_start_matches("cr-bio-")
                .trim_end_matches(".xml")
                .parse()
                .expect("seed");
            if seed % 2 == 1 {
                Err("1 error finding".into())
            } else {
                Ok(())
            }
        }
    }
    let check = OddSeedsRefused(Default::default());
    let checked = segur_replay::run_source(
        &ep,
        segur_replay::Source::Build(
            segur_replay::build::Recipe {
                seed: 600,
                ..recipe
            },
            Some(&check),
        ),
        Load::closed(2, 6),
        &|_| {},
        &|_| {},
    )
    .expect("run");
    stopper.stop();
    thread.join().expect("join");
    assert_eq!((report.ok, report.failed), (6, 0), "{report:#?}");
    assert!(mismatch.is_err());
    assert_eq!(check.0.into_inner(), 6, "every built document is checked");
    assert_eq!((checked.ok, checked.failed), (3, 3), "{checked:#?}");
    assert_eq!(checked.errors.len(), 1, "{checked:#?}");
    assert_eq!(
        (checked.errors[0].kind.as_str(), checked.errors[0].count),
        ("invalid-document", 3),
        "{checked:#?}"
    );
    let index =
        std::fs::read_to_string(f.config.store.join(segur_sink::store::INDEX)).expect("index");
    assert_eq!(
        index.lines().count(),
        9,
        "6 built, then the 3 that passed the check"
    );
}
