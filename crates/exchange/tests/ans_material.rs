//! Material no one here wrote: the ANS CDA examples (TestContenuCDA) packaged and read back,
//! and the PDSm ITI-65 example Bundles, valid and broken (../shared/fhir/examples).

mod common;

use std::path::{Path, PathBuf};

use common::{ids, options};
use segur_exchange::cda::read_header;
use segur_exchange::metadata::DocumentEntry;
use segur_exchange::package::Input;
use segur_exchange::unpack::{Kind, unpack};
use segur_exchange::{iti41, mhd, mss};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// The ANS CDA examples, in name order.
fn ans_examples() -> Vec<PathBuf> {
    let dir = shared().join("ans/testcontenucda/ExemplesCDA");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("ExemplesCDA")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files
}

fn example(rel: &str) -> Vec<u8> {
    let p = shared().join("fhir/examples").join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn pdsm_example_bundle_unpacks_and_its_hash_is_caught() {
    let bytes =
        example("valid/pdsm-iti65-Bundle-bundle-exemple-comprehensiveprovidedocument-replace.json");
    let u = unpack(&bytes, "bundle.json", None);
    assert_eq!(u.kind, Kind::Mhd);
    assert_eq!(u.documents.len(), 1);
    assert_eq!(u.documents[0].bytes, b"Hello");
    // The example declares the SHA-1 of "hello" (aaf4c61d…), not of the "Hello" it carries;
    // and "Hello" is no CDA document, so nothing else of the metadata can be checked.
    assert_eq!(
        ids(&u.findings),
        ["SEGUR-XDS-HASH", "SEGUR-XDS-DOCUMENT"],
        "{:#?}",
        u.findings
    );
    assert!(
        u.findings[0]
            .message
            .contains("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")
    );
}

#[test]
fn pdsm_broken_bundles_are_reported() {
    for name in [
        "invalid/iti65-no-submissionset.json",
        "invalid/iti65-type-document.json",
        "invalid/iti65-no-type.json",
        "invalid/iti65-docref-bad-status.json",
        "valid/pdsm311-Bundle-a9c10f8a-882d-4000-a280-7150e0aeb478.json",
    ] {
        let u = unpack(&example(name), name, None);
        assert!(
            u.findings.iter().any(|f| f.rule == "SEGUR-MHD-BUNDLE"),
            "{name}: {:#?}",
            u.findings
        );
    }
}

/// Every ANS example with an INS, packaged three ways: the same bytes come back, and the
/// only findings are the missing formatCode / classCode of documents outside segur's tables
/// (`codes.rs`): exactly those, for exactly those documents.
#[test]
fn ans_examples_round_trip() {
    let files = ans_examples();
    let mut packaged = 0;
    let mut in_tables = 0;
    let mut report = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).expect("read");
        let Ok(h) = read_header(&bytes) else { continue };
        if h.ins.is_none() {
            continue;
        }
        let input = Input {
            name: f.display().to_string(),
            bytes: bytes.clone(),
            header: None,
        };
        let o = options();
        for (kind, built) in [
            (
                Kind::Mss,
                mss::build(std::slice::from_ref(&input), &o).map_err(|e| e.to_string()),
            ),
            (
                Kind::Iti41,
                iti41::build(std::slice::from_ref(&input), &o)
                    .map(|r| r.to_capture())
                    .map_err(|e| e.to_string()),
            ),
            (
                Kind::Mhd,
                mhd::build(std::slice::from_ref(&input), &o).map_err(|e| e.to_string()),
            ),
        ] {
            let built = built.expect("package");
            let u = unpack(&built, "p", None);
            assert_eq!(u.kind, kind);
            assert_eq!(u.documents.len(), 1);
            assert_eq!(u.documents[0].bytes, bytes, "{}", f.display());
            let derived = DocumentEntry::derive(&h, &bytes);
            let mut expected = Vec::new();
            if derived.class_code.is_none() {
                expected.push("classCode");
            }
            if derived.format_code.is_none() {
                expected.push("formatCode");
            }
            let mut got: Vec<&str> = Vec::new();
            for x in &u.findings {
                match ["classCode", "formatCode"].iter().find(|w| {
                    x.rule == "SEGUR-XDS-METADATA"
                        && x.message
                            .contains(&format!("required metadata {w} is missing"))
                }) {
                    Some(w) => got.push(w),
                    None => {
                        report.push(format!("{} {kind:?} {} {}", f.display(), x.rule, x.message))
                    }
                }
            }
            got.sort_unstable();
            assert_eq!(got, expected, "{} {kind:?}", f.display());
            if expected.is_empty() {
                in_tables += 1;
            }
        }
        packaged += 1;
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
    assert!(packaged > 50, "only {packaged} ANS examples with an INS");
    // Each kind counted: the documents whose class and format segur's tables know.
    assert!(
        in_tables >= 3 * 10,
        "only {in_tables} packages fully derived"
    );
}

/// A header read from a document parsed elsewhere (by a validator) is the one read from the
/// bytes, and packaging with it gives the same package, on every ANS example.
#[test]
fn a_header_read_from_a_parsed_document_is_the_one_read_from_the_bytes() {
    let files = ans_examples();
    let mut packaged = 0;
    for f in &files {
        let bytes = std::fs::read(f).expect("read");
        let doc = segur_xml::Document::parse(&bytes, &segur_exchange::cda::limits());
        let from_doc = doc.as_ref().ok().map(segur_exchange::cda::header_of);
        let h = match (read_header(&bytes), from_doc) {
            (Ok(a), Some(Ok(b))) => {
                assert_eq!(a, b, "{}", f.display());
                a
            }
            (Err(_), None | Some(Err(_))) => continue,
            (a, b) => panic!("{}: {a:?} against {b:?}", f.display()),
        };
        if h.ins.is_none() {
            continue;
        }
        let input = |header| Input {
            name: f.display().to_string(),
            bytes: bytes.clone(),
            header,
        };
        let o = options();
        let read = iti41::build(&[input(None)], &o).map(|r| r.to_capture());
        let given = iti41::build(&[input(Some(h))], &o).map(|r| r.to_capture());
        assert_eq!(
            read.map_err(|e| e.to_string()),
            given.map_err(|e| e.to_string()),
            "{}",
            f.display()
        );
        packaged += 1;
    }
    assert!(packaged > 40, "{packaged} examples packaged");
}
