use thiserror::Error;

/// Why a matricule, an OID or an identity trait was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InsError {
    /// The matricule does not have 15 characters (13 + a 2-digit key).
    #[error("bad length: a matricule INS has 15 characters (13 + 2-digit key), got {found}")]
    BadLength {
        /// Number of characters found.
        found: usize,
    },
}
