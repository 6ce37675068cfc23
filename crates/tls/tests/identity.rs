//! Identities from files written by OpenSSL (PEM with PKCS#1, SEC1 and PKCS#8 keys; PKCS#12
//! modern and legacy) and by the test PKI.

use std::path::PathBuf;

use segur_tls::inspect::CertInfo;
use segur_tls::{Identity, TlsError};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/tls")
        .join(name)
}

#[test]
fn pem_with_a_pkcs1_rsa_key() {
    let id = Identity::from_pem_files(&fixture("rsa2048.pem"), Some(&fixture("rsa2048.pkcs1.key")))
        .expect("identity");
    id.check().expect("the key matches the certificate");
    assert!(matches!(
        id.key(),
        rustls::pki_types::PrivateKeyDer::Pkcs1(_)
    ));
    let info = CertInfo::from_der(id.leaf()).expect("x509");
    assert_eq!((info.key.algorithm.as_str(), info.key.bits), ("RSA", 2048));
    assert_eq!(info.signature_algorithm, "sha256WithRSAEncryption");
    assert_eq!(
        info.structure_id
            .as_ref()
            .map(|s| (s.register, s.id.as_str())),
        Some(("FINESS", "990009993"))
    );
}

#[test]
fn pem_with_a_sec1_ec_key() {
    let id = Identity::from_pem_files(&fixture("ec-p256.pem"), Some(&fixture("ec-p256.sec1.key")))
        .expect("identity");
    id.check().expect("the key matches the certificate");
    assert!(matches!(
        id.key(),
        rustls::pki_types::PrivateKeyDer::Sec1(_)
    ));
    let info = CertInfo::from_der(id.leaf()).expect("x509");
    assert_eq!(info.key.curve.as_deref(), Some("P-256"));
    assert_eq!(info.key.bits, 256);
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let id = Identity::from_pem_files(&fixture("rsa2048.pem"), Some(&fixture("ec-p256.sec1.key")))
        .expect("both parse");
    assert!(id.check().is_err());
}

#[test]
fn an_encrypted_pkcs8_key_is_named() {
    let err = Identity::from_pem_files(
        &fixture("rsa2048.pem"),
        Some(&fixture("rsa2048.encrypted.key")),
    )
    .unwrap_err();
    assert!(matches!(err, TlsError::EncryptedKey), "{err}");
}

#[test]
fn a_certificate_file_without_key_says_so() {
    let err = Identity::from_pem_files(&fixture("rsa2048.pem"), None).unwrap_err();
    assert!(matches!(err, TlsError::NoPrivateKey), "{err}");
}

#[test]
fn pkcs12_from_openssl_modern_and_legacy() {
    let pem =
        Identity::from_pem_files(&fixture("rsa2048.pem"), Some(&fixture("rsa2048.pkcs1.key")))
            .expect("pem");
    for file in ["rsa2048.aes.p12", "rsa2048.legacy.p12"] {
        let id = Identity::from_pkcs12_file(&fixture(file), "segur-test")
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(id.leaf(), pem.leaf(), "{file}");
        id.check().unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
fn pkcs12_with_a_wrong_password_is_a_clear_error() {
    let err = Identity::from_pkcs12_file(&fixture("rsa2048.aes.p12"), "nope").unwrap_err();
    assert!(err.to_string().contains("wrong password"), "{err}");
}

#[test]
fn pkcs12_round_trip_keeps_the_chain() {
    let pki = segur_tls::pki::TestPki::generate(
        &segur_tls::pki::PkiOptions {
            clients: 1,
            ..Default::default()
        },
        time::OffsetDateTime::now_utc(),
    )
    .expect("pki");
    let id = pki.clients[0].identity().expect("identity");
    assert_eq!(id.chain().len(), 2, "leaf + intermediate");
    let p12 = id.to_pkcs12("client-001", "pw").expect("write p12");
    let back = Identity::from_pkcs12(&p12, "pw").expect("read p12");
    assert_eq!(back.leaf(), id.leaf());
    assert_eq!(back.chain().len(), 2);
    back.check().expect("key matches");
}

#[test]
fn garbage_is_not_a_certificate() {
    assert!(matches!(
        segur_tls::certs_from_pem(b"hello"),
        Err(TlsError::NoCertificate)
    ));
    assert!(CertInfo::from_der(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
}

/// A P-521 certificate made by OpenSSL 3.0 (`openssl req -x509 -newkey ec -pkeyopt
/// ec_paramgen_curve:P-521`): ring cannot make P-521 keys.
const P521: &str = "\
-----BEGIN CERTIFICATE-----
MIICFDCCAXagAwIBAgIUW6VBt+8cPBnSsUTWvlSgSYibtdYwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQU0VHVVIgVEVTVCBQLTUyMTAgFw0yNjExMjUwNjU0MDNaGA8y
MTI2MTEwMTA2NTQwM1owGzEZMBcGA1UEAwwQU0VHVVIgVEVTVCBQLTUyMTCBmzAQ
BgcqhkjOPQIBBgUrgQQAIwOBhgAEAIDMqbi7R1tyURKdrM/lPTQOb/OB2J/Bm8Z8
L1hJhCTHFFuKbEwkXBOuYpAdVKOgFO1qJ4ASwSLEZRVvepVJzLkaAQfmRbDLl0k6
EoEbTcjJFjV5iNIrRnhzlFEGBnmbQmrfyuH2/AsF/B7SI4QsAkHRV53v+AqESA78
yktWmdHzlr0lo1MwUTAdBgNVHQ4EFgQURm4Hmz40rUcTSvow2Xmrc7hJKeYwHwYD
VR0jBBgwFoAURm4Hmz40rUcTSvow2Xmrc7hJKeYwDwYDVR0TAQH/BAUwAwEB/zAK
BggqhkjOPQQDAgOBiwAwgYcCQVMt6sUcN7d3SYel3bn8MooLKaFE+fx3BZ5FQlvT
OqMAsoUjBhb3I4J1OD8zWXYcNh6LFTChCpMA+y2Vls3ZHpk8AkIBEP9IsU/YFq32
tdMsXNaRlkyPrqBqEovBBueqHfeoBayobOnlsYukS1lveSTG93DdJogu/FJBlCgL
h/vh2w0y+dQ=
-----END CERTIFICATE-----
";

#[test]
fn a_pkcs12_file_without_a_key_gives_its_certificate() {
    // Inspecting needs no key; an identity does.
    let der = std::fs::read(fixture("rsa2048.nokey.p12")).expect("fixture");
    let certs = segur_tls::read_certificates(&der, Some("segur-test")).expect("certificates");
    let pem = std::fs::read(fixture("rsa2048.pem")).expect("fixture");
    assert_eq!(certs, segur_tls::certs_from_pem(&pem).expect("pem"));
    assert!(matches!(
        Identity::from_pkcs12(&der, "segur-test"),
        Err(TlsError::Pkcs12NoKey)
    ));
}

#[test]
fn broken_pem_is_said_in_words_with_its_line() {
    let message = |pem: &str| match segur_tls::certs_from_pem(pem.as_bytes()) {
        Err(e @ TlsError::Pem(_)) => e.to_string(),
        other => panic!("{other:?}"),
    };
    // No END line: the BEGIN line is named (it printed the marker's bytes as numbers).
    let cut = P521.replace("-----END CERTIFICATE-----\n", "");
    assert_eq!(
        message(&format!("# a comment\n{cut}")),
        "bad PEM: line 2: `-----BEGIN CERTIFICATE-----` has no `-----END CERTIFICATE-----` line after it"
    );
    // A character that is not base64 (it printed `InvalidCharacter(33)`).
    let bang = P521.replacen("GzEZ", "G!EZ", 1);
    assert_eq!(
        message(&bang),
        "bad PEM: line 3: `!` is not a base64 character"
    );
}

#[test]
fn a_p521_key_is_521_bits() {
    let certs = segur_tls::certs_from_pem(P521.as_bytes()).expect("pem");
    let info = CertInfo::from_der(&certs[0]).expect("x509");
    assert_eq!(info.key.algorithm, "EC");
    assert_eq!(info.key.curve.as_deref(), Some("P-521"));
    assert_eq!(info.key.bits, 521);
}

/// The test PKI's first client: its PEM chain, its leaf's DER, and the identity as PKCS#12.
fn formats() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    use segur_tls::pki::{PkiOptions, TestPki};
    let options = PkiOptions {
        clients: 1,
        ..Default::default()
    };
    let pki = TestPki::generate(&options, time::OffsetDateTime::now_utc()).expect("pki");
    let client = &pki.clients[0];
    let id = client.identity().expect("identity");
    let p12 = id.to_pkcs12("client", "pw").expect("p12");
    let pem = client.cert_pem().into_bytes();
    (pem, client.cert.to_vec(), p12)
}

#[test]
fn file_formats_are_told_by_content_not_name() {
    use segur_tls::{FileFormat, detect_format, read_certificates};
    let (pem, der, p12) = formats();
    assert_eq!(detect_format(&pem), FileFormat::Pem);
    assert_eq!(detect_format(&der), FileFormat::DerCertificate);
    assert_eq!(detect_format(&p12), FileFormat::Pkcs12);
    assert_eq!(detect_format(b"hello"), FileFormat::Unknown);
    assert_eq!(detect_format(&[]), FileFormat::Unknown);
    assert_eq!(detect_format(&der[..der.len() - 1]), FileFormat::Unknown);
    // OpenSSL's, modern and legacy.
    for name in ["rsa2048.aes.p12", "rsa2048.legacy.p12"] {
        let bytes = std::fs::read(fixture(name)).expect("fixture");
        assert_eq!(detect_format(&bytes), FileFormat::Pkcs12, "{name}");
    }

    // A DER certificate whatever its name: no password asked.
    assert_eq!(read_certificates(&der, None).expect("der")[0].as_ref(), der);
    // PKCS#12 whatever its name: it needs its password, then gives the chain.
    let err = read_certificates(&p12, None).expect_err("no password");
    assert!(matches!(err, TlsError::Pkcs12NeedsPassword), "{err}");
    assert_eq!(err.to_string().lines().count(), 1);
    let chain = read_certificates(&p12, Some("pw")).expect("p12");
    assert_eq!((chain.len(), chain[0].as_ref()), (2, der.as_slice()));
    let err = read_certificates(&p12, Some("wrong")).expect_err("wrong password");
    assert!(err.to_string().contains("wrong password"), "{err}");
    // PEM ignores a password.
    assert_eq!(read_certificates(&pem, Some("pw")).expect("pem").len(), 1);
    // Certificates expected, PKCS#12 given: said so, on one line, no DER parser text.
    let err = segur_tls::certs_from_pem(&p12).expect_err("p12 is not certificates");
    assert!(err.to_string().contains("PKCS#12"), "{err}");
    let err = read_certificates(b"hello", None).expect_err("unknown");
    assert!(matches!(err, TlsError::UnknownFormat), "{err}");
}

#[test]
fn x509_errors_are_plain_words() {
    let (_, der, _) = formats();
    for bytes in [&der[..der.len() / 2], &[0x30, 0x03, 0x02, 0x01, 0x03][..]] {
        let err = CertInfo::from_der(bytes).expect_err("not a certificate");
        let text = err.to_string();
        assert!(
            !text.contains("Der(") && !text.contains("Unexpected"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1, "{text}");
    }
}
