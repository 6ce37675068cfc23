//! Enveloped XML-DSig signatures (exclusive c14n, RSA-SHA256, SHA-256 digest, the signing
//! certificate in KeyInfo), as the VIHF of the DMP is signed (`specs/dmp_xds_mhd.md` §1.3):
//! signing with a PKCS#8 RSA key, and verifying with the certificate the signature carries.
//!
//! Verification proves that the XML was signed by the key of the certificate it carries; the
//! certificate itself is checked by [`crate::signing_cert`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{self, RsaKeyPair};
use segur_xml::{Document, NodeId};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::c14n::canonicalize;
use crate::dom::{attr, kid, text};

/// XML-DSig namespace.
pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// Why a key or a certificate cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No PEM block of the expected label.
    #[error("no `-----BEGIN {0}-----` PEM block")]
    NoPem(&'static str),
    /// The PEM body is not base64.
    #[error("the PEM body is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The key is not an RSA PKCS#8 key ring accepts.
    #[error("not a usable RSA PKCS#8 private key: {0}")]
    Key(String),
    /// The certificate is not DER X.509.
    #[error("not an X.509 certificate: {0}")]
    Certificate(&'static str),
    /// Signing failed.
    #[error("signing failed")]
    Sign,
    /// The private key is not the certificate's.
    #[error(
        "the private key does not match the certificate's public key: signatures would not verify"
    )]
    Mismatch,
}

/// The DER bytes of the first PEM block labelled `label`.
pub fn pem(text: &str, label: &'static str) -> Result<Vec<u8>, KeyError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin).ok_or(KeyError::NoPem(label))? + begin.len();
    let stop = text[start..].find(&end).ok_or(KeyError::NoPem(label))? + start;
    let body: String = text[start..stop].split_whitespace().collect();
    Ok(STANDARD.decode(body)?)
}

/// The DER bytes of every PEM block labelled `label`, in order (none is not an error).
pub fn pem_all(text: &str, label: &'static str) -> Result<Vec<Vec<u8>>, KeyError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(&begin) {
        let start = i + begin.len();
        let stop = rest[start..].find(&end).ok_or(KeyError::NoPem(label))? + start;
        let body: String = rest[start..stop].split_whitespace().collect();
        out.push(STANDARD.decode(body)?);
        rest = &rest[stop + end.len()..];
    }
    Ok(out)
}

/// The certificates (DER) of the `ds:Signature` of `element`: its KeyInfo/X509Data
/// `X509Certificate`s in order, the signing one first; empty when there is none or one is not
/// base64.
pub fn key_info_certificates(doc: &Document, element: NodeId) -> Vec<Vec<u8>> {
    let Some(data) = kid(doc, element, DS, "Signature")
        .and_then(|s| kid(doc, s, DS, "KeyInfo"))
        .and_then(|k| kid(doc, k, DS, "X509Data"))
    else {
        return Vec::new();
    };
    crate::dom::kids(doc, data, DS, "X509Certificate")
        .map(|c| crate::mime::decode_base64(text(doc, c).as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_default()
}

/// A signing identity: the RSA key and its certificate.
pub struct Signer {
    key: RsaKeyPair,
    certificate: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").finish_non_exhaustive()
    }
}

impl Signer {
    /// From a PKCS#8 PEM key (`PRIVATE KEY`) and a PEM certificate.
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<Signer, KeyError> {
        let der = pem(key_pem, "PRIVATE KEY")?;
        let key = RsaKeyPair::from_pkcs8(&der).map_err(|e| {
            KeyError::Key(match e.to_string().as_str() {
                "WrongAlgorithm" => "it is not an RSA key (the VIHF is signed RSA-SHA256)".into(),
                "InvalidEncoding" => "its PKCS#8 encoding is broken".into(),
                "TooSmall" | "TooLarge" => format!("its size is refused by the signer ({e})"),
                other => other.to_string(),
            })
        })?;
        let certificate = pem(cert_pem, "CERTIFICATE")?;
        // A signature a verifier checks against the certificate's key: the two must pair.
        if spki_of(&certificate)? != key.public().as_ref() {
            return Err(KeyError::Mismatch);
        }
        Ok(Signer { key, certificate })
    }

    /// The subject DN of the certificate (`C=FR, O=…, CN=…`, in certificate order): the VIHF
    /// Issuer. The exact DN string form the DMP expects is UNVERIFIED.
    pub fn subject(&self) -> String {
        subject_of(&self.certificate).unwrap_or_default()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut sig = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                message,
                &mut sig,
            )
            .map_err(|_| KeyError::Sign)?;
        Ok(sig)
    }
}

fn sha256_b64(bytes: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(bytes))
}

fn signed_info(id: &str, digest: &str) -> String {
    format!(
        "<ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"/>\
         <ds:SignatureMethod Algorithm=\"{RSA_SHA256}\"/><ds:Reference URI=\"#{id}\">\
         <ds:Transforms><ds:Transform Algorithm=\"{ENVELOPED}\"/><ds:Transform Algorithm=\"{EXC_C14N}\"/>\
         </ds:Transforms><ds:DigestMethod Algorithm=\"{SHA256}\"/><ds:DigestValue>{digest}</ds:DigestValue>\
         </ds:Reference></ds:SignedInfo>"
    )
}

/// Why signing an XML fragment failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The fragment is not well-formed.
    #[error("the XML to sign is not well-formed: {0}")]
    Xml(#[from] segur_xml::ParseError),
    /// The root has no `ID` attribute, or `after` is not one of its children.
    #[error("the element to sign has no ID attribute or no `{0}` child")]
    Shape(String),
    /// The key failed.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Sign the root element of `xml` (which carries an `ID` attribute) with an enveloped
/// signature inserted right after its first child named `after` (a qualified name, e.g.
/// `saml2:Issuer`, where the SAML schema puts it). `xml` is a fragment without XML
/// declaration nor whitespace between elements that matter to the caller.
pub fn sign_enveloped(xml: &str, after: &str, signer: &Signer) -> Result<String, SignError> {
    let doc = Document::parse(xml.as_bytes(), &segur_xml::Limits::default())?;
    let root = doc
        .document_element()
        .ok_or_else(|| SignError::Shape(after.into()))?;
    let id = attr(&doc, root, "ID").ok_or_else(|| SignError::Shape(after.into()))?;
    let digest = sha256_b64(canonicalize(&doc, root, None).as_bytes());
    let close = format!("</{after}>");
    let at = xml
        .find(&close)
        .ok_or_else(|| SignError::Shape(after.into()))?
        + close.len();
    let info = signed_info(id, &digest);
    let placeholder = "\u{0}SIGNATURE-VALUE\u{0}";
    let cert = STANDARD.encode(&signer.certificate);
    let signature = format!(
        "<ds:Signature xmlns:ds=\"{DS}\">{info}<ds:SignatureValue>{placeholder}</ds:SignatureValue>\
         <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"
    );
    // SignedInfo canonicalized where it stands (its namespace context is that of the result).
    let with_info = format!(
        "{}{}{}",
        &xml[..at],
        signature.replace(placeholder, ""),
        &xml[at..]
    );
    let doc2 = Document::parse(with_info.as_bytes(), &segur_xml::Limits::default())?;
    let info_node = find_signed_info(&doc2).ok_or_else(|| SignError::Shape(after.into()))?;
    let value = STANDARD.encode(signer.sign(canonicalize(&doc2, info_node, None).as_bytes())?);
    Ok(format!(
        "{}{}{}",
        &xml[..at],
        signature.replace(placeholder, &value),
        &xml[at..]
    ))
}

fn find_signed_info(doc: &Document) -> Option<NodeId> {
    let root = doc.document_element()?;
    let sig = kid(doc, root, DS, "Signature")?;
    kid(doc, sig, DS, "SignedInfo")
}

/// Verify the enveloped signature of `element` (its `ds:Signature` child): `Ok(false)` when
/// it has none, `Err(why)` when it is wrong.
pub fn verify_enveloped(doc: &Document, element: NodeId) -> Result<bool, String> {
    let Some(sig) = kid(doc, element, DS, "Signature") else {
        return Ok(false);
    };
    let info = kid(doc, sig, DS, "SignedInfo").ok_or("no ds:SignedInfo")?;
    let alg = |parent: NodeId, local: &str| {
        kid(doc, parent, DS, local)
            .and_then(|n| attr(doc, n, "Algorithm"))
            .unwrap_or("")
            .to_string()
    };
    if alg(info, "CanonicalizationMethod") != EXC_C14N {
        return Err(format!(
            "canonicalization `{}` is not exclusive c14n",
            alg(info, "CanonicalizationMethod")
        ));
    }
    if alg(info, "SignatureMethod") != RSA_SHA256 {
        return Err(format!(
            "signature method `{}` is not rsa-sha256",
            alg(info, "SignatureMethod")
        ));
    }
    let reference = kid(doc, info, DS, "Reference").ok_or("no ds:Reference")?;
    let id = attr(doc, element, "ID").unwrap_or("");
    let uri = attr(doc, reference, "URI").unwrap_or("");
    if uri != format!("#{id}") {
        return Err(format!(
            "the Reference URI `{uri}` is not the signed element's ID `#{id}`"
        ));
    }
    if alg(reference, "DigestMethod") != SHA256 {
        return Err(format!(
            "digest method `{}` is not SHA-256",
            alg(reference, "DigestMethod")
        ));
    }
    let declared = kid(doc, reference, DS, "DigestValue")
        .map(|n| text(doc, n))
        .unwrap_or_default();
    let actual = sha256_b64(canonicalize(doc, element, Some(sig)).as_bytes());
    if declared != actual {
        return Err(format!(
            "the digest is `{declared}` but the signed content's is `{actual}`: altered after signing"
        ));
    }
    let value = kid(doc, sig, DS, "SignatureValue")
        .map(|n| text(doc, n))
        .unwrap_or_default();
    let value = crate::mime::decode_base64(value.as_bytes())
        .map_err(|e| format!("SignatureValue is not base64: {e}"))?;
    let cert = kid(doc, sig, DS, "KeyInfo")
        .and_then(|k| kid(doc, k, DS, "X509Data"))
        .and_then(|x| kid(doc, x, DS, "X509Certificate"))
        .map(|c| text(doc, c))
        .ok_or("no KeyInfo/X509Data/X509Certificate")?;
    let cert = crate::mime::decode_base64(cert.as_bytes())
        .map_err(|e| format!("X509Certificate is not base64: {e}"))?;
    let public = spki_of(&cert).map_err(|e| e.to_string())?;
    signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public)
        .verify(canonicalize(doc, info, None).as_bytes(), &value)
        .map_err(|_| "the SignatureValue does not verify with the certificate's key".to_string())?;
    Ok(true)
}

/// The subjectPublicKey bytes (for RSA, the RSAPublicKey DER) of a DER certificate.
fn spki_of(cert: &[u8]) -> Result<Vec<u8>, KeyError> {
    let (_, c) =
        X509Certificate::from_der(cert).map_err(|_| KeyError::Certificate("not DER X.509"))?;
    Ok(c.tbs_certificate
        .subject_pki
        .subject_public_key
        .data
        .to_vec())
}

/// The subject DN in certificate order (`C=FR, O=…, CN=…`).
fn subject_of(cert: &[u8]) -> Option<String> {
    let (_, c) = X509Certificate::from_der(cert).ok()?;
    Some(c.subject().to_string())
}
