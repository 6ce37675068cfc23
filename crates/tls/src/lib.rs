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
