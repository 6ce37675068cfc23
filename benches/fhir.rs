//! FHIR profile validation: resources/s warm over the 29 published examples, over generated
//! FR Core INS Patients and PDSm ITI-65 Bundles (segur-exchange's builder), and start-up time
//! to first verdict (index the packages, validate one Patient). One thread.
//! `cargo bench -p segur-benches --bench fhir`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use segur_fhir::{Limits, Packages, Validator};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fhir")
}

fn examples() -> Vec<Vec<u8>> {
    let dir = shared().join("examples/valid");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read(p).expect("example"))
        .collect()
}

fn patients(n: u64) -> Vec<Vec<u8>> {
    let mut g = segur_ins::Generator::new(11);
    (0..n)
        .map(|i| {
            let p = segur_fhir::build::patient_ins(&g.next_identity(), &format!("p{i}"));
            serde_json::to_vec(&p).expect("json")
        })
        .collect()
}

fn bundles(n: u64) -> Vec<Vec<u8>> {
    let doc_type = segur_cda::DocType::from_name("cr-bio").expect("cr-bio");
    let mut g = segur_ins::Generator::new(12);
    (0..n)
        .map(|i| {
            let cda = segur_cda::build(
                doc_type,
                &g.next_identity(),
                &mut segur_ins::SeedRng::new(i),
            );
            let input = segur_exchange::package::Input {
                name: "cr-bio.xml".into(),
                bytes: cda.to_bytes(),
                header: None,
            };
            let options = segur_exchange::package::Options {
                now: 1_767_225_600,
                ..Default::default()
            };
            segur_exchange::mhd::build(&[input], &options).expect("bundle")
        })
        .collect()
}

fn validate_all(v: &Validator<'_>, docs: &[Vec<u8>]) -> usize {
    docs.iter()
        .map(|d| {
            let doc = segur_fhir::json::parse(d, Limits::default()).expect("json");
            v.validate(&doc, &[]).len()
        })
        .sum()
}

fn fhir(c: &mut Criterion) {
    let packages = Packages::open(&shared().join("packages")).expect("packages");
    // What `segur validate` runs: invariants evaluated by the FHIRPath engine.
    let v = Validator::new(&packages).with_fhirpath();
    let bare = Validator::new(&packages);
    let sets = [
        ("29 published examples", examples()),
        ("20 generated INS Patients", patients(20)),
        ("5 generated ITI-65 Bundles", bundles(5)),
    ];
    for (name, docs) in &sets {
        validate_all(&v, docs);
        validate_all(&bare, docs);
        let mut g = c.benchmark_group(format!("fhir: {name}"));
        g.throughput(Throughput::Elements(docs.len() as u64));
        g.bench_function("parse (positions)", |b| {
            b.iter(|| {
                for d in docs {
                    black_box(segur_fhir::json::parse(d, Limits::default()).expect("json"));
                }
            })
        });
        g.bench_function("parse + validate, warm", |b| {
            b.iter(|| black_box(validate_all(&v, docs)))
        });
        g.bench_function("parse + validate, warm, invariants not evaluated", |b| {
            b.iter(|| black_box(validate_all(&bare, docs)))
        });
        g.finish();
    }
    let first = patients(1);
    let mut g = c.benchmark_group("fhir: start-up");
    g.sample_size(10);
    g.bench_function("index packages + first verdict", |b| {
        b.iter(|| {
            let p = Packages::open(&shared().join("packages")).expect("packages");
            let v = Validator::new(&p).with_fhirpath();
            black_box(validate_all(&v, &first))
        })
    });
    let cache = std::env::temp_dir().join(format!("segur-bench-fhir-index-{}", std::process::id()));
    Packages::open_cached(&shared().join("packages"), &cache).expect("packages");
    g.bench_function("cached index + first verdict", |b| {
        b.iter(|| {
            let p = Packages::open_cached(&shared().join("packages"), &cache).expect("packages");
            let v = Validator::new(&p).with_fhirpath();
            black_box(validate_all(&v, &first))
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&cache);
}

criterion_group!(benches, fhir);
criterion_main!(benches);
