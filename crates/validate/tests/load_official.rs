//! Loading the official ANS schematrons gives the same rules as the official compilation.
//!
//! The expected numbers of rules, asserts and reports per schematron were counted in the XSLT
//! that the official chain compiles from each file (`../shared/ans/compile_sch.sh`: Saxon-HE
//! with the ISO skeleton of `schematrons/moteur/`): rule templates are those of priority
//! 1000+, asserts and reports the `svrl:failed-assert` and `svrl:successful-report` they emit.
//! A difference means the include, abstract-pattern, phase or `extends` semantics differ.

use std::path::{Path, PathBuf};

use segur_validate::schematron::{CheckKind, RuleStep, Schematron};

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda")
}

/// Every check of every rule of `s`.
fn checks(s: &Schematron) -> impl Iterator<Item = &segur_validate::schematron::Check> {
    s.patterns
        .iter()
        .flat_map(|p| &p.rules)
        .flat_map(|r| &r.steps)
        .filter_map(|step| match step {
            RuleStep::Check(c) => Some(c),
            RuleStep::Let(_) => None,
        })
}

fn counts(s: &Schematron) -> (usize, usize, usize) {
    let rules = s.patterns.iter().map(|p| p.rules.len()).sum();
    let mut asserts = 0;
    let mut reports = 0;
    for c in checks(s) {
        match c.kind {
            CheckKind::Assert => asserts += 1,
            CheckKind::Report => reports += 1,
        }
    }
    (rules, asserts, reports)
}

#[test]
fn same_rules_as_the_official_compilation() {
    let expected = [
        (
            "schematrons/profils/structurationMinimale/ASIP-STRUCT-MIN-StrucMin.sch",
            766,
            12923,
            213,
        ),
        ("schematrons/profils/IHE.sch", 250, 1315, 8),
        (
            "schematrons/profils/CI-SIS_ModelesDeContenusCDA.sch",
            159,
            889,
            9,
        ),
        ("schematrons/profils/CI-SIS_Modeles_ANS.sch", 70, 392, 2),
        (
            "schematrons/profils/terminologies/schematron/terminologie.sch",
            15,
            15,
            0,
        ),
        ("schematrons/CI-SIS_BIO-CR-BIO_2024.01.sch", 22, 68, 0),
        ("schematrons/CI-SIS_BIO-CR-BIO_2021.01.sch", 22, 67, 0),
        ("schematrons/CI-SIS_DLU-EHPAD-FLUDT_2022.01.sch", 5, 17, 1),
        ("schematrons/CI-SIS_DLU-EHPAD-DLU_2022.01.sch", 4, 24, 1),
    ];
    let root = rules_dir();
    let mut diffs = Vec::new();
    for (file, rules, asserts, reports) in expected {
        let s = Schematron::load(&root, &root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = counts(&s);
        if got != (rules, asserts, reports) {
            diffs.push(format!(
                "{file}: got (rules, asserts, reports) {got:?}, official {:?}",
                (rules, asserts, reports)
            ));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn rule_ids_are_unique_per_abstract_pattern_instance_and_files_are_normalised() {
    // The content models instantiate the abstract pattern dansJeuDeValeurs once per value set: each
    // instance's assert is its own rule, and the defining file has one name however it was
    // included (`profils/../abstract/…`).
    let root = rules_dir();
    let file = "schematrons/profils/CI-SIS_ModelesDeContenusCDA.sch";
    let s = Schematron::load(&root, &root.join(file)).expect(file);
    let mut ids = std::collections::HashMap::new();
    for c in checks(&s) {
        assert!(!c.file.contains(".."), "{}", c.file);
        if c.file.ends_with("abstract/dansJeuDeValeurs.sch") {
            assert!(c.instance.is_some(), "{}:{}", c.file, c.line);
            *ids.entry(c.rule_id()).or_insert(0) += 1;
        }
    }
    assert!(ids.len() > 5, "{ids:?}");
    assert!(ids.values().all(|&n| n == 1), "{ids:?}");
    assert!(
        ids.keys()
            .all(|k| k.contains("dansJeuDeValeurs.sch:") && k.contains('@'))
    );
}
