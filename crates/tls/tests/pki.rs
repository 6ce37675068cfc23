//! The test PKI written by `TestPki::write`: files, modes, manifest, and what the lint says
//! of each certificate.

use std::path::Path;

use segur_finding::Severity;
use segur_tls::inspect::CertInfo;
use segur_tls::lint::{self, lint, lint_chain};
use segur_tls::pki::{Defect, Manifest, PkiOptions, Role, TestPki};
use segur_tls::{Identity, TlsError, certs_from_pem, roots_from_pem};

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
    let cert = &certs_from_pem(&std::fs::read(&path).expect("read")).expect("pem")[0];
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
    // A client leaf signed with SHA-1 by a sound root: refused for its signature alone,
    // which SEGUR-CERT-SIGNATURE-WEAK says; SEGUR-CERT-CHAIN does not say it again.
    let fixture = |name: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/tls")
                .join(name),
        )
        .expect(name)
    };
    let leaf = certs_from_pem(&fixture("sha1-signed-leaf.pem")).expect("pem");
    let roots = roots_from_pem(&fixture("sha1-signed-leaf.root.pem")).expect("roots");
    let findings = lint(&CertInfo::from_der(&leaf[0]).expect("x509"), now());
    let rules: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(rules.contains(&lint::SIGNATURE_WEAK.id), "{rules:?}");
    assert_eq!(lint_chain(&leaf, roots, now(), &findings), None);
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

#[test]
fn force_removes_what_the_earlier_pki_wrote_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // Five clients with PKCS#12 files, then two without, forced.
    let first = PkiOptions {
        clients: 5,
        p12_password: Some("segur".into()),
        ..Default::default()
    };
    let pki = TestPki::generate(&first, time::OffsetDateTime::now_utc()).expect("generate");
    pki.write(d, &first, false).expect("write");
    assert!(d.join("clients/client-005.key").exists());
    assert!(d.join("clients/client-001.p12").exists());
    // Files that are not the tool's: kept.
    std::fs::write(d.join("clients/notes.txt"), "mine").expect("write");
    std::fs::write(d.join("clients/client-001.crt"), "mine").expect("write");
    std::fs::write(d.join("README"), "mine").expect("write");

    let second = PkiOptions {
        clients: 2,
        ..Default::default()
    };
    let pki = TestPki::generate(&second, time::OffsetDateTime::now_utc()).expect("generate");
    let m = pki.write(d, &second, true).expect("force");
    for n in 3..=5 {
        for ext in ["pem", "chain.pem", "key", "p12"] {
            let stale = d.join(format!("clients/client-{n:03}.{ext}"));
            assert!(!stale.exists(), "{} survived", stale.display());
        }
    }
    for n in 1..=2 {
        assert!(!d.join(format!("clients/client-{n:03}.p12")).exists());
        assert!(d.join(format!("clients/client-{n:03}.key")).exists());
    }
    for kept in ["clients/notes.txt", "clients/client-001.crt", "README"] {
        assert!(d.join(kept).exists(), "{kept} removed");
    }
    // Every file the manifest lists exists.
    for e in &m.entries {
        for rel in [&e.cert, &e.chain, &e.key] {
            assert!(d.join(rel).exists(), "{rel}");
        }
    }
}

#[test]
fn force_follows_only_paths_the_tool_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().join("pki");
    std::fs::create_dir_all(&d).expect("mkdir");
    let options = PkiOptions {
        clients: 3,
        ..Default::default()
    };
    let pki = TestPki::generate(&options, time::OffsetDateTime::now_utc()).expect("generate");
    pki.write(&d, &options, false).expect("write");
    // An edited manifest pointing outside the tool's files: those are not removed.
    let outside = dir.path().join("precious.key");
    std::fs::write(&outside, "mine").expect("write");
    std::fs::write(d.join("clients/own.pem"), "mine").expect("write");
    let text = std::fs::read_to_string(d.join("pki.toml")).expect("manifest");
    let text = text
        .replacen("clients/client-003.key", "../precious.key", 1)
        .replacen("clients/client-003.pem", "clients/own.pem", 1);
    std::fs::write(d.join("pki.toml"), text).expect("write");
    let smaller = PkiOptions {
        clients: 1,
        ..Default::default()
    };
    let pki = TestPki::generate(&smaller, time::OffsetDateTime::now_utc()).expect("generate");
    pki.write(&d, &smaller, true).expect("force");
    assert!(outside.exists() && d.join("clients/own.pem").exists());
    assert!(!d.join("clients/client-002.key").exists());

    // An unreadable manifest: the tool's own file names in its folders are cleared.
    std::fs::write(d.join("pki.toml"), "not = [toml").expect("write");
    std::fs::write(d.join("clients/client-007.key"), "stale").expect("write");
    std::fs::write(d.join("broken/expired.p12"), "stale").expect("write");
    pki.write(&d, &smaller, true).expect("force");
    assert!(!d.join("clients/client-007.key").exists());
    assert!(!d.join("broken/expired.p12").exists());
    assert!(d.join("clients/own.pem").exists() && outside.exists());
    assert!(d.join("clients/client-001.key").exists());
}

#[test]
fn server_names_must_be_dns_names_or_ip_addresses() {
    let with = |names: &[&str]| PkiOptions {
        server_names: names.iter().map(|n| n.to_string()).collect(),
        clients: 0,
        ..Default::default()
    };
    for good in [
        &["localhost"][..],
        &["dmp.example.fr", "127.0.0.1", "::1"],
        &["*.example.test"],
        &["xn--bcher-kva.example", "a-b.c1"],
    ] {
        with(good)
            .validate()
            .unwrap_or_else(|e| panic!("{good:?}: {e}"));
    }
    for bad in [
        "",
        "exa mple",
        "a,b",
        "-a.example",
        "a-.example",
        "a..b",
        "a.",
        ".a",
        "a\nb",
        "*",
        "é.example",
        "a/b",
        "1.2.3.256",
        "host.123",
    ] {
        let err = with(&[bad]).validate().expect_err(bad);
        let text = err.to_string();
        assert!(text.starts_with("server name \""), "{text}");
        assert_eq!(text.lines().count(), 1, "{text:?}");
        assert!(matches!(err, TlsError::InvalidOption(_)));
        // generate refuses them too, before making anything.
        assert!(TestPki::generate(&with(&[bad]), time::OffsetDateTime::now_utc()).is_err());
    }
    let long = format!("{}.example", "a".repeat(64));
    assert!(with(&[long.as_str()]).validate().is_err());
    assert!(with(&[]).validate().is_err());
}

#[test]
fn leaves_may_not_outlive_their_cas() {
    use segur_tls::pki::CA_VALIDITY_DAYS;
    let with = |days| PkiOptions {
        validity_days: days,
        clients: 1,
        ..Default::default()
    };
    for bad in [0, -5, CA_VALIDITY_DAYS + 1, 100_000] {
        let err = with(bad).validate().expect_err("refused");
        assert!(err.to_string().contains("3650"), "{err}");
    }
    let pki = TestPki::generate(&with(CA_VALIDITY_DAYS), time::OffsetDateTime::now_utc())
        .expect("the longest validity");
    let ca = CertInfo::from_der(&pki.intermediate.cert).expect("x509");
    for leaf in [&pki.server, &pki.clients[0]] {
        let info = CertInfo::from_der(&leaf.cert).expect("x509");
        assert!(info.not_after_unix <= ca.not_after_unix, "{}", leaf.name);
    }
}
