//! Helpers shared by the replay tests: a generated test PKI, a sink configuration, requests
//! and messages built from generated documents, and endpoints.
// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use segur_cda::DocType;
use segur_exchange::iti41;
use segur_exchange::package::{Input, Options};
use segur_ins::{Generator, SeedRng};
use segur_replay::config::{self, Endpoint};
use segur_sink::Config;
use segur_tls::pki::{PkiOptions, Role};

/// A temp dir with a test PKI (4 clients) and a sink configuration using it.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub pki_dir: PathBuf,
    pub manifest: segur_tls::pki::Manifest,
    pub config: Config,
}

/// A fresh fixture.
pub fn fixture() -> Fixture {
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

/// A CR-BIO document generated from `generator_seed`, named `doc-{n}.xml`.
fn cr_bio(generator_seed: u64, n: u64) -> Input {
    let identity = Generator::new(generator_seed).next_identity();
    let mut rng = SeedRng::new(generator_seed);
    Input {
        name: format!("doc-{n}.xml"),
        bytes: segur_cda::build(DocType::CrBio, &identity, &mut rng).to_bytes(),
        header: None,
    }
}

/// Packaging options with a fixed time, so that packages are reproducible.
fn fixed_time() -> Options {
    Options {
        now: 1_736_000_000,
        ..Options::default()
    }
}

/// `n` ITI-41 requests (one CR-BIO document each) as DIR/NNN.mtom.
pub fn requests(dir: &Path, n: u64) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for seed in 0..n {
        let req = iti41::build(&[cr_bio(100 + seed, seed)], &fixed_time()).expect("iti41");
        std::fs::write(dir.join(format!("{seed:03}.mtom")), req.to_capture()).expect("write");
    }
}

/// `n` MSSanté messages (`segur package mss`), one CR-BIO document each, as DIR/NNN.eml.
pub fn messages(dir: &Path, n: u64) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for seed in 0..n {
        let eml =
            segur_exchange::mss::build(&[cr_bio(300 + seed, seed)], &fixed_time()).expect("mss");
        std::fs::write(dir.join(format!("{seed:03}.eml")), eml).expect("write");
    }
}

/// An `smtp://localhost:PORT` endpoint; `identity` is TOML lines naming the identity.
pub fn smtp_endpoint(f: &Fixture, port: u16, identity: &str) -> Endpoint {
    let root = f
        .manifest
        .entries
        .iter()
        .find(|e| e.role == Role::RootCa)
        .expect("root");
    let text = format!(
        "[[endpoint]]\nname = \"mss\"\nurl = \"smtp://localhost:{port}\"\nkind = \"smtp\"\nroots = {:?}\n{identity}timeout_s = 10\n",
        f.pki_dir.join(&root.cert)
    );
    config::pick(config::parse(&text, &f.pki_dir).expect("endpoints"), None).expect("pick")
}

/// An ITI-41 endpoint at `https://localhost:PORT/iti41`; `identity` as for [`smtp_endpoint`].
pub fn endpoint(f: &Fixture, port: u16, identity: &str) -> Endpoint {
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

/// The manifest entry named `name` (`expired`, `unknown-ca`, `client-001`…) or of role `role`.
pub fn entry(f: &Fixture, name: Option<&str>, role: Role) -> segur_tls::pki::Entry {
    f.manifest
        .entries
        .iter()
        .find(|e| name.map_or(e.role == role, |n| e.name == n))
        .expect("manifest entry")
        .clone()
}

/// The TOML lines giving the single identity `name` of the test PKI.
pub fn identity(f: &Fixture, name: &str) -> String {
    let e = entry(f, Some(name), Role::Client);
    format!(
        "cert = {:?}\nkey = {:?}\n",
        f.pki_dir.join(&e.chain),
        f.pki_dir.join(&e.key)
    )
}

/// A child process killed when dropped, even when the test panics.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
