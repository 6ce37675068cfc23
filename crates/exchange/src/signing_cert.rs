//! The certificate that signed a VIHF: valid at the assertion's `IssueInstant`, allowed to
//! sign (keyUsage digitalSignature), not a CA, and, when trust anchors are configured,
//! issued under one of them (in production the IGC-Santé CA of the structure's ORG SIGN
//! certificate, `specs/dmp_xds_mhd.md` §1.3).
//!
//! The trust anchors are process-wide, like the code tables: [`install_anchors`] them once
//! at start (the CLI does for `--vihf-ca`).

use std::sync::OnceLock;

use segur_finding::Finding;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::dsig::{KeyError, pem_all};
use crate::rules::finding;

/// Longest issuer chain followed.
const MAX_CHAIN: usize = 8;

/// Certificates trusted to issue VIHF signing certificates.
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    certs: Vec<Vec<u8>>,
}

impl TrustAnchors {
    /// Every `CERTIFICATE` of a PEM bundle; an error when there is none or one is not X.509.
    pub fn from_pem(text: &str) -> Result<TrustAnchors, KeyError> {
        let certs = pem_all(text, "CERTIFICATE")?;
        if certs.is_empty() {
            return Err(KeyError::NoPem("CERTIFICATE"));
        }
        for c in &certs {
            X509Certificate::from_der(c).map_err(|_| KeyError::Certificate("not DER X.509"))?;
        }
        Ok(TrustAnchors { certs })
    }

    /// How many anchors.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }
}

static ANCHORS: OnceLock<TrustAnchors> = OnceLock::new();

/// Makes `anchors` the process-wide VIHF trust anchors; only the first call has an effect.
pub fn install_anchors(anchors: TrustAnchors) -> bool {
    ANCHORS.set(anchors).is_ok()
}

/// The installed anchors, if any.
pub fn anchors() -> Option<&'static TrustAnchors> {
    ANCHORS.get()
}

/// Checks the signing certificate `leaf` (DER) of a VIHF issued at `at` (Unix seconds;
/// `None` when the assertion's IssueInstant does not parse), with `others` the further
/// certificates of its KeyInfo as candidate intermediates, against `anchors` when given.
/// Defects are SEGUR-ITI41-VIHF-CERT findings at `place`; the return value says what was
/// checked, for the report's notes.
pub fn check(
    leaf: &[u8],
    others: &[Vec<u8>],
    at: Option<i64>,
    anchors: Option<&TrustAnchors>,
    place: &str,
    out: &mut Vec<Finding>,
) -> String {
    let mut bad = |message: String| {
        out.push(finding(
            "SEGUR-ITI41-VIHF-CERT",
            place,
            format!("{place}: the VIHF signing certificate {message}"),
        ))
    };
    let Ok((_, cert)) = X509Certificate::from_der(leaf) else {
        bad("is not DER X.509".into());
        return "signing certificate unreadable".into();
    };
    match at {
        Some(t) => {
            let (from, to) = (
                cert.validity().not_before.timestamp(),
                cert.validity().not_after.timestamp(),
            );
            if t < from {
                bad(format!(
                    "was not yet valid at the assertion's IssueInstant ({} < notBefore {})",
                    crate::time::utc_dtm(t),
                    crate::time::utc_dtm(from)
                ));
            } else if t > to {
                bad(format!(
                    "had expired at the assertion's IssueInstant ({} > notAfter {})",
                    crate::time::utc_dtm(t),
                    crate::time::utc_dtm(to)
                ));
            }
        }
        None => bad("cannot be dated: the assertion's IssueInstant is not an xs:dateTime".into()),
    }
    match cert.key_usage() {
        Ok(Some(ku)) if !ku.value.digital_signature() => bad(format!(
            "has a keyUsage without digitalSignature ({})",
            ku.value
        )),
        Ok(_) => {}
        Err(e) => bad(format!("has an unreadable keyUsage: {e}")),
    }
    if let Ok(Some(bc)) = cert.basic_constraints()
        && bc.value.ca
    {
        bad("is a CA certificate (basicConstraints cA=TRUE), not the structure's signing certificate".into());
    }
    let Some(anchors) = anchors else {
        return "signing certificate dated and its key usage checked; chain not checked (no trust anchors configured)".into();
    };
    match chain(&cert, others, at, anchors) {
        Ok(depth) => format!(
            "signing certificate dated, key usage checked, and chained to a configured trust anchor ({depth} intermediate(s))"
        ),
        Err(why) => {
            bad(format!(
                "does not chain to the configured trust anchors: {why}"
            ));
            "signing certificate checked; chain refused".into()
        }
    }
}

/// The certificates of `ders` that parse.
fn parsed(ders: &[Vec<u8>]) -> Vec<X509Certificate<'_>> {
    ders.iter()
        .filter_map(|d| X509Certificate::from_der(d).ok().map(|(_, c)| c))
        .collect()
}

/// Follows issuers from `leaf` to an anchor: the number of intermediates, or why not.
fn chain(
    leaf: &X509Certificate<'_>,
    others: &[Vec<u8>],
    at: Option<i64>,
    anchors: &TrustAnchors,
) -> Result<usize, String> {
    let anchors = parsed(&anchors.certs);
    let intermediates = parsed(others);
    let mut current = leaf.clone();
    for depth in 0..MAX_CHAIN {
        let issuer = current.issuer().as_raw();
        if anchors.iter().any(|a| {
            a.subject().as_raw() == issuer && current.verify_signature(Some(a.public_key())).is_ok()
        }) {
            return Ok(depth);
        }
        let next = intermediates.iter().find(|c| {
            c.subject().as_raw() == issuer
                && c.subject().as_raw() != current.subject().as_raw()
                && current.verify_signature(Some(c.public_key())).is_ok()
        });
        let Some(next) = next else {
            return Err(if anchors.iter().any(|a| a.subject().as_raw() == issuer) {
                format!(
                    "its signature does not verify with the key of anchor `{}`",
                    current.issuer()
                )
            } else {
                format!(
                    "no anchor or carried intermediate is its issuer `{}`",
                    current.issuer()
                )
            });
        };
        let is_ca = matches!(next.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        if !is_ca {
            return Err(format!("intermediate `{}` is not a CA", next.subject()));
        }
        if let Some(t) = at
            && (t < next.validity().not_before.timestamp()
                || t > next.validity().not_after.timestamp())
        {
            return Err(format!(
                "intermediate `{}` was not valid at the assertion's IssueInstant",
                next.subject()
            ));
        }
        current = next.clone();
    }
    Err(format!("no anchor within {MAX_CHAIN} issuers"))
}
