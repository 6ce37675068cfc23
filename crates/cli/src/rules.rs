//! `segur rules`: where the official ANS rules come from.
//!
//! The rules directory of a command is, in order: `--rules DIR`, the `SEGUR_RULES` environment
//! variable, the directory `segur rules fetch` fills (`$XDG_DATA_HOME/segur/rules` or
//! `~/.local/share/segur/rules`), and `../shared/ans/testcontenucda` (this project's reference
//! kit, beside the checkout).

use std::path::{Path, PathBuf};
use std::process::Command;

use segur_validate::rules::{ANS_COMMIT, ANS_REPOSITORY, check_rules_dir};

use crate::{Failure, Outcome, out};

/// Where `segur rules fetch` puts the rules by default.
pub(crate) fn fetched_dir() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("segur/rules"))
}

/// The rules directory to use (see the module doc), checked.
pub(crate) fn resolve(explicit: Option<&Path>) -> Result<PathBuf, Failure> {
    let candidates: Vec<(PathBuf, &str)> = match explicit {
        Some(p) => vec![(p.to_path_buf(), "--rules")],
        None => match std::env::var_os("SEGUR_RULES") {
            Some(p) => vec![(PathBuf::from(p), "SEGUR_RULES")],
            None => fetched_dir()
                .map(|d| (d, "segur rules fetch"))
                .into_iter()
                .chain(std::iter::once((
                    PathBuf::from("../shared/ans/testcontenucda"),
                    "default",
                )))
                .collect(),
        },
    };
    let mut last = None;
    for (dir, origin) in &candidates {
        match check_rules_dir(dir) {
            Ok(()) => return Ok(dir.clone()),
            Err(e) if candidates.len() == 1 => {
                return Err(Failure::usage(format!("{origin}: {e}")));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(Failure::usage(match last {
        Some(e) => format!(
            "no rules directory found (tried SEGUR_RULES, the fetched rules and ../shared/ans/testcontenucda): {e}"
        ),
        None => "no rules directory found".to_string(),
    }))
}

/// `segur rules fetch [--dir DIR]`: clone the ANS repository at the pinned commit.
pub(crate) fn fetch(dir: Option<PathBuf>) -> Result<Outcome, Failure> {
    let dir = dir
        .or_else(fetched_dir)
        .ok_or_else(|| Failure::usage("no --dir given and no HOME to put the rules in"))?;
    if dir.join(".git").is_dir() {
        out(format_args!(
            "{}: already a checkout; checking out {ANS_COMMIT}",
            dir.display()
        ))?;
    } else {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Failure::infra(format!("{}: {e}", parent.display())))?;
        }
        run_git(
            Command::new("git")
                .args(["clone", "--quiet", "--no-checkout", ANS_REPOSITORY])
                .arg(&dir),
        )?;
    }
    run_git(
        Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(["checkout", "--quiet", "--detach", ANS_COMMIT]),
    )?;
    check_rules_dir(&dir).map_err(|e| Failure::infra(e.to_string()))?;
    out(format_args!(
        "rules at {} (ANS TestContenuCDA 3.0, commit {ANS_COMMIT})",
        dir.display()
    ))?;
    Ok(Outcome::Ok)
}

fn run_git(cmd: &mut Command) -> Result<(), Failure> {
    let output = cmd
        .output()
        .map_err(|e| Failure::infra(format!("cannot run git: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(Failure::infra(format!(
        "git failed: {}",
        stderr.lines().last().unwrap_or("no message")
    )))
}

/// Every top-level schematron of the rules directory: the generic profiles and the volets.
pub(crate) fn all_schematrons(rules_dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = segur_validate::select::GENERIC
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut volets: Vec<String> = std::fs::read_dir(rules_dir.join("schematrons"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("CI-SIS_") && n.ends_with(".sch"))
                .map(|n| format!("schematrons/{n}"))
                .collect()
        })
        .unwrap_or_default();
    volets.sort();
    v.extend(volets);
    v
}

/// `segur rules [fetch] [--unsupported]`.
pub(crate) fn run(args: crate::args::RulesArgs) -> Result<Outcome, Failure> {
    if let Some(crate::args::RulesCommand::Fetch { dir }) = args.command {
        return fetch(dir);
    }
    let engine = crate::validate::engine(&args.rules, segur_validate::engine::Profile::Official)?;
    let dir = engine.options().rules_dir.clone();
    let files = all_schematrons(&dir);
    if !args.unsupported {
        out(format_args!(
            "rules directory {} ({} schematrons; ANS commit pinned by `segur rules fetch`: {ANS_COMMIT})",
            dir.display(),
            files.len()
        ))?;
        for f in &files {
            out(format_args!("{f}"))?;
        }
        return Ok(Outcome::Ok);
    }
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let list = engine.unsupported(&refs);
    for u in &list {
        out(format_args!(
            "{}\t{}\t{}\t{}",
            u.rule_set, u.at, u.construct, u.reason
        ))?;
    }
    out(format_args!(
        "{} unsupported construct(s) in {} schematrons and the CDA XSD",
        list.len(),
        files.len()
    ))?;
    Ok(if list.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Invalid
    })
}
