//! Why the sink could not start or could not store.

use std::path::{Path, PathBuf};

/// Why the sink could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// A file (configuration, certificate, store) could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid.
    #[error("{path}: {message}")]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file named by a setting of the configuration (`cert`, `key`, `client_roots`) is
    /// missing or not usable.
    #[error("{key}: {message}")]
    Setting {
        /// The setting.
        key: &'static str,
        /// The file and what is wrong with it.
        message: String,
    },
    /// The TLS identity or the trusted roots are not usable.
    #[error(transparent)]
    Tls(#[from] segur_tls::TlsError),
    /// The validation engine could not start (rules directory).
    #[error(transparent)]
    Engine(#[from] segur_validate::engine::EngineError),
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The store's index holds a line that is not the last and cannot be read.
    #[error("{path}: line {line} of the index is not valid: {message}")]
    Index {
        /// The index file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl SinkError {
    /// A file named by setting `key` (`path`) that is not usable, and why.
    pub fn setting(key: &'static str, path: &Path, why: impl std::fmt::Display) -> Self {
        let path = path.display().to_string();
        let why = why.to_string();
        // Errors that name their file already need it only once.
        let message = if why.starts_with(&path) {
            why
        } else {
            format!("{path}: {why}")
        };
        SinkError::Setting { key, message }
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        SinkError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
