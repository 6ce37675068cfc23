//! The evaluation environment: `%resource` and the other environment variables, user
//! variables, the optional [`Model`], and the [`Hooks`] for `resolve()`, `memberOf()`,
//! `conformsTo()` and `trace()`.

use std::collections::HashMap;

use serde_json::Value;

use crate::model::Model;
use crate::value::{Collection, Item, Node};

/// Callbacks for what needs more than the resource: terminology, profiles, references
/// outside the resource, tracing. Every method has a default, so implement only what you have.
pub trait Hooks<'a> {
    /// Resolves a reference (`Patient/123`, `urn:uuid:…`, an absolute URL) that the engine
    /// could not find in the containing Bundle or the `contained` resources.
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let _ = reference;
        None
    }

    /// `memberOf(valueset)`: Some(true/false) when known, None when it cannot be decided
    /// (non-enumerable code system). Err when there is no terminology at all.
    fn member_of(&self, item: &Item<'a>, value_set: &str) -> Result<Option<bool>, String> {
        let _ = (item, value_set);
        Err("no terminology hook in the environment".to_owned())
    }

    /// `conformsTo(profile)`: whether the item conforms to the StructureDefinition.
    fn conforms_to(&self, item: &Item<'a>, profile: &str) -> Result<bool, String> {
        let _ = (item, profile);
        Err("no profile hook in the environment".to_owned())
    }

    /// `trace(name)`: called with the traced collection; does nothing by default.
    fn trace(&self, name: &str, items: &[Item<'a>]) {
        let _ = (name, items);
    }
}

/// Hooks that do nothing (the default).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl Hooks<'_> for NoHooks {}

/// Everything an evaluation may read besides its focus.
pub struct Env<'a> {
    pub(crate) resource: Option<Node<'a>>,
    pub(crate) root_resource: Option<Node<'a>>,
    pub(crate) context: Option<Node<'a>>,
    pub(crate) variables: HashMap<String, Collection<'a>>,
    pub(crate) model: Option<&'a dyn Model>,
    pub(crate) hooks: &'a dyn Hooks<'a>,
    pub(crate) now: Option<crate::temporal::Temporal>,
    pub(crate) strict: bool,
}

impl<'a> Default for Env<'a> {
    fn default() -> Self {
        Env::new()
    }
}

impl<'a> Env<'a> {
    /// An empty environment: no resource, no model, no hooks.
    pub fn new() -> Self {
        Env {
            resource: None,
            root_resource: None,
            context: None,
            variables: HashMap::new(),
            model: None,
            hooks: &NoHooks,
            now: None,
            strict: false,
        }
    }

    /// An environment for a resource: `%resource` and `%rootResource` are it; `%context` is
    /// the evaluation's focus unless [`Env::with_context`] sets it.
    pub fn for_resource(resource: &'a Value) -> Self {
        let mut env = Env::new();
        let node = Node::root(resource);
        env.resource = Some(node.clone());
        env.root_resource = Some(node);
        env
    }

    /// Sets `%resource` (the resource that holds the element being checked).
    pub fn with_resource(mut self, node: Node<'a>) -> Self {
        self.resource = Some(node);
        self
    }

    /// Sets `%rootResource` (the Bundle or container of `%resource`; the resource otherwise).
    pub fn with_root_resource(mut self, node: Node<'a>) -> Self {
        self.root_resource = Some(node);
        self
    }

    /// Sets `%context` (the element the invariant is defined on).
    pub fn with_context(mut self, node: Node<'a>) -> Self {
        self.context = Some(node);
        self
    }

    /// Defines the user variable `%name`.
    pub fn with_variable(mut self, name: &str, value: Collection<'a>) -> Self {
        self.variables.insert(name.to_owned(), value);
        self
    }

    /// Uses a [`Model`] for element types.
    pub fn with_model(mut self, model: &'a dyn Model) -> Self {
        self.model = Some(model);
        self
    }

    /// Uses [`Hooks`] for resolve/memberOf/conformsTo/trace.
    pub fn with_hooks(mut self, hooks: &'a dyn Hooks<'a>) -> Self {
        self.hooks = hooks;
        self
    }

    /// Fixes what `now()`, `today()` and `timeOfDay()` return (they are empty otherwise:
    /// the library reads no clock, so results stay reproducible).
    pub fn with_now(mut self, now: crate::temporal::Temporal) -> Self {
        self.now = Some(now);
        self
    }

    /// Strict mode: with a [`Model`], naming an element the type does not have
    /// (`name.given1`, `Observation.valueQuantity`) is [`crate::EvalError::UnknownElement`]
    /// instead of an empty result; so is a path that starts with another resource type.
    pub fn strict(mut self, on: bool) -> Self {
        self.strict = on;
        self
    }

    /// `%resource`.
    pub fn resource(&self) -> Option<&Node<'a>> {
        self.resource.as_ref()
    }

    /// The model, if any.
    pub fn model(&self) -> Option<&'a dyn Model> {
        self.model
    }
}
