//! The ANS CI-SIS schematrons and example documents: every expression and rule context
//! compiles (except the listed abstract-pattern placeholders), and real asserts give the
//! verdicts checked by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use segur_xml::{Document, Limits, NodeId, NodeKind};
use segur_xpath::{DocResolver, DynamicContext, Item, StaticContext, compile, compile_pattern};

const SCH: &str = "http://purl.oclc.org/dsdl/schematron";

fn ans_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda")
}

fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn base_context() -> StaticContext {
    let mut sc = StaticContext::new();
    for (p, uri) in [
        ("cda", "urn:hl7-org:v3"),
        ("hl7", "urn:hl7-org:v3"),
        ("svs", "urn:ihe:iti:svs:2008"),
        ("jdv", "http://esante.gouv.fr"),
        ("sdtc", "urn:hl7-org:sdtc"),
        ("lab", "urn:oid:1.3.6.1.4.1.19376.1.3.2"),
        ("pharm", "urn:ihe:pharm"),
        ("local", "http://art-decor.org/functions"),
        ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
        ("skos", "http://www.w3.org/2004/02/skos/core#"),
        ("ps3-20", "urn:dicom-org:ps3-20"),
        ("iso", SCH),
        ("sch", SCH),
    ] {
        sc.bind_namespace(p, uri);
    }
    sc
}

/// Sources that are wrong in the ANS files themselves (Saxon refuses them too), by file name
/// and the start of the expression.
const KNOWN_BAD: &[(&str, &str, &str)] = &[
    (
        "S_acuiteVisuelle.sch",
        "count(.//cda:templateId",
        "unbalanced parenthesis (file included by no schematron)",
    ),
    (
        "S_planDeSoinsBiologie_ANS.sch",
        "count(cda:entry/",
        "extra ']' (file included by no schematron)",
    ),
    (
        "DTr1_hl7nl-",
        "",
        "prefix hl7nl declared in no ANS schematron",
    ),
];

/// Why a source that does not compile is expected not to: an abstract-pattern parameter
/// (`$name`) standing where XPath allows no variable, replaced textually before compiling.
fn placeholder_reason(src: &str, is_pattern: bool) -> Option<&'static str> {
    let t = src.trim();
    if is_pattern && t.starts_with('$') {
        return Some("abstract-pattern parameter as a whole rule context");
    }
    if t.contains(":$") || t.contains("/$") && is_pattern {
        return Some("abstract-pattern parameter in a name test or pattern step");
    }
    None
}

#[derive(Default)]
struct Tally {
    total: usize,
    compiled: usize,
    expected: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
}

#[test]
fn every_ans_expression_and_context_compiles() {
    let files = files_under(&ans_dir().join("schematrons"), "sch");
    assert!(
        !files.is_empty(),
        "the ANS schematrons are missing (../shared/ans)"
    );
    let mut tally = Tally::default();
    for path in &files {
        let bytes = std::fs::read(path).expect("readable schematron");
        let doc = match Document::parse(&bytes, &Limits::default()) {
            Ok(d) => d,
            Err(e) => {
                tally
                    .failures
                    .push(format!("{}: not parsed: {e}", path.display()));
                continue;
            }
        };
        let mut sc = base_context();
        let elements: Vec<NodeId> = doc
            .descendants(doc.root())
            .filter(|&n| doc.kind(n) == NodeKind::Element)
            .collect();
        for &e in &elements {
            if doc.namespace_uri(e) == SCH
                && doc.local_name(e) == "ns"
                && let (Some(p), Some(u)) = (
                    doc.attribute_value(e, "", "prefix"),
                    doc.attribute_value(e, "", "uri"),
                )
            {
                sc.bind_namespace(p, u);
            }
            if doc.namespace_uri(e) == SCH
                && matches!(doc.local_name(e), "let" | "param")
                && let Some(name) = doc.attribute_value(e, "", "name")
            {
                sc.declare_variable(name);
            }
        }
        // Abstract patterns use parameters declared by the instantiating file.
        for e in &elements {
            for a in doc.attributes(*e) {
                for var in doc.value(a).split('$').skip(1) {
                    let name: String = var
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
                        .collect();
                    if !name.is_empty() && sc.variable(&name).is_none() {
                        sc.declare_variable(&name);
                    }
                }
            }
        }
        for &e in &elements {
            if doc.namespace_uri(e) != SCH {
                continue;
            }
            for a in doc.attributes(e) {
                let attr = doc.local_name(a);
                let local = doc.local_name(e);
                let is_pattern = attr == "context" && local == "rule";
                let is_expr = matches!(
                    (local, attr),
                    ("assert" | "report", "test") | ("let" | "param", "value") | (_, "select")
                );
                if !is_pattern && !is_expr {
                    continue;
                }
                let src = doc.value(a);
                tally.total += 1;
                let result = if is_pattern {
                    compile_pattern(src, &sc).map(|_| ())
                } else {
                    compile(src, &sc).map(|_| ())
                };
                match result {
                    Ok(()) => tally.compiled += 1,
                    Err(err) => match placeholder_reason(src, is_pattern).or_else(|| {
                        let file = path
                            .file_name()
                            .map(|f| f.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        KNOWN_BAD
                            .iter()
                            .find(|(f, start, _)| file.starts_with(f) && src.starts_with(start))
                            .map(|k| k.2)
                    }) {
                        Some(reason) => *tally.expected.entry(reason).or_default() += 1,
                        None => {
                            let (line, _) = doc.line_col(doc.offset(a));
                            tally
                                .failures
                                .push(format!("{}:{line} {local}/@{attr}: {err}", path.display()));
                        }
                    },
                }
            }
        }
    }
    assert!(
        tally.failures.is_empty(),
        "{} compiled of {}, expected failures {:?}, {} unexpected:\n{}",
        tally.compiled,
        tally.total,
        tally.expected,
        tally.failures.len(),
        tally.failures.join("\n")
    );
    assert!(
        tally.total > 14_000,
        "only {} expressions found",
        tally.total
    );
    let expected: usize = tally.expected.values().sum();
    assert_eq!(tally.compiled + expected, tally.total);
    // The known failures can only shrink.
    assert!(expected <= 27, "{:?}", tally.expected);
}

fn example(name: &str) -> Option<Document> {
    let bytes = std::fs::read(ans_dir().join("ExemplesCDA").join(name)).ok()?;
    Some(Document::parse(&bytes, &Limits::default()).expect("example parses"))
}

struct Files(PathBuf);

impl DocResolver for Files {
    fn load(&self, uri: &str) -> Option<Arc<Document>> {
        let bytes = std::fs::read(self.0.join(uri)).ok()?;
        Document::parse(&bytes, &Limits::default())
            .ok()
            .map(Arc::new)
    }
}

#[test]
fn real_asserts_on_real_documents() {
    let doc = example("ANEST-CR-ANEST_2022.01.xml").expect("the ANS examples (../shared/ans)");
    let sc = base_context();
    let resolver = Files(ans_dir().join("schematrons"));
    let ctx = DynamicContext::new(&doc).with_resolver(&resolver);
    let root = ctx.node(doc.document_element().expect("root"));
    let eval = |src: &str| -> bool {
        compile(src, &sc)
            .unwrap_or_else(|e| panic!("{e}"))
            .evaluate_boolean(&ctx, root)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
    };
    // Header asserts (Entete): typeId, a French realm, one recordTarget, effectiveTime precise to the second.
    assert!(eval(
        "cda:typeId[@root='2.16.840.1.113883.1.3' and @extension='POCD_HD000040']"
    ));
    assert!(eval("cda:realmCode/@code = 'FR'"));
    assert!(eval("count(cda:recordTarget) = 1"));
    assert!(eval("string-length(cda:effectiveTime/@value) >= 14"));
    assert!(eval("matches(cda:id/@root, '^[0-2](\\.(0|[1-9]\\d*))*$')"));
    assert!(!eval("cda:component/cda:nonXMLBody"));
    assert!(eval(
        "count(//cda:section) > 0 and (every $s in //cda:section satisfies $s/cda:code/@code)"
    ));
    // The pattern context of a section rule and its positional template test.
    let pattern = compile_pattern(
        "cda:ClinicalDocument/cda:component/cda:structuredBody//cda:section",
        &sc,
    )
    .expect("pattern");
    let sections = compile("//cda:section", &sc)
        .expect("expr")
        .evaluate_node(&ctx, root)
        .expect("sections");
    assert!(!sections.is_empty());
    for s in &sections {
        let Item::Node(n) = s else { panic!("a node") };
        assert!(pattern.matches(*n, &ctx).expect("matches"));
    }
    assert!(!pattern.matches(root, &ctx).expect("matches"));
    // An xsi:type resolved against the element's in-scope namespaces, as the IVL_TS asserts do.
    let typed = compile(
        "every $v in //cda:value[@xsi:type] satisfies \
         namespace-uri-from-QName(resolve-QName(string($v/@xsi:type), $v)) = 'urn:hl7-org:v3'",
        &sc,
    )
    .expect("compiles");
    assert!(typed.evaluate_boolean(&ctx, root).expect("evaluates"));
    // A value-set lookup through document(), as dansJeuDeValeurs does.
    let jdv = files_under(&ans_dir().join("schematrons"), "xml")
        .into_iter()
        .find(|p| {
            p.file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with("JDV_"))
        });
    if let Some(jdv) = jdv {
        let rel = jdv
            .strip_prefix(ans_dir().join("schematrons"))
            .expect("under schematrons")
            .to_string_lossy()
            .into_owned();
        let set = Document::parse(&std::fs::read(&jdv).expect("jdv"), &Limits::default())
            .expect("jdv parses");
        let concept = set
            .descendants(set.root())
            .find(|&n| set.local_name(n) == "Concept")
            .expect("a concept");
        let code = set.attribute_value(concept, "", "code").expect("code");
        let system = set
            .attribute_value(concept, "", "codeSystem")
            .expect("codeSystem");
        let src =
            format!("document('{rel}')//svs:Concept[@code='{code}' and @codeSystem='{system}']");
        assert!(eval(&src), "{src}");
        assert!(!eval(&format!(
            "document('{rel}')//svs:Concept[@code='no such code']"
        )));
        assert!(eval(&format!("doc-available('{rel}')")));
        // Membership in a constant value-set path (answered from a process-wide string set):
        // a string, an attribute node and a sequence of candidates, found or not.
        let codes = format!("(doc('{rel}')//svs:Concept/@code)");
        assert!(eval(&format!("'{code}' = {codes}")));
        assert!(!eval(&format!("'no such code' = {codes}")));
        assert!(eval(&format!("('x', '{code}') = {codes}")));
        assert!(!eval(&format!("() = {codes}")));
        assert!(!eval(&format!("cda:realmCode/@code = {codes}")) || code == "FR");
        assert!(eval(&format!(
            "'{code}' = ({codes}, doc('{rel}')//svs:Concept/@codeSystem)"
        )));
    }
}

#[test]
fn counting_every_element_of_the_largest_example_is_linear() {
    let dir = ans_dir().join("ExemplesCDA");
    let Some(largest) = files_under(&dir, "xml")
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
    else {
        panic!("the ANS examples are missing (../shared/ans)");
    };
    let doc = Document::parse(
        &std::fs::read(&largest).expect("readable"),
        &Limits::default(),
    )
    .expect("parses");
    let elements = doc
        .descendants(doc.root())
        .filter(|&n| doc.kind(n) == NodeKind::Element)
        .count();
    let ctx = DynamicContext::new(&doc);
    let sc = base_context();
    let count = compile("count(//*)", &sc).expect("compiles");
    let deep = compile("count(//*[ancestor::cda:section]//cda:*)", &sc).expect("compiles");
    for _ in 0..20 {
        let got = count.evaluate_node(&ctx, ctx.root()).expect("evaluates");
        assert_eq!(
            got.as_slice(),
            [Item::Atomic(segur_xpath::Atomic::Integer(elements as i64))]
        );
    }
    // Nested descendant steps stay near-linear thanks to deduplication in document order.
    deep.evaluate_node(&ctx, ctx.root()).expect("evaluates");
}
