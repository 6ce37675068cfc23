//! MSSanté messages carrying CDA documents (`specs/mssante.md` §2): multipart/mixed with a
//! text body, `IHE_XDM.ZIP`, an optional PDF copy, and the `X-MSS-*` headers of the
//! *Référentiel socle MSSanté #2*; and the checks of a received message.

use std::collections::BTreeSet;

use segur_finding::Finding;

use crate::cda::CdaHeader;
use crate::metadata::uuid_from;
use crate::mime::{self, Part, base64_lines, encode_header};
use crate::package::{Input, Options, PackageError, prepare};
use crate::rules::finding_at;
use crate::time::rfc5322;
use crate::xdm::{self, Origin};

/// The domain of patients' mailboxes (Mon espace santé).
pub const PATIENT_DOMAIN: &str = "patient.mssante.fr";
/// The subject prefix of messages carrying an XDM archive.
pub const SUBJECT_PREFIX: &str = "XDM/1.0/DDM";

/// The patient mailbox of a matricule: `<matricule>@patient.mssante.fr`.
pub fn patient_mailbox(matricule: &str) -> String {
    format!("{matricule}@{PATIENT_DOMAIN}")
}

/// Whether an address is a patient mailbox.
pub fn is_patient_address(address: &str) -> bool {
    address
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(PATIENT_DOMAIN))
}

/// `dd/mm/yyyy` of a HL7 birth time.
fn french_date(ts: &str) -> String {
    match (ts.get(..4), ts.get(4..6), ts.get(6..8)) {
        (Some(y), Some(m), Some(d)) => format!("{d}/{m}/{y}"),
        _ => ts.to_string(),
    }
}

/// The subject convention: `XDM/1.0/DDM+<title> <NOM> <prénom> <dd/mm/yyyy>`.
pub fn subject(h: &CdaHeader) -> String {
    format!(
        "{SUBJECT_PREFIX}+{} {} {} {}",
        h.title,
        h.patient.birth_name,
        h.patient.first_given,
        french_date(&h.patient.birth_time)
    )
}

/// Whether `a` is a bare mail address `local@domain`: one `@`, both sides non-empty, no
/// space, control character or address-list punctuation (which would let it carry further
/// addresses or header lines).
pub(crate) fn is_plain_address(a: &str) -> bool {
    match a.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !a
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || "<>,;:\"()[]\\".contains(c))
        }
        None => false,
    }
}

/// Build the message (RFC 5322, CRLF line ends).
pub fn build(inputs: &[Input], options: &Options) -> Result<Vec<u8>, PackageError> {
    let mut prepared = prepare(inputs, options, Vec::new())?;
    let to = if options.to.is_empty() {
        vec![patient_mailbox(prepared.matricule())]
    } else {
        options.to.clone()
    };
    for a in to.iter().chain([&options.from]) {
        if !is_plain_address(a) {
            return Err(PackageError::Option(format!(
                "`{}` is not a mail address",
                a.escape_debug()
            )));
        }
    }
    let texts = [
        ("nil", &options.nil),
        ("software", &options.software),
        ("software version", &options.software_version),
    ];
    for (what, value) in texts {
        if value.chars().any(char::is_control) {
            return Err(PackageError::Option(format!(
                "the {what} `{}` holds a control character (a line break would start a header of its own)",
                value.escape_debug()
            )));
        }
    }
    prepared.metadata.submission_set.intended_recipients = to.clone();
    for (i, e) in prepared.metadata.entries.iter_mut().enumerate() {
        e.uri = Some(xdm::document_name(i + 1));
    }
    let docs: Vec<Vec<u8>> = prepared.inputs.iter().map(|i| i.bytes.clone()).collect();
    let zip = xdm::build(
        &prepared.metadata,
        &docs,
        &Origin {
            sender: options.from.clone(),
            software: options.software.clone(),
            version: options.software_version.clone(),
        },
    );
    let first = &prepared.headers[0];
    let mut codes: Vec<&str> = Vec::new();
    for h in &prepared.headers {
        if !codes.contains(&h.code.code.as_str()) {
            codes.push(&h.code.code);
        }
    }
    let qualified = prepared.headers.iter().all(CdaHeader::has_qualified_ins);
    let seed = format!(
        "{}{}",
        prepared.metadata.submission_set.unique_id, options.now
    );
    let boundary = format!(
        "=_segur_{}",
        uuid_from(seed.as_bytes()).trim_start_matches("urn:uuid:")
    );
    let domain = mime::mail_domain(&options.from);
    // The fields before the Message-ID, those after it, and the body; the Message-ID is a
    // digest of all three, so messages differing in anything (recipients, receipt request,
    // copy, documents) get different ids, and equal inputs the same.
    let mut before = String::new();
    mime::push_header(&mut before, "Date", &rfc5322(options.now))?;
    mime::push_header(&mut before, "From", &options.from)?;
    mime::push_header(&mut before, "To", &to.join(", "))?;
    let mut after = String::new();
    let mut header = |name: &str, value: &str| mime::push_header(&mut after, name, value);
    header("Subject", &encode_header(&subject(first)))?;
    header("MIME-Version", "1.0")?;
    if options.read_receipt {
        header("Disposition-Notification-To", &options.from)?;
    }
    header("X-MSS-NIL", &encode_header(&options.nil))?;
    header("X-MSS-CODECDA", &codes.join(","))?;
    header("X-MSS-INS", if qualified { "O" } else { "N" })?;
    if options.no_patient_reply && to.iter().any(|a| is_patient_address(a)) {
        header("X-MSS-MES", "FIN")?;
    }
    header(
        "Content-Type",
        &format!("multipart/mixed; boundary=\"{boundary}\""),
    )?;
    let mut m = String::new();
    m.push_str("\r\nThis is a multi-part message in MIME format.\r\n");
    let body = options.body.clone().unwrap_or_else(|| {
        format!(
            "Bonjour,\r\n\r\nVous trouverez ci-joint {} document(s) de santé concernant {} {} \
             (IHE_XDM.ZIP).\r\n",
            prepared.inputs.len(),
            first.patient.first_given,
            first.patient.birth_name
        )
    });
    m.push_str(&format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}",
        base64_lines(body.as_bytes())
    ));
    m.push_str(&format!(
        "--{boundary}\r\nContent-Type: application/zip; name=\"IHE_XDM.ZIP\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"IHE_XDM.ZIP\"\r\n\r\n{}",
        base64_lines(&zip)
    ));
    if let Some((name, pdf)) = &options.pdf {
        let name = encode_header(name);
        m.push_str(&format!(
            "--{boundary}\r\nContent-Type: application/pdf; name=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{}",
            base64_lines(pdf)
        ));
    }
    m.push_str(&format!("--{boundary}--\r\n"));
    let message_id = format!(
        "<{}@{domain}>",
        uuid_from([before.as_str(), &after, &m].concat().as_bytes())
            .trim_start_matches("urn:uuid:")
    );
    let mut message = before;
    mime::push_header(&mut message, "Message-ID", &message_id)?;
    message.push_str(&after);
    message.push_str(&m);
    Ok(message.into_bytes())
}

/// The `IHE_XDM.ZIP` attachments of a message (file name matched case-insensitively).
pub fn xdm_parts(message: &Part) -> Vec<&Part> {
    message
        .leaves()
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.eq_ignore_ascii_case("IHE_XDM.ZIP"))
        })
        .collect()
}

/// The message fields allowed once, with the text that says so: RFC 5322 §3.6 (its table of
/// field counts), and the `X-MSS-*` headers, each one value of the Référentiel socle #2.
const ONCE_PER_MESSAGE: [(&str, &str); 15] = [
    ("Date", "RFC 5322 §3.6"),
    ("From", "RFC 5322 §3.6"),
    ("Sender", "RFC 5322 §3.6"),
    ("Reply-To", "RFC 5322 §3.6"),
    ("To", "RFC 5322 §3.6"),
    ("Cc", "RFC 5322 §3.6"),
    ("Bcc", "RFC 5322 §3.6"),
    ("Message-ID", "RFC 5322 §3.6"),
    ("In-Reply-To", "RFC 5322 §3.6"),
    ("References", "RFC 5322 §3.6"),
    ("Subject", "RFC 5322 §3.6"),
    ("X-MSS-NIL", "the Référentiel socle MSSanté #2"),
    ("X-MSS-CODECDA", "the Référentiel socle MSSanté #2"),
    ("X-MSS-INS", "the Référentiel socle MSSanté #2"),
    ("X-MSS-MES", "the Référentiel socle MSSanté #2"),
];

/// SEGUR-MSS-DUPLICATE for each field that a message may hold once and holds more often (an
/// MDN too: `segur mdn` reports them as `segur validate` does).
pub fn repeated_fields(message: &Part, out: &mut Vec<Finding>) {
    for (name, allowed_by) in ONCE_PER_MESSAGE {
        if let Some(f) = message.repeated(name, "SEGUR-MSS-DUPLICATE", allowed_by) {
            out.push(f);
        }
    }
}

/// The header checks of a message against the headers of the CDA documents it carries.
pub fn check(message: &Part, headers: &[CdaHeader], place: &str, out: &mut Vec<Finding>) {
    repeated_fields(message, out);
    let get = |n: &str| message.header(n).filter(|v| !v.is_empty());
    if get("Message-ID").is_none() {
        out.push(finding_at(
            "SEGUR-MSS-MESSAGEID",
            place,
            message.line_of("Message-ID"),
            format!("{place}: no Message-ID header"),
        ));
    }
    if get("X-MSS-NIL").is_none() {
        out.push(finding_at(
            "SEGUR-MSS-NIL",
            place,
            message.line_of("X-MSS-NIL"),
            format!("{place}: no X-MSS-NIL header (required on every message)"),
        ));
    }
    let xdm = xdm_parts(message);
    if xdm.len() > 1 {
        out.push(finding_at(
            "SEGUR-MSS-XDM",
            place,
            message.line_of("Content-Type"),
            format!(
                "{place}: {} IHE_XDM.ZIP attachments; one is expected",
                xdm.len()
            ),
        ));
    }
    let has_cda = !headers.is_empty();
    match (get("X-MSS-CODECDA"), has_cda) {
        (None, true) => out.push(finding_at(
            "SEGUR-MSS-CODECDA",
            place,
            message.line_of("X-MSS-CODECDA"),
            format!("{place}: no X-MSS-CODECDA header though the message carries CDA documents"),
        )),
        (Some(v), false) => out.push(finding_at(
            "SEGUR-MSS-CODECDA",
            place,
            message.line_of("X-MSS-CODECDA"),
            format!("{place}: X-MSS-CODECDA `{v}` on a message without CDA in IHE_XDM"),
        )),
        (Some(v), true) => {
            // Multi-valued: comma-separated per [S4] (UNVERIFIED in the Référentiel).
            let said: BTreeSet<&str> = v.split(',').map(str::trim).collect();
            let real: BTreeSet<&str> = headers.iter().map(|h| h.code.code.as_str()).collect();
            if said != real {
                out.push(finding_at(
                    "SEGUR-MSS-CODECDA",
                    place,
                    message.line_of("X-MSS-CODECDA"),
                    format!(
                        "{place}: X-MSS-CODECDA is `{v}` but the documents' codes are `{}`",
                        real.into_iter().collect::<Vec<_>>().join(",")
                    ),
                ));
            }
        }
        (None, false) => {}
    }
    match (get("X-MSS-INS"), has_cda) {
        (None, true) => out.push(finding_at(
            "SEGUR-MSS-INS",
            place,
            message.line_of("X-MSS-INS"),
            format!("{place}: no X-MSS-INS header though the message carries CDA documents"),
        )),
        (Some(v), false) => out.push(finding_at(
            "SEGUR-MSS-INS",
            place,
            message.line_of("X-MSS-INS"),
            format!("{place}: X-MSS-INS `{v}` on a message without CDA in IHE_XDM"),
        )),
        (Some(v), true) => {
            let qualified = headers.iter().all(CdaHeader::has_qualified_ins);
            match v {
                "O" if !qualified => out.push(finding_at(
                    "SEGUR-MSS-INS-QUALIF",
                    place,
                    message.line_of("X-MSS-INS"),
                    format!("{place}: X-MSS-INS is `O` but a document has no qualified INS (INS OID, matricule and traits)"),
                )),
                "N" if qualified => out.push(finding_at(
                    "SEGUR-MSS-INS-QUALIF",
                    place,
                    message.line_of("X-MSS-INS"),
                    format!("{place}: X-MSS-INS is `N` but every document has a qualified INS"),
                )),
                "O" | "N" => {}
                other => out.push(finding_at(
                    "SEGUR-MSS-INS",
                    place,
                    message.line_of("X-MSS-INS"),
                    format!("{place}: X-MSS-INS is `{other}`; only `O` or `N` are allowed"),
                )),
            }
        }
        (None, false) => {}
    }
    let recipients: Vec<String> = ["To", "Cc"]
        .iter()
        .flat_map(|h| message.headers_named(h).flat_map(mime::addresses))
        .collect();
    let patients: Vec<&String> = recipients
        .iter()
        .filter(|a| is_patient_address(a))
        .collect();
    if let Some(v) = get("X-MSS-MES") {
        if v != "FIN" {
            out.push(finding_at(
                "SEGUR-MSS-MES",
                place,
                message.line_of("X-MSS-MES"),
                format!("{place}: X-MSS-MES is `{v}`; the only value is `FIN`"),
            ));
        } else if patients.is_empty() {
            out.push(finding_at(
                "SEGUR-MSS-MES",
                place,
                message.line_of("X-MSS-MES"),
                format!("{place}: X-MSS-MES on a message to no @{PATIENT_DOMAIN} recipient"),
            ));
        }
    }
    let matricules: BTreeSet<&str> = headers
        .iter()
        .filter_map(|h| h.ins.as_ref().map(|i| i.matricule.as_str()))
        .collect();
    for a in patients {
        let local = a.rsplit_once('@').map_or("", |(l, _)| l);
        let ok = local.len() == 15 && (matricules.is_empty() || matricules.contains(local));
        if !ok {
            out.push(finding_at(
                "SEGUR-MSS-PATIENT-ADDR",
                place,
                message.line_of("To"),
                format!(
                    "{place}: recipient `{a}` is not the patient mailbox `<INS>@{PATIENT_DOMAIN}` of the documents' patient ({})",
                    matricules.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    if !xdm.is_empty() {
        let subject = mime::decode_header(get("Subject").unwrap_or(""));
        // MDNs and error mails prefix it with bracketed groups (`[KO Intégration système !][902] `).
        let mut rest = subject.trim_start();
        while let Some(after) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
            rest = after.1.trim_start();
        }
        if !rest.starts_with(SUBJECT_PREFIX) {
            out.push(finding_at(
                "SEGUR-MSS-SUBJECT",
                place,
                message.line_of("Subject"),
                format!("{place}: subject `{subject}` does not start with `{SUBJECT_PREFIX}`"),
            ));
        }
    }
}
