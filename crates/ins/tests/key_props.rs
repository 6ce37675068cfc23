//! Properties of the matricule key, the parser and the generator.

use proptest::prelude::*;
use segur_ins::{BirthDate, Generator, Identity, InsOid, Matricule, check_cog, nir_key};

/// A valid 13-character body: sex, year, month 01-12 (or 20-99 when `incomplete`),
/// department 01-95/2A/2B/97x/99 (abroad), commune or country, order number.
fn body(incomplete: bool) -> impl Strategy<Value = String> {
    let month = if incomplete { 1u8..=99 } else { 1u8..=12 };
    let month = month.prop_filter("no 13-19", |m| !(13..=19).contains(m));
    let place = prop_oneof![
        4 => ((1u8..=95), 0u16..=999).prop_map(|(d, c)| format!("{d:02}{c:03}")),
        1 => prop_oneof![Just("2A"), Just("2B"), Just("2a"), Just("2b")]
            .prop_flat_map(|d| (0u16..=999).prop_map(move |c| format!("{d}{c:03}"))),
        1 => ((971u16..=976), 0u8..=99).prop_map(|(d, c)| format!("{d}{c:02}")),
        1 => (100u16..=999).prop_map(|c| format!("99{c}")),
    ];
    (
        prop::sample::select(vec![1u8, 2, 3, 4, 7, 8]),
        0u8..=99,
        month,
        place,
        0u16..=999,
    )
        .prop_map(|(s, y, m, p, o)| format!("{s}{y:02}{m:02}{p}{o:03}"))
}

/// A valid matricule, as text, built from [`body`] and its key.
fn valid_text() -> impl Strategy<Value = String> {
    body(false).prop_map(|b| {
        let key = nir_key(&b).expect("a valid body has a key");
        format!("{b}{key:02}")
    })
}

fn assert_valid_identity(id: &Identity) {
    assert_eq!(
        Matricule::parse(id.matricule.as_str()).as_ref(),
        Ok(&id.matricule)
    );
    assert_eq!(id.traits.check(), Ok(()), "{id:?}");
    assert_eq!(id.check_consistency(), Ok(()), "{id:?}");
    assert_eq!(id.oid, InsOid::TestNir);
}

proptest! {
    #[test]
    fn valid_bodies_with_their_key_parse(b in body(true)) {
        let key = nir_key(&b).unwrap();
        prop_assert!((1..=97).contains(&key));
        let m = Matricule::parse(&format!("{b}{key:02}")).unwrap();
        prop_assert_eq!(m.key(), key);
        prop_assert_eq!(m.first13(), b.to_ascii_uppercase());
        prop_assert_eq!(Matricule::from_first13(&b), Ok(m));
    }

    #[test]
    fn the_key_is_always_1_to_97(digits in "[0-9]{13}") {
        let key = nir_key(&digits).unwrap();
        prop_assert!((1..=97).contains(&key));
        let n: u64 = digits.parse().unwrap();
        prop_assert_eq!(u64::from(key), 97 - n % 97);
    }

    #[test]
    fn every_single_substitution_is_detected(
        text in valid_text(),
        position in 0usize..15,
        digit in 0u8..=9,
    ) {
        let mut chars: Vec<char> = text.chars().collect();
        let new = char::from(b'0' + digit);
        prop_assume!(chars[position].to_ascii_uppercase() != new);
        chars[position] = new;
        let changed: String = chars.into_iter().collect();
        prop_assert!(Matricule::parse(&changed).is_err(), "{} -> {}", text, changed);
    }

    #[test]
    fn spaces_and_case_do_not_matter(text in valid_text()) {
        let m = Matricule::parse(&text).unwrap();
        let spaced = format!(
            "  {} {} {} {} {} {} {}\t",
            &text[..1], &text[1..3], &text[3..5], &text[5..7], &text[7..10], &text[10..13],
            &text[13..]
        );
        prop_assert_eq!(Matricule::parse(&spaced), Ok(m.clone()));
        prop_assert_eq!(Matricule::parse(&text.to_ascii_lowercase()), Ok(m));
    }

    #[test]
    fn parsing_never_panics(text in any::<String>()) {
        let _ = Matricule::parse(&text);
        let _ = Matricule::parse_lenient(&text);
        let _ = Matricule::from_first13(&text);
        let _ = nir_key(&text);
        let _ = text.parse::<InsOid>();
        let _ = BirthDate::parse(&text);
        let _ = check_cog(&text);
    }

    #[test]
    fn parsing_near_misses_never_panics(text in "[0-9aAbBxé \t-]{0,18}") {
        if let Ok(m) = Matricule::parse_lenient(&text) {
            prop_assert_eq!(m.as_str().len(), 15);
            let _ = (m.key(), m.expected_key(), m.check_key());
            let _ = (m.sex_digit(), m.birth_year_2digits(), m.birth_month());
            let _ = (m.department(), m.place(), m.order_number(), m.born_abroad());
        }
        let _ = Matricule::from_first13(&text);
        let _ = nir_key(&text);
        let _ = BirthDate::parse(&text);
    }

    #[test]
    fn generated_identities_are_valid(seed in any::<u64>()) {
        for id in Generator::new(seed).take(20) {
            assert_valid_identity(&id);
            let json = serde_json::to_string(&id).unwrap();
            let back: Identity = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, id);
        }
    }

    #[test]
    fn generation_is_deterministic(seed in any::<u64>()) {
        let a: Vec<Identity> = Generator::new(seed).take(10).collect();
        let b: Vec<Identity> = Generator::new(seed).take(10).collect();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn identity_for_any_matricule_is_consistent(b in body(true), seed in any::<u64>()) {
        let m = Matricule::from_first13(&b).unwrap();
        let id = Generator::new(seed).identity_for(m.clone());
        prop_assert_eq!(&id.matricule, &m);
        assert_valid_identity(&id);
        prop_assert!(id.traits.birth_date.year() <= 2025);
    }
}
