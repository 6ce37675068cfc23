//! The whole engine on generated near-misses of real documents: ANS examples with elements
//! removed, repeated or renamed, attributes dropped or given awkward values, text replaced.
//! Most stay well formed, so the XSD, every schematron and segur's rules run on them.
//!
//! Properties: no panic; every finding has a rule id, a message and a position inside the
//! input; and the verdict does not depend on what the thread validated before. The engine
//! keeps check outcomes per thread (by subtree, by attribute values, by node path), so each
//! mutant is validated on a thread that has validated many others and on a fresh thread,
//! and the findings must be the same.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use segur_validate::engine::{Engine, EngineOptions, Outcome, Profile};
use segur_validate::select::SelectMode;
use segur_xml::{Document, Limits, NodeId, NodeKind};

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda")
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let rules_dir = rules_dir();
        let beside = |rel: &str| Some(rules_dir.join(rel)).filter(|p| p.is_file());
        Engine::new(EngineOptions {
            mapping: beside("../peer/mapping.properties"),
            overrides: beside("../sch_overrides.tsv"),
            rules_dir: rules_dir.clone(),
            select: SelectMode::Auto,
            profile: Profile::Default,
            xsd: true,
            limits: Limits::default(),
            cache_dir: segur_validate::rules::default_cache_dir(),
        })
        .expect("engine")
    })
}

/// Examples of several volets (structured, N1 with a PDF, header-heavy), read once.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        [
            "BIO-CR-BIO_2024.01_TSH_1.xml",
            "BIO-CR-BIO_2024.01_Microbiologie_V1.xml",
            "BIO-TROD_2024.01_Angine.xml",
            "BIO-CR-BIO_2021.01_CDA-R2-Niveau-1.xml",
        ]
        .iter()
        .map(|f| std::fs::read(rules_dir().join("ExemplesCDA").join(f)).expect("example"))
        .collect()
    })
}

/// Values that sit on the edges of the datatypes the rules check.
const VALUES: &[&str] = &[
    "",
    " ",
    "x",
    "-1",
    "0",
    "99999999999999999999999",
    "NaN",
    "INF",
    "1.2.250.1.213.1.4.8",
    "1.2.250.1.213.1.4.10",
    "2.25.1",
    "urn:uuid:not-a-uuid",
    "20240230",
    "2024-02-03",
    "202402031200+0100",
    "20240203120000.5+01",
    "-20240203",
    "UNK",
    "NI",
    "fr-FR",
    "&amp;&lt;",
    "é€𝄞",
    "a\tb  c",
];

#[derive(Debug, Clone, Copy)]
enum Change {
    RemoveElement,
    RepeatElement,
    RenameElement,
    RemoveAttribute,
    SetAttribute,
    SetText,
}

/// One change at the element (or attribute, or text node) found at `pick` thousandths of
/// the document's nodes of that kind, with `VALUES[value]` where it needs a value.
#[derive(Debug, Clone, Copy)]
struct Mutation {
    change: Change,
    pick: u16,
    value: usize,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let change = prop_oneof![
        Just(Change::RemoveElement),
        Just(Change::RepeatElement),
        Just(Change::RenameElement),
        Just(Change::RemoveAttribute),
        Just(Change::SetAttribute),
        Just(Change::SetAttribute),
        Just(Change::SetText),
    ];
    (change, 0u16..1000, 0..VALUES.len()).prop_map(|(change, pick, value)| Mutation {
        change,
        pick,
        value,
    })
}

/// The byte just after an element's end tag (or its empty tag).
fn element_end(doc: &Document, src: &[u8], e: NodeId) -> usize {
    let close = doc.close_offset(e);
    if close == doc.offset(e) {
        return doc.tag_end(e);
    }
    close
        + src[close..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(0, |k| k + 1)
}

/// The span of an attribute's value between its quotes.
fn attribute_value_span(src: &[u8], at: usize) -> Option<(usize, usize)> {
    let eq = at + src[at..].iter().position(|&b| b == b'=')?;
    let open = eq + src[eq..].iter().position(|&b| b == b'"' || b == b'\'')?;
    let quote = src[open];
    let close = open + 1 + src[open + 1..].iter().position(|&b| b == quote)?;
    Some((open + 1, close))
}

fn escape(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

/// `src` with `m` applied; `None` when it does not parse or the change has nothing to apply to.
fn apply(src: &[u8], m: Mutation) -> Option<Vec<u8>> {
    let doc = Document::parse(src, &Limits::default()).ok()?;
    let nodes = |kind: NodeKind| -> Vec<NodeId> {
        (0..doc.len() as u32)
            .map(NodeId::from_index)
            .filter(|&n| doc.kind(n) == kind)
            .collect()
    };
    let pick = |v: &[NodeId]| -> Option<NodeId> {
        (!v.is_empty()).then(|| v[v.len() * usize::from(m.pick) / 1000])
    };
    let value = VALUES[m.value];
    let mut out = src.to_vec();
    match m.change {
        Change::RemoveElement | Change::RepeatElement | Change::RenameElement => {
            // Not the document element: the result would not be a document.
            let all = nodes(NodeKind::Element);
            let e = pick(all.get(1..)?)?;
            let (start, end) = (doc.offset(e), element_end(&doc, src, e));
            match m.change {
                Change::RemoveElement => {
                    out.drain(start..end);
                }
                Change::RepeatElement => {
                    let copy = src[start..end].to_vec();
                    out.splice(end..end, copy);
                }
                _ => {
                    let old = doc.qualified_name(e).into_owned();
                    let new = ["foo", "id", "code", "entry", "templateId"][m.value % 5];
                    let close = doc.close_offset(e);
                    if close != start {
                        // The end tag first: its offset stays valid.
                        out.splice(close + 2..close + 2 + old.len(), new.bytes());
                    }
                    out.splice(start + 1..start + 1 + old.len(), new.bytes());
                }
            }
        }
        Change::RemoveAttribute | Change::SetAttribute => {
            let a = pick(&nodes(NodeKind::Attribute))?;
            let at = doc.offset(a);
            let (open, close) = attribute_value_span(src, at)?;
            if matches!(m.change, Change::SetAttribute) {
                out.splice(open..close, escape(value).into_bytes());
            } else {
                // The space before the name goes too.
                out.drain(at.saturating_sub(1)..close + 1);
            }
        }
        Change::SetText => {
            let t = pick(&nodes(NodeKind::Text))?;
            let start = doc.offset(t);
            let len = src[start..].iter().position(|&b| b == b'<')?;
            out.splice(start..start + len, escape(value).into_bytes());
        }
    }
    Some(out)
}

/// What must not depend on the thread's history: the findings, in order, and the verdict.
fn summary(o: &Outcome) -> Vec<String> {
    let mut s: Vec<String> = o
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {:?} {:?} {:?} {}",
                f.rule, f.severity, f.rule_set, f.location, f.message
            )
        })
        .collect();
    s.push(format!("problem {:?}", o.problem));
    s.push(format!("rule sets {:?}", o.rule_sets));
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn mutated_examples_get_positioned_findings_whatever_the_thread_saw_before(
        seed in 0..4usize,
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let mut input = seeds()[seed].clone();
        for m in &mutations {
            if let Some(next) = apply(&input, *m) {
                input = next;
            }
        }
        let engine = engine();
        // This thread has validated the earlier cases' mutants: its kept outcomes are warm.
        let warm = engine.validate(&input);
        let lines = input.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        for f in &warm.findings {
            prop_assert!(!f.rule.is_empty() && !f.message.is_empty(), "{f:?}");
            if let Some(line) = f.location.line {
                prop_assert!(line >= 1 && line <= lines, "{f:?}: line past the input's {lines}");
                prop_assert!(f.location.column.is_some_and(|c| c >= 1), "{f:?}");
            }
        }
        if let Some(p) = &warm.problem {
            prop_assert!(p.line.is_some_and(|l| l >= 1 && l <= lines), "{p:?}");
        }
        let fresh = std::thread::scope(|s| s.spawn(|| engine.validate(&input)).join())
            .expect("validated on a fresh thread");
        prop_assert_eq!(summary(&warm), summary(&fresh));
        // And again on this thread, now that it has seen this very document.
        prop_assert_eq!(summary(&warm), summary(&engine.validate(&input)));
    }
}
