//! Building the arena DOM (`segur_xml::Document::parse`) beside quick-xml's own tokenization
//! (the events the parser reads, borrowed from the input) over the 94 ANS examples (24 MB).
//! `cargo bench -p segur-benches --bench parse`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn corpus() -> Vec<Vec<u8>> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/ans/testcontenucda/ExemplesCDA");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the ANS examples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read(p).expect("ANS example"))
        .collect()
}

fn parse(c: &mut Criterion) {
    let docs = corpus();
    let bytes: usize = docs.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("parse the 94 ANS examples");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(20);
    g.bench_function("quick-xml events (from_str, borrowed)", |b| {
        b.iter(|| {
            for d in &docs {
                let text = std::str::from_utf8(d).expect("UTF-8");
                let mut r = quick_xml::Reader::from_str(text);
                while !matches!(
                    black_box(r.read_event()),
                    Ok(quick_xml::events::Event::Eof) | Err(_)
                ) {}
            }
        })
    });
    g.bench_function("segur-xml Document::parse", |b| {
        b.iter(|| {
            for d in &docs {
                black_box(
                    segur_xml::Document::parse(d, &segur_xml::Limits::default()).expect("parse"),
                );
            }
        })
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
