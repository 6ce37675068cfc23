//! The reference sink of segur: an HTTPS server that **requires client certificates**
//! (rustls `WebPkiClientVerifier`), answers IHE ITI-41 (Provide and Register Document Set-b,
//! SOAP/MTOM) with a RegistryResponse and IHE MHD ITI-65 (a FHIR transaction Bundle) with a
//! transaction-response Bundle or an OperationOutcome, unpacks and validates what arrives with
//! segur's packaging rules (and the CDA rules when a rules directory is given), and stores
//! each accepted document **durably before acknowledging it**, refusing duplicate uniqueIds.
//!
//! - [`Config`]: the TOML configuration (docs/sink.md).
//! - [`Sink`]: bind, then [`Sink::serve`] until a [`Stopper`] stops it.
//! - [`store::Store`]: the store (a file per document, an fsync'd JSON-lines index).
//! - [`service::Service`]: routes and answers, usable without the network.
//!
//! Nothing here prints or exits: events go to an optional callback ([`Log`]).

#![warn(missing_docs)]

mod config;
mod error;
pub mod http;
mod server;
pub mod service;
pub mod smtp;
pub mod store;

pub use config::{Config, DEFAULT_MAX_BODY, Faults, SmtpAccount};
pub use error::SinkError;
pub use server::{Event, KEEP_ALIVE_IDLE, Log, MAX_REQUESTS, Sink, Stopper};
