//! `segur sink --config FILE`: run the reference sink, one line per event on stdout, until
//! SIGTERM or SIGINT stops it cleanly (connections in progress are answered first).

use std::sync::Arc;
use std::time::Duration;

use segur_sink::{Config, Sink, SinkError};

use crate::args::SinkArgs;
use crate::{Failure, Outcome, out};

fn failure(e: SinkError) -> Failure {
    match e {
        SinkError::Config { .. }
        | SinkError::Setting { .. }
        | SinkError::Tls(_)
        | SinkError::Engine(_) => Failure::usage(e.to_string()),
        _ => Failure::infra(e.to_string()),
    }
}

pub(crate) fn run(args: SinkArgs) -> Result<Outcome, Failure> {
    let config = Config::from_file(&args.config).map_err(failure)?;
    // The packaging checks use the ANS code tables of the rules directory when it has them.
    if let Some(rules) = &config.rules {
        crate::rules::install_tables(rules)?;
        for t in segur_exchange::codes::active().describe() {
            out(format_args!("table {t}"))?;
        }
        for t in segur_exchange::codes::active().value_sets.describe() {
            out(format_args!("value set {t}"))?;
        }
    }
    let (sink, notes) = Sink::from_config(&config).map_err(failure)?;
    server_certificate_warning(&config)?;
    for n in notes {
        out(format_args!("store: {n}"))?;
    }
    let addr = sink.local_addr().map_err(failure)?;
    let stopper = sink.stopper().map_err(failure)?;
    crate::signals::install();
    std::thread::spawn(move || {
        while !crate::signals::requested() {
            std::thread::sleep(Duration::from_millis(100));
        }
        stopper.stop();
    });
    out(format_args!(
        "segur sink: listening on https://{addr} (POST /iti41, POST /fhir), store {}",
        config.store.display()
    ))?;
    if let Some(smtp) = sink.smtp_addr() {
        out(format_args!(
            "segur sink: SMTP submission on {smtp} (STARTTLS and a client certificate required)"
        ))?;
    }
    if let Some(smtps) = sink.smtps_addr() {
        out(format_args!(
            "segur sink: SMTP submission on {smtps} over implicit TLS (a client certificate required)"
        ))?;
    }
    let sink = sink.with_log(Arc::new(|event| {
        let _ = out(format_args!("{event}"));
    }));
    sink.serve().map_err(failure)?;
    out(format_args!("segur sink: stopped"))?;
    Ok(Outcome::Ok)
}

/// A server certificate out of its validity makes every client refuse the sink: say so at
/// start (it still starts: a client's handling of it may be what is tested).
fn server_certificate_warning(config: &Config) -> Result<(), Failure> {
    let Ok(pem) = segur_tls::read_limited(&config.cert, segur_tls::MAX_FILE) else {
        return Ok(());
    };
    let Some(leaf) = segur_tls::certs_from_pem(&pem)
        .ok()
        .and_then(|c| c.into_iter().next())
    else {
        return Ok(());
    };
    let Ok(info) = segur_tls::inspect::CertInfo::from_der(leaf.as_ref()) else {
        return Ok(());
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let state = if now > info.not_after_unix {
        format!("expired on {}", info.not_after)
    } else if now < info.not_before_unix {
        format!("not valid before {}", info.not_before)
    } else {
        return Ok(());
    };
    out(format_args!(
        "segur sink: warning: the server certificate {} is {state}: clients will refuse the handshake",
        config.cert.display()
    ))
}
