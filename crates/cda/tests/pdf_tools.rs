//! The generated PDFs are valid for real PDF tools and carry the document's title
//! (`qpdf` and `pdftotext` come from Debian's qpdf and poppler-utils, installed by .ci/run).

use std::process::Command;

use segur_cda::{PdfText, Timestamp, render_pdf};

fn write_pdf(dir: &std::path::Path, text: &PdfText) -> std::path::PathBuf {
    let path = dir.join("t.pdf");
    std::fs::write(&path, render_pdf(text)).expect("write pdf");
    path
}

#[test]
fn qpdf_accepts_and_pdftotext_reads_the_title() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = PdfText {
        title: "Compte rendu d'examens biologiques".into(),
        lines: vec![
            "Patient : LEFÈVRE Zoé — INS 279035121518989".into(),
            "Hémoglobine : 13,2 g/dL (12,0 – 16,0) (œdème : non)".into(),
            "a very long line ".repeat(30),
        ],
        created: Some(Timestamp::paris(2025, 6, 1, 12, 0, 0)),
    };
    let path = write_pdf(dir.path(), &text);

    let qpdf = Command::new("qpdf")
        .arg("--check")
        .arg(&path)
        .output()
        .expect("run qpdf (apt-get install qpdf)");
    let report = String::from_utf8_lossy(&qpdf.stdout);
    assert!(
        qpdf.status.success(),
        "qpdf --check: {report}{}",
        String::from_utf8_lossy(&qpdf.stderr)
    );
    assert!(
        report.contains("No syntax or stream encoding errors"),
        "{report}"
    );

    let txt = Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(&path)
        .arg("-")
        .output()
        .expect("run pdftotext (apt-get install poppler-utils)");
    assert!(txt.status.success());
    let extracted = String::from_utf8_lossy(&txt.stdout);
    assert!(
        extracted.contains("Compte rendu d'examens biologiques"),
        "{extracted}"
    );
    assert!(
        extracted.contains("LEFÈVRE Zoé"),
        "WinAnsi accents survive: {extracted}"
    );
    assert!(extracted.contains("œdème"), "{extracted}");

    let info = Command::new("pdfinfo")
        .arg(&path)
        .output()
        .expect("run pdfinfo");
    let info = String::from_utf8_lossy(&info.stdout);
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} in {info}"))
            .to_string()
    };
    assert_eq!(field("Title:"), "Compte rendu d'examens biologiques");
    assert_eq!(field("Pages:"), "1");
}

#[test]
fn overlong_text_is_cut_with_a_note_not_lost_silently() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lines: Vec<String> = (1..=200).map(|i| format!("ligne {i}")).collect();
    let path = write_pdf(
        dir.path(),
        &PdfText {
            title: "Long".into(),
            lines,
            created: None,
        },
    );
    let txt = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("run pdftotext");
    let extracted = String::from_utf8_lossy(&txt.stdout);
    // 54 lines fit under the title block: 53 of them and a note.
    assert!(extracted.contains("ligne 53"), "{extracted}");
    assert!(!extracted.contains("ligne 54"), "{extracted}");
    assert!(extracted.contains("suite tronquée"), "{extracted}");
}
