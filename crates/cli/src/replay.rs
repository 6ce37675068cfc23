//! `segur replay`: send prepared requests at an endpoint over mutual TLS under a closed-model
//! load and report latency percentiles, throughput and errors by kind.

use segur_replay::ReplayError;
use segur_replay::config;
use segur_replay::requests::load_dir;
use segur_replay::run::{Load, Report};

use crate::args::{ReplayArgs, ReplayFormat};
use crate::{Failure, Outcome, out};

/// Set-up errors (the endpoints file, the identities, the requests directory, the load) are
/// the user's input: exit 2. Failed requests are counted in the report, not errors here.
fn failure(e: ReplayError) -> Failure {
    Failure::usage(e.to_string())
}

pub(crate) fn run(args: ReplayArgs) -> Result<Outcome, Failure> {
    let endpoints = config::read(&args.config).map_err(failure)?;
    let endpoint = config::pick(endpoints, args.endpoint.as_deref()).map_err(failure)?;
    let requests = load_dir(&args.dir, endpoint.kind).map_err(failure)?;
    let load = Load {
        users: args.users,
        count: args.count,
    };
    let report = segur_replay::run(&endpoint, &requests, load).map_err(failure)?;
    match args.format {
        ReplayFormat::Json => {
            let json = serde_json::to_string_pretty(&report)
                .map_err(|e| Failure::infra(format!("JSON: {e}")))?;
            out(format_args!("{json}"))?;
        }
        ReplayFormat::Text => text(&report)?,
    }
    Ok(if report.failed == 0 {
        Outcome::Ok
    } else {
        Outcome::Invalid
    })
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn text(r: &Report) -> Result<(), Failure> {
    out(format_args!(
        "{} ({}): {} requests, {} users, {} identities, {:.2} s, {:.1} requests/s",
        r.endpoint, r.url, r.requests, r.users, r.identities, r.elapsed_s, r.throughput_rps
    ))?;
    out(format_args!("  ok {}, failed {}", r.ok, r.failed))?;
    let l = &r.latency;
    out(format_args!(
        "  latency ({} samples, ms): p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}  mean {:.1}",
        l.samples,
        ms(l.p50_us),
        ms(l.p90_us),
        ms(l.p99_us),
        ms(l.p999_us),
        ms(l.max_us),
        l.mean_us / 1000.0
    ))?;
    for e in &r.errors {
        out(format_args!("  {} x{}: {}", e.kind, e.count, e.example))?;
    }
    Ok(())
}
