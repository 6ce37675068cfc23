//! `segur replay` as a user runs it: a test PKI, `segur sink` started from a config, requests
//! packaged with `segur package iti41`, then a closed-model replay with a pool of client
//! identities; and the same replay with a refused identity.

use std::path::Path;
use std::process::{Child, Command, Stdio};

mod common;
use common::*;

/// `segur sink` on a free port (see `common::start_sink`), its output drained so it never
/// blocks on a full pipe: the child and its `host:port`.
fn start_sink(dir: &Path) -> (Child, String) {
    let (child, addr, lines) = common::start_sink(dir);
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

fn endpoint(dir: &Path, addr: &str, identity: &str) -> std::path::PathBuf {
    let file = dir.join(format!("replay-{identity}.toml"));
    let port = addr.rsplit(':').next().expect("port");
    std::fs::write(
        &file,
        format!(
            "[[endpoint]]\nname = \"sink\"\nurl = \"https://localhost:{port}/iti41\"\nkind = \"iti41\"\n\
             roots = \"pki/ca/root.pem\"\npool_dir = \"pki/{identity}\"\ntimeout_s = 10\n"
        ),
    )
    .expect("endpoint file");
    file
}

/// `segur pki init DIR/pki --clients N`, which must succeed.
fn init_pki(dir: &Path, clients: u32) {
    let n = clients.to_string();
    let o = segur(&["pki", "init", path(&dir.join("pki")), "--clients", &n]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// `segur replay --config CONFIG --dir REQUESTS`, to which a test adds the load options.
fn replay_command(config: &Path, requests: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_segur"));
    c.args(["replay", "--config", path(config), "--dir", path(requests)]);
    c
}

/// `n` distinct CR-BIO documents under DIR/docs, each packaged as its own ITI-41 request in
/// DIR/requests (returned).
fn prepare_requests(dir: &Path, n: usize) -> std::path::PathBuf {
    let docs = dir.join("docs");
    let count = n.to_string();
    let o = segur(&[
        "build",
        "cr-bio",
        "--count",
        &count,
        "--seed",
        "11",
        "--out",
        path(&docs),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let requests = dir.join("requests");
    std::fs::create_dir_all(&requests).expect("mkdir");
    let mut names: Vec<_> = std::fs::read_dir(&docs)
        .expect("docs")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    for (i, doc) in names.iter().enumerate() {
        let out = requests.join(format!("r{i:03}.mtom"));
        let o = segur(&["package", "iti41", path(doc), "--out", path(&out)]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    requests
}

#[test]
fn a_pool_of_50_identities_reaches_the_sink_as_50_distinct_client_certificates() {
    // Issue 5: one identity per virtual user. The sink records the fingerprint of the client
    // certificate of each stored document.
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    init_pki(dir, 50);
    let (mut sink, addr) = start_sink(dir);
    let requests = prepare_requests(dir, 50);
    let config = endpoint(dir, &addr, "clients");
    let o = segur(&[
        "replay",
        "--config",
        path(&config),
        "--dir",
        path(&requests),
        "--users",
        "50",
        "--count",
        "50",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON report");
    assert_eq!(o.status.code(), Some(0), "{report}{}", stderr(&o));
    assert_eq!(report["identities"], 50, "{report}");
    assert_eq!(report["ok"], 50, "{report}");
    let index = std::fs::read_to_string(dir.join("store/index.jsonl")).expect("index");
    let fingerprints: std::collections::HashSet<String> = index
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("index line");
            v["client"]["sha256"]
                .as_str()
                .expect("fingerprint")
                .to_string()
        })
        .collect();
    assert_eq!(index.lines().count(), 50);
    assert_eq!(fingerprints.len(), 50, "{fingerprints:?}");
    sink.kill().expect("stop the sink");
    let _ = sink.wait();
}

#[test]
fn replay_sends_every_request_through_a_pool_of_identities_and_counts_refusals() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    init_pki(dir, 3);
    let (mut sink, addr) = start_sink(dir);

    // Six distinct documents, each packaged as its own ITI-41 request.
    let docs = dir.join("docs");
    let requests = prepare_requests(dir, 6);

    let ok = endpoint(dir, &addr, "clients");
    let log = dir.join("requests.jsonl");
    let o = segur(&[
        "replay",
        "--config",
        path(&ok),
        "--dir",
        path(&requests),
        "--users",
        "3",
        "--count",
        "6",
        "--log",
        path(&log),
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON report");
    assert_eq!(o.status.code(), Some(0), "{report}{}", stderr(&o));
    assert_eq!(report["ok"], 6, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["identities"], 3, "{report}");
    assert_eq!(report["latency"]["samples"], 6, "{report}");
    let index = std::fs::read_to_string(dir.join("store/index.jsonl")).expect("index");
    assert_eq!(index.lines().count(), 6);
    assert_eq!(
        report["handshakes"], 3,
        "one kept-alive connection per user: {report}"
    );
    // Standard error is not a terminal: progress comes as JSON lines, the last one final.
    let progress: Vec<serde_json::Value> = stderr(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON progress line"))
        .collect();
    let last = progress.last().expect("at least the final progress line");
    assert_eq!(
        (last["done"].as_bool(), last["ok"].as_u64()),
        (Some(true), Some(6)),
        "{last}"
    );
    for key in ["sent", "errors", "rate_rps", "p99_us", "elapsed_s"] {
        assert!(last.get(key).is_some(), "{key} in {last}");
    }

    // The open model, quiet: the same six requests again at 12/s (refused as duplicates by
    // the registry), latency also measured from the intended send times.
    let o = segur(&[
        "replay",
        "--config",
        path(&ok),
        "--dir",
        path(&requests),
        "--users",
        "2",
        "--rate",
        "12",
        "--count",
        "6",
        "--quiet",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON report");
    assert_eq!(o.status.code(), Some(1), "{report}");
    assert_eq!(stderr(&o), "", "--quiet");
    assert_eq!(report["model"], "open", "{report}");
    std::fs::write(dir.join("open.json"), stdout(&o)).expect("report");
    check_schema("replay-report", &dir.join("open.json"));
    assert_eq!(report["latency_corrected"]["samples"], 6, "{report}");
    assert!(
        report["elapsed_s"].as_f64().expect("elapsed") >= 5.0 / 12.0,
        "{report}"
    );
    assert_eq!(report["errors"][0]["kind"], "registry-failure", "{report}");
    assert_eq!(report["errors"][0]["count"], 6, "{report}");

    // The expired identities: every request refused at the TLS layer, exit 1, text output.
    let expired = dir.join("pki/expired");
    std::fs::create_dir_all(&expired).expect("mkdir");
    for ext in ["chain.pem", "key"] {
        let from = std::fs::read_dir(dir.join("pki"))
            .expect("pki")
            .flat_map(|e| {
                std::fs::read_dir(e.expect("entry").path())
                    .into_iter()
                    .flatten()
            })
            .map(|e| e.expect("entry").path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("expired") && n.ends_with(ext))
            })
            .unwrap_or_else(|| panic!("an expired client .{ext} in the test PKI"));
        std::fs::copy(&from, expired.join(format!("expired.{ext}"))).expect("copy");
    }
    let bad = endpoint(dir, &addr, "expired");
    let o = segur(&[
        "replay",
        "--config",
        path(&bad),
        "--dir",
        path(&requests),
        "--users",
        "2",
        "--count",
        "4",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("failed 4"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(
            "tls-handshake x4: the server refused the handshake: the client's certificate has expired"
        ),
        "{}",
        stdout(&o)
    );

    // A directory without requests is a usage error, on one line.
    let o = segur(&[
        "replay",
        "--config",
        path(&ok),
        "--dir",
        path(&docs.join("nothing")),
        "--count",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));

    sink.kill().expect("stop the sink");
    let _ = sink.wait();
}

/// Check `file` against docs/schemas/NAME.schema.json (python3 with jsonschema, as CI has).
fn check_schema(name: &str, file: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let o = Command::new("python3")
        .arg(root.join("tests/json_schema_check.py"))
        .arg(root.join(format!("docs/schemas/{name}.schema.json")))
        .arg(file)
        .output()
        .expect("python3 with jsonschema (.ci/run installs it)");
    assert!(
        o.status.success(),
        "{name}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The uniqueIds of the index's complete lines.
fn stored_ids(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("store/index.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["unique_id"].as_str().expect("unique_id").to_string())
        .collect()
}

#[test]
fn a_sink_killed_mid_replay_restarts_with_its_store_intact() {
    // Issue 5: SIGKILL in the middle of a replay. What the sink acknowledged is on disk; after a
    // restart on the same store, replaying everything again stores exactly the rest and
    // refuses the rest as duplicates: every document stored once.
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    init_pki(dir, 4);
    let n = 60;
    let requests = prepare_requests(dir, n);
    let (mut sink, addr) = start_sink(dir);
    let config = endpoint(dir, &addr, "clients");
    let count = n.to_string();
    let mut replay = replay_command(&config, &requests)
        .args(["--users", "4", "--count", &count, "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn replay");
    let t = std::time::Instant::now();
    while stored_ids(dir).len() < 5 {
        assert!(t.elapsed().as_secs() < 60, "the sink stored nothing");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    sink.kill().expect("SIGKILL the sink");
    let _ = sink.wait();
    let _ = replay.wait();
    let before = stored_ids(dir);
    // Killed after 5 of 60 stores: the replay (a debug build sends about 160 requests/s here)
    // cannot have finished.
    assert!(
        !before.is_empty() && before.len() < n,
        "{} stored before the kill",
        before.len()
    );

    let (mut sink, addr) = start_sink(dir);
    let config = endpoint(dir, &addr, "clients");
    let o = segur(&[
        "replay",
        "--config",
        path(&config),
        "--dir",
        path(&requests),
        "--users",
        "4",
        "--count",
        &count,
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON report");
    assert_eq!(report["ok"], (n - before.len()) as u64, "{report}");
    assert_eq!(report["failed"], before.len() as u64, "{report}");
    let after = stored_ids(dir);
    let distinct: std::collections::HashSet<&String> = after.iter().collect();
    assert_eq!(after.len(), n, "{report}");
    assert_eq!(distinct.len(), n);
    sink.kill().expect("stop the sink");
    let _ = sink.wait();
}

#[test]
fn mssante_messages_packaged_by_segur_are_submitted_by_smtp_to_segur_sink() {
    // `segur package mss` → `segur sink` with SMTP submission → `segur replay` kind smtp.
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    init_pki(dir, 2);
    let docs = dir.join("docs");
    let o = segur(&[
        "build",
        "cr-bio",
        "--count",
        "3",
        "--seed",
        "31",
        "--out",
        path(&docs),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mss = dir.join("mss");
    std::fs::create_dir_all(&mss).expect("mkdir");
    let mut names: Vec<_> = std::fs::read_dir(&docs)
        .expect("docs")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    for (i, doc) in names.iter().enumerate() {
        let out = mss.join(format!("m{i}.eml"));
        let o = segur(&["package", "mss", path(doc), "--out", path(&out)]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let config = dir.join("sink.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\nsmtp_listen = \"127.0.0.1:0\"\n\
         cert = \"pki/server/localhost.chain.pem\"\nkey = \"pki/server/localhost.key\"\n\
         client_roots = \"pki/ca/root.pem\"\nstore = \"store\"\n",
    )
    .expect("config");
    let mut sink = Command::new(env!("CARGO_BIN_EXE_segur"))
        .args(["sink", "--config", path(&config)])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sink");
    let mut lines = BufReader::new(sink.stdout.take().expect("stdout")).lines();
    let smtp_line = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("SMTP submission on"))
        .expect("the SMTP line");
    std::thread::spawn(move || lines.for_each(drop));
    let port = smtp_line
        .split("SMTP submission on ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|a| a.rsplit(':').next())
        .expect("port")
        .to_string();
    let endpoints = dir.join("replay.toml");
    std::fs::write(
        &endpoints,
        format!(
            "[[endpoint]]\nname = \"mss\"\nurl = \"smtp://localhost:{port}\"\nkind = \"smtp\"\n\
             roots = \"pki/ca/root.pem\"\npool_dir = \"pki/clients\"\n"
        ),
    )
    .expect("endpoints");
    let o = segur(&[
        "replay",
        "--config",
        path(&endpoints),
        "--dir",
        path(&mss),
        "--users",
        "2",
        "--count",
        "3",
        "--quiet",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON report");
    let again = segur(&[
        "replay",
        "--config",
        path(&endpoints),
        "--dir",
        path(&mss),
        "--users",
        "1",
        "--count",
        "1",
        "--quiet",
    ]);
    // Built on the fly: two new messages, packaged as `segur package mss` would.
    let built = segur(&[
        "replay",
        "--config",
        path(&endpoints),
        "--build",
        "cr-bio",
        "--seed",
        "4242",
        "--users",
        "1",
        "--count",
        "2",
        "--quiet",
        "--format",
        "json",
    ]);
    let built: serde_json::Value = serde_json::from_str(&stdout(&built)).expect("JSON report");
    // Built and validated with the official rules before each is sent.
    let validated = segur(&[
        "replay",
        "--config",
        path(&endpoints),
        "--build",
        "cr-bio",
        "--seed",
        "4343",
        "--validate",
        "--rules",
        &rules(),
        "--users",
        "1",
        "--count",
        "2",
        "--quiet",
        "--format",
        "json",
    ]);
    let validated: serde_json::Value =
        serde_json::from_str(&stdout(&validated)).expect("JSON report");
    let no_rules = segur(&[
        "replay",
        "--config",
        path(&endpoints),
        "--build",
        "cr-bio",
        "--validate",
        "--rules",
        path(dir),
        "--count",
        "1",
        "--quiet",
    ]);
    sink.kill().expect("stop the sink");
    let _ = sink.wait();
    assert_eq!(o.status.code(), Some(0), "{report}");
    assert_eq!(
        (report["ok"].as_u64(), report["handshakes"].as_u64()),
        (Some(3), Some(2)),
        "{report}"
    );
    assert_eq!(built["ok"], 2, "{built}");
    assert_eq!(
        (validated["ok"].as_u64(), validated["failed"].as_u64()),
        (Some(2), Some(0)),
        "{validated}"
    );
    assert_eq!(no_rules.status.code(), Some(2), "{}", stderr(&no_rules));
    assert_eq!(
        stderr(&no_rules).trim().lines().count(),
        1,
        "{}",
        stderr(&no_rules)
    );
    let index = std::fs::read_to_string(dir.join("store/index.jsonl")).expect("index");
    assert_eq!(
        index.lines().count(),
        7,
        "3 packaged, 2 built, 2 built and validated: {index}"
    );
    assert!(
        index.lines().all(|l| l.contains("\"via\":\"mss\"")),
        "{index}"
    );
    // The first message again: refused by reply code, the sink's rule id in the text.
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    assert!(
        stdout(&again).contains("smtp-550 x1: 5.6.0 refused: SEGUR-SINK-DUPLICATE"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn sigterm_ends_a_replay_with_its_report_and_whole_log() {
    // SIGTERM in the middle of a long run: the run ends as its duration would, the report
    // is written and the log has a line for every request sent.
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    init_pki(dir, 2);
    let requests = prepare_requests(dir, 4);
    let (mut sink, addr) = start_sink(dir);
    let config = endpoint(dir, &addr, "clients");
    let log = dir.join("log.jsonl");
    let replay = replay_command(&config, &requests)
        .args(["--users", "2", "--rate", "20", "--duration", "600s"])
        .args(["--format", "json", "--log", path(&log)])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn replay");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let began = std::time::Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &replay.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let out = replay.wait_with_output().expect("wait");
    assert!(began.elapsed().as_secs() < 30, "ended by the signal");
    let _ = sink.kill();
    let _ = sink.wait();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "a JSON report: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let sent = report["requests"].as_u64().expect("requests");
    assert!(sent > 0, "{report}");
    let lines = std::fs::read_to_string(&log).expect("log").lines().count() as u64;
    assert_eq!(lines, sent, "one log line per request sent");
}
