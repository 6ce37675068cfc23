//! One entry point for every package kind: recognize it by content, extract documents and
//! metadata, and run segur's packaging rules.

use segur_finding::Finding;
use segur_validate::engine::{Engine, Outcome};
use segur_xml::Document;

use crate::cda::{CdaHeader, header_of, read_header};
use crate::check::{self, Described};
use crate::metadata::{DocumentEntry, SubmissionSet};
use crate::mime;
use crate::rules::finding;
use crate::xdm;
use crate::zip::ZipLimits;
use crate::{iti41, mhd, mss};

/// What a package is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An MSSanté message (RFC 5322, `.eml`).
    Mss,
    /// A bare IHE XDM archive (`IHE_XDM.ZIP`).
    Xdm,
    /// A captured ITI-41 request (SOAP/MTOM).
    Iti41,
    /// An MHD ITI-65 Bundle (FHIR JSON).
    Mhd,
}

impl Kind {
    /// `mss`, `xdm`, `iti41` or `mhd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mss => "mss",
            Kind::Xdm => "xdm",
            Kind::Iti41 => "iti41",
            Kind::Mhd => "mhd",
        }
    }
}

/// Recognize a package by content; `None` for anything else (a bare CDA document, say).
pub fn detect(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Some(Kind::Xdm);
    }
    if mhd::looks_like(bytes) {
        return Some(Kind::Mhd);
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(8192)]).to_ascii_lowercase();
    let trimmed = head.trim_start();
    if trimmed.starts_with('<') {
        return (head.contains(":envelope") && head.contains(iti41::SOAP12)).then_some(Kind::Iti41);
    }
    // RFC 5322 header fields a mail has and an HTTP capture has not, anywhere in the header
    // block: a message that went through mail servers has Received, DKIM and ARC fields first.
    // Looked at before the ITI-41 signs, which a mail's own parts can show (multipart/related).
    let mail_headers = ["from", "to", "subject", "message-id", "mime-version"];
    if let Some(names) = header_names(bytes) {
        let hits = mail_headers
            .iter()
            .filter(|h| names.iter().any(|n| n == *h))
            .count()
            + usize::from(names.iter().any(|n| n.starts_with("x-mss-")));
        if hits >= 2 {
            return Some(Kind::Mss);
        }
    }
    iti41::looks_like(bytes).then_some(Kind::Iti41)
}

/// The names, lower case, of the header fields at the start of `bytes`, up to the first empty
/// line (at most 1 MiB of them); `None` when a line there is not a header field.
fn header_names(bytes: &[u8]) -> Option<Vec<String>> {
    let block = &bytes[..bytes.len().min(1 << 20)];
    let mut names = Vec::new();
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Some(names);
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            continue; // folded
        }
        let colon = line.iter().position(|&b| b == b':')?;
        let name = &line[..colon];
        // A field name is printable ASCII but the colon (RFC 5322 3.6.8), and not empty.
        if name.is_empty() || !name.iter().all(|&b| (33..=126).contains(&b)) {
            return None;
        }
        names.push(String::from_utf8_lossy(name).to_ascii_lowercase());
    }
    // No end to the header block within the bound: a mail still, when its fields say so.
    Some(names)
}

/// A document found in a package.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// Where it is (`msg.eml > part 2 (IHE_XDM.ZIP)!IHE_XDM/SUBSET01/DOC0001.XML`).
    pub place: String,
    /// A relative path to write it to when unpacking.
    pub path: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its DocumentEntry.
    pub entry: Option<DocumentEntry>,
}

/// What a package held and what segur's rules found.
#[derive(Debug, Clone)]
pub struct Unpacked {
    /// The kind.
    pub kind: Kind,
    /// The documents.
    pub documents: Vec<Extracted>,
    /// The SubmissionSets, with where each is.
    pub submission_sets: Vec<(String, SubmissionSet)>,
    /// Every other file (relative path, bytes): text body, README.TXT, INDEX.HTM,
    /// METADATA.XML, SOAP envelope, PDF copy…
    pub files: Vec<(String, Vec<u8>)>,
    /// Findings of the packaging rules.
    pub findings: Vec<Finding>,
    /// Facts worth saying that are not findings (an unsigned VIHF, a verified signature).
    pub notes: Vec<String>,
    /// ITI-41: set when the envelope is a SOAP 1.2 `Envelope`, with its MessageID.
    pub soap12: Option<iti41::Soap12>,
}

/// A relative path safe to write under an output folder.
fn safe_path(name: &str) -> String {
    let cleaned: Vec<String> = name
        .replace('\\', "/")
        .split('/')
        .filter(|c| !c.is_empty() && *c != "." && *c != "..")
        .map(|c| {
            // A file system takes at most 255 bytes a name: longer ones are cut (at 200,
            // on a character boundary).
            let mut cut = String::new();
            for ch in c.chars() {
                if cut.len() + ch.len_utf8() > 200 {
                    break;
                }
                cut.push(if ch.is_control() || ch == ':' {
                    '_'
                } else {
                    ch
                });
            }
            cut
        })
        .collect();
    if cleaned.is_empty() {
        "unnamed".into()
    } else {
        cleaned.join("/")
    }
}

/// Unpack `bytes` (of the file `name`) as `kind`, or as the detected kind.
pub fn unpack(bytes: &[u8], name: &str, kind: Option<Kind>) -> Unpacked {
    unpack_with(bytes, name, kind, None).0
}

/// [`unpack`], then [`validate_documents`], each document parsed once for both: `engine`
/// parses it, the packaging checks read its header from that parse, and the validation runs
/// on it (the sink does this for every request).
pub fn unpack_validated(
    bytes: &[u8],
    name: &str,
    kind: Option<Kind>,
    engine: &Engine,
) -> (Unpacked, Vec<(String, Outcome)>) {
    let (u, parsed) = unpack_with(bytes, name, kind, Some(engine));
    let outcomes = u
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let outcome = match parsed.get(i) {
                Some(Some(doc)) => engine.validate_parsed(doc),
                _ => engine.validate(&d.bytes),
            };
            (d.place.clone(), outcome)
        })
        .collect();
    (u, outcomes)
}

/// [`unpack`], with the documents parsed by `engine` when one is given, and those parses
/// (by document, `None` where not kept).
fn unpack_with(
    bytes: &[u8],
    name: &str,
    kind: Option<Kind>,
    engine: Option<&Engine>,
) -> (Unpacked, Vec<Option<Document>>) {
    let limits = ZipLimits::default();
    let mut parsed = Vec::new();
    let Some(kind) = kind.or_else(|| detect(bytes)) else {
        let u = Unpacked {
            kind: Kind::Mss,
            documents: Vec::new(),
            submission_sets: Vec::new(),
            files: Vec::new(),
            notes: Vec::new(),
            findings: vec![finding(
                "SEGUR-PKG-UNKNOWN",
                name,
                format!(
                    "{name}: not an MSSanté message, an XDM archive, an ITI-41 capture nor an MHD Bundle"
                ),
            )],
            soap12: None,
        };
        return (u, parsed);
    };
    let mut u = Unpacked {
        kind,
        documents: Vec::new(),
        submission_sets: Vec::new(),
        files: Vec::new(),
        findings: Vec::new(),
        notes: Vec::new(),
        soap12: None,
    };
    // Each document's header, read once for the MSSanté checks and the agreement checks.
    let mut headers: Option<Vec<Option<CdaHeader>>> = None;
    match kind {
        Kind::Xdm => {
            let x = xdm::read(bytes, name, &limits);
            take_xdm(&mut u, x, name, "");
        }
        Kind::Mss => {
            let message = mime::parse(bytes, name, &mut u.findings);
            let xdm_parts = mss::xdm_parts(&message);
            for (i, leaf) in message.leaves().into_iter().enumerate() {
                let is_xdm = xdm_parts.iter().any(|p| std::ptr::eq(*p, leaf));
                if is_xdm {
                    continue;
                }
                let file = leaf
                    .file_name()
                    .unwrap_or_else(|| match leaf.media_type().as_str() {
                        "text/plain" => format!("body-{}.txt", i + 1),
                        "text/html" => format!("body-{}.html", i + 1),
                        "message/rfc822" => format!("part-{}.eml", i + 1),
                        "message/disposition-notification" => format!("part-{}.mdn.txt", i + 1),
                        _ => format!("part-{}.bin", i + 1),
                    });
                u.files.push((safe_path(&file), leaf.body.clone()));
            }
            for (i, part) in xdm_parts.iter().enumerate() {
                let at = format!("{} (IHE_XDM.ZIP)", part.place);
                let x = xdm::read(&part.body, &at, &limits);
                let prefix = if i == 0 {
                    String::new()
                } else {
                    format!("IHE_XDM-{}/", i + 1)
                };
                if x.files.is_empty() {
                    // Unreadable: keep the attachment as it came.
                    let file = part.file_name().unwrap_or_else(|| "IHE_XDM.ZIP".into());
                    u.files
                        .push((safe_path(&format!("{prefix}{file}")), part.body.clone()));
                }
                take_xdm(&mut u, x, &at, &prefix);
            }
            let read = headers.insert(read_headers(&u, engine, &mut parsed));
            let read: Vec<CdaHeader> = read.iter().flatten().cloned().collect();
            mss::check(&message, &read, name, &mut u.findings);
            if crate::mdn::is_mdn(&message) {
                let mdn = crate::mdn::read(&message, name, &mut u.findings);
                u.notes.push(mdn.summary());
            }
            if xdm_parts.is_empty() && !read.is_empty() {
                u.findings.push(finding(
                    "SEGUR-MSS-XDM",
                    name,
                    format!("{name}: CDA documents outside an IHE_XDM.ZIP"),
                ));
            }
        }
        Kind::Iti41 => {
            let r = iti41::read(bytes, name, &mut u.findings);
            u.soap12 = r.soap12;
            u.files.push(("envelope.xml".into(), r.envelope));
            for (cid, body) in r.unreferenced {
                u.files
                    .push((safe_path(&format!("unreferenced-{cid}.bin")), body));
            }
            u.notes.extend(r.notes);
            for (i, (id, entry, doc)) in r.documents.into_iter().enumerate() {
                u.documents.push(Extracted {
                    place: format!("{name} > Document {id}"),
                    path: crate::xdm::document_name(i + 1),
                    bytes: doc,
                    entry: entry.and_then(|e| r.metadata.entries.get(e).cloned()),
                });
            }
            for ss in r.metadata.submission_sets {
                u.submission_sets
                    .push((format!("{name} > SubmissionSet"), ss));
            }
            if u.submission_sets.len() > 1 {
                u.findings.push(finding(
                    "SEGUR-XDS-METADATA",
                    name,
                    format!(
                        "{name}: {} SubmissionSets in one request",
                        u.submission_sets.len()
                    ),
                ));
            }
        }
        Kind::Mhd => {
            let r = mhd::read(bytes, name, &mut u.findings);
            for (i, (url, entry, doc)) in r.documents.into_iter().enumerate() {
                u.documents.push(Extracted {
                    place: format!("{name} > {url}"),
                    path: crate::xdm::document_name(i + 1),
                    bytes: doc,
                    entry: entry.and_then(|e| r.entries.get(e).cloned()),
                });
            }
            for ss in r.submission_sets {
                u.submission_sets
                    .push((format!("{name} > SubmissionSet"), ss));
            }
        }
    }
    let headers = headers.unwrap_or_else(|| read_headers(&u, engine, &mut parsed));
    agreement(&mut u, &headers);
    (u, parsed)
}

/// Parsed documents kept between the packaging checks and validation, in input bytes (a
/// parsed document takes several times its size): past this, a document is parsed again for
/// validation instead of held.
const MAX_KEPT_PARSED_BYTES: usize = 16 << 20;

/// The header of each document of `u` (`None` where it cannot be read). With an engine, it is
/// read from the engine's parse, which is kept in `parsed` (by document) within
/// [`MAX_KEPT_PARSED_BYTES`]; a document the engine refuses is read by the packaging's own
/// reader, as without an engine.
fn read_headers(
    u: &Unpacked,
    engine: Option<&Engine>,
    parsed: &mut Vec<Option<Document>>,
) -> Vec<Option<CdaHeader>> {
    parsed.clear();
    let mut budget = MAX_KEPT_PARSED_BYTES;
    let mut headers = Vec::with_capacity(u.documents.len());
    for d in &u.documents {
        let Some(doc) = engine.and_then(|e| e.parse(&d.bytes).ok()) else {
            parsed.push(None);
            headers.push(read_header(&d.bytes).ok());
            continue;
        };
        headers.push(header_of(&doc).ok());
        let keep = d.bytes.len() <= budget;
        if keep {
            budget -= d.bytes.len();
        }
        parsed.push(keep.then_some(doc));
    }
    headers
}

fn take_xdm(u: &mut Unpacked, x: xdm::Xdm, at: &str, prefix: &str) {
    u.findings.extend(x.findings);
    let mut used = vec![false; x.files.len()];
    for subset in x.subsets {
        let meta = subset.metadata;
        if let Some(m) = &meta {
            let place = format!("{at}!{}/METADATA.XML", subset.folder);
            for ss in &m.submission_sets {
                u.submission_sets.push((place.clone(), ss.clone()));
            }
        }
        for (ei, path, bytes) in subset.documents {
            if let Some(i) = x.files.iter().position(|(p, _)| *p == path) {
                used[i] = true;
            }
            u.documents.push(Extracted {
                place: format!("{at}!{path}"),
                path: safe_path(&format!("{prefix}{path}")),
                bytes,
                entry: meta.as_ref().and_then(|m| m.entries.get(ei).cloned()),
            });
        }
    }
    for (i, (path, bytes)) in x.files.into_iter().enumerate() {
        if !used[i] {
            u.files.push((safe_path(&format!("{prefix}{path}")), bytes));
        }
    }
}

/// Metadata against documents, uniqueness, and each SubmissionSet's patient; `headers` are
/// the documents' ([`read_headers`]).
fn agreement(u: &mut Unpacked, headers: &[Option<CdaHeader>]) {
    let mut findings = Vec::new();
    let value_sets = &crate::codes::active().value_sets;
    for (d, h) in u.documents.iter().zip(headers) {
        if let Some(e) = &d.entry {
            check::entry_against_document(e, &d.bytes, h.as_ref(), &d.place, &mut findings);
            check::entry_value_sets(e, &d.place, value_sets, &mut findings);
            if e.is_signature() {
                u.notes.push(format!(
                    "{}: a submission-set signature document (IHE DSG): its hash and size are checked, its XAdES signature is not verified",
                    d.place
                ));
            }
        }
    }
    if u.documents.iter().any(|d| d.entry.is_some()) {
        // A value set that was not read is a check not made: say so, never pass silently.
        u.notes.extend(value_sets.not_checked());
    }
    let entries: Vec<(String, &DocumentEntry)> = u
        .documents
        .iter()
        .filter_map(|d| d.entry.as_ref().map(|e| (d.place.clone(), e)))
        .collect();
    let sets: Vec<(String, &SubmissionSet)> = u
        .submission_sets
        .iter()
        .map(|(p, s)| (p.clone(), s))
        .collect();
    check::duplicates(&sets, &entries, &mut findings);
    for (place, ss) in &sets {
        // An XDM SubmissionSet covers the entries of its own METADATA.XML.
        let own: Vec<(String, &DocumentEntry)> = entries
            .iter()
            .filter(|(p, _)| match u.kind {
                Kind::Xdm | Kind::Mss => place
                    .strip_suffix("/METADATA.XML")
                    .is_some_and(|folder| p.starts_with(&format!("{folder}/"))),
                _ => true,
            })
            .cloned()
            .collect();
        check::submission_set(place, ss, &own, u.kind != Kind::Mhd, &mut findings);
    }
    let described: Vec<Described<'_>> = u
        .documents
        .iter()
        .zip(headers)
        .map(|(d, h)| Described {
            place: &d.place,
            bytes: &d.bytes,
            entry: d.entry.as_ref(),
            header: h.as_ref(),
        })
        .collect();
    check::duplicate_documents(&described, &mut findings);
    u.findings.extend(findings);
}

/// Validate every document of a package with the core validator.
pub fn validate_documents(u: &Unpacked, engine: &Engine) -> Vec<(String, Outcome)> {
    u.documents
        .iter()
        .map(|d| (d.place.clone(), engine.validate(&d.bytes)))
        .collect()
}
