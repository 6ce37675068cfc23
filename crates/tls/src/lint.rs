//! What DMP and MSSanté expect of a software certificate (IGC-Santé ORG AUTH_CLI used for TLS
//! client authentication), as findings with stable ids. The catalogue is [`RULES`], documented
//! in `docs/rules.md` ("Certificates") with the source of each rule.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use segur_finding::{Finding, Location, RuleSource, Severity};

use crate::inspect::CertInfo;

/// A rule of the certificate lint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id (`SEGUR-CERT-…`).
    pub id: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// What it checks, in one line.
    pub summary: &'static str,
}

/// The certificate is past its notAfter.
pub const EXPIRED: Rule = Rule {
    id: "SEGUR-CERT-EXPIRED",
    severity: Severity::Error,
    summary: "the certificate has expired",
};
/// The certificate is before its notBefore.
pub const NOT_YET_VALID: Rule = Rule {
    id: "SEGUR-CERT-NOT-YET-VALID",
    severity: Severity::Error,
    summary: "the certificate is not valid yet",
};
/// The certificate expires within [`EXPIRY_WARNING_DAYS`].
pub const EXPIRES_SOON: Rule = Rule {
    id: "SEGUR-CERT-EXPIRES-SOON",
    severity: Severity::Warning,
    summary: "the certificate expires within 30 days",
};
/// An EKU extension without clientAuth.
pub const EKU_CLIENT_AUTH: Rule = Rule {
    id: "SEGUR-CERT-EKU-CLIENTAUTH",
    severity: Severity::Error,
    summary: "the extendedKeyUsage does not allow TLS client authentication",
};
/// No EKU extension.
pub const EKU_ABSENT: Rule = Rule {
    id: "SEGUR-CERT-EKU-ABSENT",
    severity: Severity::Warning,
    summary: "no extendedKeyUsage extension",
};
/// A keyUsage extension without digitalSignature.
pub const KU_DIGITAL_SIGNATURE: Rule = Rule {
    id: "SEGUR-CERT-KU-DIGITALSIGNATURE",
    severity: Severity::Error,
    summary: "the keyUsage does not allow digitalSignature",
};
/// No keyUsage extension.
pub const KU_ABSENT: Rule = Rule {
    id: "SEGUR-CERT-KU-ABSENT",
    severity: Severity::Warning,
    summary: "no keyUsage extension",
};
/// A weak or unusable public key.
pub const KEY_WEAK: Rule = Rule {
    id: "SEGUR-CERT-KEY-WEAK",
    severity: Severity::Error,
    summary: "weak public key (RSA < 2048 bits, EC < 256 bits, DSA)",
};
/// A SHA-1 or MD5 signature.
pub const SIGNATURE_WEAK: Rule = Rule {
    id: "SEGUR-CERT-SIGNATURE-WEAK",
    severity: Severity::Error,
    summary: "signed with SHA-1 or MD5",
};
/// No structure identifier in the subject OU.
pub const STRUCTURE_ID: Rule = Rule {
    id: "SEGUR-CERT-STRUCTURE-ID",
    severity: Severity::Error,
    summary: "no structure identifier (Struct_IdNat) in a subject OU",
};
/// A CA certificate used as a client identity.
pub const CA: Rule = Rule {
    id: "SEGUR-CERT-CA",
    severity: Severity::Error,
    summary: "a CA certificate (basicConstraints cA) is not a client identity",
};
/// An INSi CN that is not one of the two names INSi accepts.
pub const INSI_CN: Rule = Rule {
    id: "SEGUR-CERT-INSI-CN",
    severity: Severity::Warning,
    summary: "an INSi certificate's CN must be INSI-AUTO or INSI-MANU",
};
/// The issuer is not the IGC-Santé organisations CA.
pub const ISSUER: Rule = Rule {
    id: "SEGUR-CERT-ISSUER",
    severity: Severity::Info,
    summary: "not issued by AC IGC-SANTE ELEMENTAIRE ORGANISATIONS (or its TEST twin)",
};
/// The chain does not verify against the given roots.
pub const CHAIN: Rule = Rule {
    id: "SEGUR-CERT-CHAIN",
    severity: Severity::Error,
    summary: "the chain does not verify to the given trusted roots as a TLS client",
};

/// Every rule, in catalogue order.
pub const RULES: &[Rule] = &[
    EXPIRED,
    NOT_YET_VALID,
    EXPIRES_SOON,
    EKU_CLIENT_AUTH,
    EKU_ABSENT,
    KU_DIGITAL_SIGNATURE,
    KU_ABSENT,
    KEY_WEAK,
    SIGNATURE_WEAK,
    STRUCTURE_ID,
    CA,
    INSI_CN,
    ISSUER,
    CHAIN,
];

/// Days before notAfter from which [`EXPIRES_SOON`] warns.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// The CN of the IGC-Santé CA that issues ORG software certificates, and of its test twin.
pub const IGC_SANTE_ORG_CAS: [&str; 2] = [
    "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS",
    "TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS",
];

fn finding(rule: Rule, message: String) -> Finding {
    Finding {
        rule: rule.id.to_string(),
        severity: rule.severity,
        message,
        source: RuleSource {
            file: "segur".into(),
            line: None,
            version: concat!("segur ", env!("CARGO_PKG_VERSION")).into(),
        },
        rule_set: Some("segur-cert".into()),
        location: Location::default(),
    }
}

/// Lint a certificate meant as a DMP / MSSanté TLS client identity, at `now` (Unix seconds).
pub fn lint(cert: &CertInfo, now: i64) -> Vec<Finding> {
    let mut out = Vec::new();
    if now > cert.not_after_unix {
        out.push(finding(
            EXPIRED,
            format!(
                "expired on {} ({} days ago): servers refuse it in the handshake",
                cert.not_after,
                (now - cert.not_after_unix) / 86_400
            ),
        ));
    } else if now < cert.not_before_unix {
        out.push(finding(
            NOT_YET_VALID,
            format!(
                "not valid before {}: servers refuse it until then (or the clock is wrong)",
                cert.not_before
            ),
        ));
    } else if cert.not_after_unix - now < EXPIRY_WARNING_DAYS * 86_400 {
        out.push(finding(
            EXPIRES_SOON,
            format!(
                "expires on {} (in {} days): order its renewal",
                cert.not_after,
                (cert.not_after_unix - now) / 86_400
            ),
        ));
    }
    match &cert.extended_key_usage {
        None => out.push(finding(
            EKU_ABSENT,
            "no extendedKeyUsage: accepted by RFC 5280 verifiers, but an AUTH_CLI certificate \
             carries clientAuth"
                .into(),
        )),
        Some(ekus) if !ekus.iter().any(|e| e == "clientAuth") => out.push(finding(
            EKU_CLIENT_AUTH,
            format!(
                "extendedKeyUsage is [{}], without clientAuth (1.3.6.1.5.5.7.3.2): servers refuse \
                 it as a client certificate",
                ekus.join(", ")
            ),
        )),
        Some(_) => {}
    }
    match &cert.key_usage {
        None => out.push(finding(
            KU_ABSENT,
            "no keyUsage: an AUTH_CLI certificate carries digitalSignature".into(),
        )),
        Some(kus) if !kus.iter().any(|k| k == "digitalSignature") => out.push(finding(
            KU_DIGITAL_SIGNATURE,
            format!(
                "keyUsage is [{}], without digitalSignature: the key may not sign the TLS \
                 handshake",
                kus.join(", ")
            ),
        )),
        Some(_) => {}
    }
    let key = &cert.key;
    let weak = match key.algorithm.as_str() {
        "RSA" | "RSASSA-PSS" => key.bits < 2048,
        "EC" => key.bits < 256,
        "DSA" => true,
        _ => false,
    };
    if weak {
        out.push(finding(
            KEY_WEAK,
            format!("{} key of {} bits", key.algorithm, key.bits),
        ));
    }
    if weak_signature(&cert.signature_algorithm) {
        out.push(finding(
            SIGNATURE_WEAK,
            format!("signed with {}", cert.signature_algorithm),
        ));
    }
    if cert.structure_id.is_none() {
        let ous: Vec<_> = cert
            .subject_attributes
            .iter()
            .filter(|a| a.kind == "OU")
            .map(|a| crate::printable(&a.value))
            .collect();
        out.push(finding(
            STRUCTURE_ID,
            if ous.is_empty() {
                "the subject has no OU: an IGC-Santé ORG certificate carries the structure \
                 identifier there (1+FINESS, 2+SIREN, 3+SIRET…)"
                    .into()
            } else {
                format!(
                    "no subject OU is a structure identifier (1+FINESS, 2+SIREN, 3+SIRET…): OU = {}",
                    ous.join(" | ")
                )
            },
        ));
    }
    if cert.is_ca {
        out.push(finding(
            CA,
            "this is a CA certificate (basicConstraints cA=TRUE): use the end-entity certificate"
                .into(),
        ));
    }
    if let Some(cn) = cert.subject_value("CN")
        && cn.to_ascii_uppercase().starts_with("INSI")
        && cn != "INSI-AUTO"
        && cn != "INSI-MANU"
    {
        out.push(finding(
            INSI_CN,
            format!(
                "CN is `{}`: INSi accepts only INSI-AUTO or INSI-MANU",
                crate::printable(cn)
            ),
        ));
    }
    let issuer_cn = cert.issuer_value("CN").unwrap_or("");
    if !IGC_SANTE_ORG_CAS.contains(&issuer_cn) {
        out.push(finding(
            ISSUER,
            format!(
                "issued by `{}`, not by AC IGC-SANTE ELEMENTAIRE ORGANISATIONS: fine for a local \
                 test PKI, refused by the DMP and MSSanté",
                cert.issuer
            ),
        ));
    }
    out
}

/// Whether a certificate signature algorithm is one no verifier should accept (SHA-1, MD5).
fn weak_signature(algorithm: &str) -> bool {
    algorithm.contains("SHA1") || algorithm.starts_with("sha1") || algorithm.starts_with("md5")
}

/// Verify `chain` (leaf first, then intermediates) as a TLS client certificate against
/// `roots` at `now`, as a rustls server requiring client certificates would; a
/// [`CHAIN`] finding when it fails for a reason the other rules do not already report.
pub fn lint_chain(
    chain: &[CertificateDer<'_>],
    roots: RootCertStore,
    now: i64,
    leaf_findings: &[Finding],
) -> Option<Finding> {
    use rustls::CertificateError as E;
    let (leaf, intermediates) = chain.split_first()?;
    let verifier = match WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(crate::provider()),
    )
    .build()
    {
        Ok(v) => v,
        Err(e) => return Some(finding(CHAIN, format!("no usable trusted root: {e}"))),
    };
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now.max(0) as u64));
    let err = verifier
        .verify_client_cert(leaf, intermediates, now)
        .err()?;
    let reported = |rule: Rule| leaf_findings.iter().any(|f| f.rule == rule.id);
    // A validity error is the leaf's (already reported) only when the dates say so: an
    // expired intermediate under a valid leaf is this rule's to report.
    use crate::explain::{Bound, certificates_with};
    let leaf_only = |bound, t: UnixTime| certificates_with(chain, bound, t) == [0];
    let already = match &err {
        rustls::Error::InvalidCertificate(E::Expired) => reported(EXPIRED),
        rustls::Error::InvalidCertificate(E::ExpiredContext { not_after, .. }) => {
            reported(EXPIRED) && leaf_only(Bound::NotAfter, *not_after)
        }
        rustls::Error::InvalidCertificate(E::NotValidYet) => reported(NOT_YET_VALID),
        rustls::Error::InvalidCertificate(E::NotValidYetContext { not_before, .. }) => {
            reported(NOT_YET_VALID) && leaf_only(Bound::NotBefore, *not_before)
        }
        rustls::Error::InvalidCertificate(E::InvalidPurpose | E::InvalidPurposeContext { .. }) => {
            reported(EKU_CLIENT_AUTH)
        }
        // The leaf's weak signature is reported already; an intermediate's is this rule's.
        #[allow(deprecated)]
        rustls::Error::InvalidCertificate(
            E::UnsupportedSignatureAlgorithm
            | E::UnsupportedSignatureAlgorithmContext { .. }
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. },
        ) => {
            reported(SIGNATURE_WEAK)
                && intermediates.iter().all(|der| {
                    CertInfo::from_der(der).is_ok_and(|c| !weak_signature(&c.signature_algorithm))
                })
        }
        _ => false,
    };
    if already {
        return None;
    }
    Some(finding(
        CHAIN,
        format!(
            "as a TLS client certificate, a server trusting these roots refuses it: {}",
            crate::explain::certificate_reason_in_chain(&err, chain)
        ),
    ))
}
