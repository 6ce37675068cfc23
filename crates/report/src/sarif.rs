//! SARIF 2.1.0: one run, one result per finding, the rules described in the driver.

use std::collections::BTreeMap;

use segur_finding::Severity;
use serde_json::{Value, json};

use crate::Report;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// `path` as a URI reference (RFC 3986): bytes other than unreserved characters and the
/// path's delimiters percent-encoded (a space, a newline, `%`, `#`, `?`, non-ASCII).
fn uri_reference(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 2);
    // A relative reference whose first segment holds a `:` would read as a scheme (`C:x.xml`,
    // scheme `c`): `./` first keeps it a path (RFC 3986 4.2).
    let first = path.split('/').next().unwrap_or_default();
    if !path.starts_with('/') && first.contains(':') {
        out.push_str("./");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The SARIF 2.1.0 view. Locations carry the input path, line and column, and the XPath as a
/// logical location; unreadable inputs become `INPUT` error results.
pub fn to_sarif(report: &Report) -> String {
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    let mut results = Vec::new();
    let mut artifacts = Vec::new();
    // SARIF's artifacts are unique items: a file named twice (a folder and a file in it) is
    // one artifact; its results are listed for each time it was validated.
    let mut listed = std::collections::HashSet::new();
    for d in &report.documents {
        let uri = uri_reference(&d.path);
        let mut artifact = json!({ "location": { "uri": uri } });
        if let Some(h) = &d.sha256 {
            artifact["hashes"] = json!({ "sha-256": h });
        }
        if listed.insert(artifact.to_string()) {
            artifacts.push(artifact);
        }
        if let Some(e) = &d.error {
            rules.entry("INPUT".into()).or_insert_with(|| json!({ "id": "INPUT", "shortDescription": { "text": "The input is readable, well-formed XML" } }));
            let mut physical = json!({ "artifactLocation": { "uri": uri } });
            if let Some(line) = e.line.filter(|l| *l > 0) {
                physical["region"] = json!({ "startLine": line, "startColumn": e.column.filter(|c| *c > 0).unwrap_or(1) });
            }
            results.push(json!({ "ruleId": "INPUT", "level": "error", "message": { "text": e.message }, "locations": [{ "physicalLocation": physical }] }));
        }
        for f in &d.findings {
            rules.entry(f.rule.clone()).or_insert_with(|| {
                json!({
                    "id": f.rule,
                    "shortDescription": { "text": format!("{} ({})", f.rule, f.source.file) },
                    "properties": { "source": f.source.file, "version": f.source.version }
                })
            });
            let mut physical = json!({ "artifactLocation": { "uri": uri } });
            if let Some(line) = f.location.line.filter(|l| *l > 0) {
                physical["region"] = json!({ "startLine": line, "startColumn": f.location.column.filter(|c| *c > 0).unwrap_or(1) });
            }
            let mut location = json!({ "physicalLocation": physical });
            if let Some(x) = &f.location.xpath {
                location["logicalLocations"] =
                    json!([{ "fullyQualifiedName": x, "kind": "element" }]);
            }
            results.push(json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": { "text": f.message },
                "locations": [location]
            }));
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "informationUri": "https://segur.invalid/",
                "rules": rules.into_values().collect::<Vec<_>>()
            }},
            "artifacts": artifacts,
            "results": results
        }]
    });
    serde_json::to_string_pretty(&log).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri_reference("dir/a-b_c.xml"), "dir/a-b_c.xml");
        assert_eq!(
            uri_reference("my docs/é #1?\n%.xml"),
            "my%20docs/%C3%A9%20%231%3F%0A%25.xml"
        );
        // A colon in the first segment of a relative path is not a scheme.
        assert_eq!(uri_reference("C:x.xml"), "./C:x.xml");
        assert_eq!(uri_reference("a:b/c.xml"), "./a:b/c.xml");
        assert_eq!(uri_reference("dir/a:b.xml"), "dir/a:b.xml");
        assert_eq!(uri_reference("/abs/a:b.xml"), "/abs/a:b.xml");
    }
}
