//! MDNs (RFC 8098) for MSSanté: built for segur's own messages, read back, and defects reported
//! by rule id; plus a message shaped like the ANS volet's example MDN, with segur's own values.

mod common;

use common::{document, ids, options};
use segur_cda::DocType;
use segur_exchange::mdn::{self, Disposition, DispositionType, MdnError, MdnOptions};
use segur_exchange::mime;
use segur_exchange::mss;
use segur_exchange::unpack::{Kind, unpack};

fn message(read_receipt: bool) -> Vec<u8> {
    let mut o = options();
    o.read_receipt = read_receipt;
    o.from = "emetteur@test-ci-sis.mssante.fr".into();
    o.to = vec!["bal-app@test-ci-sis.mssante.fr".into()];
    mss::build(&[document(DocType::CrBio, 11)], &o).expect("mss")
}

fn message_id(bytes: &[u8]) -> String {
    let mut f = Vec::new();
    mime::parse(bytes, "m", &mut f)
        .header("Message-ID")
        .expect("id")
        .to_string()
}

fn answer(original: &[u8], error: Option<&str>) -> Vec<u8> {
    let o = MdnOptions {
        from: "bal-app@test-ci-sis.mssante.fr".into(),
        now: 1_736_000_100,
        disposition: Disposition {
            error: error.map(str::to_string),
            ..Disposition::processed()
        },
        ..MdnOptions::default()
    };
    let built = mdn::build(original, &o).expect("mdn");
    assert_eq!(built.to, "emetteur@test-ci-sis.mssante.fr");
    built.bytes
}

fn read(bytes: &[u8]) -> (mdn::Mdn, Vec<segur_finding::Finding>) {
    let mut f = Vec::new();
    let m = mime::parse(bytes, "mdn.eml", &mut f);
    assert!(mdn::is_mdn(&m));
    let r = mdn::read(&m, "mdn.eml", &mut f);
    (r, f)
}

#[test]
fn an_mdn_for_a_message_reads_back_and_validates_without_findings() {
    let original = message(true);
    let sent = message_id(&original);
    let bytes = answer(&original, None);
    assert_eq!(bytes, answer(&original, None), "reproducible");
    let (m, f) = read(&bytes);
    assert!(f.is_empty(), "{f:#?}");
    assert_eq!(m.original_message_id.as_deref(), Some(sent.as_str()));
    assert_eq!(m.returned_message_id.as_deref(), Some(sent.as_str()));
    assert_eq!(
        m.final_recipient.as_deref(),
        Some("rfc822;bal-app@test-ci-sis.mssante.fr")
    );
    assert_eq!(m.disposition, Some(Disposition::processed()));
    let mut f = Vec::new();
    mdn::check_answers(&m, &sent, "mdn.eml", &mut f);
    assert!(f.is_empty(), "{f:#?}");
    mdn::check_answers(&m, "<other@x>", "mdn.eml", &mut f);
    assert_eq!(ids(&f), ["SEGUR-MDN-MISMATCH"]);
    // As a package: the re-attached IHE_XDM.ZIP is read, every rule passes, the note says what
    // the MDN reports.
    let u = unpack(&bytes, "mdn.eml", None);
    assert_eq!(u.kind, Kind::Mss);
    assert!(u.findings.is_empty(), "{:#?}", u.findings);
    assert_eq!(u.documents.len(), 1);
    assert!(
        u.notes
            .iter()
            .any(|n| n == &format!("MDN for {sent}: processed")),
        "{:?}",
        u.notes
    );
}

#[test]
fn an_error_mdn_says_ko_and_the_check_reports_it() {
    let original = message(true);
    let bytes = answer(&original, Some("902^Identifiant de patient inconnu"));
    let text = String::from_utf8_lossy(&bytes);
    let mut f = Vec::new();
    let parsed = mime::parse(&bytes, "m", &mut f);
    let subject = mime::decode_header(parsed.header("Subject").expect("subject"));
    assert!(
        subject.starts_with("[KO Intégration système !][902] XDM/1.0/DDM+"),
        "{subject}"
    );
    assert!(text.contains(
        "Disposition: automatic-action/MDN-sent-automatically; processed/Error: 902^Identifiant de patient inconnu\r\n"
    ));
    let (m, f) = read(&bytes);
    assert!(f.is_empty(), "{f:#?}");
    assert_eq!(
        m.disposition.as_ref().and_then(|d| d.error.as_deref()),
        Some("902^Identifiant de patient inconnu")
    );
    let mut f = Vec::new();
    mdn::check_answers(&m, &message_id(&original), "mdn.eml", &mut f);
    assert_eq!(ids(&f), ["SEGUR-MDN-NOT-PROCESSED"]);
    assert!(f[0].message.contains("error 902^"), "{}", f[0].message);
}

#[test]
fn mdns_are_only_built_when_asked_for() {
    let unasked = message(false);
    assert!(matches!(
        mdn::build(&unasked, &MdnOptions::default()),
        Err(MdnError::NotRequested)
    ));
    let forced = mdn::build(
        &unasked,
        &MdnOptions {
            force: true,
            ..MdnOptions::default()
        },
    )
    .expect("forced");
    assert_eq!(forced.to, "emetteur@test-ci-sis.mssante.fr");
    let mut with_rp = b"Return-Path: <bounce@elsewhere.fr>\r\n".to_vec();
    with_rp.extend(message(true));
    assert!(matches!(
        mdn::build(&with_rp, &MdnOptions::default()),
        Err(MdnError::ReturnPathDiffers { .. })
    ));
    let no_id = String::from_utf8(message(true))
        .expect("ascii")
        .replace("Message-ID:", "X-Old-Id:");
    assert!(matches!(
        mdn::build(no_id.as_bytes(), &MdnOptions::default()),
        Err(MdnError::NoMessageId)
    ));
    assert!(matches!(
        mdn::build(
            &message(true),
            &MdnOptions {
                from: "a@b>".into(),
                ..MdnOptions::default()
            }
        ),
        Err(MdnError::Address(_))
    ));
}

#[test]
fn defects_of_an_mdn_are_reported_by_rule_id() {
    let original = message(true);
    let good = String::from_utf8(answer(&original, None)).expect("ascii");
    let sent = message_id(&original);
    let cases: Vec<(&str, String)> = vec![
        (
            "SEGUR-MDN-FIELDS",
            good.replace("Final-Recipient: rfc822;", "X-Final: rfc822;"),
        ),
        (
            "SEGUR-MDN-FIELDS",
            good.replace("Original-Message-ID:", "X-Original:"),
        ),
        (
            "SEGUR-MDN-DISPOSITION",
            good.replace("MDN-sent-automatically; processed", "sent; read"),
        ),
        (
            "SEGUR-MDN-ORIGINAL",
            good.replace(
                "Content-Type: message/rfc822",
                "Content-Type: text/x-original",
            ),
        ),
        (
            "SEGUR-MDN-ORIGINAL",
            good.replacen(
                &format!("Original-Message-ID: {sent}"),
                "Original-Message-ID: <someone-else@x>",
                1,
            ),
        ),
        (
            "SEGUR-MDN-STRUCTURE",
            good.replace(
                "Content-Type: message/disposition-notification",
                "Content-Type: text/x-notification",
            ),
        ),
        (
            "SEGUR-MDN-STRUCTURE",
            good.replacen(
                "Content-Type: text/plain; charset=\"UTF-8\"",
                "Content-Type: text/html; charset=\"UTF-8\"",
                1,
            ),
        ),
    ];
    for (rule, text) in cases {
        assert_ne!(text, good, "{rule}: the mutation applies");
        let (_, f) = read(text.as_bytes());
        assert_eq!(ids(&f), [rule], "{f:#?}");
    }
}

#[test]
fn repeated_notification_fields_are_reported_and_contradictory_ones_not_read() {
    let original = message(true);
    let good = String::from_utf8(answer(&original, None)).expect("ascii");
    let sent = message_id(&original);
    let processed = "Disposition: automatic-action/MDN-sent-automatically; processed\r\n";
    let deleted = "Disposition: automatic-action/MDN-sent-automatically; deleted\r\n";
    assert!(good.contains(processed));
    // Deleted first, then processed: a reader taking the last one says processed.
    let two_dispositions = good.replacen(processed, &format!("{deleted}{processed}"), 1);
    let (m, f) = read(two_dispositions.as_bytes());
    assert_eq!(ids(&f), ["SEGUR-MDN-DUPLICATE"], "{f:#?}");
    // Placed on the second Disposition, the processed one.
    let line = f[0].location.line.expect("line") as usize;
    assert_eq!(
        two_dispositions.split("\r\n").nth(line - 1),
        processed.strip_suffix("\r\n")
    );
    assert_eq!(m.disposition, None);
    assert!(
        m.summary().contains("contradictory Disposition"),
        "{}",
        m.summary()
    );
    assert!(!m.summary().contains(": processed"), "{}", m.summary());
    let mut f = Vec::new();
    mdn::check_answers(&m, &sent, "mdn.eml", &mut f);
    assert_eq!(ids(&f), ["SEGUR-MDN-NOT-PROCESSED"], "{f:#?}");

    let id_line = format!("Original-Message-ID: {sent}\r\n");
    let two_ids = good.replacen(
        &id_line,
        &format!("{id_line}Original-Message-ID: <someone-else@x>\r\n"),
        1,
    );
    let (m, f) = read(two_ids.as_bytes());
    assert_eq!(ids(&f), ["SEGUR-MDN-DUPLICATE"], "{f:#?}");
    assert_eq!(m.original_message_id, None);
    let mut f = Vec::new();
    mdn::check_answers(&m, &sent, "mdn.eml", &mut f);
    assert_eq!(ids(&f), ["SEGUR-MDN-MISMATCH"], "{f:#?}");

    // The same value twice is still a defect, but says what it says.
    for field in ["Final-Recipient:", "Reporting-UA:", "Original-Recipient:"] {
        let s = good.find(field).expect(field);
        let e = good[s..].find("\r\n").expect("eol") + s + 2;
        let twice = format!("{}{}", &good[..e], &good[s..]);
        let (m, f) = read(twice.as_bytes());
        assert_eq!(ids(&f), ["SEGUR-MDN-DUPLICATE"], "{field} {f:#?}");
        assert_eq!(m.disposition, Some(Disposition::processed()), "{field}");
    }
}

/// The shape of the example MDN of the ANS volet "Transmission au LPS de documents CDA
/// provenant d'un courriel MSSanté" (`struct-msg-mdn.md`: no space after `Disposition:`,
/// placeholders instead of the returned message and attachments), with segur's own values.
#[test]
fn an_mdn_shaped_like_the_ans_example_is_read() {
    let text = "Date: Mon, 6 Jan 2025 10:00:00 +0100\r\n\
From: pfi-auto@test-ci-sis.mssante.fr\r\n\
Message-ID: <mdn-1@test-ci-sis.mssante.fr>\r\n\
Subject: [KO Int=?UTF-8?B?w6k=?=gration syst=?UTF-8?B?w6g=?=me !][902] XDM/1.0/DDM+CR TEST DUPONT Jean 01/02/1980\r\n\
To: emetteur@test-ci-sis.mssante.fr\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=disposition-notification;\r\n boundary=\"B1\"\r\n\
\r\n\
--B1\r\n\
Content-Type: text/plain; charset=\"UTF-8\"\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Le document n'a pas pu etre integre (902).\r\n\
\r\n\
--B1\r\n\
Content-Type: message/disposition-notification\r\n\
\r\n\
Original-Recipient: rfc822;pfi-auto@test-ci-sis.mssante.fr\r\n\
Final-Recipient: rfc822;pfi-auto@test-ci-sis.mssante.fr\r\n\
Original-Message-ID: <sent-1@test-ci-sis.mssante.fr>\r\n\
Disposition:automatic-action/MDN-sent-automatically; processed/Error: 902^Identifiant de patient inconnu^messageErrorCondition| E^Error^errorSeverity\r\n\
\r\n\
--B1\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
(the original message would be here)\r\n\
\r\n\
--B1--\r\n";
    let (m, f) = read(text.as_bytes());
    assert!(f.is_empty(), "{f:#?}");
    let d = m.disposition.clone().expect("disposition");
    assert_eq!(d.kind, DispositionType::Processed);
    assert!(d.error.as_deref().is_some_and(|e| e.starts_with("902^")));
    let mut f = Vec::new();
    mdn::check_answers(&m, "<sent-1@test-ci-sis.mssante.fr>", "m", &mut f);
    assert_eq!(ids(&f), ["SEGUR-MDN-NOT-PROCESSED"]);
}

#[test]
fn messages_that_differ_get_different_message_ids() {
    let doc = document(DocType::CrBio, 11);
    let build = |edit: &dyn Fn(&mut segur_exchange::package::Options)| {
        let mut o = options();
        o.read_receipt = true;
        o.from = "emetteur@test-ci-sis.mssante.fr".into();
        o.to = vec!["bal-app@test-ci-sis.mssante.fr".into()];
        edit(&mut o);
        mss::build(std::slice::from_ref(&doc), &o).expect("mss")
    };
    let base = build(&|_| {});
    assert_eq!(
        message_id(&base),
        message_id(&build(&|_| {})),
        "reproducible"
    );
    let variants = [
        build(&|o| o.to = vec!["autre@test-ci-sis.mssante.fr".into()]),
        build(&|o| o.pdf = Some(("cr.pdf".into(), b"%PDF-1.4".to_vec()))),
        build(&|o| o.read_receipt = false),
        build(&|o| o.body = Some("Autre texte".into())),
        build(&|o| o.nil = "OTHER-NIL".into()),
    ];
    let mut all: Vec<String> = variants.iter().map(|v| message_id(v)).collect();
    all.push(message_id(&base));
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "{all:?}");
    // An MDN for one message does not answer another sent at the same time.
    let (m, _) = read(&answer(&variants[0], None));
    let mut f = Vec::new();
    mdn::check_answers(&m, &message_id(&base), "mdn.eml", &mut f);
    assert_eq!(ids(&f), ["SEGUR-MDN-MISMATCH"], "{f:#?}");
}

fn answer_with(original: &[u8], error: &str) -> Result<mdn::Built, MdnError> {
    let o = MdnOptions {
        from: "bal-app@test-ci-sis.mssante.fr".into(),
        now: 1_736_000_100,
        disposition: Disposition {
            error: Some(error.to_string()),
            ..Disposition::processed()
        },
        ..MdnOptions::default()
    };
    mdn::build(original, &o)
}

#[test]
fn an_mdn_is_never_answered_even_when_forced() {
    let mdn_bytes = answer(&message(true), None);
    let o = MdnOptions {
        from: "emetteur@test-ci-sis.mssante.fr".into(),
        force: true,
        ..MdnOptions::default()
    };
    assert!(matches!(
        mdn::build(&mdn_bytes, &o),
        Err(MdnError::AnswersAnMdn)
    ));
}

#[test]
fn an_error_outside_the_ans_codes_is_refused() {
    let original = message(true);
    for bad in [
        "abc",
        "999^x",
        "902",
        "902^",
        "90^x",
        "^x",
        "",
        "902^a\r\nBcc: x@y",
    ] {
        let e = answer_with(&original, bad).expect_err(bad);
        assert!(
            matches!(e, MdnError::ErrorCode { .. } | MdnError::Control(_)),
            "{bad}: {e:?}"
        );
    }
    for good in [
        "900^a",
        "906^Erreur^messageErrorCondition| E^Error^errorSeverity",
    ] {
        answer_with(&original, good).expect(good);
    }
}

#[test]
fn a_long_error_is_folded_and_one_without_spaces_refused() {
    let original = message(true);
    let label = "é".repeat(3000);
    let e = answer_with(&original, &format!("902^{label}")).expect_err("unfoldable");
    assert!(matches!(e, MdnError::Field(_)), "{e:?}");
    assert!(e.to_string().contains("998"), "{e}");
    let words = vec!["inconnu"; 600].join(" ");
    let built = answer_with(&original, &format!("902^Identifiant {words}")).expect("folds");
    let longest = built
        .bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).len())
        .max()
        .unwrap_or(0);
    assert!(longest <= 998, "{longest}");
    let (m, f) = read(&built.bytes);
    assert!(f.is_empty(), "{f:#?}");
    assert_eq!(
        m.disposition.and_then(|d| d.error),
        Some(format!("902^Identifiant {words}"))
    );
}

#[test]
fn a_notification_line_over_998_octets_is_reported() {
    let original = message(true);
    let good = String::from_utf8(answer(&original, None)).expect("ascii");
    // What `package mdn --error "902^<3000 é>"` used to write: one 8-bit line of 6,075 octets.
    let long = format!(
        "Disposition: automatic-action/MDN-sent-automatically; processed/Error: 902^{}\r\n",
        "é".repeat(3000)
    );
    let text = good
        .replacen(
            "Disposition: automatic-action/MDN-sent-automatically; processed\r\n",
            &long,
            1,
        )
        .replacen(
            "Content-Transfer-Encoding: 7bit",
            "Content-Transfer-Encoding: 8bit",
            1,
        );
    let (m, f) = read(text.as_bytes());
    assert_eq!(ids(&f), ["SEGUR-MIME-LINE-LENGTH"], "{f:#?}");
    assert!(f[0].message.contains("6075 octets"), "{f:#?}");
    assert!(f[0].location.line.is_some(), "{f:#?}");
    assert!(m.disposition.is_some_and(|d| d.error.is_some()));
}
