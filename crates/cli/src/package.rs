//! `segur package` and `segur unpack`: the envelopes of documents, both ways.

use std::path::Path;

use segur_exchange::package::{Input, Options};
use segur_exchange::unpack::unpack as unpack_bytes;
use segur_exchange::{iti41, mhd, mss};
use segur_finding::Severity;

use segur_exchange::mdn::{Disposition, DispositionType, MdnOptions};

use crate::args::{DispositionArg, MdnArgs, PackageArgs, PackageKind, UnpackArgs};
use crate::{Failure, Outcome, out};

fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    crate::read_bounded(path, crate::MAX_INPUT)
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Options given for another kind of package than `args.kind` (they would be ignored), and
/// an output that is also an input (it would be overwritten): usage errors.
fn check_args(args: &PackageArgs) -> Result<(), Failure> {
    let given: [(&str, bool, &[PackageKind]); 10] = [
        ("--to", !args.to.is_empty(), &[PackageKind::Mss]),
        ("--read-receipt", args.read_receipt, &[PackageKind::Mss]),
        ("--no-reply", args.no_reply, &[PackageKind::Mss]),
        ("--pdf", args.pdf.is_some(), &[PackageKind::Mss]),
        ("--endpoint", args.endpoint.is_some(), &[PackageKind::Iti41]),
        ("--sign-key", args.sign_key.is_some(), &[PackageKind::Iti41]),
        (
            "--sign-cert",
            args.sign_cert.is_some(),
            &[PackageKind::Iti41],
        ),
        ("--error", args.error.is_some(), &[PackageKind::Mdn]),
        ("--manual", args.manual, &[PackageKind::Mdn]),
        ("--force", args.force, &[PackageKind::Mdn]),
    ];
    let misplaced: Vec<&str> = given
        .iter()
        .filter(|(_, set, kinds)| *set && !kinds.contains(&args.kind))
        .map(|(name, _, _)| *name)
        .collect();
    if !misplaced.is_empty() {
        return Err(Failure::usage(format!(
            "{} {} not apply to a package of kind {}",
            misplaced.join(", "),
            if misplaced.len() == 1 { "does" } else { "do" },
            args.kind.as_str()
        )));
    }
    let inputs = args
        .documents
        .iter()
        .chain(&args.for_message)
        .chain(&args.pdf)
        .chain(&args.sign_key)
        .chain(&args.sign_cert);
    for input in inputs {
        if crate::validate::same_file(input, &args.out) {
            return Err(Failure::usage(format!(
                "--out {}: it is also an input ({}); choose another file",
                args.out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

pub(crate) fn run(args: PackageArgs) -> Result<Outcome, Failure> {
    check_args(&args)?;
    if args.kind == PackageKind::Mdn || args.for_message.is_some() {
        return build_mdn(&args);
    }
    crate::rules::install_tables_if_any(args.rules.as_deref())?;
    let inputs = args
        .documents
        .iter()
        .map(|p| {
            Ok(Input {
                name: p.display().to_string(),
                bytes: read_file(p)?,
                header: None,
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let pdf = match &args.pdf {
        Some(p) => {
            let name = p
                .file_name()
                .map_or("copie.pdf".into(), |n| n.to_string_lossy().into_owned());
            let bytes = read_file(p)?;
            if !bytes.starts_with(b"%PDF-") {
                return Err(Failure::usage(format!(
                    "--pdf {}: not a PDF (no %PDF- header)",
                    p.display()
                )));
            }
            Some((name, bytes))
        }
        None => None,
    };
    let defaults = Options::default();
    let options = Options {
        now: args.time.unwrap_or_else(now),
        source_id: args.source_id.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        nil: args.nil.clone(),
        read_receipt: args.read_receipt,
        no_patient_reply: args.no_reply,
        pdf,
        endpoint: args.endpoint.clone().unwrap_or(defaults.endpoint.clone()),
        ..defaults
    };
    let signer = match (&args.sign_key, &args.sign_cert) {
        (Some(k), Some(c)) => {
            let text = |p: &Path| {
                String::from_utf8(read_file(p)?)
                    .map_err(|_| Failure::usage(format!("{}: not PEM text", p.display())))
            };
            Some(
                segur_exchange::dsig::Signer::from_pem(&text(k)?, &text(c)?).map_err(|e| {
                    Failure::usage(format!("{} / {}: {e}", k.display(), c.display()))
                })?,
            )
        }
        _ => None,
    };
    let built = match args.kind {
        PackageKind::Iti41 => {
            iti41::build_with(&inputs, &options, signer.as_ref()).map(|r| r.to_capture())
        }
        PackageKind::Mhd => mhd::build(&inputs, &options),
        PackageKind::Mss => mss::build(&inputs, &options),
        PackageKind::Mdn => unreachable!("answered above"),
    }
    .map_err(|e| Failure::usage(e.to_string()))?;
    write_output(&args.out, &built)?;
    out(format_args!(
        "packaged {} document(s) as {} into {} ({} bytes)",
        inputs.len(),
        match args.kind {
            PackageKind::Iti41 if signer.is_some() =>
                "an ITI-41 request (SOAP 1.2, MTOM/XOP, signed VIHF)",
            PackageKind::Iti41 => "an ITI-41 request (SOAP 1.2, MTOM/XOP; VIHF unsigned)",
            PackageKind::Mhd => "an MHD ITI-65 transaction Bundle",
            PackageKind::Mss => "an MSSanté message with IHE_XDM.ZIP",
            PackageKind::Mdn => "an MDN",
        },
        args.out.display(),
        built.len()
    ))?;
    for t in segur_exchange::codes::active().describe() {
        out(format_args!("table {t}"))?;
    }
    for t in segur_exchange::codes::active().value_sets.describe() {
        out(format_args!("value set {t}"))?;
    }
    Ok(Outcome::Ok)
}

/// `segur package mdn --for MESSAGE`: the RFC 8098 answer to a received message.
fn build_mdn(args: &PackageArgs) -> Result<Outcome, Failure> {
    let Some(for_message) = args.for_message.as_deref() else {
        return Err(Failure::usage("segur package mdn needs --for MESSAGE.eml"));
    };
    if args.kind != PackageKind::Mdn || !args.documents.is_empty() {
        return Err(Failure::usage(
            "--for answers a message with an MDN: `segur package mdn --for MESSAGE.eml --out MDN.eml`, without documents",
        ));
    }
    let original = read_file(for_message)?;
    let options = MdnOptions {
        from: args.from.clone(),
        now: args.time.unwrap_or_else(now),
        disposition: Disposition {
            automatic_action: !args.manual,
            sent_automatically: !args.manual,
            kind: match args.disposition {
                DispositionArg::Displayed => DispositionType::Displayed,
                DispositionArg::Dispatched => DispositionType::Dispatched,
                DispositionArg::Processed => DispositionType::Processed,
                DispositionArg::Deleted => DispositionType::Deleted,
            },
            error: args.error.clone(),
        },
        nil: args.nil.clone(),
        force: args.force,
        ..MdnOptions::default()
    };
    if args
        .error
        .as_deref()
        .is_some_and(|e| e.contains(['\r', '\n']))
    {
        return Err(Failure::usage("--error must be one line"));
    }
    let built = segur_exchange::mdn::build(&original, &options)
        .map_err(|e| Failure::usage(format!("{}: {e}", for_message.display())))?;
    write_output(&args.out, &built.bytes)?;
    out(format_args!(
        "MDN for {} to {} ({}) into {} ({} bytes)",
        for_message.display(),
        built.to,
        options.disposition.to_field(),
        args.out.display(),
        built.bytes.len()
    ))?;
    Ok(Outcome::Ok)
}

/// `segur mdn MDN [--for SENT]`: what an MDN reports, its defects, and whether it answers SENT.
pub(crate) fn mdn(args: MdnArgs) -> Result<Outcome, Failure> {
    let bytes = read_file(&args.mdn)?;
    let name = args.mdn.display().to_string();
    let mut findings = Vec::new();
    let message = segur_exchange::mime::parse(&bytes, &name, &mut findings);
    if !segur_exchange::mdn::is_mdn(&message) {
        return Err(Failure::usage(format!(
            "{name}: not an MDN (multipart/report; report-type=disposition-notification)"
        )));
    }
    segur_exchange::mss::repeated_fields(&message, &mut findings);
    let m = segur_exchange::mdn::read(&message, &name, &mut findings);
    if let Some(sent) = &args.for_message {
        let sent_bytes = read_file(sent)?;
        let mut ignored = Vec::new();
        let sent_message = segur_exchange::mime::parse(&sent_bytes, "sent", &mut ignored);
        let Some(id) = sent_message.header("Message-ID") else {
            return Err(Failure::usage(format!(
                "{}: no Message-ID to match the MDN against",
                sent.display()
            )));
        };
        segur_exchange::mdn::check_answers(&m, id, &name, &mut findings);
    }
    finding_lines(&name, &findings)?;
    out(format_args!(
        "{}; {} finding(s)",
        m.summary(),
        findings.len()
    ))?;
    Ok(if findings.iter().any(|f| f.severity == Severity::Error) {
        Outcome::Invalid
    } else {
        Outcome::Ok
    })
}

/// Write a package to `path`, its folder made if missing.
fn write_output(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Failure::infra(format!("{}: cannot create: {e}", parent.display())))?;
    }
    std::fs::write(path, bytes)
        .map_err(|e| Failure::infra(format!("{}: cannot write: {e}", path.display())))
}

/// `rel`, or `stem-2.ext`, `stem-3.ext`… when `taken` says that name is taken.
fn free_name(rel: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(rel) {
        return rel.to_string();
    }
    let (stem, ext) = match rel.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && !e.contains('/') => (s, format!(".{e}")),
        _ => (rel, String::new()),
    };
    (2..)
        .map(|n| format!("{stem}-{n}{ext}"))
        .find(|c| !taken(c))
        .unwrap_or_else(|| rel.to_string())
}

/// Write `bytes` at `rel` (already made safe by segur-exchange) under `dir`, never through a
/// symbolic link found there: a link where a folder or the file belongs is replaced, so that
/// nothing is written outside `dir` (a link `dir/IHE_XDM -> /elsewhere` would have taken the
/// documents there).
fn write_under(dir: &Path, rel: &str, bytes: &[u8]) -> Result<(), Failure> {
    if segur_exchange::zip::unsafe_name(rel).is_some() {
        return Err(Failure::infra(format!("refusing to write `{rel}`")));
    }
    let infra =
        |p: &Path, e: std::io::Error| Failure::infra(format!("{}: cannot write: {e}", p.display()));
    let components: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
    let Some((file, folders)) = components.split_last() else {
        return Err(Failure::infra(format!("refusing to write `{rel}`")));
    };
    let mut path = dir.to_path_buf();
    for folder in folders {
        path.push(folder);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_dir() => continue,
            Ok(m) if m.file_type().is_symlink() => {
                std::fs::remove_file(&path).map_err(|e| infra(&path, e))?;
            }
            Ok(_) => {
                return Err(Failure::infra(format!(
                    "{}: cannot write: a file is where a folder is needed",
                    path.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(infra(&path, e)),
        }
        std::fs::create_dir(&path).map_err(|e| infra(&path, e))?;
    }
    path.push(file);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_dir() => {
            return Err(Failure::infra(format!(
                "{}: cannot write: a folder is where the file belongs",
                path.display()
            )));
        }
        Ok(_) => std::fs::remove_file(&path).map_err(|e| infra(&path, e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(infra(&path, e)),
    }
    // A new file: nothing that appeared at this name since (a link) is followed.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| infra(&path, e))?;
    std::io::Write::write_all(&mut f, bytes).map_err(|e| infra(&path, e))
}

/// One line per finding, as `segur validate` writes them.
pub(crate) fn finding_lines(
    name: &str,
    findings: &[segur_finding::Finding],
) -> Result<(), Failure> {
    for f in findings {
        out(format_args!("{}", segur_report::finding_line(name, f)))?;
    }
    Ok(())
}

pub(crate) fn unpack(args: UnpackArgs) -> Result<Outcome, Failure> {
    crate::rules::install_tables_if_any(args.rules.as_deref())?;
    let bytes = read_file(&args.file)?;
    let name = args.file.display().to_string();
    let u = unpack_bytes(&bytes, &name, None);
    if u.findings.iter().any(|f| f.rule == "SEGUR-PKG-UNKNOWN") {
        return Err(Failure::usage(format!(
            "{name}: not an MSSanté message, an XDM archive, an ITI-41 capture nor an MHD bundle"
        )));
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::infra(format!("{}: cannot create: {e}", args.out.display())))?;
    // Two parts of one name (a zip entry named like a body part of its message) are both
    // written: the later under a free name, said in a note. Nothing already in the folder is
    // replaced either (names come from the sender: `msg.eml` would replace the message being
    // read, beside it): a part meeting a file there is written under a free name too. Names
    // are compared case folded, as a case-insensitive file system would.
    let mut written = std::collections::HashSet::new();
    let mut renamed = Vec::new();
    let there = |rel: &str| std::fs::symlink_metadata(args.out.join(rel)).is_ok();
    let parts = u
        .documents
        .iter()
        .map(|d| (&d.path, &d.bytes))
        .chain(u.files.iter().map(|(rel, b)| (rel, b)));
    for (rel, bytes) in parts {
        let ours = |c: &str| written.contains(&c.to_lowercase());
        let free = free_name(rel, |c| ours(c) || there(c));
        if &free != rel {
            renamed.push(if ours(rel) {
                format!("{rel} is also the name of an earlier part: written as {free}")
            } else {
                format!(
                    "{rel} is already in {}: left as it was, the part written as {free}",
                    args.out.display()
                )
            });
        }
        write_under(&args.out, &free, bytes)?;
        written.insert(free.to_lowercase());
    }
    finding_lines(&name, &u.findings)?;
    for n in u.notes.iter().chain(&renamed) {
        out(format_args!("note: {n}"))?;
    }
    for t in segur_exchange::codes::active().describe() {
        out(format_args!("note: table {t}"))?;
    }
    for t in segur_exchange::codes::active().value_sets.describe() {
        out(format_args!("note: value set {t}"))?;
    }
    out(format_args!(
        "{name}: {} package, {} document(s) and {} other file(s) extracted into {}; {} finding(s)",
        u.kind.as_str(),
        u.documents.len(),
        u.files.len(),
        args.out.display(),
        u.findings.len()
    ))?;
    Ok(
        if u.findings.iter().any(|f| f.severity == Severity::Error) {
            Outcome::Invalid
        } else {
            Outcome::Ok
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_name_gets_a_free_one() {
        let mut written = std::collections::HashSet::new();
        let free = |rel: &str, w: &std::collections::HashSet<String>| {
            free_name(rel, |c| w.contains(&c.to_lowercase()))
        };
        assert_eq!(free("body-1.txt", &written), "body-1.txt");
        written.insert("body-1.txt".to_string());
        assert_eq!(free("BODY-1.TXT", &written), "BODY-1-2.TXT");
        written.insert("body-1-2.txt".to_string());
        assert_eq!(free("body-1.txt", &written), "body-1-3.txt");
        written.insert("dir/readme".to_string());
        assert_eq!(free("dir/readme", &written), "dir/readme-2");
    }
}
