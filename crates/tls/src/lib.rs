//! Mutual TLS for segur: identities, rustls configurations, certificate inspection and lint,
//! and a test PKI shaped like IGC-Santé.
//!
//! The DMP (*Dossier Médical Partagé*, fed over IHE XDS.b or FHIR MHD) and MSSanté (the
//! secure health mail) authenticate software with an **IGC-Santé ORG AUTH_CLI** certificate:
//! an organisation's software certificate, issued by "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS",
//! whose subject OU carries the **structure identifier** (`Struct_IdNat`: `1`+FINESS,
//! `2`+SIREN, `3`+SIRET…), used for TLS client authentication.
//!
//! - [`Identity`]: a certificate chain and its private key, from PEM (PKCS#8, PKCS#1 RSA or
//!   SEC1 EC key) or PKCS#12, as rustls types.
//! - [`client_config`] and [`server_config`]: rustls configurations with the ring provider,
//!   pinned roots, and a server that requires client certificates.
//! - [`inspect::CertInfo`] and [`lint::lint`]: what a certificate says, and what DMP and
//!   MSSanté expect of a software certificate, as [`segur_finding::Finding`]s.
//! - [`pki::TestPki`]: a generated test PKI (root, intermediate, servers, clients shaped like
//!   ORG AUTH_CLI, and broken ones for negative tests).
//! - [`explain::explain`]: a TLS failure in plain words (which side refused, and why).
//! - [`printable`]: certificate-derived text with its control characters escaped, for
//!   terminals and logs.
//!
//! Nothing here prints, exits or reads the environment.

#![warn(missing_docs)]

mod config;
mod error;
pub mod explain;
mod identity;
pub mod inspect;
pub mod lint;
pub mod pki;
mod toml_text;

pub use config::{client_config, provider, roots_from_pem, server_config};
pub use error::TlsError;
pub use identity::{FileFormat, Identity, certs_from_pem, detect_format, read_certificates};
pub use rustls;
pub use segur_finding::printable;
pub use toml_text::toml_error_line;

/// Certificate, key, trust-store and configuration files larger than this are refused.
pub const MAX_FILE: u64 = 16 * 1024 * 1024;

/// Read a file of at most `limit` bytes: a device or a pipe (`/dev/zero`) says nothing of its
/// length, so at most `limit + 1` bytes are read from it, whatever it is.
pub fn read_limited(path: &std::path::Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let too_large = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes"),
        )
    };
    if len > limit {
        return Err(too_large());
    }
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(buf)
}

/// [`read_limited`] to [`MAX_FILE`], as text.
pub fn read_text(path: &std::path::Path) -> std::io::Result<String> {
    String::from_utf8(read_limited(path, MAX_FILE)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}
