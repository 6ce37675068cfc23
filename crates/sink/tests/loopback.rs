//! End to end on loopback with a generated test PKI: a sink requiring client certificates,
//! a blocking rustls client writing HTTP requests by hand.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use segur_cda::DocType;
use segur_exchange::package::{Input, Options};
use segur_exchange::{iti41, mhd, mss};
use segur_ins::{Generator, SeedRng};
use segur_sink::service::{FAILURE, SUCCESS};
use segur_sink::store::{INDEX, Record};
use segur_sink::{Config, Sink, Stopper};
use segur_tls::pki::{PkiOptions, Role, TestPki};
use segur_tls::rustls::pki_types::ServerName;
use segur_tls::rustls::{ClientConnection, RootCertStore, StreamOwned};
use segur_tls::{Identity, client_config};

struct Fixture {
    _dir: tempfile::TempDir,
    pki: TestPki,
    config: Config,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let options = PkiOptions::default();
    let pki = TestPki::generate(&options, time::OffsetDateTime::now_utc()).expect("pki");
    let pki_dir = dir.path().join("pki");
    let manifest = pki.write(&pki_dir, &options, false).expect("write pki");
    let at = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_relative() {
            pki_dir.join(p)
        } else {
            p.to_path_buf()
        }
    };
    let server = manifest
        .entries
        .iter()
        .find(|e| e.role == Role::Server)
        .expect("server entry");
    let root = manifest
        .entries
        .iter()
        .find(|e| e.role == Role::RootCa)
        .expect("root entry");
    let config = Config::from_toml(
        &format!(
            "listen = \"127.0.0.1:0\"\ncert = {:?}\nkey = {:?}\nclient_roots = {:?}\nstore = \"store\"\nworkers = 2\ntimeout_s = 10\n",
            at(&server.chain),
            at(&server.key),
            at(&root.cert),
        ),
        dir.path(),
    )
    .expect("config");
    Fixture {
        _dir: dir,
        pki,
        config,
    }
}

struct Running {
    addr: SocketAddr,
    smtp: Option<SocketAddr>,
    stopper: Stopper,
    thread: JoinHandle<()>,
    events: Arc<std::sync::Mutex<Vec<String>>>,
}

fn start(config: &Config) -> (Running, Vec<String>) {
    let (sink, notes) = Sink::from_config(config).expect("sink");
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let ev = events.clone();
    let sink = sink.with_log(Arc::new(move |e| {
        if let Ok(mut v) = ev.lock() {
            v.push(e.to_string());
        }
    }));
    let addr = sink.local_addr().expect("addr");
    let smtp = sink.smtp_addr();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));
    (
        Running {
            addr,
            smtp,
            stopper,
            thread,
            events,
        },
        notes,
    )
}

impl Running {
    fn stop(self) -> Vec<String> {
        self.stopper.stop();
        self.thread.join().expect("join");
        self.events.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// POST by hand over rustls; the status and the body, or the error in words.
fn post(
    addr: SocketAddr,
    identity: Option<&Identity>,
    roots: RootCertStore,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> Result<(u16, String), String> {
    let config = client_config(identity, roots).map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let conn = ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let mut s = StreamOwned::new(conn, tcp);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    s.write_all(body).map_err(|e| e.to_string())?;
    s.flush().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP response: {text:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    Ok((status, body.to_string()))
}

fn document(doc_type: DocType, seed: u64) -> Input {
    let identity = Generator::new(seed).next_identity();
    let mut rng = SeedRng::new(seed);
    Input {
        name: format!("doc-{seed}.xml"),
        bytes: segur_cda::build(doc_type, &identity, &mut rng).to_bytes(),
        header: None,
    }
}

fn options() -> Options {
    Options {
        now: 1_736_000_000,
        ..Options::default()
    }
}

fn records(store: &Path) -> Vec<Record> {
    std::fs::read_to_string(store.join(INDEX))
        .expect("index")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect()
}

#[test]
fn iti41_accepted_duplicate_refused_broken_refused_and_restart_keeps_the_index() {
    let f = fixture();
    let client = f.pki.clients[0].identity().expect("client");
    let input = document(DocType::CrBio, 21);
    let req = iti41::build(std::slice::from_ref(&input), &options()).expect("iti41");
    let (run, notes) = start(&f.config);
    assert!(notes.is_empty(), "{notes:?}");

    let (status, body) = post(
        run.addr,
        Some(&client),
        f.pki.roots().expect("roots"),
        "/iti41",
        &req.content_type,
        &req.body,
    )
    .expect("answer");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(SUCCESS), "{body}");
    assert!(
        body.contains("ProvideAndRegisterDocumentSet-bResponse"),
        "{body}"
    );
    // WS-Addressing: the answer relates to the request's MessageID.
    let request = String::from_utf8_lossy(&req.body);
    let id_at = request
        .find("MessageID")
        .expect("a MessageID in the request");
    let id = request[id_at..]
        .split_once('>')
        .and_then(|(_, rest)| rest.split_once('<'))
        .map(|(id, _)| id.trim())
        .expect("the MessageID's text");
    assert!(id.starts_with("urn:uuid:"), "{id}");
    assert!(body.contains(&format!("RelatesTo>{id}</")), "{body}");
    // An MTOM request gets an MTOM answer: the envelope in the root part of an XOP package.
    assert!(
        body.starts_with("--MIMEBoundary_segur_")
            && body.contains(
                "Content-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\""
            ),
        "{body}"
    );
    let recs = records(&f.config.store);
    assert_eq!(recs.len(), 1);
    assert_eq!(
        std::fs::read(f.config.store.join(&recs[0].file)).expect("stored"),
        input.bytes,
        "the stored bytes are the document's"
    );
    assert_eq!(recs[0].via, "iti41");
    let info =
        segur_tls::inspect::CertInfo::from_der(f.pki.clients[0].cert.as_ref()).expect("inspect");
    assert_eq!(recs[0].client.sha256, info.sha256);
    assert_eq!(recs[0].client.subject, info.subject);

    // The same submission again: the uniqueId is already stored.
    let (status, body) = post(
        run.addr,
        Some(&client),
        f.pki.roots().expect("roots"),
        "/iti41",
        &req.content_type,
        &req.body,
    )
    .expect("answer");
    assert_eq!(status, 200);
    assert!(body.contains(FAILURE), "{body}");
    assert!(body.contains("XDSDuplicateUniqueIdInRegistry"), "{body}");
    assert!(body.contains("SEGUR-SINK-DUPLICATE"), "{body}");

    // A hash that does not match the document.
    let other = document(DocType::CrBio, 22);
    let req2 = iti41::build(&[other], &options()).expect("iti41");
    let text = String::from_utf8(req2.body.clone()).expect("utf8");
    let slot = text.find("\"hash\"").expect("hash slot");
    let value = slot + text[slot..].find("Value>").expect("value") + "Value>".len();
    let broken = format!(
        "{}{}{}",
        &text[..value],
        "0".repeat(40),
        &text[value + 40..]
    );
    let (status, body) = post(
        run.addr,
        Some(&client),
        f.pki.roots().expect("roots"),
        "/iti41",
        &req2.content_type,
        broken.as_bytes(),
    )
    .expect("answer");
    assert_eq!(status, 200);
    assert!(body.contains(FAILURE), "{body}");
    assert!(body.contains("codeContext=\"SEGUR-XDS-HASH: "), "{body}");
    assert_eq!(records(&f.config.store).len(), 1, "nothing stored");
    let events = run.stop();
    assert!(
        events.iter().any(|e| e.contains("-> 200, 1 stored")),
        "{events:?}"
    );

    // Restart on the same store: the index is read again and the duplicate still refused.
    let (run, notes) = start(&f.config);
    assert!(notes.is_empty(), "{notes:?}");
    let (status, body) = post(
        run.addr,
        Some(&client),
        f.pki.roots().expect("roots"),
        "/iti41",
        &req.content_type,
        &req.body,
    )
    .expect("answer");
    assert_eq!(status, 200);
    assert!(body.contains("XDSDuplicateUniqueIdInRegistry"), "{body}");
    run.stop();
}

#[test]
fn mhd_bundle_accepted_then_refused_as_duplicate() {
    let f = fixture();
    let client = f.pki.clients[1].identity().expect("client");
    let bundle = mhd::build(&[document(DocType::CrBio, 31)], &options()).expect("mhd");
    let (run, _) = start(&f.config);
    let (status, body) = post(
        run.addr,
        Some(&client),
        f.pki.roots().expect("roots"),
        "/fhir",
        "application/fhir+json",
        &bundle,
    )
    .expect("answer");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["type"], "transaction-response");
    let entries = v["entry"].as_array().expect("entries");
    assert!(!entries.is_empty());
    assert!(
        entries
            .iter()
            .all(|e| e["response"]["status"] == "201 Created")
    );
    assert_eq!(records(&f.config.store)[0].via, "mhd");

    let (status, body) = post(
        run.addr,
        Some(&client),
        f.pki.roots().expect("roots"),
        "/fhir",
        "application/fhir+json",
        &bundle,
    )
    .expect("answer");
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("OperationOutcome") && body.contains("SEGUR-SINK-DUPLICATE"));

    let (status, _) = post(
        run.addr,
        Some(&client),
        f.pki.roots().expect("roots"),
        "/fhir",
        "application/fhir+json",
        b"{not json",
    )
    .expect("answer");
    assert_eq!(status, 400);
    let (status, _) = post(
        run.addr,
        Some(&client),
        f.pki.roots().expect("roots"),
        "/nowhere",
        "text/plain",
        b"x",
    )
    .expect("answer");
    assert_eq!(status, 404);
    run.stop();
}

#[test]
fn a_client_without_certificate_is_refused_in_the_handshake() {
    let f = fixture();
    let (run, _) = start(&f.config);
    let got = post(
        run.addr,
        None,
        f.pki.roots().expect("roots"),
        "/iti41",
        "multipart/related",
        b"x",
    );
    assert!(got.is_err(), "{got:?}");
    let events = run.stop();
    assert!(
        events
            .iter()
            .any(|e| e.contains("TLS refused") && e.contains("certificate")),
        "{events:?}"
    );
    assert!(!f.config.store.join(INDEX).exists() || records(&f.config.store).is_empty());
}

#[test]
fn a_silent_client_does_not_hold_the_only_worker_and_is_cut_off_at_the_timeout() {
    let f = fixture();
    let config = Config {
        workers: 1,
        timeout_s: 1,
        ..f.config.clone()
    };
    let (run, _) = start(&config);
    // Connects and says nothing: it has its own thread, the only worker stays free.
    let mut silent = TcpStream::connect(run.addr).expect("connect");
    let client = f.pki.clients[0].identity().expect("client");
    let (status, body) = post(
        run.addr,
        Some(&client),
        f.pki.roots().expect("roots"),
        "/nowhere",
        "text/plain",
        b"x",
    )
    .expect("answer while the silent one waits");
    assert_eq!(status, 404, "{body}");
    // The sink closes the silent connection when its `timeout_s` runs out.
    let mut rest = Vec::new();
    let _ = silent.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    let events = run.stop();
    assert!(
        events
            .iter()
            .any(|e| e.contains("timed out") || e.contains("timeout")),
        "{events:?}"
    );
}

#[test]
fn broken_client_certificates_are_refused_with_the_reason_in_words() {
    use segur_tls::pki::Defect;
    let f = fixture();
    let (run, _) = start(&f.config);
    let cases = [
        (Defect::Expired, "it has expired"),
        (Defect::NotYetValid, "it is not valid yet"),
        (Defect::WrongEku, "extendedKeyUsage"),
        (Defect::UnknownCa, "not issued by a trusted CA"),
    ];
    for (defect, _) in cases {
        let id = f
            .pki
            .broken(defect)
            .expect("broken certificate")
            .identity()
            .expect("identity");
        let got = post(
            run.addr,
            Some(&id),
            f.pki.roots().expect("roots"),
            "/health",
            "text/plain",
            b"",
        );
        assert!(got.is_err(), "{defect:?} accepted: {got:?}");
    }
    // Accepted in the handshake: the lint (segur pki inspect) is what flags it.
    let id = f
        .pki
        .broken(Defect::NoStructureId)
        .expect("broken certificate")
        .identity()
        .expect("identity");
    let got = post(
        run.addr,
        Some(&id),
        f.pki.roots().expect("roots"),
        "/health",
        "text/plain",
        b"",
    );
    assert_eq!(got.map(|r| r.0), Ok(405));
    let events = run.stop();
    for (defect, words) in cases {
        assert!(
            events
                .iter()
                .any(|e| e.contains("TLS refused") && e.contains(words)),
            "{defect:?}: no event saying `{words}` in {events:#?}"
        );
    }
}

#[test]
fn injected_faults_answer_503_drop_or_delay_and_store_nothing() {
    let f = fixture();
    let client = f.pki.clients[0].identity().expect("client");
    let req = iti41::build(&[document(DocType::CrBio, 41)], &options()).expect("iti41");
    let send = |addr| {
        post(
            addr,
            Some(&client),
            f.pki.roots().expect("roots"),
            "/iti41",
            &req.content_type,
            &req.body,
        )
    };
    let with = |faults: segur_sink::Faults| Config {
        faults,
        ..f.config.clone()
    };

    let (run, _) = start(&with(segur_sink::Faults {
        error_rate: 1.0,
        ..Default::default()
    }));
    assert_eq!(send(run.addr).map(|r| r.0), Ok(503));
    let events = run.stop();
    assert!(
        events.iter().any(|e| e.contains("injected fault: 503")),
        "{events:?}"
    );

    let (run, _) = start(&with(segur_sink::Faults {
        drop_rate: 1.0,
        ..Default::default()
    }));
    let got = send(run.addr);
    assert!(got.is_err(), "{got:?}");
    let events = run.stop();
    assert!(
        events.iter().any(|e| e.contains("injected fault: dropped")),
        "{events:?}"
    );
    assert!(records(&f.config.store).is_empty(), "nothing stored");

    let (run, _) = start(&with(segur_sink::Faults {
        latency_ms: 300,
        ..Default::default()
    }));
    let t = std::time::Instant::now();
    let (status, body) = send(run.addr).expect("answer");
    assert!(t.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(status, 200);
    assert!(body.contains(SUCCESS), "{body}");
    run.stop();
    assert_eq!(records(&f.config.store).len(), 1);
}

#[test]
fn concurrent_submissions_of_the_same_documents_are_stored_exactly_once() {
    let f = fixture();
    let config = Config {
        workers: 4,
        ..f.config.clone()
    };
    let (run, _) = start(&config);
    let requests: Vec<iti41::Request> = (0..6)
        .map(|i| iti41::build(&[document(DocType::CrBio, 100 + i)], &options()).expect("iti41"))
        .collect();
    let answers: Vec<(usize, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|t| {
                let req = &requests[t % 6];
                let id = f.pki.clients[t % 3].identity().expect("client");
                let roots = f.pki.roots().expect("roots");
                let addr = run.addr;
                scope.spawn(move || {
                    let (status, body) = post(
                        addr,
                        Some(&id),
                        roots,
                        "/iti41",
                        &req.content_type,
                        &req.body,
                    )
                    .expect("answer");
                    assert_eq!(status, 200);
                    (t % 6, body)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for i in 0..6 {
        let ok = answers
            .iter()
            .filter(|(d, b)| *d == i && b.contains(SUCCESS))
            .count();
        let dup = answers
            .iter()
            .filter(|(d, b)| *d == i && b.contains("XDSDuplicateUniqueIdInRegistry"))
            .count();
        assert_eq!((ok, dup), (1, 1), "document {i}");
    }
    run.stop();
    let recs = records(&config.store);
    assert_eq!(recs.len(), 6);
    let mut ids: Vec<&str> = recs.iter().map(|r| r.unique_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6);
}

/// Read one response (status, body) by its Content-Length, leaving the connection open.
/// A response's head, up to and with its blank line.
fn read_head(s: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("head");
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("utf-8")
}

fn read_response(s: &mut impl Read) -> (u16, Vec<u8>) {
    let head = read_head(s);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("length");
    assert!(head.contains("Connection: keep-alive"), "{head}");
    let mut body = vec![0; length];
    s.read_exact(&mut body).expect("body");
    (status, body)
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let f = fixture();
    let (run, _) = start(&f.config);
    let config = client_config(
        Some(&f.pki.clients[0].identity().expect("client")),
        f.pki.roots().expect("roots"),
    )
    .expect("client config");
    let conn = ClientConnection::new(
        Arc::new(config),
        ServerName::try_from("localhost").expect("name"),
    )
    .expect("conn");
    let mut s = StreamOwned::new(conn, TcpStream::connect(run.addr).expect("connect"));
    let requests: Vec<iti41::Request> = (0..3)
        .map(|i| iti41::build(&[document(DocType::CrBio, 200 + i)], &options()).expect("iti41"))
        .collect();
    for req in &requests {
        write!(
            s,
            "POST /iti41 HTTP/1.1\r\nHost: localhost\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
            req.content_type,
            req.body.len()
        )
        .expect("head");
        s.write_all(&req.body).expect("body");
        let (status, body) = read_response(&mut s);
        assert_eq!(status, 200);
        assert!(String::from_utf8_lossy(&body).contains(SUCCESS));
    }
    // A HEAD is answered with the head alone (RFC 9110 9.3.2): the next response is read
    // right on the same connection. A request without Host is refused (RFC 9112 3.2).
    s.write_all(b"HEAD /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("head");
    let head = read_head(&mut s);
    assert!(
        head.starts_with("HTTP/1.1 200") && head.contains("Content-Length: 3\r\n"),
        "{head}"
    );
    assert_eq!(health(&mut s), 200);
    s.write_all(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
        .expect("last");
    let mut rest = String::new();
    s.read_to_string(&mut rest).expect("closed cleanly");
    assert!(
        rest.starts_with("HTTP/1.1 400") && rest.contains("without Host"),
        "{rest}"
    );
    let events = run.stop();
    let answered: Vec<&String> = events.iter().filter(|e| e.contains(" -> 200")).collect();
    assert_eq!(answered.len(), 5, "{events:?}");
    let peer = answered[0].split(' ').next();
    assert!(
        answered.iter().all(|e| e.split(' ').next() == peer),
        "one connection: {events:?}"
    );
    assert_eq!(records(&f.config.store).len(), 3);
}

/// The ANS rules beside the repository, as the other end-to-end tests find them.
fn ans_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda")
}

#[test]
fn with_rules_a_document_the_cda_rules_refuse_is_not_stored() {
    let f = fixture();
    let config = Config {
        rules: Some(ans_rules()),
        ..f.config.clone()
    };
    let (run, _) = start(&config);
    let client = f.pki.clients[0].identity().expect("client");
    let good = document(DocType::CrBio, 51);
    let mut bad = document(DocType::CrBio, 52);
    let text = String::from_utf8(bad.bytes.clone()).expect("utf-8");
    let at = text.find("<realmCode").expect("realmCode");
    bad.bytes = format!("{}<segurBogus/>{}", &text[..at], &text[at..]).into_bytes();
    for (input, accepted) in [(good, true), (bad, false)] {
        let req = iti41::build(&[input], &options()).expect("iti41");
        let (status, body) = post(
            run.addr,
            Some(&client),
            f.pki.roots().expect("roots"),
            "/iti41",
            &req.content_type,
            &req.body,
        )
        .expect("answer");
        assert_eq!(status, 200);
        assert_eq!(body.contains(SUCCESS), accepted, "{body}");
        if !accepted {
            assert!(body.contains("XDSRegistryError"), "{body}");
            // The XSD's rule id and message, as `segur validate` reports them.
            assert!(body.contains("codeContext=\"cvc-complex-type"), "{body}");
        }
    }
    run.stop();
    assert_eq!(records(&config.store).len(), 1);
}

/// One SMTP reply (all its lines).
fn smtp_reply(s: &mut impl Read) -> String {
    let mut all = String::new();
    loop {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            s.read_exact(&mut byte).expect("reply");
            line.push(byte[0]);
        }
        let line = String::from_utf8(line).expect("utf-8");
        all.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return all;
        }
    }
}

fn smtp_send(s: &mut (impl Read + Write), command: &str) -> String {
    s.write_all(format!("{command}\r\n").as_bytes())
        .expect("command");
    s.flush().expect("flush");
    smtp_reply(s)
}

#[test]
fn smtp_starttls_with_a_client_certificate_stores_the_message_documents() {
    let f = fixture();
    let config = Config {
        smtp_listen: Some("127.0.0.1:0".into()),
        ..f.config.clone()
    };
    let (run, _) = start(&config);
    let smtp = run.smtp.expect("smtp address");
    let message = mss::build(&[document(DocType::CrBio, 61)], &options()).expect("mss");
    let mut stuffed = String::new();
    for line in String::from_utf8(message).expect("ascii").split("\r\n") {
        if line.starts_with('.') {
            stuffed.push('.');
        }
        stuffed.push_str(line);
        stuffed.push_str("\r\n");
    }
    stuffed.push_str(".\r\n");
    let client = f.pki.clients[2].identity().expect("client");
    let mut replies = Vec::new();
    for _ in 0..2 {
        let mut tcp = TcpStream::connect(smtp).expect("connect");
        assert!(smtp_reply(&mut tcp).starts_with("220 "));
        assert!(smtp_send(&mut tcp, "EHLO client.test").contains("STARTTLS"));
        assert!(smtp_send(&mut tcp, "MAIL FROM:<a@test.mssante.fr>").starts_with("530 "));
        assert!(smtp_send(&mut tcp, "STARTTLS").starts_with("220 "));
        let config = client_config(Some(&client), f.pki.roots().expect("roots")).expect("tls");
        let conn = ClientConnection::new(
            Arc::new(config),
            ServerName::try_from("localhost").expect("name"),
        )
        .expect("conn");
        let mut s = StreamOwned::new(conn, tcp);
        assert!(smtp_send(&mut s, "EHLO client.test").starts_with("250"));
        assert!(smtp_send(&mut s, "MAIL FROM:<a@test.mssante.fr>").starts_with("250 "));
        assert!(smtp_send(&mut s, "RCPT TO:<b@patient.mssante.fr>").starts_with("250 "));
        assert!(smtp_send(&mut s, "DATA").starts_with("354 "));
        s.write_all(stuffed.as_bytes()).expect("data");
        replies.push(smtp_reply(&mut s));
        assert!(smtp_send(&mut s, "QUIT").starts_with("221 "));
    }
    assert!(replies[0].starts_with("250 "), "{replies:?}");
    assert!(
        replies[1].starts_with("550 ") && replies[1].contains("SEGUR-SINK-DUPLICATE"),
        "{replies:?}"
    );
    let events = run.stop();
    let recs = records(&config.store);
    assert!(!recs.is_empty(), "{events:?}");
    assert!(recs.iter().all(|r| r.via == "mss"));
    let info =
        segur_tls::inspect::CertInfo::from_der(f.pki.clients[2].cert.as_ref()).expect("inspect");
    assert!(recs.iter().all(|r| r.client.sha256 == info.sha256));
}

#[test]
fn smtp_without_client_certificate_is_refused_in_the_handshake() {
    let f = fixture();
    let config = Config {
        smtp_listen: Some("127.0.0.1:0".into()),
        ..f.config.clone()
    };
    let (run, _) = start(&config);
    let mut tcp = TcpStream::connect(run.smtp.expect("smtp")).expect("connect");
    smtp_reply(&mut tcp);
    smtp_send(&mut tcp, "EHLO client.test");
    assert!(smtp_send(&mut tcp, "STARTTLS").starts_with("220 "));
    let config = client_config(None, f.pki.roots().expect("roots")).expect("tls");
    let conn = ClientConnection::new(
        Arc::new(config),
        ServerName::try_from("localhost").expect("name"),
    )
    .expect("conn");
    let mut s = StreamOwned::new(conn, tcp);
    let _ = s.write_all(b"EHLO client.test\r\n");
    let mut out = Vec::new();
    assert!(s.read_to_end(&mut out).is_err() || out.is_empty());
    let events = run.stop();
    assert!(
        events
            .iter()
            .any(|e| e.contains("TLS refused") && e.contains("sent none")),
        "{events:?}"
    );
}

/// A TLS connection to the sink with client 0's certificate, handshake not yet done.
fn tls_to(f: &Fixture, tcp: TcpStream) -> StreamOwned<ClientConnection, TcpStream> {
    let config = client_config(
        Some(&f.pki.clients[0].identity().expect("client")),
        f.pki.roots().expect("roots"),
    )
    .expect("client config");
    let conn = ClientConnection::new(
        Arc::new(config),
        ServerName::try_from("localhost").expect("name"),
    )
    .expect("conn");
    StreamOwned::new(conn, tcp)
}

/// `GET /health` on a kept-alive connection: the status, the connection left open.
fn health(s: &mut StreamOwned<ClientConnection, TcpStream>) -> u16 {
    s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("request");
    read_response(s).0
}

/// What broke: with a worker per connection, kept-alive connections beyond `workers` waited
/// in a queue until one closed (5 s idle), and the closed ones failed their next request.
#[test]
fn more_kept_alive_clients_than_workers_are_all_served_on_their_own_connections() {
    let f = fixture();
    let config = Config {
        workers: 2,
        ..f.config.clone()
    };
    let (run, _) = start(&config);
    let mut clients: Vec<_> = (0..16)
        .map(|_| tls_to(&f, TcpStream::connect(run.addr).expect("connect")))
        .collect();
    // Each of the 16 is answered while the others stay open and idle, twice over.
    for round in 0..2 {
        for (i, c) in clients.iter_mut().enumerate() {
            assert_eq!(health(c), 200, "round {round}, client {i}");
        }
    }
    let events = run.stop();
    let answered: Vec<&String> = events.iter().filter(|e| e.contains(" -> 200")).collect();
    assert_eq!(answered.len(), 32, "{events:?}");
    let mut peers: Vec<&str> = answered
        .iter()
        .filter_map(|e| e.split(' ').next())
        .collect();
    peers.sort_unstable();
    peers.dedup();
    assert_eq!(
        peers.len(),
        16,
        "16 connections, each used twice: {events:?}"
    );
    // The stop closed every idle connection with a TLS close_notify.
    for mut c in clients {
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).expect("closed cleanly");
        assert!(rest.is_empty());
    }
}

#[test]
fn refusals_in_a_burst_are_logged_ten_a_second() {
    let f = fixture();
    let config = Config {
        max_connections: 1,
        ..f.config.clone()
    };
    let (run, _) = start(&config);
    let mut held = tls_to(&f, TcpStream::connect(run.addr).expect("connect"));
    assert_eq!(health(&mut held), 200);
    let began = std::time::Instant::now();
    for _ in 0..200 {
        let mut c = TcpStream::connect(run.addr).expect("connect");
        let _ = c.read_to_end(&mut Vec::new());
    }
    let quick = began.elapsed() < std::time::Duration::from_millis(900);
    let events = run.stop();
    let refused = events
        .iter()
        .filter(|e| e.contains("https connection refused: max_connections (1) are open"))
        .count();
    assert!(refused >= 1, "{events:?}");
    if quick {
        // All 200 within one second: ten logged one by one.
        assert_eq!(refused, 10, "{events:?}");
    } else {
        assert!(refused < 200, "{refused} lines for 200 refusals");
    }
}

#[test]
fn connections_beyond_max_connections_are_closed_at_once_and_logged() {
    let f = fixture();
    let config = Config {
        max_connections: 2,
        smtp_listen: Some("127.0.0.1:0".into()),
        ..f.config.clone()
    };
    let (run, _) = start(&config);
    let mut open: Vec<_> = (0..2)
        .map(|_| {
            let mut c = tls_to(&f, TcpStream::connect(run.addr).expect("connect"));
            assert_eq!(health(&mut c), 200);
            c
        })
        .collect();
    // A third HTTPS connection: closed before any handshake.
    let mut third = tls_to(&f, TcpStream::connect(run.addr).expect("connect"));
    assert!(
        third
            .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .and_then(|()| third.read_to_end(&mut Vec::new()).map(drop))
            .is_err(),
        "the third connection must not be served"
    );
    // SMTP counts in the same limit, and says why in its greeting.
    let mut smtp = TcpStream::connect(run.smtp.expect("smtp")).expect("connect");
    let greeting = smtp_reply(&mut smtp);
    assert!(greeting.starts_with("421 4.3.2 "), "{greeting}");
    // Once one closes, its place is free again.
    let mut first = open.remove(0);
    first
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("close");
    first.read_to_end(&mut Vec::new()).expect("closed");
    let mut served = false;
    for _ in 0..100 {
        let mut c = tls_to(&f, TcpStream::connect(run.addr).expect("connect"));
        if c.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .and_then(|()| {
                let mut out = String::new();
                c.read_to_string(&mut out).map(|_| out)
            })
            .is_ok_and(|out| out.starts_with("HTTP/1.1 200"))
        {
            served = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(served, "a place freed by a closed connection is used again");
    drop(open);
    let events = run.stop();
    assert!(
        events
            .iter()
            .any(|e| e.contains("https connection refused: max_connections (2) are open")),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.contains("smtp connection refused: max_connections (2) are open")),
        "{events:?}"
    );
}

/// What broke: a stop waited for each idle connection's own timeout (5 s kept-alive HTTPS,
/// the whole `timeout_s` for an SMTP session).
#[test]
fn a_stop_closes_idle_connections_at_once_and_smtp_sessions_with_421() {
    let f = fixture();
    let config = Config {
        smtp_listen: Some("127.0.0.1:0".into()),
        timeout_s: 30,
        keep_alive_s: 30,
        ..f.config.clone()
    };
    let (run, _) = start(&config);
    let mut https: Vec<_> = (0..4)
        .map(|_| {
            let mut c = tls_to(&f, TcpStream::connect(run.addr).expect("connect"));
            assert_eq!(health(&mut c), 200);
            c
        })
        .collect();
    // Connected, handshake done, no request yet.
    let mut fresh = tls_to(&f, TcpStream::connect(run.addr).expect("connect"));
    while fresh.conn.is_handshaking() {
        fresh.conn.complete_io(&mut fresh.sock).expect("handshake");
    }
    https.push(fresh);
    let mut smtp = TcpStream::connect(run.smtp.expect("smtp")).expect("connect");
    assert!(smtp_reply(&mut smtp).starts_with("220 "));
    assert!(smtp_send(&mut smtp, "EHLO client.test").starts_with("250"));
    run.stop();
    for mut c in https {
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).expect("closed with close_notify");
        assert!(rest.is_empty());
    }
    let bye = smtp_reply(&mut smtp);
    assert!(bye.starts_with("421 4.3.2 "), "{bye}");
}

#[test]
fn smtp_pipelined_commands_are_answered_in_order_and_the_message_stored() {
    let f = fixture();
    let config = Config {
        smtp_listen: Some("127.0.0.1:0".into()),
        ..f.config.clone()
    };
    let (run, _) = start(&config);
    let message = mss::build(&[document(DocType::CrBio, 62)], &options()).expect("mss");
    let mut tcp = TcpStream::connect(run.smtp.expect("smtp")).expect("connect");
    assert!(smtp_reply(&mut tcp).starts_with("220 "));
    let ehlo = smtp_send(&mut tcp, "EHLO client.test");
    assert!(ehlo.contains("250-PIPELINING"), "{ehlo}");
    // A command pipelined after STARTTLS is dropped, not run over TLS (RFC 3207 5).
    tcp.write_all(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n")
        .expect("starttls");
    assert!(smtp_reply(&mut tcp).starts_with("220 "));
    let mut s = tls_to(&f, tcp);
    let ehlo = smtp_send(&mut s, "EHLO client.test");
    assert!(
        ehlo.starts_with("250-") && ehlo.contains("PIPELINING"),
        "{ehlo}"
    );
    assert!(
        smtp_send(&mut s, "RCPT TO:<b@patient.mssante.fr>").starts_with("503 "),
        "the injected MAIL was not taken"
    );
    // MAIL, two RCPT and DATA in one write; four replies in order.
    s.write_all(
        b"MAIL FROM:<a@test.mssante.fr>\r\nRCPT TO:<b@patient.mssante.fr>\r\n\
          RCPT TO:<c@patient.mssante.fr>\r\nDATA\r\n",
    )
    .expect("group");
    let replies: Vec<String> = (0..4).map(|_| smtp_reply(&mut s)).collect();
    let codes: Vec<&str> = replies.iter().map(|r| &r[..4]).collect();
    assert_eq!(codes, ["250 ", "250 ", "250 ", "354 "], "{replies:?}");
    let mut data = Vec::new();
    for line in String::from_utf8(message).expect("ascii").split("\r\n") {
        if line.starts_with('.') {
            data.push(b'.');
        }
        data.extend_from_slice(line.as_bytes());
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");
    // The message and the next group (a RCPT without MAIL, then DATA) in one write: the
    // DATA after a refused RCPT is refused too (RFC 2920 3.1).
    data.extend_from_slice(b"RCPT TO:<d@patient.mssante.fr>\r\nDATA\r\nQUIT\r\n");
    s.write_all(&data).expect("data");
    let stored = smtp_reply(&mut s);
    assert!(stored.starts_with("250 2.0.0 stored 1"), "{stored}");
    let codes: Vec<String> = (0..3)
        .map(|_| smtp_reply(&mut s)[..4].to_string())
        .collect();
    assert_eq!(codes, ["503 ", "503 ", "221 "]);
    run.stop();
    assert_eq!(records(&config.store).len(), 1);
}
