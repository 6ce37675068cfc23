//! `segur sink --config FILE`: run the reference sink, one line per event on stdout.

use std::sync::Arc;

use segur_sink::{Config, Sink, SinkError};

use crate::args::SinkArgs;
use crate::{Failure, Outcome, out};

fn failure(e: SinkError) -> Failure {
    match e {
        SinkError::Config { .. } | SinkError::Tls(_) | SinkError::Engine(_) => {
            Failure::usage(e.to_string())
        }
        _ => Failure::infra(e.to_string()),
    }
}

pub(crate) fn run(args: SinkArgs) -> Result<Outcome, Failure> {
    let config = Config::from_file(&args.config).map_err(failure)?;
    let (sink, notes) = Sink::from_config(&config).map_err(failure)?;
    for n in notes {
        out(format_args!("store: {n}"))?;
    }
    let addr = sink.local_addr().map_err(failure)?;
    out(format_args!(
        "segur sink: listening on https://{addr} (POST /iti41, POST /fhir), store {}",
        config.store.display()
    ))?;
    let sink = sink.with_log(Arc::new(|event| {
        let _ = out(format_args!("{event}"));
    }));
    sink.serve().map_err(failure)?;
    Ok(Outcome::Ok)
}
