//! The engine: rules loaded once per process, then for each input one parse and every rule set
//! the official chain would run — the CDA XSD, the schematrons selected for the document — plus,
//! unless the profile is `official`, segur's own rules.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use segur_finding::{Finding, Location, RuleSource, Severity};
use segur_xml::{Document, Limits};

use crate::facts;
use crate::own_rules;
use crate::resolver::DocumentCache;
use crate::rules::{CDA_XSD, RulesError, check_rules_dir, sha256_file};
use crate::run::{Compiled, Unsupported};
use crate::schematron::{CacheOutcome, LoadError, Schematron, SourceFile};
use crate::select::{Catalogue, SelectMode};

/// Which rules decide the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// Exactly the official chain's rules (XSD and schematrons).
    Official,
    /// The official rules plus segur's own (`docs/rules.md`).
    #[default]
    Default,
}

impl Profile {
    /// `official` or `default`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Official => "official",
            Profile::Default => "default",
        }
    }
}

/// How to set the engine up.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The rules directory (the ANS TestContenuCDA assets).
    pub rules_dir: PathBuf,
    /// The ANS CI tool's `mapping.properties` (templateId → volet), if any.
    pub mapping: Option<PathBuf>,
    /// Substitutes of missing declared schematrons (`declared<TAB>substitute`), if any.
    pub overrides: Option<PathBuf>,
    /// How schematrons are chosen.
    pub select: SelectMode,
    /// Which rules decide.
    pub profile: Profile,
    /// Whether to run the CDA XSD.
    pub xsd: bool,
    /// Limits on inputs.
    pub limits: Limits,
    /// Where loaded schematrons and the compiled XSD are cached between runs, keyed by their
    /// files' SHA-256 (none: no cache).
    pub cache_dir: Option<PathBuf>,
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The rules directory is not usable.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// The mapping or overrides file could not be read, or maps nothing.
    #[error("{path}: {source}")]
    Catalogue {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Why an input was not checked at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    /// One line.
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
}

/// The result of one input.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Set when the input is not well-formed XML (or refused): no rule ran.
    pub problem: Option<InputProblem>,
    /// The rule sets that ran, in order.
    pub rule_sets: Vec<String>,
    /// Notes on the selection and on the rules (missing schematron, substitute…).
    pub notes: Vec<String>,
    /// Findings.
    pub findings: Vec<Finding>,
}

impl Outcome {
    /// Whether any finding is an error (or the input was refused).
    pub fn has_errors(&self) -> bool {
        self.problem.is_some() || self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

enum Slot {
    Ready(Arc<Compiled>),
    Failed(String),
}

/// The validation engine: `Send + Sync`, to share between threads.
pub struct Engine {
    options: EngineOptions,
    catalogue: Catalogue,
    cache: DocumentCache,
    xsd: OnceLock<Result<segur_xsd::Schema, String>>,
    schematrons: Mutex<HashMap<String, Arc<OnceLock<Slot>>>>,
    hashes: Mutex<HashMap<String, String>>,
    cache_outcomes: Mutex<Vec<(String, CacheOutcome)>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Check the rules directory and read the catalogue; rule sets load on first use.
    pub fn new(mut options: EngineOptions) -> Result<Engine, EngineError> {
        check_rules_dir(&options.rules_dir)?;
        if let Ok(absolute) = std::fs::canonicalize(&options.rules_dir) {
            options.rules_dir = absolute;
        }
        let catalogue = Catalogue::load(options.mapping.as_deref(), options.overrides.as_deref())
            .map_err(|(path, source)| EngineError::Catalogue {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Engine {
            cache: DocumentCache::new(&options.rules_dir)
                .with_disk_cache(options.cache_dir.clone()),
            catalogue,
            options,
            xsd: OnceLock::new(),
            schematrons: Mutex::new(HashMap::new()),
            hashes: Mutex::new(HashMap::new()),
            cache_outcomes: Mutex::new(Vec::new()),
        })
    }

    /// The options.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// SHA-256 of a rules file (relative path), computed once.
    pub fn rule_file_hash(&self, rel: &str) -> String {
        let mut hashes = match self.hashes.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        hashes
            .entry(rel.to_string())
            .or_insert_with(|| sha256_file(&self.options.rules_dir.join(rel)).unwrap_or_default())
            .clone()
    }

    /// The rule files hashed so far (top-level schematrons, the XSD, defining files), sorted.
    pub fn rule_files(&self) -> Vec<(String, String)> {
        let hashes = match self.hashes.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut v: Vec<(String, String)> = hashes
            .iter()
            .filter(|(_, h)| !h.is_empty())
            .map(|(k, h)| (k.clone(), h.clone()))
            .collect();
        v.sort();
        v
    }

    /// The compiled schematron at `rel` (relative to the rules directory), loaded once.
    pub fn schematron(&self, rel: &str) -> Result<Arc<Compiled>, String> {
        let slot = {
            let mut map = match self.schematrons.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            map.entry(rel.to_string()).or_default().clone()
        };
        let s = slot.get_or_init(|| {
            let dir = &self.options.rules_dir;
            match Schematron::load_cached(dir, &dir.join(rel), self.options.cache_dir.as_deref()) {
                Ok((s, cached)) => {
                    self.record(rel, cached, &s.files);
                    self.rule_file_hash(rel);
                    Slot::Ready(Arc::new(Compiled::compile(&s, dir, &|f| {
                        self.rule_file_hash(f)
                    })))
                }
                Err(e) => Slot::Failed(load_error(&e)),
            }
        });
        match s {
            Slot::Ready(c) => Ok(c.clone()),
            Slot::Failed(e) => Err(e.clone()),
        }
    }

    /// Keep the hashes the load computed (no file is hashed twice) and what the cache did.
    fn record<'f>(
        &self,
        rel: &str,
        cached: CacheOutcome,
        files: impl IntoIterator<Item = &'f SourceFile>,
    ) {
        {
            let mut hashes = match self.hashes.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            for f in files {
                if let Some(h) = &f.sha256 {
                    hashes.entry(f.path.clone()).or_insert_with(|| h.clone());
                }
            }
        }
        let mut outcomes = match self.cache_outcomes.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        outcomes.push((rel.to_string(), cached));
    }

    /// What the caches did so far: for each rule set loaded (the XSD by its entry file), in load
    /// order, then for each large document the rules read (value sets, terminologies), by its
    /// path.
    pub fn cache_outcomes(&self) -> Vec<(String, CacheOutcome)> {
        let mut outcomes = match self.cache_outcomes.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        outcomes.extend(
            self.cache
                .cache_outcomes()
                .into_iter()
                .map(|(path, o)| (path.display().to_string(), o)),
        );
        outcomes
    }

    /// Load the XSD and the given schematrons that are not loaded yet, in parallel, and run
    /// each on `doc` as soon as it is loaded (the first document of a run pays for loading;
    /// this spreads the loading and the runs that wait for it over the cores). The findings
    /// of the XSD (`None`) and of each schematron run here, by rule set; the caller runs the
    /// others.
    fn prefetch<'a>(
        &self,
        doc: &Document,
        schematrons: impl Iterator<Item = &'a str>,
    ) -> HashMap<Option<&'a str>, Vec<Finding>> {
        let missing: Vec<&str> = {
            let map = match self.schematrons.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            schematrons
                .filter(|s| map.get(*s).is_none_or(|slot| slot.get().is_none()))
                .collect()
        };
        let need_xsd = self.options.xsd && self.xsd.get().is_none();
        if missing.len() + usize::from(need_xsd) < 2 {
            return HashMap::new();
        }
        std::thread::scope(|scope| {
            let xsd = need_xsd.then(|| scope.spawn(|| (None, self.xsd_findings(doc))));
            let runs: Vec<_> = missing
                .into_iter()
                .map(|s| {
                    scope.spawn(move || {
                        let findings = match self.schematron(s) {
                            Ok(c) => c.run(doc, &self.cache),
                            // Reported by the caller, which finds the slot failed.
                            Err(_) => Vec::new(),
                        };
                        (Some(s), findings)
                    })
                })
                .collect();
            xsd.into_iter()
                .chain(runs)
                .filter_map(|h| h.join().ok())
                .collect()
        })
    }

    /// The CDA XSD's findings on `doc`.
    fn xsd_findings(&self, doc: &Document) -> Vec<Finding> {
        let schema = match self.schema() {
            Ok(schema) => schema,
            Err(e) => {
                let message = format!("the rule set could not be loaded: {e}");
                return vec![engine_error(doc, "XSD", &message)];
            }
        };
        let version = self.rule_file_hash(CDA_XSD);
        crate::xsd_run::validate(schema, doc)
            .into_iter()
            .map(|e| Finding {
                rule: e.code.to_string(),
                severity: match e.severity {
                    segur_xsd::Severity::Error => Severity::Error,
                    _ => Severity::Warning,
                },
                message: e.message,
                source: RuleSource {
                    file: CDA_XSD.into(),
                    line: None,
                    version: version.clone(),
                },
                rule_set: Some("XSD".into()),
                location: Location {
                    xpath: None,
                    line: Some(e.line),
                    column: Some(e.column),
                },
            })
            .collect()
    }

    fn schema(&self) -> Result<&segur_xsd::Schema, String> {
        self.xsd
            .get_or_init(|| {
                let dir = &self.options.rules_dir;
                match crate::xsd_cache::load_cached(
                    dir,
                    &dir.join(CDA_XSD),
                    self.options.cache_dir.as_deref(),
                ) {
                    Ok((schema, files, cached)) => {
                        // The report names the entry file only, as before the cache.
                        self.record(CDA_XSD, cached, files.iter().filter(|f| f.path == CDA_XSD));
                        self.rule_file_hash(CDA_XSD);
                        Ok(schema)
                    }
                    Err(e) => {
                        self.rule_file_hash(CDA_XSD);
                        Err(format!("{CDA_XSD}: {e}"))
                    }
                }
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Every construct of the given schematrons that segur cannot run, and of the XSD.
    pub fn unsupported(&self, schematrons: &[&str]) -> Vec<Unsupported> {
        let mut out = Vec::new();
        if self.options.xsd {
            match self.schema() {
                Ok(s) => out.extend(s.unsupported().iter().map(|u| Unsupported {
                    at: u.to_string(),
                    rule_set: "XSD".into(),
                    construct: String::new(),
                    reason: "not supported by segur-xsd".into(),
                })),
                Err(e) => out.push(Unsupported {
                    at: CDA_XSD.into(),
                    rule_set: "XSD".into(),
                    construct: String::new(),
                    reason: e,
                }),
            }
        }
        for s in schematrons {
            match self.schematron(s) {
                Ok(c) => out.extend(c.unsupported_all()),
                Err(e) => out.push(Unsupported {
                    at: (*s).into(),
                    rule_set: (*s).into(),
                    construct: String::new(),
                    reason: e,
                }),
            }
        }
        out
    }

    /// The rule ids a rule set named in [`Outcome::rule_sets`] can report: the XSD's message
    /// keys, a schematron's checks (compiled if it was not yet), or segur's own CDA rules.
    pub fn rule_ids(&self, rule_set: &str) -> Result<Vec<String>, String> {
        if rule_set.starts_with("XSD:") {
            return Ok(segur_xsd::CODES.iter().map(|c| c.to_string()).collect());
        }
        if rule_set == "segur" {
            return Ok(own_rules::CATALOGUE.iter().map(|c| c.to_string()).collect());
        }
        Ok(self.schematron(rule_set)?.rule_ids().collect())
    }

    /// Validate one input. The outcome does not hash the input: a report that records the
    /// input's SHA-256 computes it (hashing is not validation, and the sink and the replay
    /// client, which validate every document they handle, have no use for it).
    pub fn validate(&self, bytes: &[u8]) -> Outcome {
        match self.parse(bytes) {
            Ok(doc) => match fhir_xml(&doc) {
                Some(problem) => Outcome {
                    problem: Some(problem),
                    ..Outcome::default()
                },
                None => self.validate_parsed(&doc),
            },
            Err(problem) => Outcome {
                problem: Some(problem),
                ..Outcome::default()
            },
        }
    }

    /// Parse an input as [`Engine::validate`] does (with the engine's limits).
    pub fn parse(&self, bytes: &[u8]) -> Result<Document, InputProblem> {
        Document::parse(bytes, &self.options.limits).map_err(|e| InputProblem {
            message: e.kind.to_string(),
            line: Some(e.line),
            column: Some(e.column),
        })
    }

    /// Validate an input already parsed by [`Engine::parse`]: the caller may read more of the
    /// document without parsing it again.
    pub fn validate_parsed(&self, doc: &Document) -> Outcome {
        let mut out = Outcome::default();
        let facts = facts::read(doc);

        let pis =
            crate::select::oxygen_targets(facts.pis.iter().map(|(t, d)| (t.as_str(), d.as_str())));
        let dir = &self.options.rules_dir;
        let selection =
            self.catalogue
                .select(self.options.select, &pis, &facts.template_ids, |p| {
                    dir.join(p).is_file()
                });
        out.notes.extend(selection.notes.iter().cloned());
        let mut early = self.prefetch(
            doc,
            selection
                .schematrons
                .iter()
                .filter_map(|s| s.actual.as_deref()),
        );

        if self.options.xsd {
            out.rule_sets.push(format!("XSD:{CDA_XSD}"));
            out.findings.extend(
                early
                    .remove(&None)
                    .unwrap_or_else(|| self.xsd_findings(doc)),
            );
        }

        // Chosen by the mapping, the selection needs the rules directory's own pieces: without
        // them a document would pass unchecked by its volet or a generic profile.
        if selection.source == "mapping" {
            if !self.catalogue.has_mapping() {
                out.findings.push(engine_error(
                    doc,
                    "mapping.properties",
                    "no mapping.properties (give --mapping FILE, or `segur rules fetch` puts it beside the rules): the volet schematron of a document without oxygen processing instructions cannot be chosen",
                ));
            }
            for sel in selection.schematrons.iter().filter(|s| s.actual.is_none()) {
                if crate::select::GENERIC.contains(&sel.declared.as_str()) {
                    out.findings.push(engine_error(
                        doc,
                        &sel.declared,
                        "a generic profile is absent from the rules directory: it did not run",
                    ));
                }
            }
        }

        for sel in &selection.schematrons {
            let Some(actual) = &sel.actual else {
                let outside = !crate::select::within_rules(&sel.declared);
                out.notes.push(format!(
                    "{}: declared but {}; not run",
                    sel.declared,
                    if outside {
                        "outside the rules directory"
                    } else {
                        "absent from the rules directory"
                    }
                ));
                // The document's own declaration names rules that cannot run: the official
                // chain only notes it (MISSING_SCH), and a document could so escape them.
                if self.options.profile == Profile::Default && selection.source == "pi" {
                    out.findings
                        .push(own_rules::absent_schematron(doc, &sel.declared, outside));
                }
                continue;
            };
            if actual != &sel.declared {
                out.notes.push(format!(
                    "{} is absent; substituted by {actual}",
                    sel.declared
                ));
            }
            out.rule_sets.push(actual.clone());
            match self.schematron(actual) {
                Ok(c) => {
                    if !c.unsupported.is_empty() {
                        out.notes.push(format!("{actual}: {} construct(s) not supported by segur did not run (segur rules --unsupported)", c.unsupported.len()));
                    }
                    out.findings.extend(
                        early
                            .remove(&Some(actual.as_str()))
                            .unwrap_or_else(|| c.run(doc, &self.cache)),
                    );
                }
                Err(e) => out.findings.push(engine_error(
                    doc,
                    actual,
                    &format!("the rule set could not be loaded: {e}"),
                )),
            }
        }

        if self.options.profile == Profile::Default {
            out.rule_sets.push("segur".into());
            out.findings.extend(own_rules::check(&facts.own));
        }
        out
    }
}

/// A FHIR resource written in XML (its element in the FHIR namespace): not a CDA document, and
/// segur reads FHIR as JSON; judged by the CDA rules it would get findings that mean nothing.
fn fhir_xml(doc: &Document) -> Option<InputProblem> {
    let root = doc.document_element()?;
    (doc.namespace_uri(root) == "http://hl7.org/fhir").then(|| {
        let (line, column) = doc.line_col(doc.offset(root));
        InputProblem {
            message: format!(
                "a FHIR resource in XML ({}): segur reads FHIR resources as JSON, CDA documents as XML",
                doc.local_name(root)
            ),
            line: Some(line),
            column: Some(column),
        }
    })
}

/// `RULES-ERROR`: `rule_set` could not be loaded or chosen (`message` says why), so `doc` was
/// not checked by it; located at the document element, which the rule set was to check.
fn engine_error(doc: &Document, rule_set: &str, message: &str) -> Finding {
    Finding {
        rule: "RULES-ERROR".into(),
        severity: Severity::Error,
        message: message.into(),
        source: RuleSource {
            file: rule_set.into(),
            line: None,
            version: String::new(),
        },
        rule_set: Some(rule_set.into()),
        location: crate::location::locate(doc, doc.document_element().unwrap_or(doc.root())),
    }
}

fn load_error(e: &LoadError) -> String {
    e.to_string()
}
