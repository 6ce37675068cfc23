//! The VIHF signing certificate: validity at the assertion's IssueInstant, keyUsage, not a CA,
//! and the chain to configured trust anchors (SEGUR-ITI41-VIHF-CERT), on certificates made at
//! test time by `openssl` (RSA, which ring cannot generate).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{document, ids, options};
use segur_cda::DocType;
use segur_exchange::dsig::{Signer, pem};
use segur_exchange::iti41;
use segur_exchange::signing_cert::{self, TrustAnchors};
use segur_exchange::unpack::unpack;

fn openssl(args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl (needed to generate the test certificates)");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

struct Made {
    key: PathBuf,
    cert: PathBuf,
}

impl Made {
    fn der(&self) -> Vec<u8> {
        pem(
            &std::fs::read_to_string(&self.cert).expect("cert"),
            "CERTIFICATE",
        )
        .expect("pem")
    }
    fn pem(&self) -> String {
        std::fs::read_to_string(&self.cert).expect("cert")
    }
    fn signer(&self) -> Signer {
        Signer::from_pem(
            &std::fs::read_to_string(&self.key).expect("key"),
            &self.pem(),
        )
        .expect("signer")
    }
}

/// A self-signed CA.
fn ca(dir: &Path, name: &str) -> Made {
    let m = Made {
        key: dir.join(format!("{name}.key")),
        cert: dir.join(format!("{name}.pem")),
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-subj",
        &format!("/C=FR/O=SEGUR TEST/CN={name}"),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        m.key.to_str().expect("utf8"),
        "-out",
        m.cert.to_str().expect("utf8"),
    ]);
    m
}

/// A certificate issued by `issuer` with these extensions (`openssl x509 -extfile` lines).
fn issued(dir: &Path, name: &str, issuer: &Made, ext: &str) -> Made {
    let m = Made {
        key: dir.join(format!("{name}.key")),
        cert: dir.join(format!("{name}.pem")),
    };
    let csr = dir.join(format!("{name}.csr"));
    let extfile = dir.join(format!("{name}.ext"));
    std::fs::write(&extfile, ext).expect("ext");
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        &format!("/C=FR/O=SEGUR TEST/OU=10B0152872/CN={name}"),
        "-keyout",
        m.key.to_str().expect("utf8"),
        "-out",
        csr.to_str().expect("utf8"),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        csr.to_str().expect("utf8"),
        "-CA",
        issuer.cert.to_str().expect("utf8"),
        "-CAkey",
        issuer.key.to_str().expect("utf8"),
        "-set_serial",
        "0x1234",
        "-days",
        "2",
        "-extfile",
        extfile.to_str().expect("utf8"),
        "-out",
        m.cert.to_str().expect("utf8"),
    ]);
    m
}

const SIGN: &str =
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn check(
    leaf: &Made,
    others: &[&Made],
    at: Option<i64>,
    anchors: Option<&TrustAnchors>,
) -> (Vec<String>, String) {
    let mut out = Vec::new();
    let others: Vec<Vec<u8>> = others.iter().map(|m| m.der()).collect();
    let note = signing_cert::check(&leaf.der(), &others, at, anchors, "vihf", &mut out);
    let msgs = out
        .iter()
        .map(|f| format!("{} {}", f.rule, f.message))
        .collect();
    (msgs, note)
}

#[test]
fn signing_certificates_are_dated_used_and_chained() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    let root = ca(d, "TEST AC RACINE");
    let other_root = ca(d, "AUTRE AC");
    let int = issued(
        d,
        "TEST AC ORG",
        &root,
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n",
    );
    let sign = issued(d, "ORG SIGN", &root, SIGN);
    let under_int = issued(d, "ORG SIGN 2", &int, SIGN);
    let no_ds = issued(d, "ORG CONF", &root, "keyUsage=critical,keyEncipherment\n");
    let not_ca_int = issued(d, "NOT A CA", &root, SIGN);
    let under_not_ca = issued(d, "ORG SIGN 3", &not_ca_int, SIGN);
    let anchors = TrustAnchors::from_pem(&root.pem()).expect("anchors");
    let t = Some(now());

    let (f, note) = check(&sign, &[], t, Some(&anchors));
    assert!(f.is_empty(), "{f:?}");
    assert!(
        note.contains("chained to a configured trust anchor (0 intermediate(s))"),
        "{note}"
    );
    let (f, note) = check(&under_int, &[&int], t, Some(&anchors));
    assert!(
        f.is_empty() && note.contains("(1 intermediate(s))"),
        "{f:?} {note}"
    );
    // Without its intermediate, or under another root, or through a non-CA: refused.
    for (leaf, others, anchors, why) in [
        (
            &under_int,
            vec![],
            anchors.clone(),
            "no anchor or carried intermediate is its issuer",
        ),
        (
            &sign,
            vec![],
            TrustAnchors::from_pem(&other_root.pem()).expect("a"),
            "no anchor or carried intermediate",
        ),
        (
            &under_not_ca,
            vec![&not_ca_int],
            anchors.clone(),
            "is not a CA",
        ),
    ] {
        let (f, _) = check(leaf, &others, t, Some(&anchors));
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].starts_with("SEGUR-ITI41-VIHF-CERT") && f[0].contains(why),
            "{f:?}"
        );
    }
    // No anchors: dated and key usage only, said so.
    let (f, note) = check(&sign, &[], t, None);
    assert!(
        f.is_empty() && note.contains("chain not checked"),
        "{f:?} {note}"
    );
    // Dates, key usage, CA.
    for (leaf, at, why) in [
        (&sign, Some(now() - 86_400), "was not yet valid"),
        (&sign, Some(now() + 3 * 86_400), "had expired"),
        (&sign, None, "cannot be dated"),
        (&no_ds, t, "keyUsage without digitalSignature"),
    ] {
        let (f, _) = check(leaf, &[], at, None);
        assert_eq!(f.len(), 1, "{why}: {f:?}");
        assert!(f[0].contains(why), "{f:?}");
    }
    // A CA as the signer (its keyUsage lacks digitalSignature too).
    let (f, _) = check(&root, &[], t, None);
    assert!(f.iter().any(|m| m.contains("is a CA certificate")), "{f:?}");
    // Garbage never panics.
    let mut out = Vec::new();
    signing_cert::check(
        b"\x30\x03\x02\x01",
        &[b"x".to_vec()],
        t,
        Some(&anchors),
        "v",
        &mut out,
    );
    assert_eq!(ids(&out), ["SEGUR-ITI41-VIHF-CERT"]);
    assert!(TrustAnchors::from_pem("no pem").is_err());
}

/// Through `unpack`, with anchors installed for the process (this binary's only test that
/// installs them).
#[test]
fn an_iti41_request_reports_a_signing_certificate_outside_the_anchors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    let root = ca(d, "TEST AC RACINE");
    let stranger = ca(d, "ETRANGER");
    let sign = issued(d, "ORG SIGN", &root, SIGN);
    let outsider = issued(d, "ORG SIGN X", &stranger, SIGN);
    assert!(signing_cert::install_anchors(
        TrustAnchors::from_pem(&root.pem()).expect("a")
    ));
    let capture = |signer: &Signer| {
        let mut o = options();
        o.now = now();
        iti41::build_with(&[document(DocType::CrBio, 8)], &o, Some(signer))
            .expect("iti41")
            .to_capture()
    };
    let u = unpack(&capture(&sign.signer()), "req", None);
    assert!(u.findings.is_empty(), "{:#?}", u.findings);
    assert!(
        u.notes
            .iter()
            .any(|n| n.contains("chained to a configured trust anchor")),
        "{:?}",
        u.notes
    );
    let u = unpack(&capture(&outsider.signer()), "req", None);
    assert_eq!(
        ids(&u.findings),
        ["SEGUR-ITI41-VIHF-CERT"],
        "{:#?}",
        u.findings
    );
}
