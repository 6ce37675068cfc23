//! The one error type of the crate.

use std::path::PathBuf;

/// What went wrong reading an identity, a certificate, or making a configuration or a PKI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// PEM text that does not parse (a missing END line, bad base64), said in words with its
    /// line ([`crate::identity`]'s `pem_problem`).
    #[error("bad PEM: {0}")]
    Pem(String),
    /// No certificate where one was expected.
    #[error("no certificate found (expected a PEM `CERTIFICATE` block or DER)")]
    NoCertificate,
    /// No private key where one was expected.
    #[error(
        "no private key found (expected PEM `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`)"
    )]
    NoPrivateKey,
    /// An encrypted PKCS#8 PEM key: not supported, use PKCS#12 or decrypt it first.
    #[error(
        "the private key is encrypted (`ENCRYPTED PRIVATE KEY`): decrypt it (openssl pkey) or use the PKCS#12 file"
    )]
    EncryptedKey,
    /// A PKCS#12 file that cannot be opened (wrong password, unsupported algorithm, bad DER).
    #[error("PKCS#12: {0}")]
    Pkcs12(String),
    /// A PKCS#12 file without a private key and its certificate chain.
    #[error("PKCS#12: no private key with its certificate in the file")]
    Pkcs12NoKey,
    /// A PKCS#12 file where certificates in PEM or DER were expected, or without a password.
    #[error(
        "a PKCS#12 (.p12/.pfx) file, not PEM or DER certificates: it is opened with its password"
    )]
    Pkcs12NeedsPassword,
    /// Bytes that are neither PEM, a DER certificate nor a PKCS#12 file.
    #[error("neither PEM, a DER certificate nor a PKCS#12 file")]
    UnknownFormat,
    /// DER that is not an X.509 certificate.
    #[error("not an X.509 certificate: {0}")]
    X509(String),
    /// rustls refused the material (the key does not match the certificate, a bad root).
    #[error("{}", crate::explain::material_error(.0))]
    Rustls(#[from] rustls::Error),
    /// The client verifier could not be built (e.g. no trusted roots).
    #[error("client verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// rcgen refused to make a certificate or key.
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    /// The manifest could not be written or read.
    #[error("manifest: {0}")]
    Manifest(String),
    /// A test PKI option that cannot make a sound PKI (a bad server name, a long validity).
    #[error("{0}")]
    InvalidOption(String),
    /// A test PKI already exists where one was asked for.
    #[error("{} already exists", path.display())]
    Exists {
        /// The manifest found.
        path: PathBuf,
    },
}

impl TlsError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TlsError::Io {
            path: path.into(),
            source,
        }
    }
}
