//! A FHIRPath engine (the N1 normative language, as FHIR R4 invariants use it) over FHIR R4
//! JSON held as [`serde_json::Value`].
//!
//! Compile once with [`Expr::parse`] (function names and arities are checked then; an
//! [`Expr`] is `Send + Sync` and reusable), evaluate many times with [`Expr::evaluate`] or,
//! for a `constraint.expression`, [`Expr::is_true`] with invariant semantics (an empty result
//! passes, as the specification and the HL7 validator treat invariants).
//!
//! Items that come from the resource keep their [`Location`], printed as a FHIR element path
//! (`Patient.identifier[0].system`), so a validator can say where an invariant failed.
//!
//! ```
//! use segur_fhirpath::{Env, Expr};
//!
//! let patient = serde_json::json!({
//!     "resourceType": "Patient",
//!     "name": [{"family": "Durand", "given": ["Anne", "Marie"]}],
//!     "birthDate": "1974-12-25"
//! });
//! let env = Env::for_resource(&patient);
//! let given = Expr::parse("Patient.name.given.where(startsWith('M'))")?;
//! let items = given.evaluate(&env, &patient)?;
//! assert_eq!(items[0].as_str(), Some("Marie"));
//! assert_eq!(items[0].location().map(|l| l.to_string()), Some("Patient.name[0].given[1]".into()));
//!
//! let inv = Expr::parse("birthDate < @2000-01-01 and name.exists()")?;
//! assert!(inv.is_true(&env, &patient)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Type information is optional: without a [`Model`], choice elements are found by their
//! JSON key suffix (`value` → `valueQuantity`, typed `Quantity`), resources by
//! `resourceType`, primitives by their JSON kind. A [`Model`] gives the declared types
//! (`date`, `code`…), which `is`/`as`/`ofType` and date comparisons then use.
//!
//! Hooks ([`Hooks`]) answer `resolve()` beyond the containing Bundle and `contained`,
//! `memberOf()`, `conformsTo()` and `trace()`. `htmlChecks()` is lenient: always true
//! (the narrative's XHTML is not checked here).
//!
//! Limits: nesting deeper than 300 levels is a [`ParseError`]; `repeat()`/`descendants()`
//! stop with [`EvalError::TooDeep`] past 100,000 items; regexes are size-limited.

#![warn(missing_docs)]

mod codec;
mod decimal;
mod env;
mod error;
mod eval;
mod functions;
mod model;
mod parser;
mod sdmodel;
mod temporal;
mod value;

use serde_json::Value;

pub use decimal::Decimal;
pub use env::{Env, Hooks, NoHooks};
pub use error::{EvalError, ParseError};
pub use functions::FUNCTION_NAMES;
pub use model::{COMPLEX_TYPES, Model, PRIMITIVE_TYPES, builtin_is_subtype, type_from_suffix};
pub use parser::TypeSpec;
pub use sdmodel::{ModelLoadError, StructureDefinitionModel};
pub use temporal::{Precision, Temporal, TemporalKind};
pub use value::{Collection, Item, Location, Node, Quantity};

/// A compiled FHIRPath expression.
#[derive(Debug, Clone)]
pub struct Expr {
    ast: parser::Ast,
    source: String,
}

impl Expr {
    /// Parses and checks an expression (syntax, function names, arities).
    pub fn parse(src: &str) -> Result<Expr, ParseError> {
        Ok(Expr {
            ast: parser::parse(src)?,
            source: src.to_owned(),
        })
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates on a JSON value as focus (a resource: its path starts with its
    /// `resourceType`).
    pub fn evaluate<'a>(
        &self,
        env: &Env<'a>,
        focus: &'a Value,
    ) -> Result<Collection<'a>, EvalError> {
        self.evaluate_node(env, Node::root(focus))
    }

    /// Evaluates on a node reached elsewhere (an element of a resource, with its location and
    /// FHIR type), as a validator does for element-level invariants.
    pub fn evaluate_node<'a>(
        &self,
        env: &Env<'a>,
        focus: Node<'a>,
    ) -> Result<Collection<'a>, EvalError> {
        self.evaluate_items(env, &[Item::Node(focus)])
    }

    /// Evaluates on any input collection (empty for expressions that need no focus).
    pub fn evaluate_items<'a>(
        &self,
        env: &Env<'a>,
        input: &[Item<'a>],
    ) -> Result<Collection<'a>, EvalError> {
        eval::Evaluator::new(env, input).top(&self.ast, input)
    }

    /// Invariant semantics: true when the result is empty or a single `true`; false for a
    /// single `false`. A non-boolean single item counts as true; several items are an error.
    pub fn is_true<'a>(&self, env: &Env<'a>, focus: &'a Value) -> Result<bool, EvalError> {
        self.is_true_node(env, Node::root(focus))
    }

    /// [`Expr::is_true`] on a node.
    pub fn is_true_node<'a>(&self, env: &Env<'a>, focus: Node<'a>) -> Result<bool, EvalError> {
        let r = self.evaluate_node(env, focus)?;
        Ok(eval::to_bool(&r, "invariant")?.unwrap_or(true))
    }
}

/// Expressions are compiled once and shared between threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Expr>();
};

/// `=` between two items (None when it cannot be decided, such as dates of different
/// precision).
pub fn items_equal(a: &Item<'_>, b: &Item<'_>) -> Option<bool> {
    eval::item_eq(a, b)
}

/// `~` between two items.
pub fn items_equivalent(a: &Item<'_>, b: &Item<'_>) -> bool {
    eval::item_equiv(a, b)
}
