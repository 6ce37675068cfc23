//! The VIHF signed with an RSA key (generated at test time by `openssl`), verified when read,
//! and every alteration reported by SEGUR-ITI41-VIHF-SIGNATURE.

mod common;

use std::path::Path;
use std::process::Command;

use common::{document, ids, options};
use segur_cda::DocType;
use segur_exchange::dsig::Signer;
use segur_exchange::iti41;
use segur_exchange::unpack::unpack;

/// A fresh RSA key and self-signed certificate, as PEM text.
fn key_and_cert(dir: &Path, cn: &str) -> (String, String) {
    let (key, cert) = (dir.join(format!("{cn}.key")), dir.join(format!("{cn}.pem")));
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
        ])
        .arg(format!("/C=FR/O=SEGUR TEST/CN={cn}"))
        // An end-entity signing certificate (OpenSSL's default for -x509 is a CA).
        .args([
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "keyUsage=critical,digitalSignature",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (needed to generate the test key)");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    (
        std::fs::read_to_string(key).expect("key"),
        std::fs::read_to_string(cert).expect("cert"),
    )
}

/// Now, in seconds: the VIHF is issued while the fresh test certificate is valid.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn signed_capture(signer: &Signer) -> String {
    signed_capture_at(signer, now())
}

fn signed_capture_at(signer: &Signer, at: i64) -> String {
    let input = document(DocType::CrBio, 21);
    let mut o = options();
    o.now = at;
    let req = iti41::build_with(&[input], &o, Some(signer)).expect("iti41");
    String::from_utf8(req.to_capture()).expect("utf8")
}

#[test]
fn signed_vihf_verifies_and_alterations_are_caught() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (key, cert) = key_and_cert(tmp.path(), "DMP SIGN");
    let signer = Signer::from_pem(&key, &cert).expect("signer");
    assert_eq!(signer.subject(), "C=FR, O=SEGUR TEST, CN=DMP SIGN");
    let text = signed_capture(&signer);
    assert!(text.contains("<saml2:Issuer Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName\">C=FR, O=SEGUR TEST, CN=DMP SIGN</saml2:Issuer><ds:Signature"));
    let u = unpack(text.as_bytes(), "req", None);
    assert!(u.findings.is_empty(), "{:#?}", u.findings);
    assert!(
        u.notes
            .iter()
            .any(|n| n.contains("VIHF signature verified")),
        "{:?}",
        u.notes
    );

    let value_at = text.find("<ds:SignatureValue>").expect("value") + 19;
    let flipped = if &text[value_at..value_at + 1] == "A" {
        "B"
    } else {
        "A"
    };
    let (_, other_cert) = key_and_cert(tmp.path(), "OTHER");
    let other = segur_exchange::dsig::pem(&other_cert, "CERTIFICATE").expect("pem");
    let own = segur_exchange::dsig::pem(&cert, "CERTIFICATE").expect("pem");
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let cases = [
        ("content altered", text.replace(">urn:dmp<", ">urn:dmx<")),
        (
            "signature altered",
            format!("{}{flipped}{}", &text[..value_at], &text[value_at + 1..]),
        ),
        (
            "another certificate",
            text.replace(&b64.encode(&own), &b64.encode(&other)),
        ),
        (
            "sha1 claimed",
            text.replace("xmldsig-more#rsa-sha256", "xmldsig#rsa-sha1"),
        ),
        (
            "reference elsewhere",
            text.replace("<ds:Reference URI=\"#", "<ds:Reference URI=\"#x"),
        ),
    ];
    for (what, t) in cases {
        let u = unpack(t.as_bytes(), "req", None);
        assert_eq!(
            ids(&u.findings),
            ["SEGUR-ITI41-VIHF-SIGNATURE"],
            "{what}: {:#?}",
            u.findings
        );
    }
    // The certificate is checked at the assertion's IssueInstant: a day before it existed, or
    // two days after its one day, it was not valid.
    for at in [now() - 86_400, now() + 2 * 86_400] {
        let u = unpack(signed_capture_at(&signer, at).as_bytes(), "req", None);
        assert_eq!(
            ids(&u.findings),
            ["SEGUR-ITI41-VIHF-CERT"],
            "{:#?}",
            u.findings
        );
    }
    // Unsigned: no finding, a note.
    let u = unpack(
        &iti41::build(&[document(DocType::CrBio, 21)], &options())
            .expect("iti41")
            .to_capture(),
        "req",
        None,
    );
    assert!(u.findings.is_empty());
    assert!(
        u.notes.iter().any(|n| n.contains("VIHF not signed")),
        "{:?}",
        u.notes
    );
}

#[test]
fn a_second_unsigned_vihf_beside_the_signed_one_is_an_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (key, cert) = key_and_cert(tmp.path(), "DMP SIGN");
    let signer = Signer::from_pem(&key, &cert).expect("signer");
    let text = signed_capture(&signer);
    let start = text.find("<saml2:Assertion").expect("assertion");
    let end = text.find("</saml2:Assertion>").expect("end") + "</saml2:Assertion>".len();
    let signed = &text[start..end];
    let s = signed.find("<ds:Signature").expect("signature");
    let e = signed.find("</ds:Signature>").expect("end") + "</ds:Signature>".len();
    let mut unsigned = format!("{}{}", &signed[..s], &signed[e..]);
    unsigned = unsigned.replacen(" ID=\"", " ID=\"x", 1);
    // Another patient in resource-id (`matricule^^^&OID&ISO^NH`).
    let at = unsigned.find("^^^&amp;").expect("resource-id");
    unsigned.replace_range(at - 15..at, "299999999999999");
    assert!(unsigned.contains("299999999999999"), "{unsigned}");
    for (what, t) in [
        (
            "after",
            format!("{}{unsigned}{}", &text[..end], &text[end..]),
        ),
        (
            "before",
            format!("{}{unsigned}{}", &text[..start], &text[start..]),
        ),
    ] {
        let u = unpack(t.as_bytes(), "req", None);
        assert!(
            ids(&u.findings).contains(&"SEGUR-ITI41-VIHF".to_string()),
            "{what}: {:#?}",
            u.findings
        );
        let f = u
            .findings
            .iter()
            .find(|f| f.message.contains("2 saml2:Assertion"))
            .expect(what);
        assert!(f.message.contains("unsigned"), "{f:?}");
        let verified = u
            .notes
            .iter()
            .any(|n| n.contains("VIHF signature verified"));
        // The note is given only when the assertion read (the first) is the signed one.
        assert_eq!(verified, what == "after", "{what}: {:?}", u.notes);
    }
}

#[test]
fn keys_that_cannot_sign_are_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (key, cert) = key_and_cert(tmp.path(), "K");
    assert!(Signer::from_pem("nothing", &cert).is_err());
    assert!(Signer::from_pem(&key, "nothing").is_err());
    let err = Signer::from_pem(&cert.replace("CERTIFICATE", "PRIVATE KEY"), &cert)
        .expect_err("a certificate is not a key");
    assert!(err.to_string().contains("RSA PKCS#8"), "{err}");
    // Another pair's key with this certificate: refused before anything is signed.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).expect("dir");
    let (other_key, _) = key_and_cert(&other, "L");
    let err = Signer::from_pem(&other_key, &cert).expect_err("a key of another pair");
    assert!(err.to_string().contains("does not match"), "{err}");
}

/// An independent verifier: xmlsec1 (libxmlsec1; `.ci/run` installs it) checks the VIHF
/// signature segur made.
#[test]
fn xmlsec1_verifies_the_vihf() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (key, cert) = key_and_cert(tmp.path(), "DMP SIGN");
    let signer = Signer::from_pem(&key, &cert).expect("signer");
    let text = signed_capture(&signer);
    let start = text.find("<saml2:Assertion").expect("assertion");
    let end = text.find("</saml2:Assertion>").expect("end") + 18;
    let file = tmp.path().join("vihf.xml");
    let verify = |xml: &str| {
        std::fs::write(&file, xml).expect("write");
        Command::new("xmlsec1")
            .args([
                "--verify",
                "--id-attr:ID",
                "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
            ])
            .arg("--pubkey-cert-pem")
            .arg(tmp.path().join("DMP SIGN.pem"))
            .arg(&file)
            .output()
            .expect("xmlsec1")
    };
    let assertion = &text[start..end];
    let o = verify(assertion);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The same assertion with one signed character changed: xmlsec1 refuses it.
    let at = assertion.find("</saml2:Issuer>").expect("issuer") - 1;
    let mut tampered = assertion.to_string();
    let c = if &assertion[at..at + 1] == "X" {
        "Y"
    } else {
        "X"
    };
    tampered.replace_range(at..at + 1, c);
    let o = verify(&tampered);
    assert!(!o.status.success(), "xmlsec1 accepted a tampered assertion");
}
