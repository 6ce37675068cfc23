//! The official ANS chain accepts what `segur build` writes.
//!
//! `segur build <type> --count 20` for every type, then one run of `../shared/ans/run_peer.sh`
//! (CDA XSD by JAXP + the ANS schematrons — structuration minimale, IHE, content models,
//! terminologies, and the volet chosen by the document's templateId — run by Saxon-HE) over all
//! of them: every document must pass with zero errors, with the expected volet schematron.
//!
//! What the peer chain cannot check here (../shared/ans/README.md, "Known degradations") is
//! checked by this test itself instead, never assumed:
//! * no ANS rule checks the INS matricule's format or key, nor the COG code of the birth place
//!   (degradation 8): the test parses every `patientRole/id` INS with segur-ins (key included)
//!   and checks the county is a 5-character COG;
//! * no ANS rule checks `nonXMLBody/text/@mediaType` or the content (degradation 9): the test
//!   decodes the base64 and checks it is a PDF that `qpdf --check` accepts;
//! * LOINC, SNOMED CT and NCIt codes are not checked (their terminology files are absent,
//!   degradation 7): the LOINC codes used are copied from the ANS examples and IHE/ANS
//!   templates, which is all that can be said offline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const TYPES: &[(&str, &str)] = &[
    ("n1-cr-bio", "-"),
    ("n1-ldl-ses", "-"),
    ("cr-bio", "CI-SIS_BIO-CR-BIO_2024.01.sch"),
    ("fludt", "CI-SIS_DLU-EHPAD-FLUDT_2022.01.sch"),
];
const COUNT: usize = 20;

fn shared_ans() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans")
}

fn segur(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_segur"))
        .args(args)
        .output()
        .expect("run segur");
    assert!(
        out.status.success(),
        "segur {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Text of the first element named `name` after `from` in `xml`.
fn element_text<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{name}>")) + open.len();
    let end = start + xml[start..].find('<').expect("closing tag");
    &xml[start..end]
}

fn attribute<'a>(element: &'a str, name: &str) -> &'a str {
    let key = format!(" {name}=\"");
    let start = element
        .find(&key)
        .unwrap_or_else(|| panic!("no @{name} in {element}"))
        + key.len();
    &element[start..start + element[start..].find('"').expect("quote")]
}

/// What the peer cannot check: INS key and COG, and the N1 PDF.
fn check_beyond_peer(path: &Path, work: &Path) {
    let xml = std::fs::read_to_string(path).expect("read document");
    let role = &xml[xml.find("<patientRole>").expect("patientRole")..];
    let id = &role[role.find("<id ").expect("INS id")..];
    let id = &id[..id.find("/>").expect("end of id")];
    let oid = attribute(id, "root");
    assert_eq!(
        oid,
        "1.2.250.1.213.1.4.10",
        "{}: INS-NIR de test OID",
        path.display()
    );
    let matricule = attribute(id, "extension");
    segur_ins::Matricule::parse(matricule)
        .unwrap_or_else(|e| panic!("{}: INS {matricule}: {e}", path.display()));
    let cog = element_text(role, "county");
    assert!(
        cog.len() == 5 && cog.chars().all(|c| c.is_ascii_alphanumeric()),
        "{}: COG {cog}",
        path.display()
    );

    if let Some(at) = xml.find("<nonXMLBody>") {
        let text = &xml[at..];
        let open = &text[text.find("<text ").expect("text")..];
        assert_eq!(attribute(open, "mediaType"), "application/pdf");
        assert_eq!(attribute(open, "representation"), "B64");
        let b64 = &open[open.find('>').expect(">") + 1..open.find("</text>").expect("</text>")];
        use base64::Engine;
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .expect("base64 body");
        assert!(
            pdf.starts_with(b"%PDF-1."),
            "{}: body is a PDF",
            path.display()
        );
        let pdf_path = work.join("body.pdf");
        std::fs::write(&pdf_path, &pdf).expect("write pdf");
        let qpdf = Command::new("qpdf")
            .arg("--check")
            .arg(&pdf_path)
            .output()
            .expect("run qpdf (apt-get install qpdf)");
        assert!(
            qpdf.status.success(),
            "{}: qpdf --check: {}",
            path.display(),
            String::from_utf8_lossy(&qpdf.stdout)
        );
    }
}

#[test]
fn official_chain_accepts_every_built_type() {
    let dir = tempfile::tempdir().expect("temp dir");
    let docs = dir.path().join("docs");
    for (name, _) in TYPES {
        let out = segur(&[
            "build",
            name,
            "--count",
            &COUNT.to_string(),
            "--seed",
            "2026",
            "--out",
            docs.to_str().expect("utf-8 path"),
        ]);
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .starts_with(&format!("built {COUNT} documents ({name})"))
        );
    }
    let files: Vec<PathBuf> = {
        let mut f: Vec<PathBuf> = std::fs::read_dir(&docs)
            .expect("list")
            .map(|e| e.expect("entry").path())
            .collect();
        f.sort();
        f
    };
    assert_eq!(files.len(), TYPES.len() * COUNT);
    for f in &files {
        check_beyond_peer(f, dir.path());
    }

    let results = dir.path().join("peer-out");
    let peer = Command::new(shared_ans().join("run_peer.sh"))
        .arg(&docs)
        .env("OUT", &results)
        .env("PEER_SELECT", "mapping")
        .output()
        .expect("run ../shared/ans/run_peer.sh");
    let summary = String::from_utf8_lossy(&peer.stdout);
    let failures = std::fs::read_to_string(results.join("failed.jsonl")).unwrap_or_default();
    let errors: Vec<&str> = failures
        .lines()
        .filter(|l| !l.contains("\"role\":\"warning\"") && !l.contains("\"role\":\"info\""))
        .take(20)
        .collect();
    assert_eq!(
        peer.status.code(),
        Some(0),
        "peer chain: {summary}\n{}\nfirst errors:\n{}",
        String::from_utf8_lossy(&peer.stderr),
        errors.join("\n")
    );

    let table =
        std::fs::read_to_string(results.join("peer_results.tsv")).expect("peer_results.tsv");
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("column {name}"))
    };
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for line in lines {
        let row: Vec<&str> = line.split('\t').collect();
        let doc = row[col("document")];
        let (name, volet) = TYPES
            .iter()
            .find(|(n, _)| {
                doc.strip_prefix(n).is_some_and(|rest| {
                    rest.starts_with('-') && rest[1..].starts_with(|c: char| c.is_ascii_digit())
                })
            })
            .unwrap_or_else(|| panic!("unexpected document {doc}"));
        *seen.entry(name).or_default() += 1;
        assert_eq!(row[col("verdict")], "pass", "{doc}");
        assert_eq!(row[col("total_errors")], "0", "{doc}");
        assert_eq!(row[col("xsd_jaxp")], "pass", "{doc}: CDA XSD");
        assert_eq!(
            row[col("volet_schematron")],
            *volet,
            "{doc}: volet schematron selected by the peer"
        );
        // A wrong typeId or header makes StrucMin fire almost nothing and pass silently.
        let fired: usize = row[col("strucmin_fired_rules")]
            .parse()
            .expect("fired rules");
        assert!(fired >= 100, "{doc}: StrucMin fired only {fired} rules");
    }
    for (name, _) in TYPES {
        assert_eq!(
            seen.get(name),
            Some(&COUNT),
            "{name}: documents judged by the peer"
        );
    }
}
