//! Loopback mutual TLS with the test PKI: rustls over std TcpStream, one thread per side.
//! The server requires client certificates (WebPkiClientVerifier); the good client is
//! accepted, every broken one is refused, and both sides' errors are explained.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection, StreamOwned};
use segur_tls::explain::{Reason, Side, explain};
use segur_tls::pki::{Defect, PkiOptions, TestPki};
use segur_tls::{Identity, client_config, server_config};

fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        TestPki::generate(&PkiOptions::default(), time::OffsetDateTime::now_utc())
            .expect("test PKI")
    })
}

fn server() -> Arc<ServerConfig> {
    let pki = pki();
    let id = pki.server.identity().expect("server identity");
    Arc::new(server_config(&id, pki.roots().expect("roots")).expect("server config"))
}

fn client(identity: Option<&Identity>) -> Arc<ClientConfig> {
    Arc::new(client_config(identity, pki().roots().expect("roots")).expect("client config"))
}

fn rustls_error(e: &std::io::Error) -> Option<rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned()
}

struct Outcome {
    /// The client certificate the server saw, or the server's error.
    server: Result<Option<CertificateDer<'static>>, rustls::Error>,
    /// The client's error, if any.
    client: Result<(), rustls::Error>,
}

/// One connection: the client sends "ping", the server answers "pong".
fn handshake(client_cfg: Arc<ClientConfig>, server_name: &str) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let cfg = server();
    let server = std::thread::spawn(move || {
        let (sock, _) = listener.accept().expect("accept");
        sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let conn = ServerConnection::new(cfg).expect("server connection");
        let mut tls = StreamOwned::new(conn, sock);
        let mut buf = [0u8; 4];
        let result = tls.read_exact(&mut buf).and_then(|_| {
            tls.write_all(b"pong")?;
            tls.flush()
        });
        match result {
            Ok(()) => Ok(tls
                .conn
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.clone().into_owned())),
            Err(e) => {
                Err(rustls_error(&e).unwrap_or_else(|| rustls::Error::General(e.to_string())))
            }
        }
    });
    let sock = TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let name = ServerName::try_from(server_name.to_string()).expect("server name");
    let conn = ClientConnection::new(client_cfg, name).expect("client connection");
    let mut tls = StreamOwned::new(conn, sock);
    let mut buf = [0u8; 4];
    let client = tls
        .write_all(b"ping")
        .and_then(|_| tls.flush())
        .and_then(|_| tls.read_exact(&mut buf))
        .map_err(|e| rustls_error(&e).unwrap_or_else(|| rustls::Error::General(e.to_string())));
    if client.is_ok() {
        assert_eq!(&buf, b"pong");
    }
    // The client's side is done: close it so that a server still waiting stops.
    drop(tls);
    Outcome {
        server: server.join().expect("server thread"),
        client,
    }
}

/// Both sides' explanations agree on who refused, and why.
fn assert_refused(outcome: &Outcome, refused_by: Side, reason: Reason) {
    let server_err = outcome.server.as_ref().expect_err("the server must fail");
    let client_err = outcome.client.as_ref().expect_err("the client must fail");
    for (err, local) in [(server_err, Side::Server), (client_err, Side::Client)] {
        let e = explain(err, local);
        assert_eq!(
            (e.refused_by, e.reason),
            (refused_by, reason),
            "{local:?} saw {err:?}: {}",
            e.text
        );
    }
}

#[test]
fn a_good_client_is_accepted_and_seen_by_the_server() {
    for good in &pki().clients {
        let id = good.identity().expect("identity");
        let outcome = handshake(client(Some(&id)), "localhost");
        assert!(outcome.client.is_ok(), "{:?}", outcome.client);
        let seen = outcome
            .server
            .expect("server accepts")
            .expect("a client certificate");
        assert_eq!(&seen, id.leaf(), "{}", good.name);
    }
}

#[test]
fn the_server_also_answers_on_its_ip_address() {
    let id = pki().clients[0].identity().expect("identity");
    let outcome = handshake(client(Some(&id)), "127.0.0.1");
    assert!(outcome.client.is_ok() && outcome.server.is_ok());
}

#[test]
fn no_client_certificate_is_refused_by_the_server() {
    let outcome = handshake(client(None), "localhost");
    assert_refused(&outcome, Side::Server, Reason::NoClientCertificate);
    let text = explain(outcome.client.as_ref().unwrap_err(), Side::Client).text;
    assert_eq!(
        text,
        "the server refused the handshake: it requires a client certificate and none was sent"
    );
}

#[test]
fn broken_clients_are_refused_for_their_defect() {
    let cases = [
        (Defect::Expired, Reason::Expired),
        (Defect::NotYetValid, Reason::Expired),
        (Defect::UnknownCa, Reason::UnknownCa),
        (Defect::WrongEku, Reason::WrongPurpose),
    ];
    for (defect, reason) in cases {
        assert!(defect.refused_in_handshake());
        let id = pki()
            .broken(defect)
            .expect("broken")
            .identity()
            .expect("identity");
        let outcome = handshake(client(Some(&id)), "localhost");
        assert_refused(&outcome, Side::Server, reason);
        let e = explain(outcome.server.as_ref().unwrap_err(), Side::Server);
        assert_eq!(e.certificate_of, Some(Side::Client), "{defect:?}");
    }
}

#[test]
fn a_missing_structure_id_does_not_stop_a_handshake() {
    let id = pki()
        .broken(Defect::NoStructureId)
        .expect("broken")
        .identity()
        .expect("identity");
    let outcome = handshake(client(Some(&id)), "localhost");
    assert!(outcome.client.is_ok() && outcome.server.is_ok());
}

#[test]
fn a_chain_without_its_intermediate_is_an_unknown_ca() {
    let good = &pki().clients[0];
    let (chain, key) = good.identity().expect("identity").into_parts();
    let leaf_only = Identity::new(chain[..1].to_vec(), key).expect("identity");
    let outcome = handshake(client(Some(&leaf_only)), "localhost");
    assert_refused(&outcome, Side::Server, Reason::UnknownCa);
    let text = explain(outcome.client.as_ref().unwrap_err(), Side::Client).text;
    assert!(text.contains("lacks the intermediate"), "{text}");
}

#[test]
fn a_name_mismatch_is_refused_by_the_client() {
    let id = pki().clients[0].identity().expect("identity");
    let outcome = handshake(client(Some(&id)), "dmp.example.invalid");
    let e = explain(outcome.client.as_ref().unwrap_err(), Side::Client);
    assert_eq!(
        (e.refused_by, e.reason),
        (Side::Client, Reason::NameMismatch)
    );
    assert_eq!(e.certificate_of, Some(Side::Server));
    assert!(e.text.contains("does not name the host"), "{}", e.text);
    // The server only gets the alert: it knows who refused, not that the name was the cause.
    let e = explain(outcome.server.as_ref().unwrap_err(), Side::Server);
    assert_eq!(
        (e.refused_by, e.reason),
        (Side::Client, Reason::BadCertificate)
    );
    assert_eq!(e.certificate_of, Some(Side::Server));
}

#[test]
fn a_server_from_another_pki_is_an_unknown_ca_for_the_client() {
    let other = TestPki::generate(&PkiOptions::default(), time::OffsetDateTime::now_utc())
        .expect("other PKI");
    let id = pki().clients[0].identity().expect("identity");
    let cfg = Arc::new(client_config(Some(&id), other.roots().expect("roots")).expect("client"));
    let outcome = handshake(cfg, "localhost");
    assert_refused(&outcome, Side::Client, Reason::UnknownCa);
}

/// The DMP's own client is TLS 1.2 (`specs/certs.md` §5): refusals read the same there.
fn tls12_client(identity: Option<&Identity>) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(Arc::new(segur_tls::provider()))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("TLS 1.2")
        .with_root_certificates(pki().roots().expect("roots"));
    Arc::new(match identity {
        Some(id) => {
            let (chain, key) = id.clone().into_parts();
            builder
                .with_client_auth_cert(chain, key)
                .expect("client auth")
        }
        None => builder.with_no_client_auth(),
    })
}

#[test]
fn tls12_refusals_are_explained_alike() {
    let outcome = handshake(tls12_client(None), "localhost");
    assert_refused(&outcome, Side::Server, Reason::NoClientCertificate);
    for (defect, reason) in [
        (Defect::Expired, Reason::Expired),
        (Defect::UnknownCa, Reason::UnknownCa),
        (Defect::WrongEku, Reason::WrongPurpose),
    ] {
        let id = pki()
            .broken(defect)
            .expect("broken")
            .identity()
            .expect("identity");
        let outcome = handshake(tls12_client(Some(&id)), "localhost");
        assert_refused(&outcome, Side::Server, reason);
    }
    let id = pki().clients[0].identity().expect("identity");
    let outcome = handshake(tls12_client(Some(&id)), "localhost");
    assert!(outcome.client.is_ok() && outcome.server.is_ok());
}
