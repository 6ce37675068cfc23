//! TLS failures in plain words: which side refused the handshake, and why (unknown CA,
//! expired, no client certificate sent, name mismatch, wrong EKU…).
//!
//! A refusal is seen in two ways. The side that refuses sees its own verdict
//! (`InvalidCertificate(…)`, `NoCertificatesPresented`) and sends an alert; the other side
//! sees only that alert (`AlertReceived(…)`). The alert mapping follows rustls (and OpenSSL,
//! which sends the same alerts for the same causes).
//!
//! Every text is one line for people: no Rust debug names, and certificate-derived text
//! (names, subjects) escaped with [`crate::printable`].

use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::{AlertDescription, CertificateError, Error, InconsistentKeys, InvalidMessage};

use crate::inspect::CertInfo;

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
    /// The peer does not speak TLS (a plaintext port, SMTP before STARTTLS, HTTP).
    NotTls,
    /// The peer closed or reset the connection without a TLS alert or close_notify.
    Closed,
    /// A private key does not match its certificate (a configuration error).
    KeyMismatch,
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
    explain_in(err, local, None)
}

/// Explain `err` knowing the chain the peer presented (leaf first), to name what expired.
///
/// As [`explain`], but a validity error names the certificate it is about: the leaf, or an
/// intermediate CA under a valid leaf.
pub fn explain_with_chain(
    err: &Error,
    local: Side,
    presented: &[CertificateDer<'_>],
) -> Explanation {
    explain_in(err, local, Some(presented))
}

/// Explain an I/O error of a TLS connection seen by `local`, or `None` when it is not TLS's.
///
/// A rustls error inside it, or the peer closing or resetting the connection without a TLS
/// alert (rustls' "peer closed connection without sending TLS close_notify").
pub fn explain_io(err: &std::io::Error, local: Side) -> Option<Explanation> {
    use std::io::ErrorKind;
    if let Some(e) = err.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
        return Some(explain(e, local));
    }
    let peer = local.other();
    let why = match err.kind() {
        ErrorKind::UnexpectedEof => format!(
            "the {} closed the connection without ending TLS properly (no close_notify alert): \
             it may have dropped the exchange, timed out or crashed, and what was received may \
             be cut short; look at the {}'s logs",
            peer.name(),
            peer.name()
        ),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => format!(
            "the {} reset the connection without a TLS alert: it may have refused the exchange \
             or crashed; look at its logs",
            peer.name()
        ),
        _ => return None,
    };
    Some(Explanation {
        refused_by: peer,
        certificate_of: None,
        reason: Reason::Closed,
        text: why,
    })
}

fn explain_in(err: &Error, local: Side, chain: Option<&[CertificateDer<'_>]>) -> Explanation {
    let mut e = explain_raw(err, local, chain);
    e.text = crate::printable(&e.text).into_owned();
    e
}

fn explain_raw(err: &Error, local: Side, chain: Option<&[CertificateDer<'_>]>) -> Explanation {
    let peer = local.other();
    let (l, p) = (local.name(), peer.name());
    let by_local = |reason, certificate_of, text: String| Explanation {
        refused_by: local,
        certificate_of,
        reason,
        text,
    };
    match err {
        Error::AlertReceived(alert) => from_alert(*alert, local, peer),
        Error::NoCertificatesPresented => match local {
            Side::Server => by_local(
                Reason::NoClientCertificate,
                Some(Side::Client),
                "the server requires a client certificate and the client sent none".into(),
            ),
            Side::Client => by_local(
                Reason::BadCertificate,
                Some(Side::Server),
                "the client refused the handshake: the server sent no certificate".into(),
            ),
        },
        Error::InvalidCertificate(e) => {
            let (reason, why) = certificate_error(e, peer, chain);
            by_local(
                reason,
                Some(peer),
                format!("the {l} refused the {p}'s certificate: {why}"),
            )
        }
        Error::PeerIncompatible(pi) => by_local(
            Reason::NoCommonParameters,
            None,
            format!(
                "the {l} found nothing in common with the {p}: {}",
                incompatible(&debug_name(pi), peer)
            ),
        ),
        Error::InvalidMessage(m) => match m {
            InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion => {
                by_local(Reason::NotTls, None, not_tls(local))
            }
            m => by_local(
                Reason::Other,
                None,
                format!(
                    "the {l} received a malformed TLS message from the {p} ({}): a TLS \
                     implementation fault, or something between them alters the traffic",
                    words(&debug_name(m))
                ),
            ),
        },
        Error::InappropriateMessage { got_type, .. } => by_local(
            Reason::Other,
            None,
            format!(
                "the {p} sent a TLS message out of turn ({}): a TLS implementation fault, or \
                 something between them alters the traffic",
                words(&debug_name(got_type))
            ),
        ),
        Error::InappropriateHandshakeMessage { got_type, .. } => by_local(
            Reason::Other,
            None,
            format!(
                "the {p} sent a TLS handshake message out of turn ({}): a TLS implementation \
                 fault, or something between them alters the traffic",
                words(&debug_name(got_type))
            ),
        ),
        Error::PeerMisbehaved(m) => by_local(
            Reason::Other,
            None,
            format!(
                "the {l} ended the handshake because the {p} broke the TLS protocol ({}): a TLS \
                 implementation fault, or something between them alters the traffic",
                words(&debug_name(m))
            ),
        ),
        Error::DecryptError => by_local(
            Reason::Other,
            None,
            format!(
                "a TLS record from the {p} did not decrypt: the traffic was altered on the way"
            ),
        ),
        Error::PeerSentOversizedRecord => by_local(
            Reason::Other,
            None,
            format!("the {p} sent a TLS record larger than TLS allows"),
        ),
        Error::NoApplicationProtocol => by_local(
            Reason::NoCommonParameters,
            None,
            format!("the {l} and the {p} have no application protocol (ALPN) in common"),
        ),
        Error::UnsupportedNameType => by_local(
            Reason::Other,
            None,
            "the server name asked for is neither a DNS name nor an IP address".into(),
        ),
        Error::InconsistentKeys(k) => by_local(
            Reason::KeyMismatch,
            Some(local),
            format!("the {l} cannot use its own identity: {}", key_text(*k)),
        ),
        Error::InvalidCertRevocationList(c) => by_local(
            Reason::Other,
            None,
            format!(
                "a certificate revocation list (CRL) given to the {l} is unusable ({}): fetch a \
                 current one from the CA",
                words(&debug_name(c))
            ),
        ),
        Error::FailedToGetCurrentTime => by_local(
            Reason::Other,
            None,
            format!("the {l} could not read the system clock to check certificates"),
        ),
        Error::FailedToGetRandomBytes => by_local(
            Reason::Other,
            None,
            format!("the {l} could not get random bytes from the system"),
        ),
        Error::General(text) => by_local(
            Reason::Other,
            None,
            format!("the TLS handshake failed on the {l} side: {text}"),
        ),
        Error::Other(o) => {
            let name = debug_name(&o.0);
            let why = match webpki_error(&name, peer) {
                Some((_, why)) => why,
                None => words(&name),
            };
            by_local(
                Reason::Other,
                None,
                format!("the TLS handshake failed on the {l} side: {why}"),
            )
        }
        other => by_local(
            Reason::Other,
            None,
            format!(
                "the TLS handshake failed on the {l} side ({})",
                words(&debug_name(other))
            ),
        ),
    }
}

/// What a side sees when its peer does not speak TLS.
fn not_tls(local: Side) -> String {
    match local {
        Side::Client => "the server did not answer in TLS (what it sent is not a TLS record): \
                         a plaintext port, a port that needs STARTTLS first (SMTP 25/587), or \
                         a proxy; use the TLS port, or STARTTLS"
            .into(),
        Side::Server => "the client did not speak TLS (what it sent is not a TLS record): a \
                         plaintext client (HTTP, SMTP) on the TLS port; it must connect with TLS"
            .into(),
    }
}

fn incompatible(name: &str, peer: Side) -> String {
    match name {
        "NoCipherSuitesInCommon" => "no cipher suite in common".into(),
        "NoKxGroupsInCommon" => "no key exchange group (curve) in common".into(),
        "NoSignatureSchemesInCommon" | "NoCertificateRequestSignatureSchemesInCommon" => format!(
            "no signature scheme in common (the key type of a certificate is not one the {} \
             accepts)",
            peer.name()
        ),
        "ServerDoesNotSupportTls12Or13"
        | "Tls12NotOffered"
        | "Tls12NotOfferedOrEnabled"
        | "SupportedVersionsExtensionRequired"
        | "ServerTlsVersionIsDisabledByOurConfig" => {
            "no TLS version in common (segur speaks TLS 1.2 and 1.3)".into()
        }
        other => format!(
            "{} (TLS version, cipher suite or signature scheme)",
            words(other)
        ),
    }
}

fn key_text(k: InconsistentKeys) -> String {
    match k {
        InconsistentKeys::KeyMismatch => "the private key does not match the certificate (it \
                                          belongs to another certificate): give the key that \
                                          was made with this certificate"
            .into(),
        InconsistentKeys::Unknown => "the public half of the private key cannot be computed, \
                                      so it cannot be checked against the certificate"
            .into(),
        other => format!(
            "the private key and the certificate disagree ({})",
            words(&debug_name(&other))
        ),
    }
}

/// A rustls error met building a configuration or checking an identity, in plain words.
pub fn material_error(err: &Error) -> String {
    let text = match err {
        Error::InconsistentKeys(k) => key_text(*k),
        Error::InvalidCertificate(e) => format!(
            "a certificate is not usable: {}",
            certificate_error(e, Side::Client, None).1
        ),
        Error::General(text) => format!("rustls refused the key or certificate: {text}"),
        Error::Other(o) => {
            let name = debug_name(&o.0);
            match webpki_error(&name, Side::Client) {
                Some((_, why)) => format!("a certificate is not usable: {why}"),
                None => format!("rustls refused the key or certificate ({})", words(&name)),
            }
        }
        other => format!(
            "rustls refused the key or certificate ({})",
            words(&debug_name(other))
        ),
    };
    crate::printable(&text).into_owned()
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
                "the {}'s certificate has expired or is not valid yet, or an intermediate CA \
                 of its chain is out of its validity period (check both clocks)",
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
                "it rejected the {}'s certificate without a precise reason ({}): check its \
                 chain, name and extensions",
                whose.name(),
                words(&debug_name(&alert))
            ),
        ),
        A::BadCertificateStatusResponse => (
            Reason::BadCertificate,
            Some(whose),
            format!(
                "it found the OCSP status stapled by the {} invalid",
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
            format!(
                "no TLS version or cipher suite in common ({})",
                words(&debug_name(&alert))
            ),
        ),
        A::NoApplicationProtocol => (
            Reason::NoCommonParameters,
            None,
            "no application protocol (ALPN) in common".to_string(),
        ),
        A::MissingExtension | A::UnsupportedExtension => (
            Reason::NoCommonParameters,
            None,
            format!(
                "the {}'s hello lacks an extension it requires, or carries one it refuses ({})",
                local.name(),
                words(&debug_name(&alert))
            ),
        ),
        A::UnrecognisedName => (
            Reason::NameMismatch,
            Some(Side::Server),
            "it has no certificate for the server name the client asked for (SNI)".to_string(),
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
        A::DecodeError
        | A::IllegalParameter
        | A::UnexpectedMessage
        | A::BadRecordMac
        | A::RecordOverflow
        | A::DecryptionFailed
        | A::DecompressionFailure => (
            Reason::Other,
            None,
            format!(
                "it could not read what the {} sent ({}): a TLS implementation fault, or \
                 something between them alters the traffic",
                local.name(),
                words(&debug_name(&alert))
            ),
        ),
        A::InternalError => (
            Reason::Other,
            None,
            format!(
                "it failed internally (internal_error): look at the {}'s logs",
                peer.name()
            ),
        ),
        A::CloseNotify | A::UserCanceled => (
            Reason::Closed,
            None,
            format!("it closed the connection ({})", words(&debug_name(&alert))),
        ),
        A::Unknown(code) => (
            Reason::Other,
            None,
            format!("it sent an alert that TLS does not define (code {code})"),
        ),
        other => (
            Reason::Other,
            None,
            format!("it sent the alert {}", words(&debug_name(&other))),
        ),
    };
    Explanation {
        refused_by: peer,
        certificate_of: cert,
        reason,
        text: crate::printable(&format!("the {} refused the handshake: {why}", peer.name()))
            .into_owned(),
    }
}

fn purpose(whose: Side) -> &'static str {
    match whose {
        Side::Client => "clientAuth (1.3.6.1.5.5.7.3.2)",
        Side::Server => "serverAuth (1.3.6.1.5.5.7.3.1)",
    }
}

/// Which validity bound of a certificate an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// notBefore.
    NotBefore,
    /// notAfter.
    NotAfter,
}

/// The positions in `chain` (leaf first) of the certificates whose `bound` is `t`.
pub(crate) fn certificates_with(
    chain: &[CertificateDer<'_>],
    bound: Bound,
    t: UnixTime,
) -> Vec<usize> {
    let t = i64::try_from(t.as_secs()).unwrap_or(i64::MAX);
    chain
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let info = CertInfo::from_der(c).ok()?;
            let at = match bound {
                Bound::NotBefore => info.not_before_unix,
                Bound::NotAfter => info.not_after_unix,
            };
            (at == t).then_some(i)
        })
        .collect()
}

fn date(t: UnixTime) -> String {
    let secs = i64::try_from(t.as_secs()).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(crate::inspect::rfc3339)
        .unwrap_or_else(|_| format!("{secs} (Unix time)"))
}

fn span(from: UnixTime, to: UnixTime) -> String {
    let secs = to.as_secs().abs_diff(from.as_secs());
    match secs {
        0..120 => format!("{secs} seconds"),
        120..7200 => format!("{} minutes", secs / 60),
        7200..172_800 => format!("{} hours", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

/// Names the certificate of `chain` at `position` for a sentence about the refused one.
fn chain_member(chain: &[CertificateDer<'_>], position: usize) -> String {
    let subject = CertInfo::from_der(&chain[position])
        .map(|i| i.subject)
        .unwrap_or_else(|_| "(unreadable)".into());
    format!(
        "its intermediate CA `{subject}` (certificate {} of the chain)",
        position + 1
    )
}

/// A validity error in words, naming the certificate when the chain tells which.
fn validity_text(
    bound: Bound,
    time: Option<(UnixTime, UnixTime)>,
    chain: Option<&[CertificateDer<'_>]>,
) -> String {
    // Without the chain the verdict cannot tell the leaf from an intermediate: say both.
    let Some((now, at)) = time else {
        return match bound {
            Bound::NotAfter => "it has expired, or an intermediate CA of its chain has (or the \
                                validity dates are inconsistent): renew it, or check the clocks"
                .into(),
            Bound::NotBefore => "it is not valid yet, or an intermediate CA of its chain is \
                                 not: wait, or check both clocks"
                .into(),
        };
    };
    let (when, gap) = (date(at), span(now, at));
    let positions = chain
        .map(|c| certificates_with(c, bound, at))
        .unwrap_or_default();
    match (bound, positions.as_slice()) {
        (Bound::NotAfter, [0]) => format!("it has expired (on {when}, {gap} ago): renew it"),
        (Bound::NotAfter, &[i]) => format!(
            "{} expired on {when} ({gap} ago), though the certificate itself is valid: send \
             the intermediate CA certificate now in force with it",
            chain_member(chain.unwrap_or_default(), i)
        ),
        (Bound::NotBefore, [0]) => {
            format!("it is not valid yet (not before {when}, in {gap}): wait, or check both clocks")
        }
        (Bound::NotBefore, &[i]) => format!(
            "{} is not valid before {when} (in {gap}), though the certificate itself is: wait, \
             or check both clocks",
            chain_member(chain.unwrap_or_default(), i)
        ),
        (Bound::NotAfter, _) => format!(
            "it has expired, or an intermediate CA of its chain has: a certificate of the chain \
             (the leaf or an intermediate) expired on {when} ({gap} ago); renew it, or check \
             the clocks"
        ),
        (Bound::NotBefore, _) => format!(
            "it is not valid yet, or an intermediate CA of its chain is not: a certificate of \
             the chain (the leaf or an intermediate) is not valid before {when} (in {gap}); \
             wait, or check both clocks"
        ),
    }
}

/// A certificate verification error: its reason and its words (after "the certificate: ").
fn certificate_error(
    e: &CertificateError,
    whose: Side,
    chain: Option<&[CertificateDer<'_>]>,
) -> (Reason, String) {
    use CertificateError as E;
    match e {
        E::UnknownIssuer => (
            Reason::UnknownCa,
            "it is not issued by a trusted CA (unknown CA, or the intermediate CA was not \
             sent): trust its root CA, or send the chain with its intermediate"
                .into(),
        ),
        E::Expired => (Reason::Expired, validity_text(Bound::NotAfter, None, chain)),
        E::ExpiredContext { time, not_after } => (
            Reason::Expired,
            validity_text(Bound::NotAfter, Some((*time, *not_after)), chain),
        ),
        E::NotValidYet => (
            Reason::Expired,
            validity_text(Bound::NotBefore, None, chain),
        ),
        E::NotValidYetContext { time, not_before } => (
            Reason::Expired,
            validity_text(Bound::NotBefore, Some((*time, *not_before)), chain),
        ),
        E::NotValidForName => (
            Reason::NameMismatch,
            "it does not name the host that was asked for: connect with a name it carries, or \
             get a certificate for this name"
                .into(),
        ),
        E::NotValidForNameContext {
            expected,
            presented,
        } => {
            let names = if presented.is_empty() {
                "it names no host".to_string()
            } else {
                format!("it names {}", presented.join(", "))
            };
            (
                Reason::NameMismatch,
                format!(
                    "it does not name the host that was asked for ({} is not among its names; \
                     {names}): connect with a name it carries, or get a certificate for this \
                     name",
                    expected.to_str()
                ),
            )
        }
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => (
            Reason::WrongPurpose,
            format!(
                "its extendedKeyUsage lacks {}: it needs a certificate made for TLS {} \
                 authentication",
                purpose(whose),
                whose.name()
            ),
        ),
        E::Revoked => (
            Reason::Revoked,
            "it (or a CA of its chain) is revoked by its CA: get a new certificate".into(),
        ),
        E::UnknownRevocationStatus => (
            Reason::Revoked,
            "its revocation status could not be told (no CRL given covers it)".into(),
        ),
        E::ExpiredRevocationList | E::ExpiredRevocationListContext { .. } => (
            Reason::Revoked,
            "the CRL that should tell whether it is revoked has expired: fetch a current CRL"
                .into(),
        ),
        E::BadEncoding => (
            Reason::BadCertificate,
            "it is not a well-formed X.509 certificate (bad DER encoding): re-export it from \
             its source"
                .into(),
        ),
        E::UnhandledCriticalExtension => (
            Reason::BadCertificate,
            "it carries an extension marked critical that the verifier does not handle: ask \
             the CA for a certificate without it"
                .into(),
        ),
        E::BadSignature => (
            Reason::BadSignature,
            "its signature does not verify with its issuer's key (a tampered certificate, or \
             a different CA with the same name as the one trusted)"
                .into(),
        ),
        #[allow(deprecated)]
        E::UnsupportedSignatureAlgorithm
        | E::UnsupportedSignatureAlgorithmContext { .. }
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => (
            Reason::BadSignature,
            "it is signed with an algorithm the verifier does not accept (e.g. SHA-1, DSA, or \
             a key type that does not match the signature): ask for a certificate signed with \
             SHA-256 or better"
                .into(),
        ),
        E::InvalidOcspResponse => (
            Reason::BadCertificate,
            "the OCSP status stapled with it is invalid".into(),
        ),
        E::ApplicationVerificationFailure => (
            Reason::Other,
            "the chain verified, but the application refused this certificate".into(),
        ),
        E::Other(o) => {
            let name = debug_name(&o.0);
            webpki_error(&name, whose).unwrap_or_else(|| {
                (
                    Reason::BadCertificate,
                    format!("the certificate verifier refused it ({})", words(&name)),
                )
            })
        }
        other => (
            Reason::BadCertificate,
            format!(
                "the certificate verifier refused it ({})",
                words(&debug_name(other))
            ),
        ),
    }
}

/// rustls-webpki errors that rustls passes on only as `OtherError`, by variant name (the
/// crate is not a direct dependency, so its type cannot be named to downcast).
fn webpki_error(name: &str, whose: Side) -> Option<(Reason, String)> {
    let w = whose.name();
    let bad = |text: String| Some((Reason::BadCertificate, text));
    match name {
        "CaUsedAsEndEntity" => bad(format!(
            "it is a CA certificate (basicConstraints cA=TRUE) presented as the {w}'s own: \
             configure the {w} with its end-entity (leaf) certificate, not a CA's"
        )),
        "EndEntityUsedAsCa" => bad(
            "a certificate of its chain that should be a CA is an end-entity one (no \
             basicConstraints cA=TRUE): the chain is in the wrong order, or holds a leaf where \
             the intermediate CA belongs; send the leaf first, then its intermediate CA"
                .into(),
        ),
        "UnsupportedCriticalExtension" => bad(
            "it carries an extension marked critical that the verifier does not support: ask \
             the CA for a certificate without it"
                .into(),
        ),
        "CertDistrusted" => bad("its public key is explicitly distrusted".into()),
        "EmptyEkuExtension" => Some((
            Reason::WrongPurpose,
            format!(
                "its extendedKeyUsage extension is empty (allows no use at all): it needs {}",
                purpose(whose)
            ),
        )),
        "ExtensionValueInvalid" | "MalformedExtensions" => bad(
            "its extensions are malformed (e.g. a duplicate extension, or a host name outside \
             subjectAltName): ask the CA for a well-formed certificate"
                .into(),
        ),
        "InvalidSerialNumber" => {
            bad("its serial number is malformed (negative, or longer than 20 bytes)".into())
        }
        "InvalidCertValidity" => Some((
            Reason::Expired,
            "its validity dates are inconsistent (notAfter before notBefore)".into(),
        )),
        "BadDer" | "BadDerTime" | "TrailingData" => bad(
            "it is not a well-formed X.509 certificate (bad DER encoding): re-export it from \
             its source"
                .into(),
        ),
        "UnsupportedCertVersion" => {
            bad("it is not an X.509 version 3 certificate: ask the CA for a v3 certificate".into())
        }
        "SignatureAlgorithmMismatch" => Some((
            Reason::BadSignature,
            "its two signature algorithm fields disagree (a malformed or tampered certificate)"
                .into(),
        )),
        "MalformedDnsIdentifier" => Some((
            Reason::NameMismatch,
            "a host name in it, or the name asked for, is not a valid DNS name".into(),
        )),
        "UnsupportedNameType" => Some((
            Reason::NameMismatch,
            "the name asked for is of a type the verifier does not handle".into(),
        )),
        "NameConstraintViolation" | "MalformedNameConstraint" | "InvalidNetworkMaskConstraint" => {
            bad(
                "its names fall outside what its CA may certify (name constraints), or the \
             constraints are malformed"
                    .into(),
            )
        }
        "PathLenConstraintViolated" => {
            bad("its chain holds more intermediate CAs than a CA's pathLenConstraint allows".into())
        }
        "MaximumPathDepthExceeded"
        | "MaximumPathBuildCallsExceeded"
        | "MaximumSignatureChecksExceeded"
        | "MaximumNameConstraintComparisonsExceeded" => bad(
            "its chain is too long or too tangled to verify (too many intermediate or \
             cross-signed CAs): send only the leaf and its own intermediate CA"
                .into(),
        ),
        "CertRevoked" => Some((
            Reason::Revoked,
            "it (or a CA of its chain) is revoked by its CA".into(),
        )),
        "UnknownRevocationStatus" => Some((
            Reason::Revoked,
            "its revocation status could not be told (no CRL given covers it)".into(),
        )),
        "CrlExpired"
        | "InvalidCrlNumber"
        | "InvalidCrlSignatureForPublicKey"
        | "IssuerNotCrlSigner"
        | "UnsupportedCrlIssuingDistributionPoint"
        | "UnsupportedCrlVersion"
        | "UnsupportedDeltaCrl"
        | "UnsupportedIndirectCrl"
        | "UnsupportedRevocationReason"
        | "UnsupportedRevocationReasonsPartitioning"
        | "UnsupportedCrlSignatureAlgorithm"
        | "UnsupportedCrlSignatureAlgorithmContext"
        | "UnsupportedCrlSignatureAlgorithmForPublicKey"
        | "UnsupportedCrlSignatureAlgorithmForPublicKeyContext" => Some((
            Reason::Revoked,
            format!(
                "the CRL that should tell whether it is revoked is unusable ({}): fetch a \
                 current CRL from its CA",
                words(name)
            ),
        )),
        "InvalidSignatureForPublicKey" => Some((
            Reason::BadSignature,
            "its signature does not verify with its issuer's key (a tampered certificate, or \
             a different CA with the same name as the one trusted)"
                .into(),
        )),
        "UnsupportedSignatureAlgorithm"
        | "UnsupportedSignatureAlgorithmContext"
        | "UnsupportedSignatureAlgorithmForPublicKey"
        | "UnsupportedSignatureAlgorithmForPublicKeyContext" => Some((
            Reason::BadSignature,
            "it is signed with an algorithm the verifier does not accept".into(),
        )),
        "RequiredEkuNotFound" | "RequiredEkuNotFoundContext" => Some((
            Reason::WrongPurpose,
            format!("its extendedKeyUsage lacks {}", purpose(whose)),
        )),
        "UnknownIssuer" => Some((Reason::UnknownCa, "it is not issued by a trusted CA".into())),
        "CertExpired" | "CertNotValidYet" => Some((
            Reason::Expired,
            "a certificate of its chain (the leaf or an intermediate CA) is out of its validity \
             period"
                .into(),
        )),
        "CertNotValidForName" => Some((
            Reason::NameMismatch,
            "it does not name the host that was asked for".into(),
        )),
        _ => None,
    }
}

/// The variant name at the start of a `Debug` rendering (`CaUsedAsEndEntity`,
/// `TrailingData(…)` → `TrailingData`).
fn debug_name(value: &dyn std::fmt::Debug) -> String {
    let text = format!("{value:?}");
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// A CamelCase name as lowercase words (`NoKxGroupsInCommon` → `no kx groups in common`).
fn words(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let starts_word = c.is_ascii_uppercase()
            && i > 0
            && (!chars[i - 1].is_ascii_uppercase()
                || chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase()));
        if starts_word {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    if out.is_empty() {
        "no detail".into()
    } else {
        out
    }
}

/// A certificate verification error in plain words (for a client certificate).
pub fn certificate_reason(err: &Error) -> String {
    match err {
        Error::InvalidCertificate(e) => {
            crate::printable(&certificate_error(e, Side::Client, None).1).into_owned()
        }
        other => explain(other, Side::Server).text,
    }
}

/// A client certificate verification error in plain words, naming what expired in `chain`.
pub fn certificate_reason_in_chain(err: &Error, chain: &[CertificateDer<'_>]) -> String {
    match err {
        Error::InvalidCertificate(e) => {
            crate::printable(&certificate_error(e, Side::Client, Some(chain)).1).into_owned()
        }
        other => explain(other, Side::Server).text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant of rustls-webpki 0.103's `Error`: rustls passes those it does not map as
    /// `CertificateError::Other(OtherError(…))`.
    const WEBPKI: &[&str] = &[
        "BadDer",
        "BadDerTime",
        "CaUsedAsEndEntity",
        "CertDistrusted",
        "CertExpired",
        "CertNotValidForName",
        "CertNotValidYet",
        "CertRevoked",
        "CrlExpired",
        "EmptyEkuExtension",
        "EndEntityUsedAsCa",
        "ExtensionValueInvalid",
        "InvalidCertValidity",
        "InvalidCrlNumber",
        "InvalidNetworkMaskConstraint",
        "InvalidSerialNumber",
        "InvalidCrlSignatureForPublicKey",
        "InvalidSignatureForPublicKey",
        "IssuerNotCrlSigner",
        "MalformedDnsIdentifier",
        "MalformedExtensions",
        "MalformedNameConstraint",
        "MaximumNameConstraintComparisonsExceeded",
        "MaximumPathBuildCallsExceeded",
        "MaximumPathDepthExceeded",
        "MaximumSignatureChecksExceeded",
        "NameConstraintViolation",
        "PathLenConstraintViolated",
        "RequiredEkuNotFound",
        "RequiredEkuNotFoundContext",
        "SignatureAlgorithmMismatch",
        "TrailingData",
        "UnknownIssuer",
        "UnknownRevocationStatus",
        "UnsupportedCertVersion",
        "UnsupportedCriticalExtension",
        "UnsupportedCrlIssuingDistributionPoint",
        "UnsupportedCrlVersion",
        "UnsupportedDeltaCrl",
        "UnsupportedIndirectCrl",
        "UnsupportedNameType",
        "UnsupportedRevocationReason",
        "UnsupportedRevocationReasonsPartitioning",
        "UnsupportedCrlSignatureAlgorithm",
        "UnsupportedCrlSignatureAlgorithmContext",
        "UnsupportedSignatureAlgorithm",
        "UnsupportedSignatureAlgorithmContext",
        "UnsupportedCrlSignatureAlgorithmForPublicKey",
        "UnsupportedCrlSignatureAlgorithmForPublicKeyContext",
        "UnsupportedSignatureAlgorithmForPublicKey",
        "UnsupportedSignatureAlgorithmForPublicKeyContext",
    ];

    /// An error whose `Debug` is a webpki variant's, as rustls wraps it.
    struct Fake(&'static str);

    impl std::fmt::Debug for Fake {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            // Some variants carry data: `TrailingData(Certificate)`.
            write!(f, "{}(Certificate)", self.0)
        }
    }

    impl std::fmt::Display for Fake {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{self:?}")
        }
    }

    impl std::error::Error for Fake {}

    fn other(name: &'static str) -> rustls::OtherError {
        rustls::OtherError(std::sync::Arc::new(Fake(name)))
    }

    fn assert_plain(text: &str, name: &str) {
        assert!(!text.contains(name), "{name} in {text}");
        assert!(!text.contains("Other"), "{text}");
        assert!(!text.contains("(Certificate)"), "{text}");
        assert!(!text.chars().any(char::is_control), "{text:?}");
    }

    #[test]
    fn every_webpki_error_is_explained_in_words() {
        for &name in WEBPKI {
            assert!(webpki_error(name, Side::Client).is_some(), "{name}");
            let err = Error::InvalidCertificate(CertificateError::Other(other(name)));
            for local in [Side::Client, Side::Server] {
                let e = explain(&err, local);
                assert_plain(&e.text, name);
                assert_eq!(e.refused_by, local);
                assert_ne!(e.reason, Reason::Other, "{name}");
            }
            assert_plain(&certificate_reason(&err), name);
            assert_plain(&material_error(&Error::Other(other(name))), name);
            assert_plain(
                &explain(&Error::Other(other(name)), Side::Client).text,
                name,
            );
        }
    }

    #[test]
    fn an_unknown_wrapped_error_reads_as_words() {
        let err = Error::InvalidCertificate(CertificateError::Other(other("SomethingNewHere")));
        let e = explain(&err, Side::Server);
        assert!(e.text.contains("(something new here)"), "{}", e.text);
    }

    #[test]
    fn rustls_certificate_errors_are_explained_in_words() {
        use CertificateError as E;
        #[allow(deprecated)]
        let cases = [
            (E::BadEncoding, "BadEncoding", Reason::BadCertificate),
            (E::BadSignature, "BadSignature", Reason::BadSignature),
            (
                E::UnhandledCriticalExtension,
                "UnhandledCriticalExtension",
                Reason::BadCertificate,
            ),
            (
                E::UnsupportedSignatureAlgorithm,
                "UnsupportedSignatureAlgorithm",
                Reason::BadSignature,
            ),
            (
                E::UnknownRevocationStatus,
                "UnknownRevocationStatus",
                Reason::Revoked,
            ),
            (
                E::ExpiredRevocationList,
                "ExpiredRevocationList",
                Reason::Revoked,
            ),
            (
                E::InvalidOcspResponse,
                "InvalidOcspResponse",
                Reason::BadCertificate,
            ),
            (E::Revoked, "Revoked", Reason::Revoked),
            (E::Expired, "Expired", Reason::Expired),
            (E::NotValidYet, "NotValidYet", Reason::Expired),
            (E::InvalidPurpose, "InvalidPurpose", Reason::WrongPurpose),
        ];
        for (err, name, reason) in cases {
            let e = explain(&Error::InvalidCertificate(err), Side::Server);
            assert_plain(&e.text, name);
            assert_eq!(e.reason, reason, "{name}");
        }
    }

    #[test]
    fn protocol_errors_are_explained_in_words() {
        let cases = [
            Error::InvalidMessage(InvalidMessage::InvalidContentType),
            Error::InvalidMessage(InvalidMessage::MessageTooShort),
            Error::InconsistentKeys(InconsistentKeys::KeyMismatch),
            Error::InconsistentKeys(InconsistentKeys::Unknown),
            Error::PeerIncompatible(rustls::PeerIncompatible::NoCipherSuitesInCommon),
            Error::PeerIncompatible(rustls::PeerIncompatible::Tls12NotOffered),
            Error::PeerMisbehaved(rustls::PeerMisbehaved::BadCertChainExtensions),
            Error::DecryptError,
            Error::NoApplicationProtocol,
            Error::PeerSentOversizedRecord,
            Error::FailedToGetCurrentTime,
            Error::HandshakeNotComplete,
            Error::InvalidCertRevocationList(rustls::CertRevocationListError::BadSignature),
        ];
        for err in cases {
            let name = debug_name(&err);
            for local in [Side::Client, Side::Server] {
                let e = explain(&err, local);
                assert!(!e.text.contains(&format!("{err:?}")), "{}", e.text);
                assert!(!e.text.contains(&name), "{name}: {}", e.text);
                assert!(!e.text.contains("Some("), "{}", e.text);
            }
        }
        let e = explain(
            &Error::InvalidMessage(InvalidMessage::InvalidContentType),
            Side::Client,
        );
        assert_eq!(e.reason, Reason::NotTls);
        let e = explain(
            &Error::InconsistentKeys(InconsistentKeys::KeyMismatch),
            Side::Server,
        );
        assert_eq!(
            (e.refused_by, e.certificate_of, e.reason),
            (Side::Server, Some(Side::Server), Reason::KeyMismatch)
        );
        assert!(e.text.contains("private key does not match"), "{}", e.text);
    }

    #[test]
    fn every_alert_is_explained_in_words() {
        for code in 0..=255u8 {
            let alert = AlertDescription::from(code);
            let e = explain(&Error::AlertReceived(alert), Side::Client);
            assert_eq!(e.refused_by, Side::Server);
            let name = debug_name(&alert);
            if name != "Unknown" {
                assert!(
                    !e.text.contains(&name) || name.len() < 4,
                    "{name}: {}",
                    e.text
                );
            }
            assert!(!e.text.contains("Unknown("), "{}", e.text);
        }
    }

    #[test]
    fn names_become_words() {
        assert_eq!(words("NoKxGroupsInCommon"), "no kx groups in common");
        assert_eq!(words("UnknownCA"), "unknown ca");
        assert_eq!(words("CaUsedAsEndEntity"), "ca used as end entity");
        assert_eq!(words(""), "no detail");
        assert_eq!(debug_name(&Some(3)), "Some");
    }

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
