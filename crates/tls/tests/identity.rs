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
