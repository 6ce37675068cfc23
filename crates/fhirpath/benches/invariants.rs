//! Every FHIRPath invariant of the R4 core Patient (and of the data types it holds), evaluated
//! on the FR Core INS patient example, on one thread; plus compiling the 213 distinct
//! invariants of the shared packages. `cargo bench -p segur-fhirpath --bench invariants`.

#[path = "../tests/support/invariant_walker.rs"]
mod invariant_walker;

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use invariant_walker::CoreInvariants;
use segur_fhirpath::Expr;

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fhir")
}

fn invariants(c: &mut Criterion) {
    let core = CoreInvariants::load(&shared().join("packages/hl7.fhir.r4.core#4.0.1/package"));
    let text = std::fs::read(
        shared().join("examples/valid/frcore220-Patient-FRCorePatientINSExampleRNIV.json"),
    )
    .expect("FR Core INS patient example");
    let patient: serde_json::Value = serde_json::from_slice(&text).expect("json");
    let mut evals = Vec::new();
    core.check(&patient, &patient, &mut evals);
    let n = evals.len() as u64;
    assert!(evals.iter().all(|e| e.outcome.is_ok()));

    let mut g = c.benchmark_group("fhirpath");
    g.throughput(Throughput::Elements(n));
    g.bench_function(
        format!("patient_ins_all_invariants ({n} evaluations)"),
        |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(n as usize);
                core.check(black_box(&patient), &patient, &mut out);
                out.len()
            })
        },
    );

    let sources: Vec<String> = {
        let mut all = std::collections::BTreeSet::new();
        for ti in core.types.values() {
            for inv in ti
                .root
                .iter()
                .chain(ti.by_path.iter().flat_map(|(_, v)| v.iter()))
            {
                all.insert(inv.expr.source().to_owned());
            }
        }
        all.into_iter().collect()
    };
    g.throughput(Throughput::Elements(sources.len() as u64));
    g.bench_function(
        format!("parse_core_invariants ({} expressions)", sources.len()),
        |b| {
            b.iter(|| {
                sources
                    .iter()
                    .filter(|s| Expr::parse(black_box(s)).is_ok())
                    .count()
            })
        },
    );
    g.finish();
}

criterion_group!(benches, invariants);
criterion_main!(benches);
