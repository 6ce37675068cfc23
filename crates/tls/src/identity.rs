//! A TLS identity: a certificate chain (leaf first) and its private key, as rustls types.

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

use crate::TlsError;

/// A certificate chain, leaf first, and the leaf's private key, ready for
/// `ClientConfig::with_client_auth_cert` or `ServerConfig::with_single_cert`.
#[derive(Debug)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// An identity from a chain (leaf first) and a key; the chain must not be empty.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        if chain.is_empty() {
            return Err(TlsError::NoCertificate);
        }
        Ok(Self { chain, key })
    }

    /// From PEM: `certs` holds the chain (leaf first), `key` a PKCS#8, PKCS#1 (RSA) or SEC1 (EC)
    /// key. Both may be the same buffer.
    pub fn from_pem(certs: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let chain = certs_from_pem(certs)?;
        let key = key_from_pem(key)?;
        Self::new(chain, key)
    }

    /// From PEM files; with no key file the key is read from the certificate file.
    pub fn from_pem_files(cert: &Path, key: Option<&Path>) -> Result<Self, TlsError> {
        let certs =
            crate::read_limited(cert, crate::MAX_FILE).map_err(|e| TlsError::io(cert, e))?;
        let key = match key {
            Some(k) => crate::read_limited(k, crate::MAX_FILE).map_err(|e| TlsError::io(k, e))?,
            None => certs.clone(),
        };
        Self::from_pem(&certs, &key)
    }

    /// From a PKCS#12 (`.p12`, `.pfx`) file's bytes and its password: the first private key
    /// with its certificate chain.
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Self, TlsError> {
        use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
        let store = KeyStore::from_pkcs12(der, password, Pkcs12ImportPolicy::Strict)
            .map_err(pkcs12_error)?;
        let (_, chain) = store.private_key_chain().ok_or(TlsError::Pkcs12NoKey)?;
        if chain.certs().is_empty() {
            return Err(TlsError::Pkcs12NoKey);
        }
        let certs = chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
        Self::new(certs, key)
    }

    /// From a PKCS#12 file.
    pub fn from_pkcs12_file(path: &Path, password: &str) -> Result<Self, TlsError> {
        let der = crate::read_limited(path, crate::MAX_FILE).map_err(|e| TlsError::io(path, e))?;
        Self::from_pkcs12(&der, password)
    }

    /// This identity as a PKCS#12 file (PBES2 AES-256, HMAC-SHA256), under `alias`; the key
    /// must be PKCS#8 (as `segur pki init` writes).
    pub fn to_pkcs12(&self, alias: &str, password: &str) -> Result<Vec<u8>, TlsError> {
        use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
        let PrivateKeyDer::Pkcs8(pkcs8) = &self.key else {
            return Err(TlsError::Pkcs12(
                "only a PKCS#8 key can be written to PKCS#12".into(),
            ));
        };
        let key = PrivateKey::from_der(pkcs8.secret_pkcs8_der()).map_err(pkcs12_error)?;
        let certs = self
            .chain
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(pkcs12_error)?;
        let mut store = KeyStore::new();
        let key_id = crate::inspect::sha256(self.leaf().as_ref());
        store.add_entry(
            alias,
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(key_id, key, certs)),
        );
        store.writer(password).write().map_err(pkcs12_error)
    }

    /// The chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The leaf (end-entity) certificate.
    pub fn leaf(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKeyDer<'static> {
        &self.key
    }

    /// Check that rustls (ring) can use the key and that it matches the leaf certificate.
    pub fn check(&self) -> Result<(), TlsError> {
        let provider = crate::provider();
        CertifiedKey::from_der(self.chain.clone(), self.key.clone_key(), &provider)?;
        Ok(())
    }

    /// The chain and key, for rustls.
    pub fn into_parts(self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        (self.chain, self.key)
    }
}

/// What a certificate or identity file holds, told by its content (not its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// PEM text (`-----BEGIN …-----` blocks).
    Pem,
    /// One DER certificate (a SEQUENCE whose first element is a SEQUENCE).
    DerCertificate,
    /// A PKCS#12 PFX (a SEQUENCE whose first element is the INTEGER 3).
    Pkcs12,
    /// None of these.
    Unknown,
}

/// Tell PEM, a DER certificate and PKCS#12 apart by their bytes.
pub fn detect_format(bytes: &[u8]) -> FileFormat {
    if is_pem(bytes) {
        return FileFormat::Pem;
    }
    let Some(inner) = der_sequence_body(bytes) else {
        return FileFormat::Unknown;
    };
    match inner {
        // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, … }
        [0x30, ..] => FileFormat::DerCertificate,
        // PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, … }
        [0x02, 0x01, 0x03, 0x30, ..] => FileFormat::Pkcs12,
        _ => FileFormat::Unknown,
    }
}

/// The content of a DER SEQUENCE that spans all of `bytes` (BER indefinite length accepted,
/// as some PKCS#12 writers use it).
fn der_sequence_body(bytes: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = bytes.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    match len {
        0x80 => Some(rest),
        0..=0x7f => (rest.len() == usize::from(len)).then_some(rest),
        0x81..=0x84 => {
            let n = usize::from(len & 0x7f);
            let (len_bytes, body) = rest.split_at_checked(n)?;
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (body.len() == len).then_some(body)
        }
        _ => None,
    }
}

/// The certificates of a file's bytes, its format told by content ([`detect_format`]).
///
/// PEM blocks, one DER certificate, or a PKCS#12 file's chain, which needs `password`.
pub fn read_certificates(
    bytes: &[u8],
    password: Option<&str>,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    match detect_format(bytes) {
        FileFormat::Pem | FileFormat::DerCertificate => certs_from_pem(bytes),
        FileFormat::Pkcs12 => {
            let password = password.ok_or(TlsError::Pkcs12NeedsPassword)?;
            pkcs12_certificates(bytes, password)
        }
        FileFormat::Unknown => Err(TlsError::UnknownFormat),
    }
}

/// The certificates of a PKCS#12 file: the chain of its private key, or, in a file without a
/// key (`openssl pkcs12 -export -nokeys`), its certificates by alias; inspecting needs no key.
fn pkcs12_certificates(
    der: &[u8],
    password: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    use p12_keystore::{KeyStore, Pkcs12Archive, Pkcs12ImportPolicy};
    let store =
        KeyStore::from_pkcs12(der, password, Pkcs12ImportPolicy::Strict).map_err(pkcs12_error)?;
    let certs: Vec<CertificateDer<'static>> = match store.private_key_chain() {
        Some((_, chain)) => chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect(),
        // The keystore keeps only certificates linked to a key or marked trusted: the file's
        // certificate bags, in their order.
        None => Pkcs12Archive::from_pkcs12(der, password)
            .map_err(pkcs12_error)?
            .certs
            .iter()
            .map(|b| CertificateDer::from(b.cert.as_der().to_vec()))
            .collect(),
    };
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    Ok(certs)
}

/// Every certificate of a PEM buffer, in order; a buffer that is not PEM is read as one DER
/// certificate (a PKCS#12 file is refused with [`TlsError::Pkcs12NeedsPassword`]).
pub fn certs_from_pem(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    if !is_pem(bytes) {
        return match detect_format(bytes) {
            FileFormat::Pkcs12 => Err(TlsError::Pkcs12NeedsPassword),
            _ if bytes.first() == Some(&0x30) => Ok(vec![CertificateDer::from(bytes.to_vec())]),
            _ => Err(TlsError::NoCertificate),
        };
    }
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(pem_problem(bytes, &e)))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    Ok(certs)
}

/// The first private key of a PEM buffer.
fn key_from_pem(bytes: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    match PrivateKeyDer::from_pem_slice(bytes) {
        Ok(k) => Ok(k),
        Err(rustls::pki_types::pem::Error::NoItemsFound) => {
            let encrypted = b"-----BEGIN ENCRYPTED PRIVATE KEY-----";
            Err(if bytes.windows(encrypted.len()).any(|w| w == encrypted) {
                TlsError::EncryptedKey
            } else {
                TlsError::NoPrivateKey
            })
        }
        Err(e) => Err(TlsError::Pem(pem_problem(bytes, &e))),
    }
}

/// What is wrong with PEM text, in words, with the line (1-based) where it shows.
fn pem_problem(bytes: &[u8], e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error as E;
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    match e {
        E::MissingSectionEnd { end_marker } => {
            let end = String::from_utf8_lossy(end_marker);
            let begin = lines
                .iter()
                .rposition(|l| l.starts_with("-----BEGIN ") && l.contains(end.as_ref()));
            match begin {
                Some(i) => format!(
                    "line {}: `{}` has no `-----END {end}-----` line after it",
                    i + 1,
                    crate::printable(lines[i])
                ),
                None => format!("a `-----BEGIN {end}-----` section has no end line"),
            }
        }
        E::IllegalSectionStart { line } => {
            let shown = String::from_utf8_lossy(line);
            let at = lines
                .iter()
                .position(|l| l.as_bytes() == line.as_slice())
                .map(|i| format!("line {}: ", i + 1))
                .unwrap_or_default();
            format!(
                "{at}a malformed section start `{}`",
                crate::printable(&shown)
            )
        }
        E::Base64Decode(_) => {
            // The first line inside a section with a character that is not base64.
            let mut inside = false;
            for (i, l) in lines.iter().enumerate() {
                if l.starts_with("-----BEGIN ") {
                    inside = true;
                } else if l.starts_with("-----END ") {
                    inside = false;
                } else if inside && !l.contains(':') {
                    let base64 = |c: char| c.is_ascii_alphanumeric() || "+/=".contains(c);
                    if let Some(c) = l.chars().find(|c| !base64(*c) && !c.is_whitespace()) {
                        return format!(
                            "line {}: `{}` is not a base64 character",
                            i + 1,
                            crate::printable(&c.to_string())
                        );
                    }
                }
            }
            "a section's base64 does not decode (its length or padding)".into()
        }
        other => crate::printable(&other.to_string()).into_owned(),
    }
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

fn pkcs12_error(e: p12_keystore::error::Error) -> TlsError {
    use p12_keystore::error::Error as E;
    TlsError::Pkcs12(match e {
        E::MacError(_) => "wrong password, or the file is corrupted (MAC check failed)".into(),
        E::UnpadError => "wrong password, or the file is corrupted (decryption failed)".into(),
        E::DerError(_) | E::X509Error(_) => {
            "malformed file (its DER does not parse as PKCS#12 with X.509 certificates)".into()
        }
        e => crate::printable(&e.to_string()).to_lowercase(),
    })
}
