//! Error types: loading a schema, reading an instance, and the validation findings.

use std::path::PathBuf;

/// A schema could not be loaded or compiled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A schema file could not be read.
    #[error("cannot read schema file {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A schema file is not well-formed XML (or not UTF-8).
    #[error("{path}:{line}: schema file is not well-formed: {reason}")]
    Xml {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: u32,
        /// What the XML parser said.
        reason: String,
    },
    /// A schema file's root element is not `xs:schema`.
    #[error("{path}: root element is not xs:schema")]
    NotASchema {
        /// The file.
        path: PathBuf,
    },
    /// A schema component is invalid (a src-* or cos-* constraint of XSD 1.0).
    #[error("{path}:{line}: invalid schema component: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the component.
        line: u32,
        /// What is wrong.
        reason: String,
    },
}

/// A compiled schema could not be written as an image ([`crate::Schema::encode`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A schema file's path is not UTF-8, which the image cannot hold.
    #[error("{path}: the path of a schema file is not UTF-8")]
    PathNotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// A table or a string is too large for the image's 32-bit counts.
    #[error("the schema is too large for an image ({what})")]
    TooLarge {
        /// Which table or string.
        what: &'static str,
    },
}

/// An image could not be read back into a schema ([`crate::Schema::decode`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes do not start as a schema image does.
    #[error("not a schema image")]
    NotAnImage,
    /// The image was written by another image format or another build of the schema compiler.
    #[error("a schema image of another format or build")]
    OtherBuild,
    /// The checksum does not match: the image is truncated or damaged.
    #[error("damaged schema image (truncated, or its checksum does not match)")]
    Damaged,
    /// The image's checksum matches but its content is inconsistent (an index out of range…).
    #[error("inconsistent schema image: {what}")]
    Inconsistent {
        /// What is wrong.
        what: &'static str,
    },
}

/// An instance document could not be read (not well-formed, DOCTYPE, not UTF-8).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The document is not UTF-8.
    #[error("document is not valid UTF-8 (byte {offset})")]
    Encoding {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The document has a DOCTYPE declaration, which this validator refuses.
    #[error("line {line}: DOCTYPE declarations are not allowed")]
    Doctype {
        /// 1-based line of the declaration.
        line: u32,
    },
    /// The document is not well-formed XML.
    #[error("line {line}, column {column}: document is not well-formed: {reason}")]
    Syntax {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What the XML parser said.
        reason: String,
    },
    /// The document has no root element.
    #[error("document has no root element")]
    NoRoot,
}

/// A misuse of the event API (events out of order); the validation state is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// `end_element` was called with no open element.
    #[error("end_element without a matching start_element")]
    UnbalancedEnd,
    /// A second root element was started.
    #[error("a second root element was started")]
    SecondRoot,
}

/// What a finding means for the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// The document is invalid (Xerces would report this error).
    Error,
    /// Part of the document was not checked: the schema uses a construct this crate does not support.
    NotChecked,
}

/// Every [`XsdError::code`] this crate can report: the Xerces message keys it reproduces, and
/// `segur-xsd.not-checked`. A conformance case naming an XSD rule is checked against it.
pub const CODES: &[&str] = &[
    "cvc-attribute.3",
    "cvc-attribute.4",
    "cvc-complex-type.2.1",
    "cvc-complex-type.2.2",
    "cvc-complex-type.2.3",
    "cvc-complex-type.2.4.a",
    "cvc-complex-type.2.4.b",
    "cvc-complex-type.2.4.c",
    "cvc-complex-type.2.4.d",
    "cvc-complex-type.3.1",
    "cvc-complex-type.3.2.2",
    "cvc-complex-type.4",
    "cvc-datatype-valid.1.2.1",
    "cvc-datatype-valid.1.2.3",
    "cvc-elt.1.a",
    "cvc-elt.2",
    "cvc-elt.3.1",
    "cvc-elt.3.2.1",
    "cvc-elt.3.2.2",
    "cvc-elt.4.1",
    "cvc-elt.4.2",
    "cvc-elt.4.3",
    "cvc-elt.5.2.2.2.2",
    "cvc-enumeration-valid",
    "cvc-fractionDigits-valid",
    "cvc-id.1",
    "cvc-id.2",
    "cvc-length-valid",
    "cvc-maxExclusive-valid",
    "cvc-maxInclusive-valid",
    "cvc-maxLength-valid",
    "cvc-minExclusive-valid",
    "cvc-minInclusive-valid",
    "cvc-minLength-valid",
    "cvc-pattern-valid",
    "cvc-totalDigits-valid",
    "cvc-type.2",
    "cvc-type.3.1.1",
    "cvc-type.3.1.2",
    "cvc-type.3.1.3",
    "segur-xsd.not-checked",
];

/// One validation finding, positioned and worded as the JDK's Xerces reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct XsdError {
    /// 1-based line (Xerces reports the end of the start tag, or the end of the end tag).
    pub line: u32,
    /// 1-based column of the character after the tag.
    pub column: u32,
    /// Byte offset of that position in the input.
    pub offset: u64,
    /// Xerces message key, e.g. `cvc-complex-type.2.4.a`; `segur-xsd.not-checked` for [`Severity::NotChecked`].
    pub code: &'static str,
    /// The full message as JAXP prints it, starting with the code.
    pub message: String,
    /// Error, or a part that was not checked.
    pub severity: Severity,
}

impl std::fmt::Display for XsdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

#[cfg(test)]
mod codes_tests {
    use super::CODES;

    /// Every code literal written in the crate's sources is in [`CODES`], so a new message key
    /// cannot be reported without being listed.
    #[test]
    fn every_code_in_the_sources_is_listed() {
        let sources = [
            include_str!("simple.rs"),
            include_str!("validate.rs"),
            include_str!("schema.rs"),
            include_str!("reader.rs"),
        ];
        let mut seen = 0;
        for src in sources {
            for (i, _) in src.match_indices("\"cvc-") {
                let rest = &src[i + 1..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                    .unwrap_or(rest.len());
                let code = rest[..end].trim_end_matches('.');
                assert!(CODES.contains(&code), "{code} is reported but not in CODES");
                seen += 1;
            }
        }
        assert!(
            seen >= 40,
            "only {seen} code literals found: the scan is broken"
        );
        assert!(CODES.contains(&"segur-xsd.not-checked"));
    }
}
