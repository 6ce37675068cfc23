//! `--peer`: hand the built documents to the official ANS chain (`run_peer.sh`: the CDA XSD and
//! the ANS schematrons run by Saxon-HE) and report its verdict.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Failure, Outcome, out};

pub(crate) fn check(script: &Path, out_dir: &Path, files: &[PathBuf]) -> Result<Outcome, Failure> {
    let results = out_dir.join("peer-out");
    let output = Command::new(script)
        .args(files)
        .env("OUT", &results)
        .env("PEER_SELECT", "mapping")
        .output()
        .map_err(|e| {
            Failure::infra(format!(
                "{}: cannot run the peer chain: {e}",
                script.display()
            ))
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(summary) = stdout.lines().rev().find(|l| l.starts_with("peer:")) else {
        // Not the official chain's runner, or it stopped before judging anything.
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Failure::infra(format!(
            "{}: the peer chain printed no `peer:` summary line (exit {}): {}",
            script.display(),
            output
                .status
                .code()
                .map_or_else(|| "by a signal".to_string(), |c| c.to_string()),
            stderr.lines().last().unwrap_or("no message")
        )));
    };
    match output.status.code() {
        Some(0) => {
            out(format_args!(
                "{summary} (official ANS chain; details in {})",
                results.display()
            ))?;
            Ok(Outcome::Ok)
        }
        Some(1) => {
            out(format_args!(
                "{summary} (official ANS chain; details in {})",
                results.display()
            ))?;
            for line in String::from_utf8_lossy(&output.stderr)
                .lines()
                .filter(|l| l.contains("FAIL"))
            {
                out(format_args!("{line}"))?;
            }
            Ok(Outcome::Invalid)
        }
        _ => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().last().unwrap_or("no message");
            Err(Failure::infra(format!(
                "{}: the peer chain failed to run: {last}",
                script.display()
            )))
        }
    }
}
