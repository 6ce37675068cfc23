//! MSSanté read / processing acknowledgements: MDNs (RFC 8098 message disposition
//! notifications, in an RFC 6522 `multipart/report`) both ways.
//!
//! [`build`] answers a received message the way the ANS volet "Transmission au LPS de
//! documents CDA provenant d'un courriel MSSanté" shows (`specs/mssante.md` §3.2): a text part,
//! the `message/disposition-notification` part with `Final-Recipient`, `Original-Recipient`,
//! `Original-Message-ID` and `Disposition`, the original message as `message/rfc822`, and the
//! original attachments (IHE_XDM.ZIP, PDF) attached again. [`read`] parses an incoming MDN
//! and reports its defects as findings; [`check_answers`] says whether it answers a given
//! message and whether that message was processed.

use segur_finding::Finding;

use crate::metadata::uuid_from;
use crate::mime::{self, Part, base64_lines, encode_header};
use crate::rules::{finding, finding_at};
use crate::time::rfc5322;

/// What the receiver did with the message (RFC 8098 §3.2.6.2 disposition-type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DispositionType {
    /// Shown to the user.
    Displayed,
    /// Sent on (forwarded, printed…) without being shown.
    Dispatched,
    /// Processed without being shown (an application mailbox).
    Processed,
    /// Deleted.
    Deleted,
}

impl DispositionType {
    /// The RFC 8098 keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            DispositionType::Displayed => "displayed",
            DispositionType::Dispatched => "dispatched",
            DispositionType::Processed => "processed",
            DispositionType::Deleted => "deleted",
        }
    }

    /// The type of a keyword (case-insensitive).
    pub fn parse(s: &str) -> Option<DispositionType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "displayed" => Some(DispositionType::Displayed),
            "dispatched" => Some(DispositionType::Dispatched),
            "processed" => Some(DispositionType::Processed),
            "deleted" => Some(DispositionType::Deleted),
            _ => None,
        }
    }
}

/// A `Disposition` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    /// `automatic-action` (true) or `manual-action`.
    pub automatic_action: bool,
    /// `MDN-sent-automatically` (true) or `MDN-sent-manually`.
    pub sent_automatically: bool,
    /// The disposition type.
    pub kind: DispositionType,
    /// The error, when the disposition carries one: the ANS inline form
    /// `processed/Error: <code>^<label>…`, or the RFC `error` modifier with an `Error` field
    /// (then its text, or empty).
    pub error: Option<String>,
}

impl Disposition {
    /// A successful automatic processing, as an application mailbox answers.
    pub fn processed() -> Disposition {
        Disposition {
            automatic_action: true,
            sent_automatically: true,
            kind: DispositionType::Processed,
            error: None,
        }
    }

    /// The field value, in the ANS form for errors (`…; processed/Error: 902^…`).
    pub fn to_field(&self) -> String {
        let mut s = format!(
            "{}/{}; {}",
            if self.automatic_action {
                "automatic-action"
            } else {
                "manual-action"
            },
            if self.sent_automatically {
                "MDN-sent-automatically"
            } else {
                "MDN-sent-manually"
            },
            self.kind.as_str()
        );
        if let Some(e) = &self.error {
            s.push_str("/Error: ");
            s.push_str(e);
        }
        s
    }

    /// Parses a field value; `None` when the action mode, sending mode or type is not one of
    /// RFC 8098's.
    pub fn parse(value: &str) -> Option<Disposition> {
        let (modes, rest) = value.split_once(';')?;
        let (action, sending) = modes.split_once('/')?;
        let automatic_action = match action.trim().to_ascii_lowercase().as_str() {
            "automatic-action" => true,
            "manual-action" => false,
            _ => return None,
        };
        let sent_automatically = match sending.trim().to_ascii_lowercase().as_str() {
            "mdn-sent-automatically" => true,
            "mdn-sent-manually" => false,
            _ => return None,
        };
        let (kind, modifiers) = match rest.split_once('/') {
            Some((k, m)) => (k, Some(m.trim())),
            None => (rest, None),
        };
        let kind = DispositionType::parse(kind)?;
        let error = modifiers.and_then(|m| {
            let lower = m.to_ascii_lowercase();
            if let Some(text) = lower.strip_prefix("error:").map(|_| &m[6..]) {
                Some(text.trim().to_string())
            } else if lower.split(',').any(|x| x.trim() == "error") {
                Some(String::new())
            } else {
                None
            }
        });
        Some(Disposition {
            automatic_action,
            sent_automatically,
            kind,
            error,
        })
    }
}

/// How to answer.
#[derive(Debug, Clone)]
pub struct MdnOptions {
    /// The mailbox that answers (`From` and `Final-Recipient`).
    pub from: String,
    /// The time of the answer, seconds since 1970 (the same time gives the same bytes).
    pub now: i64,
    /// What was done.
    pub disposition: Disposition,
    /// The X-MSS-NIL of the answering software.
    pub nil: String,
    /// The name of the answering software (`Reporting-UA`).
    pub reporting_ua: String,
    /// Answer even when the message asks for no MDN, or asks it to another address than its
    /// Return-Path (RFC 8098 §2.1 wants a user's confirmation then).
    pub force: bool,
}

impl Default for MdnOptions {
    fn default() -> Self {
        MdnOptions {
            from: "segur@test-ci-sis.mssante.fr".into(),
            now: 0,
            disposition: Disposition::processed(),
            nil: "SEGUR-TEST".into(),
            reporting_ua: concat!("segur; segur ", env!("CARGO_PKG_VERSION")).into(),
            force: false,
        }
    }
}

/// Why no MDN could be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MdnError {
    /// The message has no `Message-ID`: an MDN could not name it.
    #[error("the message has no Message-ID, which the MDN's Original-Message-ID must copy")]
    NoMessageId,
    /// The message asks for no MDN.
    #[error(
        "the message has no Disposition-Notification-To: it asks for no MDN (force to answer anyway)"
    )]
    NotRequested,
    /// The MDN would go elsewhere than the Return-Path (RFC 8098 §2.1).
    #[error(
        "Disposition-Notification-To `{to}` differs from Return-Path `{return_path}`: RFC 8098 §2.1 wants the user's confirmation (force to answer anyway)"
    )]
    ReturnPathDiffers {
        /// The requested address.
        to: String,
        /// The Return-Path address.
        return_path: String,
    },
    /// An option is not usable in a header.
    #[error("`{0}` is not a mail address")]
    Address(String),
    /// An option holds a control character (a line break would start a header of its own).
    #[error("`{}` holds a control character", .0.escape_debug())]
    Control(String),
    /// The error is not `CODE^LABEL` with one of the ANS volet's codes 900–906.
    #[error(
        "error `{}` is not CODE^LABEL with an ANS error code 900–906 and a label (e.g. `902^Identifiant de patient inconnu`)",
        given.escape_debug()
    )]
    ErrorCode {
        /// The error as given.
        given: String,
    },
    /// A header or notification field cannot be written within RFC 5322's line limit.
    #[error(transparent)]
    Field(#[from] mime::FieldError),
    /// The message is itself an MDN: RFC 8098 2.1 forbids answering one (even when forced).
    #[error(
        "the message is itself an MDN (multipart/report; report-type=disposition-notification): an MDN is never answered (RFC 8098 2.1)"
    )]
    AnswersAnMdn,
}

/// Whether `error` is the ANS form `CODE^LABEL…`: a code of 900–906, then a non-empty label.
fn is_ans_error(error: &str) -> bool {
    match error.split_once('^') {
        Some((code, label)) => {
            matches!(
                code.trim(),
                "900" | "901" | "902" | "903" | "904" | "905" | "906"
            ) && !label.split('^').next().unwrap_or("").trim().is_empty()
        }
        None => false,
    }
}

/// A built MDN and where it goes.
#[derive(Debug, Clone)]
pub struct Built {
    /// The message bytes (CRLF).
    pub bytes: Vec<u8>,
    /// The address it is for (the original's Disposition-Notification-To, else its From).
    pub to: String,
}

/// Answers `original` (a whole received message) with an MDN.
pub fn build(original: &[u8], options: &MdnOptions) -> Result<Built, MdnError> {
    let mut ignored = Vec::new();
    let message = mime::parse(original, "original", &mut ignored);
    if is_mdn(&message) {
        return Err(MdnError::AnswersAnMdn);
    }
    let message_id = message
        .header("Message-ID")
        .filter(|v| !v.is_empty())
        .ok_or(MdnError::NoMessageId)?
        .to_string();
    let requested = message
        .header("Disposition-Notification-To")
        .and_then(|v| mime::addresses(v).into_iter().next());
    let to = match (requested, options.force) {
        (Some(to), _) => {
            let return_path = message
                .header("Return-Path")
                .and_then(|v| mime::addresses(v).into_iter().next());
            match return_path {
                Some(rp) if !rp.eq_ignore_ascii_case(&to) && !options.force => {
                    return Err(MdnError::ReturnPathDiffers {
                        to,
                        return_path: rp,
                    });
                }
                _ => to,
            }
        }
        (None, true) => message
            .header("From")
            .and_then(|v| mime::addresses(v).into_iter().next())
            .ok_or(MdnError::NotRequested)?,
        (None, false) => return Err(MdnError::NotRequested),
    };
    if !crate::mss::is_plain_address(&options.from) {
        return Err(MdnError::Address(options.from.clone()));
    }
    if options.nil.chars().any(char::is_control) {
        return Err(MdnError::Control(options.nil.clone()));
    }
    if let Some(e) = &options.disposition.error {
        if e.chars().any(char::is_control) {
            return Err(MdnError::Control(e.clone()));
        }
        if !is_ans_error(e) {
            return Err(MdnError::ErrorCode { given: e.clone() });
        }
    }
    let original_recipient = message
        .header("Original-Recipient")
        .map(str::to_string)
        .unwrap_or_else(|| format!("rfc822;{}", options.from));
    let subject = mime::decode_header(message.header("Subject").unwrap_or(""));
    let subject = match &options.disposition.error {
        Some(e) => {
            let code = e.split('^').next().unwrap_or("").trim();
            format!("[KO Intégration système !][{code}] {subject}")
        }
        None => subject,
    };
    let seed = format!(
        "{message_id}{}{}",
        options.now,
        options.disposition.to_field()
    );
    let id = uuid_from(seed.as_bytes());
    let id = id.trim_start_matches("urn:uuid:");
    let boundary = format!("=_segur_mdn_{id}");
    let domain = mime::mail_domain(&options.from);
    let mut m = String::new();
    let mut header = |name: &str, value: &str| mime::push_header(&mut m, name, value);
    header("Date", &rfc5322(options.now))?;
    header("From", &options.from)?;
    header("To", &to)?;
    header("Message-ID", &format!("<{id}@{domain}>"))?;
    header("In-Reply-To", &message_id)?;
    header("References", &message_id)?;
    header("Subject", &encode_header(&subject))?;
    header("MIME-Version", "1.0")?;
    header("X-MSS-NIL", &encode_header(&options.nil))?;
    // The original's attachments go back with the MDN: the X-MSS headers that describe them
    // go with them.
    let attachments: Vec<&Part> = message
        .leaves()
        .into_iter()
        .filter(|p| p.file_name().is_some())
        .collect();
    if attachments.iter().any(|p| {
        p.file_name()
            .is_some_and(|n| n.eq_ignore_ascii_case("IHE_XDM.ZIP"))
    }) {
        for name in ["X-MSS-CODECDA", "X-MSS-INS"] {
            if let Some(v) = message.header(name) {
                header(name, v)?;
            }
        }
    }
    header(
        "Content-Type",
        &format!("multipart/report; report-type=disposition-notification; boundary=\"{boundary}\""),
    )?;
    m.push_str("\r\nThis is a multi-part message in MIME format.\r\n");
    let text = match &options.disposition.error {
        Some(e) => format!(
            "Le message {message_id} n'a pas pu être intégré.\r\nLe système a retourné l'erreur {e}\r\n"
        ),
        None => format!(
            "Le message {message_id} a été traité ({}).\r\n",
            options.disposition.kind.as_str()
        ),
    };
    m.push_str(&format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}",
        base64_lines(text.as_bytes())
    ));
    let disposition = options.disposition.to_field();
    let notification_cte = if disposition.is_ascii() && original_recipient.is_ascii() {
        "7bit"
    } else {
        "8bit"
    };
    m.push_str(&format!(
        "--{boundary}\r\nContent-Type: message/disposition-notification\r\n\
         Content-Transfer-Encoding: {notification_cte}\r\n\r\n"
    ));
    // The notification's fields follow RFC 5322's syntax (RFC 8098 §3.1); folded only past
    // 998 octets, so the usual ones stay whole lines, as in the ANS volet's example.
    for (name, value) in [
        ("Reporting-UA", options.reporting_ua.clone()),
        ("Original-Recipient", original_recipient.clone()),
        ("Final-Recipient", format!("rfc822;{}", options.from)),
        ("Original-Message-ID", message_id.clone()),
        ("Disposition", disposition),
    ] {
        m.push_str(&mime::fold_field_within(name, &value, mime::MAX_LINE)?);
    }
    let mut bytes = m.into_bytes();
    // The original as it came; message/rfc822 allows no base64 (RFC 2046 §5.2.1).
    let cte = if original.is_ascii() { "7bit" } else { "8bit" };
    bytes.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
        )
        .as_bytes(),
    );
    bytes.extend_from_slice(original);
    if !original.ends_with(b"\n") {
        bytes.extend_from_slice(b"\r\n");
    }
    for a in attachments {
        let name = encode_header(&a.file_name().unwrap_or_default());
        let media = a.media_type();
        bytes.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: {media}; name=\"{name}\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\
                 Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{}",
                base64_lines(&a.body)
            )
            .as_bytes(),
        );
    }
    bytes.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok(Built { bytes, to })
}

/// Whether a message is an MDN: `multipart/report; report-type=disposition-notification`.
pub fn is_mdn(message: &Part) -> bool {
    message.media_type() == "multipart/report"
        && message
            .param("Content-Type", "report-type")
            .is_some_and(|r| r.eq_ignore_ascii_case("disposition-notification"))
}

/// An MDN as read.
#[derive(Debug, Clone, Default)]
pub struct Mdn {
    /// The notification's fields (names as written).
    pub fields: Vec<(String, String)>,
    /// The parsed `Disposition`, when it parses.
    pub disposition: Option<Disposition>,
    /// `Original-Message-ID`.
    pub original_message_id: Option<String>,
    /// `Final-Recipient`.
    pub final_recipient: Option<String>,
    /// The `Message-ID` of the returned original (`message/rfc822` part), when there is one.
    pub returned_message_id: Option<String>,
    /// The fields allowed once that are repeated with different values (name, values): such a
    /// field is not read (its member above is `None`).
    pub contradictory: Vec<(String, Vec<String>)>,
}

impl Mdn {
    /// A notification field (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The values of a field found repeated with different values, when it was.
    pub fn contradicted(&self, name: &str) -> Option<&[String]> {
        self.contradictory
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// One line for people: `processed (automatic) with error 902^…`.
    pub fn summary(&self) -> String {
        if let Some(values) = self.contradicted("Disposition") {
            return format!(
                "MDN for {} with contradictory Disposition fields ({})",
                self.original_message_id
                    .as_deref()
                    .unwrap_or("an unnamed message"),
                values.join(" | ")
            );
        }
        match &self.disposition {
            Some(d) => format!(
                "MDN for {}: {}{}",
                self.original_message_id
                    .as_deref()
                    .unwrap_or("an unnamed message"),
                d.kind.as_str(),
                match &d.error {
                    Some(e) if !e.is_empty() => format!(" with error {e}"),
                    Some(_) => " with an error".to_string(),
                    None => String::new(),
                }
            ),
            None => "MDN without a readable Disposition".into(),
        }
    }
}

/// The notification fields RFC 8098 §3.1 allows once.
const ONCE_PER_NOTIFICATION: [&str; 6] = [
    "Reporting-UA",
    "MDN-Gateway",
    "Original-Recipient",
    "Final-Recipient",
    "Original-Message-ID",
    "Disposition",
];

/// Reports each field of [`ONCE_PER_NOTIFICATION`] that repeats (SEGUR-MDN-DUPLICATE) at the
/// line of its second occurrence (`lines`: each field's, when known), and keeps in
/// `mdn.contradictory` those whose values differ.
fn check_repeated(mdn: &mut Mdn, lines: &[Option<u32>], place: &str, out: &mut Vec<Finding>) {
    for name in ONCE_PER_NOTIFICATION {
        let at: Vec<usize> = (0..mdn.fields.len())
            .filter(|&i| mdn.fields[i].0.eq_ignore_ascii_case(name))
            .collect();
        let values: Vec<&str> = at.iter().map(|&i| mdn.fields[i].1.as_str()).collect();
        if values.len() < 2 {
            continue;
        }
        let same = values.iter().all(|v| {
            if name == "Original-Message-ID" {
                same_id(v, values[0])
            } else {
                v.trim().eq_ignore_ascii_case(values[0].trim())
            }
        });
        let quoted: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
        out.push(finding_at(
            "SEGUR-MDN-DUPLICATE",
            place,
            lines.get(at[1]).copied().flatten(),
            format!(
                "{place}: {name} appears {} times ({}); RFC 8098 §3.1 allows one{}",
                values.len(),
                quoted.join(", "),
                if same {
                    ""
                } else {
                    ", and the values contradict each other: the field is not read"
                }
            ),
        ));
        if !same {
            mdn.contradictory.push((
                name.to_string(),
                values.iter().map(|v| v.to_string()).collect(),
            ));
        }
    }
}

/// The header fields of a `message/disposition-notification` body (RFC 5322 syntax, folded
/// lines joined), each with its 0-based line in the body.
fn notification_fields(body: &[u8]) -> Vec<(String, String, u32)> {
    let text = String::from_utf8_lossy(body);
    let mut fields: Vec<(String, String, u32)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, v, _)) = fields.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((n, v)) = line.split_once(':') {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            fields.push((n.trim().to_string(), v.trim().to_string(), i));
        }
    }
    fields
}

/// Reads an MDN (a parsed message that [`is_mdn`]) and reports its defects under `place`:
/// SEGUR-MDN-STRUCTURE, SEGUR-MDN-FIELDS, SEGUR-MDN-DUPLICATE, SEGUR-MDN-DISPOSITION,
/// SEGUR-MDN-ORIGINAL.
pub fn read(message: &Part, place: &str, out: &mut Vec<Finding>) -> Mdn {
    let mut mdn = Mdn::default();
    let parts = &message.parts;
    let notification = parts
        .iter()
        .position(|p| p.media_type() == "message/disposition-notification");
    let Some(i) = notification else {
        out.push(finding(
            "SEGUR-MDN-STRUCTURE",
            place,
            format!("{place}: a disposition-notification report without a message/disposition-notification part"),
        ));
        return mdn;
    };
    if i != 1 || parts[0].media_type() != "text/plain" {
        out.push(finding(
            "SEGUR-MDN-STRUCTURE",
            place,
            format!(
                "{place}: the report's parts must be a human-readable text/plain part, then the message/disposition-notification (found it as part {})",
                i + 1
            ),
        ));
    }
    let n = &parts[i];
    let fields = notification_fields(&n.body);
    // The body's lines are the file's when it was not base64 or quoted-printable.
    let as_is = n
        .header("Content-Transfer-Encoding")
        .is_none_or(|c| matches!(c.to_ascii_lowercase().as_str(), "7bit" | "8bit" | "binary"));
    let lines: Vec<Option<u32>> = fields
        .iter()
        .map(|f| {
            n.end_line
                .filter(|_| as_is)
                .and_then(|e| e.checked_add(1)?.checked_add(f.2))
        })
        .collect();
    mdn.fields = fields.into_iter().map(|(k, v, _)| (k, v)).collect();
    check_repeated(&mut mdn, &lines, &n.place, out);
    let unless_contradicted = |mdn: &Mdn, name: &str| {
        mdn.field(name)
            .filter(|_| mdn.contradicted(name).is_none())
            .map(str::to_string)
    };
    mdn.original_message_id = unless_contradicted(&mdn, "Original-Message-ID");
    mdn.final_recipient = unless_contradicted(&mdn, "Final-Recipient");
    let missing: Vec<&str> = ["Final-Recipient", "Disposition"]
        .into_iter()
        .filter(|f| mdn.field(f).is_none_or(str::is_empty))
        .collect();
    if !missing.is_empty() {
        out.push(finding(
            "SEGUR-MDN-FIELDS",
            &n.place,
            format!(
                "{}: the notification lacks {} (required by RFC 8098 §3.1)",
                n.place,
                missing.join(" and ")
            ),
        ));
    }
    let missing_ans: Vec<&str> = ["Original-Message-ID", "Original-Recipient"]
        .into_iter()
        .filter(|f| mdn.field(f).is_none_or(str::is_empty))
        .collect();
    if !missing_ans.is_empty() {
        out.push(finding(
            "SEGUR-MDN-FIELDS",
            &n.place,
            format!(
                "{}: the notification lacks {} (required by the ANS volet for the PFI to match the MDN)",
                n.place,
                missing_ans.join(" and ")
            ),
        ));
    }
    if let Some(d) = unless_contradicted(&mdn, "Disposition") {
        let error_field = mdn.field("Error").map(str::to_string);
        match Disposition::parse(&d) {
            None => out.push(finding(
                "SEGUR-MDN-DISPOSITION",
                &n.place,
                format!(
                    "{}: Disposition `{d}` is not action-mode/sending-mode; disposition-type (RFC 8098 §3.2.6)",
                    n.place
                ),
            )),
            Some(mut disp) => {
                // The RFC form: an `error` modifier, the text in an `Error` field.
                if disp.error.as_deref() == Some("")
                    && let Some(text) = error_field
                {
                    disp.error = Some(text);
                }
                mdn.disposition = Some(disp);
            }
        }
    }
    match parts.iter().find(|p| p.media_type() == "message/rfc822") {
        None => out.push(finding(
            "SEGUR-MDN-ORIGINAL",
            place,
            format!("{place}: the original message is not returned (message/rfc822 part, required by the ANS volet)"),
        )),
        Some(p) => {
            let mut ignored = Vec::new();
            let returned = mime::parse(&p.body, &p.place, &mut ignored);
            mdn.returned_message_id = returned.header("Message-ID").map(str::to_string);
            match (&mdn.original_message_id, &mdn.returned_message_id) {
                (Some(a), Some(b)) if !same_id(a, b) => out.push(finding(
                    "SEGUR-MDN-ORIGINAL",
                    &p.place,
                    format!(
                        "{}: the returned message is {b}, but Original-Message-ID names {a}",
                        p.place
                    ),
                )),
                _ => {}
            }
        }
    }
    mdn
}

/// Message ids compare without their angle brackets and surrounding space.
fn same_id(a: &str, b: &str) -> bool {
    let clean = |s: &str| {
        s.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim()
            .to_string()
    };
    clean(a) == clean(b)
}

/// Checks that `mdn` answers the message whose `Message-ID` is `sent_id` (SEGUR-MDN-MISMATCH)
/// and that the message was processed or displayed without error (SEGUR-MDN-NOT-PROCESSED).
pub fn check_answers(mdn: &Mdn, sent_id: &str, place: &str, out: &mut Vec<Finding>) {
    match &mdn.original_message_id {
        Some(id) if same_id(id, sent_id) => {}
        Some(id) => out.push(finding(
            "SEGUR-MDN-MISMATCH",
            place,
            format!("{place}: the MDN answers {id}, not {sent_id}"),
        )),
        None if mdn.contradicted("Original-Message-ID").is_some() => out.push(finding(
            "SEGUR-MDN-MISMATCH",
            place,
            format!(
                "{place}: the MDN names several Original-Message-IDs ({}), so it cannot be matched to {sent_id}",
                mdn.contradicted("Original-Message-ID")
                    .unwrap_or_default()
                    .join(", ")
            ),
        )),
        None => out.push(finding(
            "SEGUR-MDN-MISMATCH",
            place,
            format!("{place}: the MDN names no Original-Message-ID, so it cannot be matched to {sent_id}"),
        )),
    }
    if let Some(values) = mdn.contradicted("Disposition") {
        out.push(finding(
            "SEGUR-MDN-NOT-PROCESSED",
            place,
            format!(
                "{place}: the MDN's Disposition fields contradict each other ({}): it does not say the message was processed",
                values.join(" | ")
            ),
        ));
    }
    if let Some(d) = &mdn.disposition {
        let failed = match (&d.error, d.kind) {
            (Some(e), _) => Some(if e.is_empty() {
                format!("{} with an error", d.kind.as_str())
            } else {
                format!("{} with error {e}", d.kind.as_str())
            }),
            (None, DispositionType::Deleted) => Some("deleted".to_string()),
            (None, DispositionType::Dispatched) => {
                Some("dispatched (sent on, not integrated)".to_string())
            }
            _ => None,
        };
        if let Some(why) = failed {
            out.push(finding(
                "SEGUR-MDN-NOT-PROCESSED",
                place,
                format!("{place}: the receiver reports the message {why}"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_round_trip_and_parse_both_error_forms() {
        let mut d = Disposition::processed();
        assert_eq!(
            d.to_field(),
            "automatic-action/MDN-sent-automatically; processed"
        );
        assert_eq!(Disposition::parse(&d.to_field()), Some(d.clone()));
        d.error = Some("902^Identifiant de patient inconnu".into());
        assert_eq!(Disposition::parse(&d.to_field()), Some(d.clone()));
        // The ANS example writes no space after `Disposition:`, which the field reader drops.
        let ans = Disposition::parse(
            "automatic-action/MDN-sent-automatically; processed/Error: 902^Identifiant de patient inconnu^messageErrorCondition| E^Error^errorSeverity",
        )
        .expect("ANS form");
        assert_eq!(
            ans.error.as_deref(),
            Some("902^Identifiant de patient inconnu^messageErrorCondition| E^Error^errorSeverity")
        );
        let rfc =
            Disposition::parse("manual-action/MDN-sent-manually; displayed/error").expect("rfc");
        assert_eq!(
            (rfc.kind, rfc.error.as_deref(), rfc.automatic_action),
            (DispositionType::Displayed, Some(""), false)
        );
        for bad in [
            "",
            "processed",
            "automatic-action; processed",
            "automatic/MDN-sent-automatically; processed",
            "automatic-action/MDN-sent-automatically; read",
            "automatic-action/sent; processed",
        ] {
            assert_eq!(Disposition::parse(bad), None, "{bad}");
        }
    }
}
