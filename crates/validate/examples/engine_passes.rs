//! Validate the ANS examples (or the `.xml` files of DIR) with the whole engine (parse, XSD, schematrons, segur's rules):
//! one warm-up pass, then N steady passes in `steady` (a performance aid; for instruction
//! counts of the steady state alone:
//! `valgrind --tool=callgrind --toggle-collect=engine_passes::steady target/release/examples/engine_passes 1 [DIR]`).
use std::path::Path;
use std::time::Instant;

use segur_validate::engine::{Engine, EngineOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let passes: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda");
    let corpus = args
        .get(2)
        .map_or_else(|| root.join("ExemplesCDA"), std::path::PathBuf::from);
    let engine = Engine::new(EngineOptions {
        rules_dir: root.clone(),
        mapping: Some(root.join("../peer/mapping.properties")),
        overrides: Some(root.join("../sch_overrides.tsv")),
        select: Default::default(),
        profile: Default::default(),
        xsd: true,
        limits: Default::default(),
        cache_dir: None,
    })
    .expect("engine");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .expect("examples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    let docs: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    // With DIR (documents built from one recipe, say), the first half warms up and the second
    // is measured: results kept from a document do not serve the same document again.
    let docs = if args.len() > 2 {
        let (first, second) = docs.split_at(docs.len() / 2);
        warm_up(&engine, first);
        second.to_vec()
    } else {
        warm_up(&engine, &docs);
        docs
    };
    let t = Instant::now();
    let findings = steady(&engine, &docs, passes);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{} documents × {passes} passes: {:.1} documents/s, {findings} findings",
        docs.len(),
        (docs.len() * passes) as f64 / secs
    );
}

/// The first pass: compiles checks on first use, reads the terminologies.
#[inline(never)]
fn warm_up(engine: &Engine, docs: &[Vec<u8>]) -> usize {
    passes_of(engine, docs, 1)
}

/// Passes over a warm engine.
#[inline(never)]
fn steady(engine: &Engine, docs: &[Vec<u8>], passes: usize) -> usize {
    passes_of(engine, docs, passes)
}

fn passes_of(engine: &Engine, docs: &[Vec<u8>], passes: usize) -> usize {
    let mut findings = 0;
    for _ in 0..passes {
        for d in docs {
            findings += std::hint::black_box(engine.validate(d)).findings.len();
        }
    }
    findings
}
