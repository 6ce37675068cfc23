//! Properties over generated documents: every package of any document round-trips without
//! findings; any corruption of a package is read without panicking.

mod common;

use common::{document, options};
use proptest::prelude::*;
use segur_cda::DOC_TYPES;
use segur_exchange::unpack::unpack;
use segur_exchange::{iti41, mhd, mss};

fn package(kind: u8, input: &segur_exchange::package::Input) -> Vec<u8> {
    let inputs = std::slice::from_ref(input);
    let o = options();
    match kind {
        0 => mss::build(inputs, &o).expect("mss"),
        1 => iti41::build(inputs, &o).expect("iti41").to_capture(),
        _ => mhd::build(inputs, &o).expect("mhd"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn generated_documents_round_trip(seed in 1u64..1_000_000, t in 0usize..DOC_TYPES.len(), kind in 0u8..3) {
        let input = document(DOC_TYPES[t].doc_type, seed);
        let u = unpack(&package(kind, &input), "p", None);
        prop_assert!(u.findings.is_empty(), "{:#?}", u.findings);
        prop_assert_eq!(u.documents.len(), 1);
        prop_assert_eq!(&u.documents[0].bytes, &input.bytes);
    }

    #[test]
    fn corrupted_packages_never_panic(seed in 1u64..1000, kind in 0u8..3, at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let input = document(DOC_TYPES[(seed % DOC_TYPES.len() as u64) as usize].doc_type, seed);
        let mut bytes = package(kind, &input);
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let _ = unpack(&bytes, "p", None);
        let _ = unpack(&bytes[..cut.index(bytes.len())], "p", None);
    }
}

/// Deterministic sweep: every 17th truncation point and byte flip of each kind of package.
/// A package without findings carries exactly the document that was packaged: no corruption
/// of the document goes unnoticed.
#[test]
fn truncations_and_byte_flips_sweep() {
    let input = document(segur_cda::DocType::N1CrBio, 77);
    for kind in 0..3u8 {
        let bytes = package(kind, &input);
        for at in (0..bytes.len()).step_by(17) {
            let cut = unpack(&bytes[..at], "p", None);
            // Only the last line end cut (after `--boundary--`): nothing is lost.
            let lost_nothing = bytes[at..].iter().all(u8::is_ascii_whitespace);
            assert!(
                lost_nothing || !cut.findings.is_empty(),
                "kind {kind}: truncated at {at} without a finding"
            );
            let mut flipped = bytes.clone();
            flipped[at] ^= 0xa5;
            let u = unpack(&flipped, "p", None);
            if u.findings.is_empty() {
                let docs: Vec<&[u8]> = u.documents.iter().map(|d| d.bytes.as_slice()).collect();
                assert_eq!(
                    docs,
                    [input.bytes.as_slice()],
                    "kind {kind} at {at}: silent change"
                );
            }
        }
    }
}

/// An MDN answering a generated message, to corrupt.
fn mdn_of(seed: u64) -> Vec<u8> {
    let input = document(
        DOC_TYPES[(seed % DOC_TYPES.len() as u64) as usize].doc_type,
        seed,
    );
    let mut o = options();
    o.read_receipt = true;
    let message = mss::build(&[input], &o).expect("mss");
    segur_exchange::mdn::build(&message, &segur_exchange::mdn::MdnOptions::default())
        .expect("mdn")
        .bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// MDNs of any generated message read back without findings; cut or flipped, they are
    /// read without panicking, and the MDN checks never panic either.
    #[test]
    fn mdns_round_trip_and_corruptions_never_panic(seed in 1u64..1000, at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let good = mdn_of(seed);
        let u = unpack(&good, "m", None);
        prop_assert!(u.findings.is_empty(), "{:#?}", u.findings);
        let mut bytes = good.clone();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        bytes.truncate(cut.index(bytes.len()).max(1));
        let _ = unpack(&bytes, "m", None);
        let mut f = Vec::new();
        let m = segur_exchange::mime::parse(&bytes, "m", &mut f);
        let r = segur_exchange::mdn::read(&m, "m", &mut f);
        segur_exchange::mdn::check_answers(&r, "<x@y>", "m", &mut f);
        let _ = segur_exchange::mdn::build(&bytes, &segur_exchange::mdn::MdnOptions { force: true, ..Default::default() });
    }

    /// Association tables: any bytes, or a valid table cut anywhere, give a table or an
    /// error, never a panic.
    #[test]
    fn table_files_never_panic(noise in prop::collection::vec(any::<u8>(), 0..512), cut in any::<prop::sample::Index>(), json in any::<bool>()) {
        use segur_exchange::codes::{Association, Table};
        let path = std::path::Path::new("t");
        let _ = Table::parse(&noise, Association::X04, path);
        let fixture = if json {
            &include_bytes!("fixtures/tables/fhir-json/terminologies/ASS_A11-CorresModeleCDA-XdsFormatCode-CISIS.json")[..]
        } else {
            &include_bytes!("fixtures/tables/svs/terminologies/ASS_X04-CorrespondanceType-Classe-CISIS.xml")[..]
        };
        let n = cut.index(fixture.len() + 1);
        let _ = Table::parse(&fixture[..n], Association::A11, path);
    }
}
