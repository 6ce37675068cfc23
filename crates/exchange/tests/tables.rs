//! The ANS association tables read at run time (`codes::CodeTables::load`), on fixtures written
//! for segur in each published format (`tests/fixtures/tables/README.md`), and the checks
//! deciding by the table that was installed.

mod common;

use std::path::{Path, PathBuf};

use common::{document, options};
use segur_cda::DocType;
use segur_exchange::codes::{self, CodeTables, Origin, TableError};
use segur_exchange::metadata::{Code, DocumentEntry};
use segur_exchange::package::prepare;
use segur_exchange::unpack::unpack;
use segur_exchange::xdm;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tables")
        .join(name)
}

fn file_origin(o: &Origin) -> (&Path, &str) {
    match o {
        Origin::File { path, sha256, .. } => (path.as_path(), sha256.as_str()),
        other => panic!("not a file: {other}"),
    }
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).expect("read"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn every_published_format_loads_and_decides() {
    for dir in ["fhir-json", "fhir-xml", "svs"] {
        let t = CodeTables::load(&fixture(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        let (path, sha) = file_origin(&t.x04.origin);
        assert_eq!(sha, sha256_hex(path), "{dir}");
        assert!(path.starts_with(fixture(dir)));
        let (a11, _) = file_origin(&t.a11.origin);
        assert!(a11.to_string_lossy().contains("ASS_A11"));
        // The file's rows decide: CR-BIO is in every fixture…
        let lab = t
            .format_code(&["1.2.250.1.213.1.1.1.1", "1.3.6.1.4.1.19376.1.3.3"], None)
            .expect("xd-lab");
        assert_eq!(
            (lab.code.as_str(), lab.scheme.as_str()),
            ("urn:ihe:lab:xd-lab:2008", codes::FORMAT_SCHEME),
            "{dir}"
        );
        let class = t.class_code("11502-2").expect("11502-2");
        assert_eq!(
            (
                class.code.as_str(),
                class.scheme.as_str(),
                class.display.as_str()
            ),
            ("10", codes::CLASS_SCHEME, "Compte rendu"),
            "{dir}"
        );
        // …and a row of the built-in tables that the file lacks is not merged back.
        assert!(
            t.format_code(&["1.2.250.1.213.1.1.1.29"], None).is_none(),
            "{dir}: LDL-SES is built in but not in the file"
        );
        assert!(t.class_code("74207-2").is_none(), "{dir}");
        assert!(CodeTables::builtin().class_code("74207-2").is_some());
    }
    let json = CodeTables::load(&fixture("fhir-json")).expect("json");
    // The XDS-SD templateId's one-to-many `narrower` rows are no mapping; ASS_A12 decides.
    assert!(json.format_code(&[codes::XDS_SD_TEMPLATE], None).is_none());
    assert_eq!(
        json.format_code(&[codes::XDS_SD_TEMPLATE], Some("text/plain"))
            .map(|d| d.code),
        Some("urn:ihe:iti:xds-sd:text:2008".to_string())
    );
    assert!(json.format_code(&[], Some("text/rtf")).is_none());
    // A TRE_A06 code takes its scheme from the group's target system.
    assert_eq!(
        json.format_code(&["1.2.250.1.213.1.1.1.58"], None)
            .map(|d| d.scheme),
        Some(codes::FORMAT_SCHEME_ASIP.to_string())
    );
    assert_eq!(json.a11.len(), 5);
    // fhir-xml has no ASS_A12 file: that one table stays built in.
    let xml = CodeTables::load(&fixture("fhir-xml")).expect("xml");
    assert_eq!(xml.a12.origin, Origin::BuiltIn);
    assert!(xml.describe()[1].starts_with("ASS_A12: built-in partial"));
    assert!(xml.describe()[2].contains("version segur-fixture-1"));
}

#[test]
fn no_tables_folder_means_built_in() {
    let dir = tempfile::tempdir().expect("tmp");
    let t = CodeTables::load(dir.path()).expect("load");
    for line in t.describe() {
        assert!(line.contains("built-in partial"), "{line}");
    }
}

#[test]
fn broken_or_ambiguous_files_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let tables = dir.path().join(codes::TABLES_DIR);
    std::fs::create_dir_all(&tables).expect("mkdir");
    let x04 = tables.join("ASS_X04-CorrespondanceType-Classe-CISIS.json");
    for (bytes, want) in [
        (&b"{\"resourceType\":\"ConceptMap\""[..], "not JSON"),
        (
            b"{\"resourceType\":\"ValueSet\"}",
            "must be a FHIR ConceptMap",
        ),
        (
            b"{\"resourceType\":\"ConceptMap\",\"group\":[]}",
            "no ASS_X04 mapping",
        ),
        (b"\x00\x01", "neither JSON nor XML"),
    ] {
        std::fs::write(&x04, bytes).expect("write");
        match CodeTables::load(dir.path()) {
            Err(e @ TableError::Format { .. }) => {
                assert!(e.to_string().contains(want), "{e}")
            }
            other => panic!("{want}: {other:?}"),
        }
    }
    std::fs::copy(
        fixture("fhir-json/terminologies/ASS_X04-CorrespondanceType-Classe-CISIS.json"),
        &x04,
    )
    .expect("copy");
    std::fs::copy(
        fixture("svs/terminologies/ASS_X04-CorrespondanceType-Classe-CISIS.xml"),
        tables.join("ConceptMap-ASS-X04-CorrespondanceType-Classe-CISIS.xml"),
    )
    .expect("copy");
    assert!(matches!(
        CodeTables::load(dir.path()),
        Err(TableError::Ambiguous {
            association: "ASS_X04",
            ..
        })
    ));
}

/// With the fixture tables installed, derivation and checks follow them, and the findings name
/// the file that decided. (Installing is process-wide, hence this test's own binary target
/// would be cleaner; here it is the only test of this file that installs.)
#[test]
fn installed_tables_decide_derivation_and_checks() {
    let tables = CodeTables::load(&fixture("fhir-json")).expect("load");
    let (x04, sha) = file_origin(&tables.x04.origin);
    let (x04, sha) = (x04.to_path_buf(), sha.to_string());
    assert!(codes::install(tables), "installed first");
    // FLUDT (74207-2, model 1.2.250.1.213.1.1.1.23) is outside the fixture: no class, no format.
    let fludt = document(DocType::Fludt, 3);
    let h = segur_exchange::cda::read_header(&fludt.bytes).expect("header");
    let e = DocumentEntry::derive(&h, &fludt.bytes);
    assert!(e.class_code.is_none() && e.format_code.is_none());
    // CR-BIO is in it; a wrong classCode is reported against the file's row.
    let bio = document(DocType::CrBio, 4);
    let mut p = prepare(std::slice::from_ref(&bio), &options(), Vec::new()).expect("prepare");
    assert_eq!(
        p.metadata.entries[0]
            .class_code
            .as_ref()
            .map(|c| c.code.as_str()),
        Some("10")
    );
    p.metadata.entries[0].uri = Some("DOC0001.XML".into());
    p.metadata.entries[0].class_code = Some(Code::new("11", codes::CLASS_SCHEME, "Synthèse"));
    let origin = xdm::Origin {
        sender: "a@b.mssante.fr".into(),
        software: "t".into(),
        version: "1".into(),
    };
    let u = unpack(
        &xdm::build(&p.metadata, std::slice::from_ref(&bio.bytes), &origin),
        "IHE_XDM.ZIP",
        None,
    );
    let f = u
        .findings
        .iter()
        .find(|f| f.rule == "SEGUR-XDS-CLASSCODE")
        .expect("class finding");
    assert!(
        f.message.contains(&x04.display().to_string()) && f.message.contains(&sha),
        "{}",
        f.message
    );
}
