//! Replay prepared Ségur requests (ITI-41 captures, MHD bundles, MSSanté messages) against an
//! HTTPS or SMTP endpoint over mutual TLS, under a closed model (N concurrent virtual users)
//! or an open model (an arrival rate), and measure latency. MSSanté is the French secure
//! health messaging system; its messages are submitted by SMTP with a client certificate.
//!
//! The library returns typed errors and a [`Report`]; it never prints nor exits.
#![warn(missing_docs)]

pub mod build;
pub mod config;
pub mod http;
pub mod requests;
pub mod run;
pub mod smtp;

use std::path::PathBuf;

pub use config::{Endpoint, Kind};
pub use requests::Prepared;
pub use run::{
    Failure, Load, Model, Outcome, Progress, Report, Source, run, run_observed, run_source,
    run_with_progress,
};

/// Why a replay could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The endpoints file is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// A file or directory could not be read.
    #[error("{path}: {source}", path = .0.display(), source = .1)]
    Io(PathBuf, #[source] std::io::Error),
    /// A certificate, key or root file is unusable.
    #[error("TLS material: {0}")]
    Tls(#[from] segur_tls::TlsError),
    /// The requests directory holds nothing to send.
    #[error(
        "{}: no request file (ITI-41 captures, MHD JSON bundles or .eml messages: the files of `segur package`)",
        .0.display()
    )]
    NoRequests(PathBuf),
    /// A file of the requests directory is not a request for the endpoint's kind.
    #[error("{}: not a request for a {kind} endpoint: {why}", .path.display())]
    NotARequest {
        /// The file.
        path: PathBuf,
        /// The endpoint's kind.
        kind: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The load parameters are impossible.
    #[error("load: {0}")]
    Load(String),
}
