//! A test PKI shaped like IGC-Santé, for loopback tests only: a root and an intermediate CA,
//! server certificates for localhost, client certificates shaped like ORG AUTH_CLI software
//! certificates (structure identifier in the OU), and broken ones for negative tests.
//!
//! Keys are ECDSA P-256 (ring cannot generate RSA keys); real IGC-Santé software certificates
//! are RSA (UNVERIFIED). Names say `SEGUR TEST`, so nothing here passes for an ANS certificate.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::{Identity, TlsError};

/// The manifest's file name in a test PKI directory.
pub const MANIFEST: &str = "pki.toml";

/// Validity of the CAs, in days from now: no end-entity certificate may outlive it.
pub const CA_VALIDITY_DAYS: i64 = 3650;

/// The folders of a test PKI directory that `TestPki::write` owns.
const OWNED_FOLDERS: [&str; 4] = ["ca", "server", "clients", "broken"];

/// What to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiOptions {
    /// How many good client identities (distinct keys, subjects and structure ids).
    pub clients: usize,
    /// Names of the server certificate (DNS names or IP addresses).
    pub server_names: Vec<String>,
    /// Validity of the good end-entity certificates, in days from now: 1 to
    /// [`CA_VALIDITY_DAYS`].
    pub validity_days: i64,
    /// Also write each good client as PKCS#12 with this password.
    pub p12_password: Option<String>,
}

impl PkiOptions {
    /// Check the options: DNS names or IP addresses, a validity within the CAs'.
    ///
    /// DNS names are RFC 1123 labels (a leading `*` label allowed); the validity is 1 to
    /// [`CA_VALIDITY_DAYS`] days.
    pub fn validate(&self) -> Result<(), TlsError> {
        if self.server_names.is_empty() {
            return Err(TlsError::InvalidOption(
                "no server name: give at least one DNS name or IP address".into(),
            ));
        }
        for name in &self.server_names {
            check_server_name(name)?;
        }
        if !(1..=CA_VALIDITY_DAYS).contains(&self.validity_days) {
            return Err(TlsError::InvalidOption(format!(
                "a validity of {} days: the certificates must be valid 1 to {CA_VALIDITY_DAYS} \
                 days (the CAs' own validity, which they may not outlive)",
                self.validity_days
            )));
        }
        Ok(())
    }
}

/// A server name: an IP address, or a DNS name of RFC 1123 labels (1 to 63 letters, digits
/// and inner hyphens, 253 characters at most), whose first label may be `*`.
fn check_server_name(name: &str) -> Result<(), TlsError> {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let bad = |why: &str| {
        Err(TlsError::InvalidOption(format!(
            "server name \"{}\" is neither an IP address nor a DNS name: {why}",
            crate::printable(name)
        )))
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 253 {
        return bad("it is longer than 253 characters");
    }
    for (i, label) in name.split('.').enumerate() {
        if i == 0 && label == "*" && name.len() > 2 {
            continue;
        }
        if label.is_empty() {
            return bad("it has an empty label (two dots, or a dot at an end)");
        }
        if label.len() > 63 {
            return bad("a label is longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return bad("labels hold only letters, digits and hyphens");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a label starts or ends with a hyphen");
        }
    }
    // `1.2.3.256`: no top-level domain is all digits (RFC 3696 2), and TLS clients read such a
    // name as an IP address, which this one is not.
    if name
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return bad("its last label is all digits, as an IP address's, but it is not one");
    }
    Ok(())
}

impl Default for PkiOptions {
    fn default() -> Self {
        Self {
            clients: 3,
            server_names: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            validity_days: 365,
            p12_password: None,
        }
    }
}

/// The role of a certificate in the test PKI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The root CA: the trust anchor for both servers and clients.
    RootCa,
    /// The intermediate CA that issues every end-entity certificate.
    IntermediateCa,
    /// A root CA that nothing trusts, issuer of the `unknown-ca` client.
    UnknownCa,
    /// A TLS server certificate.
    Server,
    /// A TLS client certificate (ORG AUTH_CLI shape).
    Client,
}

/// What is wrong with a broken client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Defect {
    /// Validity ended 35 days ago.
    Expired,
    /// Validity starts in 30 days.
    NotYetValid,
    /// EKU serverAuth only.
    WrongEku,
    /// Issued by a CA that the servers do not trust.
    UnknownCa,
    /// No structure identifier in the subject (a handshake accepts it; the lint does not).
    NoStructureId,
}

impl Defect {
    /// Every defect, in file order.
    pub const ALL: [Defect; 5] = [
        Defect::Expired,
        Defect::NotYetValid,
        Defect::WrongEku,
        Defect::UnknownCa,
        Defect::NoStructureId,
    ];

    /// The file stem (`expired`, `wrong-eku`…).
    pub fn name(self) -> &'static str {
        match self {
            Defect::Expired => "expired",
            Defect::NotYetValid => "not-yet-valid",
            Defect::WrongEku => "wrong-eku",
            Defect::UnknownCa => "unknown-ca",
            Defect::NoStructureId => "no-structure-id",
        }
    }

    /// Whether a server requiring client certificates (and trusting the root) refuses it.
    pub fn refused_in_handshake(self) -> bool {
        !matches!(self, Defect::NoStructureId)
    }
}

/// One certificate of the test PKI, with its key.
#[derive(Debug)]
pub struct Issued {
    /// Deterministic name (`root`, `localhost`, `client-001`, `expired`…).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// For broken clients, what is wrong.
    pub defect: Option<Defect>,
    /// The certificate.
    pub cert: CertificateDer<'static>,
    /// The chain a TLS peer sends: this certificate, then the intermediate when there is one.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
    /// The structure identifier put in the OU, for clients.
    pub structure_id: Option<String>,
}

impl Issued {
    /// This certificate and key as an [`Identity`] (with its chain).
    pub fn identity(&self) -> Result<Identity, TlsError> {
        Identity::from_pem(pem_chain(&self.chain).as_bytes(), self.key_pem.as_bytes())
    }

    /// The certificate, PEM.
    pub fn cert_pem(&self) -> String {
        pem_chain(std::slice::from_ref(&self.cert))
    }
}

/// A generated test PKI.
#[derive(Debug)]
pub struct TestPki {
    /// When it was made (validity is relative to this).
    pub generated_at: OffsetDateTime,
    /// The root CA.
    pub root: Issued,
    /// The intermediate CA.
    pub intermediate: Issued,
    /// The untrusted root that issued the `unknown-ca` client.
    pub unknown_root: Issued,
    /// The server certificate.
    pub server: Issued,
    /// The good clients.
    pub clients: Vec<Issued>,
    /// The broken clients, one per [`Defect`].
    pub broken: Vec<Issued>,
}

/// The manifest written beside the files (`pki.toml`): what each file is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version.
    pub format: u32,
    /// A reminder that this is not IGC-Santé.
    pub note: String,
    /// When the PKI was made, RFC 3339 UTC.
    pub generated_at: String,
    /// The trust anchor (PEM) that servers use for clients and clients for the server.
    pub trust: String,
    /// One entry per certificate.
    #[serde(rename = "entry")]
    pub entries: Vec<Entry>,
}

/// One certificate in the manifest. Paths are relative to the manifest's directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Deterministic name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// For broken clients, what is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defect: Option<Defect>,
    /// For clients: whether a server trusting [`Manifest::trust`] accepts it in a handshake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake: Option<String>,
    /// The certificate alone (PEM).
    pub cert: String,
    /// The certificate and its intermediate (PEM), what a TLS peer sends.
    pub chain: String,
    /// The private key (PKCS#8 PEM, mode 0600).
    pub key: String,
    /// The PKCS#12 file, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p12: Option<String>,
    /// Subject DN (RFC 4514).
    pub subject: String,
    /// Structure identifier in the OU, for clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structure_id: Option<String>,
    /// SHA-256 fingerprint.
    pub sha256: String,
}

impl Manifest {
    /// Read `dir/pki.toml`.
    pub fn read(dir: &Path) -> Result<Manifest, TlsError> {
        let path = dir.join(MANIFEST);
        let text = crate::read_text(&path).map_err(|e| TlsError::io(&path, e))?;
        toml::from_str(&text).map_err(|e| {
            TlsError::Manifest(format!(
                "{}: {}",
                path.display(),
                crate::toml_error_line(&text, &e)
            ))
        })
    }

    /// The entry named `name`.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// Subject of the test intermediate: named after the TEST IGC-Santé CA, marked SEGUR.
pub const INTERMEDIATE_CN: &str = "SEGUR TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS";
/// Subject CN of the test root.
pub const ROOT_CN: &str = "SEGUR TEST AC RACINE IGC-SANTE ELEMENTAIRE";

struct Ca {
    issued: Issued,
    issuer: Issuer<'static, KeyPair>,
}

impl TestPki {
    /// Make a test PKI whose validity periods are relative to `now`.
    pub fn generate(options: &PkiOptions, now: OffsetDateTime) -> Result<TestPki, TlsError> {
        options.validate()?;
        // Two PKIs must not have CAs of the same name, or a peer of one PKI meeting the other
        // fails on a signature instead of an unknown CA: a random tag goes in the O.
        let tag: String = {
            use rcgen::PublicKeyData;
            let digest = crate::inspect::sha256(KeyPair::generate()?.der_bytes());
            digest[..3].iter().map(|b| format!("{b:02X}")).collect()
        };
        let root = ca("root", ROOT_CN, Role::RootCa, None, now, &tag)?;
        let intermediate = ca(
            "intermediate",
            INTERMEDIATE_CN,
            Role::IntermediateCa,
            Some(&root),
            now,
            &tag,
        )?;
        let unknown_root = ca(
            "unknown-root",
            "SEGUR UNTRUSTED TEST ROOT",
            Role::UnknownCa,
            None,
            now,
            &tag,
        )?;
        let days = Duration::days(options.validity_days);
        let server = server(options, &intermediate, now, now + days)?;
        let clients = (1..=options.clients)
            .map(|i| client(i, None, &intermediate, now - Duration::hours(1), now + days))
            .collect::<Result<Vec<_>, _>>()?;
        let broken = Defect::ALL
            .iter()
            .enumerate()
            .map(|(i, &defect)| {
                let number = 900 + i + 1;
                let (from, to) = match defect {
                    Defect::Expired => (now - Duration::days(400), now - Duration::days(35)),
                    Defect::NotYetValid => (now + Duration::days(30), now + Duration::days(400)),
                    _ => (now - Duration::hours(1), now + days),
                };
                let issuer = if defect == Defect::UnknownCa {
                    &unknown_root
                } else {
                    &intermediate
                };
                client(number, Some(defect), issuer, from, to)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TestPki {
            generated_at: now,
            root: root.issued,
            intermediate: intermediate.issued,
            unknown_root: unknown_root.issued,
            server,
            clients,
            broken,
        })
    }

    /// The broken client with this defect.
    pub fn broken(&self, defect: Defect) -> Option<&Issued> {
        self.broken.iter().find(|b| b.defect == Some(defect))
    }

    /// The root CA as a rustls root store (what servers and clients trust).
    pub fn roots(&self) -> Result<rustls::RootCertStore, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.root.cert.clone())?;
        Ok(roots)
    }

    /// Write the PKI under `dir` (created if missing) with its manifest.
    ///
    /// Refuses to overwrite an existing manifest unless `force`, and then removes the files of
    /// the earlier PKI that this one does not rewrite (as its manifest lists them, or by this
    /// tool's file names when the manifest is unreadable), never other files. Key files are
    /// mode 0600 on Unix.
    pub fn write(
        &self,
        dir: &Path,
        options: &PkiOptions,
        force: bool,
    ) -> Result<Manifest, TlsError> {
        let manifest_path = dir.join(MANIFEST);
        let earlier = if manifest_path.exists() {
            if !force {
                return Err(TlsError::Exists {
                    path: manifest_path,
                });
            }
            earlier_files(dir)?
        } else {
            Vec::new()
        };
        let mut entries = Vec::new();
        let cas = [
            ("ca", &self.root),
            ("ca", &self.intermediate),
            ("ca", &self.unknown_root),
            ("server", &self.server),
        ];
        let clients = self.clients.iter().map(|c| ("clients", c));
        let broken = self.broken.iter().map(|b| ("broken", b));
        for (sub, issued) in cas.into_iter().chain(clients).chain(broken) {
            let p12 = match (&options.p12_password, issued.role, issued.defect) {
                (Some(pw), Role::Client, None) => Some(pw.as_str()),
                _ => None,
            };
            entries.push(write_issued(dir, sub, issued, p12)?);
        }
        let manifest = Manifest {
            format: 1,
            note: "made by `segur pki init` for loopback tests: NOT an IGC-Santé PKI".into(),
            generated_at: crate::inspect::rfc3339(self.generated_at),
            trust: "ca/root.pem".into(),
            entries,
        };
        let text = toml::to_string(&manifest).map_err(|e| TlsError::Manifest(e.to_string()))?;
        write_file(&manifest_path, text.as_bytes(), false)?;
        let written: std::collections::HashSet<&str> = manifest
            .entries
            .iter()
            .flat_map(|e| {
                [&e.cert, &e.chain, &e.key]
                    .into_iter()
                    .chain(e.p12.as_ref())
            })
            .map(String::as_str)
            .collect();
        for rel in earlier.iter().filter(|r| !written.contains(r.as_str())) {
            let path = dir.join(rel);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(TlsError::io(path, e)),
            }
        }
        Ok(manifest)
    }
}

/// The files an earlier test PKI in `dir` wrote: those its manifest lists, or, when it cannot
/// be read, the files of the owned folders named as this tool names them. Only paths that
/// [`owned_path`] accepts.
fn earlier_files(dir: &Path) -> Result<Vec<String>, TlsError> {
    if let Ok(m) = Manifest::read(dir) {
        return Ok(m
            .entries
            .into_iter()
            .flat_map(|e| [e.cert, e.chain, e.key].into_iter().chain(e.p12))
            .filter(|rel| owned_path(rel))
            .collect());
    }
    let mut out = Vec::new();
    for folder in OWNED_FOLDERS {
        let path = dir.join(folder);
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(TlsError::io(path, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| TlsError::io(&path, e))?;
            if let Some(name) = entry.file_name().to_str() {
                let rel = format!("{folder}/{name}");
                if owned_path(&rel) && entry.file_type().is_ok_and(|t| t.is_file()) {
                    out.push(rel);
                }
            }
        }
    }
    Ok(out)
}

/// Whether `rel` is a path this tool writes: `FOLDER/NAME.EXT` with an owned folder, a name it
/// gives there and one of its extensions.
fn owned_path(rel: &str) -> bool {
    let Some((folder, file)) = rel.split_once('/') else {
        return false;
    };
    let Some(stem) = [".chain.pem", ".pem", ".key", ".p12"]
        .iter()
        .find_map(|ext| file.strip_suffix(ext))
    else {
        return false;
    };
    match folder {
        "ca" => matches!(stem, "root" | "intermediate" | "unknown-root"),
        "server" => stem == "localhost",
        "clients" => stem
            .strip_prefix("client-")
            .is_some_and(|n| n.len() >= 3 && n.bytes().all(|b| b.is_ascii_digit())),
        "broken" => Defect::ALL.iter().any(|d| d.name() == stem),
        _ => false,
    }
}

fn write_issued(
    dir: &Path,
    sub: &str,
    issued: &Issued,
    p12_password: Option<&str>,
) -> Result<Entry, TlsError> {
    let rel = |ext: &str| format!("{sub}/{}.{ext}", issued.name);
    let (cert, chain, key) = (rel("pem"), rel("chain.pem"), rel("key"));
    write_file(&dir.join(&cert), issued.cert_pem().as_bytes(), false)?;
    write_file(
        &dir.join(&chain),
        pem_chain(&issued.chain).as_bytes(),
        false,
    )?;
    write_file(&dir.join(&key), issued.key_pem.as_bytes(), true)?;
    let p12 = match p12_password {
        Some(pw) => {
            let path = rel("p12");
            let der = issued.identity()?.to_pkcs12(&issued.name, pw)?;
            write_file(&dir.join(&path), &der, true)?;
            Some(path)
        }
        None => None,
    };
    let info = crate::inspect::CertInfo::from_der(&issued.cert)?;
    Ok(Entry {
        name: issued.name.clone(),
        role: issued.role,
        defect: issued.defect,
        handshake: match (issued.role, issued.defect) {
            (Role::Client, Some(d)) if d.refused_in_handshake() => Some("refused".into()),
            (Role::Client, _) => Some("accepted".into()),
            _ => None,
        },
        cert,
        chain,
        key,
        p12,
        subject: info.subject,
        structure_id: issued.structure_id.clone(),
        sha256: info.sha256,
    })
}

fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), TlsError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| TlsError::io(parent, e))?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(|e| TlsError::io(path, e))?;
    #[cfg(unix)]
    if secret {
        // An existing file keeps its mode on open: set it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| TlsError::io(path, e))?;
    }
    file.write_all(bytes)
        .map_err(|e| TlsError::io(PathBuf::from(path), e))
}

/// PEM of certificates, concatenated.
fn pem_chain(chain: &[CertificateDer<'_>]) -> String {
    chain
        .iter()
        .map(|c| {
            let b64 = base64_lines(c.as_ref());
            format!("-----BEGIN CERTIFICATE-----\n{b64}-----END CERTIFICATE-----\n")
        })
        .collect()
}

fn base64_lines(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    let mut line = 0;
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            let c = if i <= chunk.len() {
                TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            };
            out.push(c);
            line += 1;
            if line == 64 {
                out.push('\n');
                line = 0;
            }
        }
    }
    if line > 0 {
        out.push('\n');
    }
    out
}

fn serial(key: &KeyPair) -> SerialNumber {
    use rcgen::PublicKeyData;
    let mut digest = crate::inspect::sha256(key.der_bytes());
    digest.truncate(16);
    digest[0] &= 0x7f;
    SerialNumber::from_slice(&digest)
}

fn ca(
    name: &str,
    cn: &str,
    role: Role,
    parent: Option<&Ca>,
    now: OffsetDateTime,
    tag: &str,
) -> Result<Ca, TlsError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "FR");
    dn.push(
        DnType::OrganizationName,
        format!("SEGUR TEST PKI {tag} (NOT ASIP-SANTE)"),
    );
    dn.push(DnType::OrganizationalUnitName, "IGC-SANTE TEST");
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(match role {
        Role::IntermediateCa => BasicConstraints::Constrained(0),
        _ => BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(CA_VALIDITY_DAYS);
    params.serial_number = Some(serial(&key));
    let (cert, chain) = match parent {
        Some(p) => {
            params.use_authority_key_identifier_extension = true;
            let cert = params.signed_by(&key, &p.issuer)?.der().clone();
            (cert.clone(), vec![cert])
        }
        None => {
            let cert = params.self_signed(&key)?.der().clone();
            (cert.clone(), vec![cert])
        }
    };
    let key_pem = key.serialize_pem();
    Ok(Ca {
        issued: Issued {
            name: name.to_string(),
            role,
            defect: None,
            cert,
            chain,
            key_pem,
            structure_id: None,
        },
        issuer: Issuer::new(params, key),
    })
}

/// The chain a peer sends for a certificate issued by `issuer`: the certificate, then the
/// issuer when it is an intermediate.
fn chain_of(cert: &CertificateDer<'static>, issuer: &Ca) -> Vec<CertificateDer<'static>> {
    let mut chain = vec![cert.clone()];
    if issuer.issued.role == Role::IntermediateCa {
        chain.push(issuer.issued.cert.clone());
    }
    chain
}

fn server(
    options: &PkiOptions,
    issuer: &Ca,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Issued, TlsError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(options.server_names.clone())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "FR");
    dn.push(DnType::OrganizationName, "SEGUR TEST SINK");
    let cn = options
        .server_names
        .first()
        .map_or("localhost", String::as_str);
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = from - Duration::hours(1);
    params.not_after = to;
    params.serial_number = Some(serial(&key));
    let cert = params.signed_by(&key, &issuer.issuer)?.der().clone();
    Ok(Issued {
        name: "localhost".into(),
        role: Role::Server,
        defect: None,
        chain: chain_of(&cert, issuer),
        cert,
        key_pem: key.serialize_pem(),
        structure_id: None,
    })
}

/// A FINESS-shaped test number: department `99` (not a French department: no real
/// establishment has it), a 6-digit sequence and a Luhn key.
pub fn test_finess(n: usize) -> String {
    let body = format!("99{:06}", n % 1_000_000);
    format!("{body}{}", luhn_key(&body))
}

fn luhn_key(digits: &str) -> u32 {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

fn client(
    number: usize,
    defect: Option<Defect>,
    issuer: &Ca,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Issued, TlsError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    let finess = test_finess(number);
    let structure_id = format!("1{finess}");
    // certs.md §3 template: C, ST, O, OU = Struct_IdNat, CN = the service.
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "FR");
    dn.push(DnType::StateOrProvinceName, "Paris (75)");
    dn.push(
        DnType::OrganizationName,
        format!("SEGUR TEST STRUCTURE {number:03}"),
    );
    if defect != Some(Defect::NoStructureId) {
        dn.push(DnType::OrganizationalUnitName, structure_id.as_str());
    }
    dn.push(
        DnType::CommonName,
        format!("SEGUR TEST AUTH_CLI {number:03}"),
    );
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![if defect == Some(Defect::WrongEku) {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    params.use_authority_key_identifier_extension = true;
    params.not_before = from;
    params.not_after = to;
    params.serial_number = Some(serial(&key));
    let cert = params.signed_by(&key, &issuer.issuer)?.der().clone();
    Ok(Issued {
        name: match defect {
            Some(d) => d.name().to_string(),
            None => format!("client-{number:03}"),
        },
        role: Role::Client,
        defect,
        chain: chain_of(&cert, issuer),
        cert,
        key_pem: key.serialize_pem(),
        structure_id: (defect != Some(Defect::NoStructureId)).then_some(structure_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finess_numbers_carry_a_luhn_key() {
        assert_eq!(luhn_key("7992739871"), 3);
        let f = test_finess(1);
        assert_eq!(f.len(), 9);
        assert!(f.starts_with("99000001"));
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64_lines(b"foobar"), "Zm9vYmFy\n");
        assert_eq!(base64_lines(b"fo"), "Zm8=\n");
        assert_eq!(base64_lines(b"f"), "Zg==\n");
        assert_eq!(
            base64_lines(&[0u8; 48]).lines().next().map(str::len),
            Some(64)
        );
    }
}
