//! IHE XDM (ITI-32) archives, `IHE_XDM.ZIP`: README.TXT and INDEX.HTM at the root, one
//! SubmissionSet per `IHE_XDM/SUBSETnn/` folder with its METADATA.XML and the documents its
//! DocumentEntries name in their `URI` slot.

use segur_finding::Finding;

use crate::metadata::{Metadata, ReadMetadata, parse_metadata};
use crate::rules::finding;
use crate::xmlw::XmlOut;
use crate::zip::{self, ZipLimits};

/// The folder of the first (and usually only) SubmissionSet.
pub const SUBSET: &str = "IHE_XDM/SUBSET01";

/// Who sends the archive, for README.TXT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Sender (mailbox or organisation).
    pub sender: String,
    /// Sending application name.
    pub software: String,
    /// Its version.
    pub version: String,
}

/// The 8.3 upper-case name of the n-th document (1-based): `DOC0001.XML`.
pub fn document_name(n: usize) -> String {
    format!("DOC{n:04}.XML")
}

/// Build `IHE_XDM.ZIP` from metadata whose entries carry their `URI`, and the documents, in
/// the order of the entries.
pub fn build(metadata: &Metadata, documents: &[Vec<u8>], origin: &Origin) -> Vec<u8> {
    let readme = format!(
        "IHE XDM (ITI-32) archive\r\n\r\nSender: {}\r\nSending application: {} {}\r\n\r\n\
         IHE_XDM/SUBSET01/METADATA.XML holds the XDS metadata (ebRIM 3.0) of the documents of\r\n\
         IHE_XDM/SUBSET01/. Open INDEX.HTM for the list of documents.\r\n",
        origin.sender, origin.software, origin.version
    );
    let mut html = XmlOut::new();
    html.start("html")
        .attr("xmlns", "http://www.w3.org/1999/xhtml")
        .start("head")
        .leaf("title", &[], "IHE XDM")
        .end()
        .start("body")
        .leaf("h1", &[], "IHE XDM")
        .start("p")
        .leaf("a", &[("href", "README.TXT")], "README.TXT")
        .end()
        .start("ul");
    for e in &metadata.entries {
        let uri = e.uri.clone().unwrap_or_default();
        html.start("li")
            .leaf("a", &[("href", &format!("{SUBSET}/{uri}"))], &e.title)
            .end();
    }
    let html = html.finish();
    let mut entries = vec![
        ("README.TXT".to_string(), readme.into_bytes()),
        ("INDEX.HTM".to_string(), html.into_bytes()),
        (
            format!("{SUBSET}/METADATA.XML"),
            metadata.to_xml_document().into_bytes(),
        ),
    ];
    for (e, doc) in metadata.entries.iter().zip(documents) {
        let uri = e.uri.clone().unwrap_or_default();
        entries.push((format!("{SUBSET}/{uri}"), doc.clone()));
    }
    zip::write(&entries)
}

/// One SUBSET folder as read.
#[derive(Debug, Clone, Default)]
pub struct Subset {
    /// Its path in the archive (`IHE_XDM/SUBSET01`).
    pub folder: String,
    /// Its METADATA.XML, when present and readable.
    pub metadata: Option<ReadMetadata>,
    /// The raw METADATA.XML.
    pub metadata_xml: Option<Vec<u8>>,
    /// Each DocumentEntry's document: (entry index, path in the archive, bytes).
    pub documents: Vec<(usize, String, Vec<u8>)>,
}

/// What an archive holds.
#[derive(Debug, Clone, Default)]
pub struct Xdm {
    /// SUBSET folders, in name order.
    pub subsets: Vec<Subset>,
    /// Every extracted file (path, bytes): README.TXT, INDEX.HTM, anything else.
    pub files: Vec<(String, Vec<u8>)>,
    /// Problems.
    pub findings: Vec<Finding>,
}

/// Read an archive named `place`.
pub fn read(bytes: &[u8], place: &str, limits: &ZipLimits) -> Xdm {
    let archive = zip::read(bytes, place, limits);
    let mut out = Xdm {
        findings: archive.findings,
        ..Xdm::default()
    };
    if archive.entries.is_empty() && !out.findings.is_empty() {
        // Nothing could be read: the layout findings would only repeat it.
        return out;
    }
    let upper = |s: &str| s.replace('\\', "/").to_ascii_uppercase();
    let names: Vec<String> = archive.entries.iter().map(|e| upper(&e.name)).collect();
    for required in ["README.TXT", "INDEX.HTM"] {
        if !names.iter().any(|n| n == required) {
            out.findings.push(finding(
                "SEGUR-XDM-LAYOUT",
                place,
                format!("{place}: no {required} at the root of the archive"),
            ));
        }
    }
    // SUBSET folders: IHE_XDM/<folder>/… (any name, IHE uses SUBSETnn).
    let mut folders: Vec<String> = names
        .iter()
        .filter_map(|n| {
            let rest = n.strip_prefix("IHE_XDM/")?;
            let (folder, file) = rest.split_once('/')?;
            (!file.is_empty()).then(|| format!("IHE_XDM/{folder}"))
        })
        .collect();
    folders.sort();
    folders.dedup();
    if folders.is_empty() {
        out.findings.push(finding(
            "SEGUR-XDM-LAYOUT",
            place,
            format!("{place}: no IHE_XDM/SUBSETnn folder"),
        ));
    }
    let mut referenced = vec![false; archive.entries.len()];
    for (i, n) in names.iter().enumerate() {
        if n == "README.TXT" || n == "INDEX.HTM" {
            referenced[i] = true;
        }
    }
    for folder in folders {
        let at = format!("{place}!{folder}");
        let mut subset = Subset {
            folder: archive
                .entries
                .iter()
                .find(|e| upper(&e.name).starts_with(&format!("{folder}/")))
                .and_then(|e| e.name.rsplit_once('/').map(|(f, _)| f.to_string()))
                .unwrap_or_else(|| folder.clone()),
            ..Subset::default()
        };
        let meta_name = format!("{folder}/METADATA.XML");
        let Some(mi) = names.iter().position(|n| *n == meta_name) else {
            out.findings.push(finding(
                "SEGUR-XDM-METADATA",
                &at,
                format!("{at}: no METADATA.XML; its documents have no metadata"),
            ));
            out.subsets.push(subset);
            continue;
        };
        referenced[mi] = true;
        let meta_at = format!("{place}!{}", archive.entries[mi].name);
        subset.metadata_xml = Some(archive.entries[mi].data.clone());
        match parse_metadata(&archive.entries[mi].data) {
            Err(e) => out.findings.push(finding(
                "SEGUR-XDS-METADATA",
                &meta_at,
                format!("{meta_at}: {e}"),
            )),
            Ok(mut m) => {
                // Inside an archive: the entry's path and the XPath in it, no line of the input.
                for at in m.locations_mut() {
                    at.xpath = at.xpath.take().map(|x| format!("{meta_at}{x}"));
                    (at.line, at.column) = (None, None);
                }
                crate::check::repeated_ids(&m, &meta_at, &mut out.findings);
                if m.submission_sets.len() != 1 {
                    out.findings.push(finding(
                        "SEGUR-XDM-SUBSET",
                        &meta_at,
                        format!(
                            "{meta_at}: {} SubmissionSets; a SUBSET folder holds exactly one",
                            m.submission_sets.len()
                        ),
                    ));
                }
                let mut ids = std::collections::HashSet::new();
                for (ei, e) in m.entries.iter().enumerate() {
                    // A repeated ExtrinsicObject (reported above) is read once.
                    if !e.entry_uuid.is_empty() && !ids.insert(e.entry_uuid.as_str()) {
                        continue;
                    }
                    let Some(uri) = e.uri.as_deref().filter(|u| !u.is_empty()) else {
                        out.findings.push(finding(
                            "SEGUR-XDM-MISSING",
                            &meta_at,
                            format!("{meta_at}: DocumentEntry {} has no URI slot", e.entry_uuid),
                        ));
                        continue;
                    };
                    let wanted = format!("{folder}/{}", upper(uri));
                    match names.iter().position(|n| *n == wanted) {
                        Some(di) => {
                            referenced[di] = true;
                            subset.documents.push((
                                ei,
                                archive.entries[di].name.clone(),
                                archive.entries[di].data.clone(),
                            ));
                        }
                        None => out.findings.push(finding(
                            "SEGUR-XDM-MISSING",
                            &meta_at,
                            format!(
                                "{meta_at}: DocumentEntry {} names `{uri}`, which is not in {folder}",
                                e.entry_uuid
                            ),
                        )),
                    }
                }
                subset.metadata = Some(m);
            }
        }
        out.subsets.push(subset);
    }
    for (i, e) in archive.entries.into_iter().enumerate() {
        if !referenced[i] {
            let at = format!("{place}!{}", e.name);
            out.findings.push(finding(
                "SEGUR-XDM-UNREFERENCED",
                &at,
                format!("{at}: referenced by no DocumentEntry"),
            ));
        }
        out.files.push((e.name, e.data));
    }
    out
}
