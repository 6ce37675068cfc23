//! Time each generic schematron and the XSD over the ANS examples (a performance aid):
//! `cargo run --release -p segur-validate --example time_rules`
use std::path::Path;
use std::time::{Duration, Instant};

use segur_validate::resolver::DocumentCache;
use segur_validate::run::Compiled;
use segur_validate::schematron::Schematron;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda");
    let docs: Vec<segur_xml::Document> = std::fs::read_dir(root.join("ExemplesCDA"))
        .expect("examples")
        .filter_map(Result::ok)
        .map(|e| std::fs::read(e.path()).expect("read"))
        .map(|b| segur_xml::Document::parse(&b, &segur_xml::Limits::default()).expect("parse"))
        .collect();
    let cache = DocumentCache::new(&root);
    let schema =
        segur_xsd::Schema::load(&root.join("infrastructure/cda/CDA_extended.xsd")).expect("xsd");
    let t = Instant::now();
    for d in &docs {
        segur_validate::xsd_run::validate(&schema, d);
    }
    println!("XSD: {:?}", t.elapsed());
    // `TIME_RULES_ONLY=StrucMin` times only the rule sets whose path contains it (profiling).
    let only = std::env::var("TIME_RULES_ONLY").unwrap_or_default();
    for f in segur_validate::select::GENERIC {
        if !f.contains(only.as_str()) {
            continue;
        }
        let s = Schematron::load(&root, &root.join(f)).expect("load");
        let c = Compiled::compile(&s, &root, &|_| String::new());
        // The first pass compiles the checks on first use; the second is the steady state.
        let mut passes = [Duration::ZERO; 2];
        for pass in &mut passes {
            for d in &docs {
                let t = Instant::now();
                c.run(d, &cache);
                *pass += t.elapsed();
            }
        }
        println!("{f}: first pass {:?}, second {:?}", passes[0], passes[1]);
    }
}
