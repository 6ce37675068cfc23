//! What a certificate says: subject and issuer, validity, key, key usage and EKU, policies,
//! the IGC-Santé structure identifier in the subject, SHA-256 fingerprint.

use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate, X509Name};

use x509_parser::public_key::PublicKey;

use crate::TlsError;

/// A certificate, decoded for people and for the lint (a stable JSON shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// Subject DN, RFC 4514 order (`CN=…,OU=…,O=…,C=FR`), control characters escaped
    /// ([`crate::printable`]).
    pub subject: String,
    /// Subject attributes in certificate (DER) order, values as in the certificate: escape
    /// them with [`crate::printable`] before printing.
    pub subject_attributes: Vec<NameAttribute>,
    /// Issuer DN, RFC 4514 order, control characters escaped.
    pub issuer: String,
    /// Issuer attributes in certificate (DER) order, values as in the certificate.
    pub issuer_attributes: Vec<NameAttribute>,
    /// Serial number, hexadecimal.
    pub serial: String,
    /// Start of validity, RFC 3339 UTC.
    pub not_before: String,
    /// End of validity, RFC 3339 UTC.
    pub not_after: String,
    /// Start of validity, Unix seconds.
    pub not_before_unix: i64,
    /// End of validity, Unix seconds.
    pub not_after_unix: i64,
    /// The subject's public key.
    pub key: KeyInfo,
    /// Signature algorithm of the issuer (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`…, or
    /// the OID).
    pub signature_algorithm: String,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// Subject and issuer DNs are equal (a root, or a self-signed certificate).
    pub self_issued: bool,
    /// keyUsage bits by RFC 5280 name (`digitalSignature`…); `None` when the extension is absent.
    pub key_usage: Option<Vec<String>>,
    /// extendedKeyUsage purposes (`clientAuth`, `serverAuth`…, or OIDs); `None` when absent.
    pub extended_key_usage: Option<Vec<String>>,
    /// certificatePolicies OIDs.
    pub policies: Vec<String>,
    /// subjectAltName entries (`DNS:…`, `IP:…`, `email:…`, `URI:…`), control characters
    /// escaped.
    pub subject_alt_names: Vec<String>,
    /// The structure identifier read from the subject OU, when one has the shape.
    pub structure_id: Option<StructureId>,
    /// SHA-256 of the DER, uppercase hex pairs separated by colons (as `openssl x509
    /// -fingerprint -sha256` prints it).
    pub sha256: String,
}

/// One attribute of a distinguished name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameAttribute {
    /// Short name (`CN`, `OU`, `O`, `ST`, `L`, `C`…) or the OID.
    #[serde(rename = "type")]
    pub kind: String,
    /// The value (`#hex` of the DER when it is not a string).
    pub value: String,
}

/// A public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// `RSA`, `EC`, `Ed25519`, `Ed448`, `DSA`, `RSASSA-PSS`, or the algorithm OID.
    pub algorithm: String,
    /// Size in bits (RSA modulus, EC curve order: 521 for P-521); 0 when unknown.
    pub bits: u32,
    /// Named curve for EC keys (`P-256`…, or the OID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
}

/// The structure identifier (`Struct_IdNat`) in a subject OU: a one-digit prefix naming the
/// register and the identifier in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StructureId {
    /// The whole OU value (e.g. `1990000016`).
    pub value: String,
    /// The register: `ADELI`, `FINESS`, `SIREN`, `SIRET` or `RPPS-rang`.
    pub register: &'static str,
    /// The identifier without its prefix.
    pub id: String,
}

impl StructureId {
    /// Read a `Struct_IdNat` (`0`+ADELI, `1`+FINESS, `2`+SIREN, `3`+SIRET, `4`+RPPS-rang) from
    /// an OU value; `None` when it does not have one of these shapes.
    pub fn parse(ou: &str) -> Option<StructureId> {
        let (prefix, id) = ou.split_at_checked(1)?;
        let digits = |n: usize| id.len() == n && id.bytes().all(|b| b.is_ascii_digit());
        let register = match prefix {
            "0" if digits(9) => "ADELI",
            // FINESS: 9 characters; Corsica's are 2A/2B, test numbers may carry letters.
            "1" if id.len() == 9 && id.bytes().all(|b| b.is_ascii_alphanumeric()) => "FINESS",
            "2" if digits(9) => "SIREN",
            "3" if digits(14) => "SIRET",
            "4" if id.len() >= 11 && id.bytes().take(11).all(|b| b.is_ascii_digit()) => "RPPS-rang",
            _ => return None,
        };
        Some(StructureId {
            value: ou.to_string(),
            register,
            id: id.to_string(),
        })
    }
}

impl CertInfo {
    /// Decode a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<CertInfo, TlsError> {
        let (rest, cert) = X509Certificate::from_der(der).map_err(x509_error)?;
        if !rest.is_empty() {
            return Err(TlsError::X509(format!(
                "{} trailing bytes after the certificate",
                rest.len()
            )));
        }
        let subject_attributes = attributes(cert.subject());
        let issuer_attributes = attributes(cert.issuer());
        let mut key_usage = None;
        let mut extended_key_usage = None;
        let mut policies = Vec::new();
        let mut subject_alt_names = Vec::new();
        let mut is_ca = false;
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::KeyUsage(ku) => key_usage = Some(key_usage_names(ku.flags)),
                ParsedExtension::ExtendedKeyUsage(eku) => extended_key_usage = Some(eku_names(eku)),
                ParsedExtension::CertificatePolicies(ps) => {
                    policies.extend(ps.iter().map(|p| p.policy_id.to_id_string()))
                }
                ParsedExtension::SubjectAlternativeName(san) => {
                    subject_alt_names.extend(san.general_names.iter().filter_map(general_name))
                }
                ParsedExtension::BasicConstraints(bc) => is_ca = bc.ca,
                _ => {}
            }
        }
        let structure_id = subject_attributes
            .iter()
            .filter(|a| a.kind == "OU")
            .find_map(|a| StructureId::parse(&a.value));
        let validity = cert.validity();
        Ok(CertInfo {
            subject: rfc4514(&subject_attributes),
            issuer: rfc4514(&issuer_attributes),
            self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
            subject_attributes,
            issuer_attributes,
            serial: hex(cert.raw_serial(), ""),
            not_before: rfc3339(validity.not_before.to_datetime()),
            not_after: rfc3339(validity.not_after.to_datetime()),
            not_before_unix: validity.not_before.timestamp(),
            not_after_unix: validity.not_after.timestamp(),
            key: key_info(&cert),
            signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
            is_ca,
            key_usage,
            extended_key_usage,
            policies,
            subject_alt_names,
            structure_id,
            sha256: hex(&sha256(der), ":").to_ascii_uppercase(),
        })
    }

    /// The first value of a subject attribute (`CN`, `O`…).
    pub fn subject_value(&self, kind: &str) -> Option<&str> {
        first(&self.subject_attributes, kind)
    }

    /// The first value of an issuer attribute.
    pub fn issuer_value(&self, kind: &str) -> Option<&str> {
        first(&self.issuer_attributes, kind)
    }
}

fn first<'a>(attrs: &'a [NameAttribute], kind: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|a| a.kind == kind)
        .map(|a| a.value.as_str())
}

/// An x509-parser error in words, on one line.
fn x509_error(e: x509_parser::nom::Err<x509_parser::error::X509Error>) -> TlsError {
    use x509_parser::error::X509Error;
    use x509_parser::nom::Err;
    TlsError::X509(match e {
        Err::Incomplete(_) => "the DER is cut short".into(),
        Err::Error(e) | Err::Failure(e) => match e {
            X509Error::Der(_) | X509Error::NomError(_) | X509Error::Generic => {
                "malformed DER (not the structure of a certificate)".into()
            }
            other => format!("malformed certificate ({other})"),
        },
    })
}

/// SHA-256 of some bytes.
pub(crate) fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

fn hex(bytes: &[u8], sep: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// RFC 3339 UTC, to the second.
pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn attributes(name: &X509Name<'_>) -> Vec<NameAttribute> {
    name.iter_attributes()
        .map(|a| {
            let oid = a.attr_type().to_id_string();
            NameAttribute {
                kind: attribute_name(&oid).map_or(oid, str::to_string),
                value: a
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|_| format!("#{}", hex(a.attr_value().data, ""))),
            }
        })
        .collect()
}

fn attribute_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.42" => "GN",
        "2.5.4.97" => "organizationIdentifier",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// RFC 4514: last RDN first, special characters escaped.
fn rfc4514(attrs: &[NameAttribute]) -> String {
    attrs
        .iter()
        .rev()
        .map(|a| format!("{}={}", a.kind, escape_dn_value(&a.value)))
        .collect::<Vec<_>>()
        .join(",")
}

/// RFC 4514 escaping of an attribute value, then control characters escaped for printing.
fn escape_dn_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let count = v.chars().count();
    for (i, c) in v.chars().enumerate() {
        let edge = (i == 0 && (c == ' ' || c == '#')) || (i + 1 == count && c == ' ');
        if edge || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    crate::printable(&out).into_owned()
}

fn key_usage_names(flags: u16) -> Vec<String> {
    const NAMES: [&str; 9] = [
        "digitalSignature",
        "nonRepudiation",
        "keyEncipherment",
        "dataEncipherment",
        "keyAgreement",
        "keyCertSign",
        "cRLSign",
        "encipherOnly",
        "decipherOnly",
    ];
    NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| flags & (1 << i) != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

fn eku_names(eku: &x509_parser::extensions::ExtendedKeyUsage<'_>) -> Vec<String> {
    let known = [
        (eku.any, "anyExtendedKeyUsage"),
        (eku.server_auth, "serverAuth"),
        (eku.client_auth, "clientAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
    ];
    known
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, n)| n.to_string())
        .chain(eku.other.iter().map(|o| o.to_id_string()))
        .collect()
}

fn general_name(n: &GeneralName<'_>) -> Option<String> {
    Some(match n {
        GeneralName::DNSName(d) => format!("DNS:{}", crate::printable(d)),
        GeneralName::RFC822Name(e) => format!("email:{}", crate::printable(e)),
        GeneralName::URI(u) => format!("URI:{}", crate::printable(u)),
        GeneralName::IPAddress(ip) => match ip.len() {
            4 => format!(
                "IP:{}",
                std::net::Ipv4Addr::from([ip[0], ip[1], ip[2], ip[3]])
            ),
            16 => {
                let mut b = [0u8; 16];
                b.copy_from_slice(ip);
                format!("IP:{}", std::net::Ipv6Addr::from(b))
            }
            _ => format!("IP:#{}", hex(ip, "")),
        },
        GeneralName::DirectoryName(name) => format!("DirName:{}", rfc4514(&attributes(name))),
        _ => return None,
    })
}

fn key_info(cert: &X509Certificate<'_>) -> KeyInfo {
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    let parsed = spki.parsed();
    let (algorithm, bits, curve) = match (oid.as_str(), &parsed) {
        ("1.2.840.113549.1.1.1", Ok(PublicKey::RSA(rsa))) => {
            ("RSA", modulus_bits(rsa.modulus), None)
        }
        ("1.2.840.113549.1.1.10", _) => (
            "RSASSA-PSS",
            rsa_pss_bits(&spki.subject_public_key.data),
            None,
        ),
        ("1.2.840.10045.2.1", Ok(PublicKey::EC(point))) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            // The curve's order, not the point's length: a P-521 point has 2 × 66 bytes.
            let (name, bits) = match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => (Some("P-256".to_string()), 256),
                Some("1.3.132.0.34") => (Some("P-384".to_string()), 384),
                Some("1.3.132.0.35") => (Some("P-521".to_string()), 521),
                Some("1.3.132.0.10") => (Some("secp256k1".to_string()), 256),
                Some("1.3.36.3.3.2.8.1.1.7") => (Some("brainpoolP256r1".to_string()), 256),
                Some("1.3.36.3.3.2.8.1.1.11") => (Some("brainpoolP384r1".to_string()), 384),
                Some("1.3.36.3.3.2.8.1.1.13") => (Some("brainpoolP512r1".to_string()), 512),
                other => (other.map(str::to_string), point.key_size() as u32),
            };
            ("EC", bits, name)
        }
        ("1.3.101.112", _) => ("Ed25519", 256, None),
        ("1.3.101.113", _) => ("Ed448", 456, None),
        ("1.2.840.10040.4.1", Ok(key)) => ("DSA", key.key_size() as u32, None),
        _ => {
            return KeyInfo {
                algorithm: oid,
                bits: parsed.map(|k| k.key_size() as u32).unwrap_or(0),
                curve: None,
            };
        }
    };
    KeyInfo {
        algorithm: algorithm.to_string(),
        bits,
        curve,
    }
}

/// Bits of a big-endian unsigned integer (leading zeros stripped).
fn modulus_bits(modulus: &[u8]) -> u32 {
    let Some(start) = modulus.iter().position(|&b| b != 0) else {
        return 0;
    };
    let len = (modulus.len() - start) as u32;
    len * 8 - modulus[start].leading_zeros()
}

fn rsa_pss_bits(key: &[u8]) -> u32 {
    use x509_parser::public_key::RSAPublicKey;
    RSAPublicKey::from_der(key)
        .map(|(_, k)| modulus_bits(k.modulus))
        .unwrap_or(0)
}

fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        other => return other.to_string(),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_ids_by_register() {
        let finess = StructureId::parse("10B0152872").expect("finess");
        assert_eq!(
            (finess.register, finess.id.as_str()),
            ("FINESS", "0B0152872")
        );
        assert_eq!(
            StructureId::parse("2123456789").map(|s| s.register),
            Some("SIREN")
        );
        assert_eq!(
            StructureId::parse("312345678900011").map(|s| s.register),
            Some("SIRET")
        );
        assert_eq!(StructureId::parse("IGC-SANTE TEST"), None);
        assert_eq!(StructureId::parse("0002 187512751"), None);
        assert_eq!(StructureId::parse("1"), None);
        assert_eq!(StructureId::parse("é"), None);
    }

    #[test]
    fn rfc4514_reverses_and_escapes() {
        let attrs = vec![
            NameAttribute {
                kind: "C".into(),
                value: "FR".into(),
            },
            NameAttribute {
                kind: "O".into(),
                value: "A, B".into(),
            },
            NameAttribute {
                kind: "CN".into(),
                value: " x".into(),
            },
        ];
        assert_eq!(rfc4514(&attrs), r"CN=\ x,O=A\, B,C=FR");
    }

    #[test]
    fn modulus_bits_strip_leading_zeros() {
        assert_eq!(modulus_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(modulus_bits(&[0x01, 0x00]), 9);
        assert_eq!(modulus_bits(&[]), 0);
    }
}
