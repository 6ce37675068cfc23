//! Parse errors, each with its position in the input.

use thiserror::Error;

/// Why a document was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A `<!DOCTYPE>` declaration: refused so no entity expansion (XXE, billion laughs) can happen.
    #[error("DOCTYPE declarations are not allowed (external and internal entities are refused)")]
    Doctype,
    /// A declared encoding segur does not read.
    #[error(
        "unsupported encoding {encoding:?}: segur reads UTF-8 (the CI-SIS encoding), UTF-16, US-ASCII, ISO-8859-1, ISO-8859-15 and windows-1252"
    )]
    UnsupportedEncoding {
        /// The encoding found.
        encoding: String,
    },
    /// Bytes that the document's encoding does not define (a byte, a lone surrogate, an odd
    /// last byte of UTF-16).
    #[error("{what} is not a character of {encoding}, the document's encoding")]
    NotInEncoding {
        /// The encoding read.
        encoding: String,
        /// What was found (`byte 0xE2`, `the surrogate 0xD800 without its pair`).
        what: String,
    },
    /// The input is not valid UTF-8.
    #[error("invalid UTF-8 byte sequence")]
    InvalidUtf8,
    /// Malformed markup reported by the tokenizer.
    #[error("malformed XML: {source}")]
    Malformed {
        /// The tokenizer's error.
        #[source]
        source: quick_xml::Error,
    },
    /// An end tag that does not close the open element.
    #[error("end tag </{found}> does not match start tag <{expected}>")]
    MismatchedEndTag {
        /// The name of the open element.
        expected: String,
        /// The name in the end tag.
        found: String,
    },
    /// An end tag with no open element.
    #[error("end tag </{name}> has no matching start tag")]
    UnexpectedEndTag {
        /// The name in the end tag.
        name: String,
    },
    /// The input ended inside an element.
    #[error("element <{name}> is not closed at end of input")]
    UnclosedElement {
        /// The name of the innermost open element.
        name: String,
    },
    /// A prefix with no namespace declaration in scope.
    #[error("namespace prefix '{prefix}' is not declared")]
    UndeclaredPrefix {
        /// The prefix.
        prefix: String,
    },
    /// A namespace declaration that is not allowed (`xmlns:p=""`, rebinding `xml` or `xmlns`).
    #[error("invalid namespace declaration {name}=\"{uri}\"")]
    InvalidNamespaceDeclaration {
        /// The attribute name.
        name: String,
        /// The URI.
        uri: String,
    },
    /// The same attribute (by expanded name) twice on one element.
    #[error("duplicate attribute '{name}'")]
    DuplicateAttribute {
        /// The attribute name as written.
        name: String,
    },
    /// A character reference to a character XML does not allow, or that does not parse.
    #[error("invalid character reference &{reference};")]
    InvalidCharRef {
        /// The reference text between `&` and `;`.
        reference: String,
    },
    /// An entity reference other than the five predefined ones.
    #[error("undefined entity reference &{name}; (only amp, lt, gt, quot, apos are allowed)")]
    UndefinedEntity {
        /// The entity name.
        name: String,
    },
    /// A `&` not followed by a reference and `;`.
    #[error("unescaped '&' (write &amp;)")]
    BareAmpersand,
    /// A character XML 1.0 forbids (a control character, U+FFFE or U+FFFF).
    #[error("character U+{code:04X} is not allowed in XML")]
    InvalidChar {
        /// The code point.
        code: u32,
    },
    /// An element, attribute or processing instruction target name that is not an XML Name.
    #[error("invalid name {name:?}")]
    InvalidName {
        /// The name as read.
        name: String,
    },
    /// The sequence `]]>` in character data, outside a CDATA section.
    #[error("']]>' is not allowed in character data (write ]]&gt;)")]
    CdataEndInText,
    /// A `<` in an attribute value.
    #[error("'<' is not allowed in an attribute value (write &lt;)")]
    LtInAttributeValue,
    /// A processing instruction whose target is `xml` in any case (reserved).
    #[error("processing instruction target {target:?} is reserved")]
    ReservedPiTarget {
        /// The target as written.
        target: String,
    },
    /// An XML declaration anywhere but at the very start of the document.
    #[error("the XML declaration is allowed only at the very start of the document")]
    MisplacedDeclaration,
    /// An XML declaration that is not `version`, then optionally `encoding`, then optionally
    /// `standalone`, each after whitespace and quoted.
    #[error("malformed XML declaration: {problem}")]
    MalformedDeclaration {
        /// What is wrong, and how it should read.
        problem: String,
    },
    /// An attribute written right after the value of the one before, with no whitespace.
    #[error("attribute {name:?} must be separated from the one before it by whitespace")]
    NoSpaceBetweenAttributes {
        /// The name of the attribute.
        name: String,
    },
    /// An element or attribute name that is not a qualified name (Namespaces in XML 1.0): a
    /// colon first or last, two colons, a local part that does not start as a name.
    #[error("invalid qualified name {name:?} (write prefix:local, each a name without ':')")]
    InvalidQName {
        /// The name as written.
        name: String,
    },
    /// A processing instruction target with a colon (Namespaces in XML 1.0 forbids it).
    #[error("processing instruction target {target:?} must not contain ':'")]
    ColonInPiTarget {
        /// The target as written.
        target: String,
    },
    /// Nesting deeper than [`crate::Limits::max_depth`].
    #[error("elements nested deeper than {limit}")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// Input longer than [`crate::Limits::max_bytes`].
    #[error("input of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// The input size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// More attributes on one element than [`crate::Limits::max_attributes_per_element`].
    #[error("more than {limit} attributes on one element")]
    TooManyAttributes {
        /// The limit.
        limit: usize,
    },
    /// A text node or attribute value longer than [`crate::Limits::max_text_len`].
    #[error("text longer than {limit} bytes")]
    TextTooLong {
        /// The limit.
        limit: usize,
    },
    /// More nodes than [`crate::Limits::max_nodes`].
    #[error("more than {limit} nodes")]
    TooManyNodes {
        /// The limit.
        limit: usize,
    },
    /// No root element.
    #[error("no root element")]
    NoRootElement,
    /// A second root element, or text outside the root element.
    #[error("content after or outside the root element")]
    ContentOutsideRoot,
}

/// A refused document: what went wrong and where (1-based line, column in characters).
#[derive(Debug, Error)]
#[error("{line}:{column}: {kind}")]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// Byte offset in the input.
    pub offset: usize,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl ParseError {
    pub(crate) fn at(kind: ParseErrorKind, input: &[u8], offset: usize) -> ParseError {
        let offset = offset.min(input.len());
        let (line, column) = crate::line_col_in(input, offset);
        ParseError {
            kind,
            offset,
            line,
            column,
        }
    }
}
