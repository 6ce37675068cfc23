//! Validation throughput with the full official rule set (CDA XSD, the schematrons the ANS
//! examples declare, segur's rules) on one thread, beside quick-xml tokenization and the DOM
//! parse of the same bytes. `cargo bench -p segur-benches --bench validate`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use segur_validate::engine::{Engine, EngineOptions, Profile};
use segur_validate::select::SelectMode;

fn corpus() -> (std::path::PathBuf, Vec<Vec<u8>>) {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/ans/testcontenucda");
    let names = [
        "DOC_NON_STRUCTURE_CDA-R2-N1.xml",
        "BIO-CR-BIO_2024.01_TSH_1.xml",
        "DLU-EHPAD-FLUDT_2022.01.xml",
        "LDL-SES_2022.01.xml",
        "IPS-FR_2024.01.xml",
    ];
    let docs = names
        .iter()
        .map(|n| std::fs::read(rules.join("ExemplesCDA").join(n)).expect("ANS example"))
        .collect();
    (rules, docs)
}

fn validate(c: &mut Criterion) {
    let (rules, docs) = corpus();
    let engine = Engine::new(EngineOptions {
        mapping: None,
        overrides: None,
        select: SelectMode::Auto,
        profile: Profile::Default,
        xsd: true,
        limits: segur_xml::Limits::default(),
        cache_dir: None,
        rules_dir: rules,
    })
    .expect("engine");
    for d in &docs {
        engine.validate(d);
    }
    let bytes: usize = docs.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("corpus of 5 ANS examples");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("quick-xml tokenize", |b| {
        b.iter(|| {
            for d in &docs {
                let mut r = quick_xml::Reader::from_reader(d.as_slice());
                let mut buf = Vec::new();
                while !matches!(
                    r.read_event_into(&mut buf),
                    Ok(quick_xml::events::Event::Eof) | Err(_)
                ) {
                    buf.clear();
                }
            }
        })
    });
    g.bench_function("segur-xml parse", |b| {
        b.iter(|| {
            for d in &docs {
                black_box(
                    segur_xml::Document::parse(d, &segur_xml::Limits::default()).expect("parse"),
                );
            }
        })
    });
    g.bench_function("validate (XSD + schematrons + segur)", |b| {
        b.iter(|| {
            for d in &docs {
                black_box(engine.validate(d));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, validate);
criterion_main!(benches);
