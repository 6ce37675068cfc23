//! Shared by the tests that read the ANS kit: where it is, the CDA schema, a folder's documents.
#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};

use segur_xsd::Schema;

/// `../shared/ans` beside the checkout (or `$SEGUR_ANS_DIR`); fails when the kit is absent.
pub fn ans_dir() -> PathBuf {
    let dir = match std::env::var_os("SEGUR_ANS_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans"),
    };
    assert!(
        dir.join("testcontenucda/infrastructure/cda/CDA_extended.xsd")
            .is_file(),
        "{}: the ANS kit is missing (set SEGUR_ANS_DIR)",
        dir.display()
    );
    dir
}

/// The ANS kit's CDA schema, loaded.
pub fn cda_schema() -> Schema {
    Schema::load(&ans_dir().join("testcontenucda/infrastructure/cda/CDA_extended.xsd"))
        .expect("schema loads")
}

/// The `.xml` files of `dir`, by name, with their bytes.
pub fn xml_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect();
    v.sort();
    v
}
