//! `segur pki inspect` and `segur pki init`.

use std::path::Path;

use segur_finding::{Finding, Severity};
use segur_tls::inspect::CertInfo;
use segur_tls::lint::{lint, lint_chain};
use segur_tls::pki::{Defect, PkiOptions, TestPki};
use segur_tls::rustls::pki_types::CertificateDer;
use segur_tls::{TlsError, printable, read_certificates, roots_from_pem};
use serde::Serialize;

use crate::args::{Format, PkiCommand};
use crate::{Failure, Outcome, out};

pub(crate) fn run(cmd: PkiCommand) -> Result<Outcome, Failure> {
    match cmd {
        PkiCommand::Inspect {
            cert,
            ca,
            password,
            format,
        } => inspect(&cert, ca.as_deref(), password.as_deref(), format),
        PkiCommand::Init {
            dir,
            clients,
            days,
            server_names,
            p12_password,
            force,
        } => {
            let mut options = PkiOptions {
                clients: clients as usize,
                validity_days: days,
                p12_password,
                ..PkiOptions::default()
            };
            if !server_names.is_empty() {
                options.server_names = server_names;
            }
            init(&dir, &options, force)
        }
    }
}

#[derive(Debug, Serialize)]
struct InspectJson<'a> {
    file: String,
    certificate: &'a CertInfo,
    /// Certificates in the file after the inspected one (its chain).
    chain_length: usize,
    findings: &'a [Finding],
    errors: usize,
    warnings: usize,
}

/// The certificates of a file, its format told by its content (PEM, DER or PKCS#12), not
/// its name.
fn read_chain(path: &Path, password: Option<&str>) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = crate::read_bounded(path, crate::MAX_PEM)?;
    read_certificates(&bytes, password).map_err(|e| match e {
        TlsError::Pkcs12NeedsPassword => "a PKCS#12 file: give its password with --password".into(),
        e => e.to_string(),
    })
}

fn inspect(
    path: &Path,
    ca: Option<&Path>,
    password: Option<&str>,
    format: Format,
) -> Result<Outcome, Failure> {
    let unreadable = |e: String| Failure::usage(format!("{}: {e}", path.display()));
    let chain = read_chain(path, password).map_err(unreadable)?;
    let info = CertInfo::from_der(&chain[0]).map_err(|e| unreadable(e.to_string()))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut findings = lint(&info, now);
    if let Some(ca) = ca {
        let roots = crate::read_bounded(ca, crate::MAX_PEM)
            .and_then(|b| roots_from_pem(&b).map_err(|e| e.to_string()))
            .map_err(|e| Failure::usage(format!("{}: {e}", ca.display())))?;
        let chain_finding = lint_chain(&chain, roots, now, &findings);
        findings.extend(chain_finding);
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    match format {
        Format::Json => {
            let report = InspectJson {
                file: path.display().to_string(),
                certificate: &info,
                chain_length: chain.len() - 1,
                findings: &findings,
                errors,
                warnings,
            };
            let line = serde_json::to_string(&report)
                .map_err(|e| Failure::infra(format!("cannot serialize: {e}")))?;
            out(format_args!("{line}"))?;
        }
        Format::Text => print_text(path, &info, chain.len() - 1, &findings, errors, warnings)?,
    }
    Ok(if errors == 0 {
        Outcome::Ok
    } else {
        Outcome::Invalid
    })
}

fn list(items: Option<&[String]>) -> String {
    match items {
        None => "(no extension)".into(),
        Some([]) => "(empty)".into(),
        Some(items) => items.join(", "),
    }
}

fn print_text(
    path: &Path,
    info: &CertInfo,
    chain_length: usize,
    findings: &[Finding],
    errors: usize,
    warnings: usize,
) -> Result<(), Failure> {
    let key = &info.key;
    let key = match &key.curve {
        Some(curve) => format!("{} {curve} ({} bits)", key.algorithm, key.bits),
        None => format!("{} {} bits", key.algorithm, key.bits),
    };
    let structure = match &info.structure_id {
        Some(s) => format!("{} {} (OU={})", s.register, s.id, s.value),
        None => "(none)".into(),
    };
    let policies = if info.policies.is_empty() {
        "(none)".to_string()
    } else {
        info.policies.join(", ")
    };
    let rows = [
        ("file", path.display().to_string()),
        ("subject", info.subject.clone()),
        ("issuer", info.issuer.clone()),
        ("serial", info.serial.clone()),
        ("not before", info.not_before.clone()),
        ("not after", info.not_after.clone()),
        ("key", key),
        ("signature", info.signature_algorithm.clone()),
        ("key usage", list(info.key_usage.as_deref())),
        (
            "extended key usage",
            list(info.extended_key_usage.as_deref()),
        ),
        ("policies", policies),
        ("subject alt names", list(Some(&info.subject_alt_names))),
        ("structure id", structure),
        ("CA", if info.is_ca { "yes" } else { "no" }.into()),
        (
            "chain in file",
            format!("{chain_length} more certificate(s)"),
        ),
        ("SHA-256", info.sha256.clone()),
    ];
    // Certificate-derived text is escaped by segur-tls already; printing through the same
    // helper again changes nothing and keeps any other value on its line.
    for (label, value) in rows {
        out(format_args!(
            "{:<19} {}",
            format!("{label}:"),
            printable(&value)
        ))?;
    }
    for f in findings {
        out(format_args!(
            "{:<7} {}: {}",
            f.severity.as_str(),
            f.rule,
            printable(&f.message)
        ))?;
    }
    out(format_args!(
        "{}: {errors} error(s), {warnings} warning(s)",
        if errors == 0 { "ok" } else { "invalid" }
    ))
}

fn init(dir: &Path, options: &PkiOptions, force: bool) -> Result<Outcome, Failure> {
    let pki = TestPki::generate(options, time::OffsetDateTime::now_utc()).map_err(|e| match e {
        TlsError::InvalidOption(_) => Failure::usage(e.to_string()),
        e => Failure::infra(format!("cannot make the test PKI: {e}")),
    })?;
    let manifest = pki.write(dir, options, force).map_err(|e| match e {
        TlsError::Exists { .. } => Failure::usage(format!("{e}: pass --force to overwrite it")),
        e => Failure::infra(format!("{}: {e}", dir.display())),
    })?;
    let broken: Vec<&str> = Defect::ALL.iter().map(|d| d.name()).collect();
    out(format_args!(
        "test PKI in {}: root and intermediate CA, server {}, {} client(s), broken: {}",
        dir.display(),
        options.server_names.join(" "),
        options.clients,
        broken.join(", ")
    ))?;
    out(format_args!(
        "trust {}; manifest {} ({} entries). Not IGC-Santé: for loopback tests only.",
        dir.join(&manifest.trust).display(),
        dir.join(segur_tls::pki::MANIFEST).display(),
        manifest.entries.len()
    ))?;
    Ok(Outcome::Ok)
}
