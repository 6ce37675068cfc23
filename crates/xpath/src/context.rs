//! Static context (namespaces, declared variables) and dynamic context (documents, variable
//! values, the clock).

use std::cell::{Cell, OnceCell, RefCell};
use std::sync::Arc;

use segur_xml::hash::FxMap;
use segur_xml::{ChildAttribute, Document, ExpandedName, NodeId};

use crate::error::EvalError;
use crate::parser::{FN_NAMESPACE, XS_NAMESPACE};
use crate::value::{DateTimeValue, Item, NodeRef, Sequence};

/// Identifies a variable declared in a [`StaticContext`]; set its value with
/// [`DynamicContext::set_variable`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct VarId(pub usize);

/// What expressions are compiled against: namespace prefixes and variable names.
///
/// Cheap to clone (a schematron compiles each rule against a copy that declares the rule's
/// lets): the namespace table is shared until a copy binds a prefix, and variable names are
/// shared strings.
#[derive(Clone, Debug)]
pub struct StaticContext {
    pub(crate) namespaces: Arc<FxMap<Box<str>, Box<str>>>,
    pub(crate) variables: Vec<Arc<str>>,
    pub(crate) default_element_namespace: String,
}

impl Default for StaticContext {
    fn default() -> StaticContext {
        StaticContext::new()
    }
}

impl StaticContext {
    /// A context with `xs`, `fn`, `xml` and `xsi` bound; unprefixed element names in no namespace.
    pub fn new() -> StaticContext {
        let mut namespaces: FxMap<Box<str>, Box<str>> = FxMap::default();
        namespaces.insert("xs".into(), XS_NAMESPACE.into());
        namespaces.insert("fn".into(), FN_NAMESPACE.into());
        namespaces.insert("xml".into(), segur_xml::XML_NAMESPACE.into());
        namespaces.insert(
            "xsi".into(),
            "http://www.w3.org/2001/XMLSchema-instance".into(),
        );
        StaticContext {
            namespaces: Arc::new(namespaces),
            variables: Vec::new(),
            default_element_namespace: String::new(),
        }
    }

    /// Binds `prefix` to `uri` (a schematron `<ns prefix uri>`); rebinding replaces.
    pub fn bind_namespace(&mut self, prefix: &str, uri: &str) -> &mut StaticContext {
        Arc::make_mut(&mut self.namespaces).insert(prefix.into(), uri.into());
        self
    }

    /// The URI bound to `prefix`.
    pub fn namespace(&self, prefix: &str) -> Option<&str> {
        self.namespaces.get(prefix).map(|u| &**u)
    }

    /// Declares `$name`; a later declaration of the same name shadows the earlier one.
    pub fn declare_variable(&mut self, name: &str) -> VarId {
        self.variables.push(Arc::from(name));
        VarId(self.variables.len() - 1)
    }

    /// The innermost declaration of `$name`.
    pub fn variable(&self, name: &str) -> Option<VarId> {
        self.variables.iter().rposition(|v| &**v == name).map(VarId)
    }

    /// The declared variables, by [`VarId`] index.
    pub fn variables(&self) -> &[Arc<str>] {
        &self.variables
    }
}

/// Loads the documents `doc()`, `document()` and `doc-available()` ask for.
///
/// The caller resolves relative URIs (against the schematron's base directory) and caches
/// parsed documents; `None` means the document is not available.
pub trait DocResolver: Send + Sync {
    /// The document at `uri`, if available.
    fn load(&self, uri: &str) -> Option<Arc<Document>>;
}

/// A lazily allocated block of document slots, filled once each through `&self`.
type DocChunk = Box<[OnceCell<Arc<Document>>]>;

const CHUNK: usize = 256;
const CHUNKS: usize = 64;

/// Everything an evaluation reads: the context document, documents loaded by `doc()`,
/// variable values, the current date and time.
///
/// One per thread (it is `Send`, not `Sync`); reuse it for every expression evaluated on the
/// same document so loaded documents are resolved once.
pub struct DynamicContext<'a> {
    main: &'a Document,
    resolver: Option<&'a dyn DocResolver>,
    docs: Vec<OnceCell<DocChunk>>,
    loaded: Cell<usize>,
    uris: RefCell<FxMap<String, Option<u32>>>,
    variables: Vec<Slot<'a>>,
    now: DateTimeValue,
    /// Values of memoized constant subexpressions, by their id.
    pub(crate) memo: RefCell<FxMap<u64, Sequence>>,
    /// Whether a node matches a prefix of a match pattern, by the prefix's process-wide id
    /// (rule contexts share long prefixes such as `//hl7:ClinicalDocument[…]/hl7:component`).
    pub(crate) pattern_memo: RefCell<FxMap<(u32, NodeRef), bool>>,
    /// Memoized value-set paths as string sets, by memo id (shared process-wide; cached here
    /// to skip the lock).
    pub(crate) memo_sets: RefCell<FxMap<u64, Option<Arc<crate::eval::StringSet>>>>,
    /// The context document's indexes of elements with an attribute, by (element name,
    /// attribute name), as read so far (see [`DynamicContext::child_attributes`]).
    child_attributes: RefCell<KeptIndexes>,
}

/// The children named `child` of one element that carry the attribute `attr`, each with that
/// attribute, in document order (see [`DynamicContext::child_attributes`]).
pub(crate) type ChildAttributes = smallvec::SmallVec<[(NodeId, NodeId); 4]>;

/// The indexes of [`Document::children_with_attribute`] a context has read, by (element
/// name, attribute name).
type KeptIndexes = FxMap<(ExpandedName, ExpandedName), Arc<[ChildAttribute]>>;

/// A variable's value, or the expression and context node that compute it on first read.
#[derive(Default)]
struct Slot<'a> {
    value: OnceCell<Sequence>,
    deferred: Option<(&'a crate::Expr, NodeRef)>,
}

impl<'a> DynamicContext<'a> {
    /// A context whose document slot 0 is `doc`.
    pub fn new(doc: &'a Document) -> DynamicContext<'a> {
        DynamicContext {
            main: doc,
            resolver: None,
            docs: (0..CHUNKS).map(|_| OnceCell::new()).collect(),
            loaded: Cell::new(0),
            uris: RefCell::new(FxMap::default()),
            variables: Vec::new(),
            memo: RefCell::new(FxMap::default()),
            pattern_memo: RefCell::new(FxMap::default()),
            memo_sets: RefCell::new(FxMap::default()),
            child_attributes: RefCell::new(FxMap::default()),
            now: DateTimeValue {
                year: 2000,
                month: 1,
                day: 1,
                hour: 0,
                minute: 0,
                second: 0.0,
                tz: Some(0),
            },
        }
    }

    /// Sets the resolver used by `doc()`, `document()` and `doc-available()`.
    pub fn with_resolver(mut self, resolver: &'a dyn DocResolver) -> DynamicContext<'a> {
        self.resolver = Some(resolver);
        self
    }

    /// Fixes what `current-dateTime()` and `current-date()` return (default 2000-01-01T00:00:00Z,
    /// so results are reproducible; pass the real time for live validation).
    pub fn with_current_datetime(
        mut self,
        year: i32,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> DynamicContext<'a> {
        self.now = DateTimeValue {
            year,
            month,
            day,
            hour,
            minute,
            second: f64::from(second),
            tz: Some(0),
        };
        self
    }

    pub(crate) fn now(&self) -> DateTimeValue {
        self.now
    }

    fn slot(&mut self, var: VarId) -> &mut Slot<'a> {
        if self.variables.len() <= var.0 {
            self.variables.resize_with(var.0 + 1, Slot::default);
        }
        &mut self.variables[var.0]
    }

    /// Sets the value of a declared variable.
    pub fn set_variable(&mut self, var: VarId, value: Sequence) {
        *self.slot(var) = Slot {
            value: OnceCell::from(value),
            deferred: None,
        };
    }

    /// Binds a declared variable to `expr` evaluated with `node` as context item, evaluated
    /// when an expression first reads the variable (as XSLT's variables are): a variable no
    /// evaluation reads costs nothing and raises no error.
    pub fn defer_variable(&mut self, var: VarId, expr: &'a crate::Expr, node: NodeRef) {
        *self.slot(var) = Slot {
            value: OnceCell::new(),
            deferred: Some((expr, node)),
        };
    }

    /// Forgets the value of a variable.
    pub fn clear_variable(&mut self, var: VarId) {
        if let Some(v) = self.variables.get_mut(var.0) {
            *v = Slot::default();
        }
    }

    /// The value of a variable (`None` when unset), computed now if it was deferred.
    pub(crate) fn variable(&self, index: usize) -> Result<Option<&Sequence>, EvalError> {
        let Some(slot) = self.variables.get(index) else {
            return Ok(None);
        };
        if let Some(v) = slot.value.get() {
            return Ok(Some(v));
        }
        match slot.deferred {
            None => Ok(None),
            Some((expr, node)) => {
                // A deferred variable's expression only reads variables bound before it, so
                // this evaluation cannot come back to this slot.
                let v = expr.evaluate_node(self, node)?;
                Ok(Some(slot.value.get_or_init(|| v)))
            }
        }
    }

    /// The context document.
    pub fn main_document(&self) -> &'a Document {
        self.main
    }

    /// A node of the context document.
    pub fn node(&self, node: NodeId) -> NodeRef {
        NodeRef { doc: 0, node }
    }

    /// The document node of the context document.
    pub fn root(&self) -> NodeRef {
        self.node(NodeId::ROOT)
    }

    /// The document a node belongs to.
    pub fn document(&self, node: NodeRef) -> Option<&Document> {
        if node.doc == 0 {
            return Some(self.main);
        }
        let i = node.doc as usize - 1;
        self.docs
            .get(i / CHUNK)?
            .get()?
            .get(i % CHUNK)?
            .get()
            .map(|d| &**d)
    }

    /// The context document's elements named `name`, in document order (node indexes; the
    /// index lives in the document and is shared by every context on it).
    pub fn elements_named(&self, name: segur_xml::ExpandedName) -> &'a [u32] {
        self.main.elements_named(name)
    }

    /// The children of `parent` (a node of the context document) named `child` that carry the
    /// attribute `attr`, each with that attribute node, in document order: what
    /// `child/@attr` and `child[@attr = …]` reach from `parent`, read from the document's
    /// index ([`Document::children_with_attribute`]), kept here so a question takes no lock.
    pub(crate) fn child_attributes(
        &self,
        parent: NodeId,
        child: ExpandedName,
        attr: ExpandedName,
    ) -> ChildAttributes {
        let mut kept = self.child_attributes.borrow_mut();
        let entries = kept
            .entry((child, attr))
            .or_insert_with(|| self.main.children_with_attribute(child, attr));
        let start = entries.partition_point(|e| e.parent < parent);
        entries[start..]
            .iter()
            .take_while(|e| e.parent == parent)
            .map(|e| (e.child, e.attribute))
            .collect()
    }

    /// The context document's elements with local name `local` in any namespace, in
    /// document order (see [`Document::elements_with_local_name`]).
    pub fn elements_with_local_name(&self, local: segur_xml::Name) -> Vec<u32> {
        self.main.elements_with_local_name(local)
    }

    /// The shared handle of a loaded document (not the context document).
    pub(crate) fn loaded_document(&self, slot: u32) -> Option<Arc<Document>> {
        let i = (slot as usize).checked_sub(1)?;
        self.docs
            .get(i / CHUNK)?
            .get()?
            .get(i % CHUNK)?
            .get()
            .cloned()
    }

    /// The string value of an item (a node's string value, an atomic value's lexical form).
    pub fn string_value(&self, item: &Item) -> String {
        match item {
            Item::Node(n) => self
                .document(*n)
                .map(|d| d.string_value(n.node).into_owned())
                .unwrap_or_default(),
            Item::Atomic(a) => a.to_string(),
        }
    }

    /// Loads (once per context) the document at `uri`: its slot, or `None` if unavailable.
    pub(crate) fn load(&self, uri: &str) -> Result<Option<u32>, EvalError> {
        if let Some(&slot) = self.uris.borrow().get(uri) {
            return Ok(slot);
        }
        let slot = match self.resolver.and_then(|r| r.load(uri)) {
            None => None,
            Some(doc) => Some(self.attach(doc)?),
        };
        self.uris.borrow_mut().insert(uri.to_owned(), slot);
        Ok(slot)
    }

    /// The slot of a loaded document: the one it already has in this context, else a new one.
    fn attach(&self, doc: Arc<Document>) -> Result<u32, EvalError> {
        let i = self.loaded.get();
        for slot in 1..=i as u32 {
            if self
                .loaded_document(slot)
                .is_some_and(|known| Arc::ptr_eq(&known, &doc))
            {
                return Ok(slot);
            }
        }
        if i >= CHUNK * CHUNKS {
            return Err(EvalError::TooManyDocuments {
                limit: CHUNK * CHUNKS,
            });
        }
        let chunk =
            self.docs[i / CHUNK].get_or_init(|| (0..CHUNK).map(|_| OnceCell::new()).collect());
        // The slot is fresh, so it cannot already hold a document.
        let _ = chunk[i % CHUNK].set(doc);
        self.loaded.set(i + 1);
        Ok(i as u32 + 1)
    }

    /// The value of memoized expression `id` (a `doc('literal')` path, see [`crate::Expr`]'s
    /// `Memo`) computed by an earlier context of the process, its documents attached to this
    /// one: such a path reads loaded documents only, so its value is the same in every context
    /// and is computed once per process, not once per validated document.
    pub(crate) fn shared_memo(&self, id: u64) -> Result<Option<Sequence>, EvalError> {
        let Some(shared) = shared_memos()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
        else {
            return Ok(None);
        };
        let mut slots = Vec::with_capacity(shared.docs.len());
        for doc in &shared.docs {
            slots.push(self.attach(doc.clone())?);
        }
        Ok(Some(
            shared
                .items
                .iter()
                .map(|item| match item {
                    SharedItem::Node(d, node) => Item::Node(NodeRef {
                        doc: slots[*d as usize],
                        node: *node,
                    }),
                    SharedItem::Atomic(a) => Item::Atomic(a.clone()),
                })
                .collect(),
        ))
    }

    /// Keeps the value of memoized expression `id` for later contexts (see
    /// [`DynamicContext::shared_memo`]), unless it holds a node of the context document.
    pub(crate) fn share_memo(&self, id: u64, value: &Sequence) {
        let mut docs: Vec<Arc<Document>> = Vec::new();
        let mut doc_slots: Vec<u32> = Vec::new();
        let mut items = Vec::with_capacity(value.len());
        for item in value {
            items.push(match item {
                Item::Node(n) => {
                    let d = match doc_slots.iter().position(|&s| s == n.doc) {
                        Some(d) => d,
                        None => {
                            // The context document (slot 0) has no shared handle: not kept.
                            let Some(doc) = self.loaded_document(n.doc) else {
                                return;
                            };
                            doc_slots.push(n.doc);
                            docs.push(doc);
                            doc_slots.len() - 1
                        }
                    };
                    SharedItem::Node(d as u32, n.node)
                }
                Item::Atomic(a) => SharedItem::Atomic(a.clone()),
            });
        }
        let mut memos = shared_memos().lock().unwrap_or_else(|p| p.into_inner());
        memos
            .entry(id)
            .or_insert_with(|| Arc::new(SharedValue { docs, items }));
    }
}

/// A memoized value kept for every context of the process: its nodes name their document by
/// position in `docs`.
struct SharedValue {
    docs: Vec<Arc<Document>>,
    items: Vec<SharedItem>,
}

enum SharedItem {
    Node(u32, segur_xml::NodeId),
    Atomic(crate::value::Atomic),
}

/// The memoized values of the process, by memo id (ids are process-unique; the number of
/// entries is bounded by the number of compiled memoized expressions).
fn shared_memos() -> &'static std::sync::Mutex<FxMap<u64, Arc<SharedValue>>> {
    static MEMOS: std::sync::OnceLock<std::sync::Mutex<FxMap<u64, Arc<SharedValue>>>> =
        std::sync::OnceLock::new();
    MEMOS.get_or_init(Default::default)
}
