//! FHIR in the CLI: where the packages come from (`--fhir-packages`, `SEGUR_FHIR_PACKAGES`,
//! `../shared/fhir/packages`), FHIR JSON validation reports, and `segur build patient` /
//! `segur build pdsm-bundle` / `segur build tddui-bundle`.

use std::path::{Path, PathBuf};

use segur_fhir::{Packages, Validator};
use segur_finding::Severity;
use segur_report::{DocumentReport, InputError, Verdict};

use crate::args::{BuildArgs, FhirOptions};
use crate::{Failure, Outcome, out};

/// The FHIR packages folder to use: `--fhir-packages`, `SEGUR_FHIR_PACKAGES`, then
/// `../shared/fhir/packages`; opened (indexed, the index kept in `cache_dir` between runs
/// when there is one).
pub(crate) fn open_packages(
    opts: &FhirOptions,
    cache_dir: Option<&Path>,
) -> Result<(PathBuf, Packages), Failure> {
    let (dir, origin) = match &opts.fhir_packages {
        Some(p) => (p.clone(), "--fhir-packages"),
        None => match std::env::var_os("SEGUR_FHIR_PACKAGES") {
            Some(p) => (PathBuf::from(p), "SEGUR_FHIR_PACKAGES"),
            None => (PathBuf::from("../shared/fhir/packages"), "default"),
        },
    };
    let packages = match cache_dir {
        Some(cache) => Packages::open_cached(&dir, cache),
        None => Packages::open(&dir),
    }
    .map_err(|e| Failure::usage(format!("FHIR packages ({origin}): {e}")))?;
    Ok((dir, packages))
}

/// Whether a file starts like FHIR JSON (a JSON object with a resourceType).
pub(crate) fn file_is_fhir(path: &Path) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    // Read up to the first byte that is not whitespace (after a byte order mark), however much
    // whitespace comes first: JSON allows any.
    let mut reader = std::io::BufReader::new(file.take(crate::MAX_INPUT));
    let mut head = [0u8; 4096];
    let mut first = true;
    loop {
        let n = match reader.read(&mut head) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let mut chunk = &head[..n];
        if std::mem::take(&mut first) {
            chunk = chunk.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(chunk);
        }
        if let Some(&b) = chunk.trim_ascii_start().first() {
            return b == b'{';
        }
    }
}

/// The TDDUI Bundle profile: a transaction Bundle, but not an MHD ITI-65 request.
const TDDUI_BUNDLE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/tddui-bundle";

/// Whether `bytes` are a FHIR transaction Bundle to check as an MHD ITI-65 request (and so as
/// a package): every transaction Bundle but one that declares the TDDUI `tddui-bundle`
/// profile, which has no SubmissionSet List nor Binary by design.
pub(crate) fn is_transaction_bundle(bytes: &[u8]) -> bool {
    // A byte order mark is read past, as the FHIR reader and the MHD reader do.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    segur_fhir::looks_like_fhir(bytes)
        && serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|v| {
            v["resourceType"] == "Bundle"
                && v["type"] == "transaction"
                && !v["meta"]["profile"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|u| u == TDDUI_BUNDLE))
        })
}

/// The report of one FHIR JSON input.
pub(crate) fn report(
    validator: Option<&Validator<'_>>,
    name: String,
    bytes: &[u8],
    profiles: &[String],
) -> DocumentReport {
    let unreadable = |message: String, line: Option<u32>, column: Option<u32>| DocumentReport {
        path: name.clone(),
        sha256: Some(segur_validate::rules::sha256(bytes)),
        verdict: Verdict::Unreadable,
        error: Some(InputError {
            message,
            line,
            column,
        }),
        rule_sets: vec!["segur-fhir".into()],
        notes: vec![],
        findings: vec![],
    };
    let Some(validator) = validator else {
        return unreadable(
            "FHIR JSON, but no FHIR packages to validate it (--fhir-packages)".into(),
            None,
            None,
        );
    };
    let doc = match segur_fhir::json::parse(bytes, segur_fhir::Limits::default()) {
        Ok(d) => d,
        Err(e) => {
            let (l, c) = e.position().unzip();
            return unreadable(format!("not FHIR JSON: {e}"), l, c);
        }
    };
    let findings = validator.validate(&doc, profiles);
    let errors = findings.iter().any(|f| f.severity == Severity::Error);
    let mut notes = vec![format!(
        "FHIR {} validated with the packages {}",
        doc.value["resourceType"].as_str().unwrap_or("?"),
        validator.packages().packages().join(", ")
    )];
    if !profiles.is_empty() {
        notes.push(format!("--profile {}", profiles.join(", ")));
    }
    DocumentReport {
        path: name,
        sha256: Some(segur_validate::rules::sha256(bytes)),
        verdict: if errors {
            Verdict::Nonconformant
        } else {
            Verdict::Conformant
        },
        error: None,
        rule_sets: vec!["segur-fhir".into()],
        notes,
        findings,
    }
}

/// A fixed submission time for built bundles (2026-01-01T00:00:00Z): the same seed gives the
/// same bytes.
const BUILD_TIME: i64 = 1_767_225_600;

/// `segur build patient|pdsm-bundle|tddui-bundle`: FHIR JSON files for generated INS
/// identities.
pub(crate) fn build(args: &BuildArgs, kind: &str) -> Result<Outcome, Failure> {
    let dir = args
        .out
        .clone()
        .ok_or_else(|| Failure::usage("--out DIR is required"))?;
    if args.count == 0 || args.count > 1_000_000 {
        return Err(Failure::usage(format!(
            "--count {}: expected 1 to 1000000",
            args.count
        )));
    }
    let ins = args
        .ins
        .iter()
        .map(|m| {
            segur_ins::Matricule::parse(m).map_err(|e| Failure::usage(format!("--ins {m}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        Failure::infra(format!(
            "{}: cannot create the output directory: {e}",
            dir.display()
        ))
    })?;
    let mut generator = segur_ins::Generator::new(args.seed);
    let mut rng = segur_ins::SeedRng::new(args.seed);
    for index in 0..args.count {
        let identity = if ins.is_empty() {
            generator.next_identity()
        } else {
            generator.identity_for(ins[(index % ins.len() as u64) as usize].clone())
        };
        let (name, bytes) = if kind == "patient" {
            let p = segur_fhir::build::patient_ins(&identity, &format!("patient-{}", index + 1));
            let mut b = serde_json::to_vec_pretty(&p).unwrap_or_default();
            b.push(b'\n');
            (format!("patient-{:04}.json", index + 1), b)
        } else if kind == "tddui-bundle" {
            let doc_type = segur_cda::DocType::from_name("fludt")
                .ok_or_else(|| Failure::infra("the fludt document type is missing"))?;
            let mut doc_rng = rng.fork();
            let cda = segur_cda::build(doc_type, &identity, &mut doc_rng.fork());
            let bytes = cda.to_bytes();
            let attachment = segur_fhir::build::CdaAttachment::of(&cda, &bytes);
            let bundle = segur_fhir::build::tddui_bundle(&identity, &[attachment], &mut doc_rng);
            let mut b = serde_json::to_vec_pretty(&bundle)
                .map_err(|e| Failure::infra(format!("cannot write the TDDUI Bundle: {e}")))?;
            b.push(b'\n');
            (format!("tddui-bundle-{:04}.json", index + 1), b)
        } else {
            let doc_type = segur_cda::DocType::from_name("cr-bio")
                .ok_or_else(|| Failure::infra("the cr-bio document type is missing"))?;
            let cda = segur_cda::build(doc_type, &identity, &mut rng.fork());
            let input = segur_exchange::package::Input {
                name: format!("cr-bio-{:04}.xml", index + 1),
                bytes: cda.to_bytes(),
                header: None,
            };
            let options = segur_exchange::package::Options {
                now: BUILD_TIME,
                ..segur_exchange::package::Options::default()
            };
            let b = segur_exchange::mhd::build(&[input], &options)
                .map_err(|e| Failure::usage(e.to_string()))?;
            (format!("pdsm-bundle-{:04}.json", index + 1), b)
        };
        let path = dir.join(name);
        std::fs::write(&path, bytes)
            .map_err(|e| Failure::infra(format!("{}: cannot write: {e}", path.display())))?;
    }
    out(format_args!(
        "built {} {} file(s) in {}",
        args.count,
        if kind == "patient" {
            "FR Core INS Patient (fr-core-patient-ins)"
        } else if kind == "tddui-bundle" {
            "TDDUI Bundle (tddui-bundle, FLUDT CDA document)"
        } else {
            "PDSm / MHD ITI-65 Bundle"
        },
        dir.display()
    ))?;
    Ok(Outcome::Ok)
}
