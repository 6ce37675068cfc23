//! What the sink answers: routes, unpacking and validation, the durable store, and the
//! ITI-41 RegistryResponse / MHD transaction-response or OperationOutcome.

use segur_exchange::unpack::{Kind, Unpacked, unpack, unpack_validated};
use segur_finding::{Finding, Severity};
use segur_validate::engine::{Engine, Outcome};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::http::{Request, Response};
use crate::store::{Client, NewDocument, PutError, Store};

/// Path of the ITI-41 (Provide and Register Document Set-b) endpoint.
pub const ITI41_PATH: &str = "/iti41";
/// Path of the FHIR base that takes MHD ITI-65 transaction Bundles.
pub const MHD_PATH: &str = "/fhir";
/// Path answering 200 `ok` to GET (for load balancers and tests).
pub const HEALTH_PATH: &str = "/health";

/// `status` of a successful RegistryResponse.
pub const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
/// `status` of a failed RegistryResponse.
pub const FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
/// The wsa:Action of the ITI-41 response.
pub const RESPONSE_ACTION: &str = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse";

/// One reason a submission is refused (or a warning about it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The segur rule id (`SEGUR-XDS-HASH`, `SEGUR-SINK-DUPLICATE`…).
    pub rule: String,
    /// Error or warning.
    pub severity: Severity,
    /// The IHE XDS error code (ITI TF-3 Table 4.2.4.1-2) it maps to.
    pub error_code: &'static str,
    /// Where it is.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

/// The XDS error code of a segur rule (docs/sink.md lists which are UNVERIFIED).
pub fn error_code(rule: &str) -> &'static str {
    match rule {
        "SEGUR-XDS-PATIENTID" => "XDSPatientIdDoesNotMatch",
        "SEGUR-SINK-DUPLICATE" => "XDSDuplicateUniqueIdInRegistry",
        // The store failed (disk full, no descriptor left): the submission may be sent again.
        "SEGUR-SINK-STORE" => "XDSRepositoryOutOfResources",
        "SEGUR-XDS-DUPLICATE" => "XDSRegistryDuplicateUniqueIdInMessage",
        "SEGUR-XDS-HASH" | "SEGUR-XDS-SIZE" => "XDSRepositoryMetadataError",
        "SEGUR-ITI41-XOP" => "XDSMissingDocument",
        r if r.starts_with("SEGUR-XDS-") || r == "SEGUR-SINK-UNIQUEID" => {
            "XDSRegistryMetadataError"
        }
        _ => "XDSRegistryError",
    }
}

fn problem_of(f: &Finding, fallback_place: &str) -> Problem {
    Problem {
        rule: f.rule.clone(),
        severity: f.severity,
        error_code: error_code(&f.rule),
        location: f
            .location
            .xpath
            .clone()
            .unwrap_or_else(|| fallback_place.to_string()),
        message: f.message.clone(),
    }
}

fn sink_problem(rule: &str, message: String) -> Problem {
    Problem {
        rule: rule.to_string(),
        severity: Severity::Error,
        error_code: error_code(rule),
        location: String::new(),
        message,
    }
}

/// What an accepted or refused submission gave, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Documents stored.
    pub stored: usize,
    /// Problems (errors refuse the submission).
    pub problems: Vec<Problem>,
}

impl Verdict {
    /// Whether the refusal is the sink's own passing failure (its store could not write):
    /// the client should send again later, not give the submission up.
    pub fn transient(&self) -> bool {
        self.problems.iter().any(|p| p.rule == "SEGUR-SINK-STORE")
    }
}

/// The request handler, shared by the worker threads.
#[derive(Debug)]
pub struct Service {
    store: Store,
    engine: Option<Engine>,
}

impl Service {
    /// A handler storing into `store`, validating CDA documents with `engine` when given.
    pub fn new(store: Store, engine: Option<Engine>) -> Service {
        Service { store, engine }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Answer one request from `client`.
    pub fn handle(&self, req: &Request, client: &Client) -> (Response, Verdict) {
        let none = Verdict {
            stored: 0,
            problems: Vec::new(),
        };
        let path = req.path.trim_end_matches('/');
        let known = [ITI41_PATH, MHD_PATH, HEALTH_PATH];
        if !known.contains(&path) {
            return (Response::text(404, format!("no route {}", req.path)), none);
        }
        if path == HEALTH_PATH {
            return if req.method == "GET" || req.method == "HEAD" {
                (Response::text(200, "ok"), none)
            } else {
                (not_allowed("GET, HEAD"), none)
            };
        }
        if req.method != "POST" {
            return (not_allowed("POST"), none);
        }
        if path == ITI41_PATH {
            self.iti41(req, client)
        } else {
            self.mhd(req, client)
        }
    }

    /// Unpack an MSSanté message (RFC 5322, as received over SMTP), validate it, and store
    /// its documents unless a problem is an error.
    pub fn accept_message(&self, message: &[u8], client: &Client) -> Verdict {
        let (u, outcomes) = self.unpack(message, "message", Kind::Mss);
        self.accept(&u, &outcomes, client)
    }

    /// Unpack, and validate each document with the engine when there is one (each document
    /// parsed once for both).
    fn unpack(&self, bytes: &[u8], name: &str, kind: Kind) -> (Unpacked, Vec<(String, Outcome)>) {
        match &self.engine {
            Some(engine) => unpack_validated(bytes, name, Some(kind), engine),
            None => (unpack(bytes, name, Some(kind)), Vec::new()),
        }
    }

    /// Check the validation outcomes and the uniqueIds, and store; the problems and what was
    /// stored.
    fn accept(&self, u: &Unpacked, outcomes: &[(String, Outcome)], client: &Client) -> Verdict {
        let mut problems: Vec<Problem> = u
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .map(|f| problem_of(f, "request"))
            .collect();
        for (place, outcome) in outcomes {
            if let Some(p) = &outcome.problem {
                problems.push(Problem {
                    location: place.clone(),
                    ..sink_problem(
                        "SEGUR-SINK-DOCUMENT",
                        format!("{place}: not checked: {}", p.message),
                    )
                });
            }
            problems.extend(
                outcome
                    .findings
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .map(|f| problem_of(f, place)),
            );
        }
        if u.documents.is_empty() {
            problems.push(sink_problem(
                "SEGUR-SINK-EMPTY",
                "no document in the submission".into(),
            ));
        }
        let mut batch = Vec::new();
        for d in &u.documents {
            match d.entry.as_ref().map(|e| e.unique_id.trim()) {
                Some(id) if !id.is_empty() => batch.push(NewDocument {
                    unique_id: id,
                    bytes: &d.bytes,
                }),
                _ => problems.push(Problem {
                    location: d.place.clone(),
                    ..sink_problem(
                        "SEGUR-SINK-UNIQUEID",
                        format!("{}: no uniqueId in the metadata", d.place),
                    )
                }),
            }
        }
        if problems.iter().any(|p| p.severity == Severity::Error) {
            return Verdict {
                stored: 0,
                problems,
            };
        }
        match self.store.put(&batch, u.kind.as_str(), client) {
            Ok(records) => Verdict {
                stored: records.len(),
                problems,
            },
            Err(PutError::Duplicate(ids)) => {
                for id in ids {
                    problems.push(Problem {
                        location: id.clone(),
                        ..sink_problem(
                            "SEGUR-SINK-DUPLICATE",
                            format!("uniqueId {id} is already in the store"),
                        )
                    });
                }
                Verdict {
                    stored: 0,
                    problems,
                }
            }
            Err(PutError::Io(e)) => {
                problems.push(sink_problem(
                    "SEGUR-SINK-STORE",
                    format!("the sink could not store the submission: {e}"),
                ));
                Verdict {
                    stored: 0,
                    problems,
                }
            }
        }
    }

    /// ITI-41: the answer in the request's form, MTOM/XOP when the request was (IHE: the
    /// response of an MTOM request is MTOM, docs/sink.md), else a plain SOAP envelope.
    fn iti41(&self, req: &Request, client: &Client) -> (Response, Verdict) {
        let (response, verdict) = self.iti41_soap(req, client);
        let ct = req.header("Content-Type").unwrap_or("");
        if ct.to_ascii_lowercase().starts_with("multipart/related") {
            let action = (response.status == 200).then_some(RESPONSE_ACTION);
            (mtom(response, action), verdict)
        } else {
            (response, verdict)
        }
    }

    fn iti41_soap(&self, req: &Request, client: &Client) -> (Response, Verdict) {
        let ct = req.header("Content-Type").unwrap_or("");
        let lower = ct.to_ascii_lowercase();
        if !lower.starts_with("multipart/related") && !lower.starts_with("application/soap+xml") {
            let reason = format!(
                "ITI-41 takes multipart/related (MTOM) or application/soap+xml, not `{ct}`"
            );
            return (
                soap_fault(415, &reason),
                Verdict {
                    stored: 0,
                    problems: vec![sink_problem("SEGUR-SINK-NOT-SOAP", reason)],
                },
            );
        }
        let mut capture = format!("Content-Type: {ct}\r\n\r\n").into_bytes();
        capture.extend_from_slice(&req.body);
        let (u, outcomes) = self.unpack(&capture, "request", Kind::Iti41);
        let envelope = u
            .files
            .iter()
            .find(|(n, _)| n == "envelope.xml")
            .map_or(&[][..], |(_, b)| b.as_slice());
        // Whether it is a SOAP 1.2 envelope, and its wsa:MessageID: as the unpacking read
        // them, else (an envelope it could not parse with its own limits) read here.
        let soap12 = match &u.soap12 {
            Some(s) => Some(s.message_id.clone()),
            None => soap12_message_id(envelope),
        };
        let Some(relates_to) = soap12 else {
            // SOAP 1.2 HTTP binding: a message that is not a SOAP envelope is the sender's
            // fault, answered 400 with an env:Sender fault rather than a RegistryResponse.
            let why = u
                .findings
                .iter()
                .find(|f| f.severity == Severity::Error)
                .map(|f| format!(": {}", f.message))
                .unwrap_or_default();
            let reason = format!("the request is not a SOAP 1.2 envelope{why}");
            return (
                soap_fault(400, &reason),
                Verdict {
                    stored: 0,
                    problems: vec![sink_problem("SEGUR-SINK-NOT-SOAP", reason)],
                },
            );
        };
        let verdict = self.accept(&u, &outcomes, client);
        let body = registry_response(&verdict.problems, relates_to.as_deref());
        (
            Response {
                status: 200,
                content_type: "application/soap+xml; charset=UTF-8".into(),
                headers: Vec::new(),
                body: body.into_bytes(),
            },
            verdict,
        )
    }

    fn mhd(&self, req: &Request, client: &Client) -> (Response, Verdict) {
        let bundle: Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => {
                let p = sink_problem("SEGUR-MHD-BUNDLE", format!("not JSON: {e}"));
                return (
                    outcome(400, std::slice::from_ref(&p)),
                    Verdict {
                        stored: 0,
                        problems: vec![p],
                    },
                );
            }
        };
        let (u, outcomes) = self.unpack(&req.body, "bundle", Kind::Mhd);
        let verdict = self.accept(&u, &outcomes, client);
        if verdict
            .problems
            .iter()
            .any(|p| p.severity == Severity::Error)
        {
            let status = if verdict.transient() {
                503
            } else if verdict
                .problems
                .iter()
                .any(|p| p.rule == "SEGUR-MHD-BUNDLE")
            {
                400
            } else {
                422
            };
            let mut response = outcome(status, &verdict.problems);
            if status == 503 {
                response.headers.push(("Retry-After".into(), "1".into()));
            }
            return (response, verdict);
        }
        let tag = crate::store::hex(&Sha256::digest(&req.body)[..8]);
        let entries: Vec<Value> = bundle
            .get("entry")
            .and_then(Value::as_array)
            .map(|a| a.as_slice())
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let kind = e
                    .pointer("/resource/resourceType")
                    .and_then(Value::as_str)
                    .unwrap_or("Resource");
                json!({"response": {
                    "status": "201 Created",
                    "location": format!("{kind}/{tag}-{}/_history/1", i + 1),
                }})
            })
            .collect();
        let body = json!({
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": entries,
        });
        (fhir(200, &body), verdict)
    }
}

fn not_allowed(allow: &str) -> Response {
    let mut r = Response::text(405, format!("method not allowed: use {allow}"));
    r.headers.push(("Allow".into(), allow.into()));
    r
}

fn fhir(status: u16, body: &Value) -> Response {
    Response {
        status,
        content_type: "application/fhir+json; charset=utf-8".into(),
        headers: Vec::new(),
        body: serde_json::to_vec_pretty(body).unwrap_or_default(),
    }
}

/// An OperationOutcome listing the problems.
fn outcome(status: u16, problems: &[Problem]) -> Response {
    let issues: Vec<Value> = problems
        .iter()
        .filter(|p| p.severity != Severity::Info)
        .map(|p| {
            json!({
                "severity": if p.severity == Severity::Error { "error" } else { "warning" },
                "code": match p.rule.as_str() {
                    "SEGUR-SINK-DUPLICATE" => "duplicate",
                    "SEGUR-SINK-STORE" => "transient",
                    _ => "invalid",
                },
                "details": {
                    "coding": [{"system": "urn:segur:rule", "code": p.rule}],
                    "text": p.message,
                },
                "diagnostics": format!("{}: {}", p.rule, p.message),
            })
        })
        .collect();
    fhir(
        status,
        &json!({"resourceType": "OperationOutcome", "issue": issues}),
    )
}

/// When `xml` is a SOAP 1.2 envelope (its root element `Envelope` in the SOAP 1.2
/// namespace, after an XML declaration, comments or whitespace; no DOCTYPE, which SOAP
/// forbids): its wsa:MessageID, if it has one.
fn soap12_message_id(xml: &[u8]) -> Option<Option<String>> {
    let doc = segur_xml::Document::parse(xml, &segur_xml::Limits::default()).ok()?;
    let root = doc.document_element()?;
    if doc.local_name(root) != "Envelope"
        || doc.namespace_uri(root) != segur_exchange::iti41::SOAP12
    {
        return None;
    }
    let id = doc
        .descendant_range(root)
        .map(segur_xml::NodeId::from_index)
        .find(|&n| {
            doc.kind(n) == segur_xml::NodeKind::Element
                && doc.local_name(n) == "MessageID"
                && doc.namespace_uri(n) == segur_exchange::iti41::WSA
        })
        .map(|n| doc.string_value(n).trim().to_string());
    Some(id)
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The Content-ID of the root part of an MTOM response.
pub const MTOM_ROOT: &str = "<root.message@segur-sink>";

/// A SOAP response packaged as MTOM/XOP (a `multipart/related` XOP package, W3C XOP and
/// the SOAP MTOM binding): one root part `application/xop+xml` holding the envelope (it
/// has no binary content to take out). `action` goes in the `action` parameter, as in the
/// request's Content-Type.
pub fn mtom(soap: Response, action: Option<&str>) -> Response {
    // A boundary made of the envelope's hash cannot occur inside it.
    let tag = crate::store::hex(&Sha256::digest(&soap.body)[..12]);
    let boundary = format!("MIMEBoundary_segur_{tag}");
    let mut body = format!(
        "--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\n\
         Content-Transfer-Encoding: binary\r\nContent-ID: {MTOM_ROOT}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&soap.body);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let action = action.map_or_else(String::new, |a| format!("; action=\"{a}\""));
    Response {
        status: soap.status,
        content_type: format!(
            "multipart/related; boundary=\"{boundary}\"; type=\"application/xop+xml\"; \
             start=\"{MTOM_ROOT}\"; start-info=\"application/soap+xml\"{action}"
        ),
        headers: soap.headers,
        body,
    }
}

/// A SOAP 1.2 Fault (`env:Sender`) answered with `status`.
pub fn soap_fault(status: u16, reason: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<s:Envelope xmlns:s=\"{}\">\n<s:Body>\n\
         <s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code>\
         <s:Reason><s:Text xml:lang=\"en\">{}</s:Text></s:Reason></s:Fault>\n</s:Body>\n</s:Envelope>\n",
        segur_exchange::iti41::SOAP12,
        esc(reason)
    );
    Response {
        status,
        content_type: "application/soap+xml; charset=UTF-8".into(),
        headers: Vec::new(),
        body: body.into_bytes(),
    }
}

/// A SOAP 1.2 envelope with the RegistryResponse: Success when no problem is an error, else
/// Failure with a RegistryErrorList (warnings are listed too).
pub fn registry_response(problems: &[Problem], relates_to: Option<&str>) -> String {
    let failed = problems.iter().any(|p| p.severity == Severity::Error);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<s:Envelope xmlns:s=\"{}\" xmlns:a=\"{}\">\n<s:Header>\n<a:Action s:mustUnderstand=\"1\">{RESPONSE_ACTION}</a:Action>\n",
        segur_exchange::iti41::SOAP12,
        segur_exchange::iti41::WSA
    ));
    if let Some(id) = relates_to {
        x.push_str(&format!("<a:RelatesTo>{}</a:RelatesTo>\n", esc(id)));
    }
    x.push_str("</s:Header>\n<s:Body>\n");
    x.push_str(&format!(
        "<rs:RegistryResponse xmlns:rs=\"urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0\" status=\"{}\"",
        if failed { FAILURE } else { SUCCESS }
    ));
    let listed: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.severity != Severity::Info)
        .collect();
    if listed.is_empty() {
        x.push_str("/>\n");
    } else {
        let sev = |s: Severity| {
            if s == Severity::Error {
                "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
            } else {
                "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"
            }
        };
        x.push_str(&format!(
            ">\n<rs:RegistryErrorList highestSeverity=\"{}\">\n",
            sev(if failed {
                Severity::Error
            } else {
                Severity::Warning
            })
        ));
        for p in listed {
            x.push_str(&format!(
                "<rs:RegistryError errorCode=\"{}\" codeContext=\"{}\" location=\"{}\" severity=\"{}\"/>\n",
                p.error_code,
                esc(&format!("{}: {}", p.rule, p.message)),
                esc(&p.location),
                sev(p.severity)
            ));
        }
        x.push_str("</rs:RegistryErrorList>\n</rs:RegistryResponse>\n");
    }
    x.push_str("</s:Body>\n</s:Envelope>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_response_is_well_formed() {
        let p = sink_problem("SEGUR-XDS-HASH", "hash <differs> & \"so\"".into());
        let x = registry_response(&[p], Some("urn:uuid:1"));
        let doc = roxmltree::Document::parse(&x).expect("well-formed");
        let e = doc
            .descendants()
            .find(|n| n.tag_name().name() == "RegistryError")
            .expect("error");
        assert_eq!(e.attribute("errorCode"), Some("XDSRepositoryMetadataError"));
        assert!(
            e.attribute("codeContext")
                .is_some_and(|c| c.starts_with("SEGUR-XDS-HASH: "))
        );
        assert!(x.contains(FAILURE));
        assert!(registry_response(&[], None).contains(SUCCESS));
    }

    #[test]
    fn mtom_responses_are_an_xop_package_with_the_envelope_as_root() {
        let soap = Response {
            status: 200,
            content_type: "application/soap+xml; charset=UTF-8".into(),
            headers: Vec::new(),
            body: registry_response(&[], Some("urn:uuid:1")).into_bytes(),
        };
        let r = mtom(soap.clone(), Some(RESPONSE_ACTION));
        let ct = r.content_type.clone();
        assert!(ct.starts_with("multipart/related; "), "{ct}");
        let param = |n: &str| segur_exchange::mime::param(&ct, n);
        assert_eq!(param("type").as_deref(), Some("application/xop+xml"));
        assert_eq!(param("start").as_deref(), Some(MTOM_ROOT));
        assert_eq!(param("start-info").as_deref(), Some("application/soap+xml"));
        assert_eq!(param("action").as_deref(), Some(RESPONSE_ACTION));
        let mut capture = format!("Content-Type: {ct}\r\n\r\n").into_bytes();
        capture.extend_from_slice(&r.body);
        let mut findings = Vec::new();
        let package = segur_exchange::mime::parse(&capture, "response", &mut findings);
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(package.parts.len(), 1);
        let root = &package.parts[0];
        assert_eq!(root.header("Content-ID"), Some(MTOM_ROOT));
        assert_eq!(root.media_type(), "application/xop+xml");
        assert_eq!(
            root.param("Content-Type", "type").as_deref(),
            Some("application/soap+xml")
        );
        assert_eq!(root.body, soap.body);
    }

    #[test]
    fn the_envelope_is_read_once_for_its_kind_and_its_message_id() {
        let soap = segur_exchange::iti41::SOAP12;
        let wsa = segur_exchange::iti41::WSA;
        let with_id = format!(
            "<?xml version=\"1.0\"?><!-- c --><s:Envelope xmlns:s=\"{soap}\" xmlns:a=\"{wsa}\">\
             <s:Header><a:MessageID> urn:uuid:1 </a:MessageID></s:Header><s:Body/></s:Envelope>"
        );
        assert_eq!(
            soap12_message_id(with_id.as_bytes()),
            Some(Some("urn:uuid:1".into()))
        );
        let without = format!("<Envelope xmlns=\"{soap}\"><Body/></Envelope>");
        assert_eq!(soap12_message_id(without.as_bytes()), Some(None));
        // Not SOAP 1.2: another namespace (SOAP 1.1), another root, a DOCTYPE, not XML.
        for not in [
            "<Envelope xmlns=\"http://schemas.xmlsoap.org/soap/envelope/\"/>".to_string(),
            format!("<Body xmlns=\"{soap}\"/>"),
            format!("<!DOCTYPE Envelope><Envelope xmlns=\"{soap}\"/>"),
            "hello".to_string(),
            String::new(),
        ] {
            assert_eq!(soap12_message_id(not.as_bytes()), None, "{not}");
        }
    }

    #[test]
    fn iti41_requests_that_are_not_soap_get_a_soap_fault() {
        let dir = tempfile::tempdir().expect("tmp");
        let (store, _) = Store::open(dir.path()).expect("store");
        let service = Service::new(store, None);
        let client = Client {
            sha256: String::new(),
            subject: String::new(),
        };
        let post = |ct: &str, body: &str| Request {
            method: "POST".into(),
            path: ITI41_PATH.into(),
            headers: vec![("Content-Type".into(), ct.into())],
            body: body.as_bytes().to_vec(),
            keep_alive: true,
        };
        for (ct, body, status) in [
            ("text/plain", "hello", 415),
            ("application/soap+xml", "hello", 400),
            (
                "application/soap+xml",
                "<Envelope xmlns=\"urn:other\"/>",
                400,
            ),
        ] {
            let (r, verdict) = service.handle(&post(ct, body), &client);
            assert_eq!(r.status, status, "{ct} {body}");
            assert!(r.content_type.starts_with("application/soap+xml"));
            let text = String::from_utf8(r.body).expect("utf-8");
            let doc = roxmltree::Document::parse(&text).expect("well-formed");
            let value = doc
                .descendants()
                .find(|n| n.tag_name().name() == "Value")
                .and_then(|n| n.text());
            assert_eq!(value, Some("s:Sender"), "{text}");
            assert!(doc.descendants().any(|n| n.tag_name().name() == "Fault"));
            assert_eq!(verdict.problems[0].rule, "SEGUR-SINK-NOT-SOAP");
        }
    }
}
