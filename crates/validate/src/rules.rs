//! The rules directory: where the official ANS files are read from at run time, and how to
//! identify them (SHA-256) so that a report says exactly which rules judged a document.
//!
//! The ANS publishes the files in its TestContenuCDA 3.0 repository without a licence, so the
//! project never ships them: a user points `--rules DIR` at a checkout (`segur rules fetch`
//! makes one at [`ANS_COMMIT`]).

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The ANS repository of the CDA validation assets.
pub const ANS_REPOSITORY: &str = "https://github.com/ansforge/interop-outil-cda-testcontenucda3.0-outil-validation-documents-cda.git";
/// The commit segur is tested with (2025-03-06).
pub const ANS_COMMIT: &str = "61e148b6b83b532a3c743e7f6a5f988015eda007";
/// The repository of the ANS CI tool (`validateCDA`) whose `mapping.properties` maps a
/// document's templateIds to its volet schematron; segur reads it as the official CI does.
pub const MAPPING_REPOSITORY: &str = "https://github.com/M-Priour/validateCDA.git";
/// The commit of [`MAPPING_REPOSITORY`] segur is tested with.
pub const MAPPING_COMMIT: &str = "79abb1c7a6e0046d5340b582695a6de6b3c07fee";
/// The templateId → volet table in that repository.
pub const MAPPING_FILE: &str = "mapping.properties";

/// The CDA schema entry point, relative to the rules directory.
pub const CDA_XSD: &str = "infrastructure/cda/CDA_extended.xsd";

/// Why a rules directory cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// The directory does not look like the ANS assets.
    #[error(
        "{dir}: not an ANS rules directory (missing {missing}); get one with `segur rules fetch` or point --rules at a TestContenuCDA checkout"
    )]
    NotRulesDir {
        /// The directory.
        dir: PathBuf,
        /// What is missing.
        missing: &'static str,
    },
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Check that `dir` holds the ANS assets (the CDA schema and the schematrons).
pub fn check_rules_dir(dir: &Path) -> Result<(), RulesError> {
    if !dir.join(CDA_XSD).is_file() {
        return Err(RulesError::NotRulesDir {
            dir: dir.to_path_buf(),
            missing: CDA_XSD,
        });
    }
    if !dir.join("schematrons").is_dir() {
        return Err(RulesError::NotRulesDir {
            dir: dir.to_path_buf(),
            missing: "schematrons/",
        });
    }
    Ok(())
}

/// The default cache directory: `SEGUR_CACHE_DIR`, else `$XDG_CACHE_HOME/segur`, else
/// `$HOME/.cache/segur`; none when none of these is set. A relative `XDG_CACHE_HOME` is
/// ignored, as the XDG Base Directory specification says.
pub fn default_cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("SEGUR_CACHE_DIR")
        .or_else(|| {
            var("XDG_CACHE_HOME")
                .filter(|d| d.is_absolute())
                .map(|d| d.join("segur"))
        })
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("segur")))
}

/// SHA-256 of bytes, lower-case hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 of a file, lower-case hex, read in blocks.
pub fn sha256_file(path: &Path) -> Result<String, RulesError> {
    let err = |source| RulesError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(err)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_shared_kit_is_a_rules_dir_and_others_are_not() {
        let kit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda");
        assert!(check_rules_dir(&kit).is_ok());
        let e =
            check_rules_dir(Path::new(env!("CARGO_MANIFEST_DIR"))).expect_err("not a rules dir");
        assert!(e.to_string().contains("segur rules fetch"), "{e}");
    }
}
