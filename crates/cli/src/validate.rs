//! `segur validate`: the official ANS rules (and segur's own) on files, directories or
//! standard input, in parallel, with one report in the chosen format.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use segur_report::{
    DocumentReport, InputError, Report, RuleFile, Rules, Verdict, to_junit, to_sarif,
};
use segur_validate::engine::{Engine, EngineOptions, Outcome, Profile};
use segur_validate::schematron::CacheOutcome;
use segur_validate::select::SelectMode;

use crate::args::{ReportFormat, RulesOptions, Select, ValidateArgs};
use crate::{Failure, MAX_INPUT, Outcome as CliOutcome, exit, out, rules};

/// One input as given.
pub(crate) enum Input {
    /// A file.
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// A path that does not exist or cannot be listed.
    Missing(PathBuf, String),
}

impl Input {
    pub(crate) fn name(&self) -> String {
        match self {
            Input::File(p) | Input::Missing(p, _) => path_text(p),
            Input::Stdin => "-".into(),
        }
    }
}

/// A path as report text: UTF-8 as it is, and on Unix each byte of a name that is not UTF-8
/// written `\xNN` (not one replacement character for all, which made two files whose names
/// differ by such a byte look the same).
pub(crate) fn path_text(p: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut out = String::new();
        for chunk in p.as_os_str().as_bytes().utf8_chunks() {
            out.push_str(chunk.valid());
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02X}"));
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        p.display().to_string()
    }
}

/// The files of `dir` with extension `ext` (any case), sorted, into `out`; subdirectories too
/// when `recursive`.
pub(crate) fn walk(
    dir: &Path,
    ext: &str,
    out: &mut Vec<PathBuf>,
    recursive: bool,
) -> std::io::Result<()> {
    let mut found = Vec::new();
    Walk::new(&[ext], recursive).dir(dir, &mut found)?;
    out.extend(found.into_iter().filter_map(|i| match i {
        Input::File(p) => Some(p),
        _ => None,
    }));
    Ok(())
}

/// A directory scan: the files with one of the extensions, each directory read once (a
/// symbolic link back up the tree, or to a directory seen before, is not followed again).
struct Walk<'a> {
    exts: &'a [&'a str],
    recursive: bool,
    /// The directories read, by their canonical path.
    seen: std::collections::HashSet<PathBuf>,
}

impl<'a> Walk<'a> {
    fn new(exts: &'a [&'a str], recursive: bool) -> Walk<'a> {
        Walk {
            exts,
            recursive,
            seen: std::collections::HashSet::new(),
        }
    }

    /// The matching entries of `dir`, sorted, into `out`: regular files as inputs, other
    /// files with a matching name (a FIFO, a socket, a device) as inputs that cannot be read,
    /// so that none is skipped in silence and none blocks the run.
    fn dir(&mut self, dir: &Path, out: &mut Vec<Input>) -> std::io::Result<()> {
        if !self.seen.insert(std::fs::canonicalize(dir)?) {
            return Ok(());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        let wanted = |p: &Path| {
            p.extension()
                .is_some_and(|e| self.exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
        };
        for p in entries {
            let meta = match std::fs::metadata(&p) {
                Ok(meta) => meta,
                // A link to nothing, or a loop of links, with a matching name: an input that
                // cannot be read, not one skipped in silence.
                Err(e) => {
                    if wanted(&p) {
                        let why = format!("a symbolic link that cannot be followed ({e})");
                        out.push(Input::Missing(p, why));
                    }
                    continue;
                }
            };
            if meta.is_dir() {
                if self.recursive {
                    self.dir(&p, out)?;
                }
            } else if wanted(&p) {
                out.push(if meta.is_file() {
                    Input::File(p)
                } else {
                    Input::Missing(p, "not a regular file (a FIFO, socket or device)".into())
                });
            }
        }
        Ok(())
    }
}

/// Whether `path` holds a report that segur wrote (JSON and SARIF name segur's address,
/// JUnit its test suites, text ends with its summary line), read up to the first 16 MiB.
fn is_segur_report(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(16 << 20).read_to_end(&mut head));
    let has = |marker: &[u8]| head.windows(marker.len()).any(|w| w == marker);
    // The text view ends with its summary line.
    let text_summary = || {
        let last = head.trim_ascii_end().rsplit(|&b| b == b'\n').next();
        last.is_some_and(|l| {
            l.first().is_some_and(u8::is_ascii_digit)
                && l.windows(12).any(|w| w == b" documents: ")
                && l.ends_with(b" warnings")
        })
    };
    read.is_ok()
        && (has(b"\"https://segur.invalid/") || has(b"<testsuites name=\"segur ") || text_summary())
}

/// Whether `a` and `b` name the same existing file (same device and inode on Unix, whatever
/// links lead there; the same canonical path elsewhere).
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        std::fs::canonicalize(a)
            .ok()
            .is_some_and(|a| std::fs::canonicalize(b).is_ok_and(|b| a == b))
    }
}

/// Expand files, directories and `-` into inputs, in the order given: in directories, the
/// files with one of the extensions `exts` (any case), sorted, in subdirectories too when
/// `recursive`. A file given by name is read whatever it is (`/dev/stdin`, a process
/// substitution); standard input can be given once.
pub(crate) fn inputs_with(paths: &[PathBuf], exts: &[&str], recursive: bool) -> Vec<Input> {
    let mut v = Vec::new();
    let mut stdin = false;
    for p in paths {
        if p.as_os_str() == "-" {
            if std::mem::replace(&mut stdin, true) {
                v.push(Input::Missing(
                    p.clone(),
                    "standard input is given more than once".into(),
                ));
            } else {
                v.push(Input::Stdin);
            }
        } else if p.is_dir() {
            let mut files = Vec::new();
            match Walk::new(exts, recursive).dir(p, &mut files) {
                Ok(()) => v.extend(files),
                Err(e) => v.push(Input::Missing(
                    p.clone(),
                    format!("cannot list the directory: {e}"),
                )),
            }
        } else if p.exists() {
            v.push(Input::File(p.clone()));
        } else {
            v.push(Input::Missing(
                p.clone(),
                "no such file or directory".into(),
            ));
        }
    }
    v
}

/// Expand files, directories (their `.xml` files) and `-` into inputs, in the order given.
pub(crate) fn inputs(paths: &[PathBuf], recursive: bool) -> Vec<Input> {
    inputs_with(paths, &["xml"], recursive)
}

fn read(input: &Input) -> Result<Vec<u8>, String> {
    match input {
        Input::Missing(_, why) => Err(why.clone()),
        Input::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(MAX_INPUT + 1)
                .read_to_end(&mut buf)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            if buf.len() as u64 > MAX_INPUT {
                return Err(format!("input larger than {MAX_INPUT} bytes"));
            }
            Ok(buf)
        }
        Input::File(p) => {
            crate::read_bounded(p, MAX_INPUT).map_err(|e| match e.strip_prefix("larger") {
                Some(rest) => format!("input larger{rest}"),
                None => e,
            })
        }
    }
}

/// Build the engine from the command-line rule options.
pub(crate) fn engine(opts: &RulesOptions, profile: Profile) -> Result<Engine, Failure> {
    let rules_dir = rules::resolve(opts.rules.as_deref())?;
    let beside = |rel: &str| {
        let p = rules_dir.join(rel);
        p.is_file().then_some(p)
    };
    let mapping = opts
        .mapping
        .clone()
        .or_else(|| beside("../peer/mapping.properties"));
    let overrides = opts
        .overrides
        .clone()
        .or_else(|| beside("../sch_overrides.tsv"));
    let options = EngineOptions {
        rules_dir,
        mapping,
        overrides,
        select: match opts.select {
            Select::Auto => SelectMode::Auto,
            Select::Pi => SelectMode::Pi,
            Select::Mapping => SelectMode::Mapping,
        },
        profile,
        xsd: !opts.no_xsd,
        limits: segur_exchange::cda::limits(),
        cache_dir: cache_dir(opts),
    };
    Engine::new(options).map_err(|e| Failure::usage(e.to_string()))
}

/// `--cache-dir`, else the default cache directory; none with `--no-cache`.
fn cache_dir(opts: &RulesOptions) -> Option<PathBuf> {
    if opts.no_cache {
        None
    } else {
        opts.cache_dir
            .clone()
            .or_else(segur_validate::rules::default_cache_dir)
    }
}

/// A cache that cannot be written only costs start-up time: say so once, on stderr.
pub(crate) fn warn_unwritable_cache(engine: &Engine) {
    if let Some((_, CacheOutcome::Unwritable(why))) = engine
        .cache_outcomes()
        .iter()
        .find(|(_, o)| matches!(o, CacheOutcome::Unwritable(_)))
    {
        crate::err_line(format_args!(
            "segur: warning: the rules cache is not written ({why}); use --cache-dir or --no-cache"
        ));
    }
}

/// Validate every input on `jobs` threads; results in input order.
pub(crate) fn run_all(
    engine: &Engine,
    inputs: &[Input],
    jobs: usize,
) -> Vec<Result<Checked, String>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Checked, String>>>> =
        Mutex::new((0..inputs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(inputs.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else { break };
                    let r = read(input).map(|bytes| checked(engine, &bytes));
                    if let Ok(mut g) = results.lock() {
                        g[i] = Some(r);
                    }
                }
            });
        }
    });
    let results = match results.into_inner() {
        Ok(r) => r,
        Err(p) => p.into_inner(),
    };
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not validated".into())))
        .collect()
}

/// An input validated for a report: the engine's outcome and the input's SHA-256.
pub(crate) struct Checked {
    /// The engine's outcome.
    pub(crate) outcome: Outcome,
    /// SHA-256 of the bytes validated, in hexadecimal.
    pub(crate) sha256: String,
}

/// Validate `bytes` and hash them for the report (the engine does not hash its input).
pub(crate) fn checked(engine: &Engine, bytes: &[u8]) -> Checked {
    Checked {
        outcome: engine.validate(bytes),
        sha256: segur_validate::rules::sha256(bytes),
    }
}

/// The report entry of one input.
pub(crate) fn document_report(name: String, r: Result<Checked, String>) -> DocumentReport {
    match r {
        Err(message) => DocumentReport {
            path: name,
            sha256: None,
            verdict: Verdict::Unreadable,
            error: Some(InputError {
                message,
                line: None,
                column: None,
            }),
            rule_sets: vec![],
            notes: vec![],
            findings: vec![],
        },
        Ok(Checked { outcome: o, sha256 }) => DocumentReport {
            verdict: if o.problem.is_some() {
                Verdict::Unreadable
            } else if o.has_errors() {
                Verdict::Nonconformant
            } else {
                Verdict::Conformant
            },
            path: name,
            sha256: Some(sha256),
            error: o.problem.map(|p| InputError {
                message: p.message,
                line: p.line,
                column: p.column,
            }),
            rule_sets: o.rule_sets,
            notes: o.notes,
            findings: o.findings,
        },
    }
}

/// The ANS association tables and value sets of a rules directory, loaded when the first
/// package is met (a run of CDA documents only never reads them).
struct Tables {
    rules_dir: PathBuf,
    /// Why they could not be loaded (set once, by the first package).
    loaded: std::sync::OnceLock<Option<String>>,
}

impl Tables {
    /// Loads and installs the tables once; later calls wait for the first.
    fn ensure(&self) {
        self.loaded.get_or_init(|| {
            rules::install_tables(&self.rules_dir)
                .err()
                .map(|f| f.message)
        });
    }

    /// The failure to report, when loading them failed: the same exit code and message as
    /// when they were loaded before any input.
    fn failure(&self) -> Option<Failure> {
        self.loaded.get()?.as_ref().map(Failure::usage)
    }
}

/// What validates: the CDA engine (absent when every input is FHIR JSON) and the FHIR
/// validator (absent when no input is).
struct Validators<'a> {
    engine: Option<&'a Engine>,
    /// The packaging tables, beside the engine.
    tables: Option<&'a Tables>,
    fhir: Option<&'a segur_fhir::Validator<'a>>,
    fhir_profiles: &'a [String],
}

/// Validate one input: FHIR JSON (recognized by content) gets a FHIR profile report; a
/// package (recognized by content: an MHD bundle is one too) gives a report for the package
/// (the packaging rules' findings) and one per XML document it carries; anything else is
/// validated as a CDA document.
fn validate_input(v: &Validators<'_>, input: &Input) -> Vec<DocumentReport> {
    let name = input.name();
    let bytes = match read(input) {
        Ok(b) => b,
        Err(e) => return vec![document_report(name, Err(e))],
    };
    let mut reports = Vec::new();
    if segur_fhir::looks_like_fhir(&bytes) {
        let bundle = crate::fhir::is_transaction_bundle(&bytes);
        // Without packages, an MHD bundle is still checked as a package below.
        if v.fhir.is_some() || !bundle {
            reports.push(crate::fhir::report(
                v.fhir,
                name.clone(),
                &bytes,
                v.fhir_profiles,
            ));
        }
        // An MHD bundle is a package too: its packaging rules and documents follow.
        if !bundle || v.engine.is_none() {
            return reports;
        }
    }
    let Some(engine) = v.engine else {
        reports.push(document_report(
            name,
            Err("not FHIR JSON, and no CDA rules loaded".into()),
        ));
        return reports;
    };
    if segur_exchange::unpack::detect(&bytes).is_none() {
        reports.push(document_report(name, Ok(checked(engine, &bytes))));
        return reports;
    }
    if let Some(tables) = v.tables {
        tables.ensure();
    }
    let u = segur_exchange::unpack::unpack(&bytes, &name, None);
    let mut notes = vec![format!(
        "{} package: {} document(s)",
        u.kind.as_str(),
        u.documents.len()
    )];
    notes.extend(u.notes.iter().cloned());
    let tables = segur_exchange::codes::active();
    notes.extend(tables.describe().into_iter().map(|t| format!("table {t}")));
    notes.extend(
        tables
            .value_sets
            .describe()
            .into_iter()
            .map(|t| format!("value set {t}")),
    );
    // The package's own report comes after the FHIR one (an MHD bundle) and before its
    // documents'.
    let at = reports.len();
    for d in &u.documents {
        if d.entry.as_ref().is_some_and(|e| e.is_signature()) {
            // Noted by the unpacking; a signature is not a CDA document.
            continue;
        }
        if segur_xml::looks_like_xml(&d.bytes) {
            reports.push(document_report(
                d.place.clone(),
                Ok(checked(engine, &d.bytes)),
            ));
        } else {
            notes.push(format!("{}: not XML, not validated as CDA", d.place));
        }
    }
    let has_errors = u
        .findings
        .iter()
        .any(|f| f.severity == segur_finding::Severity::Error);
    let package = DocumentReport {
        path: name,
        sha256: Some(segur_validate::rules::sha256(&bytes)),
        verdict: if has_errors {
            Verdict::Nonconformant
        } else {
            Verdict::Conformant
        },
        error: None,
        rule_sets: vec!["segur-exchange".into()],
        notes,
        findings: u.findings,
    };
    reports.insert(at, package);
    reports
}

/// [`validate_input`] over every input on `jobs` threads; results in input order.
fn run_packages(v: &Validators<'_>, inputs: &[Input], jobs: usize) -> Vec<DocumentReport> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Vec<DocumentReport>>> =
        Mutex::new((0..inputs.len()).map(|_| Vec::new()).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(inputs.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else { break };
                    let r = validate_input(v, input);
                    if let Ok(mut g) = results.lock() {
                        g[i] = r;
                    }
                }
            });
        }
    });
    match results.into_inner() {
        Ok(r) => r,
        Err(p) => p.into_inner(),
    }
    .into_iter()
    .flatten()
    .collect()
}

pub(crate) fn jobs(requested: Option<usize>) -> usize {
    requested
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

pub(crate) fn run(args: ValidateArgs) -> Result<CliOutcome, Failure> {
    let mut profile = Profile::Default;
    let mut fhir_profiles = Vec::new();
    let mut chosen: Option<&str> = None;
    for p in &args.profile {
        if matches!(p.as_str(), "official" | "default") {
            if let Some(first) = chosen.filter(|c| *c != p) {
                return Err(Failure::usage(format!(
                    "--profile {first} and --profile {p}: choose one of official and default"
                )));
            }
            chosen = Some(p);
        }
        match p.as_str() {
            "official" => profile = Profile::Official,
            "default" => profile = Profile::Default,
            url if url.contains(':') => fhir_profiles.push(url.to_string()),
            other => {
                return Err(Failure::usage(format!(
                    "--profile {other}: expected official, default, or a FHIR profile URL"
                )));
            }
        }
    }
    if let Some(ca) = &args.vihf_ca {
        let text = crate::read_bounded(ca, crate::MAX_PEM)
            .and_then(|b| String::from_utf8(b).map_err(|_| "not PEM text".to_string()))
            .map_err(|e| Failure::usage(format!("{}: {e}", ca.display())))?;
        let anchors = segur_exchange::signing_cert::TrustAnchors::from_pem(&text)
            .map_err(|e| Failure::usage(format!("{}: {e}", ca.display())))?;
        segur_exchange::signing_cert::install_anchors(anchors);
    }
    let mut inputs = inputs_with(&args.paths, &["xml", "eml", "zip", "json"], true);
    // `--output -` is standard output, as `-` is standard input among the paths.
    let output_file = args.output.as_deref().filter(|o| o.as_os_str() != "-");
    if let Some(output) = output_file {
        // The report is not an input: refused when given as one, left out of the directories
        // scanned (a second run would validate the first run's report).
        // One file by any name: a link, a path through `..`, a hard link.
        let same = |p: &Path| same_file(p, output);
        if let Some(p) = args.paths.iter().find(|p| p.as_os_str() != "-" && same(p)) {
            return Err(Failure::usage(format!(
                "--output {}: it is also an input ({}): the report would replace it",
                output.display(),
                p.display()
            )));
        }
        // Found in a directory: skipped when it is an earlier report of segur (the next run
        // of the same command), refused when it is anything else (a document the report
        // would replace, unvalidated).
        if let Some(Input::File(p)) = inputs
            .iter()
            .find(|i| matches!(i, Input::File(p) if same(p)))
            && !is_segur_report(p)
        {
            return Err(Failure::usage(format!(
                "--output {}: it is a document of an input directory ({}), not an earlier report: the report would replace it",
                output.display(),
                p.display()
            )));
        }
        inputs.retain(|i| !matches!(i, Input::File(p) if same(p)));
    }
    if inputs.is_empty() {
        return Err(Failure::usage(
            "no .xml, .eml, .zip or .json input found in the given directories",
        ));
    }
    // Each input classified once: whether it is FHIR JSON (by its head), and if so whether it
    // is an MHD transaction Bundle (which needs the whole file).
    let kinds: Vec<(bool, bool)> = inputs
        .iter()
        .map(|i| match i {
            // A pipe given by name is read once, later: it is taken for a CDA or a package.
            Input::File(p) if p.is_file() && crate::fhir::file_is_fhir(p) => (
                true,
                std::fs::read(p).is_ok_and(|b| crate::fhir::is_transaction_bundle(&b)),
            ),
            _ => (false, false),
        })
        .collect();
    let any_fhir = kinds.iter().any(|&(fhir, _)| fhir);
    let all_fhir = kinds.iter().all(|&(fhir, _)| fhir);
    // FHIR-only runs need no CDA rules, and CDA-only runs no FHIR packages (standard input
    // may be either: it gets whichever can be found).
    let engine = if !all_fhir {
        Some(engine(&args.rules, profile)?)
    } else if kinds.iter().any(|&(_, bundle)| bundle) {
        // MHD bundles also get the packaging rules and their documents' CDA validation
        // when the CDA rules can be found.
        engine(&args.rules, profile).ok()
    } else {
        None
    };
    // The rules live until the process exits: freeing tens of thousands of compiled
    // expressions one by one would only delay the exit (about 7 % of a one-document run).
    let engine = std::mem::ManuallyDrop::new(engine);
    // The packaging tables are read when the first package is met: a broken table file fails
    // the run (exit 2, same message) only when an input needs the tables.
    let tables = engine.as_ref().map(|engine| Tables {
        rules_dir: engine.options().rules_dir.clone(),
        loaded: std::sync::OnceLock::new(),
    });
    // FHIR packages are required when asked for explicitly or when a FHIR input is not an
    // MHD bundle; an MHD bundle is still checked as a package when they cannot be found.
    let explicit = args.fhir.fhir_packages.is_some()
        || std::env::var_os("SEGUR_FHIR_PACKAGES").is_some()
        || !fhir_profiles.is_empty();
    let needed = kinds.iter().any(|&(fhir, bundle)| fhir && !bundle);
    let stdin = inputs.iter().any(|i| matches!(i, Input::Stdin));
    // The FHIR package index and type model share the rule sets' cache directory.
    let cache_dir = cache_dir(&args.rules);
    let packages = if explicit || needed {
        Some(crate::fhir::open_packages(
            &args.fhir,
            cache_dir.as_deref(),
        )?)
    } else if any_fhir || stdin {
        crate::fhir::open_packages(&args.fhir, cache_dir.as_deref()).ok()
    } else {
        None
    };
    // A `--profile` that cannot be used makes the requested validation impossible: a setup
    // error before any input is read, not a warning per input.
    if let Some((_, p)) = packages.as_ref() {
        for url in &fhir_profiles {
            p.structure_checked(url)
                .map_err(|e| Failure::usage(format!("--profile {e}")))?;
        }
    }
    let validator = packages
        .as_ref()
        .map(|(_, p)| segur_fhir::Validator::new(p).with_fhirpath());
    let validators = Validators {
        engine: engine.as_ref(),
        tables: tables.as_ref(),
        fhir: validator.as_ref(),
        fhir_profiles: &fhir_profiles,
    };
    let documents = run_packages(&validators, &inputs, jobs(args.jobs));
    if let Some(failure) = tables.as_ref().and_then(Tables::failure) {
        return Err(failure);
    }
    if let Some(engine) = engine.as_ref() {
        warn_unwritable_cache(engine);
    }
    let rules = match engine.as_ref() {
        Some(engine) => Rules {
            dir: engine.options().rules_dir.display().to_string(),
            files: engine
                .rule_files()
                .into_iter()
                .map(|(path, sha256)| RuleFile { path, sha256 })
                .collect(),
        },
        None => Rules {
            dir: packages
                .as_ref()
                .map(|(d, _)| d.display().to_string())
                .unwrap_or_default(),
            files: vec![],
        },
    };
    let report = Report::new(
        env!("CARGO_PKG_VERSION"),
        profile.as_str(),
        rules,
        documents,
    );
    let text = match args.format {
        ReportFormat::Text => report.to_text(),
        ReportFormat::Json => report.to_json() + "\n",
        ReportFormat::Junit => to_junit(&report),
        ReportFormat::Sarif => to_sarif(&report) + "\n",
    };
    match output_file {
        Some(path) => std::fs::write(path, text).map_err(|e| {
            Failure::infra(format!("{}: cannot write the report: {e}", path.display()))
        })?,
        None => out(format_args!("{}", text.trim_end_matches('\n')))?,
    }
    let s = report.summary;
    if s.unreadable > 0 {
        let first = report
            .documents
            .iter()
            .find(|d| d.verdict == Verdict::Unreadable);
        let detail = first
            .and_then(|d| {
                d.error.as_ref().map(|e| {
                    format!(
                        "{}: {}",
                        segur_report::at(&d.path, e.line, e.column),
                        e.message
                    )
                })
            })
            .unwrap_or_default();
        return Err(Failure {
            code: exit::USAGE,
            message: format!(
                "{} input(s) could not be read; first: {detail}",
                s.unreadable
            ),
        });
    }
    Ok(if s.nonconformant > 0 {
        CliOutcome::Invalid
    } else {
        CliOutcome::Ok
    })
}
