//! Helpers shared by the end-to-end tests that drive the `segur` binary.
// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

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
