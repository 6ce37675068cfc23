//! The command line, as clap parses it (raw; each subcommand checks it before any work).

use std::path::PathBuf;

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
        /// How many.
        #[arg(long, default_value_t = 1)]
        count: u64,
        /// Seed: the same seed gives the same identities.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Output formats of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line for people.
    Text,
    /// One JSON object.
    Json,
}

/// `segur build …`
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Document type (see --list), or `all` for every type.
    #[arg(required_unless_present = "list")]
    pub doc_type: Option<String>,
    /// List the document types and exit.
    #[arg(long)]
    pub list: bool,
    /// Output directory (created if missing).
    #[arg(long, required_unless_present = "list")]
    pub out: Option<PathBuf>,
    /// Documents per type.
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
}
