//! Run one official schematron on one document and print the findings (a debugging aid):
//! `cargo run --release -p segur-validate --example run_one -- schematrons/profils/IHE.sch DOC.xml`
use std::path::Path;
use std::time::Instant;

use segur_validate::resolver::DocumentCache;
use segur_validate::run::Compiled;
use segur_validate::schematron::Schematron;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda");
    let t = Instant::now();
    let s = Schematron::load(&root, &root.join(&args[1])).expect("load");
    let c = Compiled::compile(&s, &root, &|_| String::new());
    eprintln!(
        "loaded+compiled in {:?}; {} unsupported",
        t.elapsed(),
        c.unsupported.len()
    );
    for u in c.unsupported.iter().take(10) {
        eprintln!("  unsupported {}: {} ({})", u.at, u.construct, u.reason);
    }
    let cache = DocumentCache::new(&root);
    for doc_path in &args[2..] {
        let bytes = std::fs::read(doc_path).expect("read");
        let doc = segur_xml::Document::parse(&bytes, &segur_xml::Limits::default()).expect("parse");
        let t = Instant::now();
        let findings = c.run(&doc, &cache);
        eprintln!(
            "{doc_path}: {} findings in {:?}",
            findings.len(),
            t.elapsed()
        );
        for f in findings {
            println!(
                "{}\t{:?}\t{}\t{}",
                f.location.xpath.unwrap_or_default(),
                f.severity,
                f.rule,
                f.message
            );
        }
    }
}
