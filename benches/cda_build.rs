//! Build throughput: generate a CDA document from an INS identity and a seed, and stream it to
//! bytes, one type at a time, on one thread. `cargo bench -p segur-benches`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use segur_cda::{DOC_TYPES, build};
use segur_ins::{Generator, SeedRng};

fn build_and_serialize(c: &mut Criterion) {
    let identities: Vec<_> = Generator::new(7).take(64).collect();
    let mut group = c.benchmark_group("build+serialize");
    group.throughput(Throughput::Elements(1));
    for info in DOC_TYPES {
        let mut i = 0u64;
        group.bench_function(info.name, |b| {
            b.iter(|| {
                i += 1;
                let mut rng = SeedRng::new(i);
                let doc = build(info.doc_type, &identities[(i % 64) as usize], &mut rng);
                black_box(doc.to_bytes())
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("serialize");
    for info in DOC_TYPES {
        let doc = build(info.doc_type, &identities[0], &mut SeedRng::new(1));
        let bytes = doc.to_bytes().len() as u64;
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(info.name, |b| b.iter(|| black_box(doc.to_bytes())));
    }
    group.finish();

    c.bench_function("ins identity", |b| {
        let mut generator = Generator::new(1);
        b.iter(|| black_box(generator.next_identity()))
    });
}

criterion_group!(benches, build_and_serialize);
criterion_main!(benches);
