//! Typed errors: [`ParseError`] when compiling, [`EvalError`] when evaluating.

use thiserror::Error;

/// A FHIRPath expression that does not parse, with the byte offset where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("FHIRPath parse error at byte {offset}: {message}")]
#[non_exhaustive]
pub struct ParseError {
    /// Byte offset in the source text.
    pub offset: usize,
    /// What was wrong, one line.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(offset: usize, message: impl Into<String>) -> Self {
        ParseError {
            offset,
            message: message.into(),
        }
    }
}

/// An error raised while evaluating an expression (FHIRPath's "execution errors").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A function or operator that needs at most one item got several.
    #[error("{operation} expects a single item, got {count}")]
    NotSingleton {
        /// The operator or function.
        operation: String,
        /// How many items it got.
        count: usize,
    },
    /// An operand or argument of the wrong type.
    #[error("{operation}: {detail}")]
    Type {
        /// The operator or function.
        operation: String,
        /// What was expected and found.
        detail: String,
    },
    /// `%name` is not defined in the environment.
    #[error("undefined variable %{0}")]
    UndefinedVariable(String),
    /// Strict mode: the model knows the type and it has no such element (`name.given1`), or
    /// a type name at the start of the path is not the focus's resource type.
    #[error("{parent} has no element {element}")]
    UnknownElement {
        /// The type navigated from.
        parent: String,
        /// The element name.
        element: String,
    },
    /// An invalid regular expression given to `matches`/`replaceMatches`.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    Regex {
        /// The pattern.
        pattern: String,
        /// Why the regex crate refused it.
        reason: String,
    },
    /// Arithmetic overflow.
    #[error("arithmetic overflow in {0}")]
    Overflow(String),
    /// Evaluation nested deeper than the limit (deep `repeat`/`descendants` or recursion).
    #[error("evaluation nested deeper than {0} levels")]
    TooDeep(usize),
    /// A [`crate::Hooks`] method (`memberOf`, `conformsTo`) is needed and absent, or failed.
    #[error("{function}: {reason}")]
    Hook {
        /// The function that needed the hook.
        function: String,
        /// Why it could not answer.
        reason: String,
    },
}
