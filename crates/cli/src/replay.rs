//! `segur replay`: send prepared requests at an endpoint over mutual TLS under a closed- or
//! open-model load and report latency percentiles, throughput and errors by kind; progress
//! goes to standard error (a bar on a terminal, JSON lines otherwise).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use segur_finding::Severity;
use segur_replay::ReplayError;
use segur_replay::build::{DocumentCheck, Recipe};
use segur_replay::config;
use segur_replay::requests::load_dir;
use segur_replay::run::{
    DEFAULT_PROBE, Latency, Load, Progress, Report, Source, StopFlag, run_source,
};
use segur_validate::engine::{Engine, Profile};

use crate::args::{ReplayArgs, ReplayFormat};
use crate::{Failure, Outcome, out};

/// `--validate`: each built document through the validation engine, as `segur validate` runs
/// it; an error finding (or a refused input) keeps the document from being sent.
struct Validating {
    engine: Engine,
}

impl DocumentCheck for Validating {
    /// The document is parsed once, by the validator: the packaging takes the header from the
    /// model the document was built from.
    fn check(&self, _name: &str, document: &[u8]) -> Result<(), String> {
        let outcome = self.engine.validate(document);
        if let Some(problem) = &outcome.problem {
            return Err(format!("not XML: {}", problem.message));
        }
        let mut errors = outcome
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error);
        match errors.next() {
            None => Ok(()),
            Some(first) => Err(format!(
                "{} error finding(s), the first {} ({}): {}",
                1 + errors.count(),
                first.rule,
                first.rule_set.as_deref().unwrap_or("segur"),
                first.message
            )),
        }
    }
}

/// Set-up errors (the endpoints file, the identities, the requests directory, the load) are
/// the user's input: exit 2. Failed requests are counted in the report, not errors here.
fn failure(e: ReplayError) -> Failure {
    Failure::usage(e.to_string())
}

pub(crate) fn run(args: ReplayArgs) -> Result<Outcome, Failure> {
    let endpoints = config::read(&args.config).map_err(failure)?;
    let endpoint = config::pick(endpoints, args.endpoint.as_deref()).map_err(failure)?;
    let requests = match &args.dir {
        Some(dir) => load_dir(dir, endpoint.kind).map_err(failure)?,
        None => Vec::new(),
    };
    let validating = if args.validate {
        let engine = crate::validate::engine(&args.rules, Profile::Default)?;
        Some(Validating { engine })
    } else {
        None
    };
    let source = match &args.build {
        Some(name) => Source::Build(
            Recipe {
                doc_type: segur_cda::DocType::from_name(name).ok_or_else(|| {
                    Failure::usage(format!(
                        "--build {name}: unknown type (see segur build --list)"
                    ))
                })?,
                seed: args.seed,
                kind: endpoint.kind,
            },
            validating.as_ref().map(|v| v as &dyn DocumentCheck),
        ),
        None => Source::Files(&requests),
    };
    let load = Load {
        users: args.users,
        count: args.count.or(if args.duration.is_none() {
            Some(100)
        } else {
            None
        }),
        duration: args.duration,
        rate: args.rate,
        ramp_up: args.ramp_up.unwrap_or(Duration::ZERO),
        keep_alive: !args.no_keep_alive,
        probe: DEFAULT_PROBE,
        // SIGTERM or SIGINT ends the run as its duration would: the report and the log
        // cover every request sent.
        stop: StopFlag::watching(&crate::signals::STOP),
    };
    crate::signals::install();
    let log = match &args.log {
        Some(path) => Some(std::sync::Mutex::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?,
        ))),
        None => None,
    };
    let log_failed = std::sync::atomic::AtomicBool::new(false);
    let on_request = |o: &segur_replay::Outcome<'_>| {
        if let Some(log) = &log
            && let Ok(line) = serde_json::to_string(o)
            && let Ok(mut w) = log.lock()
            && writeln!(w, "{line}").is_err()
        {
            log_failed.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let run_with_progress = |endpoint, source, load, progress: &(dyn Fn(&Progress) + Sync)| {
        run_source(endpoint, source, load, progress, &on_request)
    };
    let report = if args.quiet {
        run_with_progress(&endpoint, source, load, &|_| {})
    } else if std::io::stderr().is_terminal() {
        let bar = match load.count {
            Some(n) => ProgressBar::with_draw_target(Some(n as u64), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        if let Ok(style) =
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        let r = run_with_progress(&endpoint, source, load, &|p| {
            bar.set_position(p.ok + p.errors);
            bar.set_message(format!(
                "ok {} errors {}  {:.0} req/s  p99 {:.1} ms",
                p.ok,
                p.errors,
                p.rate_rps,
                ms(p.p99_us)
            ));
        });
        bar.finish_and_clear();
        r
    } else {
        run_with_progress(&endpoint, source, load, &json_line)
    }
    .map_err(failure)?;
    if let Some(log) = log {
        let flushed = log.into_inner().map(|mut w| w.flush());
        if log_failed.into_inner() || !matches!(flushed, Ok(Ok(()))) {
            return Err(Failure::infra(
                "the --log file could not be written".to_string(),
            ));
        }
    }
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

/// One JSON object per line on standard error; a closed stderr is not an error.
fn json_line(p: &Progress) {
    if let Ok(line) = serde_json::to_string(p) {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn text(r: &Report) -> Result<(), Failure> {
    let model = match r.rate_rps {
        Some(rate) => format!("open model at {rate} requests/s"),
        None => "closed model".to_string(),
    };
    out(format_args!(
        "{} ({}): {} requests, {model}, {} users, {} identities, {:.2} s, {:.1} requests/s",
        r.endpoint, r.url, r.requests, r.users, r.identities, r.elapsed_s, r.throughput_rps
    ))?;
    out(format_args!("  ok {}, failed {}", r.ok, r.failed))?;
    out(format_args!(
        "  connections: {} TLS handshakes, {} requests reconnected after the server closed a kept-alive connection{}",
        r.handshakes,
        r.reconnects,
        if r.keep_alive {
            ""
        } else {
            " (keep-alive off)"
        }
    ))?;
    if let Some(c) = &r.latency_corrected {
        latency("latency from the intended send time (corrected)", c)?;
    }
    latency("latency from the actual send time", &r.latency)?;
    for e in &r.errors {
        out(format_args!("  {} x{}: {}", e.kind, e.count, e.example))?;
    }
    Ok(())
}

fn latency(what: &str, l: &Latency) -> Result<(), Failure> {
    out(format_args!(
        "  {what} ({} samples, ms): p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}  mean {:.1}",
        l.samples,
        ms(l.p50_us),
        ms(l.p90_us),
        ms(l.p99_us),
        ms(l.p999_us),
        ms(l.max_us),
        l.mean_us / 1000.0
    ))
}
