//! The endpoints file (TOML): where to send, as whom, trusting what.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::ReplayError;

/// What an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// IHE XDS.b ITI-41 (SOAP 1.2, MTOM/XOP); success is a RegistryResponse `Success`.
    Iti41,
    /// FHIR MHD ITI-65 (a transaction Bundle); an `OperationOutcome` answer is a failure.
    Mhd,
    /// MSSanté SMTP submission of `.eml` messages (`smtp://` with STARTTLS, `smtps://` with
    /// implicit TLS); success is a 250 reply to the message.
    Smtp,
}

impl Kind {
    /// The name in an endpoints file.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Iti41 => "iti41",
            Kind::Mhd => "mhd",
            Kind::Smtp => "smtp",
        }
    }
}

/// A client certificate (chain) and its key, PEM files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PemPair {
    /// Certificate chain, PEM (leaf first).
    pub cert: PathBuf,
    /// Private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// One endpoint of the file, as written (paths already resolved against the file's directory).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// A name to pick it with `--endpoint`.
    pub name: String,
    /// `https://host:port/path`, or `smtp://host:587` (STARTTLS) / `smtps://host:465`.
    pub url: String,
    /// `iti41`, `mhd` or `smtp`.
    pub kind: Kind,
    /// SMTP: the envelope sender (default: the message's `From`).
    pub mail_from: Option<String>,
    /// SMTP: the envelope recipients (default: the message's `To` and `Cc`).
    #[serde(default)]
    pub rcpt_to: Vec<String>,
    /// SMTP: a user to authenticate as (AUTH PLAIN, after TLS), besides the certificate.
    pub smtp_user: Option<String>,
    /// SMTP: that user's password.
    pub smtp_password: Option<String>,
    /// One client identity for every virtual user.
    pub cert: Option<PathBuf>,
    /// The key of `cert`.
    pub key: Option<PathBuf>,
    /// An identity pool: one identity per virtual user, round-robin.
    #[serde(default)]
    pub pool: Vec<PemPair>,
    /// A directory of identities: each `NAME.key` with `NAME.chain.pem` (else `NAME.pem`).
    pub pool_dir: Option<PathBuf>,
    /// Trusted roots for the server certificate, PEM.
    pub roots: PathBuf,
    /// The name checked against the server certificate (default: the URL's host).
    pub server_name: Option<String>,
    /// TCP connect timeout, seconds (default 5).
    pub connect_timeout_s: Option<f64>,
    /// Timeout of a request (SMTP: of a message), seconds (default 30): its whole answer
    /// within it, and each write.
    pub timeout_s: Option<f64>,
    /// The file it was read from (named in errors found once the run starts).
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, rename = "endpoint")]
    endpoints: Vec<Endpoint>,
}

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// HTTP over TLS.
    Https,
    /// SMTP submission, TLS started with STARTTLS (port 587 by default).
    Smtp,
    /// SMTP submission over implicit TLS (port 465 by default).
    Smtps,
}

/// The parsed URL of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The scheme.
    pub scheme: Scheme,
    /// Host (name or IP, brackets removed).
    pub host: String,
    /// Port (443 when absent).
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
}

impl Endpoint {
    /// Parse the URL: `https://` for `iti41` and `mhd`, `smtp://` or `smtps://` for `smtp`.
    pub fn target(&self) -> Result<Target, ReplayError> {
        let bad = |why: &str| {
            ReplayError::Config(format!("endpoint {}: url {:?}: {why}", self.name, self.url))
        };
        let (scheme, default_port, rest) = if let Some(r) = self.url.strip_prefix("https://") {
            (Scheme::Https, 443, r)
        } else if let Some(r) = self.url.strip_prefix("smtp://") {
            (Scheme::Smtp, 587, r)
        } else if let Some(r) = self.url.strip_prefix("smtps://") {
            (Scheme::Smtps, 465, r)
        } else {
            return Err(bad("must start with https://, smtp:// or smtps://"));
        };
        match (self.kind, scheme) {
            (Kind::Smtp, Scheme::Https) => return Err(bad("kind smtp needs smtp:// or smtps://")),
            (Kind::Iti41 | Kind::Mhd, Scheme::Smtp | Scheme::Smtps) => {
                return Err(bad("kinds iti41 and mhd need https://"));
            }
            _ => {}
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(bad(
                "credentials in the URL (`user:password@`) are not sent: the client certificate identifies the sender (and smtp_user/smtp_password for SMTP AUTH)",
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("bad port"))?,
                None => default_port,
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().map_err(|_| bad("bad port"))?),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Target {
            scheme,
            host,
            port,
            path: path.to_string(),
        })
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        seconds(self.connect_timeout_s.unwrap_or(5.0))
    }

    /// The read/write timeout.
    pub fn timeout(&self) -> Duration {
        seconds(self.timeout_s.unwrap_or(30.0))
    }

    /// The timeouts are numbers of seconds above 0 and at most [`MAX_TIMEOUT_S`].
    fn check_timeouts(&self) -> Result<(), ReplayError> {
        let settings = [
            ("connect_timeout_s", self.connect_timeout_s),
            ("timeout_s", self.timeout_s),
        ];
        for (key, value) in settings {
            if let Some(v) = value
                && !(v > 0.0 && v <= MAX_TIMEOUT_S)
            {
                return Err(ReplayError::Config(format!(
                    "endpoint {}: {key} = {v}: seconds, more than 0 and at most {MAX_TIMEOUT_S}",
                    self.name
                )));
            }
        }
        Ok(())
    }

    /// Every identity to use, in round-robin order: `cert`/`key`, then `pool`, then `pool_dir`.
    pub fn identity_files(&self) -> Result<Vec<PemPair>, ReplayError> {
        let mut out = Vec::new();
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => out.push(PemPair {
                cert: cert.clone(),
                key: key.clone(),
            }),
            (None, None) => {}
            _ => {
                return Err(ReplayError::Config(format!(
                    "endpoint {}: `cert` and `key` go together",
                    self.name
                )));
            }
        }
        out.extend(self.pool.iter().cloned());
        if let Some(dir) = &self.pool_dir {
            let read = std::fs::read_dir(dir).map_err(|e| ReplayError::Io(dir.clone(), e))?;
            let mut keys: Vec<PathBuf> = read
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "key"))
                .collect();
            keys.sort();
            for key in keys {
                let chain = key.with_extension("chain.pem");
                let cert = if chain.is_file() {
                    chain
                } else {
                    key.with_extension("pem")
                };
                out.push(PemPair { cert, key });
            }
        }
        if out.is_empty() {
            return Err(ReplayError::Config(format!(
                "{}endpoint {}: no client identity (`cert`/`key`, `pool` or `pool_dir`)",
                self.file
                    .as_ref()
                    .map_or_else(String::new, |f| format!("{}: ", f.display())),
                self.name
            )));
        }
        Ok(out)
    }

    fn resolve(&mut self, base: &Path) {
        let at = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for p in [&mut self.cert, &mut self.key, &mut self.pool_dir]
            .into_iter()
            .flatten()
        {
            at(p);
        }
        for pair in &mut self.pool {
            at(&mut pair.cert);
            at(&mut pair.key);
        }
        at(&mut self.roots);
    }
}

/// Longest connect or request timeout: a day.
pub const MAX_TIMEOUT_S: f64 = 86_400.0;

/// `s` seconds, kept within 1 ms and [`MAX_TIMEOUT_S`] (NaN: the longest).
fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(if s.is_nan() {
        MAX_TIMEOUT_S
    } else {
        s.clamp(0.001, MAX_TIMEOUT_S)
    })
}

/// Parse an endpoints file's text; relative paths are taken from `base`.
pub fn parse(text: &str, base: &Path) -> Result<Vec<Endpoint>, ReplayError> {
    let file: File = toml::from_str(text)
        .map_err(|e| ReplayError::Config(segur_tls::toml_error_line(text, &e)))?;
    if file.endpoints.is_empty() {
        return Err(ReplayError::Config("no [[endpoint]]".into()));
    }
    let mut out = file.endpoints;
    for (i, e) in out.iter().enumerate() {
        if out[..i].iter().any(|o| o.name == e.name) {
            return Err(ReplayError::Config(format!(
                "two endpoints are named {:?}: --endpoint could not tell them apart",
                e.name
            )));
        }
        if e.smtp_user.is_some() != e.smtp_password.is_some() {
            return Err(ReplayError::Config(format!(
                "endpoint {}: smtp_user and smtp_password go together",
                e.name
            )));
        }
    }
    for e in &mut out {
        e.resolve(base);
        e.target()?;
        e.check_timeouts()?;
    }
    Ok(out)
}

/// Read an endpoints file; relative paths are taken from its directory.
pub fn read(path: &Path) -> Result<Vec<Endpoint>, ReplayError> {
    let text = segur_tls::read_text(path).map_err(|e| ReplayError::Io(path.to_path_buf(), e))?;
    let mut endpoints =
        parse(&text, path.parent().unwrap_or(Path::new("."))).map_err(|e| match e {
            ReplayError::Config(why) => ReplayError::Config(format!("{}: {why}", path.display())),
            other => other,
        })?;
    for e in &mut endpoints {
        e.file = Some(path.to_path_buf());
    }
    Ok(endpoints)
}

/// Pick an endpoint by name, or the only one when `name` is `None`.
pub fn pick(endpoints: Vec<Endpoint>, name: Option<&str>) -> Result<Endpoint, ReplayError> {
    match name {
        Some(n) => endpoints
            .into_iter()
            .find(|e| e.name == n)
            .ok_or_else(|| ReplayError::Config(format!("no endpoint named {n:?}"))),
        None if endpoints.len() == 1 => Ok(endpoints.into_iter().next().expect("one")),
        None => Err(ReplayError::Config(
            "several endpoints: choose one with --endpoint NAME".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(url: &str) -> Endpoint {
        let text = format!(
            "[[endpoint]]\nname = \"a\"\nurl = {url:?}\nkind = \"iti41\"\ncert = \"c.pem\"\nkey = \"c.key\"\nroots = \"r.pem\"\n"
        );
        parse(&text, Path::new("/base"))
            .map(|mut v| v.remove(0))
            .expect("parse")
    }

    #[test]
    fn urls_parse_and_paths_resolve() {
        let e = ep("https://localhost:8443/iti41");
        assert_eq!(
            e.target().expect("url"),
            Target {
                scheme: Scheme::Https,
                host: "localhost".into(),
                port: 8443,
                path: "/iti41".into()
            }
        );
        assert_eq!(e.roots, Path::new("/base/r.pem"));
        assert_eq!(ep("https://[::1]/x").target().expect("v6").port, 443);
        assert!(ep("https://h/x").target().is_ok());
        let smtp = |url: &str| {
            let text = format!(
                "[[endpoint]]\nname = \"m\"\nurl = {url:?}\nkind = \"smtp\"\ncert = \"c\"\nkey = \"k\"\nroots = \"r\"\n"
            );
            parse(&text, Path::new("/")).map(|v| v[0].target().expect("target"))
        };
        let t = smtp("smtp://mail.example").expect("smtp");
        assert_eq!((t.scheme, t.port), (Scheme::Smtp, 587));
        let t = smtp("smtps://[::1]").expect("smtps");
        assert_eq!(
            (t.scheme, t.port, t.host.as_str()),
            (Scheme::Smtps, 465, "::1")
        );
        assert!(smtp("https://mail.example").is_err());
        // Credentials in the URL would not be sent: refused, said in words.
        for url in ["https://u:p@h/x", "https://u@[::1]:8443/x"] {
            let text = format!(
                "[[endpoint]]\nname = \"a\"\nurl = {url:?}\nkind = \"iti41\"\nroots = \"r\"\n"
            );
            let e = parse(&text, Path::new("/")).expect_err(url).to_string();
            assert!(e.contains("credentials in the URL"), "{e}");
        }
        assert!(
            parse(
                "[[endpoint]]\nname=\"a\"\nurl=\"http://x\"\nkind=\"mhd\"\nroots=\"r\"\n",
                Path::new(".")
            )
            .is_err()
        );
    }

    #[test]
    fn an_endpoint_without_identity_is_named_with_its_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("ep.toml");
        std::fs::write(
            &file,
            "[[endpoint]]\nname = \"a\"\nurl = \"https://h/x\"\nkind = \"iti41\"\nroots = \"r\"\n",
        )
        .expect("write");
        let e = read(&file).expect("read").remove(0);
        let why = e.identity_files().expect_err("no identity").to_string();
        assert!(
            why.contains(&format!(
                "{}: endpoint a: no client identity",
                file.display()
            )),
            "{why}"
        );
    }

    #[test]
    fn timeouts_are_bounded_numbers_of_seconds() {
        let with = |setting: &str| {
            let text = format!(
                "[[endpoint]]\nname = \"a\"\nurl = \"https://h/x\"\nkind = \"iti41\"\nroots = \"r\"\n{setting}\n"
            );
            parse(&text, Path::new("/"))
        };
        let ok = with("timeout_s = 2.5\nconnect_timeout_s = 86400").expect("in range");
        assert_eq!(ok[0].timeout(), Duration::from_millis(2500));
        for bad in [
            "inf",
            "nan",
            "-1.0",
            "0",
            "1e30",
            "18446744073709551615",
            "86401",
        ] {
            for key in ["timeout_s", "connect_timeout_s"] {
                let e = with(&format!("{key} = {bad}")).expect_err(bad).to_string();
                assert!(
                    e.contains(&format!("endpoint a: {key} = ")) && e.contains("at most 86400"),
                    "{e}"
                );
            }
        }
        let user = with("smtp_user = \"u\"")
            .expect_err("no password")
            .to_string();
        assert!(
            user.contains("smtp_user and smtp_password go together"),
            "{user}"
        );
        let text =
            "[[endpoint]]\nname = \"a\"\nurl = \"https://h/x\"\nkind = \"iti41\"\nroots = \"r\"\n";
        let twice = parse(&format!("{text}{text}"), Path::new("/")).expect_err("twice");
        assert!(
            twice.to_string().contains("two endpoints are named \"a\""),
            "{twice}"
        );
        let e = with("timeout_s = \"x\"").expect_err("a string").to_string();
        assert!(e.starts_with("configuration: line 6, column 13: "), "{e}");
    }
}
