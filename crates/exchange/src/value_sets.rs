//! The CI-SIS value sets (*jeux de valeurs*, JDV) of the coded XDS metadata: typeCode
//! (JDV_J07), healthcareFacilityTypeCode (JDV_J02), practiceSettingCode (JDV_J04),
//! confidentialityCode (JDV_J08) and authorSpecialty (JDV_J01).
//!
//! The ANS publishes them without a licence, so segur does not ship them: [`ValueSets::load`]
//! reads them at run time from `<rules>/jeuxDeValeurs/` (the IHE SVS XML files of the
//! TestContenuCDA kit, `RetrieveValueSetResponse/ValueSet/ConceptList/Concept`). A value set
//! whose file is absent is not checked, and says so ([`ValueSets::not_checked`]); a file that
//! is present but cannot be read is an error, so that a broken download never turns a check
//! off silently.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::codes::{Origin, TableError};
use crate::dom::{attr, kid, kids};

/// The folder of the rules directory that holds the value sets.
pub const VALUE_SETS_DIR: &str = "jeuxDeValeurs";
/// Value-set files larger than this are refused (the largest of the five is 64 KiB).
const MAX_VALUE_SET_BYTES: usize = 16 * 1024 * 1024;
const SVS_NS: &str = "urn:ihe:iti:svs:2008";

/// One CI-SIS value set of XDS metadata codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Jdv {
    /// JDV_J07-XdsTypeCode-CISIS: typeCode.
    J07,
    /// JDV_J02-XdsHealthcareFacilityTypeCode-CISIS: healthcareFacilityTypeCode.
    J02,
    /// JDV_J04-XdsPracticeSettingCode-CISIS: practiceSettingCode.
    J04,
    /// JDV_J08-XdsConfidentialityCode-CISIS: confidentialityCode.
    J08,
    /// JDV_J01-XdsAuthorSpecialty-CISIS: authorSpecialty.
    J01,
}

impl Jdv {
    /// Every value set segur checks, in the order of the checks.
    pub const ALL: [Jdv; 5] = [Jdv::J07, Jdv::J02, Jdv::J04, Jdv::J08, Jdv::J01];

    /// The short id, `JDV_J07`.
    pub fn id(self) -> &'static str {
        match self {
            Jdv::J07 => "JDV_J07",
            Jdv::J02 => "JDV_J02",
            Jdv::J04 => "JDV_J04",
            Jdv::J08 => "JDV_J08",
            Jdv::J01 => "JDV_J01",
        }
    }

    /// The full ANS name, `JDV_J07-XdsTypeCode-CISIS`.
    pub fn name(self) -> &'static str {
        match self {
            Jdv::J07 => "JDV_J07-XdsTypeCode-CISIS",
            Jdv::J02 => "JDV_J02-XdsHealthcareFacilityTypeCode-CISIS",
            Jdv::J04 => "JDV_J04-XdsPracticeSettingCode-CISIS",
            Jdv::J08 => "JDV_J08-XdsConfidentialityCode-CISIS",
            Jdv::J01 => "JDV_J01-XdsAuthorSpecialty-CISIS",
        }
    }

    /// The file name in the TestContenuCDA kit, `JDV_J07_XdsTypeCode_CISIS.xml`.
    pub fn file_name(self) -> String {
        format!("{}.xml", self.name().replace('-', "_"))
    }

    /// The value set's OID (`ValueSet/@id`; the same OIDs name them in the structuration
    /// minimale schematron, `voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml` for JDV_J07).
    pub fn oid(self) -> &'static str {
        match self {
            Jdv::J07 => "1.2.250.1.213.1.1.5.471",
            Jdv::J02 => "1.2.250.1.213.1.1.5.466",
            Jdv::J04 => "1.2.250.1.213.1.1.5.467",
            Jdv::J08 => "1.2.250.1.213.1.1.5.463",
            Jdv::J01 => "1.2.250.1.213.1.1.5.461",
        }
    }

    /// The metadata it constrains, `typeCode`.
    pub fn metadata(self) -> &'static str {
        match self {
            Jdv::J07 => "typeCode",
            Jdv::J02 => "healthcareFacilityTypeCode",
            Jdv::J04 => "practiceSettingCode",
            Jdv::J08 => "confidentialityCode",
            Jdv::J01 => "authorSpecialty",
        }
    }

    /// The id of the packaging rule that checks it.
    pub fn rule(self) -> &'static str {
        match self {
            Jdv::J07 => "SEGUR-XDS-VALUESET-TYPECODE",
            Jdv::J02 => "SEGUR-XDS-VALUESET-FACILITY",
            Jdv::J04 => "SEGUR-XDS-VALUESET-PRACTICE",
            Jdv::J08 => "SEGUR-XDS-VALUESET-CONFIDENTIALITY",
            Jdv::J01 => "SEGUR-XDS-VALUESET-AUTHORSPECIALTY",
        }
    }

    /// Whether a file name of the value-set folder is this value set's: an `.xml` file whose
    /// name starts with the id, with `_` or `-` (`JDV_J07_XdsTypeCode_CISIS.xml` as in the kit,
    /// `JDV_J07-XdsTypeCode-CISIS.xml` as the NOS names it), followed by `_`, `-` or `.`.
    pub fn matches(self, file_name: &str) -> bool {
        let upper = file_name.to_ascii_uppercase();
        if !upper.ends_with(".XML") {
            return false;
        }
        let id = self.id();
        [id.to_string(), id.replace('_', "-")].iter().any(|p| {
            upper
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.starts_with(['_', '-', '.']))
        })
    }
}

/// Whether a code belongs to a value set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Membership {
    /// The code is in the value set under that coding scheme.
    In,
    /// The code is in the value set, but under these other coding schemes.
    OtherScheme(Vec<String>),
    /// The code is not in the value set.
    NotIn,
}

/// One value set read from its file: code → coding schemes.
#[derive(Debug, Clone)]
pub struct ValueSet {
    /// Which value set.
    pub jdv: Jdv,
    /// The file, its SHA-256 and `ValueSet/@dateMaj` (or `@version`).
    pub origin: Origin,
    concepts: HashMap<String, Vec<String>>,
}

impl ValueSet {
    /// The value set held in `bytes` (IHE SVS XML), its origin being `path`. A file that is
    /// not SVS XML, names another value set, holds a Concept without code or codeSystem, or
    /// holds no Concept is an error.
    pub fn parse(bytes: &[u8], jdv: Jdv, path: &Path) -> Result<ValueSet, TableError> {
        let format = |reason: String| TableError::Format {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.len() > MAX_VALUE_SET_BYTES {
            return Err(TableError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        let (concepts, version) = parse_svs(bytes, jdv).map_err(format)?;
        Ok(ValueSet {
            jdv,
            origin: Origin::File {
                path: path.to_path_buf(),
                sha256: crate::metadata::sha256_hex(bytes),
                version,
            },
            concepts,
        })
    }

    /// Whether `code` is in the value set under `scheme` (both compared exactly, surrounding
    /// spaces aside).
    pub fn membership(&self, code: &str, scheme: &str) -> Membership {
        match self.concepts.get(code.trim()) {
            None => Membership::NotIn,
            Some(schemes) if schemes.iter().any(|s| s == scheme.trim()) => Membership::In,
            Some(schemes) => Membership::OtherScheme(schemes.clone()),
        }
    }

    /// How many distinct codes it holds.
    pub fn len(&self) -> usize {
        self.concepts.len()
    }

    /// Whether it holds no code (never true of a value set read from a file).
    pub fn is_empty(&self) -> bool {
        self.concepts.is_empty()
    }
}

type Concepts = HashMap<String, Vec<String>>;

fn parse_svs(bytes: &[u8], jdv: Jdv) -> Result<(Concepts, Option<String>), String> {
    let limits = segur_xml::Limits::default().with_max_bytes(MAX_VALUE_SET_BYTES);
    let doc = segur_xml::Document::parse(bytes, &limits).map_err(|e| format!("not XML: {e}"))?;
    let root = doc
        .document_element()
        .ok_or_else(|| "no root element".to_string())?;
    let (ns, local) = (doc.namespace_uri(root), doc.local_name(root));
    if ns != SVS_NS || local != "RetrieveValueSetResponse" {
        return Err(format!(
            "root element {{{ns}}}{local} is not an SVS RetrieveValueSetResponse ({SVS_NS})"
        ));
    }
    let vs = kid(&doc, root, SVS_NS, "ValueSet")
        .ok_or_else(|| "an SVS response without ValueSet".to_string())?;
    if let Some(id) = attr(&doc, vs, "id").map(str::trim)
        && id != jdv.oid()
    {
        return Err(format!(
            "ValueSet/@id is {id}, not {} ({})",
            jdv.oid(),
            jdv.name()
        ));
    }
    let list = kid(&doc, vs, SVS_NS, "ConceptList")
        .ok_or_else(|| "an SVS ValueSet without ConceptList".to_string())?;
    let mut concepts: Concepts = HashMap::new();
    for (i, c) in kids(&doc, list, SVS_NS, "Concept").enumerate() {
        let get = |name: &str| {
            attr(&doc, c, name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("Concept {} has no {name}", i + 1))
        };
        let (code, scheme) = (get("code")?, get("codeSystem")?);
        let schemes = concepts.entry(code.to_string()).or_default();
        if !schemes.iter().any(|s| s == scheme) {
            schemes.push(scheme.to_string());
        }
    }
    if concepts.is_empty() {
        return Err("no Concept in it (an empty value set would refuse every code)".into());
    }
    let version = attr(&doc, vs, "dateMaj")
        .or_else(|| attr(&doc, vs, "version"))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    Ok((concepts, version))
}

/// Where a value set stands: read, or why not.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Status {
    /// Read from its file.
    Loaded(ValueSet),
    /// The folder holds no file for it.
    Absent {
        /// The folder looked in.
        dir: PathBuf,
    },
    /// No rules directory was read (a library used without [`crate::codes::install`]).
    NotLoaded,
}

/// The five value sets, each read or not.
#[derive(Debug, Clone)]
pub struct ValueSets {
    sets: Vec<(Jdv, Status)>,
}

impl Default for ValueSets {
    fn default() -> Self {
        Self::not_loaded()
    }
}

impl ValueSets {
    /// No value set read: every check is off, and says so.
    pub fn not_loaded() -> ValueSets {
        ValueSets {
            sets: Jdv::ALL.iter().map(|&j| (j, Status::NotLoaded)).collect(),
        }
    }

    /// The value sets of `<rules_dir>/jeuxDeValeurs/`. A value set without a file is
    /// [`Status::Absent`]; two files for one value set, or a file that cannot be read or
    /// parsed, is an error.
    pub fn load(rules_dir: &Path) -> Result<ValueSets, TableError> {
        let dir = rules_dir.join(VALUE_SETS_DIR);
        let names: Vec<String> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(TableError::Io { path: dir, source }),
        };
        let mut sets = Vec::new();
        for jdv in Jdv::ALL {
            let mut mine: Vec<&String> = names.iter().filter(|n| jdv.matches(n)).collect();
            mine.sort();
            let status = match mine.as_slice() {
                [] => Status::Absent { dir: dir.clone() },
                [one] => Status::Loaded(read(&dir.join(one), jdv)?),
                [first, second, ..] => {
                    return Err(TableError::Ambiguous {
                        association: jdv.id(),
                        first: dir.join(first),
                        second: dir.join(second),
                    });
                }
            };
            sets.push((jdv, status));
        }
        Ok(ValueSets { sets })
    }

    /// The status of one value set.
    pub fn status(&self, jdv: Jdv) -> &Status {
        self.sets
            .iter()
            .find(|(j, _)| *j == jdv)
            .map_or(&Status::NotLoaded, |(_, s)| s)
    }

    /// The value set, when it was read.
    pub fn get(&self, jdv: Jdv) -> Option<&ValueSet> {
        match self.status(jdv) {
            Status::Loaded(v) => Some(v),
            _ => None,
        }
    }

    /// One line per value set: `JDV_J07 (typeCode): <origin> (<n> codes)`, or why it is
    /// not checked.
    pub fn describe(&self) -> Vec<String> {
        self.sets
            .iter()
            .map(|(jdv, status)| match status {
                Status::Loaded(v) => format!(
                    "{} ({}): {} ({} codes)",
                    jdv.id(),
                    jdv.metadata(),
                    v.origin,
                    v.len()
                ),
                _ => format!(
                    "{} ({}): {}",
                    jdv.id(),
                    jdv.metadata(),
                    why_not(*jdv, status)
                ),
            })
            .collect()
    }

    /// For each value set that was not read, a note saying which metadata is therefore not
    /// checked and why: `typeCode not checked against JDV_J07-XdsTypeCode-CISIS
    /// (SEGUR-XDS-VALUESET-TYPECODE): no JDV_J07 file in <dir>`.
    pub fn not_checked(&self) -> Vec<String> {
        self.sets
            .iter()
            .filter(|(_, s)| !matches!(s, Status::Loaded(_)))
            .map(|(jdv, status)| {
                format!(
                    "{} not checked against {} ({}): {}",
                    jdv.metadata(),
                    jdv.name(),
                    jdv.rule(),
                    why_not(*jdv, status)
                )
            })
            .collect()
    }
}

fn why_not(jdv: Jdv, status: &Status) -> String {
    match status {
        Status::Absent { dir } => format!(
            "absent, not checked (no {} file in {})",
            jdv.id(),
            dir.display()
        ),
        _ => "not loaded, not checked (no rules directory read)".to_string(),
    }
}

fn read(path: &Path, jdv: Jdv) -> Result<ValueSet, TableError> {
    let io = |source| TableError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_VALUE_SET_BYTES as u64 {
        return Err(TableError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    ValueSet::parse(&bytes, jdv, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const J08: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<RetrieveValueSetResponse xmlns="urn:ihe:iti:svs:2008">
  <ValueSet id="1.2.250.1.213.1.1.5.463" dateMaj="20200424120000">
    <ConceptList>
      <Concept code="N" codeSystem="2.16.840.1.113883.5.25" displayName="Normal"/>
      <Concept code="MASQUE_PS" codeSystem="1.2.250.1.213.1.1.4.13" displayName="Masqué"/>
    </ConceptList>
  </ValueSet>
</RetrieveValueSetResponse>"#;

    #[test]
    fn svs_concepts_and_membership() {
        let v = ValueSet::parse(J08.as_bytes(), Jdv::J08, Path::new("j08.xml")).expect("parse");
        assert_eq!(v.len(), 2);
        assert_eq!(v.membership("N", "2.16.840.1.113883.5.25"), Membership::In);
        assert_eq!(
            v.membership("N", "1.2.250.1.213.1.1.4.13"),
            Membership::OtherScheme(vec!["2.16.840.1.113883.5.25".into()])
        );
        assert_eq!(
            v.membership("X", "2.16.840.1.113883.5.25"),
            Membership::NotIn
        );
        assert!(v.origin.to_string().ends_with("version 20200424120000"));
    }

    #[test]
    fn broken_files_are_errors_naming_the_file() {
        for (bytes, want) in [
            ("", "not XML"),
            ("<a/>", "not an SVS RetrieveValueSetResponse"),
            (
                "<RetrieveValueSetResponse xmlns='urn:ihe:iti:svs:2008'/>",
                "without ValueSet",
            ),
            (
                "<RetrieveValueSetResponse xmlns='urn:ihe:iti:svs:2008'><ValueSet id='1.2.250.1.213.1.1.5.471'/></RetrieveValueSetResponse>",
                "not 1.2.250.1.213.1.1.5.463",
            ),
            (
                "<RetrieveValueSetResponse xmlns='urn:ihe:iti:svs:2008'><ValueSet/></RetrieveValueSetResponse>",
                "without ConceptList",
            ),
            (
                "<RetrieveValueSetResponse xmlns='urn:ihe:iti:svs:2008'><ValueSet><ConceptList/></ValueSet></RetrieveValueSetResponse>",
                "no Concept",
            ),
            (
                "<RetrieveValueSetResponse xmlns='urn:ihe:iti:svs:2008'><ValueSet><ConceptList><Concept code='N'/></ConceptList></ValueSet></RetrieveValueSetResponse>",
                "Concept 1 has no codeSystem",
            ),
            (&J08[..J08.len() / 2], "not XML"),
        ] {
            match ValueSet::parse(bytes.as_bytes(), Jdv::J08, Path::new("/r/j08.xml")) {
                Err(e @ TableError::Format { .. }) => {
                    let line = e.to_string();
                    assert!(
                        line.starts_with("/r/j08.xml: ") && line.contains(want),
                        "{line}"
                    );
                    assert!(!line.contains('\n'), "{line}");
                }
                other => panic!("{want}: {other:?}"),
            }
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(Jdv::J07.file_name(), "JDV_J07_XdsTypeCode_CISIS.xml");
        assert!(Jdv::J07.matches("JDV_J07_XdsTypeCode_CISIS.xml"));
        assert!(Jdv::J07.matches("JDV_J07-XdsTypeCode-CISIS.xml"));
        assert!(!Jdv::J07.matches("JDV_J07-XdsTypeCode-CISIS.json"));
        assert!(!Jdv::J01.matches("JDV_J197_XdsTypesIdentifiantsReferenceId_CISIS.xml"));
        assert!(!Jdv::J02.matches("JDV_J231_XdsTypesIdentifiantsReferenceId_DMP.xml"));
        assert!(!Jdv::J08.matches("JDV_AbordVeineuxCentral_CISIS.xml"));
    }
}
