//! `segur bench validate`: how fast the core judges documents with the full official rule set,
//! measured beside the raw speed of the XML tokenizer on the same bytes in the same run, so
//! that ratios stay meaningful on a shared, noisy machine.

use std::path::PathBuf;
use std::time::Instant;

use quick_xml::Reader;
use quick_xml::events::Event;
use segur_validate::engine::Profile;

use crate::args::BenchCommand;
use crate::validate::{Input, engine, inputs, jobs};
use crate::{Failure, Outcome, out};

/// The Ségur national volume: 250 million documents a year, in documents per second.
const SEGUR_PER_SECOND: f64 = 250e6 / (365.0 * 24.0 * 3600.0);

/// Peak resident memory of this process, from /proc (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

/// Count the events of a document with quick-xml: what any XML processing must at least do.
fn tokenize(bytes: &[u8]) -> usize {
    let mut r = Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        match r.read_event_into(&mut buf) {
            Ok(Event::Eof) | Err(_) => break,
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => n += 1 + e.attributes().count(),
            Ok(_) => n += 1,
        }
        buf.clear();
    }
    n
}

/// Run `work` over every document `passes` times on `threads` threads; documents per second.
fn rate(docs: &[Vec<u8>], passes: usize, threads: usize, work: &(dyn Fn(&[u8]) + Sync)) -> f64 {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let total = docs.len() * passes;
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    work(&docs[i % docs.len()]);
                }
            });
        }
    });
    total as f64 / started.elapsed().as_secs_f64()
}

pub(crate) fn run(cmd: BenchCommand) -> Result<Outcome, Failure> {
    let BenchCommand::Validate {
        dir,
        passes,
        json,
        rules,
    } = cmd;
    let passes = passes as usize;
    let dir: PathBuf = match dir {
        Some(d) => d,
        None => crate::rules::resolve(rules.rules.as_deref())?.join("ExemplesCDA"),
    };
    let paths: Vec<PathBuf> = inputs(std::slice::from_ref(&dir), true)
        .into_iter()
        .filter_map(|input| match input {
            Input::File(p) => Some(p),
            _ => None,
        })
        .collect();
    let read = |p: &PathBuf| {
        std::fs::read(p).map_err(|e| Failure::usage(format!("{}: cannot read: {e}", p.display())))
    };
    let Some(first_path) = paths.first() else {
        return Err(Failure::usage(format!(
            "{}: no .xml documents",
            dir.display()
        )));
    };
    // Time to the first verdict: the engine starts, reads the first document and loads the
    // rules it needs.
    let started = Instant::now();
    let engine = engine(&rules, Profile::Default)?;
    let first = engine.validate(&read(first_path)?);
    let first_verdict_ms = started.elapsed().as_secs_f64() * 1e3;
    drop(first);
    // One pass as `segur validate` makes it, each worker reading its documents from disk:
    // this warms every rule set the corpus needs, and the peak memory after it is that of
    // validating the whole corpus on every core (the timed passes below hold the corpus in
    // memory, which the process's later peak includes).
    // Timed too: the rate of a first pass, whose checks are compiled on first use and which
    // has no results kept from earlier documents of the same values (the timed passes below
    // repeat the corpus, so every kept result serves them).
    let all = jobs(None);
    let next = std::sync::atomic::AtomicUsize::new(0);
    // The first document found unreadable, by its index: a benchmark of documents that the
    // parser refuses would time the refusal, not validation.
    let unreadable = std::sync::Mutex::new(None);
    let first_pass = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..all {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(p) = paths.get(i) else { break };
                    let Ok(bytes) = std::fs::read(p) else {
                        continue; // reported below, when the corpus is read into memory
                    };
                    let outcome = std::hint::black_box(engine.validate(&bytes));
                    if let Some(problem) = outcome.problem {
                        let mut first = unreadable.lock().unwrap_or_else(|e| e.into_inner());
                        if first.as_ref().is_none_or(|(j, _)| i < *j) {
                            *first = Some((i, problem));
                        }
                    }
                }
            });
        }
    });
    let first_pass_rate = paths.len() as f64 / first_pass.elapsed().as_secs_f64();
    if let Some((i, problem)) = unreadable.into_inner().unwrap_or_else(|e| e.into_inner()) {
        let place = match (problem.line, problem.column) {
            (Some(l), Some(c)) => format!("line {l}, column {c}: "),
            _ => String::new(),
        };
        return Err(Failure::usage(format!(
            "{}: {place}{}: the benchmark times the validation of readable documents; take this one out of the corpus",
            paths[i].display(),
            problem.message
        )));
    }
    let streamed_peak = peak_rss_kib();
    let docs = paths.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    let bytes: usize = docs.iter().map(Vec::len).sum();
    let mb = bytes as f64 / 1e6;
    let validate = |d: &[u8]| {
        std::hint::black_box(engine.validate(d));
    };
    let token = |d: &[u8]| {
        std::hint::black_box(tokenize(d));
    };
    let tok_1 = rate(&docs, passes, 1, &token);
    let val_1 = rate(&docs, passes, 1, &validate);
    let tok_n = rate(&docs, passes, all, &token);
    let val_n = rate(&docs, passes, all, &validate);
    let per_doc_mb = mb / docs.len() as f64;
    let peak = peak_rss_kib();
    out(format_args!(
        "corpus: {} documents, {:.1} MB ({}), {passes} passes",
        docs.len(),
        mb,
        dir.display()
    ))?;
    out(format_args!(
        "{:<34} {:>12} {:>10}",
        "", "documents/s", "MB/s"
    ))?;
    for (label, r) in [
        ("quick-xml tokenization, 1 thread", tok_1),
        ("segur validate, 1 thread", val_1),
        (
            &format!("quick-xml tokenization, {all} threads") as &str,
            tok_n,
        ),
        (&format!("segur validate, {all} threads") as &str, val_n),
    ] {
        out(format_args!(
            "{label:<34} {r:>12.1} {:>10.1}",
            r * per_doc_mb
        ))?;
    }
    out(format_args!(
        "{:<34} {first_pass_rate:>12.1} {:>10.1}",
        format!("first pass, {all} threads, from disk"),
        first_pass_rate * per_doc_mb
    ))?;
    out(format_args!(
        "validate / tokenization: {:.1}% (1 thread), {:.1}% ({all} threads)",
        100.0 * val_1 / tok_1,
        100.0 * val_n / tok_n
    ))?;
    out(format_args!(
        "Ségur volume 250M documents/year = {SEGUR_PER_SECOND:.1}/s: {:.0}x on {all} threads; a Ségur year of these documents takes {:.1} h here",
        val_n / SEGUR_PER_SECOND,
        250e6 / val_n / 3600.0
    ))?;
    let mib = |k: Option<u64>| {
        k.map(|k| format!("{:.1} MB", k as f64 / 1024.0))
            .unwrap_or_else(|| "unknown".into())
    };
    out(format_args!(
        "start-up to first verdict: {first_verdict_ms:.0} ms; peak RSS validating the corpus from disk on {all} threads: {}; with the corpus held in memory: {}",
        mib(streamed_peak),
        mib(peak)
    ))?;
    if let Some(path) = json {
        let v = serde_json::json!({
            "corpus": { "dir": dir.display().to_string(), "documents": docs.len(), "bytes": bytes },
            "threads": all,
            "passes": passes,
            "tokenize_docs_per_s": { "one": tok_1, "all": tok_n },
            "validate_docs_per_s": { "one": val_1, "all": val_n },
            "first_pass_docs_per_s": first_pass_rate,
            "start_up_ms": first_verdict_ms,
            "peak_rss_kib": peak,
            "peak_rss_streamed_kib": streamed_peak,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap_or_default())
            .map_err(|e| Failure::infra(format!("{}: {e}", path.display())))?;
    }
    Ok(Outcome::Ok)
}
