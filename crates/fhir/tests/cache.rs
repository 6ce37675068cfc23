//! The package index cache keeps the FHIRPath type model too: written on first use, read back
//! by the next process (here, the next `Packages`), and keyed with the index.

mod common;

use segur_fhir::{FhirPathEngine, Packages};
use segur_fhirpath::{Model, StructureDefinitionModel};

#[test]
fn the_type_model_is_kept_beside_the_index() {
    let cache = tempfile::tempdir().expect("temp dir");
    let dir = common::shared().join("packages");
    let first = Packages::open_cached(&dir, cache.path()).expect("packages");
    let path = first
        .model_cache()
        .expect("a model cache path")
        .to_path_buf();
    assert!(!path.exists(), "written on first use only");
    let built = FhirPathEngine::new(&first).model().clone();
    assert_eq!(built.element_type("Patient", "birthDate"), Some("date"));
    let text = std::fs::read_to_string(&path).expect("model written");
    assert_eq!(
        StructureDefinitionModel::from_text(&text).as_ref(),
        Some(&built)
    );

    // The next run reads the file: a fact planted in it shows.
    std::fs::write(&path, format!("{text}E\tPatient\tplanted\tdate\n")).unwrap();
    let second = Packages::open_cached(&dir, cache.path()).expect("packages");
    assert_eq!(second.model_cache(), Some(path.as_path()));
    let engine = FhirPathEngine::new(&second);
    assert_eq!(
        engine.model().element_type("Patient", "planted"),
        Some("date")
    );

    // A file that is not a model is rebuilt over.
    std::fs::write(&path, "garbage").unwrap();
    let third = Packages::open_cached(&dir, cache.path()).expect("packages");
    assert_eq!(FhirPathEngine::new(&third).model(), &built);
}
