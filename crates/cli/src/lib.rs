//! The `segur` command: INS checks, document building, validation, packaging and unpacking.
//!
//! `main.rs` calls [`main`]; flags are parsed by clap into [`args::Cli`], each subcommand
//! resolves them and returns an [`Outcome`]; only this module prints errors and picks the exit
//! code (see [`exit`]).

#![warn(missing_docs)]

pub mod args;
mod bench;
mod build;
mod conformance;
pub mod exit;
mod fhir;
mod ins;
mod package;
mod peer;
mod pki;
mod replay;
mod rules;
mod signals;
mod sink;
mod suite;
mod validate;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// How a subcommand ended, when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything conforms.
    Ok,
    /// Something checked was invalid.
    Invalid,
}

/// A failure with its exit code and a one-line message.
#[derive(Debug)]
pub struct Failure {
    /// Exit code (see [`exit`]).
    pub code: u8,
    /// The line shown to the user.
    pub message: String,
}

impl Failure {
    /// A usage or input error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: exit::USAGE,
            message: message.into(),
        }
    }

    /// An infrastructure error (exit 3).
    pub fn infra(message: impl Into<String>) -> Self {
        Self {
            code: exit::INFRA,
            message: message.into(),
        }
    }
}

/// Documents and packages larger than this are refused (the DOM limit is 512 MiB; a CDA is
/// rarely above 10 MB).
pub(crate) const MAX_INPUT: u64 = 512 * 1024 * 1024;
/// Certificate, key and trust-store files larger than this are refused.
pub(crate) const MAX_PEM: u64 = 16 * 1024 * 1024;

/// Read a file of at most `limit` bytes (bounded for a pipe or a device too:
/// [`segur_tls::read_limited`]); the error as words to put after the file's name.
pub(crate) fn read_bounded(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, String> {
    segur_tls::read_limited(path, limit).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => e.to_string(),
        _ => format!("cannot read: {e}"),
    })
}

/// Write a line to stdout; a closed pipe (`segur … | head`) ends the program quietly.
pub(crate) fn out(line: std::fmt::Arguments<'_>) -> Result<(), Failure> {
    if stdout_closed() {
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{line}") {
        Ok(()) => Ok(()),
        // The reader is gone (`segur validate … | head`): nothing more is written, and the
        // command ends with the exit code of what it did, so a pipeline under `set -o
        // pipefail` still fails when a document does.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(Failure::infra(format!(
            "cannot write to standard output: {e}"
        ))),
    }
}

/// Set when standard output's reader has gone.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether standard output's reader has gone (a command producing only output can stop).
pub(crate) fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// A line on standard error; a standard error that cannot be written is not a reason to
/// panic (`eprintln!` would), the exit code still says how the command ended.
pub(crate) fn err_line(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// clap's usage error on one line: its message and tips, without the usage block.
fn usage_line(rendered: &str) -> String {
    let parts: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:"))
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect();
    let mut line = String::new();
    for p in parts {
        if !line.is_empty() {
            line.push_str(if line.ends_with(':') { " " } else { "; " });
        }
        line.push_str(p);
    }
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    format!("{line} (see --help)")
}

/// Parse the command line, run, and turn the result into an exit code.
pub fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to standard output as clap writes them; a usage error is one
        // line, as every other error.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(exit::OK);
        }
        Err(e) => {
            err_line(format_args!(
                "segur: {}",
                usage_line(&e.render().to_string())
            ));
            return ExitCode::from(exit::USAGE);
        }
    };
    let result = match cli.command {
        args::Command::Ins(cmd) => ins::run(cmd),
        args::Command::Build(cmd) => build::run(cmd),
        args::Command::Validate(cmd) => validate::run(cmd),
        args::Command::Package(cmd) => package::run(cmd),
        args::Command::Unpack(cmd) => package::unpack(cmd),
        args::Command::Mdn(cmd) => package::mdn(cmd),
        args::Command::Rules(cmd) => rules::run(cmd),
        args::Command::Conformance(cmd) => conformance::run(cmd),
        args::Command::Bench(cmd) => bench::run(cmd),
        args::Command::Pki(cmd) => pki::run(cmd),
        args::Command::Sink(cmd) => sink::run(cmd),
        args::Command::Replay(cmd) => replay::run(cmd),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::from(exit::OK),
        Ok(Outcome::Invalid) => ExitCode::from(exit::INVALID),
        Err(f) => {
            // One line, whatever a file name or a message from outside holds.
            err_line(format_args!(
                "segur: {}",
                segur_finding::printable(&f.message)
            ));
            ExitCode::from(f.code)
        }
    }
}
