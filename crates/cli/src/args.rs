//! The command line, as clap parses it (raw; each subcommand checks it before any work).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// segur — the Ségur interoperability harness: INS identities, CI-SIS CDA documents, checks.
#[derive(Debug, Parser)]
#[command(name = "segur", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// INS matricules: check one, or generate test identities.
    #[command(subcommand)]
    Ins(InsCommand),
    /// Build CDA documents for test INS identities.
    Build(BuildArgs),
    /// Validate CDA documents with the official ANS rules (XSD, schematrons) and segur's own;
    /// MSSanté messages, XDM archives, ITI-41 captures and MHD bundles are recognized by
    /// content, unpacked, and checked with the packaging rules too.
    Validate(ValidateArgs),
    /// Package CDA documents: an ITI-41 request (SOAP/MTOM), an MHD ITI-65 bundle, or an
    /// MSSanté message with IHE_XDM.ZIP.
    Package(PackageArgs),
    /// Extract the documents and files of a package (kind recognized by content) and report
    /// the packaging rules' findings.
    Unpack(UnpackArgs),
    /// Read an MSSanté MDN (RFC 8098): what it reports and its defects; with --for, whether
    /// it answers that sent message and the message was processed.
    Mdn(MdnArgs),
    /// The official rules: fetch them, list what segur cannot run.
    Rules(RulesArgs),
    /// Measure the document-processing core.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The conformance suite and the comparison with the official chain.
    #[command(subcommand)]
    Conformance(ConformanceCommand),
    /// Certificates: inspect and lint one, make a test PKI shaped like IGC-Santé.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// The reference sink: an HTTPS server requiring client certificates that answers ITI-41
    /// (POST /iti41) and MHD ITI-65 (POST /fhir), optionally SMTP with STARTTLS (MSSanté),
    /// validates what arrives and stores each accepted document durably before answering
    /// (docs/sink.md). SIGTERM or SIGINT stops it cleanly.
    Sink(SinkArgs),
    /// Replay prepared requests (ITI-41 captures, MHD bundles, MSSanté .eml messages by SMTP)
    /// at an endpoint over mutual TLS, closed model (N users, each with its own client
    /// identity) or open model (an arrival rate); latency percentiles (raw, and corrected for
    /// coordinated omission), throughput and errors by kind (docs/replay.md).
    Replay(ReplayArgs),
}

/// `segur replay`
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The endpoints file (TOML: URL, kind iti41|mhd|smtp, client identity or pool, trusted
    /// roots, timeouts; docs/replay.md).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Which endpoint of the file (default: the only one).
    #[arg(long, value_name = "NAME")]
    pub endpoint: Option<String>,
    /// The requests to send, in name order, cycling (`segur package iti41|mhd|mss` output).
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "build",
        conflicts_with = "build"
    )]
    pub dir: Option<PathBuf>,
    /// Build the requests on the fly instead: a new document of TYPE (a CDA type of `segur build --list`)
    /// for a generated patient per request, packaged for the endpoint's kind.
    #[arg(long, value_name = "TYPE")]
    pub build: Option<String>,
    /// With --build: the seed of the first request (request i uses seed + i).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// With --build: validate each document with the full official rule set (and segur's
    /// own rules) before packaging it, as `segur validate` does; a document with an error
    /// finding is not sent and counts as an `invalid-document` error.
    #[arg(long, requires = "build")]
    pub validate: bool,
    /// With --validate: where the rules are, and how they are run.
    #[command(flatten)]
    pub rules: RulesOptions,
    /// Concurrent virtual users (closed model), or connections sending (open model).
    #[arg(long, default_value_t = 4)]
    pub users: usize,
    /// Requests to send in all (default 100 when no --duration is given).
    #[arg(long)]
    pub count: Option<usize>,
    /// How long to send, e.g. `30s`, `2m`, `500ms` (with --count: whichever ends first).
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Open model: requests per second, sent at their intended times whether or not earlier
    /// ones were answered; latency is also measured from the intended time.
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Linear ramp-up: of the rate from 0 (open model), or of the users started (closed).
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub ramp_up: Option<Duration>,
    /// A new TLS connection for every request (`Connection: close`).
    #[arg(long)]
    pub no_keep_alive: bool,
    /// Write the outcome of every request to FILE, one JSON object per line (request number,
    /// file, ok, error kind, latency).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// No progress bar (terminal) nor JSON-lines progress (otherwise) on standard error.
    #[arg(long, short)]
    pub quiet: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReplayFormat::Text)]
    pub format: ReplayFormat,
}

/// A duration: a number followed by `ms`, `s`, `m` or `h` (seconds when bare).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or((t, "s"), |i| t.split_at(i));
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{text:?}: expected a number with ms, s, m or h"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{text:?}: {e}"))
}

/// `segur replay` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplayFormat {
    /// A summary table.
    Text,
    /// One JSON object.
    Json,
}

/// `segur sink`
#[derive(Debug, Args)]
pub struct SinkArgs {
    /// The TOML configuration (listen address, server identity, client roots, store
    /// directory, optional rules directory; docs/sink.md).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

/// `segur pki …`
#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Show a certificate (subject, issuer, validity, key, key usage, EKU, policies, structure
    /// identifier, SHA-256) and lint it as a DMP / MSSanté TLS client certificate
    /// (docs/rules.md, "Certificates"). Exit 1 on error findings.
    Inspect {
        /// PEM (the first certificate is inspected, the others are its chain), DER, or
        /// PKCS#12 (.p12/.pfx, with --password).
        cert: PathBuf,
        /// Also verify the chain as a TLS client certificate against these trusted roots (PEM).
        #[arg(long, value_name = "ROOTS")]
        ca: Option<PathBuf>,
        /// Password of a PKCS#12 file.
        #[arg(long)]
        password: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Make a test PKI in DIR: root and intermediate CA, a server certificate for localhost,
    /// client certificates shaped like IGC-Santé ORG AUTH_CLI, broken ones for negative tests,
    /// and a manifest (pki.toml). For loopback tests only: it is not IGC-Santé.
    Init {
        /// Output directory (created if missing).
        dir: PathBuf,
        /// How many good client identities.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=10_000))]
        clients: u32,
        /// Validity of the good certificates, in days from now (1 to 3650: the CAs' own
        /// validity, which they may not outlive).
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(i64).range(1..=3650))]
        days: i64,
        /// Names of the server certificate (default: localhost, 127.0.0.1, ::1).
        #[arg(long = "server-name", value_name = "NAME")]
        server_names: Vec<String>,
        /// Also write each good client as PKCS#12 with this password.
        #[arg(long, value_name = "PASSWORD")]
        p12_password: Option<String>,
        /// Overwrite an existing test PKI in DIR.
        #[arg(long)]
        force: bool,
    },
}

/// Where the rules come from and how they are chosen (shared by the commands that validate).
#[derive(Debug, Args, Clone)]
pub struct RulesOptions {
    /// Rules directory (the ANS TestContenuCDA assets); default: SEGUR_RULES, the fetched
    /// rules, then ../shared/ans/testcontenucda.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// The ANS CI tool's templateId → volet table (default: ../peer/mapping.properties beside
    /// the rules directory, when present).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Substitutes for declared schematrons that do not exist (default: ../sch_overrides.tsv
    /// beside the rules directory, when present).
    #[arg(long, value_name = "FILE")]
    pub overrides: Option<PathBuf>,
    /// How to choose the schematrons: the document's oxygen processing instructions, the
    /// mapping of its templateIds, or PIs when present (auto).
    #[arg(long, value_enum, default_value_t = Select::Auto)]
    pub select: Select,
    /// Skip the CDA XSD.
    #[arg(long)]
    pub no_xsd: bool,
    /// Where loaded rule sets (schematron/, the compiled CDA XSD in xsd/) and parsed
    /// terminologies (documents/) are cached, keyed by their files' SHA-256, and the FHIR
    /// package index, keyed by the package files' sizes and modification times (default:
    /// SEGUR_CACHE_DIR, else $XDG_CACHE_HOME/segur, else ~/.cache/segur).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Load every rule set and index the FHIR packages from their files, without the cache.
    #[arg(long)]
    pub no_cache: bool,
}

/// Schematron selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Select {
    /// Processing instructions when present, else the mapping.
    Auto,
    /// Only processing instructions.
    Pi,
    /// Only the mapping.
    Mapping,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One line per finding.
    Text,
    /// JSON (schema: docs/schemas/report.schema.json).
    Json,
    /// JUnit XML.
    Junit,
    /// SARIF 2.1.0.
    Sarif,
}

/// Package kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PackageKind {
    /// DMP XDS.b ITI-41 Provide and Register request: SOAP 1.2, MTOM/XOP, WS-Addressing, VIHF.
    Iti41,
    /// PDSm / MHD ITI-65 transaction Bundle (FHIR R4 JSON).
    Mhd,
    /// MSSanté message (multipart/mixed, IHE_XDM.ZIP, X-MSS-* headers).
    Mss,
    /// MSSanté read acknowledgement (RFC 8098 MDN) answering the message given with --for.
    Mdn,
}

impl PackageKind {
    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageKind::Iti41 => "iti41",
            PackageKind::Mhd => "mhd",
            PackageKind::Mss => "mss",
            PackageKind::Mdn => "mdn",
        }
    }
}

/// RFC 8098 disposition types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DispositionArg {
    /// Shown to the user.
    Displayed,
    /// Sent on without being shown.
    Dispatched,
    /// Processed without being shown (an application mailbox).
    Processed,
    /// Deleted.
    Deleted,
}

/// `segur package …`
#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The kind of package.
    #[arg(value_enum)]
    pub kind: PackageKind,
    /// The CDA documents (one patient); none for `mdn`.
    #[arg(required_unless_present = "for_message", value_name = "CDA")]
    pub documents: Vec<PathBuf>,
    /// MDN: the received message (.eml) to answer.
    #[arg(long = "for", value_name = "MESSAGE")]
    pub for_message: Option<PathBuf>,
    /// MDN: what was done with the message.
    #[arg(long, value_enum, default_value_t = DispositionArg::Processed)]
    pub disposition: DispositionArg,
    /// MDN: the integration failed with this error, `CODE^LABEL` (e.g. `902^Identifiant de
    /// patient inconnu`): `processed/Error: …` and a `[KO Intégration système !][CODE]` subject.
    #[arg(long, value_name = "CODE^LABEL")]
    pub error: Option<String>,
    /// MDN: a user acted and sent it (manual-action/MDN-sent-manually).
    #[arg(long)]
    pub manual: bool,
    /// MDN: answer even when the message asks for no MDN or asks it for another address than
    /// its Return-Path (RFC 8098 §2.1 wants a user's confirmation).
    #[arg(long)]
    pub force: bool,
    /// The file to write.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// MSSanté recipients (repeatable); default: the patient's mailbox <INS>@patient.mssante.fr.
    #[arg(long = "to", value_name = "ADDRESS")]
    pub to: Vec<String>,
    /// MSSanté sender mailbox.
    #[arg(
        long,
        value_name = "ADDRESS",
        default_value = "segur@test-ci-sis.mssante.fr"
    )]
    pub from: String,
    /// MSSanté X-MSS-NIL: the product reference number on convergence.esante.gouv.fr.
    #[arg(long, default_value = "SEGUR-TEST")]
    pub nil: String,
    /// MSSanté: ask for a read acknowledgement (Disposition-Notification-To).
    #[arg(long)]
    pub read_receipt: bool,
    /// MSSanté: forbid the patient's reply (X-MSS-MES: FIN) on patient recipients.
    #[arg(long)]
    pub no_reply: bool,
    /// MSSanté: attach this PDF as the human-readable copy.
    #[arg(long, value_name = "FILE")]
    pub pdf: Option<PathBuf>,
    /// SubmissionSet sourceId: the OID of the sending system.
    #[arg(long, value_name = "OID", default_value = "2.25.299792458")]
    pub source_id: String,
    /// ITI-41: the repository endpoint (WS-Addressing To).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// ITI-41: sign the VIHF with this RSA private key (PKCS#8 PEM; the structure's ORG SIGN key).
    #[arg(long, value_name = "PEM", requires = "sign_cert")]
    pub sign_key: Option<PathBuf>,
    /// ITI-41: the certificate of --sign-key (PEM); its subject becomes the VIHF Issuer.
    #[arg(long, value_name = "PEM", requires = "sign_key")]
    pub sign_cert: Option<PathBuf>,
    /// Submission time, seconds since 1970 (default: now; 0 to 253402300799, years 1970 to
    /// 9999); the same time gives the same bytes.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(i64).range(0..=253_402_300_799))]
    pub time: Option<i64>,
    /// Rules directory whose terminologies/ holds the ANS association tables (ASS_A11, ASS_A12,
    /// ASS_X04); default: the rules directory found as `segur validate` finds it, else segur's
    /// built-in partial tables.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
}

/// `segur unpack …`
#[derive(Debug, Args)]
pub struct UnpackArgs {
    /// The package: .eml, IHE_XDM.ZIP, ITI-41 capture, MHD bundle.
    pub file: PathBuf,
    /// The folder to extract into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Rules directory whose terminologies/ holds the ANS association tables (as for
    /// `segur package`).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
}

/// `segur mdn …`
#[derive(Debug, Args)]
pub struct MdnArgs {
    /// The MDN (.eml).
    pub mdn: PathBuf,
    /// The message it should answer (.eml, as sent).
    #[arg(long = "for", value_name = "MESSAGE")]
    pub for_message: Option<PathBuf>,
}

/// `segur validate …`
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files (CDA, .eml, .zip, ITI-41 capture, MHD bundle, FHIR JSON: recognized by content),
    /// directories (their .xml, .eml, .zip and .json files, recursively) or `-` for standard
    /// input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Write the report to this file instead of standard output (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rule profile (`official` or `default`) for CDA documents, or (repeatable) the canonical
    /// URL of a FHIR profile to validate FHIR JSON inputs against, beside their meta.profile.
    #[arg(long, value_name = "official|default|URL")]
    pub profile: Vec<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Trust anchors (PEM) for the certificate that signs an ITI-41 request's VIHF: it must
    /// chain to one of them (SEGUR-ITI41-VIHF-CERT). Without it the chain is not checked.
    #[arg(long, value_name = "PEM")]
    pub vihf_ca: Option<PathBuf>,
    /// Rules.
    #[command(flatten)]
    pub rules: RulesOptions,
    /// FHIR.
    #[command(flatten)]
    pub fhir: FhirOptions,
}

/// Where the FHIR packages come from.
#[derive(Debug, Args, Clone)]
pub struct FhirOptions {
    /// FHIR packages folder (package-cache layout: `<name>#<version>/package/*.json`);
    /// default: SEGUR_FHIR_PACKAGES, then ../shared/fhir/packages.
    #[arg(long, value_name = "DIR")]
    pub fhir_packages: Option<PathBuf>,
}

/// `segur rules …`
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<RulesCommand>,
    /// List the constructs of the official files segur cannot run (goal: none).
    #[arg(long)]
    pub unsupported: bool,
    /// Rules.
    #[command(flatten)]
    pub rules: RulesOptions,
}

/// `segur rules fetch`
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Clone the ANS TestContenuCDA repository at the pinned commit, and put the ANS CI
    /// tool's mapping.properties beside it (DIR/../peer/).
    Fetch(FetchArgs),
}

/// `segur rules fetch` options: where, and (for a mirror or another ANS release) from where.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Where (default: $XDG_DATA_HOME/segur/rules or ~/.local/share/segur/rules).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The ANS repository (a mirror's URL or a local path).
    #[arg(long, value_name = "URL", default_value = segur_validate::rules::ANS_REPOSITORY)]
    pub repository: String,
    /// The ANS commit (another release is at your own risk: segur is tested with the default).
    #[arg(long, value_name = "SHA", default_value = segur_validate::rules::ANS_COMMIT)]
    pub commit: String,
    /// The repository of the ANS CI tool holding mapping.properties.
    #[arg(long, value_name = "URL", default_value = segur_validate::rules::MAPPING_REPOSITORY)]
    pub mapping_repository: String,
    /// Its commit.
    #[arg(long, value_name = "SHA", default_value = segur_validate::rules::MAPPING_COMMIT)]
    pub mapping_commit: String,
    /// Fetch the ANS rules only, without mapping.properties (schematrons are then chosen from
    /// the documents' oxygen processing instructions alone).
    #[arg(long)]
    pub no_mapping: bool,
    /// Where the ANS association tables are published: each is fetched from
    /// BASE/NAME/NAME.xml (NOS SVS XML) into DIR/terminologies/ (URL or file:// mirror).
    #[arg(long, value_name = "URL", default_value = crate::rules::TABLES_BASE)]
    pub tables_base: String,
    /// Do not fetch the association tables (segur then uses its built-in partial rows).
    #[arg(long)]
    pub no_tables: bool,
}

/// `segur conformance …`
#[derive(Debug, Subcommand)]
pub enum ConformanceCommand {
    /// Run the conformance suite: every case (*.toml) under DIR, each an input or a build
    /// recipe, a profile, and the expected verdict and rule ids; writes JUnit with --junit.
    Run {
        /// The suite directory (e.g. conformance/).
        dir: PathBuf,
        /// Write a JUnit report here.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Rules.
        #[command(flatten)]
        rules: RulesOptions,
    },
    /// Validate every .xml of DIR with the official profile and compare, document by
    /// document, with the official chain's results (run_peer.sh's failed.jsonl).
    ComparePeer {
        /// The documents (their .xml files, not recursive).
        dir: PathBuf,
        /// The official chain's failed.jsonl for these documents.
        #[arg(long, value_name = "FILE")]
        peer_results: PathBuf,
        /// Also compare XSD errors.
        #[arg(long)]
        xsd: bool,
        /// Print every difference.
        #[arg(long)]
        verbose: bool,
        /// Rules.
        #[command(flatten)]
        rules: RulesOptions,
    },
}

/// `segur ins …`
#[derive(Debug, Subcommand)]
pub enum InsCommand {
    /// Check a matricule INS (NIR or NIA): length, characters, date, department, key.
    Check {
        /// The 15-character matricule (spaces allowed).
        matricule: String,
        /// The OID of the assigning authority (1.2.250.1.213.1.4.8, .9, .10 or .11).
        #[arg(long)]
        oid: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Generate valid test identities (INS-NIR de test, qualified), one JSON object per line.
    Gen {
        /// How many (1 to 10,000,000: each has its own matricule, none given twice).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        count: u64,
        /// Seed: the same seed gives the same identities.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Output formats of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text for people (`ins check`: one line; `pki inspect`: the certificate's fields, then
    /// one line per finding).
    Text,
    /// One JSON object.
    Json,
}

/// `segur build …`
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Document type (see --list), `all` for every CDA type, or a FHIR resource: `patient` (FR
    /// Core INS Patient JSON), `pdsm-bundle` (PDSm / MHD ITI-65 Bundle of a CR-BIO document) or
    /// `tddui-bundle` (TDDUI 1.1.0-ballot Bundle of a FLUDT médico-social CDA document).
    #[arg(required_unless_present = "list")]
    pub doc_type: Option<String>,
    /// List the document types (CDA, then FHIR) and exit.
    #[arg(long)]
    pub list: bool,
    /// Output directory (created if missing).
    #[arg(long, required_unless_present = "list")]
    pub out: Option<PathBuf>,
    /// Documents per type (1 to 10,000,000; each patient has a matricule of their own).
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Seed: the same seed, type and count give byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Build for these matricules (INS-NIR de test; traits are generated to match). Cycled.
    #[arg(long = "ins", value_name = "MATRICULE", num_args = 1..)]
    pub ins: Vec<String>,
    /// After building, run the official ANS chain (run_peer.sh) on the output and report.
    #[arg(long, value_name = "RUN_PEER_SH")]
    pub peer: Option<PathBuf>,
    /// After building, validate the documents natively (official rules and segur's) and report.
    #[arg(long)]
    pub check: bool,
    /// Rules, for --check.
    #[command(flatten)]
    pub rules: RulesOptions,
}

/// `segur bench …`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Validation throughput with the full official rule set over a corpus (default: the ANS
    /// examples of the rules directory), on one thread and on all threads, beside quick-xml's
    /// raw tokenization of the same bytes (the practical limit), the rate of a process's first
    /// pass (checks compiled on first use, nothing kept from earlier documents), and peak
    /// memory.
    Validate {
        /// The corpus: a directory of .xml files (recursively).
        dir: Option<PathBuf>,
        /// Passes over the corpus per measurement (1–1000).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
        passes: u32,
        /// Write the figures as JSON to this file too.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Rules.
        #[command(flatten)]
        rules: RulesOptions,
    },
}
