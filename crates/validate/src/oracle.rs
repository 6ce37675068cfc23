//! Agreement with the official chain: its results (`failed.jsonl` of `run_peer.sh`, one JSON
//! object per XSD error, failed assert and successful report) against ours, document by
//! document: the same schematron, the same SVRL location and the same message text.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// One line of the official chain's `failed.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OracleRow {
    /// File name of the document.
    pub document: String,
    /// Schematron path relative to the rules directory, or `XSD`, `PARSE`.
    pub schematron: String,
    /// SVRL `@location`, or `line N` for XSD.
    pub location: String,
    /// `@role`, or `error`.
    pub role: String,
    /// The message, whitespace collapsed.
    pub text: String,
    /// `failed-assert`, `successful-report`, `xsd`, `parse-error` or `run-error`.
    pub kind: String,
}

/// Why a results file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OracleError {
    /// A line is not a result object.
    #[error("line {line}: {message}")]
    BadLine {
        /// 1-based line.
        line: usize,
        /// The JSON error.
        message: String,
    },
}

/// Read `failed.jsonl` text.
pub fn parse_jsonl(text: &str) -> Result<Vec<OracleRow>, OracleError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let bad = |message: String| OracleError::BadLine {
                line: i + 1,
                message,
            };
            let row: OracleRow = serde_json::from_str(l).map_err(|e| bad(e.to_string()))?;
            // A kind no run of the chain writes would be compared as a schematron row.
            if !KINDS.contains(&row.kind.as_str()) {
                return Err(bad(format!(
                    "unknown kind '{}' (expected one of {})",
                    row.kind,
                    KINDS.join(", ")
                )));
            }
            Ok(row)
        })
        .collect()
}

/// The kinds of rows `run_peer.sh` writes.
const KINDS: [&str; 5] = [
    "failed-assert",
    "successful-report",
    "xsd",
    "parse-error",
    "run-error",
];

/// Collapse whitespace as the chain does for `svrl:text`.
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Which rows a comparison looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    /// Compare schematron results (failed asserts, successful reports, run errors).
    pub schematron: bool,
    /// Compare XSD errors.
    pub xsd: bool,
}

/// The comparison of one document.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct DocumentDiff {
    /// The document.
    pub document: String,
    /// Rows the chain has and we do not.
    pub missing: Vec<OracleRow>,
    /// Rows we have and the chain does not.
    pub extra: Vec<OracleRow>,
}

impl DocumentDiff {
    /// Whether both agree.
    pub fn agrees(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty()
    }
}

fn key(r: &OracleRow) -> (String, String, String, String) {
    (
        r.schematron.clone(),
        r.location.clone(),
        collapse(&r.text),
        r.kind.clone(),
    )
}

fn in_scope(r: &OracleRow, scope: Scope) -> bool {
    match r.kind.as_str() {
        "xsd" => scope.xsd,
        _ => scope.schematron,
    }
}

type Grouped = BTreeMap<String, BTreeMap<(String, String, String, String), Vec<OracleRow>>>;

fn group(rows: &[OracleRow], scope: Scope) -> Grouped {
    let mut m = Grouped::new();
    for r in rows.iter().filter(|r| in_scope(r, scope)) {
        m.entry(r.document.clone())
            .or_default()
            .entry(key(r))
            .or_default()
            .push(r.clone());
    }
    m
}

/// Compare, for every document in `documents`, our rows with the chain's (multisets of
/// schematron, location, text and kind).
pub fn compare(
    documents: &[String],
    ours: &[OracleRow],
    peer: &[OracleRow],
    scope: Scope,
) -> Vec<DocumentDiff> {
    let (ours, peer) = (group(ours, scope), group(peer, scope));
    let empty = BTreeMap::new();
    documents
        .iter()
        .map(|d| {
            let a = ours.get(d.as_str()).unwrap_or(&empty);
            let b = peer.get(d.as_str()).unwrap_or(&empty);
            let keys: BTreeSet<_> = a.keys().chain(b.keys()).collect();
            let mut diff = DocumentDiff {
                document: d.clone(),
                ..DocumentDiff::default()
            };
            for k in keys {
                let (x, y) = (
                    a.get(k).map_or(&[][..], Vec::as_slice),
                    b.get(k).map_or(&[][..], Vec::as_slice),
                );
                if x.len() > y.len() {
                    diff.extra.extend(x[y.len()..].iter().cloned());
                } else if y.len() > x.len() {
                    diff.missing.extend(y[x.len()..].iter().cloned());
                }
            }
            diff
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(doc: &str, loc: &str, text: &str) -> OracleRow {
        OracleRow {
            document: doc.into(),
            schematron: "schematrons/profils/IHE.sch".into(),
            location: loc.into(),
            role: "error".into(),
            text: text.into(),
            kind: "failed-assert".into(),
        }
    }

    #[test]
    fn multisets_per_document() {
        let docs = vec![
            "a.xml".to_string(),
            "b.xml".to_string(),
            "c.xml".to_string(),
        ];
        let peer = vec![
            row("a.xml", "/X", "m  one"),
            row("a.xml", "/X", "m one"),
            row("b.xml", "/Y", "two"),
        ];
        let ours = vec![
            row("a.xml", "/X", "m one"),
            row("a.xml", "/X", "m\none"),
            row("b.xml", "/Z", "two"),
            row("c.xml", "/C", "x"),
        ];
        let d = compare(
            &docs,
            &ours,
            &peer,
            Scope {
                schematron: true,
                xsd: true,
            },
        );
        assert!(d[0].agrees(), "whitespace collapsed, counts equal");
        assert_eq!((d[1].missing.len(), d[1].extra.len()), (1, 1));
        assert_eq!(d[2].extra.len(), 1);
    }

    #[test]
    fn reads_the_stored_oracle() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/ans/oracle/mutants-seed1-results/failed.jsonl"
        );
        let rows = parse_jsonl(&std::fs::read_to_string(path).expect("read")).expect("parse");
        assert_eq!(rows.len(), 73);
        assert_eq!(rows.iter().filter(|r| r.kind == "xsd").count(), 19);
    }

    #[test]
    fn a_kind_the_chain_does_not_write_is_refused_at_its_line() {
        let good = r#"{"document":"a.xml","schematron":"XSD","location":"line 1","role":"error","text":"t","kind":"xsd"}"#;
        assert!(parse_jsonl(good).is_ok());
        let bad = format!("{good}\n\n{}", good.replace("\"xsd\"}", "\"xds\"}"));
        let e = parse_jsonl(&bad).expect_err("unknown kind").to_string();
        assert!(e.starts_with("line 3: unknown kind 'xds'"), "{e}");
    }
}
