//! The CI-SIS value sets of the coded metadata (`value_sets`), read from the ANS kit in
//! `../shared/ans/testcontenucda/jeuxDeValeurs` (never copied into the project), and the
//! SEGUR-XDS-VALUESET-* checks on XDM, ITI-41 and MHD packages.

mod common;

use std::path::{Path, PathBuf};

use common::{document, options, types};
use segur_cda::DocType;
use segur_exchange::check::{entry_value_sets, specialty_code};
use segur_exchange::codes::{self, CodeTables, TableError};
use segur_exchange::metadata::{Code, DocumentEntry};
use segur_exchange::package::prepare;
use segur_exchange::unpack::{Kind, Unpacked, unpack};
use segur_exchange::value_sets::{Jdv, Status, VALUE_SETS_DIR, ValueSets};
use segur_exchange::{iti41, mhd, mss, xdm};

fn shared_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda")
}

/// Installs the tables and value sets of the ANS kit. Every test of this file that installs
/// installs these, so that the process-wide choice is the same whatever runs first.
fn install_shared() {
    let tables = CodeTables::load(&shared_rules()).expect("the ANS kit's value sets load");
    codes::install(tables);
    assert!(
        codes::active().value_sets.get(Jdv::J07).is_some(),
        "JDV_J07 installed"
    );
}

fn rules_of(u: &Unpacked) -> Vec<&str> {
    let mut v: Vec<&str> = u.findings.iter().map(|f| f.rule.as_str()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn the_ans_kit_value_sets_load() {
    let sets = ValueSets::load(&shared_rules()).expect("load");
    // Distinct codes in each file of TestContenuCDA 3.0 (commit 61e148b6).
    for (jdv, codes) in [
        (Jdv::J07, 114),
        (Jdv::J02, 69),
        (Jdv::J04, 12),
        (Jdv::J08, 6),
        (Jdv::J01, 391),
    ] {
        let v = sets.get(jdv).unwrap_or_else(|| panic!("{}", jdv.id()));
        assert_eq!(v.len(), codes, "{}", jdv.id());
    }
    assert!(sets.not_checked().is_empty());
    let lines = sets.describe();
    assert!(
        lines[0].starts_with("JDV_J07 (typeCode): ")
            && lines[0].contains("JDV_J07_XdsTypeCode_CISIS.xml sha256:")
            && lines[0].ends_with("version 20240927120000 (114 codes)"),
        "{}",
        lines[0]
    );
}

#[test]
fn every_type_every_kind_is_in_the_value_sets() {
    install_shared();
    for t in types() {
        let input = document(t, 7);
        let o = options();
        for (kind, bytes) in [
            (Kind::Mss, mss::build(std::slice::from_ref(&input), &o)),
            (
                Kind::Iti41,
                iti41::build(std::slice::from_ref(&input), &o).map(|r| r.to_capture()),
            ),
            (Kind::Mhd, mhd::build(std::slice::from_ref(&input), &o)),
        ] {
            let u = unpack(&bytes.expect("package"), "pkg", None);
            assert!(u.findings.is_empty(), "{t:?} {kind:?}: {:#?}", u.findings);
            assert!(
                !u.notes.iter().any(|n| n.contains("not checked against")),
                "{t:?} {kind:?}: {:?}",
                u.notes
            );
        }
    }
}

/// An XDM archive of a CR-BIO whose DocumentEntry `edit` changed.
fn xdm_with(edit: impl Fn(&mut DocumentEntry)) -> Unpacked {
    let input = document(DocType::CrBio, 4);
    let mut p = prepare(std::slice::from_ref(&input), &options(), Vec::new()).expect("prepare");
    p.metadata.entries[0].uri = Some("DOC0001.XML".into());
    edit(&mut p.metadata.entries[0]);
    let origin = xdm::Origin {
        sender: "a@b.mssante.fr".into(),
        software: "t".into(),
        version: "1".into(),
    };
    unpack(
        &xdm::build(&p.metadata, &[input.bytes], &origin),
        "IHE_XDM.ZIP",
        None,
    )
}

#[test]
fn xdm_metadata_outside_the_value_sets_is_reported() {
    install_shared();
    // A masking code that JDV_J08 does not hold.
    let u = xdm_with(|e| {
        e.confidentiality
            .push(Code::new("SECRET", "1.2.250.1.213.1.1.4.13", "Secret"))
    });
    assert_eq!(rules_of(&u), ["SEGUR-XDS-VALUESET-CONFIDENTIALITY"]);
    let f = &u.findings[0];
    assert!(
        f.message
            .contains("confidentialityCode `SECRET` (codingScheme `1.2.250.1.213.1.1.4.13`) is not a code of JDV_J08-XdsConfidentialityCode-CISIS")
            && f.message.contains("JDV_J08_XdsConfidentialityCode_CISIS.xml sha256:"),
        "{}",
        f.message
    );
    // The message names the document and its entry; the location is the entry's element.
    assert!(
        f.message
            .starts_with("IHE_XDM.ZIP!IHE_XDM/SUBSET01/DOC0001.XML (DocumentEntry urn:uuid:"),
        "{}",
        f.message
    );
    let at = f.location.xpath.as_deref().unwrap_or("");
    assert!(
        at.starts_with("IHE_XDM.ZIP!IHE_XDM/SUBSET01/METADATA.XML/")
            && at.ends_with("rim:ExtrinsicObject"),
        "{at}"
    );
    // A masking code under the scheme of the HL7 confidentiality codes.
    let u = xdm_with(|e| {
        e.confidentiality
            .push(Code::new("MASQUE_PS", "2.16.840.1.113883.5.25", ""))
    });
    assert_eq!(rules_of(&u), ["SEGUR-XDS-VALUESET-CONFIDENTIALITY"]);
    assert!(
        u.findings[0].message.contains(
            "`MASQUE_PS` has codingScheme `2.16.840.1.113883.5.25`; JDV_J08-XdsConfidentialityCode-CISIS"
        ) && u.findings[0]
            .message
            .ends_with("has it under `1.2.250.1.213.1.1.4.13`"),
        "{}",
        u.findings[0].message
    );
    // The same masking code under its own scheme is fine.
    let u = xdm_with(|e| {
        e.confidentiality
            .push(Code::new("MASQUE_PS", "1.2.250.1.213.1.1.4.13", ""))
    });
    assert!(u.findings.is_empty(), "{:#?}", u.findings);
    // authorSpecialty: a code of JDV_J01 under another scheme, then one it lacks.
    let u =
        xdm_with(|e| e.author.specialty = Some("EXP_PATIENT^Patient^1.2.250.1.213.1.1.4.5".into()));
    assert_eq!(rules_of(&u), ["SEGUR-XDS-VALUESET-AUTHORSPECIALTY"]);
    let u =
        xdm_with(|e| e.author.specialty = Some("G15_99/ZZ^Nobody^1.2.250.1.213.1.1.4.5".into()));
    assert_eq!(rules_of(&u), ["SEGUR-XDS-VALUESET-AUTHORSPECIALTY"]);
    // typeCode outside JDV_J07 (it also contradicts the document).
    let u = xdm_with(|e| e.type_code = Code::new("00000-0", "2.16.840.1.113883.6.1", "x"));
    assert!(
        rules_of(&u).contains(&"SEGUR-XDS-VALUESET-TYPECODE"),
        "{:#?}",
        u.findings
    );
    // practiceSettingCode under the facility scheme.
    let u = xdm_with(|e| {
        if let Some(c) = &mut e.practice_setting {
            c.scheme = "1.2.250.1.71.4.2.4".into();
        }
    });
    assert_eq!(rules_of(&u), ["SEGUR-XDS-VALUESET-PRACTICE"]);
}

#[test]
fn iti41_and_mhd_metadata_outside_the_value_sets_is_reported() {
    install_shared();
    let input = document(DocType::CrBio, 4);
    let o = options();
    // ITI-41: the healthcareFacilityTypeCode's codingScheme slot changed (the code still agrees
    // with the document, so only the value set sees it).
    let capture = String::from_utf8(
        iti41::build(std::slice::from_ref(&input), &o)
            .expect("iti41")
            .to_capture(),
    )
    .expect("utf-8 capture");
    let facility = "<rim:Value>1.2.250.1.71.4.2.4</rim:Value>";
    assert_eq!(capture.matches(facility).count(), 1, "one facility scheme");
    let wrong = capture.replace(facility, "<rim:Value>1.2.250.1.71.4.2.5</rim:Value>");
    let u = unpack(wrong.as_bytes(), "req", None);
    assert_eq!(u.kind, Kind::Iti41);
    assert_eq!(
        rules_of(&u),
        ["SEGUR-XDS-VALUESET-FACILITY"],
        "{:#?}",
        u.findings
    );
    // MHD: the same through the FHIR system of the facility type.
    let bundle = String::from_utf8(mhd::build(std::slice::from_ref(&input), &o).expect("mhd"))
        .expect("utf-8 bundle");
    let system =
        "https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite";
    assert!(bundle.contains(system));
    let wrong = bundle.replace(system, "urn:oid:1.2.250.1.71.4.2.5");
    let u = unpack(wrong.as_bytes(), "bundle.json", None);
    assert_eq!(u.kind, Kind::Mhd);
    assert_eq!(
        rules_of(&u),
        ["SEGUR-XDS-VALUESET-FACILITY"],
        "{:#?}",
        u.findings
    );
    // MHD: a security label outside JDV_J08.
    let label = bundle.find("\"securityLabel\"").expect("securityLabel");
    let code = label + bundle[label..].find("\"code\": \"N\"").expect("code N");
    let wrong = format!(
        "{}\"code\": \"Q\"{}",
        &bundle[..code],
        &bundle[code + "\"code\": \"N\"".len()..]
    );
    let u = unpack(wrong.as_bytes(), "bundle.json", None);
    assert!(
        rules_of(&u).contains(&"SEGUR-XDS-VALUESET-CONFIDENTIALITY"),
        "{:#?}",
        u.findings
    );
}

/// A rules directory whose `jeuxDeValeurs/` holds copies of the ANS kit's five files but `skip`.
fn value_sets_dir(skip: Option<Jdv>) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join(VALUE_SETS_DIR);
    std::fs::create_dir_all(&dir).expect("mkdir");
    for jdv in Jdv::ALL {
        if Some(jdv) != skip {
            std::fs::copy(
                shared_rules().join(VALUE_SETS_DIR).join(jdv.file_name()),
                dir.join(jdv.file_name()),
            )
            .expect("copy");
        }
    }
    tmp
}

#[test]
fn an_absent_value_set_is_a_check_not_made_and_said() {
    let tmp = value_sets_dir(Some(Jdv::J07));
    let sets = ValueSets::load(tmp.path()).expect("load");
    assert!(matches!(sets.status(Jdv::J07), Status::Absent { .. }));
    assert!(sets.get(Jdv::J02).is_some());
    let notes = sets.not_checked();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with(
            "typeCode not checked against JDV_J07-XdsTypeCode-CISIS (SEGUR-XDS-VALUESET-TYPECODE): absent, not checked (no JDV_J07 file in "
        ),
        "{}",
        notes[0]
    );
    // The other value sets still decide; the absent one reports nothing.
    let input = document(DocType::Fludt, 3);
    let h = segur_exchange::cda::read_header(&input.bytes).expect("header");
    let mut e = DocumentEntry::derive(&h, &input.bytes);
    e.type_code.code = "00000-0".into();
    e.confidentiality[0].scheme = "1.2.3".into();
    let mut out = Vec::new();
    entry_value_sets(&e, "doc", &sets, &mut out);
    let ids: Vec<&str> = out.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(ids, ["SEGUR-XDS-VALUESET-CONFIDENTIALITY"]);
    // With no value set read at all, nothing is checked and all five say so.
    let none = ValueSets::not_loaded();
    let mut out = Vec::new();
    entry_value_sets(&e, "doc", &none, &mut out);
    assert!(out.is_empty());
    assert_eq!(none.not_checked().len(), 5);
    assert!(none.not_checked()[4].starts_with("authorSpecialty not checked against JDV_J01"));
}

#[test]
fn a_broken_or_doubled_value_set_is_an_error_naming_the_file() {
    let tmp = value_sets_dir(None);
    let j04 = tmp.path().join(VALUE_SETS_DIR).join(Jdv::J04.file_name());
    // Cut in the middle: not well-formed.
    let bytes = std::fs::read(&j04).expect("read");
    std::fs::write(&j04, &bytes[..bytes.len() / 2]).expect("write");
    let e = CodeTables::load(tmp.path()).expect_err("broken JDV_J04");
    let line = e.to_string();
    assert!(matches!(e, TableError::Format { .. }), "{e:?}");
    assert!(
        line.starts_with(&format!("{}: not XML", j04.display())) && !line.contains('\n'),
        "{line}"
    );
    // Another value set's content under JDV_J04's name.
    std::fs::copy(
        shared_rules()
            .join(VALUE_SETS_DIR)
            .join(Jdv::J07.file_name()),
        &j04,
    )
    .expect("copy");
    let line = ValueSets::load(tmp.path())
        .expect_err("J07 as J04")
        .to_string();
    assert!(
        line.contains("ValueSet/@id is 1.2.250.1.213.1.1.5.471, not 1.2.250.1.213.1.1.5.467"),
        "{line}"
    );
    // Two files for one value set.
    std::fs::copy(
        shared_rules()
            .join(VALUE_SETS_DIR)
            .join(Jdv::J04.file_name()),
        &j04,
    )
    .expect("copy");
    std::fs::copy(
        &j04,
        tmp.path()
            .join(VALUE_SETS_DIR)
            .join("JDV_J04-XdsPracticeSettingCode-CISIS.xml"),
    )
    .expect("copy");
    assert!(matches!(
        ValueSets::load(tmp.path()),
        Err(TableError::Ambiguous {
            association: "JDV_J04",
            ..
        })
    ));
}

#[test]
fn author_specialty_forms() {
    assert_eq!(
        specialty_code(
            "G15_10/SM26^Médecin - Qualifié en Médecine Générale (SM)^1.2.250.1.213.1.1.4.5"
        ),
        (
            "G15_10/SM26".to_string(),
            "1.2.250.1.213.1.1.4.5".to_string()
        )
    );
    assert_eq!(
        specialty_code("SM26^^&1.2.250.1.213.1.1.4.5&ISO"),
        ("SM26".to_string(), "1.2.250.1.213.1.1.4.5".to_string())
    );
    assert_eq!(specialty_code("SM26"), ("SM26".to_string(), String::new()));
}

/// The PDSm example Bundle (ANS, CC0): its type, facility and practice setting are in the
/// value sets; its security label `N` comes under the NOS URL of TRE_A07, where JDV_J08 has
/// `N` under HL7 v3 Confidentiality, and is reported (beside its known wrong hash).
#[test]
fn the_pdsm_example_bundle_against_the_value_sets() {
    install_shared();
    let p = shared_rules().join(
        "../../fhir/examples/valid/pdsm-iti65-Bundle-bundle-exemple-comprehensiveprovidedocument-replace.json",
    );
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let u = unpack(&bytes, "bundle.json", None);
    assert_eq!(
        rules_of(&u),
        [
            "SEGUR-XDS-DOCUMENT",
            "SEGUR-XDS-HASH",
            "SEGUR-XDS-VALUESET-CONFIDENTIALITY"
        ],
        "{:#?}",
        u.findings
    );
    let f = u
        .findings
        .iter()
        .find(|f| f.rule == "SEGUR-XDS-VALUESET-CONFIDENTIALITY")
        .expect("finding");
    assert!(
        f.message.contains(
            "`N` has codingScheme `https://mos.esante.gouv.fr/NOS/TRE_A07-StatusVisibiliteDocument/FHIR/TRE-A07-StatusVisibiliteDocument`"
        ) && f.message.ends_with("has it under `2.16.840.1.113883.5.25`"),
        "{}",
        f.message
    );
}

/// The IHE DSG signature entry DRIMbox sends (`specs/dmp_xds_mhd.md` 1.4): typeCode `E1762`
/// (`ASTM`) and the masking codes are concepts of JDV_J07 and JDV_J08.
#[test]
fn a_dsg_signature_entry_is_in_the_value_sets() {
    let sets = ValueSets::load(&shared_rules()).expect("load");
    let input = document(DocType::CrBio, 41);
    let h = segur_exchange::cda::read_header(&input.bytes).expect("header");
    let mut e = DocumentEntry::derive(&h, &input.bytes);
    e.type_code = Code::new("E1762", "ASTM", "Full Document");
    for code in ["MASQUE_PS", "INVISIBLE_PATIENT"] {
        e.confidentiality
            .push(Code::new(code, "1.2.250.1.213.1.1.4.13", ""));
    }
    let mut out = Vec::new();
    entry_value_sets(&e, "sig", &sets, &mut out);
    assert!(out.is_empty(), "{out:#?}");
    // The spec notes' spelling of the legal-representatives code is not the JDV's.
    e.confidentiality.push(Code::new(
        "INVISIBLE_REP_LEGAUX",
        "1.2.250.1.213.1.1.4.13",
        "",
    ));
    entry_value_sets(&e, "sig", &sets, &mut out);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(out[0].message.contains("`INVISIBLE_REP_LEGAUX`"));
}

/// MHD carries FHIR systems: those of the CI-SIS FHIR ValueSets (NOS URLs of TRE_A05, TRE_A00,
/// TRE_A12) read back as the schemes of the SVS value sets, so that a typeCode or facility
/// written as the PDSm bindings write them is not taken for a wrong scheme.
#[test]
fn mhd_systems_of_the_fhir_value_sets_read_as_their_schemes() {
    let sets = ValueSets::load(&shared_rules()).expect("load");
    let input = document(DocType::CrBio, 4);
    let h = segur_exchange::cda::read_header(&input.bytes).expect("header");
    let mut e = DocumentEntry::derive(&h, &input.bytes);
    for (jdv, code, system) in [
        (
            Jdv::J07,
            "ATTEST-RESID",
            "https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire",
        ),
        (
            Jdv::J07,
            "E1762",
            "https://mos.esante.gouv.fr/NOS/TRE_A12-NomenclatureASTM/FHIR/TRE-A12-NomenclatureASTM",
        ),
        (
            Jdv::J02,
            "EXP_PATIENT",
            "https://mos.esante.gouv.fr/NOS/TRE_A00-ProducteurDocNonPS/FHIR/TRE-A00-ProducteurDocNonPS",
        ),
        (Jdv::J07, "11502-2", "http://loinc.org"),
    ] {
        let c = Code::new(code, &mhd::oid_of(system), "");
        match jdv {
            Jdv::J02 => e.facility_type = Some(c),
            _ => e.type_code = c,
        }
        let mut out = Vec::new();
        entry_value_sets(&e, "bundle", &sets, &mut out);
        assert!(out.is_empty(), "{code} {system}: {out:#?}");
    }
    // An unknown URL stays a URL, and is a wrong scheme.
    e.type_code = Code::new("11502-2", &mhd::oid_of("https://example.org/loinc"), "");
    let mut out = Vec::new();
    entry_value_sets(&e, "bundle", &sets, &mut out);
    assert_eq!(out.len(), 1, "{out:#?}");
}
