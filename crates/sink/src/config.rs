//! The sink's TOML configuration (docs/sink.md).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::SinkError;

/// Largest request body accepted by default: 64 MiB.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024 * 1024;

/// The sink's configuration. Relative paths in a file are relative to the file's directory.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`127.0.0.1:8443`; port 0 picks a free one).
    pub listen: String,
    /// Address of the SMTP submission listener (STARTTLS required, then a client
    /// certificate); none when absent.
    #[serde(default)]
    pub smtp_listen: Option<String>,
    /// Address of the SMTP submission listener over implicit TLS (RFC 8314, port 465 in
    /// production), a client certificate required; none when absent.
    #[serde(default)]
    pub smtps_listen: Option<String>,
    /// SMTP accounts: when any is given, a client must also authenticate (AUTH PLAIN, over
    /// TLS only) before MAIL.
    #[serde(default)]
    pub smtp_accounts: Vec<SmtpAccount>,
    /// The server certificate chain, PEM (leaf first).
    pub cert: PathBuf,
    /// The server private key, PEM (PKCS#8, PKCS#1 or SEC1); absent when in `cert`.
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// The roots that client certificates must chain to, PEM.
    pub client_roots: PathBuf,
    /// Directory of the durable store (created if missing).
    pub store: PathBuf,
    /// The ANS rules directory: when set, each CDA document is validated with it too.
    #[serde(default)]
    pub rules: Option<PathBuf>,
    /// Largest request body in bytes (larger: 413).
    #[serde(default = "default_max_body")]
    pub max_body: usize,
    /// Requests unpacked, validated and stored at once (each connection has its own thread;
    /// this bounds the heavy work and its memory).
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// Connections open at once, all listeners together; beyond, a new connection is
    /// closed at once (SMTP: after a 421 reply).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Time a connection has for its handshake, its whole request and the answer (HTTPS: each
    /// request on a kept-alive connection has it again; SMTP: each command, DATA and its
    /// message included), in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_s: u64,
    /// Longest wait for the next request on a kept-alive HTTPS connection, in seconds.
    #[serde(default = "default_keep_alive")]
    pub keep_alive_s: u64,
    /// Faults injected for testing clients (none by default).
    #[serde(default)]
    pub faults: Faults,
}

/// An SMTP account (a test sink's: the password is in the configuration in clear).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SmtpAccount {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

/// Faults injected after a request is read, to test how clients cope (docs/sink.md).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Milliseconds added before every answer.
    #[serde(default)]
    pub latency_ms: u64,
    /// Fraction (0 to 1) of requests answered 503 without being processed (nothing stored).
    #[serde(default)]
    pub error_rate: f64,
    /// Fraction (0 to 1) of connections closed after the request is read, with no answer
    /// and nothing stored.
    #[serde(default)]
    pub drop_rate: f64,
    /// Seed of the draws, for reproducible runs.
    #[serde(default)]
    pub seed: u64,
}

impl Faults {
    /// Whether any fault is configured.
    pub fn any(&self) -> bool {
        self.latency_ms > 0 || self.error_rate > 0.0 || self.drop_rate > 0.0
    }
}

/// Longest `timeout_s` and `keep_alive_s`: a day.
pub const MAX_SECONDS: u64 = 86_400;

/// Most `workers` and `max_connections` (each connection has its thread).
pub const MAX_THREADS: usize = 65_536;

/// `HOST:PORT` (a name, an IPv4 address, or an IPv6 one in brackets), port 0 to 65535.
fn check_address(address: &str) -> Result<(), &'static str> {
    const EXPECTED: &str = "expected HOST:PORT, as 127.0.0.1:8443 or [::1]:8443";
    let (host, port) = address.rsplit_once(':').ok_or(EXPECTED)?;
    if host.is_empty() || host.contains('/') || host.contains(char::is_whitespace) {
        return Err(EXPECTED);
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err() {
        return Err("the port must be a number from 0 to 65535");
    }
    Ok(())
}

fn default_max_body() -> usize {
    DEFAULT_MAX_BODY
}

fn default_workers() -> usize {
    4
}

fn default_max_connections() -> usize {
    256
}

fn default_timeout() -> u64 {
    60
}

fn default_keep_alive() -> u64 {
    crate::KEEP_ALIVE_IDLE.as_secs()
}

impl Config {
    /// Read a configuration file; relative paths become relative to its directory.
    pub fn from_file(path: &Path) -> Result<Config, SinkError> {
        let config_error = |message| SinkError::Config {
            path: path.to_path_buf(),
            message,
        };
        let text = segur_tls::read_text(path).map_err(|e| config_error(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::from_toml(&text, base).map_err(config_error)
    }

    /// Parse TOML; relative paths are joined to `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Config, String> {
        let mut c: Config =
            toml::from_str(text).map_err(|e| segur_tls::toml_error_line(text, &e))?;
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        join(&mut c.cert);
        if let Some(k) = c.key.as_mut() {
            join(k);
        }
        join(&mut c.client_roots);
        join(&mut c.store);
        if let Some(r) = c.rules.as_mut() {
            join(r);
        }
        if c.workers == 0 {
            return Err("workers must be at least 1".into());
        }
        if c.max_connections == 0 {
            return Err("max_connections must be at least 1".into());
        }
        for (key, value) in [("timeout_s", c.timeout_s), ("keep_alive_s", c.keep_alive_s)] {
            if !(1..=MAX_SECONDS).contains(&value) {
                return Err(format!(
                    "{key} = {value}: seconds from 1 to {MAX_SECONDS} (a day)"
                ));
            }
        }
        if c.faults.latency_ms >= c.timeout_s * 1000 {
            return Err(format!(
                "faults: latency_ms = {} is not shorter than timeout_s = {} (the timeout covers the answer, latency included)",
                c.faults.latency_ms, c.timeout_s
            ));
        }
        for (key, value) in [
            ("workers", c.workers),
            ("max_connections", c.max_connections),
        ] {
            if value > MAX_THREADS {
                return Err(format!(
                    "{key} = {value}: at most {MAX_THREADS} (a thread each)"
                ));
            }
        }
        let listeners = [
            ("listen", Some(&c.listen)),
            ("smtp_listen", c.smtp_listen.as_ref()),
            ("smtps_listen", c.smtps_listen.as_ref()),
        ];
        for (key, address) in listeners {
            if let Some(a) = address {
                check_address(a).map_err(|why| format!("{key} = {a:?}: {why}"))?;
            }
        }
        let rate = |r: f64| (0.0..=1.0).contains(&r);
        if !rate(c.faults.error_rate)
            || !rate(c.faults.drop_rate)
            || c.faults.error_rate + c.faults.drop_rate > 1.0
        {
            return Err(
                "faults: error_rate and drop_rate are fractions from 0 to 1, their sum at most 1"
                    .into(),
            );
        }
        if c.max_body == 0 {
            return Err("max_body must be at least 1".into());
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_and_defaults() {
        let c = Config::from_toml(
            "listen = \"127.0.0.1:0\"\ncert = \"s.pem\"\nkey = \"s.key\"\nclient_roots = \"/r.pem\"\nstore = \"st\"\n",
            Path::new("/etc/sink"),
        )
        .expect("config");
        assert_eq!(c.cert, PathBuf::from("/etc/sink/s.pem"));
        assert_eq!(c.client_roots, PathBuf::from("/r.pem"));
        assert_eq!(c.store, PathBuf::from("/etc/sink/st"));
        assert_eq!(c.max_body, DEFAULT_MAX_BODY);
        assert_eq!(c.workers, 4);
        assert_eq!((c.max_connections, c.keep_alive_s), (256, 5));
        assert!(!c.faults.any());
        let base = "listen = \"localhost:0\"\ncert = \"c\"\nclient_roots = \"r\"\nstore = \"s\"\n";
        let f = Config::from_toml(
            &format!("{base}[faults]\nlatency_ms = 5\nerror_rate = 0.25\n"),
            Path::new("."),
        )
        .expect("faults");
        assert!(f.faults.any() && f.faults.error_rate == 0.25);
        assert!(
            Config::from_toml(
                &format!("{base}[faults]\nerror_rate = 0.6\ndrop_rate = 0.6\n"),
                Path::new(".")
            )
            .is_err()
        );
        assert!(Config::from_toml("listen = 1", Path::new(".")).is_err());
        for zero in ["workers", "max_connections"] {
            let e = Config::from_toml(&format!("{base}{zero} = 0\n"), Path::new("."));
            assert_eq!(e, Err(format!("{zero} must be at least 1")));
        }
        for (setting, why) in [
            (
                "keep_alive_s = 0",
                "keep_alive_s = 0: seconds from 1 to 86400 (a day)",
            ),
            (
                "timeout_s = 0",
                "timeout_s = 0: seconds from 1 to 86400 (a day)",
            ),
            (
                "timeout_s = 18446744073709551615",
                "timeout_s = 18446744073709551615: seconds from 1 to 86400 (a day)",
            ),
            (
                "workers = 100000",
                "workers = 100000: at most 65536 (a thread each)",
            ),
            (
                "timeout_s = 2\n[faults]\nlatency_ms = 2000",
                "faults: latency_ms = 2000 is not shorter than timeout_s = 2 (the timeout covers the answer, latency included)",
            ),
        ] {
            let e = Config::from_toml(&format!("{base}{setting}\n"), Path::new("."));
            assert_eq!(e, Err(why.to_string()), "{setting}");
        }
        for (address, ok) in [
            ("127.0.0.1:8443", true),
            ("[::1]:0", true),
            ("localhost:65535", true),
            ("127.0.0.1", false),
            ("https://127.0.0.1:8443", false),
            ("127.0.0.1:99999", false),
            ("127.0.0.1:+80", false),
            (":80", false),
        ] {
            let text = base.replace("localhost:0", address);
            let c = Config::from_toml(&text, Path::new("."));
            assert_eq!(c.is_ok(), ok, "{address}: {c:?}");
            if !ok {
                let e = c.expect_err("refused");
                assert!(e.starts_with(&format!("listen = {address:?}: ")), "{e}");
            }
        }
        let toml_error = Config::from_toml(&format!("{base}workers = \"x\"\n"), Path::new("."))
            .expect_err("a wrong type");
        assert!(
            toml_error.starts_with("line 5, column 11: "),
            "{toml_error}"
        );
        assert!(Config::from_toml(&format!("{base}bogus = 1\n"), Path::new(".")).is_err());
    }
}
