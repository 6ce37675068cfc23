//! How long loading the generic ANS schematrons takes: `cargo run --release -p segur-validate --example load_time`.
use std::path::Path;
use std::time::Instant;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda");
    for f in segur_validate::select::GENERIC {
        let t = Instant::now();
        let s = segur_validate::schematron::Schematron::load(&root, &root.join(f)).expect("load");
        println!("{f}: {} checks in {:?}", s.check_count(), t.elapsed());
    }
}
