//! `segur rules`: where the official ANS rules come from.
//!
//! The rules directory of a command is, in order: `--rules DIR`, the `SEGUR_RULES` environment
//! variable, the directory `segur rules fetch` fills (`$XDG_DATA_HOME/segur/rules` or
//! `~/.local/share/segur/rules`), and `../shared/ans/testcontenucda` (this project's reference
//! kit, beside the checkout).

use std::path::{Path, PathBuf};
use std::process::Command;

use segur_exchange::codes::{self, Association, CodeTables};
use segur_validate::rules::{ANS_COMMIT, MAPPING_FILE, check_rules_dir};

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

/// Loads the ANS association tables of `rules_dir` (`terminologies/`, built-in rows for those
/// absent) and makes them the process's tables.
pub(crate) fn install_tables(rules_dir: &Path) -> Result<(), Failure> {
    let tables = CodeTables::load(rules_dir).map_err(|e| Failure::usage(e.to_string()))?;
    codes::install(tables);
    Ok(())
}

/// For commands that do not need the rules (`package`, `unpack`): the tables of `--rules DIR`
/// (an error if they are broken), else those of the rules directory found as usual, else the
/// built-in rows.
pub(crate) fn install_tables_if_any(explicit: Option<&Path>) -> Result<(), Failure> {
    match (explicit, resolve(explicit)) {
        (_, Ok(dir)) => install_tables(&dir),
        (Some(_), Err(e)) => Err(e),
        (None, Err(_)) => Ok(()),
    }
}

/// `segur rules fetch`: clone the ANS repository at the pinned commit into DIR, and fetch the
/// ANS CI tool's `mapping.properties` into DIR/../peer/ (where the schematron selection looks
/// for it beside a rules directory).
pub(crate) fn fetch(args: crate::args::FetchArgs) -> Result<Outcome, Failure> {
    let dir = args
        .dir
        .clone()
        .or_else(fetched_dir)
        .ok_or_else(|| Failure::usage("no --dir given and no HOME to put the rules in"))?;
    checkout(&dir, &args.repository, &args.commit)?;
    check_rules_dir(&dir).map_err(|e| Failure::infra(e.to_string()))?;
    out(format_args!(
        "rules at {} (ANS TestContenuCDA 3.0, commit {})",
        dir.display(),
        args.commit
    ))?;
    if !args.no_tables {
        fetch_tables(&dir, &args.tables_base)?;
    }
    if args.no_mapping {
        return Ok(Outcome::Ok);
    }
    let peer = dir
        .parent()
        .map_or_else(|| PathBuf::from("peer"), |p| p.join("peer"));
    let mapping = fetch_file(
        &peer.join(".validateCDA"),
        &args.mapping_repository,
        &args.mapping_commit,
        MAPPING_FILE,
    )?;
    let target = peer.join(MAPPING_FILE);
    write_atomically(&target, &mapping)?;
    out(format_args!(
        "mapping at {} (validateCDA commit {})",
        target.display(),
        args.mapping_commit
    ))?;
    Ok(Outcome::Ok)
}

/// Where the ANS publishes its terminology files (NOS): each association at
/// `TABLES_BASE/<name>/<name>.xml`. The pattern is the one two independent tools use for
/// ASS_A11 and ASS_X04; for ASS_A12 it is UNVERIFIED (docs/packaging.md).
pub(crate) const TABLES_BASE: &str = "https://mos.esante.gouv.fr/NOS";

/// Fetches each association table into DIR/terminologies/ with curl. A table that cannot be
/// fetched or read is reported and left as it was (built-in rows when there was none): the
/// ANS URLs are not all confirmed, and the rules themselves are already in place.
fn fetch_tables(dir: &Path, base: &str) -> Result<(), Failure> {
    let target = dir.join(codes::TABLES_DIR);
    std::fs::create_dir_all(&target)
        .map_err(|e| Failure::infra(format!("{}: {e}", target.display())))?;
    for association in Association::ALL {
        let name = association.name();
        let url = format!("{}/{name}/{name}.xml", base.trim_end_matches('/'));
        let path = target.join(format!("{name}.xml"));
        let table = download(&url).and_then(|bytes| {
            segur_exchange::codes::Table::parse(&bytes, association, &path)
                .map(|t| (t, bytes))
                .map_err(|e| e.to_string())
        });
        match table {
            Ok((t, bytes)) => {
                write_atomically(&path, &bytes)?;
                // Another file of the same association would make the folder ambiguous.
                if let Ok(entries) = std::fs::read_dir(&target) {
                    for e in entries.filter_map(Result::ok) {
                        let other = e.path();
                        if other != path && association.matches(&e.file_name().to_string_lossy()) {
                            std::fs::remove_file(&other).map_err(|err| {
                                Failure::infra(format!("{}: {err}", other.display()))
                            })?;
                        }
                    }
                }
                out(format_args!(
                    "{}: {} ({} source codes) from {url}",
                    association.id(),
                    t.origin,
                    t.len()
                ))?;
            }
            Err(e) => out(format_args!(
                "{}: not fetched ({e}); segur keeps {}",
                association.id(),
                if path.is_file() {
                    "the file already there"
                } else {
                    "its built-in partial rows"
                }
            ))?,
        }
    }
    Ok(())
}

/// The body at `url`, through curl (bounded in size and time).
fn download(url: &str) -> Result<Vec<u8>, String> {
    let output = Command::new("curl")
        .args([
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--max-filesize",
            "16777216",
            "--max-time",
            "120",
            "--proto",
            "=https,file",
            url,
        ])
        .output()
        .map_err(|e| format!("cannot run curl: {e}"))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(stderr
            .lines()
            .last()
            .unwrap_or("curl failed")
            .trim()
            .to_string())
    }
}

/// A checkout of `repository` at `commit` in `dir` (cloned, or updated when it already is one).
fn checkout(dir: &Path, repository: &str, commit: &str) -> Result<(), Failure> {
    if dir.join(".git").is_dir() {
        out(format_args!(
            "{}: already a checkout; checking out {commit}",
            dir.display()
        ))?;
        // The commit may be newer than the clone: fetch it when it is not there.
        if git(dir, &["cat-file", "-e", &format!("{commit}^{{commit}}")]).is_err() {
            git(dir, &["fetch", "--quiet", repository, commit])?;
        }
    } else {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Failure::infra(format!("{}: {e}", parent.display())))?;
        }
        run_git(
            Command::new("git")
                .args(["clone", "--quiet", "--no-checkout", repository])
                .arg(dir),
        )?;
    }
    git(dir, &["checkout", "--quiet", "--detach", commit])
}

/// One file of `repository` at `commit`, through a bare partial clone in `cache` (only that
/// file's content is downloaded when the server allows filtering).
fn fetch_file(
    cache: &Path,
    repository: &str,
    commit: &str,
    file: &str,
) -> Result<Vec<u8>, Failure> {
    if !cache.join("HEAD").is_file() {
        std::fs::create_dir_all(cache)
            .map_err(|e| Failure::infra(format!("{}: {e}", cache.display())))?;
        git(cache, &["init", "--quiet", "--bare"])?;
        git(cache, &["remote", "add", "origin", repository])?;
        // A promisor remote: blobs left out by the filtered fetch come from it on demand.
        git(cache, &["config", "remote.origin.promisor", "true"])?;
        git(
            cache,
            &["config", "remote.origin.partialclonefilter", "blob:none"],
        )?;
    } else {
        git(cache, &["remote", "set-url", "origin", repository])?;
    }
    if git(cache, &["cat-file", "-e", &format!("{commit}^{{commit}}")]).is_err() {
        let by_id = git(
            cache,
            &[
                "fetch",
                "--quiet",
                "--depth",
                "1",
                "--filter=blob:none",
                "origin",
                commit,
            ],
        );
        if by_id.is_err() {
            // Servers that refuse fetching a commit by id: fetch the branches.
            git(cache, &["fetch", "--quiet", "--filter=blob:none", "origin"])?;
        }
        if git(cache, &["cat-file", "-e", &format!("{commit}^{{commit}}")]).is_err() {
            return Err(Failure::infra(format!("{repository}: no commit {commit}")));
        }
    }
    let output = Command::new("git")
        .arg("-C")
        .arg(cache)
        .args(["show", &format!("{commit}:{file}")])
        .output()
        .map_err(|e| Failure::infra(format!("cannot run git: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Failure::infra(format!(
            "{repository} at {commit}: cannot read {file}: {}",
            stderr.lines().last().unwrap_or("git failed")
        )));
    }
    Ok(output.stdout)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::infra(format!("{}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// `git -C dir ARGS`.
fn git(dir: &Path, args: &[&str]) -> Result<(), Failure> {
    run_git(Command::new("git").arg("-C").arg(dir).args(args))
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
    if let Some(crate::args::RulesCommand::Fetch(fetch_args)) = args.command {
        return fetch(fetch_args);
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
        let tables = CodeTables::load(&dir).map_err(|e| Failure::usage(e.to_string()))?;
        for t in tables.describe() {
            out(format_args!("table {t}"))?;
        }
        for t in tables.value_sets.describe() {
            out(format_args!("value set {t}"))?;
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
