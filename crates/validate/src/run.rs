//! Running a compiled schematron on a parsed document, with the ISO skeleton's semantics:
//! global variables, then for each active pattern a walk of the document in document order
//! (the document node, elements, and attributes when some rule context names one), where the
//! first rule of the pattern whose context matches a node fires; its checks run in order with
//! the node as context, and its lets are bound in order and evaluated when first read.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use segur_finding::{Finding, RuleSource, Severity};
use segur_xml::hash::FxMap;
use segur_xml::{Document, ExpandedName, NodeId, NodeKind};
use segur_xpath::{
    CompileError, Confinement, Dependence, DocResolver, DynamicContext, EvalError, Expr,
    KeyAttribute, Pattern, Prefilter, StaticContext, VarId,
};

use crate::location::locate;
use crate::oracle::collapse;
use crate::resolver::DocumentCache;
use crate::schematron::{CheckKind, MessagePart, RuleStep, Schematron};

/// A construct of the official files that segur cannot run, named with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// File and line.
    pub at: String,
    /// The rule set (top-level schematron) it belongs to.
    pub rule_set: String,
    /// The expression or construct.
    pub construct: String,
    /// Why.
    pub reason: String,
}

enum Part {
    Text(Arc<str>),
    Value(Lazy),
}

/// An expression compiled on first use: most asserts of a schematron never fire on a given
/// corpus, and compiling the ~15,000 of the official files up front costs start-up time. The
/// compiled form is shared by every check and message of the schematron with the same text in
/// the same scope (see [`Interner`]).
struct Lazy {
    src: Arc<str>,
    scope: Arc<StaticContext>,
    cell: Arc<LazyCell>,
}

/// An expression compiled on first use, or why it cannot be.
type LazyCell = OnceLock<Result<Expr, String>>;

impl Lazy {
    /// `src` in `scope`, known not to compile for `why` (it reads a let that does not).
    fn failed(src: Arc<str>, scope: &Arc<StaticContext>, why: String) -> Lazy {
        Lazy {
            src,
            scope: scope.clone(),
            cell: Arc::new(OnceLock::from(Err(why))),
        }
    }

    fn get(&self) -> Result<&Expr, &str> {
        self.cell
            .get_or_init(|| segur_xpath::compile(&self.src, &self.scope).map_err(|e| describe(&e)))
            .as_ref()
            .map_err(String::as_str)
    }
}

/// Rule scopes and compiled expressions of one schematron, each built once. Abstract rules
/// instantiated many times repeat their lets, tests and messages: on the first ANS example,
/// the 5,895 checks and messages compiled are 813 distinct (text, scope) pairs, and the 2,876
/// rule lets 338. Scopes and texts are named by their addresses: texts are the distinct ones
/// of [`SharedStrings`], and the interner holds every scope and text while the schematron
/// compiles, so no address is reused.
#[derive(Default)]
struct Interner {
    /// Every text, once.
    strings: SharedStrings,
    /// A scope extended by one variable, by (the scope's address, the variable name's).
    scopes: FxMap<(usize, usize), (Arc<StaticContext>, VarId)>,
    /// Lazily compiled expressions, by (scope address, text address).
    lazies: FxMap<(usize, usize), Arc<LazyCell>>,
    /// Compiled lets, by (scope address, text address).
    lets: FxMap<(usize, usize), Result<Arc<Expr>, String>>,
}

fn address<T: ?Sized>(shared: &Arc<T>) -> usize {
    Arc::as_ptr(shared).cast::<u8>() as usize
}

impl Interner {
    /// The shared copy of `s`.
    fn text(&mut self, s: &str) -> Arc<str> {
        self.strings.get(s)
    }

    /// `scope` with `name` declared, and the new variable.
    fn declare(&mut self, scope: &Arc<StaticContext>, name: &str) -> (Arc<StaticContext>, VarId) {
        let name = self.strings.get(name);
        self.scopes
            .entry((address(scope), address(&name)))
            .or_insert_with(|| {
                let mut next = (**scope).clone();
                let var = next.declare_variable(&name);
                (Arc::new(next), var)
            })
            .clone()
    }

    /// `src` compiled in `scope` on first use.
    fn lazy(&mut self, src: &str, scope: &Arc<StaticContext>) -> Lazy {
        let src = self.strings.get(src);
        let cell = self
            .lazies
            .entry((address(scope), address(&src)))
            .or_default()
            .clone();
        Lazy {
            src,
            scope: scope.clone(),
            cell,
        }
    }

    /// `src` compiled in `scope` now.
    fn compile(&mut self, src: &str, scope: &Arc<StaticContext>) -> Result<Arc<Expr>, String> {
        let src = self.strings.get(src);
        self.lets
            .entry((address(scope), address(&src)))
            .or_insert_with(|| {
                segur_xpath::compile(&src, scope)
                    .map(Arc::new)
                    .map_err(|e| describe(&e))
            })
            .clone()
    }
}

/// Distinct strings of a compiled schematron, each held once.
#[derive(Default)]
struct SharedStrings(segur_xml::hash::FxSet<Arc<str>>);

impl SharedStrings {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(known) = self.0.get(s) {
            return known.clone();
        }
        let new: Arc<str> = Arc::from(s);
        self.0.insert(new.clone());
        new
    }
}

/// A check, as the rule walk reads it for every node it fires on: the compiled test and what
/// keys its kept results, in some 48 bytes (a rule's steps lie one after the other in memory,
/// which the processor's prefetcher follows); what only a finding or a first compilation reads
/// is boxed apart ([`ColdCheck`]).
struct CCheck {
    kind: CheckKind,
    /// This check's number in its compiled schematron (keys its kept results).
    serial: u32,
    /// The compiled test, shared with [`ColdCheck::test`], which compiles it on first use.
    test: Arc<LazyCell>,
    /// When the test is a function of some attributes of its node (see [`Dependence`]) and
    /// costly enough: those attributes, whose values key the results kept across nodes and
    /// documents. Decided when the test is first compiled.
    memo: OnceLock<Option<Box<[KeyAttribute]>>>,
    cold: Box<ColdCheck>,
}

/// What a check's finding reads, and its test's source to compile it from.
struct ColdCheck {
    test: Lazy,
    /// `@id`, when the file gives one (see [`ColdCheck::rule_id`]).
    id: Option<Arc<str>>,
    /// The abstract-pattern instance the check was expanded for.
    instance: Option<Arc<str>>,
    severity: Severity,
    message: Vec<Part>,
    file: Arc<str>,
    line: u32,
}

impl CCheck {
    /// The compiled test, or why it cannot be compiled.
    fn test(&self) -> Result<&Expr, &str> {
        match self.test.get() {
            Some(compiled) => compiled.as_ref().map_err(String::as_str),
            None => self.cold.test.get(),
        }
    }
}

impl ColdCheck {
    /// The rule id: `@id`, else `file:line`, with `@instance` for a check of an abstract-pattern
    /// instance (as [`crate::schematron::Check::rule_id`]); built only for a finding.
    fn rule_id(&self) -> String {
        match (&self.id, &self.instance) {
            (Some(id), _) => id.to_string(),
            (None, Some(instance)) => format!("{}:{}@{instance}", self.file, self.line),
            (None, None) => format!("{}:{}", self.file, self.line),
        }
    }
}

enum CStep {
    /// Shared by the rules of the schematron with the same let in the same scope.
    Let(VarId, Arc<Expr>),
    /// Inline, not boxed (a boxed check was a cache miss per evaluation), its cold part apart.
    Check(CCheck),
}

struct CRule {
    pattern: Pattern,
    prefilter: Prefilter,
    steps: Vec<CStep>,
    /// The dependence of the rule's lets that are functions of their node's attributes, by
    /// variable: worked out the first time one of its checks is (see [`CCheck::memo`]).
    lets: OnceLock<FxMap<usize, Dependence>>,
    /// Which checks are functions of their node's subtree (see [`Compiled::plan`]): worked out
    /// the first time the rule fires.
    plan: OnceLock<Option<SubtreePlan>>,
}

/// Which checks of a rule have their outcomes kept by subtree ([`PathCache::rule_results`]).
struct SubtreePlan {
    /// Per step, the bit that holds a check's outcome, or [`NOT_KEPT`].
    bits: Box<[u8]>,
    /// Every check of the rule is kept: where none fired on a node with the same subtree, the
    /// rule's lets and checks need not be gone through at all.
    all_kept: bool,
}

/// A step whose outcome is not kept by subtree: a let, or a check that may read more than its
/// node's subtree.
const NOT_KEPT: u8 = u8::MAX;

/// A rule keeps the outcomes of at most this many checks by subtree (the bits of a `u64`).
const MAX_KEPT_CHECKS: u8 = 64;

struct CPattern {
    rules: Vec<CRule>,
    /// Some rule may match any node: try every visited node.
    any: bool,
    /// Rules whose prefilter names the node's element name, in priority order.
    by_name: FxMap<ExpandedName, Vec<usize>>,
    /// Rules whose prefilter names the parent element's name.
    by_parent: FxMap<ExpandedName, Vec<usize>>,
    /// Rules that may match any node or whose prefilter is on a child's attribute.
    others: Vec<usize>,
    /// The rules' prefilters merged: names and parent names once each, other conditions once
    /// each (hundreds of rules name the same elements).
    prefilters: Vec<Prefilter>,
}

impl CPattern {
    fn new(rules: Vec<CRule>) -> Self {
        let mut by_name: FxMap<ExpandedName, Vec<usize>> = FxMap::default();
        let mut by_parent: FxMap<ExpandedName, Vec<usize>> = FxMap::default();
        let mut others = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            match &r.prefilter {
                Prefilter::Names(names) => names
                    .iter()
                    .for_each(|n| by_name.entry(*n).or_default().push(i)),
                Prefilter::ChildOf(parents) => parents
                    .iter()
                    .for_each(|n| by_parent.entry(*n).or_default().push(i)),
                _ => others.push(i),
            }
        }
        for v in by_name.values_mut().chain(by_parent.values_mut()) {
            v.dedup();
        }
        let any = rules.iter().any(|r| r.prefilter == Prefilter::Any);
        let mut prefilters = Vec::new();
        let mut names: Vec<ExpandedName> = by_name.keys().copied().collect();
        let mut parents: Vec<ExpandedName> = by_parent.keys().copied().collect();
        names.sort_unstable_by_key(|n| (n.ns.as_str(), n.local.as_str()));
        parents.sort_unstable_by_key(|n| (n.ns.as_str(), n.local.as_str()));
        if !names.is_empty() {
            prefilters.push(Prefilter::Names(names));
        }
        if !parents.is_empty() {
            prefilters.push(Prefilter::ChildOf(parents));
        }
        for &i in &others {
            if !prefilters.contains(&rules[i].prefilter) {
                prefilters.push(rules[i].prefilter.clone());
            }
        }
        CPattern {
            rules,
            any,
            by_name,
            by_parent,
            others,
            prefilters,
        }
    }

    /// The rules that may match `node`, in priority order, into `out`.
    fn rules_for(&self, doc: &Document, node: NodeId, out: &mut Vec<usize>) {
        out.clear();
        if doc.kind(node) == NodeKind::Element {
            if let Some(v) = self.by_name.get(&doc.name(node)) {
                out.extend_from_slice(v);
            }
            if let Some(v) = doc
                .parent(node)
                .and_then(|p| self.by_parent.get(&doc.name(p)))
            {
                out.extend_from_slice(v);
            }
        }
        out.extend_from_slice(&self.others);
        out.sort_unstable();
        out.dedup();
    }
}

/// Per-document indexes that turn rule prefilters into candidate nodes.
struct DocIndex<'d> {
    doc: &'d Document,
    attributes: bool,
    other: bool,
    /// The nodes a pattern walk visits, for patterns with a rule that may match any node.
    visited: Option<Vec<u32>>,
    paths: SharedPaths,
    shapes: PathCache,
}

/// Node paths (the kinds and names from the document node down to a node) interned for every
/// compiled schematron a thread runs, and the path of each node of the document the thread
/// validates now. Rule contexts are matched structurally once per path, and the half-dozen
/// rule sets of a document share the paths of its nodes instead of each working them out.
struct SharedPaths {
    table: FxMap<(u32, u8, ExpandedName), u32>,
    /// Unique to this table (from [`next_generation`]): the fitting rules a [`PathCache`] keeps
    /// by the ids of another table are dropped.
    generation: u64,
    /// The serial ([`Document::serial`]) of the document `path_of` is for.
    doc: u64,
    /// Per node of that document, the id of its path (`u32::MAX` until computed).
    path_of: Vec<u32>,
    /// The nodes whose paths [`DocIndex::path`] works out (a buffer kept for its capacity).
    pending: Vec<NodeId>,
    /// By node of that document, the hash of its subtree ([`subtree_key`]) with [`KEY_BIT`]
    /// set, [`NO_KEY`] when it has none: the few hundred nodes where rules with kept outcomes
    /// fire, not a slot for each node to clear for each document.
    subtree_keys: FxMap<u32, u128>,
    /// That document's elements by the value of an attribute of one of their children, in
    /// document order (the child-attribute prefilters' candidates), built once for all the
    /// rule sets.
    /// By (child, attribute) name, searched in order: the rules name one or two pairs
    /// (`templateId/@root`), and hashing the pair on each of the hundreds of lookups a
    /// document makes cost more than comparing it.
    by_value: Vec<((ExpandedName, ExpandedName), ValueIndex)>,
}

impl SharedPaths {
    /// An empty table with a generation of its own.
    fn fresh() -> SharedPaths {
        SharedPaths {
            table: FxMap::default(),
            generation: next_generation(),
            doc: 0,
            path_of: Vec::new(),
            pending: Vec::new(),
            subtree_keys: FxMap::default(),
            by_value: Vec::new(),
        }
    }

    /// Ready for `doc`: the path ids of its nodes kept if they are this document's, the
    /// table started over (with a new generation) past its bound.
    fn prepare(&mut self, doc: &Document) {
        if self.table.len() > MAX_CACHED_PATHS {
            *self = SharedPaths::fresh();
        }
        if self.doc != doc.serial() {
            self.doc = doc.serial();
            self.path_of.clear();
            self.path_of.resize(doc.len(), u32::MAX);
            self.subtree_keys.clear();
            self.by_value.clear();
        }
    }
}

/// Elements by the value of an attribute of one of their children, in document order.
type ValueIndex = FxMap<Box<str>, Vec<u32>>;

/// A generation no [`SharedPaths`] table had.
fn next_generation() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// What one compiled schematron keeps on a thread across the documents it validates: per
/// (pattern, path) the rules whose context fits the path structurally (documents of one kind
/// share most of their paths, so the structural match runs once per path and thread, not once
/// per document), and the results of checks that are functions of attribute values.
#[derive(Default)]
struct PathCache {
    /// The [`SharedPaths`] generation whose path ids key `fitting`.
    generation: u64,
    /// Ranges of `fit_rules`.
    fitting: FxMap<(u32, u32), (u32, u32)>,
    fit_rules: Vec<u32>,
    /// Results of the checks that are functions of attribute values, by a hash of the check
    /// and the values (the entry holds both, so a collision is a miss, never a wrong result).
    results: FxMap<u64, KeptResult>,
    /// The attribute values of the kept results, one after the other (see [`KeptResult`]):
    /// held in one buffer, a kept result costs no allocation of its own and the table is
    /// emptied without freeing one value at a time.
    kept_values: Vec<u8>,
    /// The encoded values of the lookup under way (a buffer kept for its capacity).
    probe: Vec<u8>,
    /// The outcomes of the checks of a rule that are functions of their node's subtree, by
    /// (pattern, rule, subtree hash): bit `b` is set when the check of [`SubtreePlan`] bit `b`
    /// fired (asserts that failed, reports that held).
    rule_results: FxMap<(u32, u32, u128), u64>,
}

/// One kept result of a check that is a function of some attribute values: the values are
/// `kept_values[start..start + len]` of its [`PathCache`], encoded by [`encode_values`].
struct KeptResult {
    check: u32,
    start: u32,
    len: u32,
    result: bool,
}

/// `values` as one byte string that equals another exactly when the values do: per value, 0
/// for none, else 1, the length (4 bytes) and the bytes.
fn encode_values(values: &[Option<&str>], out: &mut Vec<u8>) {
    out.clear();
    for v in values {
        match v {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                out.extend_from_slice(v.as_bytes());
            }
        }
    }
}

/// Checks reading more attributes than this are evaluated every time.
const MAX_KEY_ATTRIBUTES: usize = 8;

/// Results a cache keeps for one compiled schematron on one thread before it starts over
/// (bounds memory with [`MAX_KEPT_VALUE_BYTES`]: some 6 MB per rule set and thread). With
/// child-path keys the structuration minimale rules keep more than 8,192 results over the ANS
/// corpus: at that bound the table was emptied within each pass, and the keys cost more than
/// they saved.
const MAX_KEPT_RESULTS: usize = 1 << 16;

/// The bytes of attribute values a cache keeps for its results before it starts over; values
/// longer than a 64th of it together are not kept.
const MAX_KEPT_VALUE_BYTES: usize = 4 << 20;

/// The weight (see [`Dependence::weight`]) from which a check's results are kept: below it,
/// evaluating costs about what looking a result up does.
const KEEP_FROM_WEIGHT: u32 = 4;

impl PathCache {
    /// The result of check `serial` at `node`, whose value depends only on the values of
    /// `attributes`: kept from an earlier node with the same values, else computed and kept
    /// (unless it failed: the next node with these values raises the error again).
    fn check_result(
        &mut self,
        serial: u32,
        attributes: &[KeyAttribute],
        doc: &Document,
        node: NodeId,
        compute: impl FnOnce() -> Result<bool, EvalError>,
    ) -> Result<bool, EvalError> {
        use std::hash::{Hash, Hasher};
        // Read once: the values key the lookup, and on a miss the kept entry.
        let mut values = [None; MAX_KEY_ATTRIBUTES];
        let Some(values) = values.get_mut(..attributes.len()) else {
            return compute();
        };
        for (v, a) in values.iter_mut().zip(attributes) {
            match key_value(doc, node, a) {
                Some(value) => *v = value,
                // A path reaching several elements: their values are no single key.
                None => return compute(),
            }
        }
        encode_values(values, &mut self.probe);
        if self.probe.len() > MAX_KEPT_VALUE_BYTES / 64 {
            // Values this long are seldom met twice: not worth their room.
            return compute();
        }
        let mut h = segur_xml::hash::FxHasher::default();
        serial.hash(&mut h);
        h.write(&self.probe);
        let key = h.finish();
        if let Some(kept) = self.results.get(&key)
            && kept.check == serial
            && self
                .kept_values
                .get(kept.start as usize..(kept.start + kept.len) as usize)
                == Some(self.probe.as_slice())
        {
            return Ok(kept.result);
        }
        let result = compute()?;
        if self.results.len() >= MAX_KEPT_RESULTS
            || self.kept_values.len() + self.probe.len() > MAX_KEPT_VALUE_BYTES
        {
            self.results.clear();
            self.kept_values.clear();
        }
        let start = self.kept_values.len() as u32;
        self.kept_values.extend_from_slice(&self.probe);
        self.results.insert(
            key,
            KeptResult {
                check: serial,
                start,
                len: self.probe.len() as u32,
                result,
            },
        );
        Ok(result)
    }
}

/// The value of key attribute `a` at `node` (`None` inside: no such attribute, or no element
/// at the end of its child path); `None` when the path reaches more than one element, whose
/// values one slot cannot hold.
fn key_value<'d>(doc: &'d Document, node: NodeId, a: &KeyAttribute) -> Option<Option<&'d str>> {
    let mut at = node;
    for &name in &*a.path {
        let mut found = doc.element_children(at).filter(|&c| doc.name(c) == name);
        match (found.next(), found.next()) {
            (None, _) => return Some(None),
            (Some(only), None) => at = only,
            (Some(_), Some(_)) => return None,
        }
    }
    Some(doc.attribute(at, a.name).map(|v| doc.value(v)))
}

/// From this many candidates on, [`in_document_order`] marks them in a bit set rather than
/// sorting them (a pattern of hundreds of rules names most elements of a document: sorting
/// them was some 3 % of a pass over the ANS examples).
const MARK_FROM: usize = 64;

/// Sorts node indices below `len` into document order and drops repeats; `marks` is scratch
/// room kept between calls.
fn in_document_order(nodes: &mut Vec<u32>, marks: &mut Vec<u64>, len: usize) {
    if nodes.len() < MARK_FROM {
        nodes.sort_unstable();
        nodes.dedup();
        return;
    }
    marks.clear();
    marks.resize(len.div_ceil(64), 0);
    for &n in nodes.iter() {
        marks[n as usize / 64] |= 1 << (n % 64);
    }
    nodes.clear();
    for (w, &word) in marks.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            nodes.push(w as u32 * 64 + bits.trailing_zeros());
            bits &= bits - 1;
        }
    }
}

/// Rule outcomes a cache keeps by subtree for one compiled schematron on one thread before it
/// starts over. A pass over the 94 ANS examples keeps about 9,200 in all rule sets together;
/// a long run over new documents keeps adding subtrees (identifiers differ from document to
/// document), and this bounds each table to some 1.5 MB.
const MAX_RULE_RESULTS: usize = 1 << 14;

/// Subtrees larger than this (nodes, attributes and text included) get no key: they seldom
/// repeat from one document to another, and hashing them would cost more than it saves.
const MAX_KEY_NODES: u32 = 32;

/// Subtrees whose attribute values and text are longer than this (bytes) get no key.
const MAX_KEY_BYTES: usize = 1024;

/// Set in every subtree key a [`SharedPaths`] holds, so that none is [`NO_KEY`].
const KEY_BIT: u128 = 1 << 127;

/// A node whose subtree has no key.
const NO_KEY: u128 = 1;

/// The keys of this process' subtree hashes (random, so no input can be built to collide).
static SUBTREE_HASH_KEYS: std::sync::LazyLock<(u64, u64)> = std::sync::LazyLock::new(|| {
    use std::hash::BuildHasher;
    let state = std::hash::RandomState::new();
    (state.hash_one(1u8), state.hash_one(2u8))
});

/// A 128-bit hash of what a confined check may read of `node`'s subtree: the kind, name,
/// prefix and parent of each of its nodes (attributes and text included, in document order),
/// and the values of attributes, text, comments and processing instructions. `None` for the
/// document node and for subtrees past [`MAX_KEY_NODES`] or [`MAX_KEY_BYTES`].
///
/// Two subtrees with the same hash are taken as identical: with a keyed SipHash-1-3 of 128
/// bits, a collision among the at most 2^14 outcomes a cache keeps has a probability below
/// 2^-100.
fn subtree_key(doc: &Document, node: NodeId) -> Option<u128> {
    use siphasher::sip128::Hasher128;
    use std::hash::{Hash, Hasher};
    let start = node.index();
    let end = doc.subtree_end(node);
    if end - start > MAX_KEY_NODES || doc.kind(node) == NodeKind::Document {
        return None;
    }
    let (k0, k1) = *SUBTREE_HASH_KEYS;
    let mut h = siphasher::sip128::SipHasher13::new_with_keys(k0, k1);
    let mut bytes = 0;
    for i in start..end {
        let n = NodeId::from_index(i);
        let kind = doc.kind(n);
        h.write_u8(kind as u8);
        if i != start {
            // The tree's shape: each node's parent, relative to the subtree's root.
            h.write_u32(doc.parent(n).map_or(u32::MAX, |p| p.index() - start));
        }
        doc.name(n).hash(&mut h);
        doc.prefix(n).hash(&mut h);
        if kind != NodeKind::Element {
            let v = doc.value(n);
            bytes += v.len();
            if bytes > MAX_KEY_BYTES {
                return None;
            }
            h.write_usize(v.len());
            h.write(v.as_bytes());
        }
    }
    Some(h.finish128().as_u128())
}

/// Paths a cache may hold before it starts over (bounds memory on a very varied corpus).
const MAX_CACHED_PATHS: usize = 1 << 18;

/// Compiled schematrons whose caches one thread keeps (the 94 ANS examples use 61 rule sets).
const MAX_THREAD_CACHES: usize = 128;

thread_local! {
    /// This thread's path caches, by compiled schematron id.
    static PATH_CACHES: std::cell::RefCell<FxMap<u64, PathCache>> =
        std::cell::RefCell::new(FxMap::default());
    /// This thread's node paths, shared by its compiled schematrons.
    static SHARED_PATHS: std::cell::RefCell<SharedPaths> =
        std::cell::RefCell::new(SharedPaths::fresh());
}

impl<'d> DocIndex<'d> {
    fn new(
        doc: &'d Document,
        attributes: bool,
        other: bool,
        paths: SharedPaths,
        shapes: PathCache,
    ) -> Self {
        DocIndex {
            doc,
            attributes,
            other,
            visited: None,
            paths,
            shapes,
        }
    }

    /// The path id of `node` (see [`SharedPaths`]).
    fn path(&mut self, node: NodeId) -> u32 {
        let paths = &mut self.paths;
        match paths.path_of[node.index() as usize] {
            u32::MAX => {}
            known => return known,
        }
        let mut pending = std::mem::take(&mut paths.pending);
        let mut n = node;
        let mut id = loop {
            match paths.path_of[n.index() as usize] {
                u32::MAX => {}
                known => break known,
            }
            match self.doc.parent(n) {
                Some(p) => {
                    pending.push(n);
                    n = p;
                }
                None => {
                    // The document node (or a parentless node): a path of its own.
                    let key = (u32::MAX, self.doc.kind(n) as u8, self.doc.name(n));
                    let next = paths.table.len() as u32;
                    let id = *paths.table.entry(key).or_insert(next);
                    paths.path_of[n.index() as usize] = id;
                    break id;
                }
            }
        };
        while let Some(n) = pending.pop() {
            let key = (id, self.doc.kind(n) as u8, self.doc.name(n));
            let next = paths.table.len() as u32;
            id = *paths.table.entry(key).or_insert(next);
            paths.path_of[n.index() as usize] = id;
        }
        paths.pending = pending;
        id
    }

    /// The hash of `node`'s subtree ([`subtree_key`]), worked out once per document and thread.
    fn subtree_key(&mut self, node: NodeId) -> Option<u128> {
        let doc = self.doc;
        let key = *self
            .paths
            .subtree_keys
            .entry(node.index())
            .or_insert_with(|| subtree_key(doc, node).map_or(NO_KEY, |k| k | KEY_BIT));
        (key != NO_KEY).then_some(key)
    }

    /// The rules of pattern `pi` whose context fits `node` structurally, as a range of
    /// `fit_rules`, in priority order.
    fn fitting_rules(&mut self, pi: usize, p: &CPattern, node: NodeId) -> (usize, usize) {
        let key = (pi as u32, self.path(node));
        if let Some(&(start, len)) = self.shapes.fitting.get(&key) {
            return (start as usize, len as usize);
        }
        let mut ids = Vec::new();
        p.rules_for(self.doc, node, &mut ids);
        let start = self.shapes.fit_rules.len();
        self.shapes.fit_rules.extend(
            ids.into_iter()
                .filter(|&i| p.rules[i].pattern.fits_structure(self.doc, node))
                .map(|i| i as u32),
        );
        let len = self.shapes.fit_rules.len() - start;
        self.shapes.fitting.insert(key, (start as u32, len as u32));
        (start, len)
    }

    /// Every node the walk visits: the document node, elements, and attributes, comments and
    /// processing instructions when the schematron visits them.
    fn visited(&mut self) -> &[u32] {
        let (doc, attributes, other) = (self.doc, self.attributes, self.other);
        self.visited.get_or_insert_with(|| {
            (0..doc.len() as u32)
                .filter(|&i| match doc.kind(NodeId::from_index(i)) {
                    NodeKind::Document | NodeKind::Element => true,
                    NodeKind::Attribute => attributes,
                    NodeKind::Comment | NodeKind::ProcessingInstruction => other,
                    NodeKind::Text => false,
                })
                .collect()
        })
    }

    /// Candidates of a prefilter, appended to `out` (unsorted, maybe repeated).
    /// Element names come from the dynamic context's name index (built once per context and
    /// shared with `//name` steps).
    fn candidates(&mut self, f: &Prefilter, ctx: &DynamicContext<'_>, out: &mut Vec<u32>) {
        match f {
            Prefilter::Any => out.extend_from_slice(self.visited()),
            Prefilter::Root => {
                if self.doc.kind(self.doc.root()) == NodeKind::Document {
                    out.push(self.doc.root().index());
                }
            }
            Prefilter::Names(names) => {
                for n in names {
                    out.extend_from_slice(ctx.elements_named(*n));
                }
            }
            Prefilter::ChildOf(parents) => {
                for n in parents {
                    for &p in ctx.elements_named(*n) {
                        let p = NodeId::from_index(p);
                        out.extend(self.doc.element_children(p).map(NodeId::index));
                    }
                }
            }
            Prefilter::ChildAttribute {
                child,
                attr,
                values,
            } => {
                for v in values {
                    out.extend_from_slice(self.with_child_attribute(*child, *attr, v));
                }
            }
            Prefilter::ParentChildAttribute {
                name,
                child,
                attr,
                values,
            } => {
                let doc = self.doc;
                for v in values {
                    for &p in self.with_child_attribute(*child, *attr, v) {
                        out.extend(
                            doc.element_children(NodeId::from_index(p))
                                .filter(|&c| doc.name(c) == *name)
                                .map(NodeId::index),
                        );
                    }
                }
            }
        }
    }

    /// The elements with a child element `child` whose attribute `attr` is `value`, in
    /// document order.
    fn with_child_attribute(
        &mut self,
        child: ExpandedName,
        attr: ExpandedName,
        value: &str,
    ) -> &[u32] {
        let doc = self.doc;
        let by_value = &mut self.paths.by_value;
        let at = match by_value.iter().position(|(k, _)| *k == (child, attr)) {
            Some(at) => at,
            None => {
                // From the document's index of these elements by parent, which the rules'
                // `child[@attr = …]` steps read too.
                let mut m: ValueIndex = FxMap::default();
                for e in doc.children_with_attribute(child, attr).iter() {
                    let value = doc.value(e.attribute);
                    let parents = match m.get_mut(value) {
                        Some(parents) => parents,
                        None => m.entry(value.into()).or_default(),
                    };
                    if parents.last() != Some(&e.parent.index()) {
                        parents.push(e.parent.index());
                    }
                }
                by_value.push(((child, attr), m));
                by_value.len() - 1
            }
        };
        let map = &by_value[at].1;
        map.get(value).map_or(&[], Vec::as_slice)
    }
}

struct Global {
    var: VarId,
    expr: Expr,
}

/// A schematron compiled for the engine.
pub struct Compiled {
    /// Process-unique id (keys the per-thread path caches).
    id: u64,
    /// The top-level file, relative to the rules directory.
    pub file: String,
    base: PathBuf,
    globals: Vec<Global>,
    /// The globals whose values are constant (depend on no document), by variable.
    global_deps: FxMap<usize, Dependence>,
    patterns: Vec<CPattern>,
    visit_attributes: bool,
    visit_other: bool,
    /// Constructs that could not be compiled (their rules or checks do not run).
    pub unsupported: Vec<Unsupported>,
    /// Rules whose context does not compile: reported on every document (their checks never
    /// run, and the official chain cannot compile such a schematron at all).
    broken_rules: Vec<BrokenRule>,
    versions: HashMap<Arc<str>, String>,
}

/// Why a run stopped: a dynamic error, and the check (with its node) whose evaluation
/// raised it, when one did.
struct Stop<'c> {
    error: EvalError,
    check: Option<&'c ColdCheck>,
    node: Option<NodeId>,
}

impl From<EvalError> for Stop<'_> {
    fn from(error: EvalError) -> Self {
        Stop {
            error,
            check: None,
            node: None,
        }
    }
}

/// A rule whose context could not be compiled.
struct BrokenRule {
    /// Its rule id, or its place (`file:line`).
    name: String,
    context: String,
    why: String,
    file: Arc<str>,
    line: u32,
    checks: usize,
}

/// For each step of a rule, whether it must run: every check does, and a `let` does when a
/// later step that runs refers to its variable (read backwards, so a let that shadows an
/// earlier one of the same name hides it from the steps after it).
fn used_lets(steps: &[RuleStep]) -> Vec<bool> {
    let mut needed: segur_xml::hash::FxSet<&str> = segur_xml::hash::FxSet::default();
    let mut used = vec![true; steps.len()];
    for (i, step) in steps.iter().enumerate().rev() {
        match step {
            RuleStep::Check(c) => {
                needed.extend(variable_refs(&c.test));
                for part in &c.message {
                    match part {
                        MessagePart::ValueOf(sel) | MessagePart::Name(Some(sel)) => {
                            needed.extend(variable_refs(sel))
                        }
                        MessagePart::Text(_) | MessagePart::Name(None) => {}
                    }
                }
            }
            RuleStep::Let(l) => {
                if needed.remove(l.name.as_str()) {
                    needed.extend(variable_refs(&l.value));
                } else {
                    used[i] = false;
                }
            }
        }
    }
    used
}

/// The names after each `$` of an XPath's text, read as XPath reads a variable reference
/// (`$x-1` is the variable `x-1`). String literals are not told apart: a `$` inside one only
/// makes a let run that could have been skipped.
fn variable_refs(xpath: &str) -> impl Iterator<Item = &str> {
    xpath.split('$').skip(1).map(|rest| {
        let end = rest
            .char_indices()
            .find(|&(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
            .map_or(rest.len(), |(i, _)| i);
        &rest[..end]
    })
}

/// Resolves `doc()` URIs against the schematron's directory through the shared cache.
struct Resolver<'a> {
    base: &'a std::path::Path,
    cache: &'a DocumentCache,
}

impl DocResolver for Resolver<'_> {
    fn load(&self, uri: &str) -> Option<Arc<Document>> {
        self.cache.get(&DocumentCache::resolve(self.base, uri))
    }
}

fn describe(e: &CompileError) -> String {
    e.to_string()
}

impl Compiled {
    /// Compile a loaded schematron; `rules_dir` is where its file lives, `version_of` gives the
    /// version string (hash) of each defining file.
    pub fn compile(
        s: &Schematron,
        rules_dir: &std::path::Path,
        version_of: &dyn Fn(&str) -> String,
    ) -> Compiled {
        let mut sc = StaticContext::new();
        for (prefix, uri) in &s.namespaces {
            sc.bind_namespace(prefix, uri);
        }
        let mut unsupported = Vec::new();
        let mut broken_rules = Vec::new();
        let mut versions: HashMap<Arc<str>, String> = HashMap::new();
        let mut note = |at: String, construct: &str, reason: String| {
            unsupported.push(Unsupported {
                at,
                rule_set: s.file.clone(),
                construct: construct.to_string(),
                reason,
            });
        };
        // Globals are declared first so that they can refer to each other in any order.
        let vars: Vec<VarId> = s
            .lets
            .iter()
            .map(|l| sc.declare_variable(&l.name))
            .collect();
        let mut globals = Vec::new();
        for (l, var) in s.lets.iter().zip(vars) {
            match segur_xpath::compile(&l.value, &sc) {
                Ok(expr) => globals.push(Global { var, expr }),
                Err(e) => note(
                    format!("{} let ${}", s.file, l.name),
                    &l.value,
                    describe(&e),
                ),
            }
        }
        // Globals built from literals and loaded documents only have the same value in every
        // run (two rounds: a global may refer to a later one).
        let mut global_deps: FxMap<usize, Dependence> = FxMap::default();
        for _ in 0..2 {
            for g in &globals {
                let d = g.expr.dependence(&|v| global_deps.get(&v.0).cloned());
                if let Some(d) = d.filter(|d| d.attributes.is_empty()) {
                    global_deps.insert(g.var.0, d);
                }
            }
        }
        let mut serial = 0u32;
        // Abstract rules instantiated many times repeat their tests, messages and ids: each
        // distinct text is kept once, and each distinct expression in a scope compiled once.
        let mut interner = Interner::default();
        let root = Arc::new(sc);
        let mut last_file: Option<&Arc<str>> = None;
        let mut patterns = Vec::new();
        for p in &s.patterns {
            let mut rules = Vec::new();
            for r in &p.rules {
                let at = || format!("{}:{}", r.file, r.line);
                let pattern = match segur_xpath::compile_pattern(&r.context, &root) {
                    Ok(pat) => pat,
                    Err(e) => {
                        note(at(), &r.context, format!("rule context: {}", describe(&e)));
                        broken_rules.push(BrokenRule {
                            name: r.id.clone().unwrap_or_else(at),
                            context: r.context.clone(),
                            why: describe(&e),
                            file: r.file.clone(),
                            line: r.line,
                            checks: r
                                .steps
                                .iter()
                                .filter(|s| matches!(s, RuleStep::Check(_)))
                                .count(),
                        });
                        continue;
                    }
                };
                let mut local = root.clone();
                let mut steps = Vec::new();
                let used = used_lets(&r.steps);
                // The rule's lets that do not compile (or read one that does not), by name,
                // with why: a later step reading one cannot run, and says so.
                let mut broken: FxMap<&str, String> = FxMap::default();
                // (Almost always none is broken: no text is scanned then.)
                let reads_broken = |src: &str, broken: &FxMap<&str, String>| {
                    if broken.is_empty() {
                        return None;
                    }
                    variable_refs(src).find_map(|v| broken.get(v).cloned())
                };
                for (step, used) in r.steps.iter().zip(used) {
                    match step {
                        RuleStep::Let(l) => {
                            let compiled = match reads_broken(&l.value, &broken) {
                                Some(why) => Err(why),
                                None => interner.compile(&l.value, &local),
                            };
                            let (next, var) = interner.declare(&local, &l.name);
                            local = next;
                            match compiled {
                                // Saxon evaluates a variable only when something reads it: a
                                // let no later step refers to is never evaluated (DTr1_II's
                                // `$set_other`, on every II element, is read by a commented-out
                                // assert only), and so can neither cost time nor raise an error.
                                Ok(expr) if used => {
                                    broken.remove(l.name.as_str());
                                    steps.push(CStep::Let(var, expr));
                                }
                                Ok(_) => {
                                    broken.remove(l.name.as_str());
                                }
                                Err(e) => {
                                    note(at(), &l.value, format!("let ${}: {e}", l.name));
                                    broken.insert(&l.name, format!("let ${}: {e}", l.name));
                                }
                            }
                        }
                        RuleStep::Check(c) => {
                            let message = c
                                .message
                                .iter()
                                .map(|part| match part {
                                    MessagePart::Text(t) => Part::Text(interner.text(t)),
                                    MessagePart::ValueOf(sel) => {
                                        Part::Value(match reads_broken(sel, &broken) {
                                            Some(why) => {
                                                Lazy::failed(interner.text(sel), &local, why)
                                            }
                                            None => interner.lazy(sel, &local),
                                        })
                                    }
                                    MessagePart::Name(None) => {
                                        Part::Value(interner.lazy("name(.)", &local))
                                    }
                                    MessagePart::Name(Some(path)) => {
                                        Part::Value(interner.lazy(&format!("name({path})"), &local))
                                    }
                                })
                                .collect();
                            // Checks come file by file: look the version up when the file changes.
                            if last_file.is_none_or(|f| !Arc::ptr_eq(f, &c.file)) {
                                versions
                                    .entry(c.file.clone())
                                    .or_insert_with(|| version_of(&c.file));
                                last_file = Some(&c.file);
                            }
                            serial += 1;
                            let test = match reads_broken(&c.test, &broken) {
                                Some(why) => Lazy::failed(interner.text(&c.test), &local, why),
                                None => interner.lazy(&c.test, &local),
                            };
                            steps.push(CStep::Check(CCheck {
                                kind: c.kind,
                                serial,
                                test: test.cell.clone(),
                                memo: OnceLock::new(),
                                cold: Box::new(ColdCheck {
                                    test,
                                    id: c.id.clone(),
                                    instance: c.instance.clone(),
                                    severity: Severity::from_role(c.role.as_deref()),
                                    message,
                                    file: c.file.clone(),
                                    line: c.line,
                                }),
                            }));
                        }
                    }
                }
                let prefilter = pattern.prefilter();
                rules.push(CRule {
                    pattern,
                    prefilter,
                    steps,
                    lets: OnceLock::new(),
                    plan: OnceLock::new(),
                });
            }
            patterns.push(CPattern::new(rules));
        }
        let base = rules_dir
            .join(&s.file)
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| rules_dir.to_path_buf());
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Compiled {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            file: s.file.clone(),
            base,
            globals,
            global_deps,
            patterns,
            visit_attributes: s.visit_attributes,
            visit_other: !s.only_child_elements,
            unsupported,
            broken_rules,
            versions,
        }
    }

    /// Run on `doc`. A dynamic error stops the run, as it stops the official chain's
    /// transformation: the result is then that one error, as a finding of rule `RUN-ERROR`.
    pub fn run(&self, doc: &Document, cache: &DocumentCache) -> Vec<Finding> {
        let resolver = Resolver {
            base: &self.base,
            cache,
        };
        let mut ctx = DynamicContext::new(doc).with_resolver(&resolver);
        match self.run_in(doc, &mut ctx) {
            Ok(mut findings) => {
                findings.extend(self.broken_rules.iter().map(|b| self.broken_rule(doc, b)));
                findings
            }
            Err(stop) => vec![self.run_error(doc, stop)],
        }
    }

    /// The `RUN-ERROR` finding of a run that `stop` ended: at the node and with the source of
    /// the check whose evaluation raised the error.
    fn run_error(&self, doc: &Document, stop: Stop<'_>) -> Finding {
        let at = stop
            .node
            .unwrap_or_else(|| doc.document_element().unwrap_or(doc.root()));
        let (message, file, line) = match stop.check {
            Some(c) => (
                format!(
                    "the schematron run stopped on a dynamic error in the check {} (`{}`): {}",
                    c.rule_id(),
                    c.test.src,
                    stop.error
                ),
                c.file.to_string(),
                Some(c.line),
            ),
            None => (
                format!(
                    "the schematron run stopped on a dynamic error: {}",
                    stop.error
                ),
                self.file.clone(),
                None,
            ),
        };
        let rule = "RUN-ERROR".to_string();
        self.rule_finding(doc, at, rule, Severity::Error, message, (&file, line))
    }

    fn set_globals(&self, ctx: &mut DynamicContext<'_>) {
        // Saxon evaluates global variables on first use, in any order; evaluate in passes so a
        // global that refers to a later one is computed once that one is.
        let mut pending: Vec<&Global> = self.globals.iter().collect();
        let root = ctx.root();
        while !pending.is_empty() {
            let mut next = Vec::new();
            for g in pending.iter().copied() {
                match g.expr.evaluate_node(ctx, root) {
                    Ok(v) => ctx.set_variable(g.var, v),
                    Err(EvalError::UnsetVariable { .. }) => next.push(g),
                    // An unused global never raises in XSLT; only fail when it is used: leaving
                    // it unset makes a use report XPDY0002 naming it.
                    Err(_) => {}
                }
            }
            if next.len() == pending.len() {
                // Cycle or references to failed globals: leave them unset.
                break;
            }
            pending = next;
        }
    }

    fn run_in<'c>(
        &'c self,
        doc: &Document,
        ctx: &mut DynamicContext<'c>,
    ) -> Result<Vec<Finding>, Stop<'c>> {
        self.set_globals(ctx);
        // Taken out (a fresh table stands in) and put back: nothing else on this thread can
        // see the table while the walk holds it.
        let mut paths = SHARED_PATHS.with(|p| p.replace(SharedPaths::fresh()));
        paths.prepare(doc);
        let mut shapes = PATH_CACHES
            .with(|c| c.borrow_mut().remove(&self.id))
            .unwrap_or_default();
        if shapes.generation != paths.generation || shapes.fitting.len() > MAX_CACHED_PATHS {
            shapes.fitting.clear();
            shapes.fit_rules.clear();
            shapes.generation = paths.generation;
        }
        let mut index = DocIndex::new(doc, self.visit_attributes, self.visit_other, paths, shapes);
        let result = self.walk(doc, ctx, &mut index);
        let shapes = std::mem::take(&mut index.shapes);
        let paths = std::mem::replace(&mut index.paths, SharedPaths::fresh());
        SHARED_PATHS.with(|p| p.replace(paths));
        PATH_CACHES.with(|c| {
            let mut caches = c.borrow_mut();
            // Rule sets compiled and dropped over a long process (an engine per test, a
            // reload) leave their caches behind: a thread keeps a bounded number.
            if caches.len() >= MAX_THREAD_CACHES && !caches.contains_key(&self.id) {
                caches.clear();
            }
            caches.insert(self.id, shapes)
        });
        result
    }

    fn walk<'c>(
        &'c self,
        doc: &Document,
        ctx: &mut DynamicContext<'c>,
        index: &mut DocIndex<'_>,
    ) -> Result<Vec<Finding>, Stop<'c>> {
        let mut findings = Vec::new();
        let mut candidates: Vec<u32> = Vec::new();
        let mut marks: Vec<u64> = Vec::new();
        for (pi, p) in self.patterns.iter().enumerate() {
            candidates.clear();
            if p.any {
                candidates.extend_from_slice(index.visited());
            } else {
                for f in &p.prefilters {
                    index.candidates(f, ctx, &mut candidates);
                }
                in_document_order(&mut candidates, &mut marks, doc.len());
            }
            for &i in &candidates {
                let node = NodeId::from_index(i);
                let nref = ctx.node(node);
                // The first rule (in priority order) whose context matches fires. An error in a
                // match pattern is recoverable in XSLT: Saxon treats it as no match.
                let (start, len) = index.fitting_rules(pi, p, node);
                let Some(ri) = (start..start + len)
                    .map(|k| index.shapes.fit_rules[k] as usize)
                    .find(|&ri| {
                        let r = &p.rules[ri];
                        r.prefilter.admits(doc, node)
                            && r.pattern.matches_admitted(nref, ctx).unwrap_or(false)
                    })
                else {
                    continue;
                };
                let rule = &p.rules[ri];
                // The outcomes of the checks that read only the node's subtree, when a node
                // with the same subtree met this rule before (on this thread).
                let plan = rule.plan.get_or_init(|| self.plan(rule)).as_ref();
                let key = match plan {
                    Some(_) => index.subtree_key(node).map(|k| (pi as u32, ri as u32, k)),
                    None => None,
                };
                let known = key.and_then(|k| index.shapes.rule_results.get(&k).copied());
                if known == Some(0) && plan.is_some_and(|p| p.all_kept) {
                    // No check can fire, and nothing is left to evaluate or keep.
                    continue;
                }
                let mut fired = 0u64;
                for (si, step) in rule.steps.iter().enumerate() {
                    match step {
                        // Evaluated when first read, as Saxon does: most rule-local lets
                        // feed one branch of an `or` that a cheaper branch decides.
                        CStep::Let(var, expr) => ctx.defer_variable(*var, expr, nref),
                        CStep::Check(c) => {
                            let bit = plan.map_or(NOT_KEPT, |p| p.bits[si]);
                            let fires = match known {
                                Some(outcomes) if bit != NOT_KEPT => outcomes >> bit & 1 == 1,
                                _ => match self.fires(rule, c, node, ctx, index).map_err(
                                    |error| Stop {
                                        error,
                                        check: Some(&c.cold),
                                        node: Some(node),
                                    },
                                )? {
                                    Ok(fires) => fires,
                                    Err(why) => {
                                        findings.push(self.not_run(doc, node, &c.cold, why));
                                        continue;
                                    }
                                },
                            };
                            if fires {
                                if bit != NOT_KEPT {
                                    fired |= 1 << bit;
                                }
                                findings.push(self.finding(doc, node, &c.cold, ctx).map_err(
                                    |error| Stop {
                                        error,
                                        check: Some(&c.cold),
                                        node: Some(node),
                                    },
                                )?);
                            }
                        }
                    }
                }
                // Reached only when no check raised an error: errors are never kept.
                if let (Some(k), None) = (key, known) {
                    let kept = &mut index.shapes.rule_results;
                    if kept.len() >= MAX_RULE_RESULTS {
                        kept.clear();
                    }
                    kept.insert(k, fired);
                }
            }
        }
        Ok(findings)
    }

    /// Whether check `c` of `rule` fires at `node` (an assert that fails, a report that
    /// holds), evaluated or read from the results kept by attribute values; the inner `Err`
    /// says why the check's test cannot be compiled.
    fn fires<'c>(
        &self,
        rule: &CRule,
        c: &'c CCheck,
        node: NodeId,
        ctx: &DynamicContext<'_>,
        index: &mut DocIndex<'_>,
    ) -> Result<Result<bool, &'c str>, EvalError> {
        let test = match c.test() {
            Ok(t) => t,
            Err(why) => return Ok(Err(why)),
        };
        let nref = ctx.node(node);
        let memo = c
            .memo
            .get_or_init(|| self.kept_attributes(test, self.let_deps(rule)));
        let result = match memo {
            Some(attributes) => {
                index
                    .shapes
                    .check_result(c.serial, attributes, index.doc, node, || {
                        test.evaluate_boolean(ctx, nref)
                    })?
            }
            None => test.evaluate_boolean(ctx, nref)?,
        };
        Ok(Ok(match c.kind {
            CheckKind::Assert => !result,
            CheckKind::Report => result,
        }))
    }

    /// Which checks of `rule` are functions of their node's subtree (through the rule's lets
    /// and the constant globals: see [`Expr::confinement`]), each with its bit in the outcomes
    /// kept by subtree; `None` when none is (or the rule has only lets). Compiles the rule's
    /// tests, which its first firing does anyway.
    fn plan(&self, rule: &CRule) -> Option<SubtreePlan> {
        let mut lets: FxMap<usize, Confinement> = FxMap::default();
        let mut plan = vec![NOT_KEPT; rule.steps.len()];
        let mut next = 0;
        let mut all_kept = true;
        for (si, step) in rule.steps.iter().enumerate() {
            let vars = |v: VarId| {
                lets.get(&v.0).copied().or_else(|| {
                    self.global_deps
                        .contains_key(&v.0)
                        .then(Confinement::constant)
                })
            };
            match step {
                CStep::Let(var, expr) => match expr.confinement(&vars) {
                    Some(c) => {
                        lets.insert(var.0, c);
                    }
                    None => {
                        lets.remove(&var.0);
                    }
                },
                CStep::Check(c) => {
                    if next < MAX_KEPT_CHECKS
                        && let Ok(test) = c.test()
                        && test.confinement(&vars).is_some()
                    {
                        plan[si] = next;
                        next += 1;
                    } else {
                        all_kept = false;
                    }
                }
            }
        }
        (next > 0).then(|| SubtreePlan {
            bits: plan.into_boxed_slice(),
            all_kept,
        })
    }

    /// The dependence of `rule`'s lets that are functions of attribute values (each let may
    /// read the ones before it and the constant globals), worked out once per rule.
    fn let_deps<'r>(&self, rule: &'r CRule) -> &'r FxMap<usize, Dependence> {
        rule.lets.get_or_init(|| {
            let mut lets: FxMap<usize, Dependence> = FxMap::default();
            for step in &rule.steps {
                if let CStep::Let(var, expr) = step
                    && let Some(d) = expr.dependence(&|v| {
                        lets.get(&v.0)
                            .or_else(|| self.global_deps.get(&v.0))
                            .cloned()
                    })
                {
                    lets.insert(var.0, d);
                }
            }
            lets
        })
    }

    /// The attributes whose values decide `test` when its results are worth keeping (see
    /// [`CCheck::memo`]), given the dependence of its rule's lets.
    fn kept_attributes(
        &self,
        test: &Expr,
        lets: &FxMap<usize, Dependence>,
    ) -> Option<Box<[KeyAttribute]>> {
        let d = test.dependence(&|v| {
            lets.get(&v.0)
                .or_else(|| self.global_deps.get(&v.0))
                .cloned()
        })?;
        (d.weight >= KEEP_FROM_WEIGHT && d.attributes.len() <= MAX_KEY_ATTRIBUTES)
            .then(|| d.attributes.into_boxed_slice())
    }

    /// A check segur cannot compile: reported as an error finding, never passed silently.
    fn not_run(&self, doc: &Document, node: NodeId, c: &ColdCheck, why: &str) -> Finding {
        let message = format!(
            "segur cannot run the check {} (`{}`): {why}",
            c.rule_id(),
            c.test.src
        );
        self.check_finding(doc, node, c, "UNSUPPORTED".into(), Severity::Error, message)
    }

    /// The finding that says a rule of the rule set cannot run, at the document element.
    fn broken_rule(&self, doc: &Document, b: &BrokenRule) -> Finding {
        let at = doc.document_element().unwrap_or(doc.root());
        let message = format!(
            "segur cannot run the rule {} (context `{}`): {}; its {} check(s) did not run",
            b.name, b.context, b.why, b.checks
        );
        let rule = "UNSUPPORTED".to_string();
        self.rule_finding(
            doc,
            at,
            rule,
            Severity::Error,
            message,
            (&b.file, Some(b.line)),
        )
    }

    /// A finding of check `c` at `node`, with the check's source and the node's location.
    fn check_finding(
        &self,
        doc: &Document,
        node: NodeId,
        c: &ColdCheck,
        rule: String,
        severity: Severity,
        message: String,
    ) -> Finding {
        self.rule_finding(doc, node, rule, severity, message, (&c.file, Some(c.line)))
    }

    /// A finding of this rule set at `node`, from the rule file and line `(file, line)` (its
    /// version from the rule set's files).
    fn rule_finding(
        &self,
        doc: &Document,
        node: NodeId,
        rule: String,
        severity: Severity,
        message: String,
        (file, line): (&str, Option<u32>),
    ) -> Finding {
        Finding {
            rule,
            severity,
            message,
            source: RuleSource {
                file: file.to_string(),
                line,
                version: self.versions.get(file).cloned().unwrap_or_default(),
            },
            rule_set: Some(self.file.clone()),
            location: locate(doc, node),
        }
    }

    /// The rule id of every check of the rule set (see [`crate::schematron::Check::rule_id`]).
    pub fn rule_ids(&self) -> impl Iterator<Item = String> + '_ {
        self.patterns
            .iter()
            .flat_map(|p| &p.rules)
            .flat_map(|r| &r.steps)
            .filter_map(|step| match step {
                CStep::Check(c) => Some(c.cold.rule_id()),
                _ => None,
            })
    }

    /// Every construct that cannot run: the rule contexts and lets found at compile time, and
    /// the checks and messages, compiled here if they were not yet.
    pub fn unsupported_all(&self) -> Vec<Unsupported> {
        let mut out = self.unsupported.clone();
        for step in self
            .patterns
            .iter()
            .flat_map(|p| &p.rules)
            .flat_map(|r| &r.steps)
        {
            let CStep::Check(c) = step else { continue };
            let c = &c.cold;
            let lazies = std::iter::once(&c.test).chain(c.message.iter().filter_map(|p| match p {
                Part::Value(l) => Some(l),
                Part::Text(_) => None,
            }));
            for l in lazies {
                if let Err(e) = l.get() {
                    out.push(Unsupported {
                        at: format!("{}:{}", c.file, c.line),
                        rule_set: self.file.clone(),
                        construct: l.src.to_string(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        out
    }

    fn finding(
        &self,
        doc: &Document,
        node: NodeId,
        c: &ColdCheck,
        ctx: &DynamicContext<'_>,
    ) -> Result<Finding, EvalError> {
        let mut text = String::new();
        for part in &c.message {
            match part {
                Part::Text(t) => text.push_str(t),
                Part::Value(l) => match l.get() {
                    Ok(e) => text.push_str(&e.evaluate_string(ctx, ctx.node(node))?),
                    Err(e) => text.push_str(&format!("[segur cannot evaluate `{}`: {e}]", l.src)),
                },
            }
        }
        Ok(self.check_finding(doc, node, c, c.rule_id(), c.severity, collapse(&text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_put_in_document_order_without_repeats() {
        let mut marks = Vec::new();
        // Below the marking threshold (sorted) and above it (marked), repeats and word edges.
        for len in [5usize, 63, 64, 65, 200, 1000] {
            let mut nodes: Vec<u32> = (0..len as u32)
                .map(|i| (i * 7919 + 13) % (len as u32 + 3))
                .filter(|&n| (n as usize) < len + 3)
                .chain([0, 63, 64, 127, 128])
                .filter(|&n| (n as usize) < len)
                .collect();
            nodes.extend(nodes.clone());
            let mut expected = nodes.clone();
            expected.sort_unstable();
            expected.dedup();
            in_document_order(&mut nodes, &mut marks, len);
            assert_eq!(nodes, expected, "len {len}");
        }
    }

    #[test]
    fn variable_references_are_read_as_xpath_reads_them() {
        let refs: Vec<&str> = variable_refs("$a = $b-1 and count($c:d) > 0 or $e[$f]").collect();
        assert_eq!(refs, ["a", "b-1", "c:d", "e", "f"]);
        assert_eq!(variable_refs("no variables").count(), 0);
    }

    /// Runs `rule_body` (lets and checks) with context `r` on `<r a='1'/>`: the rule ids that
    /// fired.
    fn fire(rule_body: &str) -> Vec<String> {
        fire_on("r", rule_body, &["<r a='1'/>"])
            .remove(0)
            .into_iter()
            .map(|(rule, _)| rule)
            .collect()
    }

    /// A schematron of one pattern holding the rules `body`, with the global lets `globals`,
    /// compiled; the temporary directory of its file comes with it.
    fn compile_rules(globals: &str, body: &str) -> (Compiled, tempfile::TempDir) {
        let tmp = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(tmp.path().join("schematrons")).expect("mkdir");
        let file = tmp.path().join("schematrons/t.sch");
        std::fs::write(
            &file,
            format!(
                r#"<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  {globals}
  <pattern id="p">{body}</pattern>
</schema>"#
            ),
        )
        .expect("write");
        let s = Schematron::load(tmp.path(), &file).expect("load");
        (Compiled::compile(&s, tmp.path(), &|_| String::new()), tmp)
    }

    /// Runs `rule_body` with context `context` on each document, one compiled schematron for
    /// all (so results kept on one document serve the next), with a global `$digits`: the
    /// rules fired on each, with their lines.
    fn fire_on(context: &str, rule_body: &str, docs: &[&str]) -> Vec<Vec<(String, u32)>> {
        let (c, tmp) = compile_rules(
            r#"<let name="digits" value="'^[0-9]+$'"/>"#,
            &format!(r#"<rule context="{context}">{rule_body}</rule>"#),
        );
        let cache = DocumentCache::new(tmp.path());
        docs.iter()
            .map(|xml| {
                let doc =
                    Document::parse(xml.as_bytes(), &segur_xml::Limits::default()).expect("doc");
                c.run(&doc, &cache)
                    .into_iter()
                    .map(|f| (f.rule, f.location.line.unwrap_or(0)))
                    .collect()
            })
            .collect()
    }

    /// A rule whose context does not compile is reported on every document (its checks never
    /// run), and a check that reads a rule let which does not compile, directly or through
    /// another let, is reported as not run instead of failing with its own message; a check
    /// that reads neither still runs, and a let redefined by a compiling one is usable again.
    #[test]
    fn rules_and_lets_that_do_not_compile_are_reported_never_passed() {
        let (c, tmp) = compile_rules(
            "",
            r#"<rule context="r]]"><assert test="false()">never</assert></rule>
               <rule context="r">
                 <let name="bad" value="@a]]"/>
                 <let name="worse" value="$bad + 1"/>
                 <assert id="reads" test="$worse = 2">reads the broken let</assert>
                 <assert id="plain" test="@a = '2'">plain <value-of select="$bad"/></assert>
                 <let name="bad" value="@a"/>
                 <assert id="again" test="$bad = '2'">redefined</assert>
               </rule>"#,
        );
        let cache = DocumentCache::new(tmp.path());
        let doc = Document::parse(b"<r a='1'/>", &segur_xml::Limits::default()).expect("doc");
        let findings = c.run(&doc, &cache);
        let rules: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| (f.rule.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(rules.len(), 4, "{rules:#?}");
        assert!(
            rules
                .iter()
                .any(|(r, m)| *r == "UNSUPPORTED" && m.contains("context `r]]`"))
        );
        assert!(
            rules.iter().any(|(r, m)| *r == "UNSUPPORTED"
                && m.contains("$worse = 2")
                && m.contains("let $bad")),
            "{rules:#?}"
        );
        // It runs; its message says which part could not be evaluated.
        assert!(
            rules
                .iter()
                .any(|(r, m)| r.ends_with("plain") && m.contains("segur cannot evaluate")),
            "{rules:#?}"
        );
        assert!(
            rules.iter().any(|(r, _)| r.ends_with("again")),
            "{rules:#?}"
        );
        assert!(
            !rules
                .iter()
                .any(|(_, m)| m.contains("reads the broken let"))
        );
    }

    /// A dynamic error stops the run, as it stops the official chain's transformation; the
    /// one finding names the check that raised it, its line, and the node it was checked on.
    #[test]
    fn a_run_stopped_by_a_dynamic_error_names_its_check() {
        let (c, tmp) = compile_rules(
            "",
            r#"<rule context="b"><assert id="cast" test="xs:integer(@n) = 1">n</assert></rule>"#,
        );
        let cache = DocumentCache::new(tmp.path());
        let doc = Document::parse(
            b"<a>\n<b n='1'/>\n<b n='x'/></a>",
            &segur_xml::Limits::default(),
        )
        .expect("doc");
        let findings = c.run(&doc, &cache);
        assert_eq!(findings.len(), 1, "{findings:?}");
        let f = &findings[0];
        assert_eq!(f.rule, "RUN-ERROR");
        assert!(f.message.contains("in the check cast"), "{}", f.message);
        assert!(f.message.contains("xs:integer(@n) = 1"), "{}", f.message);
        assert_eq!(f.location.line, Some(3), "{f:?}");
        assert_eq!(f.source.line, Some(3), "{f:?}");
    }

    /// Rules that repeat a let's name and a test in the same scope share their compiled forms,
    /// yet each rule reads its own let's value: here the same test fires on one rule only.
    #[test]
    fn rules_sharing_compiled_tests_keep_their_own_let_values() {
        let tmp = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(tmp.path().join("schematrons")).expect("mkdir");
        let file = tmp.path().join("schematrons/t.sch");
        let rule = |context: &str, value: &str, id: &str| {
            format!(
                r#"<pattern><rule context="{context}"><let name="v" value="{value}"/>
                <assert id="{id}" test="$v = '1'">v is <value-of select="$v"/></assert></rule></pattern>"#
            )
        };
        std::fs::write(
            &file,
            format!(
                r#"<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">{}{}{}</schema>"#,
                rule("r", "string(@a)", "a"),
                rule("r", "string(@b)", "b"),
                rule("e", "string(@a)", "e"),
            ),
        )
        .expect("write");
        let s = Schematron::load(tmp.path(), &file).expect("load");
        let c = Compiled::compile(&s, tmp.path(), &|_| String::new());
        let cache = DocumentCache::new(tmp.path());
        let doc = Document::parse(
            b"<r a='1' b='2'><e a='3'/><e a='1'/></r>",
            &segur_xml::Limits::default(),
        )
        .expect("doc");
        let fired: Vec<(String, String)> = c
            .run(&doc, &cache)
            .into_iter()
            .map(|f| (f.rule, f.message))
            .collect();
        assert_eq!(
            fired,
            [("b".into(), "v is 2".into()), ("e".into(), "v is 3".into())]
        );
        let shared = c.patterns[0].rules[0]
            .steps
            .iter()
            .zip(&c.patterns[2].rules[0].steps);
        for pair in shared {
            match pair {
                (CStep::Let(_, x), CStep::Let(_, y)) => assert!(Arc::ptr_eq(x, y)),
                (CStep::Check(x), CStep::Check(y)) => {
                    assert!(Arc::ptr_eq(&x.test, &y.test))
                }
                _ => panic!("the two rules have the same steps"),
            }
        }
    }

    /// Kept results are found by their encoded values: different value lists never encode
    /// alike (an absent value, an empty one, values split differently).
    #[test]
    fn encoded_values_tell_value_lists_apart() {
        let lists: [&[Option<&str>]; 7] = [
            &[],
            &[None],
            &[Some("")],
            &[Some("ab")],
            &[Some("a"), Some("b")],
            &[Some("a"), None],
            &[None, Some("a")],
        ];
        let encoded: Vec<Vec<u8>> = lists
            .iter()
            .map(|l| {
                let mut out = vec![9];
                encode_values(l, &mut out);
                out
            })
            .collect();
        for (i, a) in encoded.iter().enumerate() {
            for b in &encoded[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(encoded[0], Vec::<u8>::new(), "the buffer is cleared first");
    }

    /// A check that reads only attribute values (here through a let and a constant global)
    /// keeps its results by those values: every node still gets its own verdict and location,
    /// across documents, and a dynamic error is raised again, never kept.
    #[test]
    fn results_kept_by_attribute_values_are_per_value() {
        let rule = r#"<let name="v" value="string(@v)"/>
            <assert id="num" test="matches($v, $digits) and string-length(@v) lt 4">m</assert>"#;
        let docs = [
            "<r>\n<e v='1'/>\n<e v='x'/>\n<e v='1'/>\n<e v='x'/>\n<e/>\n<e v='12345'/></r>",
            "<r>\n<e v='x'/>\n<e v='1'/></r>",
        ];
        let fired = fire_on("e", rule, &docs);
        let num = |lines: &[u32]| -> Vec<(String, u32)> {
            lines.iter().map(|&l| ("num".to_string(), l)).collect()
        };
        assert_eq!(fired, [num(&[3, 5, 6, 7]), num(&[2])]);
        let error = r#"<assert id="int" test="xs:integer(@v) gt 0">m</assert>"#;
        let fired = fire_on(
            "e",
            error,
            &["<r><e v='1'/><e v='x'/></r>", "<r><e v='x'/></r>"],
        );
        assert_eq!(fired[0].len(), 1);
        assert_eq!(fired[0][0].0, "RUN-ERROR");
        assert_eq!(fired[1].len(), 1);
        assert_eq!(fired[1][0].0, "RUN-ERROR");
    }

    /// A check that reads attributes of child elements by a child path (`b/@v`, the interval
    /// rules' `hl7:low/@value`) keeps its results by their values when the path reaches at
    /// most one element, and is evaluated in full when it reaches more.
    #[test]
    fn results_kept_by_child_attribute_values_are_per_value() {
        let rule = r#"<let name="v" value="b/@v"/>
            <assert id="x" test="not(some $s in $v satisfies matches($s, '^x')) and string-length(concat(b/c/@w, 'yyyy')) lt 6">m</assert>"#;
        let docs = [
            "<r>\n<e><b v='x1'/></e>\n<e><b v='y'/></e>\n<e><b v='y'/><b v='x2'/></e>\n<e/>\n<e><b/></e>\n<e><b v='x1'/></e></r>",
            "<r>\n<e><b v='y'><c w='ww'/></b></e>\n<e><b v='y'><c w='w'/></b></e>\n<e><b v='y'/><b v='y'/></e>\n<e><b v='x1'/></e></r>",
        ];
        let fired = fire_on("e", rule, &docs);
        let x = |lines: &[u32]| -> Vec<(String, u32)> {
            lines.iter().map(|&l| ("x".to_string(), l)).collect()
        };
        assert_eq!(fired, [x(&[2, 4, 7]), x(&[2, 5])]);
        // The same documents, each with a fresh rule set (nothing kept): the same verdicts.
        for (doc, want) in docs.iter().zip(&fired) {
            assert_eq!(&fire_on("e", rule, &[doc])[0], want);
        }
    }

    /// The checks of a rule that read only their node's subtree keep their outcomes by a hash
    /// of it: identical subtrees share them (in other surroundings, in other documents), any
    /// difference (an attribute, text, a child, a prefix) gives a verdict of its own, checks
    /// that read outside the subtree are evaluated every time, and errors are never kept.
    #[test]
    fn outcomes_kept_by_subtree_are_per_subtree() {
        let rule = r#"<let name="n" value="count(*)"/>
            <assert id="one-b" test="$n = 1">m</assert>
            <assert id="text" test="normalize-space(.) != ''">m</assert>
            <assert id="v" test="not(*/@v = 'x')">m</assert>
            <assert id="prefix" test="not(*[name() = 'p:b'])">m</assert>
            <assert id="first" test="preceding-sibling::e">m</assert>"#;
        let docs = [
            "<r xmlns:p='urn:p' xmlns:q='urn:p'>
<e><b v='y'>t</b></e>
<e><b v='y'>t</b></e>
<e><b v='x'>t</b></e>
<e><b v='y'/></e>
<e><q:b v='y'>t</q:b></e>
<e><p:b v='y'>t</p:b></e>
<e><b v='y'>t</b><b/></e>
<e><b v='y'>t</b></e></r>",
            "<r xmlns:p='urn:p'><s>
<e><b v='y'>t</b></e></s><s>
<e><p:b v='y'>t</p:b></e>
<e><b v='x'>t</b></e></s></r>",
        ];
        let ids = |found: &[(String, u32)], line: u32| -> Vec<String> {
            let mut v: Vec<String> = found
                .iter()
                .filter(|f| f.1 == line)
                .map(|f| f.0.clone())
                .collect();
            v.sort();
            v
        };
        let fired = fire_on("e", rule, &docs);
        let expected_first: [&[&str]; 8] = [
            &["first"],
            &[],
            &["v"],
            &["text"],
            &[],
            &["prefix"],
            &["one-b"],
            &[],
        ];
        for (i, want) in expected_first.iter().enumerate() {
            assert_eq!(
                ids(&fired[0], i as u32 + 2),
                *want,
                "document 0, line {}",
                i + 2
            );
        }
        let expected_second: [&[&str]; 3] = [&["first"], &["first", "prefix"], &["v"]];
        for (i, want) in expected_second.iter().enumerate() {
            assert_eq!(
                ids(&fired[1], i as u32 + 2),
                *want,
                "document 1, line {}",
                i + 2
            );
        }
        // Each document with a fresh rule set: the same verdicts.
        for (doc, want) in docs.iter().zip(&fired) {
            assert_eq!(&fire_on("e", rule, &[doc])[0], want);
        }
        // The outcomes were kept by subtree: 6 distinct subtrees of `e` in these documents.
        let (c, tmp) = compile_rules("", &format!(r#"<rule context="e">{rule}</rule>"#));
        let cache = DocumentCache::new(tmp.path());
        for xml in docs {
            let doc = Document::parse(xml.as_bytes(), &segur_xml::Limits::default()).expect("doc");
            c.run(&doc, &cache);
        }
        let kept = PATH_CACHES.with(|caches| caches.borrow()[&c.id].rule_results.len());
        assert_eq!(kept, 6);
        // A dynamic error in a check of the subtree is raised again on the same subtree.
        let error = r#"<assert id="int" test="xs:integer(b/@v) gt 0">m</assert>"#;
        let fired = fire_on(
            "e",
            error,
            &[
                "<r><e><b v='1'/></e><e><b v='x'/></e></r>",
                "<r><e><b v='x'/></e></r>",
            ],
        );
        assert_eq!(fired[0].len(), 1);
        assert_eq!(fired[0][0].0, "RUN-ERROR");
        assert_eq!(fired[1].len(), 1);
        assert_eq!(fired[1][0].0, "RUN-ERROR");
    }

    /// The rule walk reads every step of a rule it runs: a check's hot part stays small (see
    /// [`CCheck`]).
    #[test]
    fn rule_steps_stay_small() {
        assert!(
            std::mem::size_of::<CStep>() <= 56,
            "{}",
            std::mem::size_of::<CStep>()
        );
    }

    /// A rule all of whose checks are kept by subtree is skipped on a subtree where none fired
    /// before; where one did, the rule runs again, its lets bound for the message.
    #[test]
    fn a_rule_with_nothing_to_fire_on_a_known_subtree_is_skipped() {
        let (c, tmp) = compile_rules(
            "",
            r#"<rule context="e"><let name="n" value="count(*)"/>
                <assert id="one" test="$n = 1">n is <value-of select="$n"/></assert>
                <assert id="v" test="not(*/@v = 'x')">m</assert></rule>"#,
        );
        let cache = DocumentCache::new(tmp.path());
        let xml = "<r>
<e><b/></e>
<e><b/></e>
<e><b/><b/></e>
<e><b/><b/></e>
<e><b v='x'/></e>
<e><b/></e></r>";
        let doc = Document::parse(xml.as_bytes(), &segur_xml::Limits::default()).expect("doc");
        let fired: Vec<(String, u32, String)> = c
            .run(&doc, &cache)
            .into_iter()
            .map(|f| (f.rule, f.location.line.unwrap_or(0), f.message))
            .collect();
        let want = [("one", 4, "n is 2"), ("one", 5, "n is 2"), ("v", 6, "m")];
        let want: Vec<(String, u32, String)> = want
            .iter()
            .map(|(r, l, m)| (r.to_string(), *l, m.to_string()))
            .collect();
        assert_eq!(fired, want);
        let plan = c.patterns[0].rules[0].plan.get();
        assert!(
            matches!(plan, Some(Some(p)) if p.all_kept),
            "both checks are kept, so the skip applies"
        );
    }

    /// A rule whose context is a named child of an element with a child-attribute condition
    /// (`o[t/@r = '1']/c`) takes its candidates from the parents meeting the condition, and
    /// fires on exactly the nodes its context matches.
    #[test]
    fn children_of_parents_with_a_child_attribute_are_the_candidates() {
        let (c, tmp) = compile_rules(
            "",
            r#"<rule context="o[t/@r = '1']/c"><report id="c" test="true()">m</report></rule>
               <rule context="o[t[@r = '2']]/c"><report id="d" test="true()">m</report></rule>
               <rule context="o[t/@r = '1']/c"><report id="never" test="true()">m</report></rule>"#,
        );
        let prefilters = &c.patterns[0].prefilters;
        assert_eq!(prefilters.len(), 2, "{prefilters:?}");
        assert!(
            prefilters
                .iter()
                .all(|p| matches!(p, Prefilter::ParentChildAttribute { .. })),
            "{prefilters:?}"
        );
        let cache = DocumentCache::new(tmp.path());
        let xml = "<r>
<o><t r='1'/><c/><c/></o>
<o><t r='3'/><t r='1'/><c/></o>
<o><t r='3'/><c/></o>
<p><t r='1'/><c/></p>
<o><t r='1'/><x><c/></x></o>
<o><t r='2'/><c/></o>
<c/></r>";
        let doc = Document::parse(xml.as_bytes(), &segur_xml::Limits::default()).expect("doc");
        let fired: Vec<(String, u32)> = c
            .run(&doc, &cache)
            .into_iter()
            .map(|f| (f.rule, f.location.line.unwrap_or(0)))
            .collect();
        // The first rule of the pattern that matches a node fires; the last never does.
        let expected = [("c", 2), ("c", 2), ("c", 3), ("d", 7)];
        assert_eq!(
            fired,
            expected.map(|(id, line)| (id.to_string(), line)).to_vec()
        );
        // Another rule set on the same document reads the same index (built once per
        // document and thread) for another value, and the first one then reads it again.
        let (other, _tmp) = compile_rules(
            "",
            r#"<rule context="o[t/@r = '3']/c"><report id="e" test="true()">m</report></rule>"#,
        );
        let lines = |c: &Compiled| -> Vec<(String, u32)> {
            c.run(&doc, &cache)
                .into_iter()
                .map(|f| (f.rule, f.location.line.unwrap_or(0)))
                .collect()
        };
        assert_eq!(lines(&other), [("e".to_string(), 3), ("e".to_string(), 4)]);
        assert_eq!(lines(&c), fired);
    }

    /// Which checks a rule keeps by subtree: those reading only the subtree, through lets that
    /// do and constant globals.
    #[test]
    fn the_plan_keeps_checks_that_read_only_the_subtree() {
        let (c, _tmp) = compile_rules(
            r#"<let name="digits" value="'^[0-9]+$'"/><let name="doc-wide" value="count(//e)"/>"#,
            r#"<rule context="e">
                <let name="kids" value="b"/>
                <let name="sibs" value="../e"/>
                <assert test="matches(@v, $digits)">m</assert>
                <assert test="count($kids) = 1">m</assert>
                <assert test="count($sibs) = 1">m</assert>
                <assert test="$doc-wide gt 1">m</assert>
                <assert test="$kids/b">m</assert>
                <assert test="$kids/..">m</assert>
            </rule>"#,
        );
        let rule = &c.patterns[0].rules[0];
        let plan = c.plan(rule).expect("some checks kept");
        let checks: Vec<u8> = rule
            .steps
            .iter()
            .zip(plan.bits.iter())
            .filter(|(s, _)| matches!(s, CStep::Check(_)))
            .map(|(_, &b)| b)
            .collect();
        assert_eq!(checks, [0, 1, NOT_KEPT, NOT_KEPT, 2, NOT_KEPT]);
        assert!(!plan.all_kept);
    }

    /// Two rule sets sharing the thread's node paths, run in turns on documents whose
    /// elements of one name sit at different paths (and on a document parsed again, which is
    /// a new document to the path cache): the same findings as fresh rule sets give.
    #[test]
    fn rule_sets_sharing_node_paths_match_as_fresh_ones() {
        let compile = |rules: &str| compile_rules("", rules);
        let one = r#"<rule context="/r/a/b"><assert id="ab" test="@x">m</assert></rule>
            <rule context="b"><assert id="b" test="@y">m</assert></rule>"#;
        let two = r#"<rule context="//c/b"><assert id="cb" test="@x">m</assert></rule>
            <rule context="*/a"><report id="a" test="b">m</report></rule>"#;
        let docs = [
            "<r>
<a><b/></a>
<c><b x='1'/></c>
<a><b y='1'/></a></r>",
            "<r>
<c><a><b/></a></c>
<a><c><b/></c></a>
<b/></r>",
        ];
        let run = |c: &Compiled, xml: &str| -> Vec<(String, u32)> {
            let doc = Document::parse(xml.as_bytes(), &segur_xml::Limits::default()).expect("doc");
            let cache = DocumentCache::new(std::path::Path::new("."));
            c.run(&doc, &cache)
                .into_iter()
                .map(|f| (f.rule, f.location.line.unwrap_or(0)))
                .collect()
        };
        let fresh: Vec<Vec<Vec<(String, u32)>>> = [one, two]
            .iter()
            .map(|r| docs.iter().map(|d| run(&compile(r).0, d)).collect())
            .collect();
        assert!(fresh.iter().flatten().all(|f| !f.is_empty()), "{fresh:?}");
        let (c1, _t1) = compile(one);
        let (c2, _t2) = compile(two);
        for round in 0..2 {
            for (d, xml) in docs.iter().enumerate() {
                let doc =
                    Document::parse(xml.as_bytes(), &segur_xml::Limits::default()).expect("doc");
                let cache = DocumentCache::new(std::path::Path::new("."));
                for (i, c) in [&c1, &c2, &c1].into_iter().enumerate() {
                    let got: Vec<(String, u32)> = c
                        .run(&doc, &cache)
                        .into_iter()
                        .map(|f| (f.rule, f.location.line.unwrap_or(0)))
                        .collect();
                    assert_eq!(
                        got,
                        fresh[i % 2][d],
                        "round {round}, document {d}, rule set {i}"
                    );
                }
            }
        }
        assert_ne!(
            SharedPaths::fresh().generation,
            SharedPaths::fresh().generation
        );
    }

    /// Rule sets compiled one after the other on a thread (an engine per request, a reload)
    /// leave a bounded number of caches behind.
    #[test]
    fn a_thread_keeps_the_caches_of_a_bounded_number_of_rule_sets() {
        for _ in 0..MAX_THREAD_CACHES + 3 {
            assert_eq!(
                fire(r#"<assert id="a" test="@a = '1'">m</assert>"#),
                Vec::<String>::new()
            );
        }
        let kept = PATH_CACHES.with(|c| c.borrow().len());
        assert!((1..=MAX_THREAD_CACHES).contains(&kept), "{kept}");
    }

    /// A let nothing reads is never evaluated, as in Saxon: its dynamic error (integer division
    /// by zero) does not stop the run; once a check reads it, the error does.
    #[test]
    fn a_let_no_later_step_reads_is_not_evaluated() {
        let unused = r#"<let name="boom" value="1 idiv 0"/><let name="a" value="@a"/>
            <assert id="ok" test="$a = '1'">m</assert><assert id="no" test="$a = '2'">m</assert>"#;
        assert_eq!(fire(unused), ["no"]);
        let used = r#"<let name="boom" value="1 idiv 0"/>
            <assert id="ok" test="$boom = 1">m</assert>"#;
        assert_eq!(fire(used), ["RUN-ERROR"]);
        // A let read only through another let that is read runs too.
        let chained = r#"<let name="boom" value="1 idiv 0"/><let name="b" value="$boom"/>
            <assert id="ok" test="empty($b)">m</assert>"#;
        assert_eq!(fire(chained), ["RUN-ERROR"]);
        // A shadowed let is not read by the checks after the let that shadows it.
        let shadowed = r#"<let name="x" value="1 idiv 0"/><let name="x" value="2"/>
            <assert id="two" test="$x = 2">m</assert><report id="msg" test="true()"><value-of select="$x"/></report>"#;
        assert_eq!(fire(shadowed), ["msg"]);
        // Lets are evaluated when first read: one read only on a branch that is not taken
        // is never evaluated; one read twice is evaluated once, with the rule's node.
        let untaken = r#"<let name="boom" value="1 idiv 0"/>
            <assert id="ok" test="@a = '1' or $boom = 1">m</assert>"#;
        assert!(fire(untaken).is_empty());
        let taken = r#"<let name="boom" value="1 idiv 0"/>
            <assert id="ok" test="@a = '2' or $boom = 1">m</assert>"#;
        assert_eq!(fire(taken), ["RUN-ERROR"]);
        let twice = r#"<let name="a" value="string(@a)"/>
            <assert id="one" test="$a = '1'">m</assert><report id="again" test="$a = '1'">m</report>"#;
        assert_eq!(fire(twice), ["again"]);
    }
}
