//! Which schematrons check a document, chosen as the official chain does:
//!
//! * the `<?oxygen SCHSchema="…"?>` processing instructions of the document, when it has any
//!   (every ANS example has them), in their order;
//! * otherwise, as the ANS CI tool (`M-Priour/validateCDA`) does: the five generic profiles,
//!   then `schematrons/CI-SIS_<volet>.sch` for every `ClinicalDocument/templateId` whose
//!   `@root + "." + @extension` is a key of its `mapping.properties`.
//!
//! A declared schematron that does not exist is replaced by its substitute from an overrides
//! table when there is one (the SDM-MR 2025.01 examples declare a 2024.01 file the ANS never
//! committed), else reported as missing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The generic profiles, in the order 90 of the 94 ANS examples list them.
pub const GENERIC: [&str; 5] = [
    "schematrons/profils/IHE.sch",
    "schematrons/profils/structurationMinimale/ASIP-STRUCT-MIN-StrucMin.sch",
    "schematrons/profils/CI-SIS_ModelesDeContenusCDA.sch",
    "schematrons/profils/CI-SIS_Modeles_ANS.sch",
    "schematrons/profils/terminologies/schematron/terminologie.sch",
];

/// How to choose the schematrons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SelectMode {
    /// Processing instructions when the document has any, else the mapping.
    #[default]
    Auto,
    /// Only the processing instructions.
    Pi,
    /// Only the mapping (what a document produced by software gets: no PIs).
    Mapping,
}

/// The templateId → volet table of the ANS CI tool, and the substitutes of missing files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    volets: HashMap<String, String>,
    overrides: HashMap<String, String>,
}

/// One schematron chosen for a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// The path declared (by a PI or the mapping), relative to the rules directory.
    pub declared: String,
    /// The file that runs: the declared one, its substitute, or none when missing.
    pub actual: Option<String>,
}

/// The result of the selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// `pi` or `mapping`.
    pub source: &'static str,
    /// The schematrons, in order, without duplicates.
    pub schematrons: Vec<Selected>,
    /// Notes (no PI, no volet found…).
    pub notes: Vec<String>,
}

impl Catalogue {
    /// Read a `mapping.properties` (Java properties: `key=value`, `#`/`!` comments) and an
    /// overrides table (`declared<TAB>substitute`, `#` comments); either may be absent.
    pub fn load(
        mapping: Option<&Path>,
        overrides: Option<&Path>,
    ) -> Result<Catalogue, (PathBuf, std::io::Error)> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| {
                let e = std::io::Error::new(e.kind(), format!("cannot read: {e}"));
                (p.to_path_buf(), e)
            })
        };
        let mut c = Catalogue::default();
        if let Some(p) = mapping {
            c.volets = parse_properties(&read(p)?);
            // A file that maps nothing would leave every volet unchosen, silently.
            if c.volets.is_empty() {
                return Err((
                    p.to_path_buf(),
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "no key=value line: not a mapping.properties",
                    ),
                ));
            }
        }
        if let Some(p) = overrides {
            for line in read(p)?.lines() {
                if line.starts_with('#') || line.trim().is_empty() {
                    continue;
                }
                if let Some((a, b)) = line.split_once('\t') {
                    c.overrides
                        .insert(a.trim().to_string(), b.trim().to_string());
                }
            }
        }
        Ok(c)
    }

    /// Whether a mapping was loaded.
    pub fn has_mapping(&self) -> bool {
        !self.volets.is_empty()
    }

    /// Choose the schematrons for a document given its oxygen PI targets and its
    /// `ClinicalDocument/templateId`s; `exists` tells whether a path (relative to the rules
    /// directory) is a file.
    pub fn select(
        &self,
        mode: SelectMode,
        pis: &[String],
        template_ids: &[(Option<String>, Option<String>)],
        exists: impl Fn(&str) -> bool,
    ) -> Selection {
        let mut notes = Vec::new();
        let mut declared: Vec<String> = Vec::new();
        let use_pi = match mode {
            SelectMode::Pi => true,
            SelectMode::Mapping => false,
            SelectMode::Auto => !pis.is_empty(),
        };
        let source = if use_pi {
            declared.extend(pis.iter().map(|p| normalize_pi(p)));
            if pis.is_empty() {
                notes.push(
                    "no oxygen SCHSchema processing instruction: no schematron run".to_string(),
                );
            }
            "pi"
        } else {
            declared.extend(GENERIC.iter().map(|s| s.to_string()));
            if !self.has_mapping() {
                notes.push("no mapping.properties: no volet schematron".to_string());
            }
            let mut volets: Vec<&str> = Vec::new();
            for (root, ext) in template_ids {
                let key = format!(
                    "{}.{}",
                    root.as_deref().unwrap_or(""),
                    ext.as_deref().unwrap_or("")
                );
                if let Some(v) = self
                    .volets
                    .get(&key)
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
                    && !volets.contains(&v)
                {
                    volets.push(v);
                }
            }
            if self.has_mapping() && volets.is_empty() {
                notes.push("no ClinicalDocument/templateId @root.@extension in mapping.properties: no volet schematron".to_string());
            }
            declared.extend(volets.iter().map(|v| format!("schematrons/CI-SIS_{v}.sch")));
            "mapping"
        };
        let mut schematrons: Vec<Selected> = Vec::new();
        for d in declared {
            if schematrons.iter().any(|s| s.declared == d) {
                continue;
            }
            // A path that would leave the rules directory (absolute, or through `..`) names
            // no rule file: a document must not make the validator read other files.
            let actual = if !within_rules(&d) {
                None
            } else if exists(&d) {
                Some(d.clone())
            } else {
                self.overrides.get(&d).filter(|alt| exists(alt)).cloned()
            };
            schematrons.push(Selected {
                declared: d,
                actual,
            });
        }
        Selection {
            source,
            schematrons,
            notes,
        }
    }
}

/// Whether `path` (relative to the rules directory) stays inside it: relative, no `..`.
pub fn within_rules(path: &str) -> bool {
    let p = Path::new(path);
    let rooted = path.starts_with('/') || path.contains('\\') || path.get(1..2) == Some(":");
    !rooted
        && p.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
}

/// The path, relative to the rules directory, that a PI's `SCHSchema` target declares.
pub fn declared_path(target: &str) -> String {
    normalize_pi(target)
}

/// The path a PI target names, as the official chain reads it (`PeerRunner.normalizePi`):
/// trimmed, `\` read as `/`, and from the first `schematrons/` (in any letter case) on,
/// whatever comes before it (`../schematrons/x.sch`, `..\Schematrons\x.sch` and
/// `/abs/TestContenuCDA/schematrons/x.sch` all give `schematrons/x.sch`); a target without
/// that folder loses its leading `./` and `../` only.
fn normalize_pi(p: &str) -> String {
    // Java's `trim()`: every character up to the space.
    let p = p.trim_matches(|c: char| c <= ' ').replace('\\', "/");
    const FOLDER: &str = "schematrons/";
    let at = p
        .as_bytes()
        .windows(FOLDER.len())
        .position(|w| w.eq_ignore_ascii_case(FOLDER.as_bytes()));
    if let Some(i) = at {
        // `.` dropped and each `..` taking the segment before it, as resolving the path against
        // the rules directory does; a `..` with nothing before it stays (see `within_rules`).
        let path = format!("{FOLDER}{}", &p[i + FOLDER.len()..]);
        return crate::resolver::normalize(Path::new(&path))
            .to_string_lossy()
            .replace('\\', "/");
    }
    let mut s = p.as_str();
    loop {
        if let Some(rest) = s.strip_prefix("./") {
            s = rest;
        } else if let Some(rest) = s.strip_prefix("../") {
            s = rest;
        } else {
            break;
        }
    }
    s.to_string()
}

fn parse_properties(text: &str) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let split = line.find(['=', ':']);
        if let Some(i) = split {
            let (k, v) = (line[..i].trim_end(), line[i + 1..].trim());
            // As in java.util.Properties, the last definition of a key wins.
            map.insert(k.to_string(), v.to_string());
        }
    }
    map
}

/// The `SCHSchema` targets of the oxygen processing instructions, in order.
pub fn oxygen_targets<'a>(pis: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    pis.filter(|(target, _)| *target == "oxygen")
        .filter_map(|(_, data)| schschema(data))
        .collect()
}

/// The first `SCHSchema = "…"` of an oxygen PI's data with a non-empty value, found as the
/// official chain's pattern `SCHSchema\s*=\s*"([^"]+)"` finds it.
fn schschema(data: &str) -> Option<String> {
    // Java's `\s`: space, tab, line feed, vertical tab, form feed, carriage return.
    let space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r');
    data.match_indices("SCHSchema").find_map(|(at, name)| {
        let rest = data[at + name.len()..]
            .trim_start_matches(space)
            .strip_prefix('=')?
            .trim_start_matches(space)
            .strip_prefix('"')?;
        let end = rest.find('"')?;
        (end > 0).then(|| rest[..end].to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PI targets are read as the official chain reads them (`PeerRunner.normalizePi` and its
    /// `SCHSchema` pattern): a document cannot leave its rules unrun by writing the path
    /// another way.
    #[test]
    fn pi_targets_are_read_as_the_official_chain_reads_them() {
        let want = "schematrons/profils/IHE.sch";
        for written in [
            "../schematrons/profils/IHE.sch",
            "../../x/../schematrons/profils/IHE.sch",
            "..\\schematrons\\profils\\IHE.sch",
            "/abs/schematrons/profils/IHE.sch",
            "../SCHEMATRONS/profils/IHE.sch",
            "../TestContenuCDA/Schematrons/profils/IHE.sch",
            " \t../schematrons/profils/IHE.sch\u{1}",
        ] {
            assert_eq!(normalize_pi(written), want, "{written}");
            assert!(within_rules(&normalize_pi(written)), "{written}");
        }
        assert_eq!(normalize_pi("./../other/x.sch"), "other/x.sch");
        // `..` that stays inside the rules directory is resolved, as the chain resolves it.
        assert_eq!(
            normalize_pi("../schematrons/profils/../CI-SIS_x.sch"),
            "schematrons/CI-SIS_x.sch"
        );
        assert_eq!(
            normalize_pi("../schematrons/profils/../../schematrons/./x.sch"),
            "schematrons/x.sch"
        );
        // What lies beyond the folder still cannot leave the rules directory.
        assert!(!within_rules(&normalize_pi(
            "../schematrons/../../etc/x.sch"
        )));
        let targets = |data: &str| oxygen_targets(std::iter::once(("oxygen", data)));
        assert_eq!(
            targets("RNGSchema=\"a\" SCHSchema \n= \"../schematrons/x.sch\""),
            ["../schematrons/x.sch"]
        );
        // An empty value or a name without `=` is passed over for the next one.
        assert_eq!(
            targets("SCHSchema=\"\" SCHSchemaType SCHSchema=\"b.sch\""),
            ["b.sch"]
        );
        assert!(targets("SCHSchema=b.sch").is_empty());
    }

    fn catalogue() -> Catalogue {
        Catalogue {
            volets: parse_properties(
                "# comment\n1.2.250.1.213.1.1.1.55.2024.01=BIO-CR-BIO_2024.01\n1.2.250.1.213.1.1.1.55.=BIO-CR-BIO_2021.01\n1.2.250.1.213.1.1.1.23.2022.01 = DLU-EHPAD-FLUDT_2022.01\n",
            ),
            overrides: [(
                "schematrons/CI-SIS_SDM-MR_2024.01.sch".to_string(),
                "schematrons/CI-SIS_SDM-MR_2025.01.sch".to_string(),
            )]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn mapping_uses_root_dot_extension() {
        let c = catalogue();
        let t = |r: &str, e: Option<&str>| (Some(r.to_string()), e.map(str::to_string));
        let s = c.select(
            SelectMode::Auto,
            &[],
            &[
                t("2.16.840.1.113883.2.8.2.1", None),
                t("1.2.250.1.213.1.1.1.55", Some("2024.01")),
            ],
            |_| true,
        );
        assert_eq!(s.source, "mapping");
        assert_eq!(s.schematrons.len(), 6);
        assert_eq!(
            s.schematrons[5].declared,
            "schematrons/CI-SIS_BIO-CR-BIO_2024.01.sch"
        );
        let s = c.select(
            SelectMode::Mapping,
            &[],
            &[t("1.2.250.1.213.1.1.1.55", None)],
            |_| true,
        );
        assert_eq!(
            s.schematrons[5].declared, "schematrons/CI-SIS_BIO-CR-BIO_2021.01.sch",
            "no extension: the 2021.01 key"
        );
    }

    #[test]
    fn pis_win_in_auto_and_missing_files_get_their_substitute() {
        let c = catalogue();
        let pis = vec![
            "../schematrons/profils/IHE.sch".to_string(),
            "../Schematrons/CI-SIS_SDM-MR_2024.01.sch".to_string(),
        ];
        let s = c.select(SelectMode::Auto, &pis, &[], |p| !p.contains("2024.01"));
        assert_eq!(s.source, "pi");
        assert_eq!(
            s.schematrons[0].actual.as_deref(),
            Some("schematrons/profils/IHE.sch")
        );
        assert_eq!(
            s.schematrons[1].actual.as_deref(),
            Some("schematrons/CI-SIS_SDM-MR_2025.01.sch")
        );
        let s = c.select(SelectMode::Pi, &["x/missing.sch".to_string()], &[], |_| {
            false
        });
        assert_eq!(s.schematrons[0].actual, None);
    }

    #[test]
    fn paths_outside_the_rules_directory_name_no_rule_file() {
        for inside in ["schematrons/x.sch", "./schematrons/p/x.sch"] {
            assert!(within_rules(inside), "{inside}");
        }
        for outside in [
            "/etc/passwd",
            "schematrons/../../secret.sch",
            "..",
            "C:/x.sch",
            "\\\\server\\x.sch",
            "schematrons\\..\\..\\x.sch",
        ] {
            assert!(!within_rules(outside), "{outside}");
        }
        let c = Catalogue::default();
        let s = c.select(
            SelectMode::Pi,
            &[
                "/tmp/evil.sch".into(),
                "../schematrons/a/../../../x.sch".into(),
            ],
            &[],
            |_| true,
        );
        assert!(s.schematrons.iter().all(|s| s.actual.is_none()), "{s:?}");
    }

    #[test]
    fn oxygen_pi_targets() {
        let pis = [
            ("xml-stylesheet", "type=\"text/xsl\" href=\"x.xsl\""),
            ("oxygen", "SCHSchema=\"../schematrons/profils/IHE.sch\""),
            ("oxygen", "RNGSchema=\"x\""),
        ];
        assert_eq!(
            oxygen_targets(pis.into_iter()),
            vec!["../schematrons/profils/IHE.sch"]
        );
    }
}
