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
fn start_aiosmtpd(f: &Fixture, out: &Path, pipelining: bool) -> (KillOnDrop, u16) {
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
        .args(pipelining.then_some("pipelining"))
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
    let (_server, port) = start_aiosmtpd(&f, &out, false);
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
        assert_eq!(l["pipelined"], false, "PIPELINING not offered: {l}");
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

/// nginx in front of the sink: TLS with `ssl_verify_client on` trusting the test root, and
/// `proxy_pass` to the sink over mutual TLS with its own client certificate (client-004).
/// Everything under `dir`; the process, its port and its error log.
fn start_nginx(f: &Fixture, sink_port: u16, dir: &Path) -> (KillOnDrop, u16, std::path::PathBuf) {
    let server = entry(f, None, Role::Server);
    let root = entry(f, None, Role::RootCa);
    let proxy = entry(f, Some("client-004"), Role::Client);
    let p = |rel: &str| f.pki_dir.join(rel).display().to_string();
    std::fs::create_dir_all(dir.join("logs")).expect("mkdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/logs/error.log info;\nevents {{ worker_connections 256; }}\n\
         http {{\n  access_log {d}/logs/access.log;\n\
           client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           client_max_body_size 64m;\n  client_body_buffer_size 1m;\n\
           server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name localhost;\n\
             ssl_certificate {};\n    ssl_certificate_key {};\n\
             ssl_client_certificate {};\n    ssl_verify_client on;\n    ssl_verify_depth 3;\n\
             location / {{\n      proxy_pass https://127.0.0.1:{sink_port};\n\
               proxy_ssl_certificate {};\n      proxy_ssl_certificate_key {};\n\
               proxy_ssl_trusted_certificate {};\n      proxy_ssl_verify on;\n\
               proxy_ssl_name localhost;\n      proxy_ssl_server_name on;\n    }}\n  }}\n}}\n",
        p(&server.chain),
        p(&server.key),
        p(&root.cert),
        p(&proxy.chain),
        p(&proxy.key),
        p(&root.cert),
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("nginx.conf");
    let error_log = dir.join("logs/error.log");
    let child = Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(&error_log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "nginx must be installed for this test (Debian: apt-get install nginx; \
                 .ci/run does it): {e}"
            )
        });
    let mut child = KillOnDrop(child);
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!(
                "nginx exited ({status}): {}",
                std::fs::read_to_string(&error_log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < until, "nginx did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port, error_log)
}

#[test]
fn iti41_replay_through_nginx_with_ssl_verify_client_on() {
    let f = fixture();
    let (sink, _) = Sink::from_config(&f.config).expect("sink");
    let sink_port = sink.local_addr().expect("addr").port();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));
    let (nginx, port, error_log) = start_nginx(&f, sink_port, &f.dir.path().join("nginx"));
    let reqs = f.dir.path().join("reqs");
    requests(&reqs, 4);
    let ep = endpoint(&f, port, "pool_dir = \"clients\"\n");
    let prepared = load_dir(&reqs, ep.kind).expect("load");

    let accepted = run(&ep, &prepared, Load::closed(2, 4)).expect("run");
    let mut refused = Vec::new();
    for bad in ["expired", "unknown-ca", "wrong-eku"] {
        let ep = endpoint(&f, port, &identity(&f, bad));
        refused.push((bad, run(&ep, &prepared, Load::closed(1, 1)).expect("run")));
    }
    // No certificate at all: the replay always has one, so go through the connection itself.
    let roots = segur_tls::roots_from_pem(
        &std::fs::read(f.pki_dir.join(entry(&f, None, Role::RootCa).cert)).expect("root"),
    )
    .expect("roots");
    let anonymous = std::sync::Arc::new(segur_tls::client_config(None, roots).expect("config"));
    let connector = segur_replay::http::Connector {
        addrs: segur_replay::http::Connector::resolve("127.0.0.1", port).expect("addr"),
        host_header: format!("localhost:{port}"),
        server_name: "localhost".try_into().expect("name"),
        path: "/iti41".into(),
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        probe: segur_replay::run::DEFAULT_PROBE,
        keep_alive: true,
    };
    let answer = segur_replay::http::Session::new(anonymous)
        .post(&connector, &prepared[0])
        .expect("nginx answers in HTTP");
    let no_certificate = segur_replay::run::judge(segur_replay::Kind::Iti41, &answer);
    drop(nginx);
    let log = std::fs::read_to_string(&error_log).unwrap_or_default();
    stopper.stop();
    thread.join().expect("join");

    assert_eq!(
        (accepted.ok, accepted.failed),
        (4, 0),
        "{accepted:#?}\n{log}"
    );
    assert_eq!(
        accepted.handshakes, 2,
        "nginx keeps connections alive: {accepted:#?}"
    );
    let index =
        std::fs::read_to_string(f.config.store.join(segur_sink::store::INDEX)).expect("index");
    assert_eq!(index.lines().count(), 4, "stored through nginx");
    for (bad, report) in &refused {
        assert_eq!(report.errors.len(), 1, "{bad}: {report:#?}");
        assert_eq!(report.errors[0].kind, "tls-handshake", "{bad}: {report:#?}");
        assert_eq!(
            report.errors[0].example,
            segur_replay::run::NGINX_BAD_CERTIFICATE,
            "{bad}: {report:#?}"
        );
    }
    assert_eq!(
        no_certificate,
        Err(segur_replay::Failure::Tls(
            segur_replay::run::NGINX_NO_CERTIFICATE.into()
        ))
    );
    // nginx's own log names each reason (OpenSSL's verify errors).
    for reason in [
        "(10:certificate has expired)",
        "(21:unable to verify the first certificate)",
        "(26:unsuitable certificate purpose)",
        "client sent no required SSL certificate",
    ] {
        assert!(log.contains(reason), "{reason} not in nginx's log:\n{log}");
    }
}

#[test]
fn openssl_s_server_refusals_after_a_tls13_handshake_are_explained_by_their_alert() {
    // OpenSSL verifying the client strictly (-verify_return_error) sends its alert after the
    // client's Finished; the replay client waits for it before writing, so it names the cause.
    let f = fixture();
    let server = entry(&f, None, Role::Server);
    let root = entry(&f, None, Role::RootCa);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-tls1_3",
            "-www",
            "-verify_return_error",
        ])
        .args(["-Verify", "3", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(f.pki_dir.join(&server.cert))
        .arg("-cert_chain")
        .arg(f.pki_dir.join(&server.chain))
        .arg("-key")
        .arg(f.pki_dir.join(&server.key))
        .arg("-CAfile")
        .arg(f.pki_dir.join(&root.cert))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl must be installed (.ci/run installs it)");
    let _server = KillOnDrop(child);
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "openssl s_server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let roots = || {
        segur_tls::roots_from_pem(&std::fs::read(f.pki_dir.join(&root.cert)).expect("root"))
            .expect("roots")
    };
    let connector = segur_replay::http::Connector {
        addrs: segur_replay::http::Connector::resolve("127.0.0.1", port).expect("addr"),
        host_header: format!("localhost:{port}"),
        server_name: "localhost".try_into().expect("name"),
        path: "/".into(),
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
        probe: segur_replay::run::DEFAULT_PROBE,
        keep_alive: true,
    };
    let open = |name: Option<&str>| {
        let id = name.map(|n| {
            let e = entry(&f, Some(n), Role::Client);
            segur_tls::Identity::from_pem_files(
                &f.pki_dir.join(&e.chain),
                Some(&f.pki_dir.join(&e.key)),
            )
            .expect("identity")
        });
        let tls = std::sync::Arc::new(segur_tls::client_config(id.as_ref(), roots()).expect("tls"));
        connector.open(&tls).map(drop)
    };
    assert_eq!(open(Some("client-001")), Ok(()));
    for (who, words) in [
        (
            Some("expired"),
            "the client's certificate has expired or is not valid yet",
        ),
        (
            Some("unknown-ca"),
            "it does not trust the CA that issued the client's certificate",
        ),
        (
            Some("wrong-eku"),
            "the client's certificate is not for this use",
        ),
        (None, "it requires a client certificate and none was sent"),
    ] {
        match open(who) {
            Err(segur_replay::Failure::Tls(text)) => assert!(
                text.starts_with("the server refused the handshake: ") && text.contains(words),
                "{who:?}: {text}"
            ),
            other => panic!("{who:?}: {other:?}"),
        }
    }
}

#[test]
fn smtp_replay_pipelines_its_commands_when_aiosmtpd_offers_pipelining() {
    let f = fixture();
    let out = f.dir.path().join("received");
    let (_server, port) = start_aiosmtpd(&f, &out, true);
    let dir = f.dir.path().join("mss");
    messages(&dir, 4);
    let ep = smtp_endpoint(&f, port, "pool_dir = \"clients\"\n");
    let prepared = load_dir(&dir, ep.kind).expect("load");
    let report = run(&ep, &prepared, Load::closed(2, 4)).expect("run");
    assert_eq!((report.ok, report.failed), (4, 0), "{report:#?}");
    let log = std::fs::read_to_string(out.join("log.jsonl")).expect("log");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("log line"))
        .collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert!(
        lines.iter().all(|l| l["pipelined"] == true),
        "RCPT TO and DATA came with MAIL FROM: {log}"
    );
    // A refused recipient in a pipelined group: aiosmtpd refuses the DATA after it, replay
    // counts the RCPT refusal and keeps the session (RSET).
    let mut refusing = ep.clone();
    refusing.rcpt_to = vec!["refuse@patient.mssante.fr".into()];
    let report = run(&refusing, &prepared, Load::closed(1, 2)).expect("run");
    assert_eq!(report.errors.len(), 1, "{report:#?}");
    assert_eq!(report.errors[0].kind, "smtp-550", "{report:#?}");
    assert_eq!(report.errors[0].count, 2, "{report:#?}");
    assert_eq!(report.handshakes, 1, "{report:#?}");
    // Nothing more was stored.
    assert_eq!(
        std::fs::read_to_string(out.join("log.jsonl"))
            .expect("log")
            .lines()
            .count(),
        4
    );
}
