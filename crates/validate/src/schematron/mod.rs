//! ISO Schematron (query binding `xslt2`) read from the official ANS files and compiled into
//! rules the engine runs: the same include, abstract-pattern, phase, `let` and rule-firing
//! semantics as the ANS chain (the ISO skeleton `schematrons/moteur/*.xsl` run by Saxon-HE).

mod cache;
mod model;
mod tree;

pub use cache::CacheOutcome;
pub(crate) use cache::{
    MAX_CACHE_FOLDER_BYTES, SETTLE, Stamp, keyed_file as keyed_cache_file,
    prune as prune_cache_folder, read_regular, stamps_after, store as store_cache_file,
    touch as touch_cache_file, verify as verify_sources,
};

pub use model::{Check, CheckKind, Let, MessagePart, Pattern, Rule, RuleStep, Schematron};
pub use tree::LoadNote;

/// A file a loaded schematron depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path relative to the rules directory.
    pub path: String,
    /// SHA-256 (lower-case hex) of the file read; `None` for an include target that was
    /// absent or empty and so contributed nothing.
    pub sha256: Option<String>,
}

/// Why a schematron could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file, relative to the rules directory.
        file: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not well-formed XML.
    #[error("{file}: not well-formed XML: {message}")]
    Xml {
        /// The file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// Includes nest too deeply (a loop).
    #[error("{file}:{line}: includes nest more than 64 deep (a loop?)")]
    IncludeLoop {
        /// The file.
        file: String,
        /// The line.
        line: u32,
    },
    /// A construct the loader does not support.
    #[error("{at}: unsupported: {construct}")]
    Unsupported {
        /// File and line.
        at: String,
        /// What.
        construct: String,
    },
    /// The root element is not an ISO `schema`.
    #[error("{file}: not an ISO Schematron schema (root element {root})")]
    NotSchematron {
        /// The file.
        file: String,
        /// The root element's name.
        root: String,
    },
}
