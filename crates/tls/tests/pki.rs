//! The test PKI written by `TestPki::write`: files, modes, manifest, and what the lint says
//! of each certificate.

use std::path::Path;

use segur_finding::Severity;
use segur_tls::inspect::CertInfo;
use segur_tls::lint::{self, lint, lint_chain};
use segur_tls::pki::{Defect, Manifest, PkiOptions, Role, TestPki};
use segur_tls::{Identity, certs_from_pem, roots_from_pem};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// PKCS#12 files cost ~0.25 s each in a debug build (PBKDF2): only for small PKIs.
fn make(dir: &Path, clients: usize) -> Manifest {
    let options = PkiOptions {
        clients,
        p12_password: (clients <= 3).then(|| "segur".to_string()),
        ..Default::default()
    };
    let pki = TestPki::generate(&options, time::OffsetDateTime::now_utc()).expect("generate");
    pki.write(dir, &options, false).expect("write")
}

fn rules_of(dir: &Path, manifest: &Manifest, name: &str, with_chain: bool) -> Vec<String> {
    let entry = manifest.entry(name).expect(name);
    let chain =
        certs_from_pem(&std::fs::read(dir.join(&entry.chain)).expect("chain")).expect("pem");
    let info = CertInfo::from_der(&chain[0]).expect("x509");
    let mut findings = lint(&info, now());
    if with_chain {
        let roots = roots_from_pem(&std::fs::read(dir.join(&manifest.trust)).expect("trust"))
            .expect("roots");
        findings.extend(lint_chain(&chain, roots, now(), &findings));
    }
    findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .map(|f| f.rule.clone())
        .collect()
}

#[test]
fn the_written_pki_lints_as_designed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = make(dir.path(), 3);
    for good in ["client-001", "client-002", "client-003"] {
        assert_eq!(
            rules_of(dir.path(), &m, good, true),
            Vec::<String>::new(),
            "{good}"
        );
    }
    let expect = [
        ("expired", vec![lint::EXPIRED.id]),
        ("not-yet-valid", vec![lint::NOT_YET_VALID.id]),
        ("wrong-eku", vec![lint::EKU_CLIENT_AUTH.id]),
        ("unknown-ca", vec![lint::CHAIN.id]),
        ("no-structure-id", vec![lint::STRUCTURE_ID.id]),
    ];
    for (name, rules) in expect {
        assert_eq!(rules_of(dir.path(), &m, name, true), rules, "{name}");
    }
    // Without --ca the unknown CA is not visible: the certificate itself is well-formed.
    assert_eq!(
        rules_of(dir.path(), &m, "unknown-ca", false),
        Vec::<String>::new()
    );
}

#[test]
fn clients_are_shaped_like_org_auth_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = make(dir.path(), 2);
    let entry = m.entry("client-001").expect("client");
    let info = CertInfo::from_der(
        &certs_from_pem(&std::fs::read(dir.path().join(&entry.cert)).expect("read")).expect("pem")
            [0],
    )
    .expect("x509");
    let sid = info.structure_id.as_ref().expect("structure id");
    assert_eq!(sid.register, "FINESS");
    assert_eq!(entry.structure_id.as_deref(), Some(sid.value.as_str()));
    assert!(
        info.subject
            .starts_with("CN=SEGUR TEST AUTH_CLI 001,OU=199"),
        "{}",
        info.subject
    );
    assert!(
        info.subject.ends_with(",ST=Paris (75),C=FR"),
        "{}",
        info.subject
    );
    assert_eq!(
        info.extended_key_usage,
        Some(vec!["clientAuth".to_string()])
    );
    assert_eq!(info.key_usage, Some(vec!["digitalSignature".to_string()]));
    assert_eq!(
        info.issuer_value("CN"),
        Some("SEGUR TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS")
    );
    let p12 = entry.p12.as_ref().expect("p12 written");
    let id = Identity::from_pkcs12_file(&dir.path().join(p12), "segur").expect("p12");
    assert_eq!(id.chain().len(), 2);
    assert_eq!(
        id.leaf().as_ref(),
        info_der(dir.path(), &entry.cert).as_slice()
    );
    // The issuer rule says, as info, that this is no IGC-Santé certificate.
    let findings = lint(&info, now());
    assert!(
        findings
            .iter()
            .any(|f| f.rule == lint::ISSUER.id && f.severity == Severity::Info)
    );
}

#[test]
fn files_manifest_and_modes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = make(dir.path(), 50);
    let clients: Vec<_> = m
        .entries
        .iter()
        .filter(|e| e.role == Role::Client && e.defect.is_none())
        .collect();
    assert_eq!(clients.len(), 50);
    let mut fingerprints: Vec<_> = clients.iter().map(|e| e.sha256.clone()).collect();
    let mut ids: Vec<_> = clients.iter().map(|e| e.structure_id.clone()).collect();
    fingerprints.sort();
    fingerprints.dedup();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (fingerprints.len(), ids.len()),
        (50, 50),
        "distinct identities"
    );
    assert_eq!(clients[49].name, "client-050");
    assert_eq!(
        m.entries.iter().filter(|e| e.defect.is_some()).count(),
        Defect::ALL.len()
    );
    let back = Manifest::read(dir.path()).expect("read manifest");
    assert_eq!(back, m);
    for e in &m.entries {
        let id =
            Identity::from_pem_files(&dir.path().join(&e.chain), Some(&dir.path().join(&e.key)))
                .unwrap_or_else(|err| panic!("{}: {err}", e.name));
        id.check().unwrap_or_else(|err| panic!("{}: {err}", e.name));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(&e.key))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{}", e.key);
        }
    }
    assert!(clients[0].p12.is_none());
}

#[test]
fn an_existing_pki_is_not_overwritten_without_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    make(dir.path(), 1);
    let options = PkiOptions::default();
    let pki = TestPki::generate(&options, time::OffsetDateTime::now_utc()).expect("generate");
    let err = pki.write(dir.path(), &options, false).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    pki.write(dir.path(), &options, true).expect("force");
}

#[test]
fn a_weak_sha1_certificate_from_openssl() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/tls/weak-rsa1024-sha1.pem");
    let cert = &certs_from_pem(&std::fs::read(path).expect("read")).expect("pem")[0];
    let info = CertInfo::from_der(cert).expect("x509");
    assert_eq!((info.key.algorithm.as_str(), info.key.bits), ("RSA", 1024));
    let rules: Vec<_> = lint(&info, now()).into_iter().map(|f| f.rule).collect();
    for rule in [
        lint::KEY_WEAK,
        lint::SIGNATURE_WEAK,
        lint::STRUCTURE_ID,
        lint::EKU_ABSENT,
    ] {
        assert!(
            rules.iter().any(|r| r == rule.id),
            "{} in {rules:?}",
            rule.id
        );
    }
    // OpenSSL's default v3_ca for a self-signed `req -x509` makes it a CA.
    assert!(rules.iter().any(|r| r == lint::CA.id), "{rules:?}");
}

#[test]
fn every_rule_is_documented_in_the_catalogue() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md"))
            .expect("docs/rules.md");
    for rule in lint::RULES {
        let row = format!("| {} | {} |", rule.id, rule.severity.as_str());
        assert!(doc.contains(&row), "docs/rules.md lacks the row {row}");
    }
}

fn info_der(dir: &Path, rel: &str) -> Vec<u8> {
    certs_from_pem(&std::fs::read(dir.join(rel)).expect("read")).expect("pem")[0].to_vec()
}
