//! Parses every `.xml` file of a folder N times (for profiling `Document::parse`):
//! `cargo run --release -p segur-xml --example parse_corpus -- DIR [N] [--quick-xml]`.
//! With `--quick-xml` only quick-xml's tokenizer runs, for comparison.

use std::hint::black_box;
use std::time::Instant;

use segur_xml::{Document, Limits};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| {
        eprintln!("usage: parse_corpus DIR [N] [--quick-xml]");
        std::process::exit(2)
    });
    let mut passes = 1usize;
    let mut quick = false;
    for a in args {
        if a == "--quick-xml" {
            quick = true;
        } else if let Ok(n) = a.parse() {
            passes = n;
        }
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("readable folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    let docs: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("readable file"))
        .collect();
    let bytes: usize = docs.iter().map(Vec::len).sum();
    let limits = Limits::default();
    let start = Instant::now();
    let mut nodes = 0usize;
    for _ in 0..passes {
        for d in &docs {
            if quick {
                let mut r = quick_xml::Reader::from_reader(d.as_slice());
                loop {
                    match r.read_event() {
                        Ok(quick_xml::events::Event::Eof) | Err(_) => break,
                        Ok(e) => {
                            black_box(e);
                            nodes += 1;
                        }
                    }
                }
            } else if let Ok(doc) = Document::parse(d, &limits) {
                nodes += black_box(doc).len();
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} files, {} bytes, {passes} passes, {nodes} nodes/events: {:.1} MB/s",
        docs.len(),
        bytes,
        (bytes * passes) as f64 / secs / 1e6
    );
}
