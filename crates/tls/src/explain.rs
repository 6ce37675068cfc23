//! TLS failures in plain words: which side refused the handshake, and why (unknown CA,
//! expired, no client certificate sent, name mismatch, wrong EKU…).
//!
//! A refusal is seen in two ways. The side that refuses sees its own verdict
//! (`InvalidCertificate(…)`, `NoCertificatesPresented`) and sends an alert; the other side
//! sees only that alert (`AlertReceived(…)`). The alert mapping follows rustls (and OpenSSL,
//! which sends the same alerts for the same causes).

use rustls::{AlertDescription, CertificateError, Error};

/// The side of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The TLS client (replay, a load generator).
    Client,
    /// The TLS server (the sink, the DMP, an MSSanté operator).
    Server,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// Why a handshake failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reason {
    /// The certificate was not issued by a CA the refusing side trusts (or the chain was not
    /// sent whole).
    UnknownCa,
    /// The certificate has expired, or is not valid yet.
    Expired,
    /// The server requires a client certificate and the client sent none.
    NoClientCertificate,
    /// The server certificate does not name the host the client asked for.
    NameMismatch,
    /// The certificate's extended key usage does not allow this use (clientAuth or
    /// serverAuth missing).
    WrongPurpose,
    /// The certificate was revoked.
    Revoked,
    /// A signature did not verify (the key does not match, a tampered certificate).
    BadSignature,
    /// The certificate could not be used (bad encoding, unhandled critical extension).
    BadCertificate,
    /// No protocol version, cipher suite or signature scheme in common.
    NoCommonParameters,
    /// The peer closed the handshake with a generic failure.
    HandshakeFailure,
    /// Anything else.
    Other,
}

/// A handshake failure, explained.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    /// The side that refused.
    pub refused_by: Side,
    /// Whose certificate was refused, when a certificate was.
    pub certificate_of: Option<Side>,
    /// The reason.
    pub reason: Reason,
    /// One sentence for people.
    pub text: String,
}

/// Explain `err`, a rustls error seen by `local` (the side running this code).
pub fn explain(err: &Error, local: Side) -> Explanation {
    let peer = local.other();
    match err {
        Error::AlertReceived(alert) => from_alert(*alert, local, peer),
        Error::NoCertificatesPresented => Explanation {
            refused_by: local,
            certificate_of: Some(Side::Client),
            reason: Reason::NoClientCertificate,
            text: "the server requires a client certificate and the client sent none".into(),
        },
        Error::InvalidCertificate(e) => {
            let reason = certificate_error_reason(e);
            Explanation {
                refused_by: local,
                certificate_of: Some(peer),
                reason,
                text: format!(
                    "the {} refused the {}'s certificate: {}",
                    local.name(),
                    peer.name(),
                    certificate_error_text(e, peer)
                ),
            }
        }
        Error::PeerIncompatible(p) => Explanation {
            refused_by: local,
            certificate_of: None,
            reason: Reason::NoCommonParameters,
            text: format!(
                "the {} found nothing in common with the {} (TLS version, cipher suite or \
                 signature scheme): {p:?}",
                local.name(),
                peer.name()
            ),
        },
        other => Explanation {
            refused_by: local,
            certificate_of: None,
            reason: Reason::Other,
            text: format!(
                "the TLS handshake failed on the {} side: {other}",
                local.name()
            ),
        },
    }
}

fn from_alert(alert: AlertDescription, local: Side, peer: Side) -> Explanation {
    use AlertDescription as A;
    // A certificate alert from the server is about the client's certificate, and the reverse.
    let whose = local;
    let (reason, cert, why) = match alert {
        A::CertificateRequired => (
            Reason::NoClientCertificate,
            Some(Side::Client),
            "it requires a client certificate and none was sent".to_string(),
        ),
        A::UnknownCA => (
            Reason::UnknownCa,
            Some(whose),
            format!(
                "it does not trust the CA that issued the {}'s certificate (or the chain sent \
                 lacks the intermediate CA)",
                whose.name()
            ),
        ),
        A::CertificateExpired => (
            Reason::Expired,
            Some(whose),
            format!(
                "the {}'s certificate has expired or is not valid yet (check both clocks)",
                whose.name()
            ),
        ),
        A::UnsupportedCertificate => (
            Reason::WrongPurpose,
            Some(whose),
            format!(
                "the {}'s certificate is not for this use: its extendedKeyUsage lacks {}",
                whose.name(),
                purpose(whose)
            ),
        ),
        A::CertificateRevoked => (
            Reason::Revoked,
            Some(whose),
            format!("the {}'s certificate is revoked", whose.name()),
        ),
        A::BadCertificate | A::CertificateUnknown => (
            Reason::BadCertificate,
            Some(whose),
            format!(
                "it rejected the {}'s certificate without a precise reason ({alert:?}): \
                 check its chain, name and extensions",
                whose.name()
            ),
        ),
        A::DecryptError => (
            Reason::BadSignature,
            Some(whose),
            format!(
                "a signature from the {} did not verify (a key that does not match the \
                 certificate, a tampered chain, or two different CAs with the same name)",
                whose.name()
            ),
        ),
        A::ProtocolVersion | A::InsufficientSecurity => (
            Reason::NoCommonParameters,
            None,
            format!("no TLS version or cipher suite in common ({alert:?})"),
        ),
        A::HandshakeFailure => (
            Reason::HandshakeFailure,
            None,
            "it ended the handshake (handshake_failure); with TLS 1.2 servers this often means \
             no client certificate was sent, otherwise no cipher suite in common"
                .to_string(),
        ),
        A::AccessDenied => (
            Reason::Other,
            Some(whose),
            format!(
                "it accepted the certificate chain but its application denied access to the {}",
                whose.name()
            ),
        ),
        other => (Reason::Other, None, format!("it sent the alert {other:?}")),
    };
    Explanation {
        refused_by: peer,
        certificate_of: cert,
        reason,
        text: format!("the {} refused the handshake: {why}", peer.name()),
    }
}

fn purpose(whose: Side) -> &'static str {
    match whose {
        Side::Client => "clientAuth (1.3.6.1.5.5.7.3.2)",
        Side::Server => "serverAuth (1.3.6.1.5.5.7.3.1)",
    }
}

fn certificate_error_reason(e: &CertificateError) -> Reason {
    use CertificateError as E;
    match e {
        E::UnknownIssuer => Reason::UnknownCa,
        E::Expired | E::ExpiredContext { .. } | E::NotValidYet | E::NotValidYetContext { .. } => {
            Reason::Expired
        }
        E::NotValidForName | E::NotValidForNameContext { .. } => Reason::NameMismatch,
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => Reason::WrongPurpose,
        E::Revoked => Reason::Revoked,
        #[allow(deprecated)]
        E::BadSignature
        | E::UnsupportedSignatureAlgorithm
        | E::UnsupportedSignatureAlgorithmContext { .. }
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => Reason::BadSignature,
        E::UnknownRevocationStatus => Reason::Revoked,
        _ => Reason::BadCertificate,
    }
}

fn certificate_error_text(e: &CertificateError, whose: Side) -> String {
    use CertificateError as E;
    match e {
        E::UnknownIssuer => "it is not issued by a trusted CA (unknown CA, or the intermediate \
                             CA was not sent)"
            .into(),
        E::Expired | E::ExpiredContext { .. } => format!("it has expired ({e})"),
        E::NotValidYet | E::NotValidYetContext { .. } => format!("it is not valid yet ({e})"),
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            format!("it does not name the host that was asked for ({e})")
        }
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => {
            format!("its extendedKeyUsage lacks {} ({e})", purpose(whose))
        }
        E::Revoked => "it is revoked".into(),
        other => other.to_string(),
    }
}

/// A certificate verification error in plain words (for a client certificate).
pub fn certificate_reason(err: &Error) -> String {
    match err {
        Error::InvalidCertificate(e) => certificate_error_text(e, Side::Client),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_sees_the_server_refuse_an_unknown_ca() {
        let e = explain(
            &Error::AlertReceived(AlertDescription::UnknownCA),
            Side::Client,
        );
        assert_eq!(e.refused_by, Side::Server);
        assert_eq!(e.certificate_of, Some(Side::Client));
        assert_eq!(e.reason, Reason::UnknownCa);
        assert!(
            e.text.starts_with("the server refused the handshake"),
            "{}",
            e.text
        );
    }

    #[test]
    fn the_server_sees_no_client_certificate() {
        let e = explain(&Error::NoCertificatesPresented, Side::Server);
        assert_eq!(
            (e.refused_by, e.reason),
            (Side::Server, Reason::NoClientCertificate)
        );
    }

    #[test]
    fn the_client_refuses_a_server_name_mismatch() {
        let e = explain(
            &Error::InvalidCertificate(CertificateError::NotValidForName),
            Side::Client,
        );
        assert_eq!(
            (e.refused_by, e.certificate_of),
            (Side::Client, Some(Side::Server))
        );
        assert_eq!(e.reason, Reason::NameMismatch);
    }
}
