//! The closed-model load: N virtual users, each a thread with its own identity, sending
//! requests back to back (one TLS connection per request) until a total count is reached.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use segur_tls::rustls::ClientConfig;
use segur_tls::rustls::pki_types::ServerName;
use segur_tls::{Identity, client_config, roots_from_pem};
use serde::Serialize;

use crate::http::{Connector, Response};
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
    /// A non-2xx HTTP status.
    Http(u16),
    /// ITI-41: the RegistryResponse status is not Success (the status word).
    Registry(String),
    /// MHD: the answer is an OperationOutcome.
    OperationOutcome,
    /// The answer is not the HTTP/SOAP/FHIR expected.
    Protocol(String),
    /// Another I/O error.
    Io(String),
}

impl Failure {
    /// The bucket it is counted in (`tls`, `connect`, `http-503`, `registry-failure`…).
    pub fn kind(&self) -> String {
        match self {
            Failure::Tls(_) => "tls-handshake".into(),
            Failure::Connect(_) => "connect".into(),
            Failure::Timeout(_) => "timeout".into(),
            Failure::Http(c) => format!("http-{c}"),
            Failure::Registry(s) => format!("registry-{}", s.to_ascii_lowercase()),
            Failure::OperationOutcome => "operation-outcome".into(),
            Failure::Protocol(_) => "protocol".into(),
            Failure::Io(_) => "io".into(),
        }
    }

    /// The detail in words (empty when the kind says it all).
    pub fn detail(&self) -> String {
        match self {
            Failure::Tls(s) | Failure::Connect(s) | Failure::Timeout(s) => s.clone(),
            Failure::Protocol(s) | Failure::Io(s) => s.clone(),
            Failure::Http(_) | Failure::Registry(_) | Failure::OperationOutcome => String::new(),
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

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The endpoint's name.
    pub endpoint: String,
    /// Its URL.
    pub url: String,
    /// Virtual users.
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
    /// Latency (write start to full response) of requests that got a response.
    pub latency: Latency,
    /// Wall time of the run, seconds.
    pub elapsed_s: f64,
    /// Requests per second (all attempted requests over the wall time).
    pub throughput_rps: f64,
}

/// Load parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Concurrent virtual users (threads).
    pub users: usize,
    /// Total requests over all users.
    pub count: usize,
}

/// Decide success from a response.
pub fn judge(kind: Kind, r: &Response) -> Result<(), Failure> {
    if !(200..300).contains(&r.status) {
        return Err(Failure::Http(r.status));
    }
    let text = String::from_utf8_lossy(&r.body);
    match kind {
        Kind::Iti41 => {
            const MARK: &str = "ResponseStatusType:";
            let i = text
                .find(MARK)
                .ok_or_else(|| Failure::Protocol("no RegistryResponse status".into()))?;
            let word: String = text[i + MARK.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if word == "Success" {
                Ok(())
            } else {
                Err(Failure::Registry(word))
            }
        }
        Kind::Mhd => {
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Failure::Protocol(format!("answer is not JSON: {e}")))?;
            match v.get("resourceType").and_then(|t| t.as_str()) {
                Some("OperationOutcome") => Err(Failure::OperationOutcome),
                Some("Bundle") => Ok(()),
                other => Err(Failure::Protocol(format!(
                    "unexpected resourceType {other:?}"
                ))),
            }
        }
    }
}

struct Tally {
    hist: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, (u64, String)>,
}

impl Tally {
    fn new() -> Result<Tally, ReplayError> {
        // 1 µs to 1 hour, 3 significant digits (0.1 % relative precision).
        let hist = Histogram::new_with_bounds(1, 3_600_000_000, 3)
            .map_err(|e| ReplayError::Load(format!("histogram: {e}")))?;
        Ok(Tally {
            hist,
            ok: 0,
            errors: BTreeMap::new(),
        })
    }

    fn fail(&mut self, f: &Failure) {
        let e = self.errors.entry(f.kind()).or_insert((0, f.detail()));
        e.0 += 1;
    }
}

fn tls_configs(endpoint: &Endpoint) -> Result<Vec<Arc<ClientConfig>>, ReplayError> {
    let roots_pem =
        std::fs::read(&endpoint.roots).map_err(|e| ReplayError::Io(endpoint.roots.clone(), e))?;
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
    if load.users == 0 || load.count == 0 {
        return Err(ReplayError::Load(
            "--users and --count must be at least 1".into(),
        ));
    }
    if requests.is_empty() {
        return Err(ReplayError::Load("no request to send".into()));
    }
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
    let mut tally = Tally::new()?;
    let start = Instant::now();
    let addrs = match Connector::resolve(&target.host, target.port) {
        Ok(a) => a,
        Err(f) => {
            for _ in 0..load.count {
                tally.fail(&f);
            }
            return Ok(report(
                endpoint,
                load,
                configs.len(),
                tally,
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
    };
    let kind = endpoint.kind;
    let tallies: Vec<Result<Tally, ReplayError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..load.users)
            .map(|u| {
                let tls = configs[u % configs.len()].clone();
                let connector = &connector;
                // Each user sends its own share, requests u, u + users, u + 2·users…: every
                // user (so every identity of the pool, when there are as many users) sends,
                // and which user sent which request does not depend on scheduling.
                scope.spawn(move || -> Result<Tally, ReplayError> {
                    let mut t = Tally::new()?;
                    for i in (u..load.count).step_by(load.users) {
                        let req = &requests[i % requests.len()];
                        let began = Instant::now();
                        let res = connector.post(&tls, req);
                        let took = began.elapsed();
                        match res {
                            Ok(r) => {
                                let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
                                let _ = t.hist.record(us.min(3_600_000_000));
                                match judge(kind, &r) {
                                    Ok(()) => t.ok += 1,
                                    Err(f) => t.fail(&f),
                                }
                            }
                            Err(f) => t.fail(&f),
                        }
                    }
                    Ok(t)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(ReplayError::Load("a virtual user panicked".into())))
            })
            .collect()
    });
    for t in tallies {
        let t = t?;
        tally
            .hist
            .add(&t.hist)
            .map_err(|e| ReplayError::Load(format!("histogram: {e}")))?;
        tally.ok += t.ok;
        for (k, (n, ex)) in t.errors {
            let e = tally.errors.entry(k).or_insert((0, ex));
            e.0 += n;
        }
    }
    Ok(report(
        endpoint,
        load,
        configs.len(),
        tally,
        start.elapsed(),
    ))
}

fn report(
    endpoint: &Endpoint,
    load: Load,
    identities: usize,
    t: Tally,
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
    let h = &t.hist;
    let secs = elapsed.as_secs_f64();
    Report {
        endpoint: endpoint.name.clone(),
        url: endpoint.url.clone(),
        users: load.users,
        identities,
        requests: load.count as u64,
        ok: t.ok,
        failed,
        errors,
        latency: Latency {
            samples: h.len(),
            p50_us: h.value_at_quantile(0.5),
            p90_us: h.value_at_quantile(0.9),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            mean_us: if h.is_empty() { 0.0 } else { h.mean() },
        },
        elapsed_s: secs,
        throughput_rps: if secs > 0.0 {
            load.count as f64 / secs
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
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn answers_are_judged() {
        let ok = r#"<rs:RegistryResponse status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/>"#;
        let ko = r#"<rs:RegistryResponse status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"/>"#;
        assert_eq!(judge(Kind::Iti41, &r(200, ok)), Ok(()));
        assert_eq!(
            judge(Kind::Iti41, &r(200, ko)),
            Err(Failure::Registry("Failure".into()))
        );
        assert_eq!(judge(Kind::Iti41, &r(503, ok)), Err(Failure::Http(503)));
        assert_eq!(
            judge(Kind::Mhd, &r(200, r#"{"resourceType":"Bundle"}"#)),
            Ok(())
        );
        assert_eq!(
            judge(Kind::Mhd, &r(200, r#"{"resourceType":"OperationOutcome"}"#)),
            Err(Failure::OperationOutcome)
        );
    }
}
