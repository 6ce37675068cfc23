//! The load: a closed model (N virtual users, each a thread with its own identity and
//! connection, sending back to back) or an open model (requests arriving at a rate, each
//! sent at its intended time by the next free connection, latency measured from that
//! intended time), until a count or a duration; with a linear ramp-up.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use segur_tls::rustls::ClientConfig;
use segur_tls::rustls::pki_types::ServerName;
use segur_tls::{Identity, client_config, roots_from_pem};
use serde::Serialize;

use crate::build::DocumentCheck;
use crate::build::Recipe;
use crate::config::Scheme;
use crate::http::{Connector, Response};
use crate::smtp::{Envelope, envelope_of};
use crate::{Endpoint, Kind, Prepared, ReplayError};

/// Why one request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The TLS handshake (or a later TLS alert) failed; the plain-words reason.
    Tls(String),
    /// TCP connect failed (refused, unreachable, unresolvable).
    Connect(String),
    /// Connect, read or write timed out.
    Timeout(String),
    /// A non-2xx HTTP status, and the start of the answer's text.
    Http(u16, String),
    /// ITI-41: the RegistryResponse status is not Success (the status word), and its first
    /// RegistryError (code, context).
    Registry(String, String),
    /// MHD: the answer is an OperationOutcome; its first issue in words.
    OperationOutcome(String),
    /// The answer is not the HTTP/SOAP/FHIR expected.
    Protocol(String),
    /// Another I/O error.
    Io(String),
    /// SMTP: a reply refusing the message (its code and text).
    Smtp(u16, String),
    /// ITI-41: a SOAP Fault (its reason text).
    SoapFault(String),
    /// A request built on the fly could not be built.
    Build(String),
    /// A document built on the fly was refused by the check (`--validate`): not sent.
    Invalid(String),
}

impl Failure {
    /// The bucket it is counted in (`tls`, `connect`, `http-503`, `registry-failure`…).
    pub fn kind(&self) -> String {
        match self {
            Failure::Tls(_) => "tls-handshake".into(),
            Failure::Connect(_) => "connect".into(),
            Failure::Timeout(_) => "timeout".into(),
            Failure::Http(c, _) => format!("http-{c}"),
            Failure::Registry(s, _) => format!("registry-{}", s.to_ascii_lowercase()),
            Failure::OperationOutcome(_) => "operation-outcome".into(),
            Failure::Protocol(_) => "protocol".into(),
            Failure::Io(_) => "io".into(),
            Failure::Smtp(code, _) => format!("smtp-{code}"),
            Failure::SoapFault(_) => "soap-fault".into(),
            Failure::Build(_) => "build".into(),
            Failure::Invalid(_) => "invalid-document".into(),
        }
    }

    /// The detail in words (empty when the kind says it all).
    pub fn detail(&self) -> String {
        match self {
            Failure::Tls(s) | Failure::Connect(s) | Failure::Timeout(s) => s.clone(),
            Failure::Protocol(s) | Failure::Io(s) | Failure::Smtp(_, s) => s.clone(),
            Failure::SoapFault(s) | Failure::Build(s) | Failure::Invalid(s) => s.clone(),
            Failure::Http(_, s) | Failure::Registry(_, s) | Failure::OperationOutcome(s) => {
                s.clone()
            }
        }
    }
}

/// One error bucket of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorCount {
    /// The bucket ([`Failure::kind`]).
    pub kind: String,
    /// How many requests fell in it.
    pub count: u64,
    /// The first detail seen (e.g. the TLS reason in words).
    pub example: String,
}

/// Latency percentiles, microseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    /// How many samples (requests that got a full HTTP response).
    pub samples: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
    /// Mean.
    pub mean_us: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Latency {
        Latency {
            samples: h.len(),
            p50_us: h.value_at_quantile(0.5),
            p90_us: h.value_at_quantile(0.9),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            mean_us: if h.is_empty() { 0.0 } else { h.mean() },
        }
    }
}

/// The load model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// N users send back to back: the next request leaves when the previous one is answered.
    Closed,
    /// Requests arrive at a rate, whether or not earlier ones were answered.
    Open,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The endpoint's name.
    pub endpoint: String,
    /// Its URL.
    pub url: String,
    /// Closed (users) or open (arrival rate).
    pub model: Model,
    /// Open model: the target arrival rate after the ramp-up, requests/s.
    pub rate_rps: Option<f64>,
    /// Virtual users (closed model), or connections sending (open model).
    pub users: usize,
    /// Client identities in the pool.
    pub identities: usize,
    /// Requests sent (attempted).
    pub requests: u64,
    /// Requests that succeeded.
    pub ok: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Failures by kind, largest first.
    pub errors: Vec<ErrorCount>,
    /// Latency from the actual send (connect, or write on a kept-alive connection) to the
    /// full response, of requests that got a response: the raw service time.
    pub latency: Latency,
    /// Open model: latency from the intended send time to the full response, so time spent
    /// waiting for a free connection counts (coordinated omission corrected).
    pub latency_corrected: Option<Latency>,
    /// Connections kept open between requests.
    pub keep_alive: bool,
    /// TLS handshakes made (new connections).
    pub handshakes: u64,
    /// Requests that found their kept-alive connection closed by the server and went on a
    /// new one, counted once each (sent twice only when the close came after the write).
    pub reconnects: u64,
    /// Wall time of the run, seconds.
    pub elapsed_s: f64,
    /// Requests per second (all attempted requests over the wall time).
    pub throughput_rps: f64,
}

/// Load parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// Concurrent virtual users (closed model), or connections (open model).
    pub users: usize,
    /// Total requests over all users (with `duration`, whichever ends first).
    pub count: Option<usize>,
    /// How long to send.
    pub duration: Option<Duration>,
    /// Open model: requests per second; `None` for the closed model.
    pub rate: Option<f64>,
    /// Linear ramp-up: of the arrival rate from 0 (open model) or of the users started
    /// (closed model).
    pub ramp_up: Duration,
    /// Keep connections open between requests.
    pub keep_alive: bool,
    /// After a TLS 1.3 handshake, how long to wait for the server's verdict on the client
    /// certificate before writing (see [`crate::http::Connector::open`]).
    pub probe: Duration,
    /// Ends the run early when set (SIGTERM, SIGINT), as its duration would: no request is
    /// sent after it, the report covers those sent.
    pub stop: StopFlag,
}

/// Sleeps `d`, or less when `stop` is set meanwhile (looked at every 50 ms).
fn sleep_unless_stopped(d: Duration, stop: StopFlag) {
    let end = Instant::now() + d;
    while !stop.is_set() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// A flag another thread sets to end a run early (a signal watcher's).
#[derive(Debug, Clone, Copy, Default)]
pub struct StopFlag(Option<&'static std::sync::atomic::AtomicBool>);

impl StopFlag {
    /// A run watching `flag`.
    pub fn watching(flag: &'static std::sync::atomic::AtomicBool) -> StopFlag {
        StopFlag(Some(flag))
    }

    /// Whether the run must stop.
    pub fn is_set(&self) -> bool {
        self.0.is_some_and(|f| f.load(Ordering::Relaxed))
    }
}

impl PartialEq for StopFlag {
    fn eq(&self, other: &StopFlag) -> bool {
        match (self.0, other.0) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl Load {
    /// The closed model: `users` users sending `count` requests in all, keep-alive on.
    pub fn closed(users: usize, count: usize) -> Load {
        Load {
            users,
            count: Some(count),
            duration: None,
            rate: None,
            ramp_up: Duration::ZERO,
            keep_alive: true,
            probe: DEFAULT_PROBE,
            stop: StopFlag::default(),
        }
    }

    /// When request `i` (from 0) is meant to leave, from the start, in the open model.
    pub fn intended(&self, i: usize) -> Option<Duration> {
        let rate = self.rate?;
        let ramp = self.ramp_up.as_secs_f64();
        let i = i as f64;
        // Rate grows linearly to `rate` over the ramp: arrivals by t are rate·t²/(2·ramp).
        let secs = if ramp > 0.0 && i < rate * ramp / 2.0 {
            (2.0 * ramp * i / rate).sqrt()
        } else if ramp > 0.0 {
            ramp + (i - rate * ramp / 2.0) / rate
        } else {
            i / rate
        };
        Some(Duration::from_secs_f64(secs.min(1e9)))
    }

    fn check(&self) -> Result<(), ReplayError> {
        if self.users == 0 || self.users > MAX_USERS {
            return Err(ReplayError::Load(format!(
                "--users {}: from 1 to {MAX_USERS} (a thread each)",
                self.users
            )));
        }
        if self.count == Some(0) {
            return Err(ReplayError::Load("--count must be at least 1".into()));
        }
        if self.duration.is_some_and(|d| d.is_zero()) {
            return Err(ReplayError::Load("--duration must be longer than 0".into()));
        }
        const DAY: Duration = Duration::from_secs(86_400);
        if self.ramp_up > DAY || self.duration.is_some_and(|d| self.ramp_up > d) {
            return Err(ReplayError::Load(
                "--ramp-up must be at most the --duration, and at most a day".into(),
            ));
        }
        if self.count.is_none() && self.duration.is_none() {
            return Err(ReplayError::Load("give --count or --duration".into()));
        }
        if let Some(r) = self.rate
            && !(r.is_finite() && r > 0.0)
        {
            return Err(ReplayError::Load(format!(
                "--rate must be a positive number of requests per second, not {r}"
            )));
        }
        Ok(())
    }
}

/// The default wait for the server's verdict after a TLS 1.3 handshake.
pub const DEFAULT_PROBE: Duration = Duration::from_millis(200);

/// Where a run stands, given to the progress callback about once a second.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// Seconds since the start.
    pub elapsed_s: f64,
    /// Requests sent so far.
    pub sent: u64,
    /// Requests answered successfully.
    pub ok: u64,
    /// Requests failed.
    pub errors: u64,
    /// Requests completed per second over the last interval.
    pub rate_rps: f64,
    /// 99th percentile latency over the last interval (over the whole run in the last
    /// report), corrected in the open model, µs.
    pub p99_us: u64,
    /// Requests expected in all, when known (`--count`).
    pub total: Option<u64>,
    /// The last report of the run.
    pub done: bool,
}

/// nginx completes the TLS handshake whatever the client certificate and refuses it in HTTP
/// (400, its 495 and 496 pages): the refusal is a TLS one, in words.
fn nginx_refusal(r: &Response) -> Option<Failure> {
    if r.status != 400 {
        return None;
    }
    let text = String::from_utf8_lossy(&r.body);
    if text.contains("No required SSL certificate was sent") {
        return Some(Failure::Tls(NGINX_NO_CERTIFICATE.into()));
    }
    if text.contains("The SSL certificate error") {
        return Some(Failure::Tls(NGINX_BAD_CERTIFICATE.into()));
    }
    None
}

/// What a refusal by nginx for lack of a client certificate is reported as.
pub const NGINX_NO_CERTIFICATE: &str = "the server refused the request: it requires a client certificate and none was sent (nginx says so in an HTTP 400 page after the handshake)";
/// What a refusal by nginx of the client certificate is reported as.
pub const NGINX_BAD_CERTIFICATE: &str = "the server refused the client's certificate (nginx answers HTTP 400 \"The SSL certificate error\" after the handshake and tells the client no reason; its error log names it: expired, unknown CA, wrong purpose…)";

/// The reason text of a SOAP Fault in `text`, if it holds one.
fn soap_fault(text: &str) -> Option<String> {
    let at = text.find(":Fault>").or_else(|| text.find("<Fault>"))?;
    let after = &text[at..];
    let reason = after
        .find(":Text")
        .or_else(|| after.find("<Text"))
        .and_then(|i| {
            let rest = &after[i..];
            let start = rest.find('>')? + 1;
            let end = rest[start..].find('<')?;
            Some(rest[start..start + end].trim().to_string())
        })
        .unwrap_or_default();
    Some(if reason.is_empty() {
        "a SOAP Fault without a reason".into()
    } else {
        reason
    })
}

/// The SOAP envelope of an ITI-41 answer: the body of a plain SOAP response, or the root
/// part of an MTOM/XOP one (`multipart/related`: the part named by `start`, else the first),
/// which must be `application/xop+xml` (or plain `application/soap+xml`).
pub fn soap_envelope(r: &Response) -> Result<Cow<'_, [u8]>, Failure> {
    let Some(ct) = r
        .content_type
        .as_deref()
        .filter(|ct| ct.to_ascii_lowercase().starts_with("multipart/related"))
    else {
        return Ok(Cow::Borrowed(&r.body));
    };
    let mut capture = format!("Content-Type: {ct}\r\n\r\n").into_bytes();
    capture.extend_from_slice(&r.body);
    let mut findings = Vec::new();
    // An HTTP body (no mail line limit), after the two header lines put in front of it.
    let package = segur_exchange::mime::parse_at(&capture, "response", -2, &mut findings);
    let start = segur_exchange::mime::param(ct, "start");
    let root = match &start {
        Some(id) => package
            .parts
            .iter()
            .find(|p| p.header("Content-ID") == Some(id.as_str())),
        None => package.parts.first(),
    };
    let Some(root) = root else {
        let why = findings
            .first()
            .map_or_else(String::new, |f| format!(": {}", f.message));
        return Err(Failure::Protocol(match start {
            Some(id) => format!("MTOM response: no part with Content-ID {id} (its start){why}"),
            None => format!("MTOM response: no part{why}"),
        }));
    };
    let media = root.media_type();
    if media != "application/xop+xml" && media != "application/soap+xml" {
        return Err(Failure::Protocol(format!(
            "MTOM response: the root part is {media}, not application/xop+xml"
        )));
    }
    Ok(Cow::Owned(root.body.clone()))
}

/// Decide success from a response.
pub fn judge(kind: Kind, r: &Response) -> Result<(), Failure> {
    let success = (200..300).contains(&r.status);
    if kind == Kind::Iti41 {
        match soap_envelope(r) {
            Ok(envelope) => {
                let text = String::from_utf8_lossy(&envelope);
                if let Some(reason) = soap_fault(&text) {
                    return Err(Failure::SoapFault(reason));
                }
                if success {
                    return registry_status(&text);
                }
            }
            Err(f) if success => return Err(f),
            // An error status with a broken package: the status says enough.
            Err(_) => {}
        }
    }
    let text = String::from_utf8_lossy(&r.body);
    if !success {
        if kind == Kind::Mhd
            && let Some(outcome) = operation_outcome(&text)
        {
            return Err(outcome);
        }
        return Err(nginx_refusal(r).unwrap_or_else(|| Failure::Http(r.status, excerpt(&text))));
    }
    match kind {
        Kind::Iti41 => registry_status(&text),
        Kind::Smtp => Ok(()),
        Kind::Mhd => {
            // Parsed once: every successful MHD answer comes this way.
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Failure::Protocol(format!("answer is not JSON: {e}")))?;
            if let Some(outcome) = outcome_of(&v) {
                return Err(outcome);
            }
            match v.get("resourceType").and_then(|t| t.as_str()) {
                Some("Bundle") => Ok(()),
                other => Err(Failure::Protocol(format!(
                    "unexpected resourceType {other:?}"
                ))),
            }
        }
    }
}

/// Longest excerpt of an answer kept as a failure's detail, in characters.
const EXCERPT: usize = 200;

/// The start of an answer's text for a failure's detail: an HTML page's title, else the text
/// with its whitespace collapsed, control characters dropped, cut at [`EXCERPT`] characters.
fn excerpt(text: &str) -> String {
    let text = match (text.find("<title>"), text.find("</title>")) {
        (Some(a), Some(b)) if a + 7 <= b => &text[a + 7..b],
        _ => text,
    };
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().filter(|c| !c.is_control()));
        if out.chars().count() > EXCERPT {
            out = out.chars().take(EXCERPT).collect();
            out.push('…');
            break;
        }
    }
    out
}

/// An OperationOutcome answer as a failure, with its first issue (of severity fatal or
/// error if any) in words: severity, code, diagnostics or details.
fn operation_outcome(text: &str) -> Option<Failure> {
    outcome_of(&serde_json::from_str(text).ok()?)
}

/// [`operation_outcome`] of an answer already parsed.
fn outcome_of(v: &serde_json::Value) -> Option<Failure> {
    if v.get("resourceType")?.as_str()? != "OperationOutcome" {
        return None;
    }
    let issues = v.get("issue").and_then(|i| i.as_array());
    let severe = |i: &&serde_json::Value| {
        matches!(
            i.get("severity").and_then(|s| s.as_str()),
            Some("fatal" | "error")
        )
    };
    let issue = issues.and_then(|is| is.iter().find(severe).or_else(|| is.first()));
    let words = issue.map_or_else(String::new, |i| {
        let field = |k: &str| i.get(k).and_then(|s| s.as_str()).unwrap_or("");
        let what = match field("diagnostics") {
            "" => i
                .pointer("/details/text")
                .and_then(|s| s.as_str())
                .unwrap_or(""),
            d => d,
        };
        format!("{} {}: {what}", field("severity"), field("code"))
    });
    Some(Failure::OperationOutcome(excerpt(&words)))
}

/// The value of attribute `name` in the start tag that begins `tag`, XML entities undone.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let end = tag.find('>').unwrap_or(tag.len());
    let tag = &tag[..end];
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let value = &tag[at..at + tag[at..].find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The RegistryResponse status of an ITI-41 envelope: Success, or the failure's word.
fn registry_status(text: &str) -> Result<(), Failure> {
    const MARK: &str = "ResponseStatusType:";
    let i = text
        .find(MARK)
        .ok_or_else(|| Failure::Protocol("no RegistryResponse status".into()))?;
    let word: String = text[i + MARK.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    if word == "Success" {
        return Ok(());
    }
    // The first RegistryError: its code and what it is about.
    let detail = text
        .find("RegistryError ")
        .map(|i| &text[i..])
        .map_or_else(String::new, |tag| {
            let code = attribute(tag, "errorCode").unwrap_or_default();
            match attribute(tag, "codeContext") {
                Some(context) => format!("{code}: {context}"),
                None => code,
            }
        });
    Err(Failure::Registry(word, excerpt(&detail)))
}

struct Tally {
    sent: u64,
    ok: u64,
    handshakes: u64,
    reconnects: u64,
    errors: BTreeMap<String, (u64, String)>,
}

/// 1 µs to 1 hour, 3 significant digits (0.1 % relative precision).
const MAX_US: u64 = 3_600_000_000;

fn histogram() -> Result<Histogram<u64>, ReplayError> {
    Histogram::new_with_bounds(1, MAX_US, 3)
        .map_err(|e| ReplayError::Load(format!("histogram: {e}")))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_US)
}

impl Tally {
    fn new() -> Tally {
        Tally {
            sent: 0,
            ok: 0,
            handshakes: 0,
            reconnects: 0,
            errors: BTreeMap::new(),
        }
    }

    fn fail(&mut self, f: &Failure) {
        let e = self.errors.entry(f.kind()).or_insert((0, f.detail()));
        e.0 += 1;
    }

    fn merge(&mut self, t: Tally) {
        self.sent += t.sent;
        self.ok += t.ok;
        self.handshakes += t.handshakes;
        self.reconnects += t.reconnects;
        for (k, (n, ex)) in t.errors {
            let e = self.errors.entry(k).or_insert((0, ex));
            e.0 += n;
        }
    }
}

/// The latencies of a run, shared by its users (one set whatever their number: a histogram
/// is about 190 KB).
struct Latencies {
    /// Corrected latencies of the current progress interval.
    interval: Histogram<u64>,
    /// Raw latencies of the whole run.
    raw: Histogram<u64>,
    /// Latencies of the whole run measured from the intended send time.
    corrected: Histogram<u64>,
}

impl Latencies {
    fn new() -> Result<Latencies, ReplayError> {
        Ok(Latencies {
            interval: histogram()?,
            raw: histogram()?,
            corrected: histogram()?,
        })
    }
}

/// Most virtual users (each a thread).
pub const MAX_USERS: usize = 10_000;

/// Counters shared by the users and the progress reporter.
struct Live {
    sent: AtomicU64,
    ok: AtomicU64,
    errors: AtomicU64,
    /// The latencies.
    window: Mutex<Latencies>,
}

fn tls_configs(endpoint: &Endpoint) -> Result<Vec<Arc<ClientConfig>>, ReplayError> {
    let roots_pem = segur_tls::read_limited(&endpoint.roots, segur_tls::MAX_FILE)
        .map_err(|e| ReplayError::Io(endpoint.roots.clone(), e))?;
    let mut out = Vec::new();
    for pair in endpoint.identity_files()? {
        let id = Identity::from_pem_files(&pair.cert, Some(&pair.key))?;
        out.push(Arc::new(client_config(
            Some(&id),
            roots_from_pem(&roots_pem)?,
        )?));
    }
    Ok(out)
}

/// Run the load and report. Errors here are set-up errors; request failures are counted.
pub fn run(endpoint: &Endpoint, requests: &[Prepared], load: Load) -> Result<Report, ReplayError> {
    run_with_progress(endpoint, requests, load, &|_| {})
}

/// The outcome of one request, for a per-request log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome<'a> {
    /// The request's number in the run, from 0.
    pub n: usize,
    /// The file it was read from.
    pub file: &'a str,
    /// Whether it succeeded.
    pub ok: bool,
    /// The failure's kind, when it failed.
    pub error: Option<String>,
    /// Latency from the actual send, µs, when a response came.
    pub latency_us: Option<u64>,
}

/// [`run`], calling `progress` about once a second and once at the end.
pub fn run_with_progress(
    endpoint: &Endpoint,
    requests: &[Prepared],
    load: Load,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<Report, ReplayError> {
    run_observed(endpoint, requests, load, progress, &|_| {})
}

/// [`run_with_progress`], also calling `on_request` with the outcome of every request.
pub fn run_observed(
    endpoint: &Endpoint,
    requests: &[Prepared],
    load: Load,
    progress: &(dyn Fn(&Progress) + Sync),
    on_request: &(dyn Fn(&Outcome<'_>) + Sync),
) -> Result<Report, ReplayError> {
    run_source(
        endpoint,
        Source::Files(requests),
        load,
        progress,
        on_request,
    )
}

/// Where the requests come from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// Prepared requests, sent in order and cycling.
    Files(&'a [Prepared]),
    /// Built on the fly, request `i` just before it is sent; with a check, each document
    /// passes it before it is packaged (a refused one is not sent and counts as an
    /// `invalid-document` error).
    Build(Recipe, Option<&'a dyn DocumentCheck>),
}

/// The envelope of an SMTP message: the endpoint's `mail_from`/`rcpt_to`, else its headers.
fn envelope(endpoint: &Endpoint, message: &[u8]) -> Envelope {
    let found = envelope_of(message);
    Envelope {
        from: endpoint.mail_from.clone().unwrap_or(found.from),
        to: if endpoint.rcpt_to.is_empty() {
            found.to
        } else {
            endpoint.rcpt_to.clone()
        },
    }
}

/// [`run_observed`] with requests from `source`.
pub fn run_source(
    endpoint: &Endpoint,
    source: Source<'_>,
    load: Load,
    progress: &(dyn Fn(&Progress) + Sync),
    on_request: &(dyn Fn(&Outcome<'_>) + Sync),
) -> Result<Report, ReplayError> {
    load.check()?;
    let requests: &[Prepared] = match source {
        Source::Files([]) => return Err(ReplayError::Load("no request to send".into())),
        Source::Files(r) => r,
        Source::Build(recipe, _) => {
            if recipe.kind != endpoint.kind {
                return Err(ReplayError::Load(format!(
                    "the recipe packages for {:?}, the endpoint is {:?}",
                    recipe.kind, endpoint.kind
                )));
            }
            &[]
        }
    };
    let target = endpoint.target()?;
    let configs = tls_configs(endpoint)?;
    let name = endpoint
        .server_name
        .clone()
        .unwrap_or_else(|| target.host.clone());
    let server_name = ServerName::try_from(name.clone())
        .map_err(|e| ReplayError::Config(format!("server name {name:?}: {e}")))?;
    let host_header = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut tally = Tally::new();
    let start = Instant::now();
    let addrs = match Connector::resolve(&target.host, target.port) {
        Ok(a) => a,
        Err(f) => {
            let n = load.count.unwrap_or(1);
            for _ in 0..n {
                tally.fail(&f);
            }
            tally.sent = n as u64;
            return Ok(report(
                endpoint,
                load,
                configs.len(),
                tally,
                &Latencies::new()?,
                start.elapsed(),
            ));
        }
    };
    let connector = Connector {
        addrs,
        host_header,
        server_name,
        path: target.path.clone(),
        connect_timeout: endpoint.connect_timeout(),
        timeout: endpoint.timeout(),
        probe: load.probe,
        keep_alive: load.keep_alive,
    };
    let live = Live {
        sent: AtomicU64::new(0),
        ok: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        window: Mutex::new(Latencies::new()?),
    };
    let next = AtomicUsize::new(0);
    let finished = AtomicBool::new(false);
    let abort = AtomicBool::new(false);
    let envelopes: Vec<Envelope> = if endpoint.kind == Kind::Smtp {
        requests
            .iter()
            .map(|r| envelope(endpoint, &r.body))
            .collect()
    } else {
        Vec::new()
    };
    let ctx = Ctx {
        connector: &connector,
        endpoint,
        source,
        envelopes: &envelopes,
        scheme: target.scheme,
        login: endpoint
            .smtp_user
            .clone()
            .map(|u| (u, endpoint.smtp_password.clone().unwrap_or_default())),
        on_request,
        load,
        kind: endpoint.kind,
        start,
        live: &live,
        next: &next,
        abort: &abort,
    };
    let tallies: Result<Vec<Result<Tally, ReplayError>>, ReplayError> =
        std::thread::scope(|scope| {
            let monitor = scope.spawn(|| {
                let mut last = (start, 0u64);
                let tick = Duration::from_secs(1);
                while !finished.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                    if last.0.elapsed() >= tick {
                        let p = snapshot(&live, start, &mut last, load, false);
                        progress(&p);
                    }
                }
            });
            let mut handles = Vec::with_capacity(load.users);
            let mut refused = None;
            for u in 0..load.users {
                let tls = configs[u % configs.len()].clone();
                let ctx = &ctx;
                match std::thread::Builder::new().spawn_scoped(scope, move || user(ctx, u, tls)) {
                    Ok(h) => handles.push(h),
                    Err(e) => {
                        // The users already started end at their next request.
                        abort.store(true, Ordering::Relaxed);
                        refused = Some(ReplayError::Load(format!(
                            "cannot start virtual user {} of {}: {e}",
                            u + 1,
                            load.users
                        )));
                        break;
                    }
                }
            }
            let out: Vec<_> = handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(ReplayError::Load("a virtual user panicked".into()))
                    })
                })
                .collect();
            finished.store(true, Ordering::Relaxed);
            let _ = monitor.join();
            match refused {
                Some(e) => Err(e),
                None => Ok(out),
            }
        });
    for t in tallies? {
        tally.merge(t?);
    }
    let elapsed = start.elapsed();
    let mut last = (start, 0);
    progress(&snapshot(&live, start, &mut last, load, true));
    let latencies = live
        .window
        .into_inner()
        .map_err(|_| ReplayError::Load("a virtual user panicked".into()))?;
    Ok(report(
        endpoint,
        load,
        configs.len(),
        tally,
        &latencies,
        elapsed,
    ))
}

/// What every user shares.
struct Ctx<'a> {
    connector: &'a Connector,
    endpoint: &'a Endpoint,
    source: Source<'a>,
    /// SMTP: the envelope of each prepared request.
    envelopes: &'a [Envelope],
    scheme: Scheme,
    /// SMTP AUTH PLAIN credentials.
    login: Option<(String, String)>,
    on_request: &'a (dyn Fn(&Outcome<'_>) + Sync),
    load: Load,
    kind: Kind,
    start: Instant,
    live: &'a Live,
    next: &'a AtomicUsize,
    /// Set when the run cannot go on (a user could not be started): every user stops.
    abort: &'a AtomicBool,
}

/// One user: the closed model sends its own share (requests u, u + N, u + 2N…) back to back;
/// the open model takes the next arrival and sends it at its intended time.
fn user(ctx: &Ctx<'_>, u: usize, tls: Arc<ClientConfig>) -> Result<Tally, ReplayError> {
    let load = ctx.load;
    let mut t = Tally::new();
    let mut session = Sender::new(ctx.kind, tls, ctx.login.clone());
    let deadline = load.duration.map(|d| ctx.start + d);
    if load.rate.is_none() && load.count.is_some_and(|c| u >= c) {
        // A closed-model user with no request of its own: nothing to wait for.
        return Ok(t);
    }
    if load.rate.is_none() && !load.ramp_up.is_zero() {
        // Closed model: users start one after the other over the ramp-up.
        let at = load.ramp_up.mul_f64(u as f64 / load.users as f64);
        sleep_unless_stopped(at, load.stop);
    }
    let mut k = 0usize;
    loop {
        if ctx.abort.load(Ordering::Relaxed) || load.stop.is_set() {
            break;
        }
        let (i, due) = if load.rate.is_some() {
            let i = ctx.next.fetch_add(1, Ordering::Relaxed);
            let due = ctx.start + load.intended(i).unwrap_or_default();
            // The run ends at its duration, also when the users are behind the schedule (a
            // rate the endpoint cannot follow): what was due and not sent is not sent.
            if deadline.is_some_and(|d| due >= d || Instant::now() >= d) {
                break;
            }
            (i, Some(due))
        } else {
            // Every user sends its own share: which user sent which request does not depend
            // on scheduling, and with as many users as identities each identity sends.
            let i = u + k * load.users;
            k += 1;
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            (i, None)
        };
        if load.count.is_some_and(|c| i >= c) {
            break;
        }
        // Build (or pick) the request before its intended time, so that building does not
        // delay the send when there is slack; when there is none, the lateness shows in the
        // corrected latency.
        let built: Prepared;
        let (req, env) = match ctx.source {
            Source::Files(r) => {
                let which = i % r.len();
                (&r[which], ctx.envelopes.get(which).cloned())
            }
            Source::Build(recipe, check) => match recipe.request_checked(i, check) {
                Ok(p) => {
                    built = p;
                    let env = (ctx.kind == Kind::Smtp).then(|| envelope(ctx.endpoint, &built.body));
                    (&built, env)
                }
                Err(f) => {
                    t.sent += 1;
                    ctx.live.sent.fetch_add(1, Ordering::Relaxed);
                    (ctx.on_request)(&Outcome {
                        n: i,
                        file: "",
                        ok: false,
                        error: Some(f.kind()),
                        latency_us: None,
                    });
                    t.fail(&f);
                    ctx.live.errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            },
        };
        if let Some(due) = due {
            let now = Instant::now();
            if due > now {
                sleep_unless_stopped(due - now, load.stop);
            }
            if load.stop.is_set() {
                break;
            }
        }
        let began = Instant::now();
        ctx.live.sent.fetch_add(1, Ordering::Relaxed);
        t.sent += 1;
        let res = match &mut session {
            Sender::Http(s) => s.post(ctx.connector, req).map(|r| judge(ctx.kind, &r)),
            Sender::Smtp(s) => match &env {
                Some(env) => s.send(ctx.connector, ctx.scheme, env, req),
                None => Err(Failure::Protocol("no SMTP envelope".into())),
            },
        };
        let end = Instant::now();
        let mut latency_us = None;
        let verdict = match res {
            Ok(judged) => {
                let raw = micros(end - began);
                latency_us = Some(raw);
                let corrected = micros(end - due.unwrap_or(began).min(began));
                if let Ok(mut w) = ctx.live.window.lock() {
                    let _ = w.interval.record(corrected);
                    let _ = w.raw.record(raw);
                    let _ = w.corrected.record(corrected);
                }
                judged
            }
            Err(f) => Err(f),
        };
        (ctx.on_request)(&Outcome {
            n: i,
            file: &req.name,
            ok: verdict.is_ok(),
            error: verdict.as_ref().err().map(Failure::kind),
            latency_us,
        });
        match verdict {
            Ok(()) => {
                t.ok += 1;
                ctx.live.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(f) => {
                t.fail(&f);
                ctx.live.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    (t.handshakes, t.reconnects) = match &mut session {
        Sender::Http(s) => (s.handshakes, s.reconnects),
        Sender::Smtp(s) => {
            s.finish();
            (s.handshakes, s.reconnects)
        }
    };
    Ok(t)
}

/// A user's connection: HTTP or SMTP.
enum Sender {
    Http(crate::http::Session),
    Smtp(crate::smtp::Session),
}

impl Sender {
    fn new(kind: Kind, tls: Arc<ClientConfig>, login: Option<(String, String)>) -> Sender {
        match kind {
            Kind::Smtp => Sender::Smtp(crate::smtp::Session::new(tls, login)),
            Kind::Iti41 | Kind::Mhd => Sender::Http(crate::http::Session::new(tls)),
        }
    }
}

/// Progress since `last` (its instant and completed count), which it moves on.
fn snapshot(
    live: &Live,
    start: Instant,
    last: &mut (Instant, u64),
    load: Load,
    done: bool,
) -> Progress {
    let now = Instant::now();
    let ok = live.ok.load(Ordering::Relaxed);
    let errors = live.errors.load(Ordering::Relaxed);
    let completed = ok + errors;
    let secs = (now - last.0).as_secs_f64();
    let p99_us = match live.window.lock() {
        Ok(w) if done => w.corrected.value_at_quantile(0.99),
        Ok(mut w) => {
            let p = w.interval.value_at_quantile(0.99);
            w.interval.reset();
            p
        }
        Err(_) => 0,
    };
    let p = Progress {
        elapsed_s: (now - start).as_secs_f64(),
        sent: live.sent.load(Ordering::Relaxed),
        ok,
        errors,
        rate_rps: if secs > 0.0 {
            (completed - last.1) as f64 / secs
        } else {
            0.0
        },
        p99_us,
        total: load.count.map(|c| c as u64),
        done,
    };
    *last = (now, completed);
    p
}

fn report(
    endpoint: &Endpoint,
    load: Load,
    identities: usize,
    t: Tally,
    latencies: &Latencies,
    elapsed: Duration,
) -> Report {
    let mut errors: Vec<ErrorCount> = t
        .errors
        .into_iter()
        .map(|(kind, (count, example))| ErrorCount {
            kind,
            count,
            example,
        })
        .collect();
    errors.sort_by(|a, b| b.count.cmp(&a.count).then(a.kind.cmp(&b.kind)));
    let failed = errors.iter().map(|e| e.count).sum();
    let secs = elapsed.as_secs_f64();
    Report {
        endpoint: endpoint.name.clone(),
        url: endpoint.url.clone(),
        model: if load.rate.is_some() {
            Model::Open
        } else {
            Model::Closed
        },
        rate_rps: load.rate,
        users: load.users,
        identities,
        requests: t.sent,
        ok: t.ok,
        failed,
        errors,
        latency: Latency::of(&latencies.raw),
        latency_corrected: load.rate.map(|_| Latency::of(&latencies.corrected)),
        keep_alive: load.keep_alive,
        handshakes: t.handshakes,
        reconnects: t.reconnects,
        elapsed_s: secs,
        throughput_rps: if secs > 0.0 {
            t.sent as f64 / secs
        } else {
            0.0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: None,
            body: body.as_bytes().to_vec(),
            close: false,
        }
    }

    #[test]
    fn answers_are_judged() {
        let ok = r#"<rs:RegistryResponse status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/>"#;
        let ko = r#"<rs:RegistryResponse status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"/>"#;
        assert_eq!(judge(Kind::Iti41, &r(200, ok)), Ok(()));
        assert_eq!(
            judge(Kind::Iti41, &r(200, ko)),
            Err(Failure::Registry("Failure".into(), String::new()))
        );
        let ko_with_error = ko.replace(
            "/>",
            r#"><rs:RegistryErrorList><rs:RegistryError errorCode="XDSDuplicateUniqueIdInRegistry" codeContext="uniqueId 1.2.3 &amp; &quot;x&quot; already stored" severity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"/></rs:RegistryErrorList></rs:RegistryResponse>"#,
        );
        assert_eq!(
            judge(Kind::Iti41, &r(200, &ko_with_error)),
            Err(Failure::Registry(
                "Failure".into(),
                "XDSDuplicateUniqueIdInRegistry: uniqueId 1.2.3 & \"x\" already stored".into()
            ))
        );
        assert_eq!(
            judge(Kind::Iti41, &r(503, ok)),
            Err(Failure::Http(503, excerpt(ok)))
        );
        assert_eq!(
            judge(Kind::Iti41, &r(400, "bad\n\n request\u{1b}")),
            Err(Failure::Http(400, "bad request".into()))
        );
        assert_eq!(
            judge(
                Kind::Iti41,
                &r(502, "<html><head><title>502 Bad Gateway</title></head>")
            ),
            Err(Failure::Http(502, "502 Bad Gateway".into()))
        );
        let fault = r#"<s:Envelope><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang="en">not SOAP</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"#;
        assert_eq!(
            judge(Kind::Iti41, &r(400, fault)),
            Err(Failure::SoapFault("not SOAP".into()))
        );
        let nginx = "<html><head><title>400 The SSL certificate error</title></head>";
        assert_eq!(
            judge(Kind::Iti41, &r(400, nginx)),
            Err(Failure::Tls(NGINX_BAD_CERTIFICATE.into()))
        );
        assert_eq!(
            judge(Kind::Mhd, &r(200, r#"{"resourceType":"Bundle"}"#)),
            Ok(())
        );
        assert_eq!(
            judge(Kind::Mhd, &r(200, r#"{"resourceType":"OperationOutcome"}"#)),
            Err(Failure::OperationOutcome(String::new()))
        );
        let outcome = r#"{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"informational","diagnostics":"w"},{"severity":"error","code":"invalid","diagnostics":"SEGUR-MHD-X: no subject"}]}"#;
        assert_eq!(
            judge(Kind::Mhd, &r(422, outcome)),
            Err(Failure::OperationOutcome(
                "error invalid: SEGUR-MHD-X: no subject".into()
            ))
        );
        assert_eq!(
            judge(Kind::Mhd, &r(422, "{}")),
            Err(Failure::Http(422, "{}".into()))
        );
    }

    #[test]
    fn mtom_answers_are_judged_by_their_root_part() {
        let ok = r#"<s:Envelope><s:Body><rs:RegistryResponse status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/></s:Body></s:Envelope>"#;
        let ko = ok.replace("Success", "Failure");
        let mtom = |status: u16, ct: &str, root_ct: &str, envelope: &str| Response {
            status,
            content_type: Some(ct.into()),
            body: format!(
                "--b\r\nContent-Type: text/plain\r\nContent-ID: <other>\r\n\r\n\
                 ResponseStatusType:Success\r\n--b\r\nContent-Type: {root_ct}\r\n\
                 Content-ID: <root>\r\n\r\n{envelope}\r\n--b--\r\n"
            )
            .into_bytes(),
            close: false,
        };
        let ct = r#"multipart/related; boundary="b"; type="application/xop+xml"; start="<root>"; start-info="application/soap+xml""#;
        let xop = r#"application/xop+xml; charset=UTF-8; type="application/soap+xml""#;
        assert_eq!(judge(Kind::Iti41, &mtom(200, ct, xop, ok)), Ok(()));
        assert_eq!(
            judge(Kind::Iti41, &mtom(200, ct, xop, &ko)),
            Err(Failure::Registry("Failure".into(), String::new())),
            "the root part decides, not the other part"
        );
        let fault = r#"<s:Envelope><s:Body><s:Fault><s:Reason><s:Text>no</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"#;
        assert_eq!(
            judge(Kind::Iti41, &mtom(400, ct, xop, fault)),
            Err(Failure::SoapFault("no".into()))
        );
        assert!(matches!(
            judge(Kind::Iti41, &mtom(200, ct, "text/html", ok)),
            Err(Failure::Protocol(p)) if p.contains("root part is text/html")
        ));
        let elsewhere = ct.replace("<root>", "<missing>");
        assert!(matches!(
            judge(Kind::Iti41, &mtom(200, &elsewhere, xop, ok)),
            Err(Failure::Protocol(p)) if p.contains("<missing>")
        ));
        // A plain SOAP answer is read as it is.
        let plain = Response {
            content_type: Some("application/soap+xml; charset=UTF-8".into()),
            ..r(200, ok)
        };
        assert_eq!(judge(Kind::Iti41, &plain), Ok(()));
    }

    #[test]
    fn open_model_arrivals_follow_the_rate_and_its_linear_ramp() {
        let mut load = Load::closed(1, 10);
        assert_eq!(load.intended(3), None);
        load.rate = Some(100.0);
        assert_eq!(load.intended(0), Some(Duration::ZERO));
        assert_eq!(load.intended(50), Some(Duration::from_millis(500)));
        // Ramp of 2 s to 100/s: 100 arrivals during the ramp, then 100 per second.
        load.ramp_up = Duration::from_secs(2);
        let at = |i| load.intended(i).expect("open").as_secs_f64();
        assert!((at(25) - 1.0).abs() < 1e-9, "{}", at(25));
        assert!((at(100) - 2.0).abs() < 1e-9);
        assert!((at(200) - 3.0).abs() < 1e-9);
        assert!(at(1) > at(0) && at(2) - at(1) < at(1) - at(0));
        assert!(
            Load {
                rate: Some(0.0),
                ..load
            }
            .check()
            .is_err()
        );
        assert!(
            Load {
                rate: Some(f64::NAN),
                ..load
            }
            .check()
            .is_err()
        );
        assert!(
            Load {
                count: None,
                ..load
            }
            .check()
            .is_err()
        );
        assert!(Load { users: 0, ..load }.check().is_err());
        assert!(
            Load {
                users: MAX_USERS + 1,
                ..load
            }
            .check()
            .is_err()
        );
        assert!(
            Load {
                users: MAX_USERS,
                ..load
            }
            .check()
            .is_ok()
        );
        assert!(
            Load {
                duration: Some(Duration::ZERO),
                ..load
            }
            .check()
            .is_err()
        );
        assert!(
            Load {
                duration: Some(Duration::from_secs(5)),
                ramp_up: Duration::from_secs(6),
                ..load
            }
            .check()
            .is_err()
        );
        assert!(
            Load {
                ramp_up: Duration::from_secs(90_000),
                ..load
            }
            .check()
            .is_err()
        );
    }
}
