//! Shape of the official schematrons (a performance aid):
//! `cargo run --release -p segur-validate --example stats`
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda");
    for f in segur_validate::select::GENERIC {
        let s = segur_validate::schematron::Schematron::load(&root, &root.join(f)).expect("load");
        let rules: usize = s.patterns.iter().map(|p| p.rules.len()).sum();
        println!(
            "{f}: {} patterns, {rules} rules, {} lets, attrs={} ",
            s.patterns.len(),
            s.lets.len(),
            s.visit_attributes
        );
        for p in s.patterns.iter().take(3) {
            for r in p.rules.iter().take(2) {
                println!("   {} :: {}", p.id, r.context);
            }
        }
    }
}
