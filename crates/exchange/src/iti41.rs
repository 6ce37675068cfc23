//! ITI-41 *Provide and Register Document Set-b* as the DMP takes it (`specs/dmp_xds_mhd.md`
//! §1.2–1.3): a SOAP 1.2 envelope with WS-Addressing and a WS-Security VIHF, sent as MTOM/XOP
//! `multipart/related` with one binary part per document; and its reading.

use segur_finding::Finding;
use segur_xml::{Document, NodeId};

use crate::dom::{attr, descendants, kid, kids, text};
use crate::dsig::{self, Signer};
use crate::metadata::{ReadMetadata, read_metadata, uuid_from};
use crate::mime::{self, Part};
use crate::package::{Input, Options, PackageError, prepare, vihf_from_header};
use crate::rules::finding;
use crate::vihf::{self, RESOURCE_ID, SAML2};
use crate::xmlw::XmlOut;

/// SOAP 1.2 envelope namespace.
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
/// WS-Addressing 1.0 namespace.
pub const WSA: &str = "http://www.w3.org/2005/08/addressing";
/// WS-Security 1.0 namespace.
pub const WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// XDS.b namespace.
pub const XDSB: &str = "urn:ihe:iti:xds-b:2007";
/// XOP namespace.
pub const XOP: &str = "http://www.w3.org/2004/08/xop/include";
/// The ITI-41 SOAP action.
pub const ACTION: &str = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b";

/// A built request: the HTTP Content-Type and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The `Content-Type` header value of the HTTP POST.
    pub content_type: String,
    /// The multipart/related body.
    pub body: Vec<u8>,
}

impl Request {
    /// The request as a capture file: MIME headers, a blank line, the body.
    pub fn to_capture(&self) -> Vec<u8> {
        let mut out = format!(
            "MIME-Version: 1.0\r\nContent-Type: {}\r\nSOAPAction: \"{ACTION}\"\r\n\r\n",
            self.content_type
        )
        .into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

/// Build the request with an unsigned VIHF.
pub fn build(inputs: &[Input], options: &Options) -> Result<Request, PackageError> {
    build_with(inputs, options, None)
}

/// Build the request; with a signer, the VIHF carries an enveloped XML-DSig signature and
/// its Issuer is the signing certificate's subject.
pub fn build_with(
    inputs: &[Input],
    options: &Options,
    signer: Option<&Signer>,
) -> Result<Request, PackageError> {
    let prepared = prepare(inputs, options, Vec::new())?;
    let meta = &prepared.metadata;
    let mut vihf_config = options
        .vihf
        .clone()
        .unwrap_or_else(|| vihf_from_header(&prepared.headers[0], options));
    if let Some(s) = signer {
        vihf_config.issuer = s.subject();
    }
    let mut assertion = vihf::assertion(&vihf_config, &meta.submission_set.patient_id, options.now);
    if let Some(s) = signer {
        assertion = dsig::sign_enveloped(&assertion, "saml2:Issuer", s)
            .map_err(|e| PackageError::Option(format!("cannot sign the VIHF: {e}")))?;
    }
    let seed = format!("{}{}", meta.submission_set.unique_id, options.now);
    let cid = |n: usize| format!("0.{n}");
    let mut w = XmlOut::new();
    w.start("soap:Envelope")
        .attr("xmlns:soap", SOAP12)
        .attr("xmlns:wsa", WSA)
        .start("soap:Header")
        .start("wsa:Action")
        .attr("soap:mustUnderstand", "true")
        .text(ACTION)
        .end()
        .leaf(
            "wsa:MessageID",
            &[],
            &uuid_from(format!("wsa{seed}").as_bytes()),
        )
        .start("wsa:ReplyTo")
        .leaf(
            "wsa:Address",
            &[],
            "http://www.w3.org/2005/08/addressing/anonymous",
        )
        .end()
        .start("wsa:To")
        .attr("soap:mustUnderstand", "true")
        .text(&options.endpoint)
        .end()
        .start("wsse:Security")
        .attr("xmlns:wsse", WSSE)
        .attr("soap:mustUnderstand", "true")
        .raw(&assertion)
        .end()
        .end()
        .start("soap:Body")
        .start("xdsb:ProvideAndRegisterDocumentSetRequest")
        .attr("xmlns:xdsb", XDSB);
    meta.write(&mut w, true);
    for (i, e) in meta.entries.iter().enumerate() {
        w.start("xdsb:Document")
            .attr("id", &e.entry_uuid)
            .start("xop:Include")
            .attr("xmlns:xop", XOP)
            .attr("href", &format!("cid:{}", cid(i + 2)))
            .end()
            .end();
    }
    let envelope = w.finish();
    let boundary = format!(
        "MIMEBoundary_{}",
        uuid_from(format!("boundary{seed}").as_bytes()).trim_start_matches("urn:uuid:")
    );
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\n\
             Content-Transfer-Encoding: binary\r\nContent-ID: <{}>\r\n\r\n",
            cid(1)
        )
        .as_bytes(),
    );
    body.extend_from_slice(envelope.as_bytes());
    for (i, input) in prepared.inputs.iter().enumerate() {
        body.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\
                 Content-Transfer-Encoding: binary\r\nContent-ID: <{}>\r\n\r\n",
                cid(i + 2)
            )
            .as_bytes(),
        );
        body.extend_from_slice(&input.bytes);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok(Request {
        content_type: format!(
            "multipart/related; boundary=\"{boundary}\"; type=\"application/xop+xml\"; \
             start=\"<{}>\"; start-info=\"application/soap+xml\"; action=\"{ACTION}\"",
            cid(1)
        ),
        body,
    })
}

/// A request as read.
#[derive(Debug, Clone, Default)]
pub struct Read {
    /// The SOAP envelope bytes.
    pub envelope: Vec<u8>,
    /// Metadata of the body.
    pub metadata: ReadMetadata,
    /// Each Document: (its id, the entry index it describes if any, its bytes).
    pub documents: Vec<(String, Option<usize>, Vec<u8>)>,
    /// What was found about the VIHF signature (signed and verified, or unsigned).
    pub notes: Vec<String>,
    /// MIME parts no Document references: (Content-ID, bytes), kept so nothing is lost.
    pub unreferenced: Vec<(String, Vec<u8>)>,
    /// Set when the envelope is a SOAP 1.2 `Envelope` (as parsed here).
    pub soap12: Option<Soap12>,
}

/// What a SOAP 1.2 envelope says of itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Soap12 {
    /// The first wsa:MessageID in the envelope, trimmed.
    pub message_id: Option<String>,
}

/// Whether bytes look like a captured ITI-41 request (MIME headers or a bare multipart body
/// holding application/xop+xml, or a bare SOAP envelope).
pub fn looks_like(bytes: &[u8]) -> bool {
    // An HTTP capture's headers can run long before the Content-Type (64 KiB at most, as
    // servers bound them).
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    lower.contains("multipart/related")
        || (lower.trim_start().starts_with("--") && lower.contains("application/xop+xml"))
        || (lower.contains(":envelope") && lower.contains(SOAP12))
}

/// The MIME entity of a capture: the HTTP request line is skipped, and a bare multipart body
/// gets its boundary from its first line.
fn entity(bytes: &[u8], place: &str, findings: &mut Vec<Finding>) -> Part {
    let mut body = bytes;
    // The file's line of the entity's first line, less one.
    let mut offset = 0;
    let first_line_end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let first = String::from_utf8_lossy(&body[..first_line_end]).to_string();
    if first.starts_with("POST ") || first.starts_with("PUT ") {
        body = &body[(first_line_end + 1).min(body.len())..];
        offset = 1;
    }
    if body.starts_with(b"--") {
        let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
        let boundary = String::from_utf8_lossy(&body[2..end]).trim().to_string();
        let mut with_headers =
            format!("Content-Type: multipart/related; boundary=\"{boundary}\"\r\n\r\n")
                .into_bytes();
        with_headers.extend_from_slice(body);
        // The two lines put in front are not in the file.
        return mime::parse_at(&with_headers, place, offset - 2, findings);
    }
    mime::parse_at(body, place, offset, findings)
}

fn content_id(p: &Part) -> String {
    p.header("Content-ID")
        .unwrap_or("")
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

/// Percent-decoding of a `cid:` URL (RFC 2392).
fn cid_decode(s: &str) -> String {
    String::from_utf8_lossy(&crate::mime::percent_decode(s)).into_owned()
}

/// The metadata's positions as lines of the request file: shifted by the lines before the
/// envelope, or dropped when the envelope's lines are not the file's (a transfer encoding).
fn place_in_file(m: &mut ReadMetadata, lines_before: Option<u32>) {
    for at in m.locations_mut() {
        match lines_before {
            Some(n) => at.line = at.line.map(|l| l.saturating_add(n)),
            None => (at.line, at.column) = (None, None),
        }
    }
}

/// Read a captured request; problems go to `findings`.
pub fn read(bytes: &[u8], place: &str, findings: &mut Vec<Finding>) -> Read {
    let mut out = Read::default();
    let trimmed = bytes.trim_ascii_start();
    // The line of the file before the SOAP envelope's first line, when its text is the file's
    // (not transfer-encoded): metadata findings point into it.
    let mut lines_before: Option<u32> = None;
    let (root_bytes, parts): (Vec<u8>, Vec<Part>) = if trimmed.starts_with(b"<") {
        let skipped = &bytes[..bytes.len() - trimmed.len()];
        lines_before = u32::try_from(skipped.iter().filter(|&&b| b == b'\n').count()).ok();
        (trimmed.to_vec(), Vec::new())
    } else {
        let message = entity(bytes, place, findings);
        let start = message
            .param("Content-Type", "start")
            .map(|s| s.trim_start_matches('<').trim_end_matches('>').to_string());
        let mut parts = message.parts;
        let root_at = start
            .as_deref()
            .and_then(|s| parts.iter().position(|p| content_id(p) == s))
            .unwrap_or(0);
        if parts.is_empty() {
            findings.push(finding(
                "SEGUR-ITI41-SOAP",
                place,
                format!("{place}: no MIME part: not an MTOM request"),
            ));
            return out;
        }
        let root = parts.remove(root_at);
        let identity = root.header("Content-Transfer-Encoding").is_none_or(|c| {
            ["7bit", "8bit", "binary"].contains(&c.trim().to_ascii_lowercase().as_str())
        });
        if identity {
            lines_before = root.end_line;
        }
        (root.body, parts)
    };
    out.envelope = root_bytes.clone();
    let doc = match Document::parse(&root_bytes, &crate::cda::limits()) {
        Ok(d) => d,
        Err(e) => {
            findings.push(finding(
                "SEGUR-ITI41-SOAP",
                place,
                format!("{place}: the SOAP part is not well-formed XML ({e})"),
            ));
            return out;
        }
    };
    let Some(env) = doc
        .document_element()
        .filter(|&e| doc.local_name(e) == "Envelope" && doc.namespace_uri(e) == SOAP12)
    else {
        findings.push(finding(
            "SEGUR-ITI41-SOAP",
            place,
            format!("{place}: the root part is not a SOAP 1.2 Envelope"),
        ));
        return out;
    };
    out.soap12 = Some(Soap12 {
        message_id: descendants(&doc, env, WSA, "MessageID")
            .next()
            .map(|n| text(&doc, n)),
    });
    let header = kid(&doc, env, SOAP12, "Header");
    check_addressing(&doc, header, place, findings);
    let request = kid(&doc, env, SOAP12, "Body")
        .and_then(|b| kid(&doc, b, XDSB, "ProvideAndRegisterDocumentSetRequest"));
    let Some(request) = request else {
        findings.push(finding(
            "SEGUR-ITI41-SOAP",
            place,
            format!("{place}: the Body holds no xdsb:ProvideAndRegisterDocumentSetRequest"),
        ));
        return out;
    };
    match read_metadata(&doc) {
        Ok(mut m) => {
            place_in_file(&mut m, lines_before);
            crate::check::repeated_ids(&m, place, findings);
            out.metadata = m;
        }
        Err(e) => findings.push(finding(
            "SEGUR-XDS-METADATA",
            place,
            format!("{place}: {e}"),
        )),
    }
    check_vihf(&doc, header, &out.metadata, place, findings, &mut out.notes);
    let mut used = vec![false; parts.len()];
    for d in kids(&doc, request, XDSB, "Document") {
        let id = attr(&doc, d, "id").unwrap_or("").to_string();
        let entry = out.metadata.entries.iter().position(|e| e.entry_uuid == id);
        let at = format!("{place} > Document {id}");
        if entry.is_none() {
            findings.push(finding(
                "SEGUR-ITI41-XOP",
                &at,
                format!("{at}: no DocumentEntry has this id"),
            ));
        }
        let bytes = match kid(&doc, d, XOP, "Include") {
            Some(inc) => {
                let href = attr(&doc, inc, "href").unwrap_or("");
                let cid = cid_decode(href.strip_prefix("cid:").unwrap_or(href));
                match parts.iter().position(|p| content_id(p) == cid) {
                    Some(i) => {
                        used[i] = true;
                        parts[i].body.clone()
                    }
                    None => {
                        findings.push(finding(
                            "SEGUR-ITI41-XOP",
                            &at,
                            format!("{at}: xop:Include names `{href}`, which is no MIME part"),
                        ));
                        continue;
                    }
                }
            }
            None => match mime::decode_base64(text(&doc, d).as_bytes()) {
                Ok(b) => b,
                Err(e) => {
                    findings.push(finding(
                        "SEGUR-MIME-BASE64",
                        &at,
                        format!("{at}: inline content is not base64 ({e})"),
                    ));
                    continue;
                }
            },
        };
        out.documents.push((id, entry, bytes));
    }
    for (i, p) in parts.iter().enumerate() {
        if !used[i] {
            out.unreferenced.push((content_id(p), p.body.clone()));
            findings.push(finding(
                "SEGUR-ITI41-XOP",
                &p.place,
                format!(
                    "{}: MIME part <{}> is referenced by no Document",
                    p.place,
                    content_id(p)
                ),
            ));
        }
    }
    for e in &out.metadata.entries {
        if !out.documents.iter().any(|(id, _, _)| *id == e.entry_uuid) {
            findings.push(finding(
                "SEGUR-ITI41-XOP",
                place,
                format!("{place}: DocumentEntry {} has no Document", e.entry_uuid),
            ));
        }
    }
    out
}

fn check_addressing(doc: &Document, header: Option<NodeId>, place: &str, out: &mut Vec<Finding>) {
    let get = |local: &str| {
        header
            .and_then(|h| kid(doc, h, WSA, local))
            .map(|n| text(doc, n))
    };
    match get("Action") {
        Some(a) if a == ACTION => {}
        Some(a) => out.push(finding(
            "SEGUR-ITI41-WSA",
            place,
            format!("{place}: wsa:Action is `{a}`, not `{ACTION}`"),
        )),
        None => out.push(finding(
            "SEGUR-ITI41-WSA",
            place,
            format!("{place}: no wsa:Action header"),
        )),
    }
    for h in ["MessageID", "To"] {
        if get(h).is_none_or(|v| v.is_empty()) {
            out.push(finding(
                "SEGUR-ITI41-WSA",
                place,
                format!("{place}: no wsa:{h} header"),
            ));
        }
    }
}

fn check_vihf(
    doc: &Document,
    header: Option<NodeId>,
    meta: &ReadMetadata,
    place: &str,
    out: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) {
    let assertions: Vec<NodeId> = header
        .and_then(|h| kid(doc, h, WSSE, "Security"))
        .map(|s| kids(doc, s, SAML2, "Assertion").collect())
        .unwrap_or_default();
    let resource_of = |a: NodeId| {
        descendants(doc, a, SAML2, "Attribute")
            .find(|&at| attr(doc, at, "Name") == Some(RESOURCE_ID))
            .and_then(|at| kid(doc, at, SAML2, "AttributeValue"))
            .map(|v| text(doc, v))
    };
    // Several VIHFs: a receiver may read another one than segur (the first) reads, say an
    // unsigned one naming another patient beside the signed one.
    if assertions.len() > 1 {
        let each: Vec<String> = assertions
            .iter()
            .map(|&a| {
                format!(
                    "ID `{}` {}, {RESOURCE_ID} `{}`",
                    attr(doc, a, "ID").unwrap_or(""),
                    if kid(doc, a, dsig::DS, "Signature").is_some() {
                        "signed"
                    } else {
                        "unsigned"
                    },
                    resource_of(a).unwrap_or_default()
                )
            })
            .collect();
        out.push(finding(
            "SEGUR-ITI41-VIHF",
            place,
            format!(
                "{place}: {} saml2:Assertion elements in wsse:Security ({}); the VIHF is one assertion, and receivers may read another than the first, which segur reads",
                assertions.len(),
                each.join("; ")
            ),
        ));
    }
    let Some(&assertion) = assertions.first() else {
        out.push(finding(
            "SEGUR-ITI41-VIHF",
            place,
            format!("{place}: no wsse:Security/saml2:Assertion (VIHF) header"),
        ));
        return;
    };
    match dsig::verify_enveloped(doc, assertion) {
        Ok(true) => {
            let certs = dsig::key_info_certificates(doc, assertion);
            let at = attr(doc, assertion, "IssueInstant").and_then(crate::time::unix_of_datetime);
            if let Some((leaf, others)) = certs.split_first() {
                let what = crate::signing_cert::check(
                    leaf,
                    others,
                    at,
                    crate::signing_cert::anchors(),
                    place,
                    out,
                );
                // Said only of the assertion read: the others are what SEGUR-ITI41-VIHF reports.
                let which = if assertions.len() > 1 {
                    format!(
                        " (the first of {} assertions, the one read)",
                        assertions.len()
                    )
                } else {
                    String::new()
                };
                notes.push(format!(
                    "{place}: VIHF signature verified{which} with the certificate it carries; {what}"
                ));
            }
        }
        Ok(false) => notes.push(format!(
            "{place}: VIHF not signed (a DMP refuses an unsigned VIHF)"
        )),
        Err(why) => out.push(finding(
            "SEGUR-ITI41-VIHF-SIGNATURE",
            place,
            format!("{place}: the VIHF signature is wrong: {why}"),
        )),
    }
    let resource = resource_of(assertion);
    let patient = meta.submission_sets.first().map(|s| s.patient_id.as_str());
    match (resource, patient) {
        (None, _) => out.push(finding(
            "SEGUR-ITI41-VIHF",
            place,
            format!("{place}: the VIHF has no {RESOURCE_ID} attribute (the patient)"),
        )),
        (Some(r), Some(p)) if r != p => out.push(finding(
            "SEGUR-ITI41-VIHF",
            place,
            format!("{place}: the VIHF names patient `{r}` but the SubmissionSet `{p}`"),
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::cid_decode;

    #[test]
    fn cid_urls_are_percent_decoded_by_two_hex_digits_only() {
        assert_eq!(cid_decode("doc%401.xml"), "doc@1.xml");
        // Not two hexadecimal digits (a sign is not one): kept as written.
        assert_eq!(cid_decode("a%+1b%zz%4"), "a%+1b%zz%4");
    }
}
