//! Bad input never panics: random bytes, and published examples with bytes changed or cut,
//! through the reader and (when they still parse) the validator.

mod common;

use proptest::prelude::*;

fn examples() -> &'static [Vec<u8>] {
    static E: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    E.get_or_init(|| {
        let mut v: Vec<_> = std::fs::read_dir(common::shared().join("examples/valid"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v.iter().map(|p| std::fs::read(p).unwrap()).collect()
    })
}

fn check(bytes: &[u8]) {
    match segur_fhir::json::parse(bytes, segur_fhir::Limits::default()) {
        Ok(doc) => {
            let findings = common::validator().validate(&doc, &[]);
            for f in findings {
                assert!(f.location.line.is_none_or(|l| l >= 1));
            }
        }
        Err(e) => {
            if let Some((line, column)) = e.position() {
                assert!(line >= 1 && column >= 1, "{e}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(&bytes);
    }

    #[test]
    fn examples_with_a_byte_changed(i in 0usize..29, at in any::<prop::sample::Index>(), b in any::<u8>()) {
        let mut bytes = examples()[i % examples().len()].clone();
        let k = at.index(bytes.len());
        bytes[k] = b;
        check(&bytes);
    }

    #[test]
    fn examples_cut_short(i in 0usize..29, at in any::<prop::sample::Index>()) {
        let bytes = &examples()[i % examples().len()];
        check(&bytes[..at.index(bytes.len())]);
    }

    #[test]
    fn examples_with_a_value_replaced(i in 0usize..29, at in any::<prop::sample::Index>(), v in prop_oneof![
        Just("null"), Just("[]"), Just("{}"), Just("\"\""), Just("-0.5e9"), Just("[[[]]]"), Just("{\"resourceType\":\"Patient\"}")
    ]) {
        // Replace the value after the n-th ':' (a structural change that still parses).
        let text = String::from_utf8_lossy(&examples()[i % examples().len()]).into_owned();
        let colons: Vec<usize> = text.match_indices("\": ").map(|(k, _)| k + 3).collect();
        if colons.is_empty() {
            return Ok(());
        }
        let start = colons[at.index(colons.len())];
        let rest = &text[start..];
        let end = rest.find([',', '\n']).unwrap_or(rest.len());
        let mutated = format!("{}{}{}", &text[..start], v, &rest[end..]);
        check(mutated.as_bytes());
    }
}
