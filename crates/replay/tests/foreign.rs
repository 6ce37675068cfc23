//! Replay against TLS and SMTP stacks no one here wrote: Python's aiosmtpd over OpenSSL
//! requiring a client certificate after STARTTLS, and nginx from Debian with
//! `ssl_verify_client on` in front of the sink. Both are started by the test, as the current
//! user, under a temp directory, and stopped at the end; a missing program fails the test.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use segur_replay::requests::load_dir;
use segur_replay::run::{Load, run};
use segur_sink::Sink;
use segur_tls::pki::Role;

mod common;
use common::*;

/// Start tests/servers/smtp_mtls.py; its process and port.
fn start_aiosmtpd(f: &Fixture, out: &Path) -> (KillOnDrop, u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/smtp_mtls.py");
    let server = entry(f, None, Role::Server);
    let root = entry(f, None, Role::RootCa);
    std::fs::create_dir_all(out).expect("mkdir");
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(f.pki_dir.join(&server.chain))
        .arg(f.pki_dir.join(&server.key))
        .arg(f.pki_dir.join(&root.cert))
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 must be installed (.ci/run installs it, and aiosmtpd with pip)");
    let stdout = child.stdout.take().expect("stdout");
    let child = KillOnDrop(child);
    let line = BufReader::new(stdout)
        .lines()
        .next()
        .and_then(Result::ok)
        .unwrap_or_default();
    let port = line
        .strip_prefix("port ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "the aiosmtpd server did not start (is aiosmtpd installed? \
                 `python3 -m pip install aiosmtpd`): {line:?}"
            )
        });
    (child, port)
}

#[test]
fn smtp_replay_against_aiosmtpd_requiring_a_client_certificate() {
    let f = fixture();
    let out = f.dir.path().join("received");
    let (_server, port) = start_aiosmtpd(&f, &out);
    let dir = f.dir.path().join("mss");
    messages(&dir, 4);
    let ep = smtp_endpoint(&f, port, "pool_dir = \"clients\"\n");
    let prepared = load_dir(&dir, ep.kind).expect("load");

    let report = run(&ep, &prepared, Load::closed(2, 4)).expect("run");
    assert_eq!((report.ok, report.failed), (4, 0), "{report:#?}");
    assert_eq!(report.handshakes, 2, "one session per user: {report:#?}");
    let log = std::fs::read_to_string(out.join("log.jsonl")).expect("log");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("log line"))
        .collect();
    assert_eq!(lines.len(), 4, "{log}");
    // Each user's own certificate, sent with its intermediate (the server trusts the root only).
    let mut clients: Vec<&str> = lines.iter().filter_map(|l| l["client"].as_str()).collect();
    clients.sort_unstable();
    clients.dedup();
    assert_eq!(clients.len(), 2, "{log}");
    assert!(
        clients
            .iter()
            .all(|c| c.contains("organizationalUnitName=1")),
        "{log}"
    );
    for l in &lines {
        assert!(l["from"].as_str().is_some_and(|a| a.contains('@')), "{l}");
        assert!(
            l["to"][0]
                .as_str()
                .is_some_and(|a| a.ends_with("@patient.mssante.fr")),
            "{l}"
        );
    }
    // The messages arrive whole (dot-stuffing undone by the server).
    let mut sent: Vec<Vec<u8>> = prepared.iter().map(|p| p.body.clone()).collect();
    let mut got: Vec<Vec<u8>> = (1..=4)
        .map(|i| std::fs::read(out.join(format!("{i}.eml"))).expect("received"))
        .collect();
    let trim = |v: &mut Vec<u8>| {
        while v.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            v.pop();
        }
    };
    sent.iter_mut().for_each(trim);
    got.iter_mut().for_each(trim);
    sent.sort();
    got.sort();
    assert!(
        sent == got,
        "the received messages differ from the sent ones"
    );

    // A recipient the server refuses: counted by reply code, with the server's words.
    let mut refusing = ep.clone();
    refusing.rcpt_to = vec!["refuse@patient.mssante.fr".into()];
    let report = run(&refusing, &prepared, Load::closed(1, 2)).expect("run");
    assert_eq!(report.errors.len(), 1, "{report:#?}");
    assert_eq!(report.errors[0].kind, "smtp-550", "{report:#?}");
    assert_eq!(report.errors[0].count, 2, "{report:#?}");
    assert!(
        report.errors[0].example.contains("mailbox unavailable"),
        "{report:#?}"
    );
    assert_eq!(
        report.handshakes, 1,
        "RSET keeps the session after a refusal"
    );

    // Python's asyncio TLS (OpenSSL underneath) refuses these after the TLS 1.3 handshake but
    // closes without sending its alert (`openssl s_client` sees none either): the client can
    // only say so. The server's own log names the reason.
    for bad in ["expired", "unknown-ca"] {
        let ep = smtp_endpoint(&f, port, &identity(&f, bad));
        let report = run(&ep, &prepared, Load::closed(1, 1)).expect("run");
        assert_eq!(report.errors.len(), 1, "{bad}: {report:#?}");
        assert_eq!(report.errors[0].kind, "tls-handshake", "{bad}: {report:#?}");
        assert_eq!(
            report.errors[0].example,
            segur_replay::http::CLOSED_AFTER_HANDSHAKE,
            "{bad}: {report:#?}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(out.join("log.jsonl"))
            .expect("log")
            .lines()
            .count(),
        4
    );
}
