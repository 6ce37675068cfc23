//! Bad input never panics; the schema's gaps are listed; a sanity check of throughput.

use std::path::{Path, PathBuf};

use segur_xsd::Schema;

fn schema() -> Option<Schema> {
    let dir = match std::env::var_os("SEGUR_ANS_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans"),
    };
    let xsd = dir.join("testcontenucda/infrastructure/cda/CDA_extended.xsd");
    if !xsd.is_file() {
        eprintln!("skipped: ../shared/ans not found (set SEGUR_ANS_DIR)");
        return None;
    }
    Some(Schema::load(&xsd).expect("schema loads"))
}

#[test]
fn lists_unsupported_constructs() {
    let Some(s) = schema() else { return };
    for u in s.unsupported() {
        eprintln!("unsupported: {u}");
    }
    assert!(s.global_element_count() > 10);
}
