//! Helpers shared by the end-to-end tests that drive the `segur` binary.
// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};

/// Runs `segur` with `args`.
pub fn segur(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segur"))
        .args(args)
        .output()
        .expect("run segur")
}

/// Standard output, lossily decoded.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error, lossily decoded.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A path as a command-line argument.
pub fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The ANS rules directory beside the checkout.
pub fn rules() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/ans/testcontenucda")
        .display()
        .to_string()
}

/// `segur sink` with the test PKI under DIR/pki, a store in DIR/store, on a free port: the
/// child, its `host:port`, and the rest of its output lines.
pub fn start_sink(dir: &Path) -> (Child, String, Lines<BufReader<ChildStdout>>) {
    let (child, addr, _, lines) = start_sink_as(dir, "pki/server/localhost");
    (child, addr, lines)
}

/// [`start_sink`] with the server identity `IDENTITY.chain.pem` and `IDENTITY.key` (relative
/// to DIR); also the lines the sink wrote before its address.
#[allow(dead_code)]
pub fn start_sink_as(
    dir: &Path,
    identity: &str,
) -> (Child, String, Vec<String>, Lines<BufReader<ChildStdout>>) {
    let config = dir.join("sink.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ncert = \"{identity}.chain.pem\"\nkey = \"{identity}.key\"\n\
             client_roots = \"pki/ca/root.pem\"\nstore = \"store\"\n"
        ),
    )
    .expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_segur"))
        .args(["sink", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sink");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    // Notes on the store (a torn index line cut off, say) and warnings may come before the
    // address.
    let mut before = Vec::new();
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| {
            let found = l.contains("https://");
            if !found {
                before.push(l.clone());
            }
            found
        })
        .expect("the line with the address");
    let addr = listening
        .split("https://")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .expect("address")
        .to_string();
    (child, addr, before, lines)
}
