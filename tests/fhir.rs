//! `segur validate` on FHIR JSON and `segur build patient|pdsm-bundle|tddui-bundle`, driven as
//! a user would.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::*;

fn fhir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fhir")
}

fn packages() -> String {
    fhir().join("packages").display().to_string()
}

/// `segur validate ARGS… --fhir-packages <the shared packages>`.
fn validate(args: &[&str]) -> std::process::Output {
    let p = packages();
    let mut all = vec!["validate"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--fhir-packages", &p]);
    segur(&all)
}

fn example(rel: &str) -> String {
    fhir().join("examples").join(rel).display().to_string()
}

#[test]
fn a_valid_fhir_resource_conforms_and_its_json_report_passes_the_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("r.json");
    let o = validate(&[
        &example("valid/pdsm311-Patient-fr-patient-123.json"),
        "--format",
        "json",
        "--output",
        path(&out),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let check = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/json_schema_check.py"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas/report.schema.json"))
        .arg(&out)
        .output()
        .expect("python3");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let d = &r["documents"][0];
    assert_eq!(d["verdict"], "conformant");
    assert_eq!(d["rule_sets"][0], "segur-fhir");
    // Invariants are evaluated (the FHIRPath engine is plugged in) and hold.
    assert!(
        !d["findings"].as_array().unwrap().iter().any(|f| f["rule"]
            .as_str()
            .is_some_and(|r| r.starts_with("FHIR-INVARIANT"))),
        "{d:#}"
    );
}

#[test]
fn a_failed_invariant_is_an_error_at_its_element() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = dir.path().join("p.json");
    std::fs::write(
        &f,
        "{\"resourceType\": \"Patient\",\n  \"name\": [{\"family\": \"Durand\",\n    \"period\": {\"start\": \"2020-01-02\", \"end\": \"2019-12-31\"}}]}",
    )
    .unwrap();
    let o = validate(&[path(&f)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let line = stdout(&o)
        .lines()
        .find(|l| l.contains("FHIR-INVARIANT") && l.contains("per-1"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("per-1: {}", stdout(&o)));
    assert!(line.contains("p.json:3:15: error"), "{line}");
    assert!(line.contains("at Patient.name[0].period"), "{line}");
    assert!(
        !stdout(&o).contains("FHIR-INVARIANT-NOT-EVALUATED"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_broken_fhir_resource_exits_1_with_rule_path_and_position() {
    let o = validate(&[&example("invalid/ins-bad-gender.json")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let line = stdout(&o)
        .lines()
        .find(|l| l.contains("FHIR-BINDING-REQUIRED"))
        .map(str::to_string)
        .expect("the binding finding");
    assert!(line.contains("ins-bad-gender.json:74:13: error"), "{line}");
    assert!(line.contains("at Patient.gender"), "{line}");
}

/// FHIR JSON is recognized by its first character that is not whitespace, however much
/// whitespace comes first (no CDA rules are asked for).
#[test]
fn a_resource_after_much_whitespace_is_still_fhir() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("spaces.json");
    let resource = std::fs::read_to_string(example("invalid/ins-bad-gender.json")).unwrap();
    std::fs::write(&f, format!("{}{resource}", " \n".repeat(10_000))).unwrap();
    let o = validate(&[f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("FHIR-BINDING-REQUIRED"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn malformed_json_exits_2_with_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = dir.path().join("bad.json");
    std::fs::write(&f, "{\"resourceType\": \"Patient\",\n  \"gender\": [1,,]}").unwrap();
    let o = validate(&[path(&f)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.json:2:16:"), "{}", stderr(&o));
}

#[test]
fn profile_url_option_validates_against_that_profile() {
    let o = validate(&[
        &example("valid/frcore210-Slot-FRCoreSlotExample.json"),
        "--profile",
        "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("FHIR-PROFILE-TYPE"), "{}", stdout(&o));
    let o = validate(&[
        &example("valid/pdsm311-Patient-fr-patient-123.json"),
        "--profile",
        "nonsense",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn an_unusable_profile_url_is_a_setup_error() {
    // Not in the packages: the validation asked for cannot be made (exit 2, one line).
    let o = validate(&[
        &example("valid/pdsm311-Patient-fr-patient-123.json"),
        "--profile",
        "http://segur.test/StructureDefinition/nowhere",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert_eq!(
        stderr(&o).trim(),
        "segur: --profile http://segur.test/StructureDefinition/nowhere is not in the FHIR packages"
    );
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    // In the packages, but its file is broken: the same, naming the file.
    let dir = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(
        fhir().join("packages/hl7.fhir.r4.core#4.0.1"),
        dir.path().join("hl7.fhir.r4.core#4.0.1"),
    )
    .expect("link");
    let broken = dir.path().join("segur.broken#0.1.0/package");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("StructureDefinition-broken.json"),
        r#"{"resourceType": "StructureDefinition", "url": "http://segur.test/broken", "type": "Patient", "snapshot": {"element": [ "#,
    )
    .unwrap();
    let o = segur(&[
        "validate",
        &example("valid/pdsm311-Patient-fr-patient-123.json"),
        "--profile",
        "http://segur.test/broken",
        "--fhir-packages",
        path(dir.path()),
        "--no-cache",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("segur: --profile http://segur.test/broken: ")
            && err.contains("StructureDefinition-broken.json is not a usable StructureDefinition"),
        "{err}"
    );
}

#[test]
fn fhir_packages_option_and_variable() {
    let o = segur(&[
        "validate",
        &example("valid/pdsm311-Patient-fr-patient-123.json"),
        "--fhir-packages",
        "/nonexistent",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--fhir-packages"), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_segur"))
        .args([
            "validate",
            &example("valid/pdsm311-Patient-fr-patient-123.json"),
        ])
        .env("SEGUR_FHIR_PACKAGES", fhir().join("packages"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn built_patients_and_pdsm_bundles_validate() {
    let dir = tempfile::tempdir().expect("temp dir");
    for kind in ["patient", "pdsm-bundle"] {
        let o = segur(&[
            "build",
            kind,
            "--out",
            path(dir.path()),
            "--count",
            "3",
            "--seed",
            "5",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let again = tempfile::tempdir().expect("temp dir");
    let o = segur(&[
        "build",
        "patient",
        "--out",
        path(again.path()),
        "--count",
        "3",
        "--seed",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        std::fs::read(dir.path().join("patient-0002.json")).unwrap(),
        std::fs::read(again.path().join("patient-0002.json")).unwrap(),
        "same seed, same bytes"
    );
    let o = validate(&[path(dir.path()), "--rules", &rules(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let docs = r["documents"].as_array().unwrap();
    // 3 Patients; per Bundle: its FHIR report, its package report, its CDA document.
    assert_eq!(docs.len(), 3 + 3 * 3, "{docs:#?}");
    assert!(docs.iter().all(|d| d["verdict"] == "conformant"));
}

/// `segur build tddui-bundle` writes TDDUI Bundles (an INS Patient and a FLUDT CDA document in
/// a `tddui-documentreference`) that `segur validate` finds conformant to `tddui-bundle`
/// with zero errors, and reproducibly; they are not taken for MHD ITI-65 requests.
#[test]
fn built_tddui_bundles_validate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let again = tempfile::tempdir().expect("temp dir");
    for d in [&dir, &again] {
        let o = segur(&[
            "build",
            "tddui-bundle",
            "--out",
            path(d.path()),
            "--count",
            "3",
            "--seed",
            "11",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(
            stdout(&o).contains("built 3 TDDUI Bundle"),
            "{}",
            stdout(&o)
        );
    }
    let first = std::fs::read(dir.path().join("tddui-bundle-0001.json")).unwrap();
    assert_eq!(
        first,
        std::fs::read(again.path().join("tddui-bundle-0001.json")).unwrap(),
        "same seed, same bytes"
    );
    let b: serde_json::Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(
        b["meta"]["profile"][0],
        "https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/tddui-bundle"
    );
    assert_eq!(
        b["entry"][1]["resource"]["resourceType"],
        "DocumentReference"
    );
    let o = validate(&[path(dir.path()), "--rules", &rules(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let docs = r["documents"].as_array().unwrap();
    // One FHIR report per Bundle: no ITI-65 package report.
    assert_eq!(docs.len(), 3, "{docs:#?}");
    for d in docs {
        assert_eq!(d["verdict"], "conformant", "{d:#}");
        let errors = d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .count();
        assert_eq!(errors, 0, "{d:#}");
    }
}

#[test]
fn the_package_index_is_kept_in_the_cache_directory_unless_no_cache() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let file = example("valid/pdsm311-Patient-fr-patient-123.json");
    let indexes = |d: &Path| -> usize {
        std::fs::read_dir(d).map_or(0, |r| {
            r.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("fhir-index-"))
            })
            .count()
        })
    };
    let first = validate(&[&file, "--cache-dir", path(&cache)]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(indexes(&cache), 1, "the index is written");
    let second = validate(&[&file, "--cache-dir", path(&cache)]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(
        stdout(&second),
        stdout(&first),
        "same verdict from the cached index"
    );
    assert_eq!(indexes(&cache), 1);
    let unused = dir.path().join("unused");
    let off = validate(&[&file, "--cache-dir", path(&unused), "--no-cache"]);
    assert_eq!(off.status.code(), Some(0), "{}", stderr(&off));
    assert_eq!(indexes(&unused), 0, "--no-cache writes no index");
}

#[test]
fn a_json_object_is_read_as_fhir_wherever_its_resource_type_lies() {
    // A long narrative before `resourceType` (past the first 4 KiB): still a FHIR resource,
    // not a package of another kind; an object without one is judged as FHIR too.
    let dir = tempfile::tempdir().expect("temp dir");
    let original = std::fs::read_to_string(example("valid/pdsm311-Patient-fr-patient-123.json"))
        .expect("example");
    let body = original.trim_start().strip_prefix('{').expect("an object");
    let late = dir.path().join("late.json");
    std::fs::write(&late, format!("{{{}{body}", " ".repeat(5000))).expect("write");
    let o = validate(&[path(&late)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(!stdout(&o).contains("SEGUR-MHD"), "{}", stdout(&o));
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "{}").expect("write");
    let o = validate(&[path(&empty)]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("FHIR-RESOURCE-TYPE"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("SEGUR-MHD"), "{}", stdout(&o));
    // Located at the object's start, as every finding is somewhere.
    let nested = dir.path().join("nested.json");
    std::fs::write(&nested, "\n  {\"a\": {\"resourceType\": \"Patient\"}}").expect("write");
    let o = validate(&[path(&nested)]);
    assert!(
        stdout(&o).contains("nested.json:2:3: error FHIR-RESOURCE-TYPE"),
        "{}",
        stdout(&o)
    );
}
