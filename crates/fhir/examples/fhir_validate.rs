//! `cargo run --release -p segur-fhir --example fhir_validate -- PACKAGES FILE...`: print the
//! findings of each file and the time to open the packages and to the first verdict; with
//! `PASSES=N`, then validate all files N times more and print the warm rate; with `CACHE=DIR`,
//! keep the package index in DIR between runs; with `INVARIANTS=0`, without the FHIRPath
//! engine (invariants reported as not evaluated).

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((dir, files)) = args.split_first() else {
        eprintln!("usage: fhir_validate PACKAGES FILE...");
        std::process::exit(2);
    };
    let t0 = Instant::now();
    let opened = match std::env::var_os("CACHE") {
        Some(cache) => segur_fhir::Packages::open_cached(
            std::path::Path::new(dir),
            std::path::Path::new(&cache),
        ),
        None => segur_fhir::Packages::open(std::path::Path::new(dir)),
    };
    let packages = match opened {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let opened = t0.elapsed();
    let validator = segur_fhir::Validator::new(&packages);
    let validator = if std::env::var_os("INVARIANTS").is_some_and(|v| v == "0") {
        validator
    } else {
        validator.with_fhirpath()
    };
    for (i, f) in files.iter().enumerate() {
        let bytes = std::fs::read(f).unwrap_or_default();
        match segur_fhir::json::parse(&bytes, segur_fhir::Limits::default()) {
            Err(e) => println!("{f}: unreadable: {e}"),
            Ok(doc) => {
                let findings = validator.validate(&doc, &[]);
                let errors = findings
                    .iter()
                    .filter(|f| f.severity == segur_finding::Severity::Error)
                    .count();
                println!("{f}: {errors} error(s)");
                for x in findings.iter().filter(|x| {
                    std::env::var_os("ALL").is_some() || x.severity != segur_finding::Severity::Info
                }) {
                    println!(
                        "  {:?} {} {}:{} {} {}",
                        x.severity,
                        x.rule,
                        x.location.line.unwrap_or(0),
                        x.location.column.unwrap_or(0),
                        x.location.xpath.as_deref().unwrap_or(""),
                        x.message
                    );
                }
            }
        }
        if i == 0 {
            eprintln!(
                "packages indexed ({} resources) in {:?}; first verdict at {:?}",
                packages.len(),
                opened,
                t0.elapsed()
            );
        }
    }
    let passes: usize = std::env::var("PASSES")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    if passes > 0 {
        let docs: Vec<Vec<u8>> = files
            .iter()
            .map(|f| std::fs::read(f).unwrap_or_default())
            .collect();
        let t = Instant::now();
        for _ in 0..passes {
            for d in &docs {
                if let Ok(doc) = segur_fhir::json::parse(d, segur_fhir::Limits::default()) {
                    std::hint::black_box(validator.validate(&doc, &[]));
                }
            }
        }
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "{} files x {passes} passes in {secs:.3} s warm: {:.0} files/s",
            docs.len(),
            (docs.len() * passes) as f64 / secs
        );
    }
}
