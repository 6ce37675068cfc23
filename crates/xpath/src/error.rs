//! Static (compile) and dynamic (evaluation) errors, with their XPath error codes.

use thiserror::Error;

/// What was wrong with an expression or pattern.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum CompileErrorKind {
    /// A token that does not fit the grammar.
    #[error("syntax error: expected {expected}, found {found}")]
    Syntax {
        /// What the grammar allows here.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// A function that is not implemented or not called with a supported arity.
    #[error("unknown function {name}#{arity}")]
    UnknownFunction {
        /// The function name as written.
        name: String,
        /// The number of arguments.
        arity: usize,
    },
    /// A namespace prefix with no binding in the static context.
    #[error("namespace prefix '{prefix}' is not declared")]
    UnboundPrefix {
        /// The prefix.
        prefix: String,
    },
    /// A variable neither declared by the caller nor bound by `for`/`some`/`every`.
    #[error("variable ${name} is not declared")]
    UnknownVariable {
        /// The variable name.
        name: String,
    },
    /// Valid XPath 2.0 (or XSLT pattern) syntax this engine does not implement.
    #[error("unsupported construct: {construct}")]
    Unsupported {
        /// What is not supported.
        construct: String,
    },
    /// A literal regular expression or flags the engine cannot translate.
    #[error("invalid or unsupported regular expression {pattern:?}: {reason}")]
    Regex {
        /// The XPath regex.
        pattern: String,
        /// Why it was refused.
        reason: String,
    },
    /// A literal that is not a valid value of its type.
    #[error("invalid literal {literal}")]
    Literal {
        /// The literal.
        literal: String,
    },
    /// Nesting deeper than the parser allows.
    #[error("expression nested too deeply")]
    TooDeep,
}

/// An expression or pattern that does not compile: why, and where.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{kind} at offset {offset} in `{source_text}`")]
pub struct CompileError {
    /// What is wrong.
    pub kind: CompileErrorKind,
    /// Byte offset in the source of the offending construct.
    pub offset: usize,
    /// The expression source.
    pub source_text: String,
}

/// A dynamic error raised while evaluating (Saxon would stop the transformation).
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum EvalError {
    /// A value of the wrong type for an operator or function (XPTY0004).
    #[error("XPTY0004: {context}: expected {expected}, found {found}")]
    Type {
        /// The operator or function.
        context: &'static str,
        /// The required type.
        expected: &'static str,
        /// The supplied value or type.
        found: String,
    },
    /// More (or fewer) items than an operand allows (XPTY0004, FORG0003-5).
    #[error("{code}: {context} requires {expected}, got {count} items")]
    Cardinality {
        /// The XPath error code.
        code: &'static str,
        /// The operator or function.
        context: &'static str,
        /// The required cardinality.
        expected: &'static str,
        /// The number of items supplied.
        count: usize,
    },
    /// A value that cannot be cast to the target type (FORG0001).
    #[error("FORG0001: cannot cast {value:?} to {target}")]
    Cast {
        /// The value.
        value: String,
        /// The target type.
        target: &'static str,
    },
    /// No effective boolean value (FORG0006).
    #[error("FORG0006: no effective boolean value for {found}")]
    EffectiveBoolean {
        /// What the sequence holds.
        found: String,
    },
    /// A path step applied to something other than a node (XPTY0019, XPTY0020).
    #[error("{code}: {context} requires a node, found {found}")]
    NotANode {
        /// The XPath error code.
        code: &'static str,
        /// The construct.
        context: &'static str,
        /// What was found.
        found: String,
    },
    /// A path whose last step returns both nodes and atomic values (XPTY0018).
    #[error("XPTY0018: path result mixes nodes and atomic values")]
    MixedPath,
    /// No context item where one is needed (XPDY0002).
    #[error("XPDY0002: the context item is absent")]
    NoContextItem,
    /// A declared variable with no value in the dynamic context (XPDY0002).
    #[error("XPDY0002: variable ${name} has no value")]
    UnsetVariable {
        /// The variable name.
        name: String,
    },
    /// Integer or decimal division by zero (FOAR0001).
    #[error("FOAR0001: division by zero")]
    DivisionByZero,
    /// Integer overflow (FOAR0002).
    #[error("FOAR0002: numeric overflow")]
    Overflow,
    /// A code point that is not an XML character (FOCH0001).
    #[error("FOCH0001: invalid code point {code}")]
    CodePoint {
        /// The code point.
        code: i64,
    },
    /// A regular expression that does not compile (FORX0002) or bad flags (FORX0001).
    #[error("{code}: regular expression {pattern:?}: {reason}")]
    Regex {
        /// The XPath error code.
        code: &'static str,
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// A regex matching the empty string in `replace` or `tokenize` (FORX0003).
    #[error("FORX0003: regular expression {pattern:?} matches the empty string")]
    RegexMatchesEmpty {
        /// The pattern.
        pattern: String,
    },
    /// A bad replacement string (FORX0004).
    #[error("FORX0004: invalid replacement string {replacement:?}")]
    Replacement {
        /// The replacement.
        replacement: String,
    },
    /// A lexical QName that is not valid (FOCA0002).
    #[error("FOCA0002: invalid QName {value:?}")]
    InvalidQName {
        /// The value.
        value: String,
    },
    /// A prefix with no in-scope namespace (FONS0004).
    #[error("FONS0004: no namespace bound to prefix '{prefix}'")]
    UnboundPrefix {
        /// The prefix.
        prefix: String,
    },
    /// `doc()` could not load a document (FODC0002).
    #[error("FODC0002: cannot retrieve document {uri:?}")]
    DocumentNotFound {
        /// The URI.
        uri: String,
    },
    /// More documents loaded in one dynamic context than it holds.
    #[error("too many documents loaded in one dynamic context (at most {limit})")]
    TooManyDocuments {
        /// The limit.
        limit: usize,
    },
    /// A `format-number` picture this engine cannot format (FODF1310).
    #[error("FODF1310: unsupported format-number picture {picture:?}")]
    Picture {
        /// The picture.
        picture: String,
    },
    /// An argument out of the function's domain (FORG0001 family, e.g. a negative `subsequence` length is not).
    #[error("{code}: {context}: invalid argument {value:?}")]
    InvalidArgument {
        /// The XPath error code.
        code: &'static str,
        /// The function.
        context: &'static str,
        /// The argument.
        value: String,
    },
}

impl EvalError {
    /// The XPath error code (`XPTY0004`, `FORG0001`...).
    pub fn code(&self) -> &'static str {
        match self {
            EvalError::Type { .. } => "XPTY0004",
            EvalError::Cardinality { code, .. }
            | EvalError::NotANode { code, .. }
            | EvalError::Regex { code, .. }
            | EvalError::InvalidArgument { code, .. } => code,
            EvalError::Cast { .. } => "FORG0001",
            EvalError::EffectiveBoolean { .. } => "FORG0006",
            EvalError::MixedPath => "XPTY0018",
            EvalError::NoContextItem | EvalError::UnsetVariable { .. } => "XPDY0002",
            EvalError::DivisionByZero => "FOAR0001",
            EvalError::Overflow => "FOAR0002",
            EvalError::CodePoint { .. } => "FOCH0001",
            EvalError::RegexMatchesEmpty { .. } => "FORX0003",
            EvalError::Replacement { .. } => "FORX0004",
            EvalError::InvalidQName { .. } => "FOCA0002",
            EvalError::UnboundPrefix { .. } => "FONS0004",
            EvalError::DocumentNotFound { .. } => "FODC0002",
            EvalError::TooManyDocuments { .. } => "FODC0002",
            EvalError::Picture { .. } => "FODF1310",
        }
    }
}
