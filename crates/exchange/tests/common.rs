//! Shared by the integration tests: documents of every type the foundation builds.

#![allow(dead_code)]

use segur_cda::{DOC_TYPES, DocType};
use segur_exchange::package::{Input, Options};
use segur_ins::{Generator, SeedRng};

/// One document of `doc_type` for the seed's identity.
pub fn document(doc_type: DocType, seed: u64) -> Input {
    let identity = Generator::new(seed).next_identity();
    let mut rng = SeedRng::new(seed);
    let doc = segur_cda::build(doc_type, &identity, &mut rng);
    Input {
        name: format!("{}-{seed}.xml", doc_type.info().name),
        bytes: doc.to_bytes(),
        header: None,
    }
}

/// Two documents of the same patient (different ids).
pub fn same_patient(a: DocType, b: DocType, seed: u64) -> Vec<Input> {
    let identity = Generator::new(seed).next_identity();
    [a, b]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut rng = SeedRng::new(seed * 100 + i as u64);
            Input {
                name: format!("{}-{i}.xml", t.info().name),
                bytes: segur_cda::build(*t, &identity, &mut rng).to_bytes(),
                header: None,
            }
        })
        .collect()
}

/// Every type.
pub fn types() -> impl Iterator<Item = DocType> {
    DOC_TYPES.iter().map(|i| i.doc_type)
}

/// Options at a fixed time.
pub fn options() -> Options {
    Options {
        now: 1_736_000_000,
        ..Options::default()
    }
}

/// The rule ids of findings.
pub fn ids(f: &[segur_finding::Finding]) -> Vec<String> {
    f.iter().map(|f| f.rule.clone()).collect()
}
