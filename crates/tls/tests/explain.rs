//! TLS failures in plain words for the cases the test PKI does not make: chains built here
//! with rcgen (a CA as a leaf, a leaf as a CA, an unsupported critical extension, a forged
//! signature, an expired intermediate, control characters in a name), verified as a rustls
//! server verifies a client certificate; a key that does not match its certificate; a peer
//! that does not speak TLS; a peer that closes without close_notify.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConnection, RootCertStore, ServerConnection, StreamOwned};
use segur_tls::explain::{Explanation, Reason, Side, explain, explain_io, explain_with_chain};
use segur_tls::inspect::CertInfo;
use segur_tls::lint::{self, lint, lint_chain};
use segur_tls::{Identity, TlsError, client_config, server_config};
use time::{Duration, OffsetDateTime};

/// A certificate made here, with what it takes to issue others.
struct Made {
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
    key_der: Vec<u8>,
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "SEGUR EXPLAIN TEST");
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str, from: OffsetDateTime, to: OffsetDateTime) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = from;
    p.not_after = to;
    p
}

fn leaf_params(cn: &str, from: OffsetDateTime, to: OffsetDateTime) -> CertificateParams {
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    p.distinguished_name = dn(cn);
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    p.not_before = from;
    p.not_after = to;
    p
}

fn make(params: CertificateParams, by: Option<&Made>) -> Made {
    let key = KeyPair::generate().expect("key");
    let cert = match by {
        Some(issuer) => params.signed_by(&key, &issuer.issuer),
        None => params.self_signed(&key),
    }
    .expect("certificate");
    Made {
        der: cert.der().clone(),
        key_der: key.serialize_der(),
        issuer: Issuer::new(params, key),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn year() -> (OffsetDateTime, OffsetDateTime) {
    (now() - Duration::days(1), now() + Duration::days(365))
}

fn roots(root: &Made) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.add(root.der.clone()).expect("root");
    roots
}

/// The error of a rustls server verifying `chain` (leaf first) as a client certificate.
fn verify(chain: &[CertificateDer<'static>], root: &Made) -> rustls::Error {
    let verifier = WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots(root)),
        Arc::new(segur_tls::provider()),
    )
    .build()
    .expect("verifier");
    verifier
        .verify_client_cert(&chain[0], &chain[1..], UnixTime::now())
        .expect_err("the chain must be refused")
}

/// One line, no control characters, no Rust debug text.
fn assert_plain(e: &Explanation) {
    let t = &e.text;
    assert!(!t.chars().any(char::is_control), "{t:?}");
    for debug in ["Other(", "OtherError", "Error(", "https://", "{ ", "Some("] {
        assert!(!t.contains(debug), "{debug} in {t}");
    }
}

/// A root, an intermediate, and a valid leaf under it.
fn pki() -> (Made, Made, Made) {
    let (from, to) = (now() - Duration::days(30), now() + Duration::days(3000));
    let root = make(ca_params("SEGUR EXPLAIN ROOT", from, to), None);
    let inter = make(
        ca_params("SEGUR EXPLAIN INTERMEDIATE", from, to),
        Some(&root),
    );
    let (lf, lt) = year();
    let leaf = make(leaf_params("SEGUR EXPLAIN LEAF", lf, lt), Some(&inter));
    (root, inter, leaf)
}

#[test]
fn a_ca_presented_as_a_client_certificate() {
    let (root, inter, _) = pki();
    let err = verify(std::slice::from_ref(&inter.der), &root);
    let e = explain(&err, Side::Server);
    assert_plain(&e);
    assert_eq!(
        (e.refused_by, e.certificate_of, e.reason),
        (Side::Server, Some(Side::Client), Reason::BadCertificate)
    );
    assert!(e.text.contains("CA certificate"), "{}", e.text);
    assert!(e.text.contains("end-entity"), "{}", e.text);
    assert!(!e.text.contains("CaUsedAsEndEntity"), "{}", e.text);
}

#[test]
fn a_leaf_where_the_intermediate_belongs() {
    let (root, inter, leaf) = pki();
    let (from, to) = year();
    let under_leaf = make(
        leaf_params("SEGUR EXPLAIN UNDER A LEAF", from, to),
        Some(&leaf),
    );
    let err = verify(
        &[under_leaf.der.clone(), leaf.der.clone(), inter.der.clone()],
        &root,
    );
    let e = explain(&err, Side::Server);
    assert_plain(&e);
    assert_eq!(e.reason, Reason::BadCertificate);
    assert!(e.text.contains("wrong order"), "{}", e.text);
    assert!(!e.text.contains("EndEntityUsedAsCa"), "{}", e.text);
}

#[test]
fn an_unsupported_critical_extension() {
    let (root, inter, _) = pki();
    let (from, to) = year();
    let mut params = leaf_params("SEGUR EXPLAIN CRITICAL", from, to);
    let mut ext = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![5, 0]);
    ext.set_criticality(true);
    params.custom_extensions = vec![ext];
    let leaf = make(params, Some(&inter));
    let err = verify(&[leaf.der.clone(), inter.der.clone()], &root);
    let e = explain(&err, Side::Server);
    assert_plain(&e);
    assert!(e.text.contains("marked critical"), "{}", e.text);
    assert!(!e.text.contains("UnsupportedCriticalExtension"));
}

#[test]
fn a_signature_by_another_ca_of_the_same_name() {
    let (root, inter, _) = pki();
    let (from, to) = (now() - Duration::days(30), now() + Duration::days(3000));
    let twin = make(
        ca_params("SEGUR EXPLAIN INTERMEDIATE", from, to),
        Some(&root),
    );
    let (lf, lt) = year();
    let leaf = make(leaf_params("SEGUR EXPLAIN FORGED", lf, lt), Some(&twin));
    let err = verify(&[leaf.der.clone(), inter.der.clone()], &root);
    let e = explain(&err, Side::Server);
    assert_plain(&e);
    assert_eq!(e.reason, Reason::BadSignature);
    assert!(e.text.contains("signature does not verify"), "{}", e.text);
    assert!(!e.text.contains("BadSignature"));
}

#[test]
fn a_certificate_that_is_not_der() {
    let (root, inter, _) = pki();
    let err = verify(
        &[
            CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]),
            inter.der.clone(),
        ],
        &root,
    );
    let e = explain(&err, Side::Server);
    assert_plain(&e);
    assert!(e.text.contains("not a well-formed X.509"), "{}", e.text);
    assert!(!e.text.contains("BadEncoding"));
}

#[test]
fn an_expired_intermediate_is_named_not_the_valid_leaf() {
    let (from, to) = (now() - Duration::days(400), now() + Duration::days(3000));
    let root = make(ca_params("SEGUR EXPLAIN ROOT", from, to), None);
    let inter = make(
        ca_params(
            "SEGUR EXPLAIN OLD INTERMEDIATE",
            now() - Duration::days(400),
            now() - Duration::days(10),
        ),
        Some(&root),
    );
    let (lf, lt) = year();
    let leaf = make(leaf_params("SEGUR EXPLAIN LEAF", lf, lt), Some(&inter));
    let chain = vec![leaf.der.clone(), inter.der.clone()];
    let err = verify(&chain, &root);

    // With the chain: the intermediate is named, the leaf said valid.
    let e = explain_with_chain(&err, Side::Server, &chain);
    assert_plain(&e);
    assert_eq!(e.reason, Reason::Expired);
    assert!(
        e.text
            .contains("intermediate CA `CN=SEGUR EXPLAIN OLD INTERMEDIATE"),
        "{}",
        e.text
    );
    assert!(e.text.contains("certificate itself is valid"), "{}", e.text);
    assert!(e.text.contains("10 days ago"), "{}", e.text);

    // Without it: no claim that the client's own certificate expired.
    let e = explain(&err, Side::Server);
    assert_plain(&e);
    assert!(
        e.text.contains(
            "it has expired, or an intermediate CA of its chain has: a certificate of \
                       the chain (the leaf or an intermediate) expired on "
        ),
        "{}",
        e.text
    );
    let alert = explain(
        &rustls::Error::AlertReceived(rustls::AlertDescription::CertificateExpired),
        Side::Client,
    );
    assert!(alert.text.contains("intermediate CA"), "{}", alert.text);

    // The lint: the leaf is valid, the chain finding names the intermediate.
    let info = CertInfo::from_der(&leaf.der).expect("x509");
    let now = now().unix_timestamp();
    let findings = lint(&info, now);
    assert!(!findings.iter().any(|f| f.rule == lint::EXPIRED.id));
    let chain_finding = lint_chain(&chain, roots(&root), now, &findings).expect("chain finding");
    assert_eq!(chain_finding.rule, lint::CHAIN.id);
    assert!(
        chain_finding
            .message
            .contains("intermediate CA `CN=SEGUR EXPLAIN OLD INTERMEDIATE"),
        "{}",
        chain_finding.message
    );
}

#[test]
fn an_expired_leaf_is_named_as_such() {
    let (root, inter, _) = pki();
    let leaf = make(
        leaf_params(
            "SEGUR EXPLAIN OLD LEAF",
            now() - Duration::days(100),
            now() - Duration::days(3),
        ),
        Some(&inter),
    );
    let chain = vec![leaf.der.clone(), inter.der.clone()];
    let err = verify(&chain, &root);
    let e = explain_with_chain(&err, Side::Server, &chain);
    assert!(e.text.contains(": it has expired (on "), "{}", e.text);
    assert!(!e.text.contains("intermediate CA `"), "{}", e.text);
    // The lint reports it once, as the leaf's expiry.
    let info = CertInfo::from_der(&leaf.der).expect("x509");
    let now = now().unix_timestamp();
    let findings = lint(&info, now);
    assert!(findings.iter().any(|f| f.rule == lint::EXPIRED.id));
    assert_eq!(lint_chain(&chain, roots(&root), now, &findings), None);
}

#[test]
fn control_characters_in_names_are_escaped() {
    let (_, inter, _) = pki();
    let (from, to) = year();
    let evil = "EVIL\n\x1b[31mRED\0 OU=1990000010";
    let mut params = leaf_params(evil, from, to);
    params
        .distinguished_name
        .push(DnType::OrganizationalUnitName, "x\ry\x07");
    let leaf = make(params, Some(&inter));
    let info = CertInfo::from_der(&leaf.der).expect("x509");
    assert!(
        !info.subject.chars().any(char::is_control),
        "{}",
        info.subject
    );
    assert!(
        info.subject.contains(r"EVIL\n\x1b[31mRED\0 OU=1990000010"),
        "{}",
        info.subject
    );
    for f in lint(&info, now().unix_timestamp()) {
        assert!(!f.message.chars().any(char::is_control), "{}", f.message);
    }
    // A name mismatch lists the names the certificate carries: escaped too.
    let err = rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext {
        expected: ServerName::try_from("dmp.example").expect("name"),
        presented: vec!["evil\n\x1b]0;pwned\x07".into()],
    });
    let e = explain(&err, Side::Client);
    assert_plain(&e);
    assert!(e.text.contains(r"evil\n\x1b]0;pwned\x07"), "{}", e.text);
}

#[test]
fn a_key_that_does_not_match_its_certificate() {
    let (_, _, leaf) = pki();
    let other = KeyPair::generate().expect("key");
    let id = Identity::new(
        vec![leaf.der.clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(other.serialize_der())),
    )
    .expect("identity");
    let err = id.check().expect_err("mismatch");
    let text = err.to_string();
    assert!(
        text.starts_with("the private key does not match the certificate"),
        "{text}"
    );
    assert!(!text.contains("KeyMismatch"), "{text}");
    let mut roots = RootCertStore::empty();
    roots.add(leaf.der.clone()).ok();
    let err = server_config(&id, roots).expect_err("mismatch");
    assert!(matches!(err, TlsError::Rustls(_)));
    assert!(err.to_string().contains("does not match"), "{err}");
    // The matching key is accepted.
    let good = Identity::new(
        vec![leaf.der.clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone())),
    )
    .expect("identity");
    good.check().expect("matching key");
}

/// A TCP server on loopback that answers `bytes` to whatever comes, then closes.
fn plaintext_server(bytes: &'static [u8]) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        if let Ok((mut sock, _)) = listener.accept() {
            let _ = sock.write_all(bytes);
            let _ = sock.flush();
            std::thread::sleep(StdDuration::from_millis(200));
        }
    });
    addr
}

fn tls_client_error(addr: std::net::SocketAddr, roots: RootCertStore) -> std::io::Error {
    let cfg = Arc::new(client_config(None, roots).expect("client config"));
    let sock = TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(StdDuration::from_secs(10))).ok();
    let conn =
        ClientConnection::new(cfg, ServerName::try_from("localhost").expect("name")).expect("conn");
    let mut tls = StreamOwned::new(conn, sock);
    let mut buf = [0u8; 16];
    tls.write_all(b"ping")
        .and_then(|_| tls.flush())
        .and_then(|_| tls.read(&mut buf).map(|_| ()))
        .expect_err("the connection must fail")
}

#[test]
fn tls_spoken_to_a_plaintext_smtp_port() {
    let (root, _, _) = pki();
    let addr = plaintext_server(b"220 mail.example ESMTP ready\r\n");
    let err = tls_client_error(addr, roots(&root));
    let e = explain_io(&err, Side::Client).expect("a TLS error");
    assert_plain(&e);
    assert_eq!((e.refused_by, e.reason), (Side::Client, Reason::NotTls));
    assert!(e.text.contains("did not answer in TLS"), "{}", e.text);
    assert!(e.text.contains("STARTTLS"), "{}", e.text);
    assert!(!e.text.contains("InvalidContentType"), "{}", e.text);
}

#[test]
fn plaintext_spoken_to_a_tls_server() {
    let (root, inter, leaf) = pki();
    let id = Identity::new(
        vec![leaf.der.clone(), inter.der.clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone())),
    )
    .expect("identity");
    let cfg = Arc::new(server_config(&id, roots(&root)).expect("server config"));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let client = std::thread::spawn(move || {
        let mut sock = TcpStream::connect(addr).expect("connect");
        let _ = sock.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let mut sink = Vec::new();
        let _ = sock.read_to_end(&mut sink);
    });
    let (sock, _) = listener.accept().expect("accept");
    sock.set_read_timeout(Some(StdDuration::from_secs(10))).ok();
    let mut tls = StreamOwned::new(ServerConnection::new(cfg).expect("conn"), sock);
    let mut buf = [0u8; 4];
    let err = tls.read_exact(&mut buf).expect_err("not TLS");
    drop(tls);
    client.join().expect("client");
    let e = explain_io(&err, Side::Server).expect("a TLS error");
    assert_plain(&e);
    assert_eq!(e.reason, Reason::NotTls);
    assert!(
        e.text.contains("the client did not speak TLS"),
        "{}",
        e.text
    );
}

#[test]
fn a_peer_closing_without_close_notify() {
    let (root, inter, leaf) = pki();
    let id = Identity::new(
        vec![leaf.der.clone(), inter.der.clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone())),
    )
    .expect("identity");
    let server_cfg = Arc::new(server_config(&id, roots(&root)).expect("server config"));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().expect("accept");
        sock.set_read_timeout(Some(StdDuration::from_secs(10))).ok();
        let mut conn = ServerConnection::new(server_cfg).expect("conn");
        while conn.is_handshaking() {
            if conn.complete_io(&mut sock).is_err() {
                return;
            }
        }
        let mut tls = StreamOwned::new(conn, sock);
        let mut buf = [0u8; 4];
        let _ = tls.read_exact(&mut buf);
        // Drop the TCP connection without a close_notify alert.
        let _ = tls.sock.shutdown(std::net::Shutdown::Both);
    });
    let cfg = Arc::new(client_config(Some(&id), roots(&root)).expect("client config"));
    let sock = TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(StdDuration::from_secs(10))).ok();
    let conn =
        ClientConnection::new(cfg, ServerName::try_from("localhost").expect("name")).expect("conn");
    let mut tls = StreamOwned::new(conn, sock);
    tls.write_all(b"ping")
        .and_then(|_| tls.flush())
        .expect("sent");
    let mut buf = Vec::new();
    let err = tls.read_to_end(&mut buf).expect_err("an unexpected end");
    server.join().expect("server");
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
    let e = explain_io(&err, Side::Client).expect("explained");
    assert_plain(&e);
    assert_eq!((e.refused_by, e.reason), (Side::Server, Reason::Closed));
    assert!(e.text.contains("without ending TLS properly"), "{}", e.text);
    // Other I/O errors are not TLS's to explain.
    assert!(explain_io(&std::io::Error::other("disk full"), Side::Client).is_none());
}
