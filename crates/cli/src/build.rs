//! `segur build`: generate documents of one or every type into a directory.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use segur_cda::{DOC_TYPES, DocType, build};
use segur_ins::{Generator, Identity, Matricule, SeedRng};

use crate::args::BuildArgs;
use crate::{Failure, Outcome, out, peer};

/// The most documents one `segur build` writes per type.
const MAX_COUNT: u64 = 10_000_000;

/// Checked `segur build` settings.
struct Plan {
    types: Vec<DocType>,
    out: PathBuf,
    count: u64,
    seed: u64,
    ins: Vec<Matricule>,
    peer: Option<PathBuf>,
    check: Option<crate::args::RulesOptions>,
}

fn resolve(args: BuildArgs) -> Result<Plan, Failure> {
    let names = || {
        DOC_TYPES
            .iter()
            .map(|i| i.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let requested = args.doc_type.unwrap_or_default();
    let types = if requested == "all" {
        DOC_TYPES.iter().map(|i| i.doc_type).collect()
    } else {
        match DocType::from_name(&requested) {
            Some(t) => vec![t],
            None => {
                return Err(Failure::usage(format!(
                    "unknown document type '{requested}': expected all, {}, patient, pdsm-bundle or tddui-bundle",
                    names()
                )));
            }
        }
    };
    if args.count == 0 || args.count > MAX_COUNT {
        return Err(Failure::usage(format!(
            "--count {}: expected 1 to {MAX_COUNT}",
            args.count
        )));
    }
    let ins = args
        .ins
        .iter()
        .map(|m| Matricule::parse(m).map_err(|e| Failure::usage(format!("--ins {m}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let out = args
        .out
        .ok_or_else(|| Failure::usage("--out DIR is required"))?;
    let check = args.check.then(|| {
        let mut rules = args.rules.clone();
        // Built documents carry no oxygen processing instructions: choose by templateId.
        rules.select = crate::args::Select::Mapping;
        rules
    });
    Ok(Plan {
        types,
        out,
        count: args.count,
        seed: args.seed,
        ins,
        peer: args.peer,
        check,
    })
}

/// A seed for document `index` of type `type_index`, mixed so that neighbours differ.
fn document_seed(seed: u64, type_index: usize, index: u64) -> u64 {
    let mut mix = SeedRng::new(seed ^ (type_index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut rng = SeedRng::new(mix.next_u64() ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
    rng.next_u64()
}

/// The identities of the documents, one per index: the same for every type, so a patient
/// gets a set. One generator for the whole build, which never gives a matricule twice.
struct Identities<'a> {
    plan: &'a Plan,
    generator: Generator,
}

impl<'a> Identities<'a> {
    fn new(plan: &'a Plan) -> Self {
        Self {
            plan,
            generator: Generator::new(document_seed(plan.seed, usize::MAX, 0)),
        }
    }

    /// The identity of the next index.
    fn next(&mut self, index: u64) -> Identity {
        if self.plan.ins.is_empty() {
            self.generator.next_identity()
        } else {
            let m = self.plan.ins[(index % self.plan.ins.len() as u64) as usize].clone();
            self.generator.identity_for(m)
        }
    }
}

/// The file name of document `index` (0-based) of a type: `cr-bio-0001.xml`.
fn file_name(doc_type: DocType, index: u64) -> String {
    format!("{}-{:04}.xml", doc_type.info().name, index + 1)
}

/// Remove the documents of the built types that an earlier build with a larger `--count` left
/// in the output directory (`cr-bio-0007.xml` after a build of 5), and their temporary files,
/// so that the directory holds what this build made for these types; the number removed.
/// Files of other types and of other names are left alone.
fn remove_stale(plan: &Plan) -> Result<usize, Failure> {
    let io = |e: std::io::Error| Failure::infra(format!("{}: {e}", plan.out.display()));
    let mut removed = 0;
    for entry in fs::read_dir(&plan.out).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stem = name
            .strip_suffix(".xml")
            .or_else(|| name.strip_suffix(".xml.tmp"));
        let Some((type_name, number)) = stem.and_then(|s| s.rsplit_once('-')) else {
            continue;
        };
        let ours = plan.types.iter().any(|t| t.info().name == type_name);
        let index = (number.len() >= 4 && number.bytes().all(|b| b.is_ascii_digit()))
            .then(|| number.parse::<u64>().ok())
            .flatten();
        let stale = match index {
            Some(n) => n > plan.count || (n > 0 && name.ends_with(".tmp")),
            None => false,
        };
        if ours && stale && entry.file_type().map_err(io)?.is_file() {
            fs::remove_file(entry.path()).map_err(io)?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn write_file(path: &Path, doc: &segur_cda::ClinicalDocument) -> Result<u64, Failure> {
    let tmp = path.with_extension("xml.tmp");
    let io = |e: std::io::Error| Failure::infra(format!("{}: cannot write: {e}", path.display()));
    let file = fs::File::create(&tmp).map_err(io)?;
    let written = doc
        .write_to(BufWriter::new(file))
        .map_err(|e| Failure::infra(format!("{}: {e}", path.display())))
        .and_then(|mut w| w.flush().map_err(io))
        .and_then(|()| fs::rename(&tmp, path).map_err(io));
    if let Err(e) = written {
        // Nothing half-written is left behind.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(fs::metadata(path).map_err(io)?.len())
}

/// The FHIR resources `segur build` makes, for `--list`.
const FHIR_TYPES: [(&str, &str); 3] = [
    ("patient", "FR Core INS Patient (JSON)"),
    (
        "pdsm-bundle",
        "PDSm / MHD ITI-65 transaction Bundle of a CR-BIO document (JSON)",
    ),
    (
        "tddui-bundle",
        "TDDUI 1.1.0-ballot Bundle of a FLUDT médico-social CDA document (JSON)",
    ),
];

pub(crate) fn run(args: BuildArgs) -> Result<Outcome, Failure> {
    if args.list {
        for i in DOC_TYPES {
            out(format_args!(
                "{:<12} {}  code {:<8} volet {:<37} {}",
                i.name,
                i.level,
                i.code,
                i.volet.unwrap_or("-"),
                i.summary
            ))?;
        }
        // The FHIR resources `segur build` makes too (not part of `all`, which is the CDA).
        for (name, summary) in FHIR_TYPES {
            out(format_args!("{name:<12} FHIR {summary}"))?;
        }
        return Ok(Outcome::Ok);
    }
    if let Some(kind @ ("patient" | "pdsm-bundle" | "tddui-bundle")) = args.doc_type.as_deref() {
        if args.check || args.peer.is_some() {
            return Err(Failure::usage(format!(
                "--check and --peer validate CDA documents; check the FHIR {kind} files with `segur validate`"
            )));
        }
        return crate::fhir::build(&args, kind);
    }
    let plan = resolve(args)?;
    fs::create_dir_all(&plan.out).map_err(|e| {
        Failure::infra(format!(
            "{}: cannot create the output directory: {e}",
            plan.out.display()
        ))
    })?;

    let started = Instant::now();
    let mut bytes = 0u64;
    let mut files = Vec::new();
    let mut identities = Identities::new(&plan);
    for index in 0..plan.count {
        let identity = identities.next(index);
        for (type_index, &doc_type) in plan.types.iter().enumerate() {
            let mut rng = SeedRng::new(document_seed(plan.seed, type_index, index));
            let doc = build(doc_type, &identity, &mut rng);
            let path = plan.out.join(file_name(doc_type, index));
            bytes += write_file(&path, &doc)?;
            files.push(path);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let stale = remove_stale(&plan)?;
    out(format_args!(
        "built {} documents ({}) in {}: {:.1} KiB, {:.0} documents/s on one thread",
        files.len(),
        plan.types
            .iter()
            .map(|t| t.info().name)
            .collect::<Vec<_>>()
            .join(", "),
        plan.out.display(),
        bytes as f64 / 1024.0,
        files.len() as f64 / secs.max(1e-9)
    ))?;
    if stale > 0 {
        out(format_args!(
            "removed {stale} file(s) of these types left in {} by an earlier build (numbered above --count, or temporary)",
            plan.out.display()
        ))?;
    }
    let mut outcome = Outcome::Ok;
    if let Some(rules) = &plan.check {
        outcome = check(rules, &files)?;
    }
    if let Some(script) = &plan.peer
        && peer::check(script, &plan.out, &files)? == Outcome::Invalid
    {
        outcome = Outcome::Invalid;
    }
    Ok(outcome)
}

/// Validate the built files natively and print one line, plus the findings of failures.
fn check(rules: &crate::args::RulesOptions, files: &[PathBuf]) -> Result<Outcome, Failure> {
    use crate::validate::{Input, document_report, engine, jobs, run_all};
    let started = Instant::now();
    let engine = engine(rules, segur_validate::engine::Profile::Default)?;
    let inputs: Vec<Input> = files.iter().cloned().map(Input::File).collect();
    let results = run_all(&engine, &inputs, jobs(None));
    let mut bad = 0;
    for (input, r) in inputs.iter().zip(results) {
        let d = document_report(input.name(), r);
        if d.verdict != segur_report::Verdict::Conformant {
            bad += 1;
            for f in d
                .findings
                .iter()
                .filter(|f| f.severity == segur_finding::Severity::Error)
                .take(3)
            {
                out(format_args!("{}: {} {}", d.path, f.rule, f.message))?;
            }
        }
    }
    out(format_args!(
        "check: {} documents, {} conformant, {bad} not (official ANS rules and segur's, validated natively in {:.1} s)",
        files.len(),
        files.len() - bad,
        started.elapsed().as_secs_f64()
    ))?;
    Ok(if bad == 0 {
        Outcome::Ok
    } else {
        Outcome::Invalid
    })
}
