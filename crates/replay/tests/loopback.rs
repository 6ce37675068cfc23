//! Replay against a real in-process `segur-sink` with a generated test PKI.

use std::path::{Path, PathBuf};

use segur_cda::DocType;
use segur_exchange::iti41;
use segur_exchange::package::{Input, Options};
use segur_ins::{Generator, SeedRng};
use segur_replay::config::{self, Endpoint};
use segur_replay::requests::load_dir;
use segur_replay::run::{Load, run};
use segur_sink::{Config, Sink};
use segur_tls::pki::{PkiOptions, Role};

struct Fixture {
    dir: tempfile::TempDir,
    pki_dir: PathBuf,
    manifest: segur_tls::pki::Manifest,
    config: Config,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let options = PkiOptions {
        clients: 4,
        ..PkiOptions::default()
    };
    let pki =
        segur_tls::pki::TestPki::generate(&options, time::OffsetDateTime::now_utc()).expect("pki");
    let pki_dir = dir.path().join("pki");
    let manifest = pki.write(&pki_dir, &options, false).expect("write");
    let entry = |r: Role| {
        manifest
            .entries
            .iter()
            .find(|e| e.role == r)
            .expect("entry")
            .clone()
    };
    let config = Config::from_toml(
        &format!(
            "listen = \"127.0.0.1:0\"\ncert = {:?}\nkey = {:?}\nclient_roots = {:?}\nstore = \"store\"\nworkers = 4\ntimeout_s = 10\n",
            pki_dir.join(entry(Role::Server).chain),
            pki_dir.join(entry(Role::Server).key),
            pki_dir.join(entry(Role::RootCa).cert),
        ),
        dir.path(),
    )
    .expect("config");
    Fixture {
        dir,
        pki_dir,
        manifest,
        config,
    }
}

fn requests(dir: &Path, n: u64) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for seed in 0..n {
        let identity = Generator::new(100 + seed).next_identity();
        let mut rng = SeedRng::new(100 + seed);
        let input = Input {
            name: format!("doc-{seed}.xml"),
            bytes: segur_cda::build(DocType::CrBio, &identity, &mut rng).to_bytes(),
        };
        let options = Options {
            now: 1_736_000_000,
            ..Options::default()
        };
        let req = iti41::build(&[input], &options).expect("iti41");
        std::fs::write(dir.join(format!("{seed:03}.mtom")), req.to_capture()).expect("write");
    }
}

fn endpoint(f: &Fixture, port: u16, identity: &str) -> Endpoint {
    let root = f
        .manifest
        .entries
        .iter()
        .find(|e| e.role == Role::RootCa)
        .expect("root");
    let text = format!(
        "[[endpoint]]\nname = \"sink\"\nurl = \"https://localhost:{port}/iti41\"\nkind = \"iti41\"\nroots = {:?}\n{identity}timeout_s = 10\n",
        f.pki_dir.join(&root.cert)
    );
    config::pick(config::parse(&text, &f.pki_dir).expect("endpoints"), None).expect("pick")
}

#[test]
fn four_users_with_a_pool_of_four_identities_store_twenty_documents() {
    let f = fixture();
    let reqs = f.dir.path().join("reqs");
    requests(&reqs, 20);
    let (sink, _) = Sink::from_config(&f.config).expect("sink");
    let port = sink.local_addr().expect("addr").port();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));

    let ep = endpoint(&f, port, "pool_dir = \"clients\"\n");
    assert_eq!(ep.identity_files().expect("pool").len(), 4);
    let prepared = load_dir(&reqs, ep.kind).expect("load");
    let report = run(
        &ep,
        &prepared,
        Load {
            users: 4,
            count: 20,
        },
    )
    .expect("run");
    stopper.stop();
    thread.join().expect("join");

    assert_eq!(report.ok, 20, "{report:#?}");
    assert_eq!(report.failed, 0, "{report:#?}");
    assert_eq!(report.latency.samples, 20);
    assert!(report.latency.p50_us > 0 && report.latency.max_us >= report.latency.p99_us);
    assert_eq!(report.identities, 4);
    let index =
        std::fs::read_to_string(f.config.store.join(segur_sink::store::INDEX)).expect("index");
    assert_eq!(index.lines().count(), 20, "every document stored");
    eprintln!(
        "debug build, loopback: {:.1} req/s, p50 {} us, p99 {} us",
        report.throughput_rps, report.latency.p50_us, report.latency.p99_us
    );
}

#[test]
fn an_untrusted_or_expired_client_is_counted_as_tls_handshake_errors() {
    let f = fixture();
    let reqs = f.dir.path().join("reqs");
    requests(&reqs, 2);
    let (sink, _) = Sink::from_config(&f.config).expect("sink");
    let port = sink.local_addr().expect("addr").port();
    let stopper = sink.stopper().expect("stopper");
    let thread = std::thread::spawn(move || sink.serve().expect("serve"));
    let prepared = load_dir(&reqs, segur_replay::Kind::Iti41).expect("load");
    for bad in ["unknown-ca", "expired"] {
        let e = f
            .manifest
            .entries
            .iter()
            .find(|e| e.name == bad)
            .expect("broken entry");
        let ep = endpoint(
            &f,
            port,
            &format!(
                "cert = {:?}\nkey = {:?}\n",
                f.pki_dir.join(&e.chain),
                f.pki_dir.join(&e.key)
            ),
        );
        let report = run(&ep, &prepared, Load { users: 2, count: 4 }).expect("run");
        assert_eq!(report.ok, 0, "{report:#?}");
        assert_eq!(report.errors.len(), 1, "{report:#?}");
        assert_eq!(report.errors[0].kind, "tls-handshake", "{report:#?}");
        assert_eq!(report.errors[0].count, 4);
        assert!(!report.errors[0].example.is_empty(), "{report:#?}");
        eprintln!("{bad}: {}", report.errors[0].example);
    }
    stopper.stop();
    thread.join().expect("join");
    assert!(
        !f.config.store.join(segur_sink::store::INDEX).exists()
            || std::fs::read_to_string(f.config.store.join(segur_sink::store::INDEX))
                .expect("index")
                .is_empty()
    );
}

#[test]
fn a_closed_port_is_counted_as_connect_errors() {
    let f = fixture();
    let reqs = f.dir.path().join("reqs");
    requests(&reqs, 1);
    // Bind then drop: a port that nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let ep = endpoint(&f, port, "pool_dir = \"clients\"\n");
    let prepared = load_dir(&reqs, ep.kind).expect("load");
    let report = run(&ep, &prepared, Load { users: 2, count: 6 }).expect("run");
    assert_eq!(report.ok, 0);
    assert_eq!(report.errors.len(), 1, "{report:#?}");
    assert_eq!(report.errors[0].kind, "connect");
    assert_eq!(report.errors[0].count, 6);
    assert_eq!(report.latency.samples, 0);
}
