//! The own tokenizer against quick-xml's reading: the same document, node by node, wherever
//! the own tokenizer reads an input, and the same error wherever quick-xml refuses one.

use std::path::{Path, PathBuf};

use crate::Limits;
use crate::document::Document;
use crate::parse::{parse, parse_with_own_tokenizer, parse_with_quick_xml};

/// Panics unless `a` and `b` are the same document, naming the first difference.
fn same_document(what: &str, a: &Document, b: &Document) {
    assert_eq!(a.nodes.len(), b.nodes.len(), "{what}: node count");
    for (i, (x, y)) in a.nodes.iter().zip(&b.nodes).enumerate() {
        assert_eq!(format!("{x:?}"), format!("{y:?}"), "{what}: node {i}");
    }
    assert_eq!(a.text, b.text, "{what}: character data");
    assert_eq!(
        format!("{:?}", a.scopes),
        format!("{:?}", b.scopes),
        "{what}: scopes"
    );
    assert_eq!(a.source, b.source, "{what}: source");
    assert!(a.snapshot() == b.snapshot(), "{what}: images");
    name_index_is_a_scan(what, a);
    name_index_is_a_scan(what, b);
}

/// The name index gathered while parsing lists every element under its name, in document
/// order, as a scan of the nodes does.
fn name_index_is_a_scan(what: &str, d: &Document) {
    let mut scan: crate::hash::FxMap<crate::ExpandedName, Vec<u32>> = Default::default();
    for (i, n) in d.nodes.iter().enumerate() {
        if n.kind == crate::NodeKind::Element {
            scan.entry(n.name).or_default().push(i as u32);
        }
    }
    let built = d
        .by_name
        .get()
        .expect("the name index is built while parsing");
    assert_eq!(built.len(), scan.len(), "{what}: names in the index");
    for (name, nodes) in &scan {
        assert_eq!(
            built.get(name),
            Some(nodes),
            "{what}: elements named {name:?}"
        );
    }
}

/// Checks `input` read both ways under `limits`: whatever the own tokenizer reads, quick-xml
/// reads the same; what `parse` returns (document or error) is quick-xml's. Returns whether
/// the own tokenizer read it.
fn agrees(what: &str, input: &[u8], limits: &Limits, strip_space: bool) -> bool {
    let reference = parse_with_quick_xml(input, limits, strip_space);
    let own = parse_with_own_tokenizer(input, limits, strip_space);
    let chosen = parse(input, limits, strip_space);
    match (&reference, &own) {
        (Ok(r), Some(o)) => same_document(what, r, o),
        (Err(e), Some(_)) => panic!("{what}: the own tokenizer reads what quick-xml refuses: {e}"),
        _ => {}
    }
    match (&reference, &chosen) {
        (Ok(r), Ok(c)) => same_document(what, r, c),
        (Err(r), Err(c)) => {
            assert_eq!(format!("{r:?}"), format!("{c:?}"), "{what}");
            assert_eq!(r.to_string(), c.to_string(), "{what}");
        }
        (r, c) => panic!("{what}: {:?} then {:?}", r.as_ref().err(), c.as_ref().err()),
    }
    own.is_some()
}

fn both_ways(what: &str, input: &[u8], limits: &Limits) -> bool {
    let kept = agrees(what, input, limits, false);
    let stripped = agrees(&format!("{what} (strip-space)"), input, limits, true);
    assert_eq!(kept, stripped, "{what}: read with one setting only");
    kept
}

fn shared(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(path)
}

/// Every file under `dir`, recursively, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("a readable folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every ANS example reads the same both ways, and by the own tokenizer alone.
#[test]
fn the_own_tokenizer_reads_every_ans_example_as_quick_xml_does() {
    let mut read = 0;
    for path in files(&shared("ans/testcontenucda/ExemplesCDA")) {
        let bytes = std::fs::read(&path).expect("a readable file");
        let what = path.display().to_string();
        if both_ways(&what, &bytes, &Limits::default()) {
            read += 1;
        } else {
            assert!(
                parse_with_quick_xml(&bytes, &Limits::default(), false).is_err()
                    || path.extension().is_none_or(|e| e != "xml"),
                "{what}: a well-formed example left to quick-xml"
            );
        }
    }
    assert!(read >= 90, "{read}");
}

/// The oracle's files (mutated examples among them) read the same both ways.
#[test]
fn the_own_tokenizer_reads_every_oracle_file_as_quick_xml_does() {
    let mut read = 0;
    let all = files(&shared("ans/oracle"));
    for path in &all {
        let bytes = std::fs::read(path).expect("a readable file");
        if both_ways(&path.display().to_string(), &bytes, &Limits::default()) {
            read += 1;
        }
    }
    assert!(read >= 40, "{read} of {}", all.len());
}

/// The ANS examples under tight limits: the own tokenizer gives up wherever a limit is
/// reached, and quick-xml reports it.
#[test]
fn the_own_tokenizer_leaves_every_limit_to_quick_xml() {
    let tight = [
        Limits::default().with_max_depth(5),
        Limits {
            max_attributes_per_element: 2,
            ..Limits::default()
        },
        Limits {
            max_text_len: 40,
            ..Limits::default()
        },
        Limits {
            max_nodes: 500,
            ..Limits::default()
        },
    ];
    let paths = files(&shared("ans/testcontenucda/ExemplesCDA"));
    for path in paths.iter().step_by(7) {
        let bytes = std::fs::read(path).expect("a readable file");
        for (i, limits) in tight.iter().enumerate() {
            let what = format!("{} (limits {i})", path.display());
            assert!(
                !both_ways(&what, &bytes, limits) || path.extension().is_none_or(|e| e != "xml")
            );
        }
    }
}

/// A small pseudo-random generator (xorshift), so that runs are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }

    /// A piece of `from`: one before its `|` entry but one time in twenty.
    fn piece<'a>(&mut self, from: &[&'a str]) -> &'a str {
        let good = from.iter().position(|p| *p == "|").unwrap_or(from.len());
        if self.chance(95) || good + 1 >= from.len() {
            from[self.below(good)]
        } else {
            from[good + 1 + self.below(from.len() - good - 1)]
        }
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Pieces of documents: the first ones well-formed, those after the `|` entry malformed or
/// unusual (picked rarely, see [`Rng::piece`]).
const NAMES: &[&str] = &[
    "a",
    "b",
    "p:c",
    "q:d",
    "xsi:type",
    "é",
    "名",
    "a-b.c_d",
    "_u",
    "r:s",
    "a\u{b7}\u{300}",
    "|",
    "p:",
    ":p",
    "xml:lang",
    "ns1:x",
    "1a",
    "-a",
    "a\u{a0}",
    "a\u{1}",
];
const PREFIXES: &[&str] = &["p", "q", "xsi", "ns1", "r", "|", "xml", "xmlns"];
const URIS: &[&str] = &[
    "urn:p",
    "urn:q",
    "http://www.w3.org/2001/XMLSchema-instance",
    "urn:a&amp;b",
    "urn:\r\nx",
    "|",
    "",
    "http://www.w3.org/XML/1998/namespace",
];
const VALUES: &[&str] = &[
    "1",
    "",
    "a b",
    "x\ty",
    "a\r\nb",
    "\n",
    "&amp;",
    "&lt;&gt;",
    "&#65;",
    "&#x1F600;",
    "é",
    ">",
    "1.2.250.1.213",
    "&quot;'",
    "a&#10;b",
    "]]>",
    "|",
    "<",
    "&#0;",
    "&bogus;",
    "&",
    "\u{1}",
];
const TEXTS: &[&str] = &[
    "hello",
    " ",
    "\n  ",
    "\r\n    ",
    "\r\n\t",
    "&lt;",
    "&amp;",
    "&gt;",
    "&quot;",
    "&apos;",
    "&#233;",
    "&#xE9;",
    "&#x1F600;",
    "]>",
    ">",
    "\r",
    "a\rb",
    "é",
    "\u{feff}",
    "x\r\ny",
    "|",
    "&#1;",
    "&#xD800;",
    "&nope;",
    "& ",
    "&",
    "\u{0}",
    "\u{b}",
    "&amp",
    "&#;",
    "&#x;",
    "]]>",
    "\u{ffff}",
];
const SPACES: &[&str] = &[" ", "  ", "\n", "\r\n", "\t", "\r"];

fn space(r: &mut Rng) -> &'static str {
    if r.chance(80) { " " } else { r.pick(SPACES) }
}

/// An attribute of a start tag whose attributes so far are `used` (the same name twice now
/// and then).
fn attribute(r: &mut Rng, out: &mut String, used: &mut Vec<String>) {
    let name = if r.chance(20) {
        let prefix = r.piece(PREFIXES);
        if r.chance(30) {
            "xmlns".to_owned()
        } else {
            format!("xmlns:{prefix}")
        }
    } else {
        r.piece(NAMES).to_owned()
    };
    if used.contains(&name) && r.chance(97) {
        return;
    }
    out.push_str(space(r));
    out.push_str(&name);
    used.push(name.clone());
    if name.starts_with("xmlns") {
        out.push('=');
        let quote = if r.chance(50) { '"' } else { '\'' };
        out.push(quote);
        out.push_str(r.piece(URIS));
        out.push(quote);
        return;
    }
    if r.chance(10) {
        out.push_str(space(r));
    }
    out.push('=');
    if r.chance(10) {
        out.push_str(space(r));
    }
    let quote = if r.chance(70) { '"' } else { '\'' };
    out.push(quote);
    for _ in 0..r.below(3) {
        out.push_str(r.piece(VALUES));
    }
    out.push(quote);
}

fn comment(r: &mut Rng) -> &'static str {
    r.piece(&[
        "<!-- a comment -->",
        "<!---->",
        "<!--\r\n x\r\n-->",
        "<!-- a - b -->",
        "<!-- é <tag> &amp; -->",
        "<!-->-->",
        "|",
        "<!-- a -- b -->",
        "<!-- a --->",
        "<!--->",
    ])
}

fn instruction(r: &mut Rng) -> &'static str {
    r.piece(&[
        "<?pi?>",
        "<?pi data?>",
        "<?xml-stylesheet type=\"text/xsl\" href=\"cda.xsl\"?>",
        "<?pi \r\n data ?>",
        "<?pi\tdata?>",
        "<?pi a?b>c?>",
        "|",
        "<?>",
        "<??>",
        "<? pi?>",
        "<?xml version=\"1.0\"?>",
        "<?XML x?>",
    ])
}

fn element(r: &mut Rng, depth: usize, out: &mut String) {
    let name = r.piece(NAMES);
    out.push('<');
    out.push_str(name);
    let mut used = Vec::new();
    if depth == 0 && r.chance(90) {
        for (prefix, uri) in [
            ("p", "urn:p"),
            ("q", "urn:q"),
            ("r", "urn:r"),
            ("xsi", "http://www.w3.org/2001/XMLSchema-instance"),
        ] {
            out.push_str(space(r));
            out.push_str(&format!("xmlns:{prefix}=\"{uri}\""));
            used.push(format!("xmlns:{prefix}"));
        }
    }
    for _ in 0..r.below(4) {
        attribute(r, out, &mut used);
    }
    if r.chance(15) {
        out.push_str(space(r));
    }
    if depth > 4 || r.chance(25) {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for _ in 0..r.below(5) {
        match r.below(10) {
            0..=2 => element(r, depth + 1, out),
            3..=5 => out.push_str(r.piece(TEXTS)),
            6 => {
                out.push_str("<![CDATA[");
                out.push_str(r.pick(&["", "a<b>&amp;c", "\r\n", "]]", "x]", "\u{2}"]));
                out.push_str("]]>");
            }
            7 => out.push_str(comment(r)),
            8 => out.push_str(instruction(r)),
            _ => out.push_str(space(r)),
        }
    }
    out.push_str("</");
    out.push_str(if r.chance(97) { name } else { r.piece(NAMES) });
    if r.chance(10) {
        out.push_str(space(r));
    }
    out.push('>');
}

fn document(r: &mut Rng) -> String {
    let mut out = String::new();
    if r.chance(10) {
        out.push('\u{feff}');
    }
    if r.chance(60) {
        out.push_str(r.piece(&[
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<?xml version='1.0' encoding='utf-8' standalone='yes'?>",
            "<?xml version=\"1.0\"?>",
            "<?xml version = \"1.0\"\r\n encoding = \"US-ASCII\" ?>",
            "|",
            "<?xml?>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" encoding=\"latin1\"?>",
            "<?xml version=\"1.0\" encoding=UTF-8?>",
            "<?xml version=\"1.0\" bogus?>",
        ]));
    }
    for _ in 0..r.below(3) {
        match r.below(4) {
            0 => out.push_str(comment(r)),
            1 => out.push_str(instruction(r)),
            2 if r.chance(10) => {
                out.push_str(r.pick(&["<!DOCTYPE a>", "<!doctype a [<!ENTITY x 'y'>]>"]))
            }
            _ => out.push_str(r.pick(SPACES)),
        }
    }
    element(r, 0, &mut out);
    for _ in 0..r.below(3) {
        match r.below(4) {
            0 => out.push_str(comment(r)),
            1 => out.push_str(instruction(r)),
            2 if r.chance(10) => out.push_str(r.pick(&["x", "<b/>", "&amp;"])),
            _ => out.push_str(r.pick(SPACES)),
        }
    }
    out
}

/// `input` changed at random: cut short, a byte dropped, changed or repeated, a piece of
/// markup inserted.
fn mutate(r: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    if out.is_empty() {
        return out;
    }
    let at = r.below(out.len());
    match r.below(5) {
        0 => out.truncate(at),
        1 => {
            out.remove(at);
        }
        2 => {
            const BYTES: &[u8] = b"<>&;\"'=/!?-[] \r\n\0x:";
            out[at] = BYTES[r.below(BYTES.len())];
        }
        3 => {
            const PIECES: &[&[u8]] = &[
                b"<",
                b">",
                b"/>",
                b"</a>",
                b"<!--",
                b"-->",
                b"<![CDATA[",
                b"]]>",
                b"&",
                b"&amp;",
                b"\"",
                b"'",
                b"=",
                b"<?",
                b"?>",
                b" x='1'",
                b"\xff",
                b"\xc3",
            ];
            let piece = PIECES[r.below(PIECES.len())];
            out.splice(at..at, piece.iter().copied());
        }
        _ => {
            let end = (at + 1 + r.below(8)).min(out.len());
            let copy = out[at..end].to_vec();
            out.splice(at..at, copy);
        }
    }
    out
}

/// Thousands of generated documents, and mutations of each, read the same both ways; the
/// own tokenizer reads most of the well-formed ones.
#[test]
fn the_own_tokenizer_reads_generated_documents_as_quick_xml_does() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let limits = [
        Limits::default(),
        Limits {
            max_depth: 3,
            max_attributes_per_element: 3,
            max_text_len: 12,
            max_nodes: 30,
            ..Limits::default()
        },
    ];
    let (mut documents, mut well_formed, mut read) = (0, 0, 0);
    for n in 0..10_000 {
        let doc = document(&mut r);
        let limits = &limits[usize::from(n % 5 == 0)];
        let mut input = doc.clone().into_bytes();
        for m in 0..4 {
            let what = format!(
                "document {n}, mutation {m}: {:?}",
                String::from_utf8_lossy(&input)
            );
            let own = both_ways(&what, &input, limits);
            documents += 1;
            if parse_with_quick_xml(&input, limits, false).is_ok() {
                well_formed += 1;
                read += usize::from(own);
            }
            input = mutate(&mut r, &input);
        }
    }
    eprintln!("{documents} documents, {well_formed} well-formed, {read} read by the own tokenizer");
    assert!(documents == 40_000 && well_formed > 5000, "{well_formed}");
    assert!(read * 10 > well_formed * 6, "{read} of {well_formed}");
}

/// Inputs at the edges of what the own tokenizer reads, each read the same both ways;
/// `true` where the own tokenizer is expected to read it.
#[test]
fn the_own_tokenizer_reads_edge_cases_as_quick_xml_does() {
    let cases: &[(&str, bool)] = &[
        ("<a/>", true),
        ("<a />", true),
        ("<a/ >", false),
        ("<a></a >", true),
        ("<a></a\r\n>", true),
        ("<a></ a>", false),
        ("<a></b>", false),
        ("</a>", false),
        ("<a b=\"1\"c='2'/>", false),
        ("<a b=\"1\"\tc='2'/>", true),
        ("<a b = '1' />", true),
        ("<a b=\"1\" b=\"2\"/>", false),
        ("<a b=1/>", false),
        ("<a b/>", false),
        ("<a b=\"x>y\"/>", true),
        ("<a b=\"<\"/>", false),
        ("<a b=\"]]>\"/>", true),
        ("<a\u{a0}b=\"1\"/>", false),
        ("<é名/>", true),
        ("<1a/>", false),
        ("<-a/>", false),
        ("<a 1b='x'/>", false),
        ("<a\u{1} b=\"1\"/>", false),
        ("<a b\u{1}=\"1\"/>", false),
        ("<a\u{b7}b\u{300}c\u{203f}d-e.f_9/>", true),
        ("<\u{b7}a/>", false),
        ("<\u{300}a/>", false),
        ("<a\u{d7}/>", false),
        ("<\u{10000}\u{effff} \u{f900}='1'/>", true),
        ("<\u{f0000}/>", false),
        ("<a \u{37e}='1'/>", false),
        ("<a></1a>", false),
        ("<a></a\u{1}>", false),
        ("<a><![CDATA[]]></a>", true),
        ("<a><![CDATA[x]]]></a>", true),
        ("<a><![CDATA[x]></a>", false),
        ("<a><!----></a>", true),
        ("<a><!---></a>", false),
        ("<a><!-- x ---></a>", false),
        ("<a><!-- x -- y --></a>", false),
        ("<a><!-->--></a>", true),
        ("<a><?pi?></a>", true),
        ("<a><? pi?></a>", false),
        ("<a><?XmL pi?></a>", false),
        ("<a><?xml-stylesheet href=\"x\"?></a>", true),
        ("<a><?pi \u{1}?></a>", false),
        ("<a><?1pi?></a>", false),
        ("<a><!-- \u{1f} --></a>", false),
        ("<a><![CDATA[\u{1}]]></a>", false),
        ("<a>]]></a>", false),
        ("<a>x]]y]>z]] ></a>", true),
        ("<a>]]&gt;</a>", true),
        ("<a>&amp;]]></a>", false),
        ("<a>\r\n]]></a>", false),
        ("<a>\u{fffe}</a>", false),
        ("<a b='\u{ffff}'/>", false),
        ("<a><!--\u{ffff}--></a>", false),
        ("<a>\u{fffd}\u{feff}\u{efff}</a>", true),
        ("<a><?>?></a>", false),
        ("<a><??></a>", false),
        ("<?xml version=\"1.0\"?><a/>", true),
        ("<?xml?><a/>", false),
        ("<?xml version='1.0' standalone='no' ?><a/>", true),
        ("<?xml version=\"2.0\"?><a/>", false),
        (
            "<?xml version=\"1.0\" standalone=\"yes\" encoding=\"UTF-8\"?><a/>",
            false,
        ),
        ("<?xml version=\"1.0\"encoding=\"UTF-8\"?><a/>", false),
        ("<?xml version=\"1.0' ?><a/>", false),
        (" <?xml version=\"1.0\"?><a/>", false),
        ("<a/><?xml version=\"1.0\"?>", false),
        ("<?xml version=\"1.0\"\u{1}?><a/>", false),
        ("<?xml version=\"1.0\" encoding=\"latin1\"?><a/>", false),
        ("<?xml version=\"1.0\" encoding=\"utf8\"?><a/>", false),
        ("<?xml-stylesheet href=\"x\"?><a/>", true),
        ("\u{feff}<a/>", true),
        ("\u{feff}\u{feff}<a/>", false),
        ("<!DOCTYPE a><a/>", false),
        ("<a>&amp;&lt;&gt;&quot;&apos;&#65;&#x42;</a>", true),
        ("<a>&amp</a>", false),
        ("<a>& amp;</a>", false),
        ("<a>&#0;</a>", false),
        ("<a>&x;</a>", false),
        ("<a>x &amp; y\r\n z</a>", true),
        ("<a>\r\n <b/>\r\n</a>", true),
        ("<a>\u{1}</a>", false),
        ("<a/><b/>", false),
        ("<a/>x", false),
        ("<a/> \r\n", true),
        ("x<a/>", false),
        ("", false),
        ("<", false),
        ("<a", false),
        ("<a>", false),
        ("<a b=\"1", false),
        ("<p:a xmlns:p=\"urn:p\" p:b=\"2\" xml:lang=\"fr\"/>", true),
        ("<p:a/>", false),
        ("<:a/>", false),
        ("<p:a: xmlns:p=\"urn:p\"/>", false),
        ("<p:a:b xmlns:p=\"urn:p\"/>", false),
        ("<a xmlns:p=\"urn:p\" p:b:c=\"1\"/>", false),
        ("<a xmlns:=\"urn:p\"/>", false),
        ("<a xmlns:p:q=\"urn:p\"/>", false),
        ("<a><?p:i?></a>", false),
        ("<a xmlns:p=\"\"/>", false),
        ("<a xmlns=\"urn:&amp;\"><b xmlns=\"\"/></a>", true),
        ("<a b=\"&#10;\r\n\t\"/>", true),
        ("<a b=\"&\"/>", false),
    ];
    for &(input, expected) in cases {
        let read = both_ways(&format!("{input:?}"), input.as_bytes(), &Limits::default());
        assert_eq!(read, expected, "{input:?}");
    }
}

/// Every file under the folder `SEGUR_XML_CORPUS` names (documents written by `segur build
/// all`, say) reads the same both ways. Run on demand, since it needs that folder.
#[test]
#[ignore = "needs a corpus: SEGUR_XML_CORPUS=DIR cargo test -p segur-xml -- --ignored"]
fn the_own_tokenizer_reads_a_corpus_named_by_the_environment_as_quick_xml_does() {
    let dir = std::env::var_os("SEGUR_XML_CORPUS")
        .expect("SEGUR_XML_CORPUS names a folder of XML documents");
    let (mut all, mut read) = (0, 0);
    for path in files(Path::new(&dir)) {
        let bytes = std::fs::read(&path).expect("a readable file");
        all += 1;
        read += usize::from(both_ways(
            &path.display().to_string(),
            &bytes,
            &Limits::default(),
        ));
    }
    eprintln!("{read} of {all} files read by the own tokenizer");
}

/// The value scan finds the closing quote and tells a plain value, eight bytes at a time,
/// as a byte-by-byte reading does: every length around the word size, every special byte
/// at every place, before and after the quote.
#[test]
fn the_value_scan_agrees_with_a_byte_by_byte_reading() {
    const FILL: &[u8] = b"a1.\xc3\xa9 =>]";
    const SPECIAL: &[u8] = b"&<\x00\x01\x09\x0a\x0d\x1f\"'";
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..50_000 {
        let len = r.below(40);
        let mut bytes: Vec<u8> = (0..len).map(|_| FILL[r.below(FILL.len())]).collect();
        for _ in 0..r.below(3) {
            if !bytes.is_empty() {
                let at = r.below(bytes.len());
                bytes[at] = SPECIAL[r.below(SPECIAL.len())];
            }
        }
        let from = r.below(3).min(bytes.len());
        let quote = if r.chance(50) { b'"' } else { b'\'' };
        let end = bytes[from..]
            .iter()
            .position(|&b| b == quote)
            .map_or(bytes.len(), |k| from + k);
        let plain = !bytes[from..end]
            .iter()
            .any(|&b| b < 0x20 || b == b'&' || b == b'<');
        assert_eq!(
            super::scan_value(&bytes, from, quote),
            (end, plain),
            "{:?} from {from}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

/// A name is read to its end where the `Name` production accepts it, and given up on
/// otherwise: ASCII and other characters, at the start and after it.
#[test]
fn names_are_read_as_the_production_says() {
    const PIECES: &[&str] = &[
        "a",
        "Z",
        "_",
        ":",
        "1",
        "-",
        ".",
        "é",
        "名",
        "\u{b7}",
        "\u{300}",
        "\u{203f}",
        "\u{d7}",
        "\u{a0}",
        "\u{37e}",
        "\u{f0000}",
        "\u{10000}",
        "\u{1}",
        "/",
        "=",
    ];
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..50_000 {
        let name: String = (0..1 + r.below(5)).map(|_| r.pick(PIECES)).collect();
        // The name ends at the first ASCII character that cannot be part of it (the caller
        // looks at what follows); a character beyond ASCII is checked where it stands.
        let stop = name
            .bytes()
            .position(|b| b.is_ascii() && !super::chars::is_name_char(char::from(b)))
            .unwrap_or(name.len());
        let head_valid = super::chars::name_error(&name[..stop]).is_none();
        let text = format!("<{name} x='1'/>");
        match super::read_name(&text, 1) {
            Ok(end) => assert!(head_valid && end == 1 + stop, "{name:?}: {end}"),
            Err(_) => assert!(!head_valid, "{name:?}"),
        }
    }
}
